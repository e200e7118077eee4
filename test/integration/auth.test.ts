/** Bearer-key auth: TAGLETS_API_KEY and --api-key-env, checked before any body is read. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthenticationError } from 'taglets';
import { HostClient } from 'taglets/client';
import { runCli, spawnHost, type SpawnedHost } from 'taglets/testing';
import { FIXTURES, raw } from './helpers.ts';

const COUNTER = './agents.js#Counter';

describe('TAGLETS_API_KEY', () => {
  let host: SpawnedHost;
  before(async () => {
    host = await spawnHost({ name: 'secured', root: FIXTURES, env: { TAGLETS_API_KEY: 'secret' } });
  });
  after(() => host?.stop());

  it('refuses a request without a key with 401, WWW-Authenticate: Bearer and AuthenticationError', async () => {
    for (const path of ['/health', '/agents', '/events', '/openapi.json', '/no-such-route']) {
      const res = await raw(`${host.url}${path}`, 'GET');
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, path);
      assert.equal(res.json.error_type, 'AuthenticationError', path);
      assert.match(res.json.error, /Bearer/);
    }
  });

  it('refuses a wrong key or another scheme', async () => {
    for (const authorization of ['Bearer wrong', 'Bearer secret2', 'Bearer ', 'Basic c2VjcmV0', 'secret']) {
      const res = await raw(`${host.url}/health`, 'GET', undefined, { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(res.json.error_type, 'AuthenticationError');
    }
  });

  it('checks the key before reading the body', async () => {
    const res = await raw(`${host.url}/agents`, 'POST', '{not json at all');
    assert.equal(res.status, 401);
    assert.equal(res.json.error_type, 'AuthenticationError');
    const withKey = await raw(`${host.url}/agents`, 'POST', '{not json at all', { authorization: 'Bearer secret' });
    assert.equal(withKey.status, 400);
  });

  it('accepts the right key', async () => {
    const res = await raw(`${host.url}/health`, 'GET', undefined, { authorization: 'Bearer secret' });
    assert.equal(res.status, 200);
    assert.equal(res.json.name, 'secured');
    const client = new HostClient(host.url, { apiKey: 'secret' });
    const agent = await client.createAgent(COUNTER);
    assert.equal(await agent.send('inc'), 1);
    await agent.dispose();
    await assert.rejects(new HostClient(host.url, { apiKey: 'nope' }).listAgents(), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError);
      assert.equal(err.status, 401);
      return true;
    });
  });

  it('the CLI reads TAGLETS_API_KEY and fails clearly without it', async () => {
    const ok = await runCli(['--entry', host.url, 'agents', 'ls', '--json'], { env: { TAGLETS_API_KEY: 'secret' } });
    assert.equal(ok.code, 1, ok.stderr); // authenticated, but no agents
    assert.deepEqual(JSON.parse(ok.stdout), { agents: [] });
    const refused = await runCli(['--entry', host.url, 'agents', 'ls'], { env: { TAGLETS_API_KEY: '' } });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /AuthenticationError/);
  });
});

describe('--api-key-env NAME', () => {
  let host: SpawnedHost;
  before(async () => {
    host = await spawnHost({
      name: 'secured-env',
      root: FIXTURES,
      args: ['--api-key-env', 'MY_DEPLOY_KEY'],
      env: { MY_DEPLOY_KEY: 'other-key', TAGLETS_API_KEY: 'secret' },
    });
  });
  after(() => host?.stop());

  it('uses the key from the named variable instead of TAGLETS_API_KEY', async () => {
    assert.equal((await raw(`${host.url}/health`, 'GET')).status, 401);
    assert.equal((await raw(`${host.url}/health`, 'GET', undefined, { authorization: 'Bearer secret' })).status, 401);
    const res = await raw(`${host.url}/health`, 'GET', undefined, { authorization: 'Bearer other-key' });
    assert.equal(res.status, 200);
    assert.equal(res.json.name, 'secured-env');
  });

  it('the CLI accepts --api-key-env too', async () => {
    const created = await runCli(
      ['--entry', host.url, '--api-key-env', 'MY_DEPLOY_KEY', 'agents', 'create', COUNTER, '--id', 'k1', '--json'],
      { env: { MY_DEPLOY_KEY: 'other-key' } },
    );
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).proxy.agent_id, 'k1');
    const unset = await runCli(['--entry', host.url, '--api-key-env', 'UNSET_KEY_VAR', 'agents', 'ls'], { env: { UNSET_KEY_VAR: '' } });
    assert.equal(unset.code, 2, unset.stderr);
    assert.match(unset.stderr, /UNSET_KEY_VAR/);
  });

  it('a host whose --api-key-env variable is unset refuses to start', async () => {
    const res = await runCli(['host', '--name', 'nokey', '--port', '0', '--api-key-env', 'UNSET_KEY_VAR', '--persistence-dir', host.persistenceDir], {
      env: { UNSET_KEY_VAR: '' },
      timeoutMs: 15_000,
    });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /UNSET_KEY_VAR/);
    assert.doesNotMatch(res.stdout, /listening/);
  });
});

/**
 * Bad requests and failing agents: invalid bodies, unknown agents and routes, body limits and
 * agent process crashes. After each the host must still be healthy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentCrashedError, AgentNotFoundError } from 'taglets';
import { HostClient } from 'taglets/client';
import { isAlive, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES, raw } from './helpers.ts';

const COUNTER = './agents.js#Counter';

let host: SpawnedHost;
let client: HostClient;

before(async () => {
  host = await spawnHost({ name: 'errors', root: FIXTURES, args: ['--max-body-size', '1M'] });
  client = new HostClient(host.url);
});
after(() => host?.stop());

async function assertHealthy(): Promise<void> {
  const res = await raw(`${host.url}/health`, 'GET');
  assert.equal(res.status, 200);
  assert.equal(res.json.name, 'errors');
}

describe('invalid requests', () => {
  let agentId: string;
  before(async () => {
    agentId = (await client.createAgent(COUNTER, { agentId: 'valid-1' })).agentId;
  });

  const creates: [string, string, number, string][] = [
    ['malformed JSON', '{"agent_class": ', 400, 'BadRequestError'],
    ['a JSON array', '[1, 2]', 422, 'ValidationError'],
    ['agent_class of the wrong type', JSON.stringify({ agent_class: 5 }), 422, 'ValidationError'],
    ['a missing agent_class', JSON.stringify({ state: {} }), 422, 'ValidationError'],
    ['an unknown field', JSON.stringify({ agent_class: COUNTER, bogus: 1 }), 422, 'ValidationError'],
    ['an invalid agent_id', JSON.stringify({ agent_class: COUNTER, agent_id: '-bad id' }), 422, 'ValidationError'],
    ['an unknown runner', JSON.stringify({ agent_class: COUNTER, runner: 'thread' }), 422, 'ValidationError'],
  ];
  for (const [what, body, status, type] of creates) {
    it(`POST /agents with ${what} → ${status} ${type}`, async () => {
      const res = await raw(`${host.url}/agents`, 'POST', body);
      assert.equal(res.status, status, res.text);
      assert.equal(res.json.error_type, type);
      assert.equal(typeof res.json.error, 'string');
      assert.ok(res.json.error.length > 0);
    });
  }

  const messages: [string, string, number][] = [
    ['malformed JSON', '{"message": {"kind": "inc"', 400],
    ['no message', JSON.stringify({}), 422],
    ['a message without kind', JSON.stringify({ message: { args: {} } }), 422],
    ['args that are not an object', JSON.stringify({ message: { kind: 'inc', args: [1] } }), 422],
    ['a string priority', JSON.stringify({ message: { kind: 'inc', priority: 'high' } }), 422],
    ['an unknown message_type', JSON.stringify({ message: { kind: 'inc', message_type: 7 } }), 422],
    ['an unknown message field', JSON.stringify({ message: { kind: 'inc', extra: 1 } }), 422],
    ['an unknown body field', JSON.stringify({ message: { kind: 'inc' }, extra: 1 }), 422],
    ['oneway that is not a boolean', JSON.stringify({ message: { kind: 'inc' }, oneway: 'yes' }), 422],
  ];
  for (const [what, body, status] of messages) {
    it(`POST /agents/{id}/messages with ${what} → ${status}`, async () => {
      const res = await raw(`${host.url}/agents/${agentId}/messages`, 'POST', body);
      assert.equal(res.status, status, res.text);
      assert.equal(res.json.error_type, status === 400 ? 'BadRequestError' : 'ValidationError');
    });
  }

  it('refuses a body over --max-body-size with 413 PayloadTooLargeError', async () => {
    const big = JSON.stringify({ agent_class: COUNTER, state: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await raw(`${host.url}/agents`, 'POST', big);
    assert.equal(res.status, 413);
    assert.equal(res.json.error_type, 'PayloadTooLargeError');
    // Just under the limit is fine.
    const ok = await client.createAgent(COUNTER, { state: { pad: 'x'.repeat(900 * 1024) } });
    await ok.dispose();
  });

  it('refuses a form body (what `curl -d` sends) with 415', async () => {
    const res = await raw(`${host.url}/agents`, 'POST', 'agent_class=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 415);
    assert.equal(res.json.error_type, 'UnsupportedMediaTypeError');
  });

  it('created nothing and stays healthy after all of them', async () => {
    await assertHealthy();
    assert.deepEqual(
      (await client.listAgents()).map((a) => a.agent_id),
      [agentId],
    );
    const state = (await client.getState(agentId)).state as { count: number };
    assert.equal(state.count, 0, 'no invalid message reached the agent');
    assert.equal(await client.proxy(agentId).send('inc'), 1);
    await client.dispose(agentId);
  });
});

describe('unknown agents and routes', () => {
  it('answers 404 AgentNotFoundError for an unknown agent', async () => {
    for (const [method, path, body] of [
      ['GET', '/agents/nobody', undefined],
      ['GET', '/agents/nobody/state', undefined],
      ['POST', '/agents/nobody/messages', JSON.stringify({ message: { kind: 'inc' } })],
      ['POST', '/agents/nobody/dispose', undefined],
    ] as const) {
      const res = await raw(`${host.url}${path}`, method, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.json.error_type, 'AgentNotFoundError', `${method} ${path}`);
      assert.match(res.json.error, /nobody/);
    }
    await assert.rejects(client.proxy('nobody').send('inc'), (err: unknown) => err instanceof AgentNotFoundError && err.status === 404);
  });

  it('answers 404 RouteNotFoundError for an unknown route', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/agents/x/teleport'],
      ['DELETE', '/agents'],
    ] as const) {
      const res = await raw(`${host.url}${path}`, method);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.json.error_type, 'RouteNotFoundError');
      assert.match(res.json.error, new RegExp(path.replace(/[/]/g, '\\/')));
    }
    await assertHealthy();
  });
});

describe('agent process crash', () => {
  it('marks the agent crashed with its exit code; others and the host carry on', async () => {
    const victim = await client.createAgent(COUNTER);
    const bystander = await client.createAgent(COUNTER);
    await bystander.send('inc');
    const pid = (await victim.info()).pid!;
    assert.ok(isAlive(pid));
    assert.equal(await victim.send('crash'), 'bye');
    const info = (await waitFor(async () => {
      const i = (await client.listAgents()).find((a) => a.agent_id === victim.agentId);
      return i?.crashed ? i : null;
    }))!;
    assert.equal(info.crashed, true);
    assert.equal(info.active, false);
    assert.equal(info.exitcode, 7);
    await waitFor(() => !isAlive(pid));

    await assert.rejects(victim.send('inc'), (err: unknown) => {
      assert.ok(err instanceof AgentCrashedError);
      assert.match(err.message, /crashed/);
      return true;
    });
    const events = await client.events({ limit: 1000 });
    const crashed = events.find((e) => e.kind === 'agent-crashed' && e.agent_id === victim.agentId);
    assert.ok(crashed, 'agent-crashed event');
    assert.deepEqual((crashed.data as { exitcode: number }).exitcode, 7);
    // Failures are echoed on the host's stderr for operators.
    await waitFor(() => host.output().stderr.includes(`agent-crashed (agent=${victim.agentId}`));

    assert.equal(await bystander.send('inc'), 2);
    await assertHealthy();
    // New agents still start.
    const fresh = await client.createAgent(COUNTER);
    assert.equal(await fresh.send('inc'), 1);

    await victim.dispose();
    const ids = (await client.listAgents()).map((a) => a.agent_id);
    assert.ok(!ids.includes(victim.agentId));
    assert.ok(ids.includes(bystander.agentId));
    await assert.rejects(victim.info(), AgentNotFoundError);
    await bystander.dispose();
    await fresh.dispose();
  });

  it('fails messages queued behind the crashing one with AgentCrashedError', async () => {
    const victim = await client.createAgent(COUNTER);
    const results = await Promise.allSettled([victim.send('crash'), victim.send('get'), victim.send('get')]);
    assert.deepEqual(results[0], { status: 'fulfilled', value: 'bye' });
    for (const r of results.slice(1)) {
      // Either answered before the exit, or failed as crashed; never hangs or reports another error.
      if (r.status === 'rejected') assert.ok(r.reason instanceof AgentCrashedError, String(r.reason));
    }
    await waitFor(async () => (await victim.info()).crashed);
    await victim.dispose();
  });
});

/**
 * Services with real hosts: records, typed contracts (both sides validate), mesh lookup,
 * resident services from a launch config (lazy creation exactly once, idle sleep, leases),
 * startup agents, and the launch config's sync rules.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServiceContractError, ServiceNotFoundError } from 'taglets';
import { HostClient } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const { Greeter, GreeterV2 } = (await import(join(FIXTURES, 'service-agents.js'))) as typeof import('../fixtures/service-agents.js');
const GREETER = './service-agents.js#GreeterAgent';
const CLIENT = './service-agents.js#GreeterClient';

const dirs: string[] = [];
const hosts: SpawnedHost[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'taglets-svc-'));
  dirs.push(d);
  return d;
}
async function host(name: string, args: string[] = [], launch: boolean | string = false): Promise<{ h: SpawnedHost; c: HostClient }> {
  const h = await spawnHost({ name, root: FIXTURES, args, launch });
  hosts.push(h);
  return { h, c: new HostClient(h.url) };
}

describe('records and contracts', () => {
  let a: { h: SpawnedHost; c: HostClient };
  let b: { h: SpawnedHost; c: HostClient };
  before(async () => {
    a = await host('sa', ['--mesh-multicast-address', `239.42.74.53:${20000 + (process.pid % 20000)}`, '--no-mesh-multicast']);
    b = await host('sb', ['--peer', a.h.url, '--no-mesh-multicast']);
    await waitFor(async () => (await a.c.call<{ hosts: unknown[] }>('GET', '/hosts')).hosts.length === 2, 15_000);
  });

  it('an agent advertises in onCreation; records carry the contract; calls are validated both ways', async () => {
    const p = await a.c.createAgent(GREETER, { agentId: 'g1' });
    const [rec] = await a.c.services({ name: 'greeter' });
    assert.ok(rec);
    assert.deepEqual(rec.capabilities, ['greet', 'calls', 'broken']);
    assert.equal(rec.proxy.agent_id, 'g1');
    assert.equal(rec.scope, 'local');
    const handle = await Greeter.find(a.c);
    assert.deepEqual(await handle.call('greet', { name: 'ada' }), { text: 'hello ada' });
    await assert.rejects(handle.call('greet', { name: 5 } as never), (e: Error) => e instanceof ServiceContractError && /name/.test(e.message));
    // The provider checks too (a raw message with a bad payload).
    await assert.rejects(p.send('greeter.greet', { request: { nom: 'x' } }), (e: Error) => e instanceof ServiceContractError && /greet request/.test(e.message));
    await assert.rejects(handle.call('broken', {}), (e: Error) => e instanceof ServiceContractError && /broken reply: text/.test(e.message));
    await assert.rejects(GreeterV2.find(a.c), (e: Error) => e instanceof ServiceNotFoundError && /found versions: 1/.test(e.message));
    // Local-scoped: not visible to a mesh lookup from the peer.
    await assert.rejects(Greeter.find(b.c, { scope: 'mesh' }), ServiceNotFoundError);
    await p.dispose();
    assert.deepEqual(await a.c.services({ name: 'greeter' }), [], 'records vanish with their agent');
  });

  it('mesh-scoped records are found from other hosts and from inside agents', async () => {
    await a.c.createAgent(GREETER, { agentId: 'g2', state: { scope: 'mesh' } });
    const viaPeer = await Greeter.find(b.c, { scope: 'mesh' });
    assert.deepEqual(await viaPeer.call('greet', { name: 'bob' }), { text: 'hello bob' });
    const asker = await b.c.createAgent(CLIENT);
    assert.deepEqual(await asker.send('ask', { name: 'cy', scope: 'mesh' }), { text: 'hello cy' });
    await assert.rejects(asker.send('ask', { name: 'cy', scope: 'local' }), ServiceNotFoundError);
    const meshView = await b.c.services({ name: 'greeter', mesh: true });
    assert.equal(meshView.length, 1);
    assert.equal(meshView[0]!.host_url, a.h.url);
  });
});

describe('resident services and launch config', () => {
  it('a lazy resident service is created once under concurrent calls, sleeps when idle, stays discoverable, wakes on use', async () => {
    const dir = tmp();
    const launch = join(dir, 'launch.toml');
    writeFileSync(
      launch,
      `[launch]\nconfig_id = "mine"\n\n[[resident_services]]\nclass = "${GREETER}"\nservice = "greeter"\nlifecycle = "lazy"\nidle_timeout = 1\n\n[[startup_agents]]\nclass = "./agents.js#Counter"\nagent_id = "boot-counter"\ninit = "boot"\n`,
    );
    const { c } = await host('res', [], launch);
    assert.equal((await c.getAgent('boot-counter')).active, true, 'startup agent created');
    const [declared] = await c.services({ name: 'greeter' });
    assert.equal(declared!.resident, true);
    assert.equal(declared!.proxy.agent_id, 'service.greeter');
    assert.deepEqual(await c.listAgents({ state: 'all' }).then((l) => l.map((x) => x.agent_id)), ['boot-counter'], 'lazy: not created yet');
    const handle = await Greeter.find(c);
    const replies = await Promise.all([1, 2, 3, 4].map((i) => handle.call('greet', { name: `n${i}` })));
    assert.deepEqual(replies.map((r) => r.text).sort(), ['hello n1', 'hello n2', 'hello n3', 'hello n4']);
    const creates = (await c.events()).filter((e) => e.kind === 'create' && e.agent_id === 'service.greeter');
    assert.equal(creates.length, 1, 'exactly one instance');
    assert.equal(await handle.call('calls', {}), 4);
    await waitFor(async () => !(await c.getAgent('service.greeter')).active, 10_000);
    assert.equal((await c.services({ name: 'greeter' })).length, 1, 'still discoverable while asleep');
    assert.equal(await handle.call('calls', {}), 4, 'woken by the call, state kept');
  });

  it('a lease keeps a lazy service awake until released', async () => {
    const dir = tmp();
    const launch = join(dir, 'launch.toml');
    writeFileSync(launch, `[[resident_services]]\nclass = "${GREETER}"\nservice = "greeter"\nidle_timeout = 1\n`);
    const { c } = await host('lease', [], launch);
    const lease = await c.call<{ lease_id: string; expires_at: number }>('POST', '/services/leases', {
      agent_id: 'service.greeter',
      service_name: 'greeter',
      ttl: 60,
    });
    assert.equal((await c.getAgent('service.greeter')).active, true, 'the lease started it');
    await new Promise((r) => setTimeout(r, 2500)); // longer than idle_timeout: the lease must hold it
    assert.equal((await c.getAgent('service.greeter')).active, true);
    assert.deepEqual(await c.call('POST', `/services/leases/${lease.lease_id}/release`, {}), { released: true });
    await waitFor(async () => !(await c.getAgent('service.greeter')).active, 10_000);
  });

  it('the bundled launch config is copied on first start and kept when current; invalid files stop the host with exit 2', async () => {
    const dir = tmp();
    const h = await spawnHost({ name: 'bundled', root: FIXTURES, persistenceDir: dir, launch: true });
    hosts.push(h);
    assert.ok(existsSync(join(dir, 'launch.toml')));
    const ev = await new HostClient(h.url).events();
    assert.ok(ev.some((e) => e.kind === 'launch-config-copy'));
    assert.ok(ev.some((e) => e.kind === 'resident-service-declare' && e.agent_id === 'service.server-info'));
    await h.stop();

    const bad = join(tmp(), 'bad.toml');
    writeFileSync(bad, `[[resident_services]]\nclass = "${GREETER}"\nservice = "greeter"\nlifecycle = "sometimes"\n`);
    const r = await runCli(['host', '--name', 'badlaunch', '--port', '0', '--persistence-dir', tmp(), '--launch-config', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /resident service lifecycle 'sometimes'/);
    const broken = join(tmp(), 'broken.toml');
    writeFileSync(broken, `[launch\nconfig_id = 1\n`);
    const r2 = await runCli(['host', '--name', 'badlaunch', '--port', '0', '--persistence-dir', tmp(), '--launch-config', broken]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /line 1/);
  });

  it('an outdated copy is kept with a warning unless --yes, which replaces it and keeps a backup', async () => {
    const dir = tmp();
    const path = join(dir, 'launch.toml');
    const bundled = readFileSync(new URL('../../launch/default-launch.toml', import.meta.url), 'utf8');
    const old = bundled.replace(/config_version = "[^"]*"/, 'config_version = "0"');
    writeFileSync(path, old);
    const h1 = await spawnHost({ name: 'old1', root: FIXTURES, persistenceDir: dir, launch: path });
    hosts.push(h1);
    await waitFor(() => /run with --yes/.test(h1.output().stderr));
    await h1.stop();
    assert.equal(readFileSync(path, 'utf8'), old, 'kept');
    const h2 = await spawnHost({ name: 'old2', root: FIXTURES, persistenceDir: dir, launch: path, args: ['--yes'] });
    hosts.push(h2);
    await h2.stop();
    assert.equal(readFileSync(path, 'utf8'), bundled, 'replaced');
    assert.equal(readFileSync(`${path}.old`, 'utf8'), old, 'backup kept');
  });
});

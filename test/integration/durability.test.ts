/**
 * Deactivation, activation and restarts with real host processes and their SQLite store:
 * sleeping agents keep state and queued messages across graceful restarts and SIGKILL.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AgentInactiveError, LifecycleError, ResourceCleanupError, StorageQuotaError, ValidationError } from 'taglets';
import { HostClient } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const SLEEPER = './durable-agents.js#Sleeper';
const HERMIT = './durable-agents.js#Hermit';
const INSOMNIAC = './durable-agents.js#Insomniac';
const KEEPER = './durable-agents.js#Keeper';

const dirs: string[] = [];
const hosts: SpawnedHost[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dir: string, name = 'dur'): Promise<{ host: SpawnedHost; client: HostClient }> {
  const host = await spawnHost({ name, root: FIXTURES, persistenceDir: dir, args: ['--no-mesh'] });
  hosts.push(host);
  return { host, client: new HostClient(host.url) };
}

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'taglets-dur-'));
  dirs.push(d);
  return d;
}

type SleeperState = { trail: string[]; log: number[]; count: number };

describe('deactivation', () => {
  it('sleeps and wakes by message, keeping state; listed inactive meanwhile', async () => {
    const { client } = await start(freshDir());
    const p = await client.createAgent(SLEEPER, { agentId: 's1', init: 'a' });
    assert.equal(await p.send('inc'), 1);
    await p.deactivate();
    const info = await p.info();
    assert.equal(info.active, false);
    assert.equal(typeof info.deactivated_at, 'number');
    assert.deepEqual((await client.listAgents({ state: 'inactive' })).map((a) => a.agent_id), ['s1']);
    assert.equal((await client.health()).inactive_count, 1);
    const st = await p.state();
    assert.equal((st.state as SleeperState).count, 1);
    assert.equal((st as unknown as { queued_message_count: number }).queued_message_count, 0);
    // A message wakes it and is delivered after onActivation.
    assert.equal(await p.send('inc'), 2);
    const s = (await p.send('state')) as SleeperState;
    assert.deepEqual(s.trail, ['created:a', 'deactivating:deactivate:false', 'activation:message']);
    assert.equal((await p.info()).active, true);
  });

  it('queues messages durably for an agent that does not wake on messages and delivers them in order', async () => {
    const dir = freshDir();
    let { host, client } = await start(dir);
    const p = await client.createAgent(HERMIT, { agentId: 'h1' });
    await p.deactivate();
    for (const n of [1, 2, 3]) {
      const receipt = (await p.send('log', { n })) as { queued: boolean; message_id: string };
      assert.equal(receipt.queued, true);
      assert.match(receipt.message_id, /^[0-9a-f]{32}$/);
    }
    await assert.rejects(
      client.sendMessage('h1', { kind: 'log', args: { n: 99 } }, { noDelay: true }),
      (err: Error) => err instanceof AgentInactiveError && /no_delay/.test(err.message),
    );
    // SIGKILL: acknowledged queued messages and the record survive.
    host.process.kill('SIGKILL');
    await host.exited;
    ({ host, client } = await start(dir));
    const st = await client.getState('h1');
    assert.equal(st.active, false);
    assert.equal((st as unknown as { queued_message_count: number }).queued_message_count, 3);
    await client.activate('h1');
    const s = (await client.proxy('h1').send('state')) as SleeperState;
    assert.deepEqual(s.log, [1, 2, 3], 'delivered in order, exactly the acknowledged ones');
  });

  it('a throwing onDeactivating cancels: the agent stays active and intact', async () => {
    const { client } = await start(freshDir());
    const p = await client.createAgent(INSOMNIAC, { agentId: 'i1' });
    await p.send('inc');
    await assert.rejects(p.deactivate(), LifecycleError);
    assert.equal((await p.info()).active, true);
    assert.equal(await p.send('inc'), 2);
  });

  it('wakes on a timer (activate_at) and an agent can put itself to sleep from a handler', async () => {
    const { client } = await start(freshDir());
    const p = await client.createAgent(SLEEPER, { agentId: 't1' });
    assert.equal(await p.send('nap', { policy: { activate_at: Date.now() / 1000 + 0.5 } }), 'napping');
    await waitFor(async () => !(await p.info()).active);
    await waitFor(async () => (await p.info()).active, 10_000);
    const s = (await p.send('state')) as SleeperState;
    assert.deepEqual(s.trail.slice(-3), ['nap', 'deactivating:deactivate:false', 'activation:timer']);
    const events = await client.events();
    assert.ok(events.some((e) => e.kind === 'activate' && e.agent_id === 't1' && (e.data as { reason: string }).reason === 'timer'));
  });

  it('disposes a sleeping agent (record and queue gone)', async () => {
    const { client } = await start(freshDir());
    const p = await client.createAgent(HERMIT, { agentId: 'd1' });
    await p.deactivate();
    await p.send('log', { n: 1 });
    await p.dispose();
    assert.deepEqual(await client.listAgents(), []);
  });
});

describe('restarts', () => {
  it('graceful shutdown deactivates every agent and a restart brings them back with their state', async () => {
    const dir = freshDir();
    let { host, client } = await start(dir);
    const a = await client.createAgent(SLEEPER, { agentId: 'r1', init: 'x' });
    const b = await client.createAgent(SLEEPER, { agentId: 'r2', runner: 'inline' });
    await a.send('inc');
    await b.send('inc');
    await b.send('inc');
    const { code } = await host.stop();
    assert.equal(code, 0);
    ({ host, client } = await start(dir));
    await waitFor(async () => (await client.listAgents({ state: 'active' })).length === 2);
    assert.equal(await client.proxy('r1').send('inc'), 2);
    assert.equal(await client.proxy('r2').send('inc'), 3);
    const s = (await client.proxy('r1').send('state')) as SleeperState;
    assert.deepEqual(s.trail, ['created:x', 'deactivating:shutdown:true', 'activation:startup']);
  });

  it('SIGKILL loses no sleeping record; CLI deactivate/activate work', async () => {
    const dir = freshDir();
    let { host, client } = await start(dir);
    await client.createAgent(SLEEPER, { agentId: 'k1' });
    await client.proxy('k1').send('inc');
    const d = await runCli(['--entry', host.url, 'agents', 'deactivate', 'k1', '--no-activate-on-message', '--json']);
    assert.equal(d.code, 0, d.stderr);
    host.process.kill('SIGKILL');
    await host.exited;
    ({ host, client } = await start(dir));
    assert.equal((await client.getAgent('k1')).active, false);
    const queued = (await client.proxy('k1').send('inc')) as { queued: boolean };
    assert.equal(queued.queued, true, 'activate_on_message=false from the CLI flag');
    const act = await runCli(['--entry', host.url, 'agents', 'activate', 'k1']);
    assert.equal(act.code, 0, act.stderr);
    assert.equal(await client.proxy('k1').send('inc'), 3, 'state 1 + the queued inc + this one');
  });
});

describe('storage, work dirs and resources', () => {
  it('class storage is shared by agents of a class, survives restarts, enforces the quota and refuses traversal', async () => {
    const dir = freshDir();
    let host = await spawnHost({ name: 'st', root: FIXTURES, persistenceDir: dir, args: ['--no-mesh', '--persistent-storage-quota', '1K'] });
    hosts.push(host);
    let client = new HostClient(host.url);
    const a = await client.createAgent(KEEPER);
    const b = await client.createAgent(KEEPER);
    assert.equal(await a.send('put', { path: 'notes/a.txt', text: 'hello' }), 5);
    assert.equal(await b.send('get', { path: 'notes/a.txt' }), 'hello', 'shared per class');
    await assert.rejects(a.send('put', { path: 'big.bin', bytes: 2000 }), StorageQuotaError);
    await assert.rejects(a.send('put', { path: '../escape.txt', text: 'x' }), ValidationError);
    await host.stop();
    host = await spawnHost({ name: 'st', root: FIXTURES, persistenceDir: dir, args: ['--no-mesh'] });
    hosts.push(host);
    client = new HostClient(host.url);
    const c = await client.createAgent(KEEPER);
    assert.deepEqual(await c.send('list'), ['notes/a.txt']);
  });

  it('the work dir is kept while the agent sleeps and removed when it is disposed', async () => {
    const { client } = await start(freshDir());
    const p = await client.createAgent(KEEPER);
    const dir = (await p.send('workdir')) as string;
    assert.ok(existsSync(`${dir}/scratch.txt`));
    await p.deactivate();
    assert.ok(existsSync(`${dir}/scratch.txt`), 'kept over deactivation');
    await p.activate();
    await p.dispose();
    await waitFor(() => !existsSync(dir));
  });

  it('a resource that fails to clean up cancels deactivation; a suppressed one does not', async () => {
    const { client } = await start(freshDir());
    const p = await client.createAgent(KEEPER);
    await p.send('hold-resource', { suppress: false });
    await assert.rejects(p.deactivate(), (err: Error) => err instanceof ResourceCleanupError && /socket will not close/.test(err.message));
    assert.equal((await p.info()).active, true);
    await p.send('hold-resource', { suppress: true });
    await p.deactivate();
    assert.equal((await p.info()).active, false);
  });
});

/**
 * The patterns of `taglets/patterns` end to end with real hosts: tasks (incl. one that moves),
 * typed operations, mesh fan-out with a dead target, user notifications, file push/pull through
 * the CLI, and an itinerary A→B→C with tasks per phase.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConflictError, NotHandledError, ServiceContractError } from 'taglets';
import { HostClient } from 'taglets/client';
import {
  OperationClient,
  TaskClient,
  addDefaultTask,
  addTask,
  createTaskItinerary,
  itineraryTask,
  type ItineraryAgentState,
} from 'taglets/patterns';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const { Calc } = (await import(join(FIXTURES, 'pattern-agents.js'))) as typeof import('../fixtures/pattern-agents.js');
const P = './pattern-agents.js';

const hosts: SpawnedHost[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'taglets-patterns-'));
  dirs.push(d);
  return d;
}
async function host(name: string, args: string[] = ['--no-mesh'], launch: boolean = false): Promise<SpawnedHost> {
  const h = await spawnHost({ name, root: FIXTURES, args, launch, readyTimeoutMs: 30_000 });
  hosts.push(h);
  return h;
}

let alpha: SpawnedHost;
let beta: SpawnedHost;
let gamma: SpawnedHost;
let a: HostClient;
let b: HostClient;
let c: HostClient;

before(async () => {
  [alpha, beta, gamma] = await Promise.all([host('alpha'), host('beta'), host('gamma')]);
  a = new HostClient(alpha.url);
  b = new HostClient(beta.url);
  c = new HostClient(gamma.url);
});

describe('Task', () => {
  it('start completes a task that returns its result; status and wait agree', async () => {
    const task = await TaskClient.create<{ n: number }, number>(a, `${P}#SquareTask`);
    const before = await task.status();
    assert.equal(before.status, 'NEW');
    assert.equal(before.done, false);
    const started = await task.start({ n: 7 });
    assert.equal(started.status, 'COMPLETED');
    assert.equal(started.done, true);
    assert.equal(started.result, 49);
    assert.deepEqual(started.request, { n: 7 });
    assert.equal(started.host_name, 'alpha');
    assert.equal(started.host_url, alpha.url);
    assert.ok(started.started_at! <= started.completed_at!);
    assert.deepEqual(await task.wait(), started);
    await assert.rejects(task.start({ n: 1 }), ConflictError, 'a task starts once');
    await task.dispose();
  });

  it('a task that completes later: RUNNING, then wait returns COMPLETED', async () => {
    const task = await TaskClient.create(a, `${P}#LaterTask`);
    const started = await task.start({ delay_ms: 400 });
    assert.equal(started.status, 'RUNNING');
    assert.equal(started.done, false);
    const early = await task.wait(0.05);
    assert.equal(early.status, 'RUNNING', 'a short wait returns the current status');
    const done = await task.waitUntilDone({ timeoutMs: 10_000 });
    assert.equal(done.status, 'COMPLETED');
    assert.deepEqual(done.result, { later: true, host: 'alpha' });
    await task.dispose();
  });

  it('an exception in runTask makes the task FAILED with the reason', async () => {
    const task = await TaskClient.create(a, `${P}#FailingTask`);
    const done = await task.startAndWait({});
    assert.equal(done.status, 'FAILED');
    assert.equal(done.done, true);
    assert.match(done.error!, /boom: the task could not run/);
    assert.equal(done.result, null);
    await task.dispose();
  });

  it('a task that moves: the client follows it to the new host and waits there', async () => {
    const task = await TaskClient.create<{ target: string }, { from: string; to: string }>(a, `${P}#MovingTask`);
    const seen: string[] = [];
    const done = await task.startAndWait({ target: beta.url }, { timeoutMs: 15_000, onStatus: (s) => seen.push(`${s.status}@${s.host_name}`) });
    assert.equal(done.status, 'COMPLETED');
    assert.deepEqual(done.result, { from: 'alpha', to: 'beta' });
    assert.equal(done.host_url, beta.url);
    assert.equal(seen[0], 'WAITING_FOR_ARRIVAL@beta', `first status: ${seen}`);
    assert.equal(task.proxy.hostUrl, beta.url, 'the client now talks to beta');
    // A client that still points at alpha follows the moved_to of the old host.
    const stale = new TaskClient(a.proxy(task.ref.agent_id));
    assert.equal((await stale.status()).status, 'COMPLETED');
    assert.equal(stale.proxy.hostUrl, beta.url);
    await task.dispose();
    assert.equal((await b.listAgents()).some((x) => x.agent_id === task.ref.agent_id), false);
  });

  it('a move the target refuses leaves the agent on the source with the task FAILED', async () => {
    const task = await TaskClient.create(a, `${P}#RefusedMoveTask`);
    const done = await task.startAndWait({ target: beta.url });
    assert.equal(done.status, 'FAILED');
    assert.equal(done.host_url, alpha.url);
    assert.match(done.error!, /arrival refused by the test/);
    assert.equal((await a.getAgent(task.ref.agent_id)).active, true);
    await task.dispose();
  });
});

describe('Operation', () => {
  it('routes typed operations, validates both ways, falls back for other kinds', async () => {
    const p = await a.createAgent(`${P}#CalcAgent`, { agentId: 'calc-1' });
    // advertised in run(): found through the contract
    const calc = await waitFor(() => OperationClient.find(Calc, a).catch(() => null));
    assert.equal(await calc.call('add', { a: 2, b: 40 }), 42);
    assert.deepEqual(await calc.call('echo', { text: 'hi' }), { text: 'hi' });
    await calc.sendOneway('add', { a: 1, b: 1 });
    await waitFor(async () => (await calc.call('count', {})) === 3);
    // Caller-side contract error (never sent) and provider-side one (raw message).
    await assert.rejects(calc.call('add', { a: 'x', b: 1 } as never), (e: Error) => e instanceof ServiceContractError && /calc\.add request/.test(e.message));
    await assert.rejects(p.send('calc.add', { request: { a: 1 } }), (e: Error) => e instanceof ServiceContractError && /add request/.test(e.message));
    await assert.rejects(calc.call('broken', {}), (e: Error) => e instanceof ServiceContractError && /broken reply/.test(e.message));
    // Fallback: known extra kind answered, unknown kind declined.
    assert.equal(await p.send('ping'), 'pong');
    await assert.rejects(p.send('calc.nope'), NotHandledError);
    await assert.rejects(p.send('dance'), (e: Error) => e instanceof NotHandledError && /dance/.test(e.message));
    // Over a plain proxy too.
    const direct = new OperationClient(Calc, p);
    assert.equal(await direct.call('add', { a: -1, b: 1 }), 0);
    await p.dispose();
  });
});

describe('Notification', () => {
  it('returns false (never throws) when the host has no user-info service', async () => {
    const p = await a.createAgent(`${P}#Notifier`);
    assert.equal(await p.send('notify', { severity: 'info', title: 'hello', message: 'nobody listens' }), false);
    await p.dispose();
  });

  it('returns true and the host prints the line when user-info runs', async () => {
    const withInfo = await host('delta', ['--no-mesh'], true);
    const d = new HostClient(withInfo.url);
    const p = await d.createAgent(`${P}#Notifier`);
    const shown = await p.send('notify', { severity: 'warning', title: 'disk', message: '95% used', job: 'j42', source: 'test' });
    assert.equal(shown, true);
    await waitFor(() => /WARNING: disk job=j42 source=test: 95% used/.test(withInfo.output().stderr));
    await p.dispose();
  });
});

describe('MeshFanout', () => {
  let m1: SpawnedHost;
  let m2: SpawnedHost;
  let m3: SpawnedHost;
  let dead: SpawnedHost;
  let m: HostClient;
  before(async () => {
    m1 = await host('m1', ['--no-mesh-multicast']);
    [m2, m3, dead] = await Promise.all([
      host('m2', ['--peer', m1.url, '--no-mesh-multicast']),
      host('m3', ['--peer', m1.url, '--no-mesh-multicast']),
      host('mdead', ['--peer', m1.url, '--no-mesh-multicast']),
    ]);
    m = new HostClient(m1.url);
    await waitFor(async () => (await m.hosts()).filter((h) => h.online).length === 4, 20_000);
    await dead.stop(1000);
    // m1 notices on its next contact (or after the stale timeout).
    await waitFor(async () => (await m.hosts()).some((h) => h.name === 'mdead' && !h.online), 20_000, 100);
  });

  it('explicit targets must be online: a dead one is a clear error', async () => {
    const p = await m.createAgent(`${P}#Survey`);
    await assert.rejects(p.send('survey', { targets: ['m2', 'mdead'] }), (e: Error) => /fan-out target not online: mdead \(offline/.test(e.message));
    await p.dispose();
  });

  it('fans out over 3 hosts with one dead target: results, errors, expiry and cleanup', async () => {
    const p = await m.createAgent(`${P}#Survey`);
    const summary = (await p.send('survey', {
      targets: ['m1', m2.url, 'm3', 'mdead'],
      on_offline: 'record',
      silent_hosts: ['m3'],
      deadline: 3,
    })) as {
      selected: string[];
      launched: string[];
      children: string[];
      answered_in_time: boolean;
      complete: boolean;
      pending_hosts: string[];
      done_hosts: string[];
      results: Record<string, { host: string; pid: number }>;
      errors: Record<string, string>;
      cleanup_errors: Record<string, string>;
    };
    assert.deepEqual(summary.selected.sort(), ['m1', 'm2', 'm3']);
    assert.deepEqual(summary.launched.sort(), ['m1', 'm2', 'm3']);
    assert.deepEqual(summary.children, ['m1', 'm2', 'm3']);
    assert.deepEqual(summary.done_hosts.sort(), ['m1', 'm2']);
    assert.equal(summary.results.m1!.host, 'm1');
    assert.equal(summary.results.m2!.host, 'm2');
    assert.deepEqual(summary.pending_hosts, []);
    assert.equal(summary.answered_in_time, false, 'm3 never answered');
    assert.equal(summary.complete, true, 'nothing is pending after the deadline');
    assert.equal(summary.errors.m3, 'timed out waiting for result');
    assert.match(summary.errors.mdead!, /not online/);
    assert.deepEqual(summary.cleanup_errors, {});
    // Children were disposed everywhere; the parent is still a parent.
    assert.equal(await p.send('role'), 'parent');
    for (const h of [m1, m2, m3]) {
      const agents = await new HostClient(h.url).listAgents();
      assert.deepEqual(
        agents.filter((x) => x.agent_class.endsWith('#Survey') && x.agent_id !== p.agentId).map((x) => x.agent_id),
        [],
        `no child left on ${h.name}`,
      );
    }
    await p.dispose();
  });
});

describe('FileMobility (CLI)', () => {
  const json = (stdout: string): any => JSON.parse(stdout);
  const push = (args: string[]) => runCli(['--entry', alpha.url, 'examples', 'file', 'push', ...args, '--json'], { timeoutMs: 60_000 });
  const pull = (args: string[]) => runCli(['--entry', alpha.url, 'examples', 'file', 'pull', ...args, '--json'], { timeoutMs: 60_000 });

  it('push copies a file into a directory (trailing slash) and keeps the source', async () => {
    const dir = tmp();
    const src = join(dir, 'hello.txt');
    writeFileSync(src, 'hello from alpha\n');
    const out = join(dir, 'inbox');
    const r = await push([src, '--remote', beta.url, '--dest', `${out}/`]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const reply = json(r.stdout);
    assert.equal(reply.ok, true);
    assert.equal(reply.status, 'COMPLETED');
    assert.equal(reply.result.destination.path, join(out, 'hello.txt'));
    assert.equal(reply.result.destination.host_name, 'beta');
    assert.equal(reply.result.source.host_name, 'alpha');
    assert.equal(reply.result.size_bytes, 17);
    assert.equal(reply.result.source_deleted, false);
    assert.equal(readFileSync(join(out, 'hello.txt'), 'utf8'), 'hello from alpha\n');
    assert.ok(existsSync(src));
    // The transfer agent was disposed.
    assert.equal((await b.listAgents()).length, 0);
    assert.equal((await a.listAgents()).length, 0);
  });

  it('refuses an existing destination unless --overwrite; a refused move keeps its source', async () => {
    const dir = tmp();
    const src = join(dir, 'data.bin');
    const dest = join(dir, 'existing.bin');
    writeFileSync(src, Buffer.from([1, 2, 3, 4]));
    writeFileSync(dest, 'old');
    const refused = await push([src, '--remote', beta.url, '--dest', dest, '--mode', 'move']);
    assert.equal(refused.code, 2);
    const reply = json(refused.stdout);
    assert.equal(reply.status, 'FAILED');
    assert.match(reply.error, /destination already exists/);
    assert.ok(existsSync(src), 'the source of a failed move stays');
    assert.equal(readFileSync(dest, 'utf8'), 'old');
    const forced = await push([src, '--remote', beta.url, '--dest', dest, '--mode', 'move', '--overwrite']);
    assert.equal(forced.code, 0, forced.stderr + forced.stdout);
    const ok = json(forced.stdout);
    assert.equal(ok.result.overwritten, true);
    assert.equal(ok.result.source_deleted, true);
    assert.deepEqual([...readFileSync(dest)], [1, 2, 3, 4]);
    assert.equal(existsSync(src), false, 'a successful move deletes the source');
  });

  it('a dry run plans and checks on the target and changes nothing', async () => {
    const dir = tmp();
    const src = join(dir, 'plan.txt');
    writeFileSync(src, 'x');
    const r = await push([src, '--remote', beta.url, '--dest', dir + '/sub/', '--mode', 'move', '--dry']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const reply = json(r.stdout);
    assert.equal(reply.result.dry_run, true);
    assert.equal(reply.result.destination.path, join(dir, 'sub', 'plan.txt'));
    assert.equal(existsSync(join(dir, 'sub')), false, 'nothing created');
    assert.ok(existsSync(src), 'nothing deleted');
    // A dry run also reports an existing destination.
    const clash = await push([src, '--remote', beta.url, '--dest', src, '--dry']);
    assert.equal(clash.code, 2);
    assert.match(json(clash.stdout).error, /destination already exists/);
  });

  it('a push to the entry host itself copies locally (same rules)', async () => {
    const dir = tmp();
    const src = join(dir, 'self.txt');
    writeFileSync(src, 'me');
    const r = await push([src, '--remote', alpha.url, '--dest', join(dir, 'self-copy.txt'), '--mode', 'move']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const reply = json(r.stdout);
    assert.equal(reply.result.destination.host_name, 'alpha');
    assert.equal(reply.result.source_deleted, true);
    assert.equal(readFileSync(join(dir, 'self-copy.txt'), 'utf8'), 'me');
    assert.equal(existsSync(src), false);
  });

  it('pull creates the agent on the remote, which carries the file back (copy and move)', async () => {
    const dir = tmp();
    const remoteSrc = join(dir, 'remote.log');
    writeFileSync(remoteSrc, 'line 1\nline 2\n');
    const local = join(dir, 'local');
    mkdirSync(local);
    const r = await pull([remoteSrc, '--remote', gamma.url, '--dest', local]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const reply = json(r.stdout);
    assert.equal(reply.result.source.host_name, 'gamma');
    assert.equal(reply.result.destination.host_name, 'alpha');
    assert.equal(reply.result.destination.path, join(local, 'remote.log'), 'an existing directory receives the file inside');
    assert.equal(readFileSync(join(local, 'remote.log'), 'utf8'), 'line 1\nline 2\n');
    assert.ok(existsSync(remoteSrc));
    const moved = await pull([remoteSrc, '--remote', gamma.url, '--dest', join(local, 'renamed.log'), '--mode', 'move']);
    assert.equal(moved.code, 0, moved.stderr + moved.stdout);
    assert.equal(readFileSync(join(local, 'renamed.log'), 'utf8'), 'line 1\nline 2\n');
    assert.equal(existsSync(remoteSrc), false);
    assert.equal((await c.listAgents()).length, 0);
  });

  it('a missing source fails with a clear error; progress goes to stderr without --json', async () => {
    const dir = tmp();
    const r = await runCli(['--entry', alpha.url, 'examples', 'file', 'push', join(dir, 'nope.txt'), '--remote', beta.url, '--dest', dir + '/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /source not found: alpha:/);
    const src = join(dir, 'yes.txt');
    writeFileSync(src, 'y');
    const ok = await runCli(['--entry', alpha.url, 'examples', 'file', 'push', src, '--remote', beta.url, '--dest', join(dir, 'out.txt')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /push .*yes\.txt -> /);
    assert.match(ok.stderr, /completed on beta/);
    assert.match(ok.stdout, /^ok copied 1 B from alpha:.*yes\.txt to .*out\.txt in /);
    assert.equal(statSync(join(dir, 'out.txt')).size, 1);
  });

  it('--help of examples, file, push and pull shows examples', async () => {
    const commands = [['examples'], ['examples', 'file'], ['examples', 'file', 'push'], ['examples', 'file', 'pull']];
    const results = await Promise.all(commands.map((c) => runCli([...c, '--help'])));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, commands[i]!.join(' '));
      assert.match(r.stdout, /Examples:/);
    });
    assert.match(results[2]!.stdout, /--overwrite/);
    assert.match(results[3]!.stdout, /--request-timeout/);
    const bad = await runCli(['examples', 'file', 'push', 'x', '--remote', 'http://127.0.0.1:1', '--mode', 'zip']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--mode must be copy or move/);
  });
});

describe('Itinerary', () => {
  it('walks A→B→C running each phase’s tasks, skipping nothing, and stops on the last host', async () => {
    let plan = createTaskItinerary([alpha.url, beta.url, gamma.url]);
    plan = addDefaultTask(plan, itineraryTask('visit', 'default'));
    plan = addTask(plan, alpha.url, itineraryTask('stamp', 'dispatch', { label: 'leaving-a' }));
    plan = addTask(plan, beta.url, itineraryTask('stamp', 'arrival', { label: 'at-b' }));
    plan = addTask(plan, beta.url, itineraryTask('stamp', 'dispatch', { label: 'leaving-b' }));
    plan = addTask(plan, gamma.url, itineraryTask('fail', 'arrival'));
    plan = addTask(plan, gamma.url, itineraryTask('stamp', 'arrival', { label: 'at-c' }));
    await a.createAgent(`${P}#Walker`, { agentId: 'walker', state: { itinerary: plan } });
    const state = await waitFor(async () => {
      const s = (await c.getState('walker').catch(() => null))?.state as (ItineraryAgentState & { finished_on: string | null }) | undefined;
      return s?.finished_on ? s : null;
    }, 20_000);
    assert.equal(state.finished_on, 'gamma');
    assert.equal(state.itinerary.completed, true);
    assert.deepEqual(state.itinerary.visited_destinations, [alpha.url, beta.url, gamma.url]);
    assert.deepEqual(
      state.itinerary_log.map((e) => `${e.host_name}:${e.phase}:${e.task}:${e.ok ? String(e.result) : e.error}`),
      [
        'alpha:arrival:visit:alpha',
        'alpha:dispatch:stamp:leaving-a@alpha:dispatch',
        'beta:arrival:visit:beta',
        'beta:arrival:stamp:at-b@beta:arrival',
        'beta:dispatch:stamp:leaving-b@beta:dispatch',
        'gamma:arrival:visit:gamma',
        'gamma:arrival:fail:task failed on gamma',
        'gamma:arrival:stamp:at-c@gamma:arrival',
      ],
    );
    await assert.rejects(a.getAgent('walker'));
    await assert.rejects(b.getAgent('walker'));
    const status = (await c.proxy('walker').send('itinerary.status')) as { counts: { total: number; visited: number; remaining: number } };
    assert.deepEqual(status.counts, { total: 3, visited: 3, remaining: 0 });
    await c.dispose('walker');
  });

  it('an unreachable destination is logged and skipped', async () => {
    const plan = createTaskItinerary(['http://127.0.0.1:1', beta.url]);
    await a.createAgent(`${P}#Walker`, { agentId: 'walker-2', state: { itinerary: plan } });
    const state = await waitFor(async () => {
      const s = (await b.getState('walker-2').catch(() => null))?.state as (ItineraryAgentState & { finished_on: string | null }) | undefined;
      return s?.finished_on ? s : null;
    }, 20_000);
    assert.deepEqual(state.itinerary.visited_destinations, [beta.url]);
    const move = state.itinerary_log.find((e) => e.phase === 'move');
    assert.ok(move && !move.ok && move.destination === 'http://127.0.0.1:1', JSON.stringify(state.itinerary_log));
    await b.dispose('walker-2');
  });
});

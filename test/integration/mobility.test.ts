/**
 * Movement between real host processes: dispatch, clone and retract over HTTP, from inside
 * agents and from the CLI; hook order and side; tickets; failures that must leave the agent
 * active and intact on the source; large states.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentNotFoundError, TransferError } from 'taglets';
import { HostClient } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const TRAVELLER = './mobile-agents.js#Traveller';
const NO_LANDING = './mobile-agents.js#NoLanding';

let alpha: SpawnedHost;
let beta: SpawnedHost;
let gamma: SpawnedHost;
let a: HostClient;
let b: HostClient;
let c: HostClient;

before(async () => {
  [alpha, beta, gamma] = await Promise.all([
    spawnHost({ name: 'alpha', root: FIXTURES, args: ['--no-mesh'] }),
    spawnHost({ name: 'beta', root: FIXTURES, args: ['--no-mesh', '--tag', 'gpu'] }),
    spawnHost({ name: 'gamma', root: FIXTURES, args: ['--no-mesh'] }),
  ]);
  a = new HostClient(alpha.url);
  b = new HostClient(beta.url);
  c = new HostClient(gamma.url);
});

after(async () => {
  await Promise.all([alpha?.stop(), beta?.stop(), gamma?.stop()]);
});

const trailOf = async (client: HostClient, id: string): Promise<string[]> => ((await client.getState(id)).state as { trail: string[] }).trail;

async function waitTrail(client: HostClient, id: string, last: string): Promise<string[]> {
  return waitFor(async () => {
    const trail = (await client.getState(id).catch(() => null))?.state as { trail: string[] } | undefined;
    return trail && trail.trail.at(-1) === last ? trail.trail : null;
  });
}

describe('dispatch', () => {
  it('moves an agent over HTTP with hooks on the right side, in order, and state intact', async () => {
    const p = await a.createAgent(TRAVELLER, { init: 'x', agentId: 'd1' });
    await waitTrail(a, 'd1', 'run:alpha');
    assert.equal(await p.send('inc'), 1);
    const moved = await p.dispatch(beta.url);
    assert.equal(moved.hostUrl, beta.url);
    const trail = await waitTrail(b, 'd1', 'run:beta');
    assert.deepEqual(trail, ['created:alpha:x', 'run:alpha', 'dispatching:alpha->beta', 'arrival:beta:dispatch:from:alpha', 'run:beta']);
    assert.equal(await moved.send('inc'), 2, 'state travelled');
    // The source no longer has it, and says where it went.
    await assert.rejects(a.getAgent('d1'), (err: Error) => err instanceof AgentNotFoundError && err.message.includes(beta.url));
    const events = await a.events();
    const dispatch = events.find((e) => e.kind === 'dispatch' && e.agent_id === 'd1');
    assert.ok(dispatch);
    assert.equal((dispatch.data as { target_host_name: string }).target_host_name, 'beta');
    assert.ok((await b.events()).some((e) => e.kind === 'arrival' && e.agent_id === 'd1'));
    await moved.dispose();
  });

  it('an agent dispatches itself from a handler and the reply is its new location', async () => {
    const p = await a.createAgent(TRAVELLER, { agentId: 'd2' });
    const ref = (await p.send('go', { target: beta.url })) as { host_url: string; agent_id: string };
    assert.deepEqual(ref, { host_url: beta.url, agent_id: 'd2' });
    assert.equal(await b.proxy('d2').send('where'), 'beta');
    // ... and back again by host call from beta.
    const back = (await b.proxy('d2').send('go', { target: alpha.url })) as { host_url: string };
    assert.equal(back.host_url, alpha.url);
    assert.equal(await a.proxy('d2').send('where'), 'alpha');
    await a.dispose('d2');
  });

  it('self-dispatch chains A→B→C complete (hops taken in run())', async () => {
    await a.createAgent(TRAVELLER, { agentId: 'chain', state: { hops: [beta.url, gamma.url] } });
    const trail = await waitTrail(c, 'chain', 'run:gamma');
    assert.deepEqual(
      trail.filter((t) => t.startsWith('arrival')),
      ['arrival:beta:dispatch:from:alpha', 'arrival:gamma:dispatch:from:beta'],
    );
    await assert.rejects(b.getAgent('chain'), AgentNotFoundError);
    await c.dispose('chain');
  });

  it('a ticket whose capability or version the target lacks fails before anything changes', async () => {
    const p = await a.createAgent(TRAVELLER, { agentId: 'd3' });
    await assert.rejects(p.dispatch({ destination: gamma.url, required_capabilities: ['gpu'] }), (err: Error) => {
      assert.ok(err instanceof TransferError);
      assert.match(err.message, /lacks required capabilities: gpu/);
      return true;
    });
    await assert.rejects(p.dispatch({ destination: beta.url, expected_code_version: 'v-other' }), /ticket expects 'v-other'/);
    assert.equal((await p.info()).active, true);
    assert.deepEqual((await trailOf(a, 'd3')).filter((t) => t.startsWith('dispatching')), [], 'no hook ran');
    // beta is tagged gpu: the same requirement passes there.
    const moved = await p.dispatch({ destination: beta.url, required_capabilities: ['gpu', 'agents:create'] });
    assert.equal(moved.hostUrl, beta.url);
    const failures = (await a.events()).filter((e) => e.kind === 'transfer-failed' && e.agent_id === 'd3');
    assert.deepEqual(
      failures.map((e) => (e.data as { stage: string }).stage),
      ['ticket', 'ticket'],
    );
    await moved.dispose();
  });

  it('an arrival hook that throws leaves the agent active and intact on the source', async () => {
    const p = await a.createAgent(NO_LANDING, { agentId: 'd4' });
    await p.send('inc');
    await assert.rejects(p.dispatch(beta.url), (err: Error) => err instanceof TransferError && /no landing here/.test(err.message));
    assert.equal((await p.info()).active, true);
    assert.equal(await p.send('inc'), 2, 'state kept on the source');
    await assert.rejects(b.getAgent('d4'), AgentNotFoundError, 'nothing left on the target');
    await p.dispose();
  });

  it('an unreachable target (stopped mid-transfer) leaves the agent on the source, retries counted', async () => {
    const doomed = await spawnHost({ name: 'doomed', root: FIXTURES, args: ['--no-mesh'] });
    try {
      const p = await a.createAgent(TRAVELLER, { agentId: 'd5' });
      // SIGSTOP: the target accepts connections but never answers, like a host that hangs.
      process.kill(doomed.pid, 'SIGSTOP');
      await assert.rejects(p.dispatch({ destination: doomed.url, timeout: 0.5, retries: 1, retry_interval: 0.05 }), TransferError);
      process.kill(doomed.pid, 'SIGKILL');
      await assert.rejects(p.dispatch({ destination: doomed.url, timeout: 0.5 }), TransferError);
      assert.equal((await p.info()).active, true);
      assert.equal(await p.send('inc'), 1);
      const stages = (await a.events()).filter((e) => e.kind === 'transfer-failed' && e.agent_id === 'd5').map((e) => (e.data as { stage: string }).stage);
      assert.ok(stages.length >= 2, `transfer-failed events: ${stages}`);
      await p.dispose();
    } finally {
      try {
        process.kill(doomed.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await doomed.stop(100);
    }
  });
});

describe('arrival_mode inactive', () => {
  it('stores the agent asleep on the target; a message wakes it there with its state', async () => {
    const p = await a.createAgent(TRAVELLER, { agentId: 'z1' });
    await p.send('inc');
    const moved = await p.dispatch({ destination: beta.url, arrival_mode: 'inactive' });
    const info = await moved.info();
    assert.equal(info.active, false);
    assert.ok((await b.events()).some((e) => e.kind === 'arrival' && e.agent_id === 'z1' && (e.data as { active: boolean }).active === false));
    assert.equal(await moved.send('inc'), 2, 'woken by the message with its state');
    assert.ok(((await moved.send('trail')) as string[]).some((t) => t === 'dispatching:alpha->beta'));
    await moved.dispose();
  });
});

describe('clone', () => {
  it('copies to another host with onCloning/onCloned on the source and onClone on the copy', async () => {
    const p = await a.createAgent(TRAVELLER, { agentId: 'c1', init: 'orig' });
    await p.send('inc');
    const copy = await p.clone(beta.url);
    assert.notEqual(copy.agentId, 'c1');
    const copyTrail = await waitTrail(b, copy.agentId, 'run:beta');
    assert.equal(copyTrail.at(-2), 'clone:beta:of:c1');
    assert.equal(await copy.send('inc'), 2, 'the copy has the state');
    const srcTrail = await waitTrail(a, 'c1', 'cloned:alpha');
    assert.ok(srcTrail.includes('cloning:other'));
    assert.equal(await p.send('inc'), 2, 'the source stays active with its own state');
    await Promise.all([copy.dispose(), p.dispose()]);
  });

  it('clones on the same host without a target, and from inside the agent', async () => {
    const p = await a.createAgent(TRAVELLER, { agentId: 'c2' });
    const local = await p.clone();
    assert.equal(local.hostUrl, alpha.url);
    const inner = (await p.send('copy', { target: gamma.url })) as { host_url: string; agent_id: string };
    assert.equal(inner.host_url, gamma.url);
    assert.equal(await c.proxy(inner.agent_id).send('where'), 'gamma');
    await Promise.all([local.dispose(), p.dispose(), c.dispose(inner.agent_id)]);
  });
});

describe('retract', () => {
  it('pulls an agent back with onReverting on the remote side', async () => {
    const p = await a.createAgent(TRAVELLER, { agentId: 'r1' });
    await p.dispatch(beta.url);
    const home = await b.proxy('r1').retract(alpha.url);
    assert.equal(home.hostUrl, alpha.url);
    const trail = await waitTrail(a, 'r1', 'run:alpha');
    assert.ok(trail.includes('reverting:beta->alpha'));
    assert.ok(trail.includes('arrival:alpha:retract:from:beta'));
    await home.dispose();
  });
});

describe('large states', () => {
  for (const mib of [16, 64]) {
    it(`a ${mib} MiB binary state survives dispatch and clone unchanged`, async () => {
      // The agent builds the bytes itself (same formula); the test compares digests after each move.
      const blob = Buffer.alloc(mib * 1024 * 1024);
      for (let i = 0; i < blob.length; i += 4096) blob.writeUInt32LE((i * 2654435761) >>> 0, i);
      let sum = 0;
      for (const byte of blob) sum = (sum + byte) % 1_000_000_007;
      const p = await a.createAgent(TRAVELLER, { agentId: `big${mib}` });
      assert.equal(await p.send('fill', { mib }), blob.length);
      assert.equal(await p.send('blob-sum'), sum);
      const moved = await p.dispatch({ destination: beta.url, timeout: 60 });
      assert.equal(await moved.send('blob-size'), blob.length);
      assert.equal(await moved.send('blob-sum'), sum);
      const copy = await moved.clone({ destination: gamma.url, timeout: 60 });
      assert.equal(await copy.send('blob-sum'), sum);
      const digest = createHash('sha256').update(blob).digest('hex');
      const state = (await copy.state()).state as { blob: Buffer };
      assert.equal(createHash('sha256').update(state.blob).digest('hex'), digest, 'byte-identical over HTTP too');
      await Promise.all([moved.dispose(), copy.dispose()]);
    });
  }
});

describe('registered files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'taglets-files-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('copy and move files travel with dispatch, are in place before onArrival, and move deletes the source after acceptance', async () => {
    const copySrc = join(dir, 'keep.txt');
    const moveSrc = join(dir, 'move.txt');
    writeFileSync(copySrc, 'copied bytes');
    writeFileSync(moveSrc, 'moved bytes');
    const p = await a.createAgent('./mobile-agents.js#FileCarrier', { agentId: 'f1' });
    await p.send('register', { path: copySrc, mode: 'copy' });
    const reg = (await p.send('register', { path: moveSrc, mode: 'move' })) as { sha256: string; status: string };
    assert.equal(reg.status, 'registered');
    assert.equal(reg.sha256, createHash('sha256').update('moved bytes').digest('hex'));
    const moved = await p.dispatch(beta.url);
    assert.deepEqual((await moved.send('seen')) as string[], ['keep.txt:true', 'move.txt:true']);
    assert.equal(await moved.send('read', { name: 'move.txt' }), 'moved bytes');
    const files = (await moved.send('files')) as { name: string; status: string; current_host_url: string; current_path: string }[];
    assert.ok(files.every((f) => f.status === 'available' && f.current_host_url === beta.url));
    assert.ok(existsSync(copySrc), 'copy source kept');
    assert.ok(!existsSync(moveSrc), 'move source deleted after acceptance');
    // A clone copies them again; nothing is left in transit.
    const copy = await moved.clone(gamma.url);
    assert.equal(await copy.send('read', { name: 'keep.txt' }), 'copied bytes');
    assert.ok(existsSync(files[0]!.current_path), 'the source keeps its files on clone');
    assert.deepEqual(await b.listArtifacts(), [], 'transit artifacts deleted on the target');
    await Promise.all([moved.dispose(), copy.dispose()]);
    await waitFor(() => !existsSync(files[0]!.current_path));
  });

  it('a refused arrival keeps move sources and leaves no transit artifact', async () => {
    const src = join(dir, 'stay.txt');
    writeFileSync(src, 'stay');
    const p = await a.createAgent('./mobile-agents.js#FileCarrierNoLanding', { agentId: 'f2' });
    await p.send('register', { path: src, mode: 'move' });
    await assert.rejects(p.dispatch(beta.url), TransferError);
    assert.ok(existsSync(src));
    assert.deepEqual(await b.listArtifacts(), []);
    await assert.rejects(p.send('register', { path: join(dir, 'missing.txt') }), /not a readable regular file/);
    await p.dispose();
  });
});

describe('CLI', () => {
  it('taglets agents dispatch / clone / retract', async () => {
    await a.createAgent(TRAVELLER, { agentId: 'cli1' });
    const d = await runCli(['--entry', alpha.url, 'agents', 'dispatch', 'cli1', beta.url, '--json']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(JSON.parse(d.stdout).proxy, { host_url: beta.url, agent_id: 'cli1' });
    const cl = await runCli(['--entry', beta.url, 'agents', 'clone', 'cli1', '--json']);
    assert.equal(cl.code, 0, cl.stderr);
    const copyId = JSON.parse(cl.stdout).proxy.agent_id as string;
    const r = await runCli(['--entry', alpha.url, 'agents', 'retract', 'cli1', '--from', beta.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cli1 now at http:\/\/127\.0\.0\.1/);
    assert.equal(await a.proxy('cli1').send('where'), 'alpha');
    const bad = await runCli(['--entry', alpha.url, 'agents', 'dispatch', 'cli1', 'nowhere-host']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown host 'nowhere-host'/);
    await Promise.all([a.dispose('cli1'), b.dispose(copyId)]);
  });
});

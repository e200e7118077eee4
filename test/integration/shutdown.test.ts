/** Host shutdown: graceful on SIGTERM/SIGINT, and no orphaned agent processes after SIGKILL. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostClient } from 'taglets/client';
import { isAlive, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES, childrenOf } from './helpers.ts';

/** Starts agents of several kinds and returns every child pid of the host (agents and warm pool). */
async function populate(host: SpawnedHost): Promise<number[]> {
  const client = new HostClient(host.url);
  await client.createAgent('./agents.js#Counter', { init: 'a' });
  await client.createAgent('./agents.js#Counter', { init: 'b' });
  await client.createAgent('./agents.js#Forever');
  const busy = await client.createAgent('./agents.js#Recorder');
  // A handler that never finishes (its gate is never opened) must not hold up the shutdown.
  void busy.send('hold', { gate: `${host.persistenceDir}/never` }).catch(() => {});
  await waitFor(async () => (await busy.info()).mailbox.in_flight_count === 1);
  const agentPids = (await client.listAgents()).map((a) => a.pid!);
  assert.equal(agentPids.length, 4);
  const tree = childrenOf(host.pid);
  for (const pid of agentPids) {
    assert.ok(tree.includes(pid), `agent pid ${pid} is a child of the host (children: ${tree.join(' ')})`);
    assert.ok(isAlive(pid));
  }
  return [...new Set([...agentPids, ...tree])];
}

describe('host shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} stops gracefully with exit code 0 and leaves no agent process`, async (t) => {
      const host = await spawnHost({ root: FIXTURES });
      t.after(() => host.stop());
      const pids = await populate(host);
      host.process.kill(signal);
      const result = await host.exited;
      assert.deepEqual(result, { code: 0, signal: null }, host.output().stderr);
      assert.match(host.output().stderr, new RegExp(`${signal}, shutting down`));
      // The host waited for its children, so they are gone by the time it exited.
      assert.deepEqual(
        pids.filter((pid) => isAlive(pid)),
        [],
      );
    });
  }

  it('SIGKILL of the host takes its agent processes with it', async (t) => {
    const host = await spawnHost({ root: FIXTURES });
    t.after(() => host.stop());
    const pids = await populate(host);
    host.process.kill('SIGKILL');
    assert.deepEqual(await host.exited, { code: null, signal: 'SIGKILL' });
    await waitFor(() => pids.every((pid) => !isAlive(pid)), 10_000);
  });
});

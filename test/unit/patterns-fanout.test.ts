/** MeshFanout books: pure functions over `state.fanout`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FANOUT_TIMEOUT_ERROR,
  expirePending,
  fanoutSummary,
  markPending,
  newFanoutState,
  recordChild,
  recordError,
  recordResult,
  resetFanout,
  selectTargets,
} from '../../src/patterns/index.ts';
import { HostError } from '../../src/core/errors.ts';
import type { MeshHost } from '../../src/core/agent.ts';

const host = (name: string, port: number, online = true): MeshHost => ({
  name,
  url: `http://127.0.0.1:${port}`,
  code_version: 'v',
  online,
  last_seen: 0,
  active_count: 0,
  inactive_count: 0,
  tags: [],
  properties: {},
  ...(online ? {} : { error: 'stale mesh peer' }),
});
const HOSTS = [host('a', 1), host('b', 2), host('c', 3), host('d', 4, false)];

describe('selectTargets', () => {
  it('without targets: every online host, self optional', () => {
    assert.deepEqual(selectTargets(HOSTS, {}).map((t) => t.key), ['a', 'b', 'c']);
    assert.deepEqual(selectTargets(HOSTS, { includeSelf: false, selfUrl: 'http://127.0.0.1:1/' }).map((t) => t.key), ['b', 'c']);
  });

  it('explicit targets by name or URL must be online, else a clear error', () => {
    assert.deepEqual(selectTargets(HOSTS, { targets: ['b', 'http://127.0.0.1:3', '127.0.0.1:2'] }).map((t) => t.url), [
      'http://127.0.0.1:2',
      'http://127.0.0.1:3',
    ]);
    assert.throws(
      () => selectTargets(HOSTS, { targets: ['a', 'd', 'zz'] }),
      (e: Error) => e instanceof HostError && /targets not online: d \(offline: stale mesh peer\), zz \(unknown\)/.test(e.message),
    );
  });

  it("onOffline 'record' books the missing ones as errors and goes on", () => {
    const state = newFanoutState();
    assert.deepEqual(selectTargets(HOSTS, { targets: ['a', 'd', 'zz'], onOffline: 'record' }, state).map((t) => t.key), ['a']);
    assert.match(state.errors.d!, /host not online/);
    assert.match(state.errors.zz!, /not known/);
  });
});

describe('books', () => {
  it('pending → done with results; errors; late results still count', () => {
    const s = resetFanout(newFanoutState(), 10, 1000);
    assert.equal(s.deadline, 1010);
    for (const k of ['a', 'b', 'c']) markPending(s, k);
    recordChild(s, 'a', { host_url: 'http://a', agent_id: 'x' });
    recordResult(s, 'a', { n: 1 });
    recordError(s, 'b', new Error('clone failed'));
    assert.deepEqual(s.pending_hosts, ['c']);
    assert.deepEqual(s.done_hosts, ['a']);
    assert.deepEqual(s.results, { a: { n: 1 } });
    assert.equal(s.errors.b, 'clone failed');
    assert.deepEqual(s.child_proxies, { a: { host_url: 'http://a', agent_id: 'x' } });
    assert.deepEqual(expirePending(s, 1009), [], 'not before the deadline');
    assert.deepEqual(expirePending(s, 1010), ['c']);
    assert.equal(s.errors.c, FANOUT_TIMEOUT_ERROR);
    assert.deepEqual(s.pending_hosts, []);
    recordResult(s, 'c', 'late');
    assert.equal(s.errors.c, undefined);
    assert.deepEqual(fanoutSummary(s), {
      complete: true,
      pending_hosts: [],
      done_hosts: ['a', 'c'],
      results: { a: { n: 1 }, c: 'late' },
      errors: { b: 'clone failed' },
      cleanup_errors: {},
    });
  });

  it('no deadline: nothing expires; reset clears everything', () => {
    const s = resetFanout(newFanoutState());
    markPending(s, 'a');
    assert.deepEqual(expirePending(s, 1e12), []);
    resetFanout(s, 5);
    assert.deepEqual(s.pending_hosts, []);
    assert.equal(s.role, 'parent');
  });
});

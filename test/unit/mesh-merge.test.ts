/**
 * The pure mesh rules (remote/mesh-table.ts) with an injected clock: version gate, direct vs
 * gossip merges ordered by the described host's heartbeat, staleness on our own clock only,
 * failures, forgetting; plus the Mesh directory's non-network behaviour.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, HostError } from '../../src/core/errors.ts';
import type { HostRef } from '../../src/runtime/directory.ts';
import { Mesh, parseMulticastAddress, BEACON_KIND } from '../../src/remote/mesh.ts';
import { MeshTable, STALE_ERROR, sample, sanitizeRef } from '../../src/remote/mesh-table.ts';
import { rankTargets, type ListedHost } from '../../src/cli/mesh-command.ts';

const V = 'v1';
const SELF = 'http://127.0.0.1:9000';

function ref(name: string, port: number, extra: Partial<HostRef> = {}): HostRef {
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    code_version: V,
    online: true,
    last_seen: 0,
    active_count: 0,
    inactive_count: 0,
    tags: [],
    properties: {},
    error: null,
    ...extra,
  };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const table = (c = clock()) => ({ c, t: new MeshTable({ codeVersion: V, selfUrl: () => SELF, now: c.now }) });

describe('MeshTable version gate', () => {
  it('never stores or lists a ref of another mesh version, direct or gossiped', () => {
    const { t } = table();
    assert.equal(t.observeDirect(ref('x', 9001, { code_version: 'v2' })), false);
    assert.equal(t.observeGossip(ref('y', 9002, { code_version: 'v2', heartbeat: 5 })), false);
    assert.deepEqual(t.list(), []);
    assert.equal(t.observeDirect(ref('z', 9003)), true);
    assert.deepEqual(t.list().map((h) => h.name), ['z']);
  });

  it('never stores itself', () => {
    const { t } = table();
    assert.equal(t.observeDirect(ref('me', 9000)), false);
    assert.equal(t.observeGossip(ref('me', 9000, { heartbeat: 99 })), false);
    assert.equal(t.size, 0);
  });
});

describe('MeshTable merges', () => {
  it('direct reports are online, refreshed on our clock whatever the peer clock says', () => {
    const { c, t } = table();
    t.observeDirect(ref('a', 9001, { last_seen: 42, heartbeat: 42, online: false, error: 'old' }));
    const a = t.get('http://127.0.0.1:9001')!;
    assert.equal(a.online, true);
    assert.equal(a.error, null);
    assert.equal(a.last_seen, c.now() / 1000);
    assert.equal(a.heartbeat, 42);
  });

  it('gossip is taken only with a strictly newer heartbeat of the described host', () => {
    const { t } = table();
    t.observeDirect(ref('a', 9001, { heartbeat: 100, active_count: 1 }));
    assert.equal(t.observeGossip(ref('a', 9001, { heartbeat: 100, active_count: 7 })), false);
    assert.equal(t.observeGossip(ref('a', 9001, { heartbeat: 90, active_count: 7 })), false);
    assert.equal(t.get('http://127.0.0.1:9001')!.active_count, 1);
    assert.equal(t.observeGossip(ref('a', 9001, { heartbeat: 101, active_count: 3 })), true);
    assert.equal(t.get('http://127.0.0.1:9001')!.active_count, 3);
  });

  it('adds unknown online hosts from gossip, ignores offline reports', () => {
    const { t } = table();
    assert.equal(t.observeGossip(ref('b', 9002, { heartbeat: 10 })), true);
    assert.equal(t.observeGossip(ref('c', 9003, { heartbeat: 10, online: false, error: 'x' })), false);
    assert.deepEqual(t.list().map((h) => h.name), ['b']);
    // An offline report, even newer, does not take a host we consider online offline.
    assert.equal(t.observeGossip(ref('b', 9002, { heartbeat: 20, online: false })), false);
    assert.equal(t.get('http://127.0.0.1:9002')!.online, true);
  });

  it('falls back to last_seen as heartbeat for refs without one', () => {
    const { t } = table();
    t.observeGossip(ref('a', 9001, { last_seen: 50 }));
    assert.equal(t.observeGossip(ref('a', 9001, { last_seen: 50 })), false);
    assert.equal(t.observeGossip(ref('a', 9001, { last_seen: 51 })), true);
  });

  it('sanitizes refs: normalized url, lowercase sorted tags, string properties, unknown fields dropped', () => {
    const r = sanitizeRef({ ...ref('a', 9001), url: 'http://127.0.0.1:9001/', tags: ['GPU', 'b', 'gpu'], properties: { n: 1 as unknown as string }, extra: 1 } as HostRef);
    assert.equal(r.url, 'http://127.0.0.1:9001');
    assert.deepEqual(r.tags, ['b', 'gpu']);
    assert.deepEqual(r.properties, { n: '1' });
    assert.equal('extra' in r, false);
  });

  it('lists sorted by (name, url) and finds by name preferring online', () => {
    const { t } = table();
    t.observeDirect(ref('b', 9003));
    t.observeDirect(ref('a', 9002));
    t.observeDirect(ref('a', 9001));
    assert.deepEqual(t.list().map((h) => h.url.slice(-4)), ['9001', '9002', '9003']);
    t.markFailed('http://127.0.0.1:9001', 'down');
    assert.equal(t.byName('a')[0]!.url, 'http://127.0.0.1:9002');
    assert.deepEqual(t.list({ onlineOnly: true }).map((h) => h.url.slice(-4)), ['9002', '9003']);
  });
});

describe('MeshTable staleness and failures', () => {
  it('goes offline with "stale mesh peer" after 10 s without refresh on our clock', () => {
    const { c, t } = table();
    // The peer's own clock is far ahead: that must not keep it online.
    t.observeDirect(ref('a', 9001, { last_seen: 1e12, heartbeat: 1e12 }));
    c.advance(10_000);
    assert.deepEqual(t.sweep(), []);
    assert.equal(t.get('http://127.0.0.1:9001')!.online, true);
    c.advance(1);
    const changes = t.sweep();
    assert.deepEqual(changes, [{ url: 'http://127.0.0.1:9001', name: 'a', online: false, error: STALE_ERROR }]);
    const a = t.get('http://127.0.0.1:9001')!;
    assert.equal(a.online, false);
    assert.equal(a.error, STALE_ERROR);
  });

  it('a peer clock far behind does not make a fresh host stale', () => {
    const { c, t } = table();
    t.observeDirect(ref('a', 9001, { last_seen: 1, heartbeat: 1 }));
    c.advance(5000);
    t.sweep();
    assert.equal(t.get('http://127.0.0.1:9001')!.online, true);
  });

  it('gossip with an old heartbeat does not keep a dead host alive; a newer one does refresh it', () => {
    const { c, t } = table();
    t.observeDirect(ref('a', 9001, { heartbeat: 100 }));
    for (let i = 0; i < 11; i++) {
      c.advance(1000);
      t.observeGossip(ref('a', 9001, { heartbeat: 100 }));
      t.sweep();
    }
    assert.equal(t.get('http://127.0.0.1:9001')!.online, false);
    t.observeGossip(ref('a', 9001, { heartbeat: 111 }));
    assert.equal(t.get('http://127.0.0.1:9001')!.online, true);
    assert.equal(t.get('http://127.0.0.1:9001')!.error, null);
  });

  it('after our own contact failed, a relayed newer heartbeat does not revive the host within the stale window', () => {
    const { c, t } = table();
    t.observeDirect(ref('a', 9001, { heartbeat: 100 }));
    t.markFailed('http://127.0.0.1:9001', 'mesh contact failed: ECONNREFUSED');
    c.advance(1000);
    assert.equal(t.observeGossip(ref('a', 9001, { heartbeat: 101 })), false, 'hearsay from just before it stopped');
    assert.equal(t.get('http://127.0.0.1:9001')!.online, false);
    c.advance(10_000);
    assert.equal(t.observeGossip(ref('a', 9001, { heartbeat: 112 })), true, 'later news counts again');
    assert.equal(t.get('http://127.0.0.1:9001')!.online, true);
  });

  it('a failed contact marks offline with the error; same-heartbeat gossip does not revive it', () => {
    const { t } = table();
    t.observeDirect(ref('a', 9001, { heartbeat: 100 }));
    t.markFailed('http://127.0.0.1:9001', 'mesh contact failed: ECONNREFUSED');
    assert.equal(t.observeGossip(ref('a', 9001, { heartbeat: 100 })), false);
    const a = t.get('http://127.0.0.1:9001')!;
    assert.equal(a.online, false);
    assert.match(a.error!, /ECONNREFUSED/);
    t.observeDirect(ref('a', 9001, { heartbeat: 100 }));
    assert.equal(t.get('http://127.0.0.1:9001')!.online, true);
  });

  it('forgets hosts offline for longer than forgetAfterMs', () => {
    const c = clock();
    const t = new MeshTable({ codeVersion: V, selfUrl: () => SELF, now: c.now, forgetAfterMs: 60_000 });
    t.observeDirect(ref('a', 9001));
    t.markFailed('http://127.0.0.1:9001', 'down');
    c.advance(60_000);
    t.sweep();
    assert.equal(t.size, 1);
    c.advance(1);
    t.sweep();
    assert.equal(t.size, 0);
  });
});

describe('sample', () => {
  it('picks at most k distinct items', () => {
    const items = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    for (let i = 0; i < 50; i++) {
      const s = sample(items, 3);
      assert.equal(s.length, 3);
      assert.equal(new Set(s).size, 3);
      for (const x of s) assert.ok(items.includes(x));
    }
    assert.deepEqual(sample([1, 2], 3).sort(), [1, 2]);
    assert.deepEqual(sample([], 3), []);
  });
});

describe('parseMulticastAddress', () => {
  it('accepts group:port and refuses the rest', () => {
    assert.deepEqual(parseMulticastAddress('239.42.74.53:48765'), { group: '239.42.74.53', port: 48765 });
    for (const bad of ['239.42.74.53', '10.0.0.1:5000', '239.1.1.1:0', '239.1.1.1:70000', '240.0.0.1:5', 'x:1']) {
      assert.throws(() => parseMulticastAddress(bad), /invalid mesh multicast address/);
    }
  });
});

describe('Mesh directory (no network)', () => {
  const selfRef = (): HostRef => ref('me', 9000, { tags: ['x'] });
  const newMesh = (c = clock()) => new Mesh({ self: selfRef, multicast: false, now: c.now });

  it('lists itself with a load snapshot; sorted; online only by default', () => {
    const mesh = newMesh();
    try {
      mesh.join(ref('zed', 9005));
      mesh.join(ref('abe', 9001));
      mesh.table.markFailed('http://127.0.0.1:9001', 'down');
      assert.deepEqual(mesh.availableHosts().map((h) => h.name), ['me', 'zed']);
      assert.deepEqual(mesh.availableHosts({ onlineOnly: false }).map((h) => h.name), ['abe', 'me', 'zed']);
      assert.deepEqual(mesh.availableHosts({ includeSelf: false }).map((h) => h.name), ['zed']);
      const me = mesh.availableHosts().find((h) => h.name === 'me')!;
      assert.equal(typeof me.cpu_count, 'number');
      assert.equal(typeof me.load_per_cpu, 'number');
      assert.equal(typeof me.memory_available, 'number');
    } finally {
      mesh.stop();
    }
  });

  it('join refuses another mesh version with ConflictError and answers self + online hosts', () => {
    const mesh = newMesh();
    try {
      assert.throws(() => mesh.join(ref('old', 9009, { code_version: 'v0' })), (err) => err instanceof ConflictError && /mesh version mismatch/.test(err.message));
      const reply = mesh.join(ref('a', 9001));
      assert.equal(reply.self.name, 'me');
      assert.deepEqual(reply.hosts.map((h) => h.name), ['a', 'me']);
    } finally {
      mesh.stop();
    }
  });

  it('resolves names and URLs, refuses unknown names, knows who is online', async () => {
    const mesh = newMesh();
    try {
      mesh.join(ref('a', 9001));
      assert.equal(mesh.resolveUrl('a'), 'http://127.0.0.1:9001');
      assert.equal(mesh.resolveUrl('me'), 'http://127.0.0.1:9000');
      assert.equal(mesh.resolveUrl('127.0.0.1:9444'), 'http://127.0.0.1:9444');
      assert.throws(() => mesh.resolveUrl('nobody'), HostError);
      assert.equal(mesh.isHostOnline('a'), true);
      assert.equal(mesh.isHostOnline('http://127.0.0.1:9001'), true);
      assert.equal(mesh.isHostOnline('nobody'), false);
      assert.equal((await mesh.waitForHost('a')).url, 'http://127.0.0.1:9001');
      await assert.rejects(mesh.waitForHost('nobody', 50), (err) => err instanceof HostError && /not online/.test(err.message));
    } finally {
      mesh.stop();
    }
  });

  it('beacons register their sender (same version only) and ignore itself and junk', () => {
    const mesh = newMesh();
    try {
      mesh.onBeacon(Buffer.from(JSON.stringify({ kind: BEACON_KIND, host: ref('b', 9002) })));
      mesh.onBeacon(Buffer.from(JSON.stringify({ kind: BEACON_KIND, host: ref('c', 9003, { code_version: 'v9' }) })));
      mesh.onBeacon(Buffer.from(JSON.stringify({ kind: BEACON_KIND, host: selfRef() })));
      mesh.onBeacon(Buffer.from(JSON.stringify({ kind: 'other', host: ref('d', 9004) })));
      mesh.onBeacon(Buffer.from('not json'));
      assert.deepEqual(mesh.availableHosts().map((h) => h.name), ['b', 'me']);
    } finally {
      mesh.stop();
    }
  });
});

describe('Mesh gossip round (contacts recorded, not sent)', () => {
  class RecordingMesh extends Mesh {
    calls: string[] = [];
    override contact(url: string): Promise<void> {
      this.calls.push(url);
      return Promise.resolve();
    }
  }

  it('joins a bounded set: up to 3 random online peers, pending seeds, one offline peer', async () => {
    const c = clock();
    const mesh = new RecordingMesh({
      self: () => ref('me', 9000),
      multicast: false,
      now: c.now,
      peers: ['http://127.0.0.1:9500', '127.0.0.1:9501/'],
    });
    try {
      for (let i = 1; i <= 20; i++) mesh.join(ref(`h${i}`, 9000 + i));
      // join() by the seed itself means it is reached: only 9501 stays pending.
      mesh.join(ref('seed', 9500));
      await mesh.round();
      assert.equal(mesh.calls.length, 4);
      assert.ok(mesh.calls.includes('http://127.0.0.1:9501'));
      assert.equal(new Set(mesh.calls).size, 4);
      for (let i = 1; i <= 5; i++) mesh.table.markFailed(`http://127.0.0.1:${9000 + i}`, 'down');
      mesh.calls = [];
      await mesh.round();
      const offline = mesh.calls.filter((u) => Number(u.slice(-4)) >= 9001 && Number(u.slice(-4)) <= 9005);
      assert.equal(offline.length, 1);
      assert.equal(mesh.calls.length, 5);
    } finally {
      mesh.stop();
    }
  });
});

describe('rankTargets', () => {
  const h = (name: string, load: number | undefined, mem: number, extra: Partial<ListedHost> = {}): ListedHost =>
    ({ ...ref(name, 9000 + name.charCodeAt(0)), load_per_cpu: load, memory_available: mem, age_s: 0, ...extra }) as ListedHost;

  it('ranks online hosts by load per CPU, then memory, and applies the filters', () => {
    const hosts = [h('a', 0.5, 1), h('b', 0.1, 1), h('c', 0.1, 5), h('d', 2, 9), h('e', 0, 9, { online: false }), h('f', undefined, 9), h('g', 0.2, 9, { age_s: 30 })];
    const base = { maxLoadPerCpu: 1, includeSelf: true, selfUrl: 'none', limit: 10 };
    assert.deepEqual(rankTargets(hosts, base).map((x) => x.name), ['c', 'b', 'g', 'a']);
    assert.deepEqual(rankTargets(hosts, { ...base, maxAgeS: 10 }).map((x) => x.name), ['c', 'b', 'a']);
    assert.deepEqual(rankTargets(hosts, { ...base, minMemory: 5 }).map((x) => x.name), ['c', 'g']);
    assert.deepEqual(rankTargets(hosts, { ...base, limit: 2 }).map((x) => x.name), ['c', 'b']);
    assert.deepEqual(rankTargets(hosts, { ...base, includeSelf: false, selfUrl: hosts[2]!.url }).map((x) => x.name), ['b', 'g', 'a']);
  });
});

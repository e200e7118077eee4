/**
 * Mesh membership between real host processes: gossip convergence from one seed, a stopped
 * peer going offline, the mesh-version gate, multicast discovery on an isolated group/port,
 * `--no-mesh`, the /hosts routes and the `taglets mesh` CLI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HostClient, type MeshHost } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { raw } from './helpers.ts';

/** No warm agent processes: these hosts only gossip. */
const QUIET = ['--warm-pool', '0'];
/** A multicast address of its own, so this file's beacons reach nobody else. */
const isolatedMulticast = (): string => `239.42.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}:${20_000 + Math.floor(Math.random() * 40_000)}`;

const hostsOf = (url: string): Promise<MeshHost[]> => new HostClient(url, { timeoutMs: 5000 }).hosts();
const onlineUrls = async (url: string): Promise<string[]> =>
  (await hostsOf(url)).filter((h) => h.online).map((h) => h.url).sort();

describe('gossip from one seed (no multicast)', () => {
  const hosts: SpawnedHost[] = [];
  let seed: SpawnedHost;

  before(async () => {
    seed = await spawnHost({ name: 'mesh-0', args: [...QUIET, '--no-mesh-multicast'] });
    hosts.push(seed);
    hosts.push(
      ...(await Promise.all(
        [1, 2, 3, 4].map((i) => spawnHost({ name: `mesh-${i}`, args: [...QUIET, '--no-mesh-multicast', '--peer', seed.url] })),
      )),
    );
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it('5 hosts converge: every host lists all 5 online, sorted by name', async () => {
    const all = hosts.map((h) => h.url).sort();
    await waitFor(
      async () => {
        const views = await Promise.all(hosts.map((h) => onlineUrls(h.url)));
        return views.every((v) => JSON.stringify(v) === JSON.stringify(all));
      },
      30_000,
      200,
    );
    const list = await hostsOf(hosts[3]!.url);
    assert.deepEqual(list.map((h) => h.name), ['mesh-0', 'mesh-1', 'mesh-2', 'mesh-3', 'mesh-4']);
    for (const h of list) {
      assert.equal(h.online, true);
      assert.equal(h.error, null);
      assert.equal(typeof h.last_seen, 'number');
      assert.equal(typeof h.cpu_count, 'number');
      assert.equal(typeof h.load_per_cpu, 'number');
      assert.equal(typeof h.memory_available, 'number');
    }
  });

  it('GET /health advertises hosts capabilities; /hosts/join validates its body', async () => {
    const health = await new HostClient(seed.url).health();
    assert.deepEqual(health.capabilities.hosts, ['list', 'join']);
    const bad = await raw(`${seed.url}/hosts/join`, 'POST', JSON.stringify({ name: 'x' }));
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error_type, 'ValidationError');
  });

  it('POST /hosts/join with another mesh version answers 409 and registers nothing', async () => {
    const res = await raw(
      `${seed.url}/hosts/join`,
      'POST',
      JSON.stringify({ name: 'intruder', url: 'http://127.0.0.1:1', code_version: 'not-ours' }),
    );
    assert.equal(res.status, 409);
    assert.equal(res.json.error_type, 'ConflictError');
    assert.match(res.json.error, /mesh version mismatch/);
    assert.ok(!(await hostsOf(seed.url)).some((h) => h.name === 'intruder'));
  });

  it('taglets mesh summary/targets --json', async () => {
    const summary = await runCli(['--entry', seed.url, '--json', 'mesh', 'summary']);
    assert.equal(summary.code, 0, summary.stderr);
    const listed = JSON.parse(summary.stdout).hosts as (MeshHost & { age_s: number })[];
    assert.deepEqual(listed.map((h) => h.name), ['mesh-0', 'mesh-1', 'mesh-2', 'mesh-3', 'mesh-4']);
    assert.ok(listed.every((h) => typeof h.age_s === 'number' && h.age_s >= 0));

    const limited = await runCli(['--entry', seed.url, '--json', 'mesh', 'summary', '--limit', '2']);
    assert.equal(JSON.parse(limited.stdout).hosts.length, 2);

    const table = await runCli(['--entry', seed.url, 'mesh', 'summary']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /NAME\s+URL\s+ONLINE\s+LAST SEEN\s+ACTIVE\s+INACTIVE\s+TAGS\s+LOAD\/CPU\s+ERROR/);
    assert.match(table.stdout, /mesh-4/);

    // A huge load bound so the test does not depend on how busy this machine is.
    const targets = await runCli(['--entry', seed.url, '--json', 'mesh', 'targets', '--max-load-per-cpu', '1e9', '--exclude-self', '--limit', '10']);
    assert.equal(targets.code, 0, targets.stderr);
    const ranked = JSON.parse(targets.stdout).targets as MeshHost[];
    assert.equal(ranked.length, 4);
    assert.ok(!ranked.some((h) => h.url === seed.url));
    for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1]!.load_per_cpu! <= ranked[i]!.load_per_cpu!);

    const none = await runCli(['--entry', seed.url, '--json', 'mesh', 'targets', '--mem', '1000000T']);
    assert.equal(none.code, 1);
    assert.deepEqual(JSON.parse(none.stdout), { targets: [] });

    const badFlag = await runCli(['--entry', seed.url, 'mesh', 'targets', '--mem', 'lots']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--mem: invalid size/);
  });

  it('a host with another --mesh-version is never listed, and lists only itself', async () => {
    const other = await spawnHost({
      name: 'mesh-other',
      args: [...QUIET, '--no-mesh-multicast', '--mesh-version', 'other-version', '--peer', seed.url],
    });
    hosts.push(other);
    // It contacted the seed and was refused (409), which it reports once on stderr.
    await waitFor(() => /refused to join: .*mesh version mismatch/.test(other.output().stderr), 15_000, 100);
    for (const h of hosts.slice(0, 5)) {
      assert.ok(!(await hostsOf(h.url)).some((r) => r.url === other.url || r.name === 'mesh-other'), `listed by ${h.name}`);
    }
    assert.deepEqual((await hostsOf(other.url)).map((h) => h.name), ['mesh-other']);
  });

  it('a stopped peer goes offline with an error on every other host', async () => {
    const gone = hosts[4]!;
    await gone.stop();
    for (const h of hosts.slice(0, 4)) {
      const entry = await waitFor(
        async () => {
          const e = (await hostsOf(h.url)).find((r) => r.url === gone.url);
          return e && !e.online ? e : null;
        },
        30_000,
        200,
      );
      // Refused connection, a 503 while it was closing, or staleness: all say why it is offline.
      assert.match(entry.error ?? '', /mesh contact failed: |stale mesh peer/);
    }
    // Still listed (offline) with all hosts, but not among the online ones.
    assert.ok(!(await onlineUrls(seed.url)).includes(gone.url));
  });
});

describe('multicast discovery (isolated group and port)', () => {
  const hosts: SpawnedHost[] = [];
  before(async () => {
    const env = { TAGLETS_MESH_MULTICAST: isolatedMulticast() };
    hosts.push(
      ...(await Promise.all([
        spawnHost({ name: 'mc-a', args: QUIET, env }),
        spawnHost({ name: 'mc-b', args: QUIET, env }),
        spawnHost({ name: 'mc-other', args: [...QUIET, '--mesh-version', 'mc-other-version'], env }),
      ])),
    );
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it('two hosts without --peer find each other by beacons; another mesh version stays out', async () => {
    const [a, b, other] = hosts as [SpawnedHost, SpawnedHost, SpawnedHost];
    const pair = [a.url, b.url].sort();
    await waitFor(
      async () => JSON.stringify(await onlineUrls(a.url)) === JSON.stringify(pair) && JSON.stringify(await onlineUrls(b.url)) === JSON.stringify(pair),
      20_000,
      100,
    );
    // The other version's beacons were heard (and ignored with a warning) ...
    await waitFor(() => /ignoring mesh beacon from 'mc-other'/.test(a.output().stderr), 10_000, 100);
    // ... and it never appears; it lists only itself.
    assert.deepEqual((await hostsOf(a.url)).map((h) => h.name), ['mc-a', 'mc-b']);
    assert.deepEqual((await hostsOf(b.url)).map((h) => h.name), ['mc-a', 'mc-b']);
    assert.deepEqual((await hostsOf(other.url)).map((h) => h.name), ['mc-other']);
  });
});

describe('--no-mesh', () => {
  let solo: SpawnedHost;
  let peer: SpawnedHost;
  before(async () => {
    const env = { TAGLETS_MESH_MULTICAST: isolatedMulticast() };
    solo = await spawnHost({ name: 'solo', args: [...QUIET, '--no-mesh'], env });
    peer = await spawnHost({ name: 'solo-peer', args: [...QUIET, '--peer', solo.url], env });
  });
  after(async () => {
    await Promise.all([solo?.stop(), peer?.stop()]);
  });

  it('lists only itself, refuses joins, and is not listed by a host that names it as --peer', async () => {
    assert.match(solo.output().stdout, /\(mesh off, /);
    assert.deepEqual((await hostsOf(solo.url)).map((h) => h.name), ['solo']);
    const health = await new HostClient(solo.url).health();
    assert.equal(health.mesh, false);
    const join = await raw(`${solo.url}/hosts/join`, 'POST', JSON.stringify({ name: 'x', url: 'http://127.0.0.1:2', code_version: health.mesh_version }));
    assert.equal(join.status, 409);
    assert.match(join.json.error, /without a mesh/);
    await waitFor(() => /refused to join: .*without a mesh/.test(peer.output().stderr), 15_000, 100);
    assert.deepEqual((await hostsOf(peer.url)).map((h) => h.name), ['solo-peer']);
    assert.deepEqual((await hostsOf(solo.url)).map((h) => h.name), ['solo']);
  });
});

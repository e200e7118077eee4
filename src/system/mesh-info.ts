/**
 * `mesh-info` v1 (eager): every host describes itself in a snapshot (CPU, load, memory, work
 * disk, agent counts, tags) and gossips what it knows to a few peers, so any host can pick
 * targets for work without asking the whole mesh. Operations:
 *
 * - `snapshot {force?}`: this host now (cached 5 s unless `force`);
 * - `landscape {fresh_only?, max_age_seconds?, limit?}`: this host and every peer it heard of,
 *   with ages, plus the last gossip error per peer;
 * - `sync {snapshots, max_age_seconds?, limit?}`: takes snapshots in (newer `observed_at` of a
 *   host wins) and answers with its own fresh view (push-pull gossip);
 * - `select {limit?, max_age_seconds?, max_load_per_cpu?, max_cpu_percent?,
 *   min_memory_available_bytes?, min_work_free_bytes?, include_self?}`: the best hosts for new
 *   work, lowest score first. Unlike paglets, the load and CPU limits are honoured.
 *
 * Every 2 s the agent sends its view to up to 8 random online peers' `service.mesh-info`;
 * snapshots are fresh for 20 s and forgotten after 60 s. The timer is unref'd and released
 * with the agent's resources (dispose, deactivation, host shutdown); a host without peers
 * reads nothing and sends nothing.
 */
import { dirname } from 'node:path';
import Type, { type Static } from 'typebox';
import { Agent, type MeshHost, type RunnerKind } from '../core/agent.ts';
import type { Message } from '../core/message.ts';
import { defineContract } from '../services/contract.ts';
import {
  LandscapeEntrySchema,
  Landscape,
  MeshSnapshotSchema,
  SNAPSHOT_PRUNE_S,
  SNAPSHOT_TTL_S,
  SYNC_BATCH,
  SelectReplySchema,
  SelectRequestSchema,
  SnapshotInSchema,
  selectHosts,
  toEntries,
  type MeshSnapshot,
  type SnapshotIn,
} from './landscape.ts';
import { CpuSampler, cpuCount, errorText, loadAverage, platformName, readMemory, volumeUsage } from './metrics.ts';
import { round2 } from './proc.ts';
import { advertiseContract } from './service-agent.ts';

const strict = { additionalProperties: false } as const;

/** The agent id peers' mesh-info services are reached at. */
export const MESH_INFO_AGENT_ID = 'service.mesh-info';
/** How long a snapshot of this host is reused. */
export const SNAPSHOT_CACHE_MS = 5000;
/** Gossip period and fan-out. */
export const GOSSIP_INTERVAL_MS = 2000;
export const GOSSIP_PEERS = 8;
/** How long one gossip call may take. */
export const GOSSIP_TIMEOUT_MS = 1500;

export const LandscapeReplySchema = Type.Object({
  host_name: Type.String(),
  host_url: Type.String(),
  observed_at: Type.Number(),
  snapshots: Type.Array(LandscapeEntrySchema),
  /** Last gossip error per peer host name (cleared by a fresh snapshot of that host). */
  errors: Type.Record(Type.String(), Type.String()),
});

export const MeshInfoContract = defineContract({
  name: 'mesh-info',
  version: '1',
  operations: {
    snapshot: {
      request: Type.Object({ force: Type.Optional(Type.Boolean()) }, strict),
      reply: MeshSnapshotSchema,
    },
    landscape: {
      request: Type.Object(
        {
          /** Only snapshots within `max_age_seconds`. @default false */
          fresh_only: Type.Optional(Type.Boolean()),
          /** @default 20 */
          max_age_seconds: Type.Optional(Type.Number({ minimum: 0 })),
          limit: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        strict,
      ),
      reply: LandscapeReplySchema,
    },
    sync: {
      request: Type.Object(
        {
          snapshots: Type.Array(SnapshotInSchema, { maxItems: 1024 }),
          /** Older incoming snapshots are ignored. @default 20 */
          max_age_seconds: Type.Optional(Type.Number({ minimum: 0 })),
          /** At most this many are taken and answered. @default 64 */
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
        },
        strict,
      ),
      reply: Type.Object({ accepted: Type.Number(), ignored: Type.Number(), snapshots: Type.Array(SnapshotInSchema) }),
    },
    select: { request: SelectRequestSchema, reply: SelectReplySchema },
  },
});

export type MeshLandscape = Static<typeof LandscapeReplySchema>;

/** Up to `n` distinct random items. */
function sample<T>(items: readonly T[], n: number): T[] {
  const copy = items.slice();
  for (let i = 0; i < Math.min(n, copy.length); i++) {
    const j = i + Math.floor(Math.random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

export class MeshInfoAgent extends Agent<Record<string, never>> {
  static override runner: RunnerKind = 'inline';
  /** Gossip from peers must not wait behind a snapshot being sampled. */
  static override concurrency = 4;
  static readonly contract = MeshInfoContract;
  static readonly defaultScope = 'mesh' as const;

  private readonly sampler = new CpuSampler();
  private readonly landscape = new Landscape(() => this.hostUrl);
  private cached: MeshSnapshot | null = null;
  private cachedAt = 0;
  private collecting: Promise<MeshSnapshot> | null = null;
  private workRoot: string | null = null;
  private gossiping = false;
  private stopped = true;

  override async run(): Promise<void> {
    this.sampler.prime();
    this.stopped = false;
    const timer = setInterval(() => void this.gossipRound(), GOSSIP_INTERVAL_MS);
    timer.unref();
    this.context.resources.register(
      'mesh-info.gossip',
      () => {
        this.stopped = true;
        clearInterval(timer);
      },
      { suppress: true },
    );
    await advertiseContract(this, MeshInfoContract, MeshInfoAgent.defaultScope);
  }

  override onDisposing(): void {
    this.stopped = true;
  }

  override handleMessage(message: Message): unknown {
    return MeshInfoContract.route(message, {
      snapshot: (r) => this.localSnapshot(r.force ?? false),
      landscape: (r) => this.view(r),
      sync: async (r) => {
        const merged = this.landscape.merge(r.snapshots, {
          maxAgeSeconds: r.max_age_seconds ?? SNAPSHOT_TTL_S,
          limit: r.limit ?? SYNC_BATCH,
        });
        return { ...merged, snapshots: this.outgoing(await this.localSnapshot(false), r.limit ?? SYNC_BATCH) };
      },
      select: async (r) => {
        const self = await this.localSnapshot(false);
        return selectHosts(this.withSelf(self), r, { selfUrl: this.hostUrl, peerErrors: this.landscape.errors() });
      },
    });
  }

  /** This host's snapshot, reused for 5 s; concurrent callers share one sampling. */
  async localSnapshot(force: boolean): Promise<MeshSnapshot> {
    if (!force && this.cached && Date.now() - this.cachedAt < SNAPSHOT_CACHE_MS) return this.cached;
    this.collecting ??= this.collect().finally(() => (this.collecting = null));
    return this.collecting;
  }

  private async collect(): Promise<MeshSnapshot> {
    const errors: string[] = [];
    let self: MeshHost | undefined;
    try {
      self = (await this.context.availableHosts({ onlineOnly: false, includeSelf: true })).find((h) => h.url === this.hostUrl);
    } catch (err) {
      errors.push(`host list: ${errorText(err)}`);
    }
    const cpu = await this.sampler.sinceLast(250);
    const { memory, swap } = readMemory();
    const load = loadAverage();
    const cpus = cpuCount();
    let work: { total: number; free: number; percent_used: number } | null = null;
    try {
      this.workRoot ??= dirname(await this.context.workDir());
      work = await volumeUsage(this.workRoot);
    } catch (err) {
      errors.push(`work volume: ${errorText(err)}`);
    }
    const snapshot: MeshSnapshot = {
      host_name: this.hostName,
      host_url: this.hostUrl,
      observed_at: Date.now() / 1000,
      code_version: self?.code_version ?? null,
      platform: platformName(),
      cpu_count_logical: cpus,
      cpu_percent: cpu.percent,
      load_average: load,
      load_per_cpu: round2(load[0] / cpus),
      memory_total: memory.total,
      memory_available: memory.available,
      memory_percent: memory.percent,
      swap_percent: swap.percent,
      work_path: this.workRoot,
      work_total: work?.total ?? null,
      work_free: work?.free ?? null,
      work_percent_used: work?.percent_used ?? null,
      active_count: self?.active_count ?? null,
      inactive_count: self?.inactive_count ?? null,
      host_tags: self?.tags ?? [],
      host_properties: self?.properties ?? {},
      errors,
    };
    this.cached = snapshot;
    this.cachedAt = Date.now();
    return snapshot;
  }

  /** This host's snapshot and the held ones, with ages. */
  private withSelf(self: MeshSnapshot): { snapshot: MeshSnapshot; age_seconds: number }[] {
    return [{ snapshot: self, age_seconds: round2(Math.max(0, Date.now() / 1000 - self.observed_at)) }, ...this.landscape.entries()];
  }

  private async view(r: { fresh_only?: boolean; max_age_seconds?: number; limit?: number }): Promise<MeshLandscape> {
    const maxAge = r.max_age_seconds ?? SNAPSHOT_TTL_S;
    let snapshots = toEntries(this.withSelf(await this.localSnapshot(false)), maxAge);
    if (r.fresh_only) snapshots = snapshots.filter((s) => s.fresh);
    if (r.limit !== undefined) snapshots = snapshots.slice(0, r.limit);
    return { host_name: this.hostName, host_url: this.hostUrl, observed_at: Date.now() / 1000, snapshots, errors: this.landscape.errors() };
  }

  /** What this host tells a peer: itself and the fresh snapshots it holds, each with its age. */
  private outgoing(self: MeshSnapshot, limit: number): SnapshotIn[] {
    return this.withSelf(self)
      .filter((e) => e.age_seconds <= SNAPSHOT_TTL_S)
      .slice(0, limit)
      .map((e) => ({ ...e.snapshot, age_seconds: e.age_seconds }));
  }

  /** One gossip round: push-pull with up to 8 random online peers; skipped while one runs. */
  private async gossipRound(): Promise<void> {
    if (this.gossiping || this.stopped) return;
    this.gossiping = true;
    try {
      this.landscape.prune(SNAPSHOT_PRUNE_S);
      const peers = await this.context.availableHosts({ onlineOnly: true, includeSelf: false });
      if (peers.length === 0 || this.stopped) return;
      const outgoing = this.outgoing(await this.localSnapshot(false), SYNC_BATCH);
      await Promise.all(
        sample(peers, GOSSIP_PEERS).map(async (peer) => {
          try {
            const handle = MeshInfoContract.handle(this.context.getProxy({ host_url: peer.url, agent_id: MESH_INFO_AGENT_ID }));
            const reply = await handle.call(
              'sync',
              { snapshots: outgoing, max_age_seconds: SNAPSHOT_TTL_S, limit: SYNC_BATCH },
              { timeoutMs: GOSSIP_TIMEOUT_MS },
            );
            this.landscape.merge(reply.snapshots, { maxAgeSeconds: SNAPSHOT_TTL_S, limit: SYNC_BATCH });
            this.landscape.clearError(peer.name);
          } catch (err) {
            this.landscape.recordError(peer.name, errorText(err));
          }
        }),
      );
    } catch {
      /* the host is stopping, or the agent left: the next round (if any) tries again */
    } finally {
      this.gossiping = false;
    }
  }
}

/**
 * `ComputeSlotsAgent`: the eager, mesh-scoped compute-slots service of a host. It wraps the
 * pure scheduler core with I/O only: it samples the host, keeps the scheduler state durable
 * (written through to class storage, so the queue and leases survive a restart or a crash,
 * unlike paglets), delivers grants and redirects by oneway messages (rolling back when a
 * delivery fails), pins job processes to their CPUs, samples their usage, and exchanges status
 * with the other schedulers of the mesh.
 *
 * Grants are event-driven: a request or a release runs the grant pass at once; the loop only
 * wakes for what the core says is pending next (lease expiry, grant interval, cooldowns).
 */
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Agent } from '../../core/agent.ts';
import type { Message } from '../../core/message.ts';
import { advertiseContract } from '../service-agent.ts';
import { COMPUTE_SLOTS_AGENT_ID, ComputeSlotsContract } from './contract.ts';
import { pinProcess, sampleHost, sampleUsage } from './sampler.ts';
import {
  acceptPeerStatuses,
  buildHostStatus,
  cancelSlotRequests,
  candidateHosts,
  createSchedulerState,
  explainQueue,
  gossipPayload,
  gossipTargets,
  recordAffinityResult,
  recordUsageSample,
  releaseSlot,
  requestSlot,
  resolveSettings,
  rollbackGrant,
  rollbackRedirect,
  schedulerStatus,
  tick,
  usageSamplesDue,
  type SchedulerSettings,
} from './scheduler.ts';
import type { ComputeSlotRequestIn, HostSample, PeerStatusIn, SchedulerContext, SchedulerEffect, SchedulerState } from './types.ts';

const STATE_FILE = 'scheduler-state.json';
/** How long one host sample is reused (cheap /proc reads, but not per message). */
const SAMPLE_TTL_S = 0.25;

interface ComputeSlotsState {
  /** Scheduler profile (`throughput` or `conservative`); env TAGLETS_SCHEDULER_PROFILE wins. */
  profile: string;
  /** Setting overrides (launch config `state = { settings = { grant_interval = 5 } }`). */
  settings: Record<string, unknown>;
}

const now = (): number => Date.now() / 1000;

export class ComputeSlotsAgent extends Agent<ComputeSlotsState> {
  static override runner = 'inline' as const;
  static override concurrency = 64;
  static override defaultState: ComputeSlotsState = { profile: '', settings: {} };
  static readonly contract = ComputeSlotsContract;
  static readonly defaultScope = 'mesh' as const;

  private ctx!: SchedulerContext;
  private sched!: SchedulerState;
  private workBase = '';
  private sample: HostSample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private gossipTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly cpuSeen = new Map<string, { cpu_ticks: number; at: number }>();

  get settings(): SchedulerSettings {
    return this.ctx.settings;
  }

  override async onCreation(): Promise<void> {
    await this.start();
  }
  override async onActivation(): Promise<void> {
    await this.start();
  }

  /** Loads the durable scheduler state (or creates it) and starts the timers. */
  private async start(): Promise<void> {
    const profile = process.env.TAGLETS_SCHEDULER_PROFILE || this.state.profile || 'throughput';
    this.ctx = { settings: resolveSettings(profile, this.state.settings), newId: () => randomUUID().replaceAll('-', '') };
    this.workBase = dirname(await this.context.workDir());
    const stored = (await this.context.storage.exists(STATE_FILE))
      ? (JSON.parse(await this.context.storage.readText(STATE_FILE)) as SchedulerState)
      : null;
    const fresh = createSchedulerState({ host_name: this.hostName, host_url: this.hostUrl });
    // The host may come back on another port: keep the queue and leases, take the new identity.
    this.sched = stored && stored.version === fresh.version ? { ...stored, host_name: fresh.host_name, host_url: fresh.host_url } : fresh;
    this.context.resources.register('compute-slots-timers', () => this.stop(), { suppress: true });
    this.stopped = false;
    this.scheduleTick(0.05);
    this.gossipTimer = setInterval(() => void this.gossip(), Math.max(1, this.settings.gossip_interval) * 1000);
    this.gossipTimer.unref();
  }

  private stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.gossipTimer) clearInterval(this.gossipTimer);
  }

  override async run(): Promise<void> {
    await advertiseContract(this as unknown as Agent<object>, ComputeSlotsContract, ComputeSlotsAgent.defaultScope);
  }

  // ---- state ---------------------------------------------------------------------------

  /** Writes the state through to storage; concurrent callers share the next write. */
  private persist(): Promise<void> {
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      await this.context.storage.write(STATE_FILE, JSON.stringify(this.sched));
    });
    return this.writing;
  }

  private async hostSample(force = false): Promise<HostSample> {
    const t = now();
    if (!force && this.sample && t - this.sample.observed_at < SAMPLE_TTL_S) return { ...this.sample, observed_at: t };
    const self = (await this.context.availableHosts({ includeSelf: true, onlineOnly: false })).find((h) => h.url === this.hostUrl);
    this.sample = await sampleHost(this.workBase, self?.tags ?? [], self?.properties ?? {}, t);
    return this.sample;
  }

  // ---- effects -------------------------------------------------------------------------

  private async apply(effects: SchedulerEffect[]): Promise<void> {
    for (const e of effects) {
      if (e.type === 'grant' || e.type === 'redirect') {
        const kind = e.type === 'grant' ? 'compute_slot_granted' : 'compute_slot_redirect';
        try {
          await this.context.getProxy({ host_url: e.agent_host_url, agent_id: e.agent_id }).sendOneway(kind, { reply: e.reply });
        } catch {
          // Not delivered: the request goes back to its place in the queue.
          if (e.type === 'grant') {
            const r = rollbackGrant(this.ctx, this.sched, e, this.sample);
            this.sched = r.state;
            await this.apply(r.effects);
          } else this.sched = rollbackRedirect(this.sched, e);
          await this.persist();
        }
      } else if (e.type === 'apply_affinity') {
        await this.pin(e.lease_id, e.agent_id, e.cpu_core_ids);
      }
    }
  }

  private async pin(leaseId: string, agentId: string, cpuIds: number[]): Promise<void> {
    if (!this.sample?.cpu_affinity_supported) return;
    const info = await this.context.getProxy(agentId).info().catch(() => null);
    if (!info?.pid || info.runner !== 'process') return;
    const result = await pinProcess(info.pid, cpuIds);
    this.sched = recordAffinityResult(this.sched, leaseId, { cpu_core_ids: cpuIds, ...result });
    await this.persist();
  }

  // ---- loop ----------------------------------------------------------------------------

  private scheduleTick(inSeconds: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    // The core says what is pending; without anything pending the loop wakes rarely.
    this.timer = setTimeout(() => void this.runTick(), Math.max(0, inSeconds) * 1000);
    this.timer.unref();
  }

  private plan(nextTickAt: number | null): void {
    const idle = this.sched.queue.length === 0 && this.sched.leases.length === 0;
    const fallback = idle ? Math.max(5, this.settings.loop_interval) : Math.min(1, this.settings.loop_interval);
    const at = nextTickAt === null ? fallback : Math.min(fallback, Math.max(0, nextTickAt - now()));
    this.scheduleTick(at);
  }

  private async activeAgents(): Promise<Set<string>> {
    const list = await this.context.listAgents();
    return new Set(list.filter((a) => a.active).map((a) => a.agent_id));
  }

  private async runTick(): Promise<void> {
    if (this.stopped) return;
    try {
      const sample = await this.hostSample(true);
      const active = this.sched.leases.length ? await this.activeAgents() : new Set<string>();
      const r = tick(this.ctx, this.sched, sample, now(), { agentActive: (id) => active.has(id) });
      this.sched = r.state;
      await this.persist();
      await this.apply(r.effects);
      await this.sampleDueUsage();
      this.plan(r.next_tick_at);
    } catch (err) {
      this.sched = { ...this.sched, errors: { ...this.sched.errors, 'compute-slots-loop': (err as Error).message } };
      this.plan(null);
    }
  }

  private async sampleDueUsage(): Promise<void> {
    for (const due of usageSamplesDue(this.ctx, this.sched, now())) {
      const info = await this.context.getProxy(due.agent_id).info().catch(() => null);
      const extra = (await this.context
        .getProxy(due.agent_id)
        .send('compute_usage_paths', {}, { timeout: 1000 })
        .catch(() => null)) as { paths?: string[] } | null;
      const { sample, cpu } = await sampleUsage(
        info?.pid ?? null,
        join(this.workBase, due.agent_id),
        (extra?.paths ?? []).filter((p) => typeof p === 'string' && p !== ''),
        this.cpuSeen.get(due.lease_id),
        now(),
      );
      this.cpuSeen.set(due.lease_id, cpu);
      this.sched = recordUsageSample(this.sched, due.lease_id, sample, now());
    }
  }

  private async gossip(): Promise<void> {
    if (this.stopped) return;
    try {
      const peers = await this.context.availableHosts({ onlineOnly: true, includeSelf: false });
      const g = gossipTargets(this.ctx, this.sched, peers.map((p) => p.url));
      this.sched = g.state;
      if (g.targets.length === 0) return;
      const sample = await this.hostSample();
      const payload = gossipPayload(this.ctx, this.sched, buildHostStatus(this.settings, this.sched, sample), now());
      await Promise.all(
        g.targets.map(async (url) => {
          try {
            const reply = (await ComputeSlotsContract.handle(this.context.getProxy({ host_url: url, agent_id: COMPUTE_SLOTS_AGENT_ID })).call(
              'sync_scheduler_status',
              { statuses: payload },
              { timeoutMs: 1000 },
            )) as { statuses: PeerStatusIn[] };
            this.sched = acceptPeerStatuses(this.ctx, this.sched, reply.statuses, now()).state;
          } catch {
            /* peer without compute-slots, or unreachable: skipped this round */
          }
        }),
      );
    } catch {
      /* mesh lookup failed: next round */
    }
  }

  /** Live statuses of every other scheduler of the mesh, asked in parallel (1 s each). */
  private async liveStatuses(): Promise<{ live: PeerStatusIn[]; errors: Record<string, string> }> {
    const peers = await this.context.availableHosts({ onlineOnly: true, includeSelf: false });
    const live: PeerStatusIn[] = [];
    const errors: Record<string, string> = {};
    await Promise.all(
      peers.map(async (p) => {
        try {
          const r = (await ComputeSlotsContract.handle(this.context.getProxy({ host_url: p.url, agent_id: COMPUTE_SLOTS_AGENT_ID })).call(
            'scheduler_status',
            {},
            { timeoutMs: 1000 },
          )) as { status: PeerStatusIn['status'] };
          live.push({ status: r.status, age_seconds: 0 });
        } catch (err) {
          errors[p.name] = (err as Error).message;
        }
      }),
    );
    return { live, errors };
  }

  // ---- operations ----------------------------------------------------------------------

  override async handleMessage(msg: Message): Promise<unknown> {
    return ComputeSlotsContract.route(msg, {
      request_slot: async ({ slot }) => {
        const sample = await this.hostSample();
        const r = requestSlot(this.ctx, this.sched, sample, slot as ComputeSlotRequestIn, now());
        this.sched = r.state;
        await this.persist();
        await this.apply(r.effects);
        this.plan(r.next_tick_at);
        return r.reply;
      },
      release_slot: async ({ lease_id, agent_id }) => {
        const lease = this.sched.leases.find((l) => l.lease_id === lease_id);
        let final;
        if (lease) {
          const info = await this.context.getProxy(lease.request.agent_id).info().catch(() => null);
          final = (await sampleUsage(info?.pid ?? null, join(this.workBase, lease.request.agent_id), [], this.cpuSeen.get(lease_id), now())).sample;
          this.cpuSeen.delete(lease_id);
        }
        const sample = await this.hostSample();
        const r = releaseSlot(this.ctx, this.sched, { lease_id, agent_id: agent_id ?? null }, now(), { sample, final_usage: final ?? null });
        this.sched = r.state;
        await this.persist();
        await this.apply(r.effects);
        // A release frees capacity: grant waiting requests at once, not at the next loop.
        if (r.released && this.sched.queue.length) this.scheduleTick(0);
        else this.plan(r.next_tick_at);
        return { ok: true, released: r.released !== null };
      },
      scheduler_status: async (opts) => {
        const sample = await this.hostSample();
        const status = schedulerStatus(this.ctx, this.sched, sample, now(), opts);
        return opts.include_why ? { ...status, why: explainQueue(this.ctx, this.sched, sample) } : status;
      },
      sync_scheduler_status: async ({ statuses }) => {
        this.sched = acceptPeerStatuses(this.ctx, this.sched, statuses as PeerStatusIn[], now()).state;
        const sample = await this.hostSample();
        return { statuses: gossipPayload(this.ctx, this.sched, buildHostStatus(this.settings, this.sched, sample), now()) };
      },
      candidate_hosts: async ({ slot, ...opts }) => {
        const sample = await this.hostSample();
        const { live, errors } = await this.liveStatuses();
        return candidateHosts(this.ctx, this.sched, sample, slot as ComputeSlotRequestIn, now(), { ...opts, live, errors });
      },
      cancel_slot_requests: async (filter) => {
        const r = cancelSlotRequests(this.ctx, this.sched, filter, now());
        this.sched = r.state;
        await this.persist();
        if (r.cancelled_leases.length) this.scheduleTick(0);
        return { cancelled_requests: r.cancelled_requests, cancelled_leases: r.cancelled_leases };
      },
    });
  }
}

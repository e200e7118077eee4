/**
 * Discrete-event simulation of a mesh of compute hosts, each driven by the real scheduler core
 * (`src/system/compute-slots/scheduler.ts`), on simulated time.
 *
 * Model:
 * - Hosts: logical CPUs from a seeded mix (4..64), 4 GiB RAM per CPU, 200 GiB work volume, CPU
 *   affinity supported. A share of hosts (`busyFraction`) has foreign load switching on (1.2 per
 *   CPU, exponential phases of mean 10 min) and off (0.05 per CPU, mean 20 min). The 1-minute load
 *   average is an exponential moving average (τ = 60 s) of running job cores plus foreign load.
 *   Job processes use their reserved cores (no elastic speed-up, no slowdown on busy hosts).
 * - Jobs: cores 1/2/4/8 (55/25/15/5 %), RAM cores × U(0.5, 2) GiB (actual use 50–100 % of it),
 *   temp U(0, 4) GiB, runtime log-normal (median 90 s, σ 0.8, clipped to 5 s..30 min), estimate =
 *   runtime × log-normal(1, 0.3). Poisson arrivals at `submitters` home hosts, at a rate that
 *   offers `load` × the mesh's core capacity.
 * - A job's life is ComputeJobPaglet's: `candidate_hosts` at home (limit 8; `live`: the current
 *   status of every host, rebuilt when its scheduler state changed or after 5 s; `cached`: the
 *   home's gossip view), dispatch to the selected host
 *   (50–300 ms), `request_slot` there; `sleep` waits for `compute_slot_granted` /
 *   `compute_slot_redirect` (message 2–20 ms); `redirect` dispatches again; `release_slot` at the end.
 * - Each host runs a pass every `loop_interval` while it has a queue (or a hint is due), and right
 *   away when a pass was capped. With load-independent settings (`grant_interval` 0 and no load
 *   gate, i.e. throughput) a fallback pass can only change something when an input changes, so the
 *   simulator runs passes on those events instead: the core's `next_tick_at` hint (lease expiry,
 *   cooldown end, shadow expiry), a published status with room offered (or open) to the host, and
 *   foreign RAM use going away.
 * - Status exchange is modeled by its information, not message by message: every
 *   `gossip_interval` each host publishes a snapshot of its status, which becomes visible to all
 *   peers after `statusLag` seconds, aged from its observation. A peer status is therefore
 *   `statusLag` .. `statusLag + gossip_interval` old when used, as with all-to-all gossip (the wire
 *   rules — fan-out, relay, newest-wins, age on arrival — are unit-tested; simulating every
 *   message of 200 hosts is O(hosts²) per interval).
 * - `dropRate`: probability that a grant/redirect message fails (the core's rollback runs).
 */
import {
  PROFILES,
  buildHostStatus,
  candidateHosts,
  createSchedulerState,
  recordAffinityResult,
  releaseSlot,
  requestSlot,
  resolveSettings,
  rollbackGrant,
  rollbackRedirect,
  statusForPeers,
  tick,
  type ComputeSlotRequestIn,
  type HostSample,
  type PeerEntry,
  type PeerStatusIn,
  type SchedulerContext,
  type SchedulerEffect,
  type SchedulerHostStatus,
  type SchedulerProfileName,
  type SchedulerState,
} from '../../src/system/compute-slots/scheduler.ts';
import { EventQueue } from './heap.ts';
import { createRng, type Rng } from './prng.ts';

const GiB = 1024 ** 3;

export interface SimOptions {
  hosts: number;
  jobs: number;
  profile: SchedulerProfileName;
  seed: number;
  /** Offered load as a multiple of the mesh's core capacity during the arrival window. */
  load: number;
  /** Share of hosts that submit jobs. */
  submitters: number;
  /** Share of hosts with on/off foreign load. */
  busyFraction: number;
  placement: 'live' | 'cached';
  /** Extra seconds before a published status becomes visible to peers (multi-hop gossip). */
  statusLag: number;
  dropRate: number;
  /** Scheduler setting overrides on top of the profile. */
  overrides: Record<string, unknown>;
}

export const DEFAULT_SIM: SimOptions = {
  hosts: 200,
  jobs: 100_000,
  profile: 'throughput',
  seed: 1,
  load: 1.25,
  submitters: 0.05,
  busyFraction: 0.2,
  placement: 'live',
  statusLag: 0,
  dropRate: 0,
  overrides: {},
};

interface Job {
  idx: number;
  agent: string;
  cores: number;
  mem: number;
  memUse: number;
  temp: number;
  tempUse: number;
  runtime: number;
  estimate: number;
  submitAt: number;
  home: number;
  host: number;
  startAt: number;
  endAt: number;
  leaseId: string | null;
  redirects: number;
  lastRedirectAt: number | null;
  lastFrom: string | null;
  decisions: number;
  state: 'new' | 'moving' | 'waiting' | 'granted' | 'running' | 'done' | 'failed';
}

interface Host {
  idx: number;
  name: string;
  url: string;
  cpus: number;
  eligible: number[];
  memTotal: number;
  workTotal: number;
  busy: boolean;
  state: SchedulerState;
  /** Agents holding a lease here (granted or running). */
  active: Set<string>;
  runningCores: number;
  usedMem: number;
  usedTemp: number;
  foreign: number;
  loadVal: number;
  loadAt: number;
  hint: number | null;
  /** Time of the next scheduled (non-periodic) pass, `Infinity` if none. */
  tickAt: number;
  /** Cached live status (and its gossip wrapper) and the state it was built from. */
  live: { status: SchedulerHostStatus; item: PeerStatusIn; at: number; state: SchedulerState } | null;

  busySeconds: number;
}

type Ev =
  | { t: number; seq: number; kind: 'submit'; job: number }
  | { t: number; seq: number; kind: 'arrive'; job: number; host: number }
  | { t: number; seq: number; kind: 'start'; job: number; host: number }
  | { t: number; seq: number; kind: 'finish'; job: number; host: number }
  | { t: number; seq: number; kind: 'tick'; host: number; periodic: boolean }
  | { t: number; seq: number; kind: 'gossip'; host: number }
  | { t: number; seq: number; kind: 'visible'; host: number; entry: PeerEntry }
  | { t: number; seq: number; kind: 'foreign'; host: number }
  | { t: number; seq: number; kind: 'sample' };

export interface SimResult {
  options: SimOptions;
  settings: Record<string, unknown>;
  wall_seconds: number;
  events: number;
  core_calls: number;
  hosts: number;
  total_cores: number;
  jobs: number;
  completed: number;
  failed: number;
  arrival_window_s: number;
  makespan_s: number;
  /** Total job core-seconds / (total cores × makespan). */
  utilization: number;
  /** Lower bound of the makespan: max(latest submit + runtime, core-seconds / cores). */
  ideal_makespan_s: number;
  efficiency: number;
  redirects: { total: number; on_arrival: number; spillover: number; jobs_redirected: number; max_per_job: number; outcome_on_arrival: Record<string, number> };
  decisions: { run_now: number; sleep: number; redirect: number; rejected: number; granted_from_queue: number };
  rollbacks: number;
  expired_leases: number;
  queue_wait_s: { mean: number; p50: number; p90: number; p99: number; max: number };
  slowdown: { p50: number; p90: number; p99: number };
  /** Busy core-seconds inside the arrival window / (cores × window): how full the mesh is kept under load. */
  utilization_arrival_window: number;
  /** Sampled every 10 s while jobs wait somewhere: mean free cores mesh-wide, and on hosts that have a queue. */
  idle_while_waiting: { samples: number; mean_free_cores: number; mean_free_cores_on_queued_hosts: number; mean_waiting_jobs: number };
  /** Queue wait by requested cores. */
  wait_by_cores: Record<string, { jobs: number; p50: number; p99: number; mean: number }>;
  sim_ticks: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

export function simulate(opts: SimOptions): SimResult {
  const wallStart = performance.now();
  const settings = resolveSettings(opts.profile, opts.overrides);
  const rng: Rng = createRng(opts.seed);
  const jobRng: Rng = createRng(opts.seed * 7919 + 17);
  const netRng: Rng = createRng(opts.seed * 104729 + 3);
  let idCounter = 0;
  const ctx: SchedulerContext = { settings, newId: () => (++idCounter).toString(16).padStart(8, '0') };
  const q = new EventQueue<Ev>();
  let events = 0;
  let coreCalls = 0;
  let simTicks = 0;

  // ---- hosts ----
  const hosts: Host[] = [];
  const byUrl = new Map<string, number>();
  for (let i = 0; i < opts.hosts; i++) {
    const cpus = rng.weighted<number>([
      [4, 0.2],
      [8, 0.3],
      [16, 0.3],
      [32, 0.15],
      [64, 0.05],
    ]);
    const name = `h${String(i).padStart(3, '0')}`;
    const url = `http://${name}:8765`;
    const busy = rng.next() < opts.busyFraction;
    hosts.push({
      idx: i,
      name,
      url,
      cpus,
      eligible: Array.from({ length: cpus }, (_, k) => k),
      memTotal: cpus * 4 * GiB,
      workTotal: 200 * GiB,
      busy,
      state: createSchedulerState({ host_name: name, host_url: url }),
      active: new Set(),
      runningCores: 0,
      usedMem: 0,
      usedTemp: 0,
      foreign: 0.05,
      loadVal: 0.05 * cpus,
      loadAt: 0,
      hint: null,
      tickAt: Number.POSITIVE_INFINITY,
      live: null,
      busySeconds: 0,
    });
    byUrl.set(url, i);
  }
  const totalCores = hosts.reduce((a, h) => a + h.cpus, 0);
  // The status board: the latest visible publication of every host, sorted by URL (host order).
  let board: PeerEntry[] = [];
  const withBoard = (h: Host): SchedulerState => {
    if (h.state.peers !== board) h.state = { ...h.state, peers: board };
    return h.state;
  };

  // ---- jobs ----
  const jobs: Job[] = [];
  let coreSeconds = 0;
  for (let i = 0; i < opts.jobs; i++) {
    const cores = jobRng.weighted<number>([
      [1, 0.55],
      [2, 0.25],
      [4, 0.15],
      [8, 0.05],
    ]);
    const runtime = Math.min(1800, Math.max(5, jobRng.lognormal(90, 0.8)));
    const mem = Math.round(cores * jobRng.uniform(0.5, 2) * GiB);
    const temp = Math.round(jobRng.uniform(0, 4) * GiB);
    jobs.push({
      idx: i,
      agent: `job-${i}`,
      cores,
      mem,
      memUse: Math.round(mem * jobRng.uniform(0.5, 1)),
      temp,
      tempUse: Math.round(temp * jobRng.uniform(0.3, 1)),
      runtime,
      estimate: runtime * jobRng.lognormal(1, 0.3),
      submitAt: 0,
      home: 0,
      host: -1,
      startAt: -1,
      endAt: -1,
      leaseId: null,
      redirects: 0,
      lastRedirectAt: null,
      lastFrom: null,
      decisions: 0,
      state: 'new',
    });
    coreSeconds += cores * runtime;
  }
  const jobByAgent = new Map(jobs.map((j) => [j.agent, j]));
  const rate = (opts.load * totalCores) / (coreSeconds / opts.jobs); // jobs per second
  const submitters = Math.max(1, Math.round(opts.hosts * opts.submitters));
  let t = 0;
  for (const j of jobs) {
    t += jobRng.exponential(1 / rate);
    j.submitAt = t;
    j.home = jobRng.int(submitters) * Math.floor(opts.hosts / submitters);
    q.push({ t, kind: 'submit', job: j.idx });
  }
  const arrivalWindow = t;

  // ---- host measurements ----
  const updateLoad = (h: Host, now: number): void => {
    const target = h.runningCores + h.foreign * h.cpus;
    h.loadVal = target + (h.loadVal - target) * Math.exp(-(now - h.loadAt) / 60);
    h.loadAt = now;
  };
  const sampleOf = (h: Host, now: number): HostSample => {
    updateLoad(h, now);
    const foreignMem = h.memTotal * (h.foreign > 0.5 ? 0.2 : 0.05);
    return {
      observed_at: now,
      cpu_count_logical: h.cpus,
      eligible_cpu_ids: h.eligible,
      cpu_affinity_supported: true,
      cpu_percent: Math.min(100, (100 * (h.runningCores + h.foreign * h.cpus)) / h.cpus),
      load_average: [h.loadVal, h.loadVal, h.loadVal],
      memory_total: h.memTotal,
      memory_available: Math.max(0, h.memTotal - h.usedMem - foreignMem),
      work_dir_base: '/work',
      work_total: h.workTotal,
      work_free: Math.max(0, h.workTotal - h.usedTemp),
      host_tags: [],
      errors: [],
    };
  };
  const liveStatus = (h: Host, now: number): SchedulerHostStatus => {
    // A live status is rebuilt when the scheduler state changed, else every 5 s (the load average
    // moves with τ = 60 s; free amounts only change with the state).
    if (h.live && h.live.state === h.state && now - h.live.at < 5) return h.live.status;
    const status = buildHostStatus(settings, h.state, sampleOf(h, now));
    h.live = { status, item: { status, age_seconds: 0 }, at: now, state: h.state };
    return status;
  };
  const netDelay = (): number => netRng.uniform(0.002, 0.02);
  const dispatchDelay = (): number => netRng.uniform(0.05, 0.3);

  // ---- effects ----
  const stats = { run_now: 0, sleep: 0, redirect: 0, rejected: 0, spill: 0, granted: 0, rollbacks: 0, expired: 0, failed: 0, completed: 0 };
  /** Outcome of request_slot for jobs that arrive because of a redirect. */
  const afterRedirect = { run_now: 0, sleep: 0, redirect: 0, rejected: 0 };
  // Load-independent settings (no grant pacing, no load gate): a fallback pass can only change
  // something when an input changes, so passes run on those events instead of every loop_interval.
  const eventDriven = settings.grant_interval === 0 && settings.max_load_per_cpu === 0;
  const queued = new Set<number>();
  const scheduleTick = (h: Host, at: number): void => {
    if (at >= h.tickAt) return;
    h.tickAt = at;
    q.push({ t: at, kind: 'tick', host: h.idx, periodic: false });
  };
  const noteHint = (h: Host, hint: number | null, now: number): void => {
    h.hint = hint;
    if (h.state.queue.length > 0) queued.add(h.idx);
    else queued.delete(h.idx);
    if (hint === null) return;
    if (hint <= now) scheduleTick(h, now + 0.01);
    else if (eventDriven) scheduleTick(h, hint);
  };
  const moveTo = (job: Job, target: number, now: number, from: string | null): void => {
    job.state = 'moving';
    job.host = -1;
    if (from !== null) {
      job.redirects++;
      job.lastRedirectAt = now;
      job.lastFrom = from;
    }
    q.push({ t: now + dispatchDelay(), kind: 'arrive', job: job.idx, host: target });
  };
  const applyEffects = (h: Host, effects: readonly SchedulerEffect[], now: number): void => {
    for (const e of effects) {
      if (e.type === 'grant') {
        const job = jobByAgent.get(e.agent_id)!;
        if (opts.dropRate > 0 && netRng.next() < opts.dropRate) {
          h.state = rollbackGrant(ctx, h.state, e, sampleOf(h, now)).state;
          coreCalls++;
          stats.rollbacks++;
          continue;
        }
        stats.granted++;
        job.state = 'granted';
        job.leaseId = e.reply.lease_id;
        h.active.add(job.agent);
        q.push({ t: now + netDelay() + 0.05, kind: 'start', job: job.idx, host: h.idx });
      } else if (e.type === 'redirect') {
        const job = jobByAgent.get(e.agent_id)!;
        if (opts.dropRate > 0 && netRng.next() < opts.dropRate) {
          h.state = rollbackRedirect(h.state, e);
          coreCalls++;
          stats.rollbacks++;
          continue;
        }
        stats.spill++;
        moveTo(job, byUrl.get(e.reply.host_url)!, now + netDelay(), e.reply.redirected_from_host_url);
      } else if (e.type === 'apply_affinity') {
        h.state = recordAffinityResult(h.state, e.lease_id, { cpu_core_ids: e.cpu_core_ids, enforced: true });
      } else if (e.type === 'lease_ended') {
        stats.expired++;
      }
    }
  };
  const request = (job: Job): ComputeSlotRequestIn => ({
    request_id: `req-${job.idx}`,
    agent_id: job.agent,
    job_id: `compute-${job.agent}`,
    agent_host_url: hosts[job.home]!.url,
    cpu_cores: job.cores,
    memory_bytes: job.mem,
    temp_storage_bytes: job.temp,
    estimated_runtime_seconds: job.estimate,
    redirect_count: job.redirects,
    last_redirect_at: job.lastRedirectAt,
    last_redirect_from_host_url: job.lastFrom,
  });

  // ---- periodic events ----
  q.push({ t: 10, kind: 'sample' });
  const idle = { samples: 0, free: 0, freeQueued: 0, waiting: 0 };
  for (const h of hosts) {
    const phase = rng.uniform(0, settings.loop_interval);
    if (!eventDriven) q.push({ t: phase, kind: 'tick', host: h.idx, periodic: true });
    q.push({ t: rng.uniform(0, settings.gossip_interval), kind: 'gossip', host: h.idx });
    if (h.busy) q.push({ t: rng.exponential(1200), kind: 'foreign', host: h.idx });
  }

  // Every host announces itself at t=0, so the board always holds every host, in host (= URL) order.
  board = hosts.map((h) => ({ status: statusForPeers(ctx, h.state, sampleOf(h, 0), 0), age_at_receipt: 0, received_at: 0 }));
  const publish = (idx: number, entry: PeerEntry, now: number): void => {
    const next = board.slice();
    next[idx] = entry;
    board = next;
    if (!eventDriven || entry.status.free_cpu_cores < 1) return;
    // New room somewhere: the hosts it is open or offered to get a pass.
    const offers = entry.status.offers;
    if (offers == null) {
      for (const qi of queued) if (qi !== idx) scheduleTick(hosts[qi]!, now + 0.01);
    } else {
      for (const [url, cores] of Object.entries(offers)) {
        const qi = byUrl.get(url);
        if (cores >= 1 && qi !== undefined && queued.has(qi)) scheduleTick(hosts[qi]!, now + 0.01);
      }
    }
  };

  let remaining = opts.jobs;
  const liveList = (now: number, except: number): PeerStatusIn[] => {
    const out: PeerStatusIn[] = [];
    for (const h of hosts) {
      if (h.idx === except) continue;
      liveStatus(h, now);
      out.push(h.live!.item);
    }
    return out;
  };

  for (let ev = q.pop(); ev && remaining > 0; ev = q.pop()) {
    events++;
    const now = ev.t;
    switch (ev.kind) {
      case 'submit': {
        const job = jobs[ev.job]!;
        const home = hosts[job.home]!;
        coreCalls++;
        const r = candidateHosts(ctx, withBoard(home), sampleOf(home, now), request(job), now, {
          limit: 8,
          include_self: true,
          ...(opts.placement === 'live' ? { live: liveList(now, home.idx) } : {}),
        });
        if (!r.selected) {
          job.state = 'failed';
          stats.failed++;
          remaining--;
          break;
        }
        moveTo(job, byUrl.get(r.selected.status.host_url)!, now, null);
        break;
      }
      case 'arrive': {
        const job = jobs[ev.job]!;
        const h = hosts[ev.host]!;
        job.host = h.idx;
        job.decisions++;
        coreCalls++;
        const r = requestSlot(ctx, withBoard(h), sampleOf(h, now), request(job), now);
        h.state = r.state;
        applyEffects(h, r.effects, now);
        noteHint(h, r.next_tick_at, now);
        if (job.redirects > 0 && job.lastFrom !== null) afterRedirect[r.reply.decision]++;
        switch (r.reply.decision) {
          case 'run_now':
            stats.run_now++;
            job.leaseId = r.reply.lease_id;
            job.state = 'granted';
            h.active.add(job.agent);
            q.push({ t: now, kind: 'start', job: job.idx, host: h.idx });
            break;
          case 'sleep':
            stats.sleep++;
            job.state = 'waiting';
            break;
          case 'redirect':
            stats.redirect++;
            moveTo(job, byUrl.get(r.reply.host_url)!, now, r.reply.redirected_from_host_url);
            break;
          case 'rejected':
            stats.rejected++;
            job.state = 'failed';
            stats.failed++;
            remaining--;
            break;
        }
        break;
      }
      case 'start': {
        const job = jobs[ev.job]!;
        const h = hosts[ev.host]!;
        updateLoad(h, now);
        job.state = 'running';
        job.startAt = now;
        h.runningCores += job.cores;
        h.usedMem += job.memUse;
        h.usedTemp += job.tempUse;
        q.push({ t: now + job.runtime, kind: 'finish', job: job.idx, host: h.idx });
        break;
      }
      case 'finish': {
        const job = jobs[ev.job]!;
        const h = hosts[ev.host]!;
        updateLoad(h, now);
        h.runningCores -= job.cores;
        h.usedMem -= job.memUse;
        h.usedTemp -= job.tempUse;
        h.busySeconds += job.cores * job.runtime;
        h.active.delete(job.agent);
        coreCalls++;
        const r = releaseSlot(ctx, h.state, { lease_id: job.leaseId!, agent_id: job.agent }, now, { sample: sampleOf(h, now) });
        h.state = r.state;
        applyEffects(h, r.effects, now);
        noteHint(h, r.next_tick_at, now);
        job.state = 'done';
        job.endAt = now;
        stats.completed++;
        remaining--;
        break;
      }
      case 'tick': {
        const h = hosts[ev.host]!;
        if (ev.periodic) q.push({ t: now + settings.loop_interval, kind: 'tick', host: h.idx, periodic: true });
        else if (ev.t !== h.tickAt) break; // superseded by an earlier one
        else h.tickAt = Number.POSITIVE_INFINITY;
        // The fallback loop only does work when there is a queue or a due hint (lease expiry).
        if (h.state.queue.length === 0 && (h.hint === null || h.hint > now)) break;
        simTicks++;
        coreCalls++;
        const r = tick(ctx, withBoard(h), sampleOf(h, now), now, { agentActive: (a) => h.active.has(a) });
        h.state = r.state;
        applyEffects(h, r.effects, now);
        noteHint(h, r.next_tick_at, now);
        break;
      }
      case 'gossip': {
        // Publish: the status becomes visible to every peer after the lag, aged from its observation.
        const h = hosts[ev.host]!;
        q.push({ t: now + settings.gossip_interval, kind: 'gossip', host: h.idx });
        // What peers see: the status with this host's capacity offers.
        const status = statusForPeers(ctx, withBoard(h), sampleOf(h, now), now);
        const entry: PeerEntry = { status, age_at_receipt: opts.statusLag + (now - status.observed_at), received_at: now + opts.statusLag };
        if (opts.statusLag > 0) q.push({ t: now + opts.statusLag, kind: 'visible', host: h.idx, entry });
        else publish(h.idx, entry, now);
        break;
      }
      case 'visible':
        publish(ev.host, ev.entry, now);
        break;
      case 'sample': {
        q.push({ t: now + 10, kind: 'sample' });
        let waiting = 0;
        let free = 0;
        let freeQueued = 0;
        for (const h of hosts) {
          let reserved = 0;
          for (const l of h.state.leases) reserved += Math.max(1, l.request.cpu_cores);
          const f = Math.max(0, h.cpus - reserved);
          waiting += h.state.queue.length;
          free += f;
          if (h.state.queue.length > 0) freeQueued += f;
        }
        if (waiting > 0) {
          idle.samples++;
          idle.free += free;
          idle.freeQueued += freeQueued;
          idle.waiting += waiting;
        }
        break;
      }
      case 'foreign': {
        const h = hosts[ev.host]!;
        updateLoad(h, now);
        const on = h.foreign < 0.5;
        h.foreign = on ? 1.2 : 0.05;
        if (!on && h.state.queue.length > 0) scheduleTick(h, now + 0.01); // RAM came back
        q.push({ t: now + rng.exponential(on ? 600 : 1200), kind: 'foreign', host: h.idx });
        break;
      }
    }
  }

  // ---- results ----
  const done = jobs.filter((j) => j.state === 'done');
  const waits = Float64Array.from(done.map((j) => j.startAt - j.submitAt)).sort();
  const slow = Float64Array.from(done.map((j) => (j.endAt - j.submitAt) / j.runtime)).sort();
  const first = jobs[0]?.submitAt ?? 0;
  const last = done.reduce((m, j) => Math.max(m, j.endAt), 0);
  const makespan = last - first;
  const ideal = Math.max(jobs.reduce((m, j) => Math.max(m, j.submitAt + j.runtime), 0) - first, coreSeconds / totalCores);
  const redirected = done.filter((j) => j.redirects > 0).length;
  const windowEnd = arrivalWindow;
  let busyInWindow = 0;
  for (const j of done) busyInWindow += j.cores * Math.max(0, Math.min(j.endAt, windowEnd) - Math.max(j.startAt, first));
  const mean = waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length);
  const counters = hosts.reduce((acc, h) => {
    acc.granted_from_queue += h.state.counters.granted_from_queue;
    return acc;
  }, { granted_from_queue: 0 });
  return {
    options: opts,
    settings: { ...settings },
    wall_seconds: round((performance.now() - wallStart) / 1000, 2),
    events,
    core_calls: coreCalls,
    hosts: opts.hosts,
    total_cores: totalCores,
    jobs: opts.jobs,
    completed: stats.completed,
    failed: stats.failed,
    arrival_window_s: round(arrivalWindow - first, 1),
    makespan_s: round(makespan, 1),
    utilization: round(coreSeconds / (totalCores * makespan), 4),
    ideal_makespan_s: round(ideal, 1),
    efficiency: round(ideal / makespan, 4),
    redirects: {
      total: stats.redirect + stats.spill,
      on_arrival: stats.redirect,
      spillover: stats.spill,
      jobs_redirected: redirected,
      max_per_job: done.reduce((m, j) => Math.max(m, j.redirects), 0),
      outcome_on_arrival: { ...afterRedirect },
    },
    decisions: { run_now: stats.run_now, sleep: stats.sleep, redirect: stats.redirect, rejected: stats.rejected, granted_from_queue: counters.granted_from_queue },
    rollbacks: stats.rollbacks,
    expired_leases: stats.expired,
    queue_wait_s: { mean: round(mean), p50: round(percentile(waits, 50)), p90: round(percentile(waits, 90)), p99: round(percentile(waits, 99)), max: round(waits[waits.length - 1] ?? 0) },
    slowdown: { p50: round(percentile(slow, 50)), p90: round(percentile(slow, 90)), p99: round(percentile(slow, 99)) },
    utilization_arrival_window: round(busyInWindow / (totalCores * (windowEnd - first)), 4),
    idle_while_waiting: {
      samples: idle.samples,
      mean_free_cores: round(idle.free / Math.max(1, idle.samples), 1),
      mean_free_cores_on_queued_hosts: round(idle.freeQueued / Math.max(1, idle.samples), 1),
      mean_waiting_jobs: round(idle.waiting / Math.max(1, idle.samples), 1),
    },
    wait_by_cores: Object.fromEntries(
      [1, 2, 4, 8].map((c) => {
        const w = Float64Array.from(done.filter((j) => j.cores === c).map((j) => j.startAt - j.submitAt)).sort();
        return [String(c), { jobs: w.length, p50: round(percentile(w, 50)), p99: round(percentile(w, 99)), mean: round(w.reduce((a, b) => a + b, 0) / Math.max(1, w.length)) }];
      }),
    ),
    sim_ticks: simTicks,
  };
}

export { PROFILES };

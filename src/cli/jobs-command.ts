/**
 * `taglets jobs status|queue|why|top|ps|history|hosts|rm|groups`: the compute-slots schedulers
 * and the compute job agents of the mesh.
 *
 * Every online host of the entry host's mesh is asked in parallel (the entry host alone when it
 * lists no mesh): scheduler views through the `compute-slots` service (`service.compute-slots`),
 * job and collector views through `GET /agents?include_state=1`. A host that fails is reported
 * per host (stderr, or `errors` with --json) and never ends the command; `hosts` asks only the
 * entry host's scheduler (`candidate_hosts`), which itself asks its peers.
 *
 * Exit codes: 0 ok; 1 empty listing (nothing queued, no job, no candidate, nothing matched) or
 * partial result (some host failed); 2 error (every host failed, bad flags, refused `rm`).
 */
import type { Command } from 'commander';
import type { AgentSummary } from '../core/agent.ts';
import { TagletsError } from '../core/errors.ts';
import type { HostClient } from '../remote/client.ts';
import type { CandidateHost, CandidateHostsReply } from '../system/compute-slots/placement.ts';
import type { ActiveJob, QueueExplanation, SchedulerStatusReply } from '../system/compute-slots/scheduler.ts';
import type { FinishedUsage, QueueEntry } from '../system/compute-slots/types.ts';
import { entryClient, timeoutMs, type GlobalFlags } from './entry.ts';
import { CliError, EXIT_EMPTY, EXIT_ERROR, colors, printJson, printTable } from './output.ts';
import { formatDuration, formatSize, parseSize } from './units.ts';
import { act } from './act.ts';
import { formatCpuList } from '../system/compute-slots/cpu-list.ts';


/** The agent id of the compute-slots service on every host. */
export const COMPUTE_SLOTS_SERVICE_ID = 'service.compute-slots';
/** The `--state` default of `jobs rm`. */
export const DEFAULT_RM_STATE = 'WAITING_FOR_SLOT';

// ---- hosts and per-host failures -------------------------------------------------------------

interface HostTarget {
  name: string | null;
  url: string;
}

/** A host that could not answer. */
export interface HostFailure {
  host_name: string | null;
  host_url: string;
  error_type: string;
  error: string;
}

interface PerHost<T> {
  results: { host: HostTarget; value: T }[];
  errors: HostFailure[];
}

/** Online hosts of the entry's mesh, or the entry host alone when /hosts is missing or empty. */
async function targetHosts(client: HostClient): Promise<HostTarget[]> {
  let hosts: { name: string; url: string; online: boolean }[] = [];
  try {
    hosts = await client.hosts();
  } catch {
    /* an entry host without a mesh route: ask it alone */
  }
  const online = hosts.filter((h) => h.online).map((h) => ({ name: h.name, url: h.url }));
  return online.length ? online : [{ name: null, url: client.url }];
}

function failure(host: HostTarget, err: unknown): HostFailure {
  return {
    host_name: host.name,
    host_url: host.url,
    error_type: err instanceof TagletsError ? err.errorType : 'Error',
    error: err instanceof Error ? err.message : String(err),
  };
}

const byHost = (a: HostTarget, b: HostTarget): number => {
  const ka = `${a.name ?? ''}\0${a.url}`;
  const kb = `${b.name ?? ''}\0${b.url}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** Runs `fn` for every target host in parallel; failures are collected per host. Results sorted by host. */
async function forEachHost<T>(g: GlobalFlags, fn: (client: HostClient, host: HostTarget) => Promise<T>): Promise<PerHost<T>> {
  const client = await entryClient(g);
  const hosts = await targetHosts(client);
  const settled = await Promise.all(
    hosts.map(async (host) => {
      try {
        return { ok: true as const, host, value: await fn(client.sibling(host.url), host) };
      } catch (err) {
        return { ok: false as const, failure: failure(host, err) };
      }
    }),
  );
  const results = settled.flatMap((s) => (s.ok ? [{ host: s.host, value: s.value }] : []));
  results.sort((a, b) => byHost(a.host, b.host));
  return { results, errors: settled.flatMap((s) => (s.ok ? [] : [s.failure])) };
}

/** `scheduler_status` of every host's compute-slots service. */
async function askSchedulers(g: GlobalFlags, request: Record<string, boolean>): Promise<PerHost<SchedulerStatusReply & { why?: QueueExplanation[] }>> {
  // Loaded on use: compiling the contract's schemas costs other commands nothing.
  const { ComputeSlotsContract } = await import('../system/compute-slots/contract.ts');
  const ms = timeoutMs(g);
  const per = await forEachHost(g, async (c) => {
    const reply = await ComputeSlotsContract.handle(c.proxy(COMPUTE_SLOTS_SERVICE_ID)).call('scheduler_status', request, { timeoutMs: ms });
    return reply as SchedulerStatusReply & { why?: QueueExplanation[] };
  });
  // The entry host alone has no mesh name: take the one its scheduler reports.
  for (const r of per.results) r.host = { name: r.host.name ?? r.value.status.host_name, url: r.host.url };
  per.results.sort((a, b) => byHost(a.host, b.host));
  return per;
}

/** Agents of every host with their states. */
async function askAgents(g: GlobalFlags, which: 'all' | 'inactive' = 'all'): Promise<PerHost<AgentWithState[]>> {
  const per = await forEachHost(g, async (c) => (await c.listAgents({ state: which, includeState: true })) as AgentWithState[]);
  for (const r of per.results) r.host = { name: r.host.name ?? r.value[0]?.host ?? null, url: r.host.url };
  return per;
}

/** Prints per-host failures to stderr (unless --json); the exit code (0, 1 partial or empty, 2 all failed). */
function finish(per: { results: unknown[]; errors: HostFailure[] }, json: boolean, empty: boolean): number {
  if (!json) {
    for (const e of per.errors) {
      process.stderr.write(`${colors.red('error')}: ${e.host_name ? `${e.host_name} (${e.host_url})` : e.host_url}: ${e.error_type}: ${e.error}\n`);
    }
  }
  if (per.results.length === 0 && per.errors.length > 0) return EXIT_ERROR;
  if (per.errors.length > 0 || empty) return EXIT_EMPTY;
  return 0;
}

const hostOf = (h: HostTarget): { host_name: string | null; host_url: string } => ({ host_name: h.name, host_url: h.url });
const hostLabel = (h: HostTarget): string => h.name ?? h.url;

// ---- formatting ------------------------------------------------------------------------------

/** `0,1,2,3,6` → `0-3,6` (empty → `-`). */
export function formatCpuIds(ids: readonly number[] | null | undefined): string {
  return !ids || ids.length === 0 ? '-' : formatCpuList(ids);
}

const size = (n: number | null | undefined): string | null => (typeof n === 'number' && Number.isFinite(n) ? formatSize(Math.max(0, n)) : null);
const pct = (n: number | null | undefined): string | null => (typeof n === 'number' && Number.isFinite(n) ? `${n.toFixed(1)}%` : null);
const dur = (s: number | null | undefined): string | null => (typeof s === 'number' && Number.isFinite(s) ? formatDuration(Math.max(0, s)) : null);

function parseCount(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min) throw new CliError(`${flag} must be an integer >= ${min}, got '${text}'`);
  return n;
}

function parseSizeFlag(flag: string, text: string | undefined): number {
  if (text === undefined) return 0;
  try {
    return parseSize(text)!;
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`);
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

// ---- compute job agents ----------------------------------------------------------------------

/** An agent summary as `GET /agents?include_state=1` returns it. */
export type AgentWithState = AgentSummary & { state?: unknown; state_error?: string };

type JobState = Record<string, unknown> & { compute_status: string };

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The state of a compute job agent (its state has `compute_status`), else null. */
export function jobStateOf(agent: AgentWithState): JobState | null {
  const s = agent.state;
  if (!s || typeof s !== 'object' || Array.isArray(s)) return null;
  return typeof (s as Record<string, unknown>).compute_status === 'string' ? (s as JobState) : null;
}

/** The job id shown for a job agent: its `job_id`, else its `slot_request_id`. */
export function jobIdOf(agent: AgentWithState, state: JobState): string | null {
  return str(state.job_id) ?? str(state.slot_request_id);
}

/** Every id a `--job` filter may name for a job agent: `job_id`, `slot_request_id` and the scheduler label `compute-job-<agent>`. */
export function jobIdsOf(agent: AgentWithState, state: JobState): string[] {
  return [str(state.job_id), str(state.slot_request_id), `compute-job-${agent.agent_id}`].filter((v): v is string => v !== null);
}

/** Class filter: the exact class reference, or a suffix of it after `#`, `/`, `.` or `:`. */
export function classMatches(agentClass: string, wanted: string): boolean {
  if (agentClass === wanted) return true;
  if (!agentClass.endsWith(wanted)) return false;
  const before = agentClass[agentClass.length - wanted.length - 1];
  return wanted.startsWith('#') || before === '#' || before === '/' || before === '.' || before === ':';
}

/** State filter: the compute status or the application `status`, case-insensitive. */
export function stateMatches(state: JobState, wanted: string): boolean {
  const w = wanted.toUpperCase();
  return state.compute_status.toUpperCase() === w || (typeof state.status === 'string' && state.status.toUpperCase() === w);
}

export interface JobFilter {
  active?: boolean;
  inactive?: boolean;
  jobs?: readonly string[];
  agents?: readonly string[];
  states?: readonly string[];
  classes?: readonly string[];
}

/** Whether a job agent passes `jobs ps` filters (default: active and inactive). */
export function jobMatches(agent: AgentWithState, state: JobState, f: JobFilter): boolean {
  const both = !f.active && !f.inactive;
  if (!both && !(f.active && agent.active) && !(f.inactive && !agent.active)) return false;
  if (f.agents?.length && !f.agents.includes(agent.agent_id)) return false;
  if (f.jobs?.length && !jobIdsOf(agent, state).some((id) => f.jobs!.includes(id))) return false;
  if (f.states?.length && !f.states.some((s) => stateMatches(state, s))) return false;
  if (f.classes?.length && !f.classes.some((c) => classMatches(agent.agent_class, c))) return false;
  return true;
}

function agentStatus(a: AgentSummary): string {
  if (a.crashed) return 'crashed';
  return a.active ? 'active' : 'inactive';
}

function colourStatus(s: string): string {
  return s === 'crashed' ? colors.red(s) : s === 'active' ? colors.green(s) : colors.yellow(s);
}

function colourCompute(s: string): string {
  if (s === 'FAILED_FINAL') return colors.red(s);
  if (s === 'COMPLETED') return colors.green(s);
  if (s === 'WAITING_FOR_SLOT') return colors.yellow(s);
  return s;
}

// ---- job groups (result collectors) ----------------------------------------------------------

/** Keys of a collection: an array's items (their `job_key`/`job_id`, or the item itself), an object's keys. */
function keysOf(x: unknown): string[] | null {
  if (Array.isArray(x)) {
    const keys: string[] = [];
    for (const item of x) {
      if (typeof item === 'string' || typeof item === 'number') keys.push(String(item));
      else if (item && typeof item === 'object') {
        const k = (item as Record<string, unknown>).job_key ?? (item as Record<string, unknown>).job_id;
        if (typeof k !== 'string' && typeof k !== 'number') return null;
        keys.push(String(k));
      } else return null;
    }
    return keys;
  }
  if (x && typeof x === 'object') return Object.keys(x);
  return null;
}

function countOf(x: unknown): number {
  if (Array.isArray(x)) return x.length;
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  if (x && typeof x === 'object') return Object.keys(x).length;
  return 0;
}

export interface GroupSummary {
  group_id: string;
  status: string | null;
  expected: number;
  results: number;
  failures: number;
  pending: number;
  duplicates: number;
  pending_jobs: string[] | null;
  complete: boolean;
}

/** A collector's counts from its state (a state with `group_id` and `expected_jobs`), else null. */
export function groupSummaryOf(state: unknown): GroupSummary | null {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return null;
  const s = state as Record<string, unknown>;
  if (!('group_id' in s) || !('expected_jobs' in s) || s.group_id === null || s.group_id === undefined) return null;
  const expectedKeys = keysOf(s.expected_jobs);
  const resultKeys = keysOf(s.results);
  const failureKeys = keysOf(s.failures);
  const expected = countOf(s.expected_jobs);
  const results = countOf(s.results);
  const failures = countOf(s.failures);
  let pendingJobs: string[] | null = null;
  let pending: number;
  if (expectedKeys && resultKeys && failureKeys) {
    const done = new Set([...resultKeys, ...failureKeys]);
    pendingJobs = [...new Set(expectedKeys.filter((k) => !done.has(k)))].sort();
    pending = pendingJobs.length;
  } else pending = Math.max(0, expected - results - failures);
  const status = str(s.status);
  return {
    group_id: String(s.group_id),
    status,
    expected,
    results,
    failures,
    pending,
    // `duplicate_count` when kept (the list of duplicate reports may be capped).
    duplicates: num(s.duplicate_count) ?? countOf(s.duplicate_reports),
    pending_jobs: pendingJobs,
    complete: expected > 0 && pending === 0,
  };
}

// ---- rm plan ---------------------------------------------------------------------------------

export interface RmFilter {
  jobs: readonly string[];
  agents: readonly string[];
  all: boolean;
  state: string;
}

export interface RmPlan {
  /** Queued requests to cancel (never leases). */
  requests: QueueEntry[];
  /** Inactive job agents to dispose. */
  jobs: { agent: AgentWithState; state: JobState }[];
  /** Job agents that match but are active (rm never touches them). */
  skipped: { agent: AgentWithState; state: JobState; reason: string }[];
}

/**
 * What `jobs rm` removes on one host: inactive job agents that match the id filters (or `--all`)
 * and whose compute or app status is `state`; queued requests that match the id filters when
 * `state` is WAITING_FOR_SLOT (a queued job waits for a slot), plus the queued requests of the
 * agents it disposes. Active job agents and their queued requests are never touched.
 */
export function planRemoval(queue: readonly QueueEntry[], agents: readonly AgentWithState[], f: RmFilter): RmPlan {
  const idMatch = (agent: AgentWithState, state: JobState): boolean =>
    f.all || f.agents.includes(agent.agent_id) || jobIdsOf(agent, state).some((id) => f.jobs.includes(id)) || (f.jobs.length === 0 && f.agents.length === 0);
  const plan: RmPlan = { requests: [], jobs: [], skipped: [] };
  for (const agent of agents) {
    const state = jobStateOf(agent);
    if (!state || !idMatch(agent, state) || !stateMatches(state, f.state)) continue;
    if (agent.active) plan.skipped.push({ agent, state, reason: 'active: rm never stops active or running jobs' });
    else if (agent.crashed) plan.skipped.push({ agent, state, reason: 'crashed' });
    else plan.jobs.push({ agent, state });
  }
  const disposing = new Set(plan.jobs.map((j) => j.agent.agent_id));
  // An active job is left alone, its queued request too (it is about to sleep or to run).
  const activeJobs = new Set(agents.filter((x) => x.active && jobStateOf(x)).map((x) => x.agent_id));
  const waiting = f.state.toUpperCase() === DEFAULT_RM_STATE;
  const anyId = f.jobs.length === 0 && f.agents.length === 0;
  for (const e of queue) {
    const r = e.request;
    if (activeJobs.has(r.agent_id)) continue;
    const byId = f.all || anyId || f.agents.includes(r.agent_id) || f.jobs.includes(r.job_id) || f.jobs.includes(r.request_id);
    if ((waiting && byId) || disposing.has(r.agent_id)) plan.requests.push(e);
  }
  return plan;
}

// ---- commands --------------------------------------------------------------------------------

interface RmOptions {
  job?: string[];
  agent?: string[];
  all?: boolean;
  state: string;
  dryRun?: boolean;
  force?: boolean;
}

export function registerJobsCommand(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('compute-slots schedulers and compute jobs of the mesh: capacity, queue, blockers, usage, cleanup')
    .addHelpText(
      'after',
      `
Every online host of the entry host's mesh is asked in parallel (the entry host alone when it has
no mesh); hosts that fail are listed on stderr and make the exit code 1 (2 when all fail).
Exit 1 also when the listing is empty. Each host gets --timeout seconds (default 20).

Examples:
  $ taglets jobs status
  $ taglets jobs queue
  $ taglets jobs why
  $ taglets jobs top
  $ taglets jobs ps --inactive --state WAITING_FOR_SLOT
  $ taglets jobs history --limit 10
  $ taglets jobs hosts --cores 2 --mem 4G --disk 1G
  $ taglets jobs rm --job JOB_ID --dry-run
  $ taglets jobs groups --group group-abc --json`,
    );

  jobs
    .command('status')
    .description('capacity of every scheduler: CPUs eligible/free/reserved, RAM, temp storage, queue, leases, load')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs status
  $ taglets jobs status --json

CPUS is the number of eligible logical CPUs; FREE = CPUS - cores reserved by active leases.
MEM FREE is available RAM minus reserved RAM; TEMP FREE is free work-volume space minus reserved
temp storage. LOAD/CPU is the 1-minute load average per CPU (a burst guard, not an admission counter).`,
    )
    .action(
      act(async (g) => {
        const per = await askSchedulers(g, {});
        const hosts = per.results.map(({ host, value }) => ({
          ...hostOf(host),
          status: value.status,
          scheduler_errors: value.errors,
          counters: value.counters,
        }));
        if (g.json) printJson({ hosts, errors: per.errors });
        else if (hosts.length) {
          printTable(
            ['HOST', 'CPUS', 'FREE', 'RESERVED', 'MEM FREE', 'MEM RSVD', 'TEMP FREE', 'QUEUED', 'LEASES', 'LOAD/CPU', 'CPU%', 'ERRORS'],
            per.results.map(({ host, value: { status: s, errors } }) => {
              const problems = [...s.errors, ...Object.entries(errors).map(([k, v]) => `${k}: ${v}`)];
              return [
                hostLabel(host),
                s.eligible_cpu_ids.length,
                s.free_cpu_cores,
                s.reserved_cpu_cores,
                size(s.free_memory_bytes),
                size(s.reserved_memory_bytes),
                size(s.free_temp_storage_bytes),
                s.queue_length,
                s.max_active_leases > 0 ? `${s.active_leases}/${s.max_active_leases}` : s.active_leases,
                s.load_per_cpu === null ? null : s.load_per_cpu.toFixed(2),
                pct(s.cpu_percent),
                problems.length ? colors.red(problems.join('; ')) : null,
              ];
            }),
          );
        }
        return finish(per, g.json ?? false, false);
      }),
    );

  jobs
    .command('queue')
    .description('queued slot requests of every scheduler, oldest first, with their declared reservations')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs queue
  $ taglets jobs queue --json

POS is the position in the host's queue (1 = next). WAITED is measured on the host's own clock.
Exit 1 when nothing is queued.`,
    )
    .action(
      act(async (g) => {
        const per = await askSchedulers(g, { include_queue: true });
        const queued = per.results.flatMap(({ host, value }) =>
          value.queued_requests.map((e) => ({
            ...hostOf(host),
            position: e.position,
            request_id: e.request.request_id,
            job_id: e.request.job_id,
            agent_id: e.request.agent_id,
            agent_class: e.request.agent_class,
            cpu_cores: e.request.cpu_cores,
            memory_bytes: e.request.memory_bytes,
            temp_storage_bytes: e.request.temp_storage_bytes,
            estimated_runtime_seconds: e.request.estimated_runtime_seconds,
            redirect_count: e.request.redirect_count,
            queued_at: e.queued_at,
            waited_seconds: Math.max(0, Math.round((value.status.observed_at - e.queued_at) * 1000) / 1000),
          })),
        );
        if (g.json) printJson({ queued, errors: per.errors });
        else if (queued.length === 0) {
          if (per.results.length) process.stdout.write(`no queued requests on ${per.results.length} host(s)\n`);
        } else {
          printTable(
            ['HOST', 'POS', 'JOB', 'AGENT', 'CORES', 'MEM', 'TEMP', 'WAITED', 'REDIRECTS'],
            queued.map((q) => [
              q.host_name ?? q.host_url,
              q.position,
              q.job_id,
              q.agent_id,
              q.cpu_cores,
              size(q.memory_bytes),
              size(q.temp_storage_bytes),
              dur(q.waited_seconds),
              q.redirect_count,
            ]),
          );
        }
        return finish(per, g.json ?? false, queued.length === 0);
      }),
    );

  jobs
    .command('why')
    .description('why each queued request is not running: grantable, or its blockers (host-status, load, cpu, memory, temp-storage)')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs why
  $ taglets jobs why --json

Requests are judged in queue order; a grantable one takes its share of the free resources before
the next is judged (it runs at the scheduler's next pass). Exit 1 when nothing is queued.`,
    )
    .action(
      act(async (g) => {
        const per = await askSchedulers(g, { include_queue: true, include_why: true });
        const requests = per.results.flatMap(({ host, value }) => {
          const byId = new Map(value.queued_requests.map((e) => [e.request.request_id, e]));
          return (value.why ?? []).map((w) => {
            const e = byId.get(w.request_id);
            return {
              ...hostOf(host),
              position: w.position,
              request_id: w.request_id,
              job_id: w.job_id,
              agent_id: w.agent_id,
              cpu_cores: e?.request.cpu_cores ?? null,
              memory_bytes: e?.request.memory_bytes ?? null,
              temp_storage_bytes: e?.request.temp_storage_bytes ?? null,
              grantable: w.grantable,
              blockers: w.blockers,
            };
          });
        });
        if (g.json) printJson({ requests, errors: per.errors });
        else if (requests.length === 0) {
          if (per.results.length) process.stdout.write(`no queued requests on ${per.results.length} host(s)\n`);
        } else {
          printTable(
            ['HOST', 'POS', 'JOB', 'AGENT', 'CORES', 'MEM', 'TEMP', 'VERDICT', 'BLOCKERS'],
            requests.map((r) => [
              r.host_name ?? r.host_url,
              r.position,
              r.job_id,
              r.agent_id,
              r.cpu_cores,
              size(r.memory_bytes),
              size(r.temp_storage_bytes),
              r.grantable ? colors.green('grantable') : colors.yellow('blocked'),
              r.blockers.length ? r.blockers.map((b) => `${b.kind}: ${b.reason}`).join('; ') : null,
            ]),
          );
        }
        return finish(per, g.json ?? false, requests.length === 0);
      }),
    );

  jobs
    .command('top')
    .description('running jobs (active leases) with runtime, CPU ids, process-tree RSS, work-dir and extra bytes, max CPU %')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs top
  $ taglets jobs top --json

CPU IDS is the job's current (elastic) affinity mask, e.g. 0-3; '-' when the host cannot pin.
TREE RSS, WORK and EXTRA are maxima of the usage samples so far (process tree RSS, the job's work
dir, the paths its computeUsagePaths() names); SAMPLES counts them (sampled at most every
usage_sample_interval). Exit 1 when no job is running.`,
    )
    .action(
      act(async (g) => {
        const per = await askSchedulers(g, { include_jobs: true, include_usage: true });
        const running = per.results.flatMap(({ host, value }) =>
          value.active_jobs.map((j: ActiveJob) => ({ ...hostOf(host), ...j, cpu_list: formatCpuIds(j.cpu_core_ids) })),
        );
        if (g.json) printJson({ jobs: running, errors: per.errors });
        else if (running.length === 0) {
          if (per.results.length) process.stdout.write(`no running jobs on ${per.results.length} host(s)\n`);
        } else {
          printTable(
            ['HOST', 'JOB', 'AGENT', 'CORES', 'CPU IDS', 'RUNTIME', 'TREE RSS', 'WORK', 'EXTRA', 'MAX CPU%', 'SAMPLES'],
            running.map((j) => [
              j.host_name ?? j.host_url,
              j.job_id,
              j.agent_id,
              j.cpu_cores,
              j.cpu_list,
              dur(j.runtime_seconds),
              j.usage?.sample_count ? size(j.usage.max_tree_rss_bytes) : null,
              j.usage?.sample_count ? size(j.usage.max_work_dir_bytes) : null,
              j.usage?.sample_count ? size(j.usage.max_extra_bytes) : null,
              j.usage?.sample_count ? pct(j.usage.max_cpu_percent) : null,
              j.usage?.sample_count ?? 0,
            ]),
          );
        }
        return finish(per, g.json ?? false, running.length === 0);
      }),
    );

  jobs
    .command('ps')
    .description('compute job agents (state has compute_status) on every host, active and inactive')
    .option('--active', 'only active jobs')
    .option('--inactive', 'only inactive (sleeping) jobs')
    .option('--job <id>', 'job id: job_id, slot_request_id or compute-job-<agent> (repeatable)', collect)
    .option('--agent <id>', 'agent id (repeatable)', collect)
    .option('--state <status>', 'compute status (NEW, PLACING, WAITING_FOR_SLOT, RUNNING, COMPLETED, FAILED_FINAL) or app status (repeatable)', collect)
    .option('--class <class>', "class reference, exact or a suffix such as 'SleepyJob' (repeatable)", collect)
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs ps
  $ taglets jobs ps --active
  $ taglets jobs ps --inactive --state WAITING_FOR_SLOT
  $ taglets jobs ps --class SleepyJob --json

Without --active or --inactive both are listed. JOB is the job's job_id, else its slot request id.
Exit 1 when no job matches.`,
    )
    .action(
      act(async (g, opts: { active?: boolean; inactive?: boolean; job?: string[]; agent?: string[]; state?: string[]; class?: string[] }) => {
        const filter: JobFilter = {
          ...(opts.active ? { active: true } : {}),
          ...(opts.inactive ? { inactive: true } : {}),
          ...(opts.job ? { jobs: opts.job } : {}),
          ...(opts.agent ? { agents: opts.agent } : {}),
          ...(opts.state ? { states: opts.state } : {}),
          ...(opts.class ? { classes: opts.class } : {}),
        };
        const per = await askAgents(g);
        const list = per.results.flatMap(({ host, value }) =>
          [...value].sort((x, y) => x.created_at - y.created_at || (x.agent_id < y.agent_id ? -1 : 1)).flatMap((a) => {
            const s = jobStateOf(a);
            if (!s || !jobMatches(a, s, filter)) return [];
            return [
              {
                ...hostOf(host),
                agent_id: a.agent_id,
                agent_class: a.agent_class,
                active: a.active,
                crashed: a.crashed,
                agent_status: agentStatus(a),
                compute_status: s.compute_status,
                status: str(s.status),
                job_id: jobIdOf(a, s),
                cpu_cores: num(s.cpu_cores),
                memory_bytes: num(s.memory_bytes),
                temp_storage_bytes: num(s.temp_storage_bytes),
                slot_request_id: str(s.slot_request_id),
                slot_lease_id: str(s.slot_lease_id),
                cpu_core_ids: Array.isArray(s.cpu_core_ids) ? (s.cpu_core_ids as number[]) : [],
                compute_error: str(s.compute_error),
                created_at: a.created_at,
                deactivated_at: a.deactivated_at ?? null,
              },
            ];
          }),
        );
        if (g.json) printJson({ jobs: list, errors: per.errors });
        else if (list.length === 0) {
          if (per.results.length) process.stdout.write(`no compute jobs match on ${per.results.length} host(s)\n`);
        } else {
          printTable(
            ['HOST', 'AGENT', 'CLASS', 'AGENT STATUS', 'COMPUTE', 'APP STATUS', 'JOB', 'CORES', 'MEM', 'ERROR'],
            list.map((j) => [
              j.host_name ?? j.host_url,
              j.agent_id,
              j.agent_class,
              colourStatus(j.agent_status),
              colourCompute(j.compute_status),
              j.status,
              j.job_id,
              j.cpu_cores,
              size(j.memory_bytes),
              j.compute_error,
            ]),
          );
        }
        return finish(per, g.json ?? false, list.length === 0);
      }),
    );

  jobs
    .command('history')
    .description('recent finished jobs of every scheduler: runtime, finish reason, class, max CPU, max RSS, max disk')
    .option('--limit <n>', 'at most this many, newest first', '20')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs history
  $ taglets jobs history --limit 5 --json

FINISHED is how long ago, on the host's own clock. REASON is released, cancelled, expired or
inactive. MAX WORK is the largest work-dir + extra bytes sampled. Each scheduler keeps its last
usage_history_limit (default 100) summaries. Exit 1 when there is none.`,
    )
    .action(
      act(async (g, opts: { limit: string }) => {
        const limit = parseCount('--limit', opts.limit, 1);
        const per = await askSchedulers(g, { include_usage_history: true });
        const all = per.results.flatMap(({ host, value }) =>
          value.finished_usage.map((f: FinishedUsage) => ({
            ...hostOf(host),
            ...f,
            finished_ago_seconds: Math.max(0, Math.round((value.status.observed_at - f.finished_at) * 1000) / 1000),
          })),
        );
        all.sort((a, b) => a.finished_ago_seconds - b.finished_ago_seconds);
        const history = all.slice(0, limit);
        if (g.json) printJson({ history, errors: per.errors });
        else if (history.length === 0) {
          if (per.results.length) process.stdout.write(`no finished jobs on ${per.results.length} host(s)\n`);
        } else {
          printTable(
            ['HOST', 'FINISHED', 'JOB', 'AGENT', 'CLASS', 'REASON', 'RUNTIME', 'CORES', 'MAX CPU%', 'MAX TREE RSS', 'MAX WORK', 'SAMPLES'],
            history.map((h) => [
              h.host_name ?? h.host_url,
              `${dur(h.finished_ago_seconds)} ago`,
              h.job_id,
              h.agent_id,
              h.agent_class,
              h.finish_reason === 'released' ? h.finish_reason : colors.yellow(h.finish_reason),
              dur(h.runtime_seconds),
              h.cpu_cores,
              h.sample_count ? pct(h.max_cpu_percent) : null,
              h.sample_count ? size(h.max_tree_rss_bytes) : null,
              h.sample_count ? size(h.max_total_work_bytes) : null,
              h.sample_count,
            ]),
          );
          if (all.length > history.length) process.stdout.write(`${all.length} finished jobs retained, showing the newest ${history.length} (--limit)\n`);
        }
        return finish(per, g.json ?? false, history.length === 0);
      }),
    );

  jobs
    .command('hosts')
    .description("candidate hosts for a resource request, best first (the entry host's candidate_hosts)")
    .option('--limit <n>', 'at most this many candidates (0 = all)', '5')
    .option('--cores <n>', 'logical CPU cores', '1')
    .option('--mem <size>', 'expected peak RAM, e.g. 512M, 4G')
    .option('--disk <size>', 'temp storage, e.g. 1G')
    .option('--gpu', 'require a GPU (v1 schedulers support no GPU jobs: no host qualifies)')
    .option('--gpu-memory <size>', 'GPU memory: a size such as 8G, or a plain number of MB')
    .option('--tag <tag>', 'required host tag (repeatable)', collect)
    .option('--prefer-tag <tag>', 'preferred host tag, ranks matching hosts higher (repeatable)', collect)
    .option('--exclude-tag <tag>', 'skip hosts with this tag (repeatable)', collect)
    .option('--exclude-host <name|url>', 'skip this host, by name or URL (repeatable)', collect)
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs hosts --cores 2 --mem 4G --disk 1G
  $ taglets jobs hosts --tag linux --prefer-tag gpu --exclude-host laptop
  $ taglets jobs hosts --limit 0 --json

Hosts are filtered by what they could ever run (cores, RAM, work storage, tags, exclusions) and by
health; a busy host stays a candidate and NOW says why it cannot start the job right away. '*'
marks the host a job with this request would select. Exit 1 when no host qualifies (the reasons
go to stderr).`,
    )
    .action(
      act(
        async (
          g,
          opts: {
            limit: string;
            cores: string;
            mem?: string;
            disk?: string;
            gpu?: boolean;
            gpuMemory?: string;
            tag?: string[];
            preferTag?: string[];
            excludeTag?: string[];
            excludeHost?: string[];
          },
        ) => {
          const limit = parseCount('--limit', opts.limit, 0);
          const slot: Record<string, unknown> = {
            cpu_cores: parseCount('--cores', opts.cores, 1),
            memory_bytes: parseSizeFlag('--mem', opts.mem),
            temp_storage_bytes: parseSizeFlag('--disk', opts.disk),
            requires_gpu: opts.gpu ?? false,
            required_host_tags: opts.tag ?? [],
            preferred_host_tags: opts.preferTag ?? [],
            excluded_host_tags: opts.excludeTag ?? [],
            excluded_host_names: (opts.excludeHost ?? []).filter((h) => !looksLikeUrl(h)),
            excluded_host_urls: (opts.excludeHost ?? []).filter(looksLikeUrl).map(normalizeUrl),
          };
          if (opts.gpuMemory !== undefined) {
            const t = opts.gpuMemory.trim();
            slot.gpu_memory_mb = /^\d+(\.\d+)?$/.test(t) ? Number(t) : Math.ceil(parseSizeFlag('--gpu-memory', t) / 1024 ** 2);
          }
          const { ComputeSlotsContract } = await import('../system/compute-slots/contract.ts');
          const client = await entryClient(g);
          const reply = (await ComputeSlotsContract.handle(client.proxy(COMPUTE_SLOTS_SERVICE_ID)).call(
            'candidate_hosts',
            { slot, limit },
            { timeoutMs: timeoutMs(g) },
          )) as CandidateHostsReply;
          const selectedUrl = reply.selected?.status.host_url ?? null;
          const candidates = reply.candidates.map((c: CandidateHost, i) => ({
            rank: i + 1,
            selected: c.status.host_url === selectedUrl,
            host_name: c.status.host_name,
            host_url: c.status.host_url,
            score: c.score,
            reasons: c.reasons,
            status: c.status,
          }));
          if (g.json) printJson({ request: slot, candidates, selected: selectedUrl, rejected: reply.rejected, errors: reply.errors });
          else {
            if (candidates.length) {
              printTable(
                ['', 'RANK', 'HOST', 'URL', 'SCORE', 'CPUS FREE', 'MEM FREE', 'TEMP FREE', 'QUEUED', 'LEASES', 'NOW'],
                candidates.map((c) => [
                  c.selected ? '*' : '',
                  c.rank,
                  c.host_name,
                  c.host_url,
                  c.score.toFixed(3),
                  `${c.status.free_cpu_cores}/${c.status.eligible_cpu_ids.length}`,
                  size(c.status.free_memory_bytes),
                  size(c.status.free_temp_storage_bytes),
                  c.status.queue_length,
                  c.status.active_leases,
                  c.reasons.join('; '),
                ]),
              );
            } else process.stderr.write(`no candidate host for this request (asked ${client.url})\n`);
            for (const [name, reason] of Object.entries(reply.rejected)) process.stderr.write(`not a candidate: ${name}: ${reason}\n`);
            for (const [name, error] of Object.entries(reply.errors)) process.stderr.write(`${colors.red('error')}: ${name}: ${error}\n`);
          }
          return candidates.length === 0 ? EXIT_EMPTY : 0;
        },
      ),
    );

  jobs
    .command('rm')
    .description('cancel queued slot requests and dispose inactive compute jobs (never leases or running jobs)')
    .option('--job <id>', 'job id: job_id, slot_request_id, request id or compute-job-<agent> (repeatable)', collect)
    .option('--agent <id>', 'agent id (repeatable)', collect)
    .option('--all', 'every job in --state')
    .option('--state <status>', 'compute or app status of the jobs to dispose', DEFAULT_RM_STATE)
    .option('-n, --dry-run', 'show what would be removed, remove nothing')
    .option('-f, --force', 'remove without asking')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs rm --job JOB_ID --dry-run
  $ taglets jobs rm --agent agent-abc --force
  $ taglets jobs rm --all --force
  $ taglets jobs rm --state WAITING_FOR_SLOT --force
  $ taglets jobs rm --state FAILED_FINAL -n

A filter is required: --job, --agent, --all or an explicit --state. Matching inactive job agents
whose compute (or app) status is --state (default WAITING_FOR_SLOT) are disposed; matching queued
requests are cancelled when --state is WAITING_FOR_SLOT, and so are the queued requests of the
disposed jobs. Active leases and active jobs are never touched (they are listed as skipped).
Without --force it asks on a terminal and refuses (exit 2) otherwise. Exit 1 when nothing matched
or something failed.`,
    )
    .action(
      act(async (g, opts: RmOptions, cmd: Command) => {
        const filter: RmFilter = { jobs: opts.job ?? [], agents: opts.agent ?? [], all: opts.all ?? false, state: opts.state };
        const stateGiven = cmd.getOptionValueSource('state') === 'cli';
        if (!filter.all && filter.jobs.length === 0 && filter.agents.length === 0 && !stateGiven) {
          throw new CliError('jobs rm needs a filter: --job ID, --agent ID, --all or --state STATUS (see taglets jobs rm --help)');
        }
        const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !g.json;
        if (!opts.dryRun && !opts.force && !interactive) {
          throw new CliError('refusing to remove jobs without confirmation: add --force to remove, or --dry-run to preview');
        }
        return runRemoval(g, filter, { dryRun: opts.dryRun ?? false, confirm: !opts.dryRun && !opts.force });
      }),
    );

  jobs
    .command('groups')
    .description('compute job groups: result collectors (state with group_id and expected_jobs) on every host, with counts')
    .option('--group <id>', 'only this group id (repeatable)', collect)
    .addHelpText(
      'after',
      `
Examples:
  $ taglets jobs groups
  $ taglets jobs groups --group group-abc --json

Every agent whose state has group_id and expected_jobs counts as a collector. PENDING is the
expected jobs that reported neither a result nor a failure. Exit 1 when no group is found.`,
    )
    .action(
      act(async (g, opts: { group?: string[] }) => {
        const per = await askAgents(g);
        const groups = per.results.flatMap(({ host, value }) =>
          value.flatMap((a) => {
            const summary = groupSummaryOf(a.state);
            if (!summary || (opts.group?.length && !opts.group.includes(summary.group_id))) return [];
            return [{ ...summary, ...hostOf(host), agent_id: a.agent_id, agent_class: a.agent_class, active: a.active }];
          }),
        );
        groups.sort((a, b) => (a.group_id < b.group_id ? -1 : a.group_id > b.group_id ? 1 : 0));
        if (g.json) printJson({ groups, errors: per.errors });
        else if (groups.length === 0) {
          if (per.results.length) process.stdout.write(`no job groups${opts.group ? ` matching ${opts.group.join(', ')}` : ''} on ${per.results.length} host(s)\n`);
        } else {
          printTable(
            ['GROUP', 'HOST', 'COLLECTOR', 'AGENT STATUS', 'STATUS', 'EXPECTED', 'RESULTS', 'FAILURES', 'PENDING', 'DUPLICATES'],
            groups.map((x) => [
              x.group_id,
              x.host_name ?? x.host_url,
              x.agent_id,
              colourStatus(x.active ? 'active' : 'inactive'),
              x.status,
              x.expected,
              x.results,
              x.failures ? colors.red(String(x.failures)) : 0,
              x.pending,
              x.duplicates,
            ]),
          );
        }
        return finish(per, g.json ?? false, groups.length === 0);
      }),
    );
}

const looksLikeUrl = (h: string): boolean => /^https?:\/\//.test(h) || /^[^\s/]+:\d+$/.test(h);
const normalizeUrl = (h: string): string => (/^https?:\/\//.test(h) ? h : `http://${h}`).replace(/\/+$/, '');

// ---- rm --------------------------------------------------------------------------------------

interface RmRow {
  host_name: string | null;
  host_url: string;
  agent_id: string;
  job_id: string | null;
  result: string;
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(question)).trim().toLowerCase();
    return answer === 'y' || answer === 'yes';
  } finally {
    rl.close();
  }
}

async function runRemoval(g: GlobalFlags, filter: RmFilter, opts: { dryRun: boolean; confirm: boolean }): Promise<number> {
  const { ComputeSlotsContract } = await import('../system/compute-slots/contract.ts');
  const ms = timeoutMs(g);
  // 1. Plan per host: its queue and its job agents.
  const per = await forEachHost(g, async (c, host) => {
    const [status, agents] = await Promise.all([
      ComputeSlotsContract.handle(c.proxy(COMPUTE_SLOTS_SERVICE_ID))
        .call('scheduler_status', { include_queue: true }, { timeoutMs: ms })
        .then((r) => r as SchedulerStatusReply)
        .catch((err: unknown) => {
          // A host without a scheduler can still have inactive jobs to dispose.
          if (err instanceof TagletsError && (err.errorType === 'AgentNotFoundError' || err.errorType === 'NotHandledError')) return null;
          throw err;
        }),
      c.listAgents({ state: 'all', includeState: true }) as Promise<AgentWithState[]>,
    ]);
    const name = host.name ?? status?.status.host_name ?? agents[0]?.host ?? null;
    return { client: c, host: { name, url: host.url }, plan: planRemoval(status?.queued_requests ?? [], agents, filter) };
  });
  const plans = per.results.map((r) => r.value);
  const requests: (RmRow & { request_id: string; position: number })[] = plans.flatMap(({ host, plan }) =>
    plan.requests.map((e, i) => ({
      ...hostOf(host),
      request_id: e.request.request_id,
      agent_id: e.request.agent_id,
      job_id: e.request.job_id,
      position: (e as QueueEntry & { position?: number }).position ?? i + 1,
      result: 'would-cancel',
    })),
  );
  const jobs: (RmRow & { agent_class: string; compute_status: string; status: string | null })[] = plans.flatMap(({ host, plan }) =>
    plan.jobs.map(({ agent, state }) => ({
      ...hostOf(host),
      agent_id: agent.agent_id,
      agent_class: agent.agent_class,
      job_id: jobIdOf(agent, state),
      compute_status: state.compute_status,
      status: str(state.status),
      result: 'would-dispose',
    })),
  );
  const skipped = plans.flatMap(({ host, plan }) =>
    plan.skipped.map(({ agent, state, reason }) => ({
      ...hostOf(host),
      agent_id: agent.agent_id,
      job_id: jobIdOf(agent, state),
      compute_status: state.compute_status,
      result: `skipped: ${reason}`,
    })),
  );
  const matched = requests.length + jobs.length;

  const show = (): void => {
    const rows = [
      ...requests.map((r) => [r.host_name ?? r.host_url, 'cancel request', r.agent_id, r.job_id, `queued #${r.position}`, r.result]),
      ...jobs.map((j) => [j.host_name ?? j.host_url, 'dispose job', j.agent_id, j.job_id, j.compute_status, j.result]),
      ...skipped.map((s) => [s.host_name ?? s.host_url, '-', s.agent_id, s.job_id, s.compute_status, colors.yellow(s.result)]),
    ];
    if (rows.length) printTable(['HOST', 'ACTION', 'AGENT', 'JOB', 'STATUS', 'RESULT'], rows);
    else if (per.results.length) process.stdout.write(`nothing matches on ${per.results.length} host(s)\n`);
  };

  if (!opts.dryRun && matched > 0) {
    if (opts.confirm) {
      show();
      if (!(await confirm(`Cancel ${requests.length} queued request(s) and dispose ${jobs.length} inactive job(s)? [y/N] `))) {
        process.stderr.write('nothing removed\n');
        return EXIT_EMPTY;
      }
    }
    let failed = false;
    await Promise.all(
      plans.map(async ({ client, host, plan }) => {
        const mine = requests.filter((r) => r.host_url === host.url);
        // 2. Cancel first, so no grant wakes a job that is about to be disposed.
        if (mine.length) {
          try {
            const reply = await ComputeSlotsContract.handle(client.proxy(COMPUTE_SLOTS_SERVICE_ID)).call(
              'cancel_slot_requests',
              { request_ids: mine.map((r) => r.request_id) },
              { timeoutMs: ms },
            );
            const done = new Set(reply.cancelled_requests);
            for (const r of mine) r.result = done.has(r.request_id) ? 'cancelled' : 'gone: no longer queued';
          } catch (err) {
            failed = true;
            for (const r of mine) r.result = `failed: ${err instanceof Error ? err.message : String(err)}`;
          }
        }
        // 3. Dispose inactive jobs that are still inactive.
        for (const { agent } of plan.jobs) {
          const row = jobs.find((j) => j.host_url === host.url && j.agent_id === agent.agent_id)!;
          try {
            const now = await client.getAgent(agent.agent_id);
            if (now.active) {
              row.result = 'skipped: became active';
              continue;
            }
            await client.dispose(agent.agent_id);
            row.result = 'disposed';
          } catch (err) {
            if (err instanceof TagletsError && err.errorType === 'AgentNotFoundError') row.result = 'gone: no such agent';
            else {
              failed = true;
              row.result = `failed: ${err instanceof Error ? err.message : String(err)}`;
            }
          }
        }
      }),
    );
    if (g.json) printJson({ dry_run: false, requests, jobs, skipped, errors: per.errors });
    else show();
    return Math.max(finish(per, g.json ?? false, false), failed ? EXIT_EMPTY : 0);
  }

  if (g.json) printJson({ dry_run: opts.dryRun, requests, jobs, skipped, errors: per.errors });
  else show();
  return finish(per, g.json ?? false, matched === 0);
}

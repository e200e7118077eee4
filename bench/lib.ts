/**
 * Helpers for the benchmarks: statistics, /proc readers (RSS, PSS, CPU time, children) and
 * host bookkeeping so every host the suite starts is stopped again, even on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnHost, type SpawnHostOptions, type SpawnedHost } from 'taglets/testing';

// ---- statistics ------------------------------------------------------------------------------

export interface Stats {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export function median(values: number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** Field-wise median of several runs' results (numbers only; nested objects recurse). */
export function medianOf<T>(runs: T[]): T {
  const first = runs[0] as unknown;
  if (typeof first === 'number') return median(runs as number[]) as T;
  if (first === null || typeof first !== 'object' || Array.isArray(first)) return first as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(first)) out[key] = medianOf(runs.map((r) => (r as Record<string, unknown>)[key]));
  return out as T;
}

export const now = (): number => performance.now();

// ---- /proc -------------------------------------------------------------------------------------

function statusField(pid: number, file: string, field: string): number {
  const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`/proc/${pid}/${file} has no ${field}`);
  return Number(m[1]);
}

/** Resident set size in kB. */
export const rssKb = (pid: number): number => statusField(pid, 'status', 'VmRSS');
/** Proportional set size in kB (shared pages split between their sharers). */
export const pssKb = (pid: number): number => statusField(pid, 'smaps_rollup', 'Pss');
/** RSS in kB as counted by smaps_rollup (same figure as VmRSS, read together with Pss). */
export const rollupRssKb = (pid: number): number => statusField(pid, 'smaps_rollup', 'Rss');

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** User + system CPU time of a process in ms (clock-tick resolution, usually 10 ms). */
export function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3 → index 0; utime = field 14, stime = field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / ticksPerSecond();
}

/** {@link cpuMs}, or 0 for a process that is gone. */
export function safeCpuMs(pid: number): number {
  try {
    return cpuMs(pid);
  } catch {
    return 0;
  }
}

/** Pids whose parent is `ppid`, from /proc/<pid>/stat. */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(name));
    } catch {
      /* the process went away */
    }
  }
  return out;
}

/** CPU ms of the driver (this process), a host and the given agent children. */
export interface CpuSnapshot {
  driver: number;
  host: number;
  agents: number;
}

export function cpuSnapshot(hostPid: number, agentPids: number[] = []): CpuSnapshot {
  const u = process.cpuUsage();
  let agents = 0;
  for (const pid of agentPids) {
    try {
      agents += cpuMs(pid);
    } catch {
      /* gone */
    }
  }
  return { driver: (u.user + u.system) / 1000, host: cpuMs(hostPid), agents };
}

/** CPU µs per operation spent in each process between two snapshots. */
export function cpuPerOp(a: CpuSnapshot, b: CpuSnapshot, ops: number): CpuSnapshot {
  const per = (x: number, y: number): number => ((y - x) * 1000) / ops;
  return { driver: per(a.driver, b.driver), host: per(a.host, b.host), agents: per(a.agents, b.agents) };
}

// ---- hosts -------------------------------------------------------------------------------------

const live = new Set<SpawnedHost>();

/** Starts a host and remembers it so {@link stopAllHosts} can stop it on an early exit. */
export async function startHost(options: SpawnHostOptions): Promise<SpawnedHost> {
  const host = await spawnHost(options);
  live.add(host);
  return host;
}

export async function stopHost(host: SpawnedHost): Promise<void> {
  try {
    await host.stop(10_000);
  } finally {
    live.delete(host);
  }
}

/** Runs `fn` with a fresh host and always stops the host afterwards. */
export async function withHost<T>(options: SpawnHostOptions, fn: (host: SpawnedHost) => Promise<T>): Promise<T> {
  const host = await startHost(options);
  try {
    return await fn(host);
  } finally {
    await stopHost(host);
  }
}

export async function stopAllHosts(): Promise<void> {
  await Promise.allSettled([...live].map((h) => stopHost(h)));
}

export function liveHostCount(): number {
  return live.size;
}

/** Bounded polling: resolves once `check` is truthy, throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `total` async operations with `concurrency` workers; returns each op's latency in ms. */
export async function runConcurrent(total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = new Array(total);
  let next = 0;
  const t0 = now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const s = now();
      await op(i);
      latencies[i] = now() - s;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { latencies, wallMs: now() - t0 };
}

// ---- machine load --------------------------------------------------------------------------------

/** Jiffies of all CPUs from /proc/stat: busy (user..softirq, no steal/guest) and total. */
function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const steal = v[7] ?? 0;
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle - steal, total };
}

/** Jiffies used by this process and its reaped children (hosts and, through them, their agents). */
function ownTicks(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

export interface NoiseMark {
  cpu: { busy: number; total: number };
  own: number;
}
export function noiseMark(): NoiseMark {
  return { cpu: cpuTimes(), own: ownTicks() };
}
/**
 * Share of the machine's CPU (0..1 of all CPUs) used by processes other than the benchmark
 * (driver, its hosts and their agents) since `mark`. Exact only once the hosts started since
 * `mark` have been stopped and reaped.
 */
export function foreignCpuShare(mark: NoiseMark): number {
  const cpu = cpuTimes();
  const total = cpu.total - mark.cpu.total;
  if (total <= 0) return 0;
  const foreign = cpu.busy - mark.cpu.busy - (ownTicks() - mark.own);
  return Math.max(0, foreign / total);
}

/** Share of all CPUs busy (0..1) over the next `ms` milliseconds, whoever uses them. */
export async function machineBusy(ms = 2000): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

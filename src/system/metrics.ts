/**
 * Reads host metrics for the system services: `/proc` directly on Linux (a few small file
 * reads, well under a millisecond each), `node:os` as the fallback elsewhere, `statfs` for
 * volumes and `nvidia-smi` (2 s timeout) for GPUs. Failures come back as text, never thrown.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import {
  NVIDIA_SMI_ARGS,
  cpuPercentBetween,
  memoryFromMeminfo,
  parseBootTime,
  parseCmdline,
  parseCpuTimes,
  parseMeminfo,
  parseMounts,
  parseNvidiaSmi,
  parsePasswd,
  parsePidStat,
  parsePidStatus,
  processNames,
  round2,
  type CpuTimes,
  type GpuInfo,
  type MemoryInfo,
  type MountEntry,
  type ProcessInfo,
  type SwapInfo,
} from './proc.ts';

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Clock ticks per second of `/proc` counters (USER_HZ; 100 on every Linux build in use). */
export const CLOCK_TICKS = 100;

/** CPU counters now: `/proc/stat`, else the sum of `os.cpus()` times (ms, same ratios). */
export function readCpuTimes(): CpuTimes {
  try {
    const t = parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
    if (t) return t;
  } catch {
    /* not Linux: fall back */
  }
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

/**
 * CPU busy % of the whole host between two readings. `sinceLast` measures from the previous
 * reading (taking a short window first when there is none or it is too recent); `over`
 * samples a fixed interval. Both remember their last reading for the next call.
 */
export class CpuSampler {
  private last: { times: CpuTimes; at: number } | null = null;
  private readonly readTimes: () => CpuTimes;
  constructor(readTimes: () => CpuTimes = readCpuTimes) {
    this.readTimes = readTimes;
  }

  /** Takes a reading now, so the next `sinceLast` has a baseline. */
  prime(): void {
    this.last = { times: this.readTimes(), at: Date.now() };
  }

  async sinceLast(minWindowMs = 250): Promise<{ percent: number | null; window_seconds: number }> {
    if (!this.last) this.prime();
    const waited = Date.now() - this.last!.at;
    if (waited < minWindowMs) await sleep(minWindowMs - waited);
    return this.measure();
  }

  async over(intervalMs: number): Promise<{ percent: number | null; window_seconds: number }> {
    this.prime();
    await sleep(intervalMs);
    return this.measure();
  }

  private measure(): { percent: number | null; window_seconds: number } {
    const before = this.last!;
    const now = { times: this.readTimes(), at: Date.now() };
    this.last = now;
    return { percent: cpuPercentBetween(before.times, now.times), window_seconds: round2((now.at - before.at) / 1000) };
  }
}

/** Memory and swap: `/proc/meminfo`, else `os.totalmem()`/`os.freemem()` without swap. */
export function readMemory(): { memory: MemoryInfo; swap: SwapInfo; error: string | null } {
  try {
    const m = memoryFromMeminfo(parseMeminfo(readFileSync('/proc/meminfo', 'utf8')));
    if (m) return { ...m, error: null };
  } catch {
    /* not Linux: fall back */
  }
  const total = os.totalmem();
  const available = os.freemem();
  return {
    memory: { total, available, used: total - available, percent: round2(((total - available) / total) * 100) },
    swap: { total: 0, used: 0, free: 0, percent: 0 },
    error: null,
  };
}

/** Boot time in seconds since epoch (`btime` of `/proc/stat`, else now − `os.uptime()`). */
export function bootTime(): number {
  try {
    const b = parseBootTime(readFileSync('/proc/stat', 'utf8'));
    if (b !== null) return b;
  } catch {
    /* fall back */
  }
  return Math.round(Date.now() / 1000 - os.uptime());
}

/** CPUs this host may use (respects CPU affinity). */
export function cpuCount(): number {
  return os.availableParallelism();
}

/** 1, 5 and 15 minute load averages, rounded. */
export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return [round2(a), round2(b), round2(c)];
}

export interface VolumeUsage {
  path: string;
  total: number;
  used: number;
  /** Bytes an unprivileged user may still write. */
  free: number;
  /** Used share of what users can have (as `df` computes it). */
  percent_used: number;
}

/** `statfs` of one path. */
export async function volumeUsage(path: string): Promise<VolumeUsage> {
  const s = await statfs(path);
  const total = s.blocks * s.bsize;
  const used = (s.blocks - s.bfree) * s.bsize;
  const free = s.bavail * s.bsize;
  const usable = used + free;
  return { path, total, used, free, percent_used: usable > 0 ? round2((used / usable) * 100) : 0 };
}

/** Mount table (empty where `/proc/mounts` does not exist). */
export async function readMounts(): Promise<MountEntry[]> {
  try {
    return parseMounts(await readFile('/proc/mounts', 'utf8'));
  } catch {
    return [];
  }
}

let users: Map<number, string> | undefined;
function userName(uid: number | null): string | null {
  if (uid === null) return null;
  if (!users) {
    try {
      users = parsePasswd(readFileSync('/etc/passwd', 'utf8'));
    } catch {
      users = new Map();
    }
  }
  return users.get(uid) ?? String(uid);
}

/**
 * Every process of the host from `/proc/<pid>/{stat,status,cmdline}` (processes that end
 * while being read are skipped). Synchronous reads: a full scan of a few hundred processes
 * takes a few milliseconds, less than the thread-pool hops of async reads would.
 */
export function readProcesses(): ProcessInfo[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const boot = bootTime();
  const out: ProcessInfo[] = [];
  for (const pid of pids) {
    try {
      const stat = parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (!stat) continue;
      const status = parsePidStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const cmdline = parseCmdline(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      out.push({
        pid: stat.pid,
        ppid: stat.ppid,
        ...processNames(status.name ?? stat.name, cmdline),
        state: stat.state,
        uid: status.uid,
        user: userName(status.uid),
        rss: status.rss ?? 0,
        cpu_seconds: round2(stat.cpu_ticks / CLOCK_TICKS),
        started_at: round2(boot + stat.start_ticks / CLOCK_TICKS),
        cmdline,
      });
    } catch {
      /* the process ended meanwhile, or is not ours to read */
    }
  }
  return out;
}

let nvidiaMissing = false;

/**
 * GPUs from `nvidia-smi` (2 s timeout). No `nvidia-smi` on the host means no GPUs (no error);
 * any other failure comes back as `error` text.
 */
export function readGpus(timeoutMs = 2000): Promise<{ gpus: GpuInfo[]; error: string | null }> {
  if (nvidiaMissing) return Promise.resolve({ gpus: [], error: null });
  return new Promise((resolve) => {
    execFile('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') {
          nvidiaMissing = true;
          resolve({ gpus: [], error: null });
        } else if (e.killed) resolve({ gpus: [], error: `nvidia-smi timed out after ${timeoutMs} ms` });
        else resolve({ gpus: [], error: `nvidia-smi failed: ${(String(stderr).trim() || errorText(err)).split('\n')[0]}` });
        return;
      }
      try {
        resolve({ gpus: parseNvidiaSmi(String(stdout)), error: null });
      } catch (parseErr) {
        resolve({ gpus: [], error: `nvidia-smi output not understood: ${errorText(parseErr)}` });
      }
    });
  });
}

/** A short platform description, e.g. `Linux 6.1.0 x86_64`. */
export function platformName(): string {
  return `${os.type()} ${os.release()} ${os.machine()}`;
}

export { errorText };

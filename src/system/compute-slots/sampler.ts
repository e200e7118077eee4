/**
 * The I/O side of the compute-slots service: samples the local host for the pure core and
 * measures job processes (/proc), and pins them to CPUs (taskset).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cpuCount, loadAverage, readMemory, volumeUsage } from '../metrics.ts';
import { parsePidStat } from '../proc.ts';
import { formatCpuList, parseCpuList } from './cpu-list.ts';
import type { HostSample, UsageSample } from './types.ts';

export { formatCpuList, parseCpuList };

const execFileAsync = promisify(execFile);
const CLOCK_TICKS = 100;
const PAGE = 4096;

/** The CPU ids this process may run on (Linux affinity mask), or null when unknown. */
export function ownCpuIds(): number[] | null {
  try {
    const m = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? parseCpuList(m[1]!) : null;
  } catch {
    return null;
  }
}

const TASKSET = '/usr/bin/taskset';

/** Samples this host for the scheduler; failures land in `errors`, never throw. */
export async function sampleHost(workDirBase: string, tags: readonly string[], properties: Record<string, string>, now: number): Promise<HostSample> {
  const errors: string[] = [];
  const eligible = ownCpuIds();
  const mem = readMemory();
  if (mem.error) errors.push(`memory: ${mem.error}`);
  let work: { total: number; free: number } | null = null;
  try {
    work = await volumeUsage(workDirBase);
  } catch (err) {
    errors.push(`work volume: ${(err as Error).message}`);
  }
  return {
    observed_at: now,
    cpu_count_logical: cpuCount(),
    eligible_cpu_ids: eligible,
    cpu_affinity_supported: eligible !== null && process.platform === 'linux',
    cpu_percent: null,
    load_average: loadAverage(),
    memory_total: mem.memory.total,
    memory_available: mem.memory.available,
    work_dir_base: workDirBase,
    work_total: work?.total ?? null,
    work_free: work?.free ?? null,
    host_tags: [...tags],
    host_properties: { ...properties },
    errors,
  };
}

/** Pins every thread of `pid` to `cpuIds` (`taskset -a -p -c`). */
export async function pinProcess(pid: number, cpuIds: readonly number[]): Promise<{ enforced: boolean; error: string | null }> {
  if (cpuIds.length === 0) return { enforced: false, error: 'no CPU ids to pin to' };
  try {
    await execFileAsync(TASKSET, ['-a', '-p', '-c', formatCpuList(cpuIds), String(pid)], { timeout: 2000 });
    return { enforced: true, error: null };
  } catch (err) {
    return { enforced: false, error: `taskset failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Pids of `pid` and all its descendants (via /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length && out.length < 10_000) {
    const p = stack.pop()!;
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) stack.push(Number(c));
      } catch {
        /* thread gone */
      }
    }
  }
  return out;
}

async function dirBytes(path: string, budget = { entries: 100_000 }): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (p: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(p, { withFileTypes: true });
    } catch {
      try {
        const s = await stat(p);
        if (s.isFile()) {
          bytes += s.size;
          files++;
        }
      } catch {
        /* gone */
      }
      return;
    }
    for (const e of entries) {
      if (--budget.entries < 0) return;
      const full = join(p, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        try {
          bytes += (await stat(full)).size;
          files++;
        } catch {
          /* gone */
        }
      }
    }
  };
  await walk(path);
  return { bytes, files };
}

/**
 * One usage sample of a job: its process tree (RSS, CPU time since the previous sample) and its
 * work dir plus any extra paths the job named.
 */
export async function sampleUsage(
  pid: number | null,
  workDir: string,
  extraPaths: readonly string[],
  previous: { cpu_ticks: number; at: number } | undefined,
  now: number,
): Promise<{ sample: UsageSample; cpu: { cpu_ticks: number; at: number } }> {
  let rss = 0;
  let treeRss = 0;
  let count = 0;
  let ticks = 0;
  let status = 'gone';
  if (pid !== null) {
    for (const p of processTree(pid)) {
      try {
        const st = parsePidStat(readFileSync(`/proc/${p}/stat`, 'utf8'));
        if (!st) continue;
        count++;
        ticks += st.cpu_ticks;
        treeRss += st.rss_pages * PAGE;
        if (p === pid) {
          rss = st.rss_pages * PAGE;
          status = st.state;
        }
      } catch {
        /* exited meanwhile */
      }
    }
  }
  const cpuPercent =
    previous && now > previous.at ? Math.max(0, ((ticks - previous.cpu_ticks) / CLOCK_TICKS / (now - previous.at)) * 100) : null;
  const work = await dirBytes(workDir);
  let extra = 0;
  for (const p of extraPaths) extra += (await dirBytes(p)).bytes;
  const mem = readMemory();
  return {
    sample: {
      process_status: status,
      cpu_percent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10,
      rss_bytes: rss,
      memory_percent: mem.memory.total > 0 ? Math.round((rss / mem.memory.total) * 10000) / 100 : null,
      tree_rss_bytes: treeRss,
      tree_process_count: count,
      work_dir_bytes: work.bytes,
      work_dir_files: work.files,
      extra_bytes: extra,
    },
    cpu: { cpu_ticks: ticks, at: now },
  };
}

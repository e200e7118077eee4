/**
 * Pure parsers for the Linux `/proc` text the system services read (`/proc/stat`,
 * `/proc/meminfo`, `/proc/mounts`, `/proc/<pid>/{stat,status,cmdline}`) and for
 * `nvidia-smi` CSV. No I/O here: `metrics.ts` reads the files and hands the text over, so
 * every rule below is unit-tested with fixed input.
 */

/** Aggregate CPU time counters (clock ticks) from the `cpu ` line of `/proc/stat`. */
export interface CpuTimes {
  /** Ticks spent idle (idle + iowait). */
  idle: number;
  /** All ticks (guest time is already part of user/nice and is not added twice). */
  total: number;
}

/** The `cpu ` line of `/proc/stat` as {@link CpuTimes}; null when the text has none. */
export function parseCpuTimes(procStat: string): CpuTimes | null {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return null;
  // user nice system idle iowait irq softirq steal guest guest_nice
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Busy percentage between two readings; null when no tick passed (or the counters went back). */
export function cpuPercentBetween(before: CpuTimes, after: CpuTimes): number | null {
  const total = after.total - before.total;
  const idle = after.idle - before.idle;
  if (!(total > 0) || idle < 0) return null;
  return round2(Math.min(100, Math.max(0, ((total - idle) / total) * 100)));
}

/** Boot time (seconds since epoch) from the `btime` line of `/proc/stat`. */
export function parseBootTime(procStat: string): number | null {
  const m = /^btime\s+(\d+)/m.exec(procStat);
  return m ? Number(m[1]) : null;
}

/** `/proc/meminfo` as bytes per key (`MemTotal`, `MemAvailable`, `SwapTotal`, …). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (m[3] ? 1024 : 1);
  }
  return out;
}

export interface MemoryInfo {
  total: number;
  available: number;
  used: number;
  percent: number;
}

export interface SwapInfo {
  total: number;
  used: number;
  free: number;
  /** 0 when the host has no swap. */
  percent: number;
}

/** Memory and swap from parsed meminfo; null when MemTotal is missing. */
export function memoryFromMeminfo(info: Record<string, number>): { memory: MemoryInfo; swap: SwapInfo } | null {
  const total = info.MemTotal;
  if (total === undefined || total <= 0) return null;
  // Kernels before 3.14 have no MemAvailable: estimate it as free + buffers + cache.
  const available = info.MemAvailable ?? (info.MemFree ?? 0) + (info.Buffers ?? 0) + (info.Cached ?? 0);
  const swapTotal = info.SwapTotal ?? 0;
  const swapFree = info.SwapFree ?? 0;
  return {
    memory: { total, available, used: total - available, percent: round2(((total - available) / total) * 100) },
    swap: {
      total: swapTotal,
      used: swapTotal - swapFree,
      free: swapFree,
      percent: swapTotal > 0 ? round2(((swapTotal - swapFree) / swapTotal) * 100) : 0,
    },
  };
}

export interface MountEntry {
  device: string;
  mount_point: string;
  fstype: string;
  options: string[];
}

/** `/proc/mounts` lines; octal escapes (`\040` for a space) are decoded. */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !f[1]) continue;
    out.push({ device: unescape(f[0]!), mount_point: unescape(f[1]), fstype: f[2]!, options: f[3]!.split(',') });
  }
  return out;
}

/** Filesystems that hold no user data (kernel views, RAM, cgroups, container plumbing). */
export const PSEUDO_FILESYSTEMS: ReadonlySet<string> = new Set([
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs',
  'efivarfs', 'fusectl', 'fuse.gvfsd-fuse', 'fuse.lxcfs', 'fuse.portal', 'hugetlbfs', 'mqueue', 'nsfs',
  'overlay', 'proc', 'pstore', 'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'sysfs',
  'tmpfs', 'tracefs', 'nfsd',
]);

/**
 * The volumes `df` lists by default: "/" first, then every real mount point (pseudo
 * filesystems skipped; one mount point per device, so bind mounts of the same disk show once).
 */
export function realMountPoints(mounts: MountEntry[]): string[] {
  const out = ['/'];
  const rootDevice = mounts.filter((m) => m.mount_point === '/').at(-1)?.device;
  const devices = new Set<string>(rootDevice ? [rootDevice] : []);
  for (const m of mounts) {
    if (m.mount_point === '/' || PSEUDO_FILESYSTEMS.has(m.fstype) || devices.has(m.device)) continue;
    devices.add(m.device);
    out.push(m.mount_point);
  }
  return out;
}

/** The mount entry a path lives on (longest mount point prefix; the last such mount wins). */
export function mountOf(path: string, mounts: MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const mp = m.mount_point;
    const inside = mp === '/' || path === mp || path.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    if (inside && (!best || mp.length >= best.mount_point.length)) best = m;
  }
  return best;
}

/** Fields of `/proc/<pid>/stat` the process list uses. */
export interface PidStat {
  pid: number;
  /** The command name (`comm`, at most 15 characters). */
  name: string;
  state: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpu_ticks: number;
  /** Start time after boot, in clock ticks. */
  start_ticks: number;
  /** Resident pages. */
  rss_pages: number;
}

/** Parses `/proc/<pid>/stat`; the name may contain spaces and parentheses, so it ends at the last ')'. */
export function parsePidStat(text: string): PidStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const field = (n: number): number => Number(rest[n - 3]);
  if (!Number.isInteger(pid) || rest.length < 22) return null;
  return {
    pid,
    name: text.slice(open + 1, close),
    state: rest[0]!,
    ppid: field(4),
    cpu_ticks: field(14) + field(15),
    start_ticks: field(22),
    rss_pages: field(24),
  };
}

/** `Uid` (real) and `VmRSS` (bytes) from `/proc/<pid>/status`; kernel threads have no VmRSS. */
export function parsePidStatus(text: string): { uid: number | null; rss: number | null; name: string | null } {
  const uid = /^Uid:\s+(\d+)/m.exec(text);
  const rss = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  const name = /^Name:\s*(.*)$/m.exec(text);
  return { uid: uid ? Number(uid[1]) : null, rss: rss ? Number(rss[1]) * 1024 : null, name: name ? name[1]! : null };
}

/** `/proc/<pid>/cmdline` (NUL-separated) as an argument list. */
export function parseCmdline(raw: string): string[] {
  const parts = raw.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** `/etc/passwd` as uid → user name. */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2]!)) out.set(Number(f[2]), f[0]);
  }
  return out;
}

/** One process as `plist` reports it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  name: string;
  program: string | null;
  state: string;
  uid: number | null;
  user: string | null;
  /** Resident memory in bytes (0 for kernel threads). */
  rss: number;
  /** User + system CPU time in seconds. */
  cpu_seconds: number;
  /** Seconds since epoch; null when the boot time is unknown. */
  started_at: number | null;
  cmdline: string[];
}

/**
 * The names of a process: `name` is the kernel's (`comm`, cut at 15 characters; when cut, the
 * command's base name if it starts the same, as psutil does) and `program` the base name of
 * `argv[0]` (null for kernel threads). Node renames its main thread, so `comm` alone can read
 * `MainThread`.
 */
export function processNames(comm: string, cmdline: string[]): { name: string; program: string | null } {
  const argv0 = cmdline[0]?.split(' ')[0] ?? '';
  const program = argv0 ? (argv0.split('/').at(-1) ?? '') || null : null;
  const name = comm.length >= 15 && program?.startsWith(comm) ? program : comm;
  return { name, program };
}

/**
 * The `plist` rule: processes whose name or command line contains `query` (case-insensitive;
 * all when empty), largest RSS first (then pid), at most `limit`.
 */
export function filterProcesses(
  processes: ProcessInfo[],
  query: string | undefined,
  limit: number,
): { processes: ProcessInfo[]; total_matches: number; truncated: boolean } {
  const q = (query ?? '').trim().toLowerCase();
  const matches = q
    ? processes.filter((p) => p.name.toLowerCase().includes(q) || (p.program ?? '').toLowerCase().includes(q) || p.cmdline.join(' ').toLowerCase().includes(q))
    : processes.slice();
  matches.sort((a, b) => b.rss - a.rss || a.pid - b.pid);
  return { processes: matches.slice(0, limit), total_matches: matches.length, truncated: matches.length > limit };
}

export interface GpuInfo {
  index: number;
  name: string;
  utilization_percent: number | null;
  memory_total: number | null;
  memory_used: number | null;
  temperature_c: number | null;
}

/** The `nvidia-smi` query this module's parser expects (CSV, no header, no units). */
export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,name,utilization.gpu,memory.total,memory.used,temperature.gpu',
  '--format=csv,noheader,nounits',
];

/** Parses the output of `nvidia-smi` with {@link NVIDIA_SMI_ARGS}; `[N/A]` values become null, MiB become bytes. */
export function parseNvidiaSmi(text: string): GpuInfo[] {
  const num = (s: string | undefined): number | null => {
    const n = Number((s ?? '').trim());
    return (s ?? '').trim() === '' || !Number.isFinite(n) ? null : n;
  };
  const mib = (s: string | undefined): number | null => {
    const n = num(s);
    return n === null ? null : n * 1024 * 1024;
  };
  const out: GpuInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length < 6) continue;
    out.push({
      index: num(f[0]) ?? out.length,
      name: f[1]!,
      utilization_percent: num(f[2]),
      memory_total: mib(f[3]),
      memory_used: mib(f[4]),
      temperature_c: num(f[5]),
    });
  }
  return out;
}

/** Rounds to two decimals (what the services report for percentages and ratios). */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

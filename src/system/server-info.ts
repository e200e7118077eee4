/**
 * `server-info` v1: what one host has and how busy it is. Operations:
 *
 * - `load {interval?, include_gpu?}`: CPU % over `interval` seconds (or since the previous
 *   call), load averages, memory, swap, and GPUs from `nvidia-smi` (2 s timeout);
 * - `df {paths?, all_volumes?}`: volume usage of the given paths, or of "/" and every real
 *   mount point (all_volumes, the default), or of "/" only; per-path errors;
 * - `plist {query?, limit?, include_args?}`: processes whose name or command line contains
 *   the query (case-insensitive), largest RSS first, `truncated` when more matched;
 * - `summary`: platform, Node version, boot time, CPUs, RAM, host name and URL.
 *
 * ```ts
 * import { ServerInfoContract } from 'taglets/system';
 * const load = await ServerInfoContract.handle(client.proxy('service.server-info')).call('load', { interval: 1 });
 * ```
 */
import os from 'node:os';
import Type, { type Static } from 'typebox';
import { Agent, type RunnerKind } from '../core/agent.ts';
import type { Message } from '../core/message.ts';
import { defineContract } from '../services/contract.ts';
import { VERSION } from '../version.ts';
import {
  CpuSampler,
  bootTime,
  cpuCount,
  errorText,
  loadAverage,
  platformName,
  readGpus,
  readMemory,
  readMounts,
  readProcesses,
  volumeUsage,
} from './metrics.ts';
import { filterProcesses, mountOf, realMountPoints, round2 } from './proc.ts';
import { advertiseContract } from './service-agent.ts';

const NNum = Type.Union([Type.Number(), Type.Null()]);
const NStr = Type.Union([Type.String(), Type.Null()]);
const strict = { additionalProperties: false } as const;

const HostFields = { host_name: Type.String(), host_url: Type.String() };

const Memory = Type.Object({ total: Type.Number(), available: Type.Number(), used: Type.Number(), percent: Type.Number() });
const Swap = Type.Object({ total: Type.Number(), used: Type.Number(), free: Type.Number(), percent: Type.Number() });
const Gpu = Type.Object({
  index: Type.Number(),
  name: Type.String(),
  utilization_percent: NNum,
  memory_total: NNum,
  memory_used: NNum,
  temperature_c: NNum,
});

export const LoadRequest = Type.Object(
  {
    /** Seconds to sample CPU over; 0 = since the previous call (at least 0.25 s). */
    interval: Type.Optional(Type.Number({ minimum: 0, maximum: 60 })),
    /** Ask `nvidia-smi` for GPUs. @default true */
    include_gpu: Type.Optional(Type.Boolean()),
  },
  strict,
);
export const LoadReply = Type.Object({
  ...HostFields,
  observed_at: Type.Number(),
  cpu_count: Type.Number(),
  /** Busy % of all CPUs over `cpu_window_seconds`; null when no tick passed. */
  cpu_percent: NNum,
  cpu_window_seconds: Type.Number(),
  load_average: Type.Array(Type.Number()),
  load_per_cpu: Type.Number(),
  memory: Memory,
  swap: Swap,
  gpus: Type.Array(Gpu),
  /** Why GPUs could not be read (null when fine, not asked, or no `nvidia-smi`). */
  gpu_error: NStr,
});

export const DfRequest = Type.Object(
  {
    paths: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 256 })),
    /** Without paths: "/" and every real mount point (true) or "/" only (false). @default true */
    all_volumes: Type.Optional(Type.Boolean()),
  },
  strict,
);
const Volume = Type.Object({
  path: Type.String(),
  mount_point: NStr,
  device: NStr,
  fstype: NStr,
  total: Type.Number(),
  used: Type.Number(),
  free: Type.Number(),
  percent_used: Type.Number(),
});
export const DfReply = Type.Object({
  ...HostFields,
  volumes: Type.Array(Volume),
  errors: Type.Array(Type.Object({ path: Type.String(), error: Type.String() })),
});

export const PlistRequest = Type.Object(
  {
    /** Case-insensitive substring of the name or command line; all processes when empty. */
    query: Type.Optional(Type.String()),
    /** @default 25 */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** Include each command line. @default false */
    include_args: Type.Optional(Type.Boolean()),
  },
  strict,
);
const ProcessRow = Type.Object({
  pid: Type.Number(),
  ppid: Type.Number(),
  name: Type.String(),
  /** Base name of the command (argv[0]); null for kernel threads. */
  program: NStr,
  state: Type.String(),
  uid: NNum,
  user: NStr,
  rss: Type.Number(),
  cpu_seconds: Type.Number(),
  started_at: NNum,
  cmdline: Type.Optional(Type.Array(Type.String())),
});
export const PlistReply = Type.Object({
  ...HostFields,
  query: NStr,
  total_matches: Type.Number(),
  truncated: Type.Boolean(),
  processes: Type.Array(ProcessRow),
});

export const SummaryReply = Type.Object({
  ...HostFields,
  service_agent_id: Type.String(),
  hostname: Type.String(),
  platform: Type.String(),
  os_type: Type.String(),
  os_release: Type.String(),
  arch: Type.String(),
  node_version: Type.String(),
  taglets_version: Type.String(),
  pid: Type.Number(),
  boot_time: Type.Number(),
  uptime_seconds: Type.Number(),
  cpu_count: Type.Number(),
  cpu_model: NStr,
  memory_total: Type.Number(),
  swap_total: Type.Number(),
});

export const ServerInfoContract = defineContract({
  name: 'server-info',
  version: '1',
  operations: {
    load: { request: LoadRequest, reply: LoadReply },
    df: { request: DfRequest, reply: DfReply },
    plist: { request: PlistRequest, reply: PlistReply },
    summary: { request: Type.Object({}, strict), reply: SummaryReply },
  },
});

export type ServerInfoLoad = Static<typeof LoadReply>;
export type ServerInfoDf = Static<typeof DfReply>;
export type ServerInfoPlist = Static<typeof PlistReply>;
export type ServerInfoSummary = Static<typeof SummaryReply>;

/** Serves `server-info` for its host. Stateless; runs inline (it only reads files). */
export class ServerInfoAgent extends Agent<Record<string, never>> {
  static override runner: RunnerKind = 'inline';
  /** `load` with an interval waits; other calls need not wait behind it. */
  static override concurrency = 8;
  static readonly contract = ServerInfoContract;
  static readonly defaultScope = 'mesh' as const;

  private readonly sampler = new CpuSampler();

  override async run(): Promise<void> {
    this.sampler.prime();
    await advertiseContract(this, ServerInfoContract, ServerInfoAgent.defaultScope);
  }

  override handleMessage(message: Message): unknown {
    return ServerInfoContract.route(message, {
      load: (r) => this.load(r),
      df: (r) => this.df(r),
      plist: (r) => this.plist(r),
      summary: () => this.summary(),
    });
  }

  private host(): { host_name: string; host_url: string } {
    return { host_name: this.hostName, host_url: this.hostUrl };
  }

  async load(request: Static<typeof LoadRequest>): Promise<ServerInfoLoad> {
    const interval = request.interval ?? 0;
    const gpuPromise = request.include_gpu === false ? Promise.resolve({ gpus: [], error: null }) : readGpus(2000);
    const cpu = interval > 0 ? await this.sampler.over(interval * 1000) : await this.sampler.sinceLast(250);
    const { memory, swap } = readMemory();
    const load = loadAverage();
    const cpus = cpuCount();
    const gpu = await gpuPromise;
    return {
      ...this.host(),
      observed_at: Date.now() / 1000,
      cpu_count: cpus,
      cpu_percent: cpu.percent,
      cpu_window_seconds: cpu.window_seconds,
      load_average: load,
      load_per_cpu: round2(load[0] / cpus),
      memory,
      swap,
      gpus: gpu.gpus,
      gpu_error: gpu.error,
    };
  }

  async df(request: Static<typeof DfRequest>): Promise<ServerInfoDf> {
    const mounts = await readMounts();
    const paths = request.paths?.length ? request.paths : request.all_volumes === false ? ['/'] : realMountPoints(mounts);
    // One statfs per path, in parallel; results and errors keep the order of `paths`.
    const outcomes = await Promise.all(
      paths.map(async (path) => {
        try {
          const usage = await volumeUsage(path);
          const m = mountOf(path, mounts);
          return { volume: { ...usage, mount_point: m?.mount_point ?? null, device: m?.device ?? null, fstype: m?.fstype ?? null } };
        } catch (err) {
          return { error: { path, error: errorText(err) } };
        }
      }),
    );
    return {
      ...this.host(),
      volumes: outcomes.flatMap((o) => (o.volume ? [o.volume] : [])),
      errors: outcomes.flatMap((o) => (o.error ? [o.error] : [])),
    };
  }

  plist(request: Static<typeof PlistRequest>): ServerInfoPlist {
    const { processes, total_matches, truncated } = filterProcesses(readProcesses(), request.query, request.limit ?? 25);
    return {
      ...this.host(),
      query: request.query ?? null,
      total_matches,
      truncated,
      processes: processes.map(({ cmdline, ...p }) => (request.include_args ? { ...p, cmdline } : p)),
    };
  }

  summary(): ServerInfoSummary {
    const boot = bootTime();
    const { memory, swap } = readMemory();
    return {
      ...this.host(),
      service_agent_id: this.agentId,
      hostname: os.hostname(),
      platform: platformName(),
      os_type: os.type(),
      os_release: os.release(),
      arch: os.machine(),
      node_version: process.version,
      taglets_version: VERSION,
      pid: process.pid,
      boot_time: boot,
      uptime_seconds: Math.max(0, Math.round(Date.now() / 1000 - boot)),
      cpu_count: cpuCount(),
      cpu_model: os.cpus()[0]?.model ?? null,
      memory_total: memory.total,
      swap_total: swap.total,
    };
  }
}

/**
 * `taglets sys summary|load|df|ps`: asks the `server-info` service of every online host of
 * the entry host's mesh (or of the entry host alone when it lists no mesh), in parallel, and
 * prints one table (or `--json`). Hosts that fail are reported per host: exit 1 when some
 * failed, 2 when all did.
 */
import type { Command } from 'commander';
import type { MeshHost } from '../core/agent.ts';
import { TagletsError } from '../core/errors.ts';
import type { HostClient } from '../remote/client.ts';
import type { ServerInfoDf, ServerInfoLoad, ServerInfoPlist, ServerInfoSummary } from '../system/server-info.ts';
import { entryClient, type GlobalFlags } from './entry.ts';
import { CliError, EXIT_EMPTY, EXIT_ERROR, colors, printJson, printTable } from './output.ts';
import { formatDuration, formatSize } from './units.ts';
import { act } from './act.ts';


/** The agent id of the server-info service on every host. */
export const SERVER_INFO_AGENT_ID = 'service.server-info';
/** Seconds each host gets to answer, unless --timeout says otherwise. */
const DEFAULT_SYS_TIMEOUT_S = 5;

type Op = 'summary' | 'load' | 'df' | 'plist';
type ReplyOf = { summary: ServerInfoSummary; load: ServerInfoLoad; df: ServerInfoDf; plist: ServerInfoPlist };

export interface HostFailure {
  host_name: string | null;
  host_url: string;
  error_type: string;
  error: string;
}

export interface SysResult<T> {
  operation: Op;
  results: T[];
  errors: HostFailure[];
}

/** The hosts to ask: online hosts of the entry's mesh, or the entry host alone when /hosts is missing or empty. */
async function targetHosts(client: HostClient): Promise<{ name: string | null; url: string }[]> {
  let hosts: MeshHost[] = [];
  try {
    hosts = await client.hosts();
  } catch {
    /* an entry host without a mesh route: ask it alone */
  }
  const online = hosts.filter((h) => h.online).map((h) => ({ name: h.name, url: h.url }));
  return online.length ? online : [{ name: null, url: client.url }];
}

function timeoutSeconds(g: GlobalFlags): number {
  if (g.timeout === undefined) return DEFAULT_SYS_TIMEOUT_S;
  const s = Number(g.timeout);
  if (!Number.isFinite(s) || s <= 0) throw new CliError(`--timeout must be a positive number of seconds, got '${g.timeout}'`);
  return s;
}

/** Sends one server-info operation to every target host in parallel. */
async function askAll<K extends Op>(g: GlobalFlags, op: K, request: Record<string, unknown>, extraSeconds = 0): Promise<SysResult<ReplyOf[K]>> {
  // Loaded on use: compiling the contract's schemas costs other commands nothing.
  const { ServerInfoContract } = await import('../system/server-info.ts');
  const client = await entryClient(g);
  const timeoutMs = Math.round((timeoutSeconds(g) + extraSeconds) * 1000);
  const hosts = await targetHosts(client);
  const settled = await Promise.all(
    hosts.map(async (h) => {
      const proxy = client.sibling(h.url).proxy(SERVER_INFO_AGENT_ID);
      try {
        const reply = await ServerInfoContract.handle(proxy).call(op, request as never, { timeoutMs });
        return { ok: true as const, reply: reply as ReplyOf[K] };
      } catch (err) {
        const failure: HostFailure = {
          host_name: h.name,
          host_url: h.url,
          error_type: err instanceof TagletsError ? err.errorType : 'Error',
          error: err instanceof Error ? err.message : String(err),
        };
        return { ok: false as const, failure };
      }
    }),
  );
  const results = settled.flatMap((s) => (s.ok ? [s.reply] : []));
  const sortKey = (r: { host_name: string; host_url: string }): string => `${r.host_name}\0${r.host_url}`;
  results.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  return { operation: op, results, errors: settled.flatMap((s) => (s.ok ? [] : [s.failure])) };
}

/** Prints per-host failures to stderr; the exit code for the result (0, 1 partial, 2 all failed). */
function finish(result: SysResult<unknown>, json: boolean, emptyMeansPartial = false): number {
  if (!json) {
    for (const e of result.errors) {
      process.stderr.write(`${colors.red('error')}: ${e.host_name ?? e.host_url} (${e.host_url}): ${e.error_type}: ${e.error}\n`);
    }
  }
  if (result.results.length === 0 && result.errors.length > 0) return EXIT_ERROR;
  if (result.errors.length > 0 || emptyMeansPartial) return EXIT_EMPTY;
  return 0;
}

const pct = (n: number | null | undefined): string | null => (typeof n === 'number' ? `${n.toFixed(1)}%` : null);
const size = (n: number | null | undefined): string | null => (typeof n === 'number' ? formatSize(n) : null);

function parseNumber(flag: string, text: string, options: { integer?: boolean; min?: number; max?: number } = {}): number {
  const n = Number(text);
  const min = options.min ?? 0;
  if (text.trim() === '' || !Number.isFinite(n) || n < min || (options.max !== undefined && n > options.max) || (options.integer && !Number.isInteger(n))) {
    throw new CliError(`${flag} must be ${options.integer ? 'an integer' : 'a number'} >= ${min}${options.max !== undefined ? ` and <= ${options.max}` : ''}, got '${text}'`);
  }
  return n;
}

export function registerSysCommand(program: Command): void {
  const sys = program
    .command('sys')
    .description("ask every online host's server-info service: summary, load, disks, processes")
    .addHelpText(
      'after',
      `
Every online host of the entry host's mesh is asked in parallel (the entry host alone when it
has no mesh). Hosts that fail are listed on stderr; exit 1 when some failed, 2 when all did.
Each host gets 5 s to answer unless --timeout says otherwise.

Examples:
  $ taglets sys summary
  $ taglets sys load --interval 1
  $ taglets sys df /data /tmp
  $ taglets sys ps node --limit 10 --args
  $ taglets --entry http://127.0.0.1:8766 --json sys load`,
    );

  sys
    .command('summary')
    .description('platform, Node version, boot time, CPUs and RAM of every host')
    .addHelpText('after', '\nExamples:\n  $ taglets sys summary\n  $ taglets sys summary --json')
    .action(
      act(async (g) => {
        const result = await askAll(g, 'summary', {});
        if (g.json) printJson(result);
        else if (result.results.length) {
          const now = Date.now() / 1000;
          printTable(
            ['HOST', 'URL', 'PLATFORM', 'NODE', 'TAGLETS', 'CPUS', 'RAM', 'UP', 'MACHINE'],
            result.results.map((r) => [
              r.host_name,
              r.host_url,
              r.platform,
              r.node_version,
              r.taglets_version,
              r.cpu_count,
              formatSize(r.memory_total),
              formatDuration(Math.max(0, now - r.boot_time)),
              r.hostname,
            ]),
          );
        }
        return finish(result, g.json ?? false);
      }),
    );

  sys
    .command('load')
    .description('CPU %, load averages, memory, swap and GPUs of every host')
    .option('--interval <seconds>', 'sample CPU over this many seconds (0: since the previous call)', '0')
    .option('--no-gpu', 'do not ask nvidia-smi for GPUs')
    .addHelpText('after', '\nExamples:\n  $ taglets sys load\n  $ taglets sys load --interval 2 --no-gpu\n  $ taglets sys load --json')
    .action(
      act(async (g, opts: { interval: string; gpu: boolean }) => {
        const interval = parseNumber('--interval', opts.interval, { max: 60 });
        const result = await askAll(g, 'load', { interval, include_gpu: opts.gpu }, interval);
        if (g.json) printJson(result);
        else if (result.results.length) {
          printTable(
            ['HOST', 'CPUS', 'CPU%', 'LOAD 1/5/15', 'LOAD/CPU', 'MEM USED', 'MEM TOTAL', 'MEM%', 'SWAP%', 'GPUS'],
            result.results.map((r) => [
              r.host_name,
              r.cpu_count,
              pct(r.cpu_percent),
              r.load_average.map((l) => l.toFixed(2)).join(' '),
              r.load_per_cpu.toFixed(2),
              formatSize(r.memory.used),
              formatSize(r.memory.total),
              pct(r.memory.percent),
              r.swap.total > 0 ? pct(r.swap.percent) : null,
              r.gpus.length ? String(r.gpus.length) : r.gpu_error ? colors.yellow('error') : null,
            ]),
          );
          const gpus = result.results.flatMap((r) => r.gpus.map((gpu) => ({ host: r.host_name, gpu })));
          if (gpus.length) {
            process.stdout.write('\n');
            printTable(
              ['HOST', 'GPU', 'NAME', 'UTIL%', 'MEM USED', 'MEM TOTAL', 'TEMP'],
              gpus.map(({ host, gpu }) => [
                host,
                gpu.index,
                gpu.name,
                pct(gpu.utilization_percent),
                size(gpu.memory_used),
                size(gpu.memory_total),
                gpu.temperature_c === null ? null : `${gpu.temperature_c}C`,
              ]),
            );
          }
          for (const r of result.results) if (r.gpu_error) process.stderr.write(`${colors.yellow('warning')}: ${r.host_name}: ${r.gpu_error}\n`);
        }
        return finish(result, g.json ?? false);
      }),
    );

  sys
    .command('df')
    .description('disk usage of "/" and every real mount point, or of the given paths, on every host')
    .argument('[paths...]', 'paths to check on every host (default: "/" and every real mount point)')
    .addHelpText('after', '\nExamples:\n  $ taglets sys df\n  $ taglets sys df /data /tmp\n  $ taglets sys df --json')
    .action(
      act(async (g, paths: string[]) => {
        const result = await askAll(g, 'df', paths.length ? { paths } : { all_volumes: true });
        if (g.json) printJson(result);
        else {
          const rows = result.results.flatMap((r) =>
            r.volumes.map((v) => [r.host_name, v.path, v.fstype, formatSize(v.total), formatSize(v.used), formatSize(v.free), pct(v.percent_used), v.mount_point]),
          );
          if (rows.length) printTable(['HOST', 'PATH', 'FS', 'SIZE', 'USED', 'FREE', 'USE%', 'MOUNTED ON'], rows);
          for (const r of result.results) {
            for (const e of r.errors) process.stderr.write(`${colors.yellow('warning')}: ${r.host_name}: ${e.path}: ${e.error}\n`);
          }
        }
        // A path that could not be read on some host is a partial result.
        return finish(result, g.json ?? false, result.results.some((r) => r.errors.length > 0));
      }),
    );

  sys
    .command('ps')
    .description('processes whose name or command line contains QUERY, largest memory first, on every host')
    .argument('[query]', 'case-insensitive text to look for (all processes when omitted)')
    .option('--limit <n>', 'at most this many processes per host', '25')
    .option('--args', 'show each command line')
    .addHelpText(
      'after',
      '\nExamples:\n  $ taglets sys ps node\n  $ taglets sys ps python --limit 5 --args\n  $ taglets sys ps --json\n\nExit 1 when no host has a matching process.',
    )
    .action(
      act(async (g, query: string | undefined, opts: { limit: string; args?: boolean }) => {
        const limit = parseNumber('--limit', opts.limit, { integer: true, min: 1, max: 10_000 });
        const request: Record<string, unknown> = { limit, include_args: opts.args ?? false };
        if (query !== undefined) request.query = query;
        const result = await askAll(g, 'plist', request);
        const none = result.results.every((r) => r.processes.length === 0);
        if (g.json) printJson(result);
        else {
          const rows = result.results.flatMap((r) =>
            r.processes.map((p) => {
              const row: (string | number | null)[] = [r.host_name, p.pid, p.user, p.program ?? p.name, formatSize(p.rss), formatDuration(p.cpu_seconds), p.state];
              if (opts.args) row.push(p.cmdline?.join(' ') ?? null);
              return row;
            }),
          );
          if (rows.length) {
            printTable(['HOST', 'PID', 'USER', 'NAME', 'RSS', 'CPU TIME', 'STATE', ...(opts.args ? ['COMMAND'] : [])], rows);
          } else if (result.results.length) {
            process.stdout.write(`no process matches${query ? ` '${query}'` : ''} on ${result.results.length} host(s)\n`);
          }
          for (const r of result.results) {
            if (r.truncated) process.stdout.write(`${r.host_name}: ${r.total_matches} processes match, showing ${r.processes.length} (--limit)\n`);
          }
        }
        return finish(result, g.json ?? false, none && result.results.length > 0);
      }),
    );
}

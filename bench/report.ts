/**
 * The harness of the later benchmark suites (mobility, durability, compute): common options,
 * waiting for a quiet machine, platform info, repeated scenarios with a noise mark, the table
 * (operation | taglets | paglets | target) and the result files
 * bench/results/<YYYY-MM-DD>-<suite>.json and bench/results/latest-<suite>.json.
 *
 * Statistics, /proc readers and host bookkeeping come from ./lib.ts; the foundation suite
 * (./suite.ts) keeps its own copies of the report code.
 */
import Table from 'cli-table3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SpawnHostOptions } from 'taglets/testing';
import { childrenOf, foreignCpuShare, machineBusy, medianOf, noiseMark, now, safeCpuMs, sleep, stopAllHosts } from './lib.ts';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = dirname(BENCH_DIR);

export const log = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};

// ---- formatting ----------------------------------------------------------------------------------

export const ms = (x: number | undefined | null): string => {
  if (x === undefined || x === null || !Number.isFinite(x)) return 'n/a';
  if (x < 1) return `${x.toFixed(3)} ms`;
  if (x < 10) return `${x.toFixed(2)} ms`;
  if (x < 1000) return `${x.toFixed(1)} ms`;
  return `${(x / 1000).toFixed(2)} s`;
};
export const perS = (x: number | undefined | null): string =>
  x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1)}/s`;
export const pct = (x: number | undefined | null, digits = 2): string =>
  x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(digits)} %`;
export const rate = (count: number, wallMs: number): number => (count * 1000) / wallMs;

export interface Row {
  operation: string;
  taglets: string;
  paglets: string;
  target: string;
  /** true met, false missed, undefined no target */
  met?: boolean;
}

// ---- platform and machine load -------------------------------------------------------------------

export function platformInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  let commit: string | null = process.env.TAGLETS_BENCH_COMMIT ?? null;
  let dirty: boolean | null = commit ? false : null;
  if (!commit) {
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
      dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim() !== '';
    } catch {
      /* not a git checkout */
    }
  }
  const pkg = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string };
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu_model: cpus[0]?.model ?? 'unknown',
    cpu_count: cpus.length,
    available_parallelism: os.availableParallelism(),
    total_mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    os_version: os.version(),
    arch: os.arch(),
    loadavg_at_start: os.loadavg(),
    taglets_version: pkg.version,
    commit,
    src_modified_since_commit: dirty,
    snapshot: process.env.TAGLETS_BENCH_COMMIT ? 'clean build of the commit in a temp dir' : null,
  };
}

export interface QuietReport {
  waited_s: number;
  quiet: boolean;
  loadavg_1m: number;
  busy_share: number;
}

/**
 * Waits (up to `maxSeconds`) until the 1-minute load average is below `maxLoad` and the CPUs
 * were less than `maxBusy` busy over the last 2 s.
 */
export async function waitForQuiet(maxSeconds: number, maxLoad = 1.5, maxBusy = 0.15): Promise<QuietReport> {
  const t0 = Date.now();
  const deadline = t0 + maxSeconds * 1000;
  let busy = await machineBusy(2000);
  let load = os.loadavg()[0]!;
  let lastLog = 0;
  while ((load >= maxLoad || busy >= maxBusy) && Date.now() < deadline) {
    if (Date.now() - lastLog > 30_000) {
      log(`waiting for a quiet machine: load average ${load.toFixed(2)} (want < ${maxLoad}), CPUs ${(busy * 100).toFixed(0)} % busy`);
      lastLog = Date.now();
    }
    busy = await machineBusy(3000);
    load = os.loadavg()[0]!;
  }
  const quiet = load < maxLoad && busy < maxBusy;
  if (!quiet) log(`warning: machine not quiet after ${maxSeconds} s (load average ${load.toFixed(2)}, ${(busy * 100).toFixed(0)} % busy); figures will be noisy`);
  return { waited_s: +((Date.now() - t0) / 1000).toFixed(1), quiet, loadavg_1m: +load.toFixed(2), busy_share: +busy.toFixed(3) };
}

/** Between scenarios: until the CPUs are less than `maxBusy` busy over 1 s (bounded). */
export async function settle(maxSeconds = 30, maxBusy = 0.15): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let busy = await machineBusy(1000);
  while (busy >= maxBusy && Date.now() < deadline) busy = await machineBusy(1000);
  return busy;
}

// ---- processes -----------------------------------------------------------------------------------

/** `pid` and all its descendants (children, grandchildren, …). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]!));
  return out;
}

/** CPU ms per pid of a process tree (processes gone by now count 0). */
export function treeCpu(pid: number): Map<number, number> {
  return new Map(processTree(pid).map((p) => [p, safeCpuMs(p)]));
}

/** CPU ms (user + system) a process's children used that it has waited for (cutime + cstime). */
export function reapedChildrenCpuMs(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[13]) + Number(f[14])) * 1000) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/**
 * CPU ms of a process tree: every live process in it plus the children its members reaped
 * already (agent processes that exited are still counted).
 */
export function treeCpuMs(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + safeCpuMs(p) + reapedChildrenCpuMs(p), 0);
}

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

// ---- the suite harness ---------------------------------------------------------------------------

export interface SuiteFlags {
  quick: boolean;
  json: boolean;
  markdown: boolean;
  runs: number;
  only: Set<string>;
  write: boolean;
  resultsDir: string;
  waitQuietS: number;
  cpuProf: string | null;
  hostNodeOptions: string | null;
}

export interface Noise {
  /** Share of all CPUs used by processes other than this benchmark during the run (0..1). */
  foreign_cpu_share: number;
}

export interface SuiteDefinition<C extends Record<string, unknown>> {
  name: string;
  /** One line for --help and the table's title. */
  title: string;
  scenarios: readonly string[];
  config: (quick: boolean) => C;
  /** Runs one scenario once; its result is stored as-is and medians are taken over --runs. */
  run: (scenario: string, ctx: SuiteContext<C>) => Promise<Record<string, unknown>>;
  rows: (results: Record<string, Record<string, unknown>>, ctx: SuiteContext<C>) => Row[];
  method: string;
}

export interface SuiteContext<C> {
  flags: SuiteFlags;
  config: C;
  /** SpawnHost options with a unique name, the bench root and --host-node-options (plus `nodeOptions`). */
  hostOptions: (extra?: Partial<SpawnHostOptions> & { nodeOptions?: string }) => SpawnHostOptions;
}

let hostSeq = 0;

export async function runSuite<C extends Record<string, unknown>>(def: SuiteDefinition<C>): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'results-dir': { type: 'string' },
      'wait-quiet': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'host-node-options': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: node bench/${def.name}.ts [options]   (${def.title})
  --quick                  few iterations, a smoke check (writes no result files)
  --json                   print the JSON report instead of the table
  --markdown               print the table as Markdown (for the README)
  --runs N                 runs per scenario (default 1); figures are medians over runs
  --only a,b               scenarios: ${def.scenarios.join(', ')} (writes no result files)
  --no-write               do not write result files
  --results-dir DIR        where result files go (default bench/results)
  --wait-quiet SECONDS     wait up to SECONDS for load average < 1.5 first (default 300, quick 0)
  --cpu-prof DIR           hosts (and their agent processes) write V8 CPU profiles to DIR
  --host-node-options OPTS NODE_OPTIONS for every host and its agent processes
`);
    process.exit(0);
  }
  const quick = values.quick;
  const runs = values.runs ? Number(values.runs) : 1;
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    process.stderr.write(`--runs must be 1..50, got '${values.runs}'\n`);
    process.exit(2);
  }
  const only = new Set((values.only ?? def.scenarios.join(',')).split(',').map((s) => s.trim()));
  for (const s of only) {
    if (!def.scenarios.includes(s)) {
      process.stderr.write(`unknown scenario '${s}'; choose from ${def.scenarios.join(', ')}\n`);
      process.exit(2);
    }
  }
  const flags: SuiteFlags = {
    quick,
    json: values.json,
    markdown: values.markdown,
    runs,
    only,
    write: !quick && !values['no-write'] && only.size === def.scenarios.length,
    resultsDir: values['results-dir'] ?? join(BENCH_DIR, 'results'),
    waitQuietS: values['wait-quiet'] !== undefined ? Number(values['wait-quiet']) : quick ? 0 : 300,
    cpuProf: values['cpu-prof'] ?? null,
    hostNodeOptions: values['host-node-options'] ?? null,
  };
  const config = def.config(quick);
  const ctx: SuiteContext<C> = {
    flags,
    config,
    hostOptions: ({ nodeOptions, env, ...extra } = {}) => {
      const prof = flags.cpuProf ? `--cpu-prof --cpu-prof-dir=${flags.cpuProf}` : '';
      const opts = [flags.hostNodeOptions ?? '', prof, nodeOptions ?? ''].filter(Boolean).join(' ');
      return {
        name: `bench-${def.name}-${process.pid}-${++hostSeq}`,
        root: BENCH_DIR,
        readyTimeoutMs: 60_000,
        ...extra,
        env: { ...env, ...(opts ? { NODE_OPTIONS: opts } : {}) },
      };
    },
  };

  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      log(`${signal}: stopping hosts`);
      void stopAllHosts().finally(() => process.exit(130));
    });
  }

  try {
    const started = new Date();
    const plat = platformInfo();
    const quiet = flags.waitQuietS > 0 ? await waitForQuiet(flags.waitQuietS) : null;
    plat.quiet_wait = quiet;
    log(`${def.name}: config ${JSON.stringify(config)}${quick ? ' (quick)' : ''}`);
    const results: Record<string, Record<string, unknown>> = {};
    for (const scenario of def.scenarios) {
      if (!only.has(scenario)) continue;
      const perRun: Record<string, unknown>[] = [];
      for (let r = 1; r <= runs; r++) {
        const busy = await settle();
        const mark = noiseMark();
        const t0 = now();
        const result = await def.run(scenario, ctx);
        const foreign = foreignCpuShare(mark);
        perRun.push({ ...result, foreign_cpu_share: +foreign.toFixed(3), busy_before: +busy.toFixed(3) });
        log(`${scenario}: run ${r}/${runs} done in ${((now() - t0) / 1000).toFixed(1)} s (other processes used ${(foreign * 100).toFixed(0)} % of the CPUs)`);
      }
      results[scenario] = runs === 1 ? perRun[0]! : { ...(medianOf(perRun) as Record<string, unknown>), per_run: perRun };
    }
    plat.loadavg_at_end = os.loadavg();
    const date = started.toISOString().slice(0, 10);
    const rows = def.rows(results, ctx);
    const shares = Object.values(results).flatMap((r) => ((r.per_run as Noise[] | undefined) ?? [r as unknown as Noise]).map((x) => x.foreign_cpu_share));
    const noise = { foreign_cpu_share_max: shares.length ? Math.max(...shares) : null, foreign_cpu_share_median: shares.length ? medianOf(shares) : null };
    const report = {
      suite: def.name,
      date: started.toISOString(),
      duration_s: +((Date.now() - started.getTime()) / 1000).toFixed(1),
      quick,
      platform: plat,
      method: def.method,
      config: { ...config, runs, host_node_options: flags.hostNodeOptions },
      noise,
      results,
      table: rows,
      missed: rows.filter((r) => r.met === false).map((r) => r.operation),
    };
    const json = `${JSON.stringify(report, null, 2)}\n`;
    if (flags.write) {
      mkdirSync(flags.resultsDir, { recursive: true });
      const dated = join(flags.resultsDir, `${date}-${def.name}.json`);
      writeFileSync(dated, json);
      writeFileSync(join(flags.resultsDir, `latest-${def.name}.json`), json);
      log(`wrote ${dated} and ${join(flags.resultsDir, `latest-${def.name}.json`)}`);
    } else {
      log('results not written (--quick, --only or --no-write)');
    }
    if (flags.json) process.stdout.write(json);
    else if (flags.markdown) printMarkdown(def.title, rows, plat, date, noise.foreign_cpu_share_max);
    else printTable(def.title, rows, plat, date, noise.foreign_cpu_share_max, quick);
  } catch (err) {
    process.stderr.write(`bench ${def.name} failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await stopAllHosts();
  }
}

function machineLine(plat: Record<string, unknown>): string {
  return `${plat.cpu_count} vCPU (${plat.cpu_model}), ${plat.total_mem_gib} GiB, ${plat.kernel}, Node ${plat.node}`;
}

export function printTable(title: string, rows: Row[], plat: Record<string, unknown>, date: string, foreignMax: number | null, quick = false): void {
  const table = new Table({
    head: ['operation', 'taglets', 'paglets', 'target'],
    colWidths: [52, 44, 18, 24],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of rows) table.push([r.operation, r.taglets, r.paglets, r.target + (r.met === undefined ? '' : r.met ? ' ✓' : ' ✗')]);
  process.stdout.write(`${title}, ${date}: ${machineLine(plat)}${quick ? ' (QUICK: few iterations, not comparable)' : ''}\n`);
  process.stdout.write(`${table.toString()}\n`);
  if (foreignMax !== null) {
    process.stdout.write(
      `other processes used up to ${(foreignMax * 100).toFixed(0)} % of the CPUs during a scenario${foreignMax > 0.1 ? ' (figures are skewed by that load)' : ''}\n`,
    );
  }
  const missed = rows.filter((r) => r.met === false);
  process.stdout.write(missed.length ? `missed targets: ${missed.map((r) => r.operation).join('; ')}\n` : 'all measured targets met\n');
}

export function printMarkdown(title: string, rows: Row[], plat: Record<string, unknown>, date: string, foreignMax: number | null): void {
  const esc = (t: string): string => t.replaceAll('|', '\\|');
  const lines = [
    `${title}. Measured ${date} on ${machineLine(plat)}, taglets ${plat.taglets_version} (${plat.commit ?? 'no git'}); ` +
      'driver and hosts in separate processes on 127.0.0.1' +
      (foreignMax !== null ? `; other processes used up to ${(foreignMax * 100).toFixed(0)} % of the CPUs.` : '.'),
    '',
    '| operation | taglets | paglets | target |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${esc(r.operation)} | ${esc(r.taglets)} | ${esc(r.paglets)} | ${esc(r.target)}${r.met === undefined ? '' : r.met ? ' ✓' : ' ✗'} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Polls `fn` every `stepMs` until it returns a non-null value; null after `timeoutMs`. */
export async function pollUntil<T>(fn: () => Promise<T | null>, timeoutMs: number, stepMs = 10): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) return null;
    await sleep(stepMs);
  }
}

/**
 * `taglets examples pi` and `taglets examples analysis`: compute-job examples. Their agent
 * classes live in `examples/compute/` of the taglets checkout (loaded by hosts from there,
 * so every host needs the checkout at the same path); this file is the submitting side.
 *
 * - `pi`: the CLI process is the coordinator. It plans Chudnovsky term batches, creates a
 *   ResultCollectorAgent on the entry host as the jobs' mailbox, keeps up to --max-in-flight
 *   PiBatchJobs alive, drains the collector, merges batches in order and appends the digits
 *   that are certain to --output (a local file of the machine the CLI runs on).
 * - `analysis`: submits a job group (submitComputeJobGroup); each AnalysisJob trains a small
 *   forest wherever it gets a core, goes home, appends its rows to the SQLite --db there and
 *   reports to the collector; --wait follows the collector until every job reported.
 */
import { existsSync, closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Option } from 'commander';
import type { AgentRef } from '../core/message.ts';
import type { CollectorSummary, JobReport } from '../compute/collector.ts';
import { computeJobKey, createResultCollector, mapLimit, newGroupId, submitComputeJobGroup } from '../compute/job-group.ts';
import type { HostClient } from '../remote/client.ts';
import { COMPUTE_SLOTS_AGENT_ID } from '../system/compute-slots/contract.ts';
import { entryClient, type GlobalFlags } from './entry.ts';
import type { ExampleRegistrar } from './examples-command.ts';
import { CliError, EXIT_EMPTY, EXIT_ERROR, EXIT_OK, colors, printJson, printTable } from './output.ts';
import { parseSize } from './units.ts';
import { act } from './act.ts';

/** `examples/compute/` of this taglets checkout (dist/cli/ -> ../../examples/compute/). */
export const COMPUTE_EXAMPLES_DIR = fileURLToPath(new URL('../../examples/compute/', import.meta.url));

/** A class reference hosts load the example class by (an absolute file URL). */
function exampleClass(file: string, exportName: string): string {
  const path = `${COMPUTE_EXAMPLES_DIR}${file}`;
  if (!existsSync(path)) {
    throw new CliError(`the compute examples are not installed: ${path} is missing (they ship with the taglets checkout, not the npm package)`);
  }
  return `${pathToFileURL(path).href}#${exportName}`;
}


function intFlag(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min) throw new CliError(`${flag} must be an integer >= ${min}, got '${text}'`);
  return n;
}
function secondsFlag(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliError(`${flag} must be a number of seconds >= 0, got '${text}'`);
  return n;
}
function sizeFlag(flag: string, text: string): number {
  try {
    return parseSize(text)!;
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`);
  }
}

/** The global --timeout as the run limit of an example: seconds, 0 or absent = no limit. */
function runLimitSeconds(g: GlobalFlags): number {
  return g.timeout === undefined ? 0 : secondsFlag('--timeout', g.timeout);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Disposes a job wherever it went (following `moved_to`) and cancels its slot requests there. */
async function cancelJob(entry: HostClient, ref: AgentRef): Promise<void> {
  let at = ref;
  for (let hop = 0; hop < 4; hop++) {
    try {
      await entry.getProxy(at).dispose();
      break;
    } catch (err) {
      const moved = (err as { details?: { moved_to?: AgentRef } }).details?.moved_to;
      if (!moved) break;
      at = moved;
    }
  }
  await entry
    .getProxy({ host_url: at.host_url, agent_id: COMPUTE_SLOTS_AGENT_ID })
    .send('compute-slots.cancel_slot_requests', { request: { agent_ids: [ref.agent_id] } }, { timeoutMs: 2000 })
    .catch(() => {});
}

// ---- pi ---------------------------------------------------------------------------------

/** The parts of examples/compute/pi-math.ts the coordinator uses. */
interface PiMath {
  PiDigitStream: new (o: { start: number; digits: number; batchSize: number }) => {
    readonly totalTerms: number;
    readonly batches: { index: number; term_start: number; term_end: number }[];
    readonly releasedDigits: number;
    readonly mergedBatches: number;
    readonly done: boolean;
    add(index: number, value: unknown): string;
  };
  pqtFromHex(v: { p: string; q: string; t: string }): unknown;
  DIGITS_PER_TERM: number;
  GUARD_DIGITS: number;
}

interface PiFlags {
  digits: string;
  start: string;
  batchSize: string;
  maxInFlight: string;
  output: string;
  mem: string;
  failBatch?: string;
}

/** Jobs at a time by default: one per CPU of the online hosts, 1..32. */
async function autoInFlight(entry: HostClient): Promise<number> {
  const hosts = await entry.hosts().catch(() => []);
  const cpus = hosts.filter((h) => h.online).reduce((n, h) => n + Math.max(1, h.cpu_count ?? 1), 0);
  return Math.min(32, Math.max(1, cpus));
}

export const registerPiExample: ExampleRegistrar = (examples) => {
  examples
    .command('pi')
    .description('digits of pi from Chudnovsky term batches, each a compute job somewhere in the mesh')
    .option('--digits <n>', 'decimal places to compute', '16')
    .option('--start <n>', 'first decimal place (0: the output starts with "3.")', '0')
    .option('--batch-size <terms>', 'Chudnovsky terms per compute job (~14 digits each)', '1')
    .option('--max-in-flight <n>', 'jobs alive at a time (0: one per CPU of the online hosts, at most 32)', '0')
    .option('--output <path>', 'file the digits are written to (on this machine)', 'pi.txt')
    .option('--mem <size>', 'memory each job reserves with the scheduler', '64M')
    .addOption(new Option('--fail-batch <index>', 'make this batch fail (for tests)').hideHelp())
    .addHelpText(
      'after',
      `
Examples:
  $ taglets examples pi --digits 1000
  $ taglets examples pi --digits 5000 --batch-size 20 --max-in-flight 8 --output /tmp/pi.txt
  $ taglets examples pi --start 10000 --digits 100 --timeout 300 --json

The CLI coordinates: a ResultCollectorAgent on the entry host collects the PiBatchJobs'
reports; batches are merged in order and the digits that are certain go to --output (and to
stdout) as soon as they are known. Progress goes to stderr. Any failed batch fails the run
(exit 2). --timeout SECONDS limits the whole run (default: no limit).`,
    )
    .action(act((g, opts: PiFlags) => runPi(g, opts)));
};

async function runPi(g: GlobalFlags, opts: PiFlags): Promise<number> {
  const digits = intFlag('--digits', opts.digits, 1);
  const start = intFlag('--start', opts.start, 0);
  const batchSize = intFlag('--batch-size', opts.batchSize, 1);
  const maxInFlightFlag = intFlag('--max-in-flight', opts.maxInFlight, 0);
  const memory = sizeFlag('--mem', opts.mem);
  const failBatch = opts.failBatch === undefined ? null : intFlag('--fail-batch', opts.failBatch, 0);
  const limitS = runLimitSeconds(g);
  const outputPath = resolve(opts.output);
  const jobClass = exampleClass('pi.ts', 'PiBatchJob');
  const math = (await import(pathToFileURL(`${COMPUTE_EXAMPLES_DIR}pi-math.ts`).href)) as PiMath;

  const t0 = Date.now();
  const deadline = limitS > 0 ? t0 + limitS * 1000 : Infinity;
  const entry = await entryClient({ ...g, timeout: undefined });
  const stream = new math.PiDigitStream({ start, digits, batchSize });
  const batches = stream.batches;
  const cap = maxInFlightFlag || (await autoInFlight(entry));
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);

  const groupId = newGroupId('pi');
  const collector = await createResultCollector(entry, { groupId });
  const collectorProxy = entry.getProxy(collector);
  const inFlight = new Map<number, AgentRef | null>();
  const creating: Promise<void>[] = [];
  const hostsUsed = new Map<string, number>();
  let fd: number | null = null;
  let written = 0;
  let failure: string | null = null;
  try {
    await collectorProxy.send('register_jobs', {
      jobs: batches.map((b) => ({ job_key: computeJobKey(groupId, b.index), metadata: { batch_index: b.index, term_start: b.term_start, term_end: b.term_end } })),
    });
    fd = openSync(outputPath, 'w');
    progress(
      `pi: ${digits} digit${digits === 1 ? '' : 's'} from place ${start}: ${stream.totalTerms} terms in ${batches.length} batch${batches.length === 1 ? '' : 'es'}` +
        ` of ${batchSize}, up to ${cap} job${cap === 1 ? '' : 's'} at a time; collector ${collector.agent_id} on ${entry.url}`,
    );

    let next = 0;
    const launch = (index: number): void => {
      const b = batches[index]!;
      inFlight.set(index, null);
      const state = {
        group_id: groupId,
        job_key: computeJobKey(groupId, index),
        collector_agent_id: collector.agent_id,
        collector_host_url: collector.host_url,
        batch_index: index,
        term_start: b.term_start,
        term_end: b.term_end,
        memory_bytes: memory,
        fail_with: failBatch === index ? `batch ${index} failed on purpose (--fail-batch)` : null,
      };
      const created = entry.createAgent(jobClass, { state }).then(
        (proxy) => {
          if (inFlight.has(index)) inFlight.set(index, proxy.ref);
        },
        (err: unknown) => {
          failure ??= `could not create the job for batch ${index} (terms ${b.term_start}..${b.term_end - 1}): ${errText(err)}`;
        },
      );
      creating.push(created);
    };

    let lastLine = '';
    let done = 0;
    const fill = (): void => {
      while (!failure && !stream.done && next < batches.length && inFlight.size < cap) launch(next++);
    };
    while (!(stream.done && inFlight.size === 0)) {
      if (failure) throw new CliError(`pi: ${failure}; the run is aborted (batches are not retried)`);
      if (Date.now() > deadline) {
        throw new CliError(`pi: timed out after ${limitS} s with ${stream.mergedBatches}/${batches.length} batches merged and ${stream.releasedDigits}/${digits} digits written to ${outputPath}`);
      }
      fill();
      const drained = (await collectorProxy.send('drain', { forget: true })) as CollectorSummary;
      for (const f of Object.values(drained.failures ?? {}) as JobReport[]) {
        const index = Number(f.job_key.slice(groupId.length + 1));
        const b = batches[index];
        failure ??= `batch ${index}${b ? ` (terms ${b.term_start}..${b.term_end - 1})` : ''} failed${f.host_name ? ` on host ${f.host_name}` : ''}: ${f.error ?? 'unknown error'}`;
      }
      if (failure) continue;
      const results = (Object.values(drained.results ?? {}) as JobReport[]).sort((a, b) => a.job_key.localeCompare(b.job_key));
      for (const r of results) {
        const res = r.result as { batch_index: number; p: string; q: string; t: string } | null;
        if (!res || typeof res.batch_index !== 'number') {
          failure ??= `job ${r.job_key} reported no batch result`;
          break;
        }
        if (inFlight.delete(res.batch_index)) done++;
        if (r.host_name) hostsUsed.set(r.host_name, (hostsUsed.get(r.host_name) ?? 0) + 1);
        const text = stream.add(res.batch_index, math.pqtFromHex(res));
        if (text) {
          writeSync(fd, text);
          written += text.length;
          if (!g.json) process.stdout.write(text);
        }
      }
      fill(); // replace finished jobs at once
      const line = `pi: ${done}/${batches.length} batches done, ${stream.releasedDigits}/${digits} digits written`;
      if (line !== lastLine) {
        progress(`${line} (${inFlight.size} in flight)`);
        lastLine = line;
      }
      if (!(stream.done && inFlight.size === 0)) await sleep(100);
    }
    writeSync(fd, '\n');
  } catch (err) {
    if (err instanceof CliError) failure = err.message;
    else failure = `pi: ${errText(err)}`;
  } finally {
    if (fd !== null) closeSync(fd);
    // Jobs still alive (failure, timeout) are removed; the collector always goes.
    await Promise.allSettled(creating);
    const left = [...inFlight.values()].filter((r): r is AgentRef => r !== null);
    await mapLimit(left, 8, (ref) => cancelJob(entry, ref));
    await collectorProxy.dispose().catch(() => {});
  }
  const elapsed = Math.round((Date.now() - t0) / 10) / 100;
  if (failure) {
    if (!g.json && written > 0) process.stdout.write('\n');
    const partial = written > 0 && !failure.includes(outputPath) ? ` (partial output: ${stream.releasedDigits} digits in ${outputPath})` : '';
    throw new CliError(`${failure}${partial}`, EXIT_ERROR);
  }
  const hosts = Object.fromEntries([...hostsUsed].sort((a, b) => a[0].localeCompare(b[0])));
  if (g.json) {
    printJson({
      ok: true,
      digits,
      start,
      terms: stream.totalTerms,
      batches: batches.length,
      batch_size: batchSize,
      max_in_flight: cap,
      output_path: outputPath,
      elapsed_s: elapsed,
      hosts,
      group_id: groupId,
      collector,
    });
  } else {
    process.stdout.write('\n');
    const where = Object.entries(hosts)
      .map(([h, n]) => `${h}×${n}`)
      .join(', ');
    progress(`${colors.green('ok')} pi: ${digits} digits written to ${outputPath} in ${elapsed} s (batches ran on ${where || 'no host'})`);
  }
  return EXIT_OK;
}

// ---- analysis ---------------------------------------------------------------------------

interface AnalysisFlags {
  tasks: string;
  rows: string;
  features: string;
  trees: string;
  targetRuntime: string;
  cpuCores: string;
  memory: string;
  tempStorage: string;
  db: string;
  dbLockTimeout: string;
  seed: string;
  excludeHome?: boolean;
  wait?: boolean;
}

export const registerAnalysisExample: ExampleRegistrar = (examples) => {
  examples
    .command('analysis')
    .description('train many small models as compute jobs; results go home into a SQLite file')
    .option('--tasks <n>', 'compute jobs (one model each)', '20')
    .option('--rows <n>', 'rows of synthetic data per task', '2000')
    .option('--features <n>', 'input features per row', '8')
    .option('--trees <n>', 'regression trees per model', '10')
    .option('--target-runtime <seconds>', 'keep each job busy at least this long (0: no padding)', '0')
    .option('--cpu-cores <n>', 'cores each job reserves', '1')
    .option('--memory <size>', 'memory each job reserves', '512M')
    .option('--temp-storage <size>', 'scratch storage each job reserves', '0')
    .option('--db <path>', 'SQLite file on the entry host the rows are appended to', 'results.sqlite')
    .option('--db-lock-timeout <seconds>', 'how long a job waits for the database write lock', '60')
    .option('--seed <n>', 'seed of task 0 (task i uses seed + i)', '1')
    .option('--exclude-home', 'never train on the entry host (needs a peer with the compute-slots service)')
    .option('--wait', 'wait until every job reported, then print the results')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets examples analysis --tasks 8 --wait
  $ taglets examples analysis --tasks 40 --rows 20000 --trees 40 --target-runtime 30 --db /srv/results.sqlite
  $ taglets --entry http://10.0.0.5:8765 examples analysis --exclude-home --wait --timeout 600 --json

Each job trains where the scheduler gives it a core, then returns to the entry host (waiting on
disk while it is offline) and appends its rows to the tables job_summary and feature_summary
of --db in one BEGIN IMMEDIATE transaction. Without --wait the command prints the group and
exits; the group's collector keeps the summary (taglets agents send COLLECTOR summary).
With --wait, --timeout SECONDS limits the wait (default: no limit).`,
    )
    .action(act((g, opts: AnalysisFlags) => runAnalysis(g, opts)));
};

interface AnalysisRow {
  task_index: number;
  trained_on: string | null;
  test_rmse: number;
  baseline_rmse: number;
  test_r2: number;
  compute_seconds: number;
  top_feature: number;
}

async function runAnalysis(g: GlobalFlags, opts: AnalysisFlags): Promise<number> {
  const tasks = intFlag('--tasks', opts.tasks, 1);
  const rows = intFlag('--rows', opts.rows, 10);
  const features = intFlag('--features', opts.features, 1);
  const trees = intFlag('--trees', opts.trees, 1);
  const targetRuntime = secondsFlag('--target-runtime', opts.targetRuntime);
  const cpuCores = intFlag('--cpu-cores', opts.cpuCores, 1);
  const memory = sizeFlag('--memory', opts.memory);
  const temp = sizeFlag('--temp-storage', opts.tempStorage);
  const lockTimeout = secondsFlag('--db-lock-timeout', opts.dbLockTimeout);
  const seed = intFlag('--seed', opts.seed, 0);
  if (memory <= 0) throw new CliError('--memory must be more than 0');
  const dbPath = resolve(opts.db);
  const limitS = runLimitSeconds(g);
  const jobClass = exampleClass('analysis.ts', 'AnalysisJob');
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);

  const t0 = Date.now();
  const entry = await entryClient({ ...g, timeout: undefined });
  const states = Array.from({ length: tasks }, (_, i) => ({
    task_index: i,
    seed: seed + i,
    rows,
    features,
    trees,
    target_runtime_seconds: targetRuntime,
    cpu_cores: cpuCores,
    memory_bytes: memory,
    temp_storage_bytes: temp,
    estimated_runtime_seconds: Math.max(1, targetRuntime),
    allow_home_compute: !opts.excludeHome,
    db_path: dbPath,
    db_lock_timeout_seconds: lockTimeout,
  }));
  const group = await submitComputeJobGroup(entry, jobClass, states, {
    groupId: newGroupId('analysis'),
    jobMetadata: states.map((s) => ({ task_index: s.task_index, seed: s.seed })),
  });
  const collectorProxy = entry.getProxy(group.collector);
  progress(
    `analysis: submitted ${group.jobs.length}/${tasks} job${tasks === 1 ? '' : 's'} as group ${group.group_id}` +
      ` (collector ${group.collector.agent_id} on ${group.collector.host_url}); rows go to ${dbPath} on ${entry.url}`,
  );
  for (const e of group.creation_errors) progress(`${colors.red('error')}: analysis: task ${e.index} (${e.job_key}) was not created: ${e.error}`);

  if (!opts.wait) {
    if (g.json) printJson({ ...group, db_path: dbPath, waited: false });
    else process.stdout.write(`${group.group_id}\n`);
    if (group.jobs.length === 0) return EXIT_ERROR;
    return group.creation_errors.length > 0 ? EXIT_EMPTY : EXIT_OK;
  }

  const deadline = limitS > 0 ? t0 + limitS * 1000 : Infinity;
  let last = '';
  let summary: CollectorSummary;
  for (;;) {
    summary = (await collectorProxy.send('summary', { include_results: false })) as CollectorSummary;
    const line = `analysis: ${summary.reported_count}/${summary.expected_count} jobs reported (${summary.failure_count} failed)`;
    if (line !== last) {
      progress(line);
      last = line;
    }
    if (summary.complete) break;
    if (Date.now() > deadline) {
      throw new CliError(
        `analysis: timed out after ${limitS} s with ${summary.reported_count}/${summary.expected_count} jobs reported; they keep running (collector ${group.collector.agent_id} on ${group.collector.host_url})`,
        EXIT_EMPTY,
      );
    }
    await sleep(250);
  }
  summary = (await collectorProxy.send('summary', { include_results: true })) as CollectorSummary;
  await collectorProxy.dispose().catch(() => {});
  const results = Object.values(summary.results ?? {}).map((r) => r.result as AnalysisRow).sort((a, b) => a.task_index - b.task_index);
  const failures = Object.values(summary.failures ?? {}).sort((a, b) => a.job_key.localeCompare(b.job_key));
  const elapsed = Math.round((Date.now() - t0) / 10) / 100;
  if (g.json) {
    printJson({
      ok: failures.length === 0,
      group_id: group.group_id,
      db_path: dbPath,
      elapsed_s: elapsed,
      tasks,
      results,
      failures: failures.map((f) => ({ job_key: f.job_key, host_name: f.host_name, error: f.error, stage: f.stage ?? null })),
      creation_errors: group.creation_errors,
    });
  } else {
    if (results.length > 0) {
      printTable(
        ['task', 'trained on', 'test RMSE', 'baseline', 'R²', 'seconds', 'top feature'],
        results.map((r) => [r.task_index, r.trained_on, r.test_rmse.toFixed(4), r.baseline_rmse.toFixed(4), r.test_r2.toFixed(3), r.compute_seconds.toFixed(2), `x${r.top_feature}`]),
      );
    }
    for (const f of failures) progress(`${colors.red('failed')}: ${f.job_key}${f.host_name ? ` on ${f.host_name}` : ''}: ${f.error}`);
    progress(`${failures.length === 0 ? colors.green('ok') : colors.yellow('partial')} analysis: ${results.length}/${tasks} results in ${dbPath} after ${elapsed} s`);
  }
  return failures.length === 0 ? EXIT_OK : results.length > 0 ? EXIT_EMPTY : EXIT_ERROR;
}

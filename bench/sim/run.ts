/**
 * Scheduler simulator: the pure compute-slots core over hundreds of simulated hosts and 100k
 * jobs on simulated time (model: `engine.ts`).
 *
 *   node bench/sim/run.ts                                  throughput profile, 200 hosts, 100k jobs
 *   node bench/sim/run.ts --profile conservative
 *   node bench/sim/run.ts --hosts 50 --jobs 10000 --seed 7 --load 1.5
 *   node bench/sim/run.ts --set redirect_cooldown_seconds=30 --set max_redirects_per_tick=8
 *   node bench/sim/run.ts --placement cached --status-lag 2 --drop-rate 0.01 --json
 *
 * Prints a table (or the JSON with --json) and writes bench/results/sim-<profile>.json
 * (unless --no-write).
 */
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_SIM, simulate, type SimOptions, type SimResult } from './engine.ts';

const RESULTS_DIR = join(dirname(dirname(fileURLToPath(import.meta.url))), 'results');

function options(): { sim: SimOptions; json: boolean; write: boolean } {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string' },
      jobs: { type: 'string' },
      profile: { type: 'string' },
      seed: { type: 'string' },
      load: { type: 'string' },
      submitters: { type: 'string' },
      'busy-fraction': { type: 'string' },
      placement: { type: 'string' },
      'drop-rate': { type: 'string' },
      'status-lag': { type: 'string' },
      set: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node bench/sim/run.ts [--hosts 200] [--jobs 100000] [--profile throughput|conservative] [--seed N] [--load 1.25]\n' +
      '       [--submitters 0.05] [--busy-fraction 0.2] [--placement live|cached] [--status-lag 0] [--drop-rate 0] [--set name=value]... [--json] [--no-write]');
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got '${raw}'`);
    return n;
  };
  const profile = values.profile ?? DEFAULT_SIM.profile;
  if (profile !== 'throughput' && profile !== 'conservative') throw new Error(`--profile must be throughput or conservative, got '${profile}'`);
  const placement = values.placement ?? DEFAULT_SIM.placement;
  if (placement !== 'live' && placement !== 'cached') throw new Error(`--placement must be live or cached, got '${placement}'`);
  const overrides: Record<string, unknown> = {};
  for (const kv of values.set ?? []) {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`--set expects name=value, got '${kv}'`);
    overrides[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return {
    sim: {
      hosts: Math.max(1, Math.floor(num('hosts', values.hosts, DEFAULT_SIM.hosts))),
      jobs: Math.max(1, Math.floor(num('jobs', values.jobs, DEFAULT_SIM.jobs))),
      profile,
      seed: Math.floor(num('seed', values.seed, DEFAULT_SIM.seed)),
      load: num('load', values.load, DEFAULT_SIM.load),
      submitters: num('submitters', values.submitters, DEFAULT_SIM.submitters),
      busyFraction: num('busy-fraction', values['busy-fraction'], DEFAULT_SIM.busyFraction),
      placement,
      statusLag: num('status-lag', values['status-lag'], DEFAULT_SIM.statusLag),
      dropRate: num('drop-rate', values['drop-rate'], DEFAULT_SIM.dropRate),
      overrides,
    },
    json: values.json,
    write: !values['no-write'],
  };
}

function table(r: SimResult): string {
  const t = new Table({ head: ['metric', 'value'] });
  const s = (x: number): string => `${x.toLocaleString('en-US', { maximumFractionDigits: 1 })} s`;
  t.push(
    ['profile', r.options.profile],
    ['hosts / cores', `${r.hosts} / ${r.total_cores}`],
    ['jobs completed / failed', `${r.completed} / ${r.failed}`],
    ['arrival window', s(r.arrival_window_s)],
    ['makespan', s(r.makespan_s)],
    ['ideal makespan (lower bound)', s(r.ideal_makespan_s)],
    ['efficiency (ideal / makespan)', `${(r.efficiency * 100).toFixed(1)} %`],
    ['utilization (core-s / cores × makespan)', `${(r.utilization * 100).toFixed(1)} %`],
    ['utilization during the arrival window', `${(r.utilization_arrival_window * 100).toFixed(1)} %`],
    ['free cores while jobs wait (all / on hosts with a queue)', `${r.idle_while_waiting.mean_free_cores} / ${r.idle_while_waiting.mean_free_cores_on_queued_hosts} (waiting ${r.idle_while_waiting.mean_waiting_jobs})`],
    ['queue wait p50 / p90 / p99', `${r.queue_wait_s.p50} / ${r.queue_wait_s.p90} / ${r.queue_wait_s.p99} s`],
    ['queue wait mean / max', `${r.queue_wait_s.mean} / ${r.queue_wait_s.max} s`],
    ['slowdown p50 / p90 / p99', `${r.slowdown.p50} / ${r.slowdown.p90} / ${r.slowdown.p99}`],
    ...Object.entries(r.wait_by_cores).map(([c, w]) => [`wait ${c}-core jobs p50 / p99 (n)`, `${w.p50} / ${w.p99} s (${w.jobs})`]),
    ['redirects (arrival + spillover)', `${r.redirects.total} (${r.redirects.on_arrival} + ${r.redirects.spillover})`],
    ['jobs redirected / max per job', `${r.redirects.jobs_redirected} / ${r.redirects.max_per_job}`],
    ['after a redirect: run_now / sleep / redirect', `${r.redirects.outcome_on_arrival.run_now} / ${r.redirects.outcome_on_arrival.sleep} / ${r.redirects.outcome_on_arrival.redirect}`],
    ['run_now / sleep / granted from queue', `${r.decisions.run_now} / ${r.decisions.sleep} / ${r.decisions.granted_from_queue}`],
    ['rollbacks / expired leases', `${r.rollbacks} / ${r.expired_leases}`],
    ['events / core calls / ticks', `${r.events} / ${r.core_calls} / ${r.sim_ticks}`],
    ['wall time', `${r.wall_seconds} s`],
  );
  return t.toString();
}

function main(): void {
  const { sim, json, write } = options();
  const result = simulate(sim);
  const doc = {
    benchmark: 'compute-slots scheduler simulation',
    date: new Date().toISOString(),
    platform: { node: process.version, os: `${os.type()} ${os.release()}`, arch: process.arch, cpus: os.cpus().length },
    ...result,
  };
  if (json) console.log(JSON.stringify(doc, null, 2));
  else console.log(table(result));
  if (write) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `sim-${sim.profile}.json`);
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    console.error(`wrote ${file}`);
  }
}

main();

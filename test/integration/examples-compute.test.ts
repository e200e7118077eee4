/**
 * `taglets examples pi` and `taglets examples analysis` against real hosts with the
 * compute-slots service: correct digits of pi in the output file, a failing batch failing the
 * run, analysis rows appended to SQLite (with and without --wait).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { HostClient } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

/** pi to 200 decimal places. */
const PI_200 =
  '3.' +
  '14159265358979323846264338327950288419716939937510' +
  '58209749445923078164062862089986280348253421170679' +
  '82148086513282306647093844609550582231725359408128' +
  '48111745028410270193852110555964462294895493038196';

let host: SpawnedHost;
let client: HostClient;
let dir: string;
before(async () => {
  host = await spawnHost({ name: 'ex-compute', root: FIXTURES, launch: true, args: ['--no-mesh'] });
  client = new HostClient(host.url);
  dir = mkdtempSync(join(tmpdir(), 'taglets-examples-compute-'));
});
after(async () => {
  await host?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[], timeoutMs = 120_000) => runCli(['--entry', host.url, 'examples', ...args], { cwd: dir, timeoutMs });

/** Agents other than the host's services (jobs, collectors) left behind. */
async function leftovers(): Promise<string[]> {
  return (await client.listAgents({ state: 'all' })).filter((a) => !a.agent_id.startsWith('service.')).map((a) => `${a.agent_id} ${a.agent_class}`);
}

function rowCount(db: string, table: string): number {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return Number((d.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
  } finally {
    d.close();
  }
}

describe('taglets examples pi', () => {
  it('--digits 60 writes the first 60 digits to pi.txt, with progress on stderr', async () => {
    const r = await cli(['pi', '--digits', '60']);
    assert.equal(r.code, 0, r.stderr);
    const want = PI_200.slice(0, 62);
    assert.equal(readFileSync(join(dir, 'pi.txt'), 'utf8').trim(), want);
    assert.equal(r.stdout.trim(), want);
    assert.match(r.stderr, /5 terms in 5 batches/);
    assert.match(r.stderr, /5\/5 batches done, 60\/60 digits written/);
    assert.match(r.stderr, /ok pi: 60 digits written to .*pi\.txt/);
    assert.deepEqual(await waitFor(async () => ((await leftovers()).length === 0 ? [] : null), 10_000, 100), []);
  });

  it('--json prints the summary; batches of several terms, --start and --output', async () => {
    const r = await cli(['pi', '--digits', '100', '--start', '100', '--batch-size', '3', '--max-in-flight', '2', '--output', 'sub-pi.txt', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(summary.ok, true);
    assert.equal(summary.digits, 100);
    assert.equal(summary.start, 100);
    assert.equal(summary.terms, 15);
    assert.equal(summary.batches, 5);
    assert.equal(summary.max_in_flight, 2);
    assert.equal(summary.output_path, join(dir, 'sub-pi.txt'));
    assert.deepEqual(Object.keys(summary.hosts as object), ['ex-compute']);
    assert.equal(readFileSync(join(dir, 'sub-pi.txt'), 'utf8').trim(), PI_200.slice(102, 202));
  });

  it('a failed batch fails the run with a clear message and leaves no jobs behind', async () => {
    const r = await cli(['pi', '--digits', '100', '--fail-batch', '2', '--output', 'fail.txt']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /batch 2 \(terms 2\.\.2\) failed on host ex-compute: batch 2 failed on purpose/);
    assert.match(r.stderr, /not retried/);
    // What was written before the failure is correct.
    assert.ok(PI_200.startsWith(readFileSync(join(dir, 'fail.txt'), 'utf8').trim()));
    assert.deepEqual(await waitFor(async () => ((await leftovers()).length === 0 ? [] : null), 20_000, 100), []);
  });

  it('bad flags are refused before anything is created', async () => {
    const r = await cli(['pi', '--digits', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--digits must be an integer >= 1/);
    const help = await runCli(['examples', 'pi', '--help']);
    assert.match(help.stdout, /Examples:/);
    assert.doesNotMatch(help.stdout, /fail-batch/);
  });
});

describe('taglets examples analysis', () => {
  it('--tasks 4 --wait appends 4 rows to the SQLite file and prints the results', async () => {
    const r = await cli(['analysis', '--tasks', '4', '--rows', '600', '--trees', '4', '--db', 'results.sqlite', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    const db = join(dir, 'results.sqlite');
    assert.equal(rowCount(db, 'job_summary'), 4);
    assert.equal(rowCount(db, 'feature_summary'), 4 * 8);
    const d = new DatabaseSync(db, { readOnly: true });
    const rows = d.prepare('SELECT task_index, seed, committed_on, test_r2 FROM job_summary ORDER BY task_index').all() as {
      task_index: number;
      seed: number;
      committed_on: string;
      test_r2: number;
    }[];
    d.close();
    assert.deepEqual(rows.map((x) => [x.task_index, x.seed, x.committed_on]), [0, 1, 2, 3].map((i) => [i, 1 + i, 'ex-compute']));
    assert.ok(rows.every((x) => x.test_r2 > 0.5), 'the forests learned something');
    assert.match(r.stderr, /4\/4 jobs reported \(0 failed\)/);
    assert.match(r.stdout, /test RMSE/);
    assert.deepEqual(await waitFor(async () => ((await leftovers()).length === 0 ? [] : null), 10_000, 100), []);
  });

  it('without --wait it submits and exits; the jobs still land in the database', async () => {
    const db = join(dir, 'later.sqlite');
    const r = await cli(['analysis', '--tasks', '2', '--rows', '300', '--trees', '2', '--db', db, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const group = JSON.parse(r.stdout) as { group_id: string; collector: { agent_id: string }; jobs: unknown[]; waited: boolean };
    assert.equal(group.jobs.length, 2);
    assert.equal(group.waited, false);
    await waitFor(async () => {
      try {
        return rowCount(db, 'job_summary') === 2;
      } catch {
        return false;
      }
    }, 60_000, 200);
    // The collector (left on the entry host without --wait) completes once both reported.
    const summary = (await waitFor(async () => {
      const s = (await client.proxy(group.collector.agent_id).send('summary')) as { complete: boolean; result_count: number; failure_count: number };
      return s.complete ? s : null;
    }, 20_000, 100))!;
    assert.equal(summary.result_count, 2);
    assert.equal(summary.failure_count, 0);
    await client.dispose(group.collector.agent_id);
  });
});

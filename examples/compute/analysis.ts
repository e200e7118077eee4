// Analysis example, compute side: each AnalysisJob trains a small random forest
// (./analysis-model.ts) on its own seeded synthetic data set wherever the compute-slots
// scheduler gives it a core, then goes home (the host it was submitted on), appends its rows
// to a SQLite file there under a write lock, reports a summary to the group's
// ResultCollectorAgent and disposes itself.
//
// Home offline when the work is done? The job sleeps on disk and checks again every
// `home_check_seconds` (300 s by default), so results are never lost on the way home.
//
// The class is loaded by hosts from this file (`<abs path>/examples/compute/analysis.ts#AnalysisJob`),
// so every host of the mesh needs the taglets checkout at the same path.
// `taglets examples analysis` submits the group (see docs/compute.md).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  COLLECTING_COMPUTE_JOB_DEFAULTS,
  CollectingComputeJobAgent,
  type CollectingComputeJobState,
} from 'taglets/compute';
import { notifyUserInfo } from 'taglets/patterns';
import { trainForest, type ForestResult } from './analysis-model.ts';

export interface AnalysisState extends CollectingComputeJobState {
  task_index: number;
  seed: number;
  rows: number;
  features: number;
  trees: number;
  target_runtime_seconds: number;
  /** SQLite file on the home host (absolute). */
  db_path: string;
  /** Seconds a commit waits for other writers (SQLite busy timeout). */
  db_lock_timeout_seconds: number;
  home_check_seconds: number;
  /** Where the model was trained. */
  trained_on: string | null;
  model: ForestResult | null;
  db_committed: boolean;
  db_error: string | null;
}

/** One row of `job_summary` (also the result reported to the collector). */
export interface AnalysisSummary {
  group_id: string | null;
  job_key: string | null;
  task_index: number;
  seed: number;
  rows: number;
  features: number;
  trees: number;
  trained_on: string | null;
  committed_on: string;
  cpu_core_ids: number[];
  cpu_affinity_enforced: boolean;
  train_rmse: number;
  test_rmse: number;
  baseline_rmse: number;
  test_r2: number;
  padding_trees: number;
  compute_seconds: number;
  top_feature: number;
  db_path: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS job_summary (
  group_id TEXT NOT NULL, job_key TEXT NOT NULL, task_index INTEGER, seed INTEGER,
  rows INTEGER, features INTEGER, trees INTEGER, trained_on TEXT, committed_on TEXT,
  cpu_core_ids TEXT, cpu_affinity_enforced INTEGER,
  train_rmse REAL, test_rmse REAL, baseline_rmse REAL, test_r2 REAL,
  padding_trees INTEGER, compute_seconds REAL, committed_at REAL,
  PRIMARY KEY (group_id, job_key));
CREATE TABLE IF NOT EXISTS feature_summary (
  group_id TEXT NOT NULL, job_key TEXT NOT NULL, feature INTEGER NOT NULL,
  importance REAL, rank INTEGER,
  PRIMARY KEY (group_id, job_key, feature));`;

/**
 * Appends one job's rows in one write transaction: `BEGIN IMMEDIATE` takes SQLite's write
 * lock up front, and the busy timeout lets concurrent writers (other jobs coming home) wait
 * for it instead of failing. Replaying the same job replaces its rows (idempotent).
 */
export function commitAnalysis(dbPath: string, lockTimeoutSeconds: number, row: AnalysisSummary, importance: number[]): void {
  mkdirSync(dirname(dbPath), { recursive: true });
  const timeoutMs = Math.max(0, Math.round(lockTimeoutSeconds * 1000));
  const db = new DatabaseSync(dbPath, { timeout: timeoutMs });
  try {
    db.exec(`PRAGMA busy_timeout = ${timeoutMs}`);
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(SCHEMA);
      db.prepare(
        `INSERT OR REPLACE INTO job_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        row.group_id ?? '',
        row.job_key ?? '',
        row.task_index,
        row.seed,
        row.rows,
        row.features,
        row.trees,
        row.trained_on,
        row.committed_on,
        JSON.stringify(row.cpu_core_ids),
        row.cpu_affinity_enforced ? 1 : 0,
        row.train_rmse,
        row.test_rmse,
        row.baseline_rmse,
        row.test_r2,
        row.padding_trees,
        row.compute_seconds,
        Date.now() / 1000,
      );
      const ranked = importance.map((v, f) => [f, v] as const).sort((a, b) => b[1] - a[1]);
      const put = db.prepare('INSERT OR REPLACE INTO feature_summary VALUES (?, ?, ?, ?, ?)');
      ranked.forEach(([f, v], rank) => put.run(row.group_id ?? '', row.job_key ?? '', f, v, rank + 1));
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  } finally {
    db.close();
  }
}

const sameUrl = (a: string | null, b: string | null): boolean => (a ?? '').replace(/\/+$/, '') === (b ?? '').replace(/\/+$/, '');

export class AnalysisJob extends CollectingComputeJobAgent<AnalysisState> {
  static override defaultState: AnalysisState = {
    ...COLLECTING_COMPUTE_JOB_DEFAULTS,
    memory_bytes: 512 * 1024 * 1024,
    estimated_runtime_seconds: 5,
    allow_home_compute: true,
    task_index: 0,
    seed: 1,
    rows: 2000,
    features: 8,
    trees: 10,
    target_runtime_seconds: 0,
    db_path: '',
    db_lock_timeout_seconds: 60,
    home_check_seconds: 300,
    trained_on: null,
    model: null,
    db_committed: false,
    db_error: null,
  };

  override async runComputeJob(): Promise<void> {
    const s = this.state;
    s.trained_on = this.hostName;
    s.model = await trainForest({
      seed: s.seed,
      rows: s.rows,
      features: s.features,
      trees: s.trees,
      targetRuntimeSeconds: s.target_runtime_seconds,
      // Between trees: let state queries and scheduler messages through.
      yieldEvery: () => new Promise((r) => setImmediate(r)),
    });
  }

  override buildResultPayload(): AnalysisSummary {
    const s = this.state;
    const m = s.model!;
    const top = m.importance.reduce((best, v, f) => (v > m.importance[best]! ? f : best), 0);
    return {
      group_id: s.group_id,
      job_key: s.job_key,
      task_index: s.task_index,
      seed: s.seed,
      rows: s.rows,
      features: s.features,
      trees: s.trees,
      trained_on: s.trained_on,
      committed_on: this.hostName,
      cpu_core_ids: s.cpu_core_ids,
      cpu_affinity_enforced: s.cpu_affinity_enforced,
      train_rmse: m.train_rmse,
      test_rmse: m.test_rmse,
      baseline_rmse: m.baseline_rmse,
      test_r2: m.test_r2,
      padding_trees: m.padding_trees,
      compute_seconds: m.compute_seconds,
      top_feature: top,
      db_path: s.db_path,
    };
  }

  /** Runs after the work and again after every wake-up until the rows are home. */
  override async continueAfterComputeSuccess(): Promise<void> {
    const s = this.state;
    if (!s.db_committed && !sameUrl(s.home_host_url, this.hostUrl)) {
      const home = s.home_host_url!;
      const online = await this.context.isHostOnline(home).catch(() => false);
      if (online) {
        try {
          await this.dispatch(home); // continues at home (run() -> this method again)
          return;
        } catch (err) {
          s.db_error = `could not move home to ${home}: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      // Home is away: sleep on disk, look again later (or when the host restarts).
      await this.deactivate(
        { activate_on_message: true, queue_messages_when_inactive: true, activate_on_startup: true, activate_at: Date.now() / 1000 + Math.max(1, s.home_check_seconds) },
        { reason: 'waiting-for-home' },
      );
      return;
    }
    if (!s.db_committed) {
      const row = this.buildResultPayload();
      try {
        commitAnalysis(s.db_path, s.db_lock_timeout_seconds, row, s.model!.importance);
        s.db_committed = true;
        s.db_error = null;
      } catch (err) {
        s.db_error = err instanceof Error ? err.message : String(err);
        await this.reportComputeFailure(`could not write ${s.db_path}: ${s.db_error}`, { stage: 'commit' });
        await this.afterReport();
        return;
      }
      await notifyUserInfo(this.context, {
        severity: 'info',
        title: 'analysis task done',
        message: `task ${s.task_index} (trained on ${s.trained_on}): test RMSE ${row.test_rmse}, R² ${row.test_r2}; rows in ${s.db_path}`,
        job: s.job_key ?? this.computeJobId(),
        source: this.agentId,
      });
    }
    await super.continueAfterComputeSuccess(); // report to the collector, then dispose
  }
}

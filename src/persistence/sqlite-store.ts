/**
 * The default store: one SQLite database per host (`node:sqlite`, WAL, synchronous=NORMAL).
 * States and messages are stored as v8-serialized blobs: compact, fast, and they keep
 * Buffers, Maps and Dates as they are (the same format agents' processes use over IPC).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { deserialize, serialize } from 'node:v8';
import { MIGRATIONS } from './sqlite-migrations.ts';
import type { ArtifactRecord, InactiveRecord, QueuedMessage, Store } from './store.ts';

type Row = Record<string, unknown>;

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly stmts = new Map<string, StatementSync>();

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    this.migrate();
  }

  private migrate(): void {
    const current = Number((this.db.prepare('PRAGMA user_version').get() as Row).user_version);
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  /** Runs `fn` in one IMMEDIATE transaction (node:sqlite has no helper for it). */
  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private stmt(sql: string): StatementSync {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  async schemaVersion(): Promise<number> {
    return Number((this.db.prepare('PRAGMA user_version').get() as Row).user_version);
  }

  // ---- inactive agents ---------------------------------------------------------------

  async putInactive(r: InactiveRecord, queued: { message_id: string; message: Record<string, unknown> }[] = []): Promise<void> {
    this.transaction(() => {
      this.writeInactive(r);
      for (const q of queued) this.insertQueued(r.agent_id, q.message_id, q.message);
    });
  }

  private writeInactive(r: InactiveRecord): void {
    this.stmt(
      `INSERT INTO inactive_agents (agent_id, agent_class, state, policy, request, deactivated_at, created_at, activate_at, activate_on_startup, files)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(agent_id) DO UPDATE SET agent_class=excluded.agent_class, state=excluded.state, policy=excluded.policy,
         request=excluded.request, deactivated_at=excluded.deactivated_at, created_at=excluded.created_at,
         activate_at=excluded.activate_at, activate_on_startup=excluded.activate_on_startup, files=excluded.files`,
    ).run(
      r.agent_id,
      r.agent_class,
      serialize(r.state),
      JSON.stringify(r.policy),
      JSON.stringify(r.request),
      r.deactivated_at,
      r.created_at,
      r.policy.activate_at,
      r.policy.activate_on_startup ? 1 : 0,
      JSON.stringify(r.files ?? []),
    );
  }

  private inactiveFromRow(row: Row): InactiveRecord {
    return {
      agent_id: row.agent_id as string,
      agent_class: row.agent_class as string,
      state: deserialize(row.state as Uint8Array),
      policy: JSON.parse(row.policy as string) as InactiveRecord['policy'],
      request: JSON.parse(row.request as string) as Record<string, unknown>,
      deactivated_at: row.deactivated_at as number,
      created_at: row.created_at as number,
      files: JSON.parse((row.files as string | undefined) ?? '[]') as unknown[],
    };
  }

  async getInactive(agentId: string): Promise<InactiveRecord | undefined> {
    const row = this.stmt('SELECT * FROM inactive_agents WHERE agent_id = ?').get(agentId) as Row | undefined;
    return row ? this.inactiveFromRow(row) : undefined;
  }

  async listInactive(): Promise<InactiveRecord[]> {
    return (this.stmt('SELECT * FROM inactive_agents ORDER BY deactivated_at').all() as Row[]).map((r) => this.inactiveFromRow(r));
  }

  async deleteInactive(agentId: string, options: { keepQueue?: boolean } = {}): Promise<boolean> {
    return this.transaction(() => {
      if (!options.keepQueue) this.stmt('DELETE FROM queued_messages WHERE agent_id = ?').run(agentId);
      return Number(this.stmt('DELETE FROM inactive_agents WHERE agent_id = ?').run(agentId).changes) > 0;
    });
  }

  async dueForActivation(now: number): Promise<string[]> {
    return (this.stmt('SELECT agent_id FROM inactive_agents WHERE activate_at IS NOT NULL AND activate_at <= ? ORDER BY activate_at').all(now) as Row[]).map(
      (r) => r.agent_id as string,
    );
  }

  async nextActivationAt(): Promise<number | null> {
    const row = this.stmt('SELECT MIN(activate_at) AS t FROM inactive_agents WHERE activate_at IS NOT NULL').get() as Row;
    return (row.t as number | null) ?? null;
  }

  // ---- queued messages ---------------------------------------------------------------

  async enqueueMessage(agentId: string, messageId: string, message: Record<string, unknown>): Promise<number> {
    return this.insertQueued(agentId, messageId, message);
  }

  private insertQueued(agentId: string, messageId: string, message: Record<string, unknown>): number {
    const res = this.stmt('INSERT INTO queued_messages (agent_id, message_id, message, queued_at) VALUES (?, ?, ?, ?)').run(
      agentId,
      messageId,
      serialize(message),
      Date.now() / 1000,
    );
    return Number(res.lastInsertRowid);
  }

  async queuedMessages(agentId: string): Promise<QueuedMessage[]> {
    return (this.stmt('SELECT * FROM queued_messages WHERE agent_id = ? ORDER BY seq').all(agentId) as Row[]).map((r) => ({
      seq: r.seq as number,
      agent_id: r.agent_id as string,
      message_id: r.message_id as string,
      message: deserialize(r.message as Uint8Array) as Record<string, unknown>,
      queued_at: r.queued_at as number,
    }));
  }

  async queuedCount(agentId: string): Promise<number> {
    return Number((this.stmt('SELECT COUNT(*) AS n FROM queued_messages WHERE agent_id = ?').get(agentId) as Row).n);
  }

  async deleteQueued(seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    this.transaction(() => {
      const del = this.stmt('DELETE FROM queued_messages WHERE seq = ?');
      for (const seq of seqs) del.run(seq);
    });
  }

  // ---- artifacts ---------------------------------------------------------------------

  async putArtifact(r: ArtifactRecord): Promise<void> {
    this.stmt(
      `INSERT OR REPLACE INTO artifacts (artifact_id, name, size_bytes, sha256, compression, created_at, expires_at, owner_agent_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.artifact_id, r.name, r.size_bytes, r.sha256, r.compression, r.created_at, r.expires_at, r.owner_agent_id);
  }

  async getArtifact(artifactId: string): Promise<ArtifactRecord | undefined> {
    return this.stmt('SELECT * FROM artifacts WHERE artifact_id = ?').get(artifactId) as ArtifactRecord | undefined;
  }

  async listArtifacts(ownerAgentId?: string): Promise<ArtifactRecord[]> {
    if (ownerAgentId !== undefined) {
      return this.stmt('SELECT * FROM artifacts WHERE owner_agent_id = ? ORDER BY created_at').all(ownerAgentId) as unknown as ArtifactRecord[];
    }
    return this.stmt('SELECT * FROM artifacts ORDER BY created_at').all() as unknown as ArtifactRecord[];
  }

  async deleteArtifact(artifactId: string): Promise<boolean> {
    return Number(this.stmt('DELETE FROM artifacts WHERE artifact_id = ?').run(artifactId).changes) > 0;
  }

  async artifactBytes(): Promise<number> {
    return Number((this.stmt('SELECT COALESCE(SUM(size_bytes), 0) AS n FROM artifacts').get() as Row).n);
  }

  async expiredArtifacts(now: number): Promise<string[]> {
    return (this.stmt('SELECT artifact_id FROM artifacts WHERE expires_at > 0 AND expires_at <= ?').all(now) as Row[]).map(
      (r) => r.artifact_id as string,
    );
  }

  async close(): Promise<void> {
    this.stmts.clear();
    if (this.db.isOpen) this.db.close();
  }
}

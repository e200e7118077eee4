/**
 * Numbered schema migrations for the SQLite store. Never edit a released migration: add a
 * new one. `PRAGMA user_version` holds the applied version.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: inactive agents, their queued messages, artifact metadata
  `
  CREATE TABLE inactive_agents (
    agent_id        TEXT PRIMARY KEY,
    agent_class     TEXT NOT NULL,
    state           BLOB NOT NULL,
    policy          TEXT NOT NULL,
    request         TEXT NOT NULL,
    deactivated_at  REAL NOT NULL,
    created_at      REAL NOT NULL,
    activate_at     REAL,
    activate_on_startup INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX inactive_agents_activate_at ON inactive_agents(activate_at) WHERE activate_at IS NOT NULL;

  CREATE TABLE queued_messages (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    message     BLOB NOT NULL,
    queued_at   REAL NOT NULL
  );
  CREATE INDEX queued_messages_agent ON queued_messages(agent_id, seq);

  CREATE TABLE artifacts (
    artifact_id     TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    compression     TEXT,
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL DEFAULT 0,
    owner_agent_id  TEXT
  );
  CREATE INDEX artifacts_owner ON artifacts(owner_agent_id);
  `,
  // 2: registered files of sleeping agents
  `ALTER TABLE inactive_agents ADD COLUMN files TEXT NOT NULL DEFAULT '[]';`,
];

/**
 * Artifacts: files hosted by a host, addressed by `{host_url, artifact_id}`. An
 * {@link ArtifactRef} is plain data, so it travels inside message args and agent state.
 */

/** Where an artifact lives and what it holds. */
export interface ArtifactRef {
  /** Base URL of the host that stores the artifact. */
  host_url: string;
  /** 32 lowercase hex characters. */
  artifact_id: string;
  name: string;
  size_bytes: number;
  /** Lowercase hex sha256 of the stored bytes. */
  sha256: string;
  /** A label only (e.g. `gzip`); the host stores the bytes as sent. */
  compression: string | null;
  /** Seconds since the epoch. */
  created_at: number;
  /** Seconds since the epoch; 0 = never expires. */
  expires_at: number;
  owner_agent_id: string | null;
}

const ARTIFACT_ID = /^[0-9a-f]{32}$/;

/** Artifact ids are 32 lowercase hex characters (never a path). */
export function isValidArtifactId(id: unknown): id is string {
  return typeof id === 'string' && ARTIFACT_ID.test(id);
}

/** Whether a value (e.g. a message arg) looks like an {@link ArtifactRef}. */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<ArtifactRef>;
  return (
    typeof v.host_url === 'string' &&
    isValidArtifactId(v.artifact_id) &&
    typeof v.size_bytes === 'number' &&
    typeof v.sha256 === 'string'
  );
}

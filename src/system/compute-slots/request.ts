/**
 * Request normalization and ownership. A request is normalized once, on receipt: an id is
 * generated when missing, the agent's host URL defaults to this host, `cpu_cores >= 1`, every
 * other number `>= 0`, tags and host names lowercased, de-duplicated and sorted, URLs without
 * trailing slashes.
 */
import type { ComputeSlotRequest, ComputeSlotRequestIn } from './types.ts';

export interface NormalizeOptions {
  /** Fresh unique id for a request that has none. */
  newId: () => string;
  /** This host's URL (default `agent_host_url`). */
  selfUrl: string;
  /** Local clock (default `submitted_at`). */
  now: number;
}

/** Removes trailing slashes and surrounding blanks. */
export function trimUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
}

function nonNegative(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

function count(value: unknown): number {
  return Math.floor(nonNegative(value));
}

function names(values: unknown): string[] {
  if (!Array.isArray(values)) return [];
  const set = new Set<string>();
  for (const v of values) {
    const s = text(v).toLowerCase();
    if (s !== '') set.add(s);
  }
  return [...set].sort();
}

function urls(values: unknown): string[] {
  if (!Array.isArray(values)) return [];
  const set = new Set<string>();
  for (const v of values) {
    const s = trimUrl(text(v));
    if (s !== '') set.add(s);
  }
  return [...set].sort();
}

function properties(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
  }
  return out;
}

/** The normalized form of a request (never throws: bad values fall back to defaults). */
export function normalizeRequest(raw: ComputeSlotRequestIn, opts: NormalizeOptions): ComputeSlotRequest {
  const r = raw as Record<string, unknown>;
  const requestId = text(r.request_id);
  const hostUrl = trimUrl(text(r.agent_host_url));
  const fromUrl = trimUrl(text(r.last_redirect_from_host_url));
  const lastRedirect = nonNegative(r.last_redirect_at);
  const submitted = nonNegative(r.submitted_at);
  const sample = r.placement_sample_size;
  const cores = Math.floor(nonNegative(r.cpu_cores));
  return {
    request_id: requestId !== '' ? requestId : opts.newId(),
    agent_id: text(r.agent_id),
    agent_host_url: hostUrl !== '' ? hostUrl : trimUrl(opts.selfUrl),
    job_id: text(r.job_id),
    agent_class: text(r.agent_class) || null,
    cpu_cores: Math.max(1, cores),
    memory_bytes: Math.floor(nonNegative(r.memory_bytes)),
    temp_storage_bytes: Math.floor(nonNegative(r.temp_storage_bytes)),
    estimated_runtime_seconds: nonNegative(r.estimated_runtime_seconds),
    requires_gpu: r.requires_gpu === true,
    gpu_memory_mb: nonNegative(r.gpu_memory_mb),
    required_host_tags: names(r.required_host_tags),
    excluded_host_tags: names(r.excluded_host_tags),
    preferred_host_tags: names(r.preferred_host_tags),
    excluded_host_names: names(r.excluded_host_names),
    excluded_host_urls: urls(r.excluded_host_urls),
    platform_properties: properties(r.platform_properties),
    submitted_at: submitted > 0 ? submitted : opts.now,
    redirect_count: count(r.redirect_count),
    last_redirect_at: lastRedirect > 0 ? lastRedirect : null,
    last_redirect_from_host_url: fromUrl !== '' ? fromUrl : null,
    placement_sample_size: sample === null || sample === undefined || text(sample) === '' ? null : count(sample),
  };
}

/** Whether `req` was redirected at least once (its cooldown then counts from local arrival). */
export function wasRedirected(req: ComputeSlotRequest): boolean {
  return req.redirect_count > 0 || req.last_redirect_at !== null;
}

/**
 * Same owner: the same non-empty agent id, request id or job id. A job re-requesting (after a
 * wakeup or a restart) is recognized by any of them.
 */
export function sameOwner(a: ComputeSlotRequest, b: ComputeSlotRequest): boolean {
  return (
    (a.agent_id !== '' && a.agent_id === b.agent_id) ||
    (a.request_id !== '' && a.request_id === b.request_id) ||
    (a.job_id !== '' && a.job_id === b.job_id)
  );
}

/** Owner keys of a request, for set lookups (`a:`, `r:`, `j:` prefixes keep kinds apart). */
export function ownerKeys(req: ComputeSlotRequest): string[] {
  const keys: string[] = [];
  if (req.agent_id !== '') keys.push(`a:${req.agent_id}`);
  if (req.request_id !== '') keys.push(`r:${req.request_id}`);
  if (req.job_id !== '') keys.push(`j:${req.job_id}`);
  return keys;
}

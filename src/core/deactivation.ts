/**
 * Deactivation: an agent sleeps on disk (state in the host's store, no process) and wakes on
 * a message, at a time, or when its host starts. The policy decides which.
 */
import { ValidationError } from './errors.ts';

export interface DeactivationPolicy {
  /** A message to the sleeping agent wakes it and is then delivered. @default true */
  activate_on_message: boolean;
  /** Messages that may not wake it are stored and delivered in order after activation. @default true */
  queue_messages_when_inactive: boolean;
  /** The host wakes it when it starts. @default false */
  activate_on_startup: boolean;
  /** Wake at this time (seconds since epoch), or never. @default null */
  activate_at: number | null;
}

export const DEFAULT_POLICY: DeactivationPolicy = {
  activate_on_message: true,
  queue_messages_when_inactive: true,
  activate_on_startup: false,
  activate_at: null,
};

/** A policy that wakes the agent `seconds` from now (plus any other fields given). */
export function after(seconds: number, rest: Partial<DeactivationPolicy> = {}): DeactivationPolicy {
  if (!(seconds >= 0)) throw new ValidationError('after(seconds) needs seconds >= 0');
  return { ...DEFAULT_POLICY, ...rest, activate_at: Date.now() / 1000 + seconds };
}

/** Why an agent is deactivated, and with which policy the caller would like. */
export interface DeactivationRequest {
  /** e.g. `deactivate`, `shutdown`, `idle`, `dispatch-arrival`. */
  reason: string;
  /** Who asked: `external` (API), `self` (the agent), `host`. */
  source: string;
  policy: Partial<DeactivationPolicy> | null;
  metadata: Record<string, unknown>;
}

export function normalizePolicy(p: Partial<DeactivationPolicy> | null | undefined): DeactivationPolicy {
  const policy = { ...DEFAULT_POLICY, ...(p ?? {}) };
  for (const key of ['activate_on_message', 'queue_messages_when_inactive', 'activate_on_startup'] as const) {
    if (typeof policy[key] !== 'boolean') throw new ValidationError(`policy.${key} must be a boolean`);
  }
  if (policy.activate_at !== null && !(typeof policy.activate_at === 'number' && Number.isFinite(policy.activate_at))) {
    throw new ValidationError('policy.activate_at must be seconds since epoch or null');
  }
  return policy;
}

export function normalizeRequest(r: Partial<DeactivationRequest> | null | undefined, source = 'external'): DeactivationRequest {
  return {
    reason: r?.reason ?? 'deactivate',
    source: r?.source ?? source,
    policy: r?.policy ?? null,
    metadata: r?.metadata ?? {},
  };
}

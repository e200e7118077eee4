/**
 * One registry of taglets errors. Each class has a stable `errorType` (sent on the wire as
 * `error_type`), an HTTP `status`, and whether retrying the same call may succeed. Across
 * process and host boundaries errors travel as plain `{error_type, error}` objects and are
 * rebuilt by name with {@link errorFromWire}; `instanceof` never crosses a boundary.
 */
export interface WireError {
  error_type: string;
  error: string;
  details?: unknown;
}

export class TagletsError extends Error {
  /** Stable name sent as `error_type`. */
  readonly errorType: string = 'TagletsError';
  /** HTTP status used when this error ends a request. */
  readonly status: number = 400;
  /** Whether the same call may succeed later without a change by the caller. */
  readonly retryable: boolean = false;
  details?: unknown;

  constructor(message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.errorType = new.target.name;
    if (details !== undefined) this.details = details;
  }

  toWire(): WireError {
    const wire: WireError = { error_type: this.errorType, error: this.message };
    if (this.details !== undefined) wire.details = this.details;
    return wire;
  }
}

/** A host-level failure that has no more specific class. */
export class HostError extends TagletsError {}
/** The agent id is not known on this host. */
export class AgentNotFoundError extends TagletsError {
  override readonly status = 404;
}
/** The request addresses a route or resource that does not exist. */
export class RouteNotFoundError extends TagletsError {
  override readonly status = 404;
}
/** The agent's `handleMessage` does not handle this message kind. */
export class NotHandledError extends TagletsError {
  override readonly status = 422;
}
/** A request body or parameter failed schema validation. */
export class ValidationError extends TagletsError {
  override readonly status = 422;
}
/** The request could not be parsed (malformed JSON, wrong content type). */
export class BadRequestError extends TagletsError {
  override readonly status = 400;
}
/** The request body is not in a content type the route accepts. */
export class UnsupportedMediaTypeError extends TagletsError {
  override readonly status = 415;
}
/** The request body exceeds the host's limit. */
export class PayloadTooLargeError extends TagletsError {
  override readonly status = 413;
}
/** Missing or wrong bearer key. */
export class AuthenticationError extends TagletsError {
  override readonly status = 401;
}
/** The caller is authenticated but may not do this. */
export class ForbiddenError extends TagletsError {
  override readonly status = 403;
}
/** The resource already exists (e.g. an `agent_id` in use). */
export class ConflictError extends TagletsError {
  override readonly status = 409;
}
/** An agent class reference could not be imported or does not name an Agent subclass. */
export class ClassNotFoundError extends TagletsError {}
/** A value cannot be encoded by the wire codec. */
export class SerializationError extends TagletsError {}
/** The agent's process exited while it was active. */
export class AgentCrashedError extends TagletsError {}
/** The agent's message handler threw; the agent lives on. */
export class HandlerError extends TagletsError {}
/** A lifecycle hook (onCreation, onDisposing, …) failed. */
export class LifecycleError extends TagletsError {}
/** A registered resource failed to clean up before the agent left; the operation was cancelled. */
export class ResourceCleanupError extends LifecycleError {}
/** A service call's request or reply does not match the contract; the message names the field. */
export class ServiceContractError extends TagletsError {
  override readonly status = 422;
}
/** No service record matches the name (and contract version) asked for. */
export class ServiceNotFoundError extends TagletsError {
  override readonly status = 404;
}
/** The agent is inactive and the message may not wake it. */
export class AgentInactiveError extends TagletsError {}
/** Moving an agent failed; the agent stays where it was. */
export class TransferError extends TagletsError {
  override readonly retryable = true;
}
/** A remote host could not be reached or answered with an unexpected failure. */
export class RemoteHostError extends TagletsError {
  override readonly status = 502;
  override readonly retryable = true;
}
/** A call did not finish in time. */
export class TimeoutError extends TagletsError {
  override readonly status = 504;
  override readonly retryable = true;
}
/** The host is shutting down and accepts no new work. */
export class HostShuttingDownError extends TagletsError {
  override readonly status = 503;
  override readonly retryable = true;
}
/** No artifact with that id on this host (never uploaded, deleted, expired, or a malformed id). */
export class ArtifactNotFoundError extends TagletsError {
  override readonly status = 404;
}
/** An artifact's bytes do not match the declared or advertised size or sha256; nothing was kept. */
export class ArtifactChecksumError extends TagletsError {
  override readonly status = 422;
}
/** Storing the artifact would exceed the host's artifact storage quota; nothing was kept. */
export class StorageQuotaError extends TagletsError {
  override readonly status = 507;
}
/** Anything unexpected; a bug in taglets or in the agent. */
export class InternalError extends TagletsError {
  override readonly status = 500;
}

type ErrorClass = new (message: string, details?: unknown) => TagletsError;

const registry: Record<string, ErrorClass> = {
  TagletsError,
  HostError,
  AgentNotFoundError,
  RouteNotFoundError,
  NotHandledError,
  ValidationError,
  BadRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  AuthenticationError,
  ForbiddenError,
  ConflictError,
  ClassNotFoundError,
  SerializationError,
  AgentCrashedError,
  HandlerError,
  LifecycleError,
  ResourceCleanupError,
  ServiceContractError,
  ServiceNotFoundError,
  AgentInactiveError,
  TransferError,
  RemoteHostError,
  TimeoutError,
  HostShuttingDownError,
  ArtifactNotFoundError,
  ArtifactChecksumError,
  StorageQuotaError,
  InternalError,
};

/** Every error type taglets sends, for docs and tests. */
export const errorTypes: readonly string[] = Object.keys(registry);

/** Rebuilds an error from its wire form; unknown types become a {@link HandlerError}-like TagletsError keeping the name. */
export function errorFromWire(wire: WireError, status?: number): TagletsError {
  const Cls = registry[wire.error_type];
  if (Cls) return new Cls(wire.error, wire.details);
  const err = new TagletsError(wire.error, wire.details);
  Object.defineProperty(err, 'errorType', { value: wire.error_type });
  if (status !== undefined) Object.defineProperty(err, 'status', { value: status });
  return err;
}

/** Turns anything thrown into a wire error; non-taglets errors keep their constructor name. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof TagletsError) return err.toWire();
  if (err instanceof Error) return { error_type: err.name || 'Error', error: err.message };
  return { error_type: 'Error', error: String(err) };
}

export function isWireError(value: unknown): value is WireError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as WireError).error_type === 'string' &&
    typeof (value as WireError).error === 'string'
  );
}

/**
 * Transfer tickets: where an agent goes and under which conditions. Checks that can fail
 * (capabilities, code version) run before anything changes on either side.
 */
import { ValidationError } from './errors.ts';

export type ArrivalMode = 'activate' | 'inactive';

export interface TransferTicket {
  /** Mesh host name or URL. */
  destination: string;
  /** Seconds per attempt. @default 10 */
  timeout: number;
  /** Extra attempts after the first failure. @default 0 */
  retries: number;
  /** Seconds between attempts. @default 0.25 */
  retry_interval: number;
  /** Each must be among the target's API capabilities (`agents:dispatch`) or host tags (`gpu`). */
  required_capabilities: string[];
  /** The target's code (mesh) version must equal this when set. */
  expected_code_version: string | null;
  /** `inactive` stores the agent asleep on the target instead of starting it. */
  arrival_mode: ArrivalMode;
}

export type TicketInit = Partial<TransferTicket> & { destination: string };

export const TICKET_DEFAULTS = {
  timeout: 10,
  retries: 0,
  retry_interval: 0.25,
  required_capabilities: [] as string[],
  expected_code_version: null,
  arrival_mode: 'activate' as ArrivalMode,
};

/** Fills defaults and checks ranges; a bad ticket fails with ValidationError naming the field. */
export function normalizeTicket(init: TicketInit | string): TransferTicket {
  const t = typeof init === 'string' ? { destination: init } : init;
  if (typeof t.destination !== 'string' || t.destination.trim() === '') {
    throw new ValidationError('ticket.destination must be a host name or URL');
  }
  const ticket: TransferTicket = { ...TICKET_DEFAULTS, ...t, destination: t.destination.trim() };
  if (!(ticket.timeout > 0)) throw new ValidationError('ticket.timeout must be > 0 seconds');
  if (!Number.isInteger(ticket.retries) || ticket.retries < 0 || ticket.retries > 100) {
    throw new ValidationError('ticket.retries must be an integer 0..100');
  }
  if (!(ticket.retry_interval >= 0)) throw new ValidationError('ticket.retry_interval must be >= 0 seconds');
  if (ticket.arrival_mode !== 'activate' && ticket.arrival_mode !== 'inactive') {
    throw new ValidationError("ticket.arrival_mode must be 'activate' or 'inactive'");
  }
  ticket.required_capabilities = [...new Set(ticket.required_capabilities.map((c) => c.toLowerCase()))];
  return ticket;
}

/** What a target host offers, as read from its `/health`. */
export interface TargetProfile {
  name: string;
  code_version: string;
  capabilities: Record<string, readonly string[]>;
  tags: string[];
}

/** Flattens `{agents: ['create']}` to `['agents:create']`. */
export function flattenCapabilities(capabilities: Record<string, readonly string[]>): string[] {
  return Object.entries(capabilities).flatMap(([group, names]) => names.map((n) => `${group}:${n}`.toLowerCase()));
}

/** The reasons a target does not satisfy a ticket (empty when it does). */
export function ticketMismatches(ticket: TransferTicket, target: TargetProfile): string[] {
  const problems: string[] = [];
  const offered = new Set([...flattenCapabilities(target.capabilities), ...target.tags.map((t) => t.toLowerCase())]);
  const missing = ticket.required_capabilities.filter((c) => !offered.has(c));
  if (missing.length) problems.push(`host '${target.name}' lacks required capabilities: ${missing.join(', ')}`);
  if (ticket.expected_code_version !== null && ticket.expected_code_version !== target.code_version) {
    problems.push(
      `host '${target.name}' runs code version '${target.code_version}', ticket expects '${ticket.expected_code_version}'`,
    );
  }
  return problems;
}

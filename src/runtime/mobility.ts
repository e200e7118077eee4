/**
 * Moving agents between hosts: the preflight (target up, ticket satisfied) and the transfer
 * with the ticket's timeout and retries. The host orchestrates hooks and its agent table;
 * this module only talks to the target, so every failure happens before the source changes.
 */
import { TransferError, TagletsError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import type { AgentRef } from '../core/message.ts';
import { ticketMismatches, type TargetProfile, type TransferTicket } from '../core/ticket.ts';

/** What the host needs from `remote/` to move agents. */
export interface TransferTransport {
  profile(url: string, timeoutMs: number): Promise<TargetProfile>;
  transfer(url: string, envelope: Envelope, timeoutMs: number): Promise<AgentRef>;
  /** Whether the agent is on that host (to settle a transfer whose answer was lost). */
  exists(url: string, agentId: string, timeoutMs: number): Promise<boolean>;
}

export interface TransferFailure {
  stage: 'preflight' | 'ticket' | 'transfer';
  attempt: number;
  attempts: number;
  error: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Checks the target is reachable and satisfies the ticket. */
export async function preflight(
  transport: TransferTransport,
  url: string,
  ticket: TransferTicket,
  onFailure: (f: TransferFailure) => void,
): Promise<TargetProfile> {
  let profile: TargetProfile;
  try {
    profile = await transport.profile(url, ticket.timeout * 1000);
  } catch (err) {
    const error = `target ${url} is not reachable: ${(err as Error).message}`;
    onFailure({ stage: 'preflight', attempt: 1, attempts: 1, error });
    throw new TransferError(error);
  }
  const problems = ticketMismatches(ticket, profile);
  if (problems.length) {
    const error = problems.join('; ');
    onFailure({ stage: 'ticket', attempt: 1, attempts: 1, error });
    throw new TransferError(error);
  }
  return profile;
}

/** Posts the envelope, retrying per the ticket. Refusals by the target (4xx) are not retried. */
export async function transferWithRetries(
  transport: TransferTransport,
  url: string,
  envelope: Envelope,
  ticket: TransferTicket,
  onFailure: (f: TransferFailure) => void,
): Promise<AgentRef> {
  const attempts = ticket.retries + 1;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await transport.transfer(url, envelope, ticket.timeout * 1000);
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
      // A lost answer may hide a successful arrival: ask before trying again, so the
      // agent never ends up on both hosts.
      if (err instanceof TagletsError && err.retryable) {
        const arrived = await transport.exists(url, envelope.agent_id, ticket.timeout * 1000).catch(() => false);
        if (arrived) return { host_url: url, agent_id: envelope.agent_id };
      }
      onFailure({ stage: 'transfer', attempt, attempts, error: last });
      // The target looked at the agent and said no (class missing, hook threw, id taken):
      // trying again would give the same answer.
      if (err instanceof TagletsError && !err.retryable && err.status < 500) {
        throw new TransferError(`target ${url} refused agent '${envelope.agent_id}': ${err.errorType}: ${last}`);
      }
      if (attempt < attempts) await sleep(ticket.retry_interval * 1000);
    }
  }
  throw new TransferError(`transfer of agent '${envelope.agent_id}' to ${url} failed after ${attempts} attempt(s): ${last}`);
}

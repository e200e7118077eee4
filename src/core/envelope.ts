/**
 * Transfer envelopes: an agent in transit. On the wire an envelope is one binary body:
 *
 *   "TGLE" | u32 BE header length | JSON header (everything but the state) | v8-serialized state
 *
 * The state uses v8 serialization (the format agents' processes already use over IPC):
 * Buffers travel as raw bytes (a 64 MiB state is 64 MiB on the wire, not 85 MiB of base64),
 * Maps, Sets and Dates survive, and decoding cannot run code (unlike pickle). Hosts of one
 * mesh run the same Node major (the mesh version gate), so the format is shared.
 */
import { deserialize, serialize } from 'node:v8';
import { ValidationError } from './errors.ts';
import type { TransferTicket } from './ticket.ts';

export type EnvelopeKind = 'dispatch' | 'clone' | 'retract' | 'activation';

export interface EnvelopeHeader {
  kind: EnvelopeKind;
  agent_id: string;
  agent_class: string;
  source_host_name: string;
  source_host_address: string;
  target_host_name: string | null;
  target_host_address: string;
  clone_of: string | null;
  created_at: number;
  metadata: {
    transfer_ticket: TransferTicket | null;
    registered_files?: unknown[];
    [key: string]: unknown;
  };
}

export interface Envelope extends EnvelopeHeader {
  state: unknown;
}

const MAGIC = Buffer.from('TGLE');
export const ENVELOPE_CONTENT_TYPE = 'application/x-taglets-envelope';

/** Encodes an envelope as a list of chunks (no concatenation of the large state). */
export function encodeEnvelope(envelope: Envelope): Buffer[] {
  const { state, ...header } = envelope;
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return [MAGIC, len, json, serialize(state)];
}

const KINDS = new Set<EnvelopeKind>(['dispatch', 'clone', 'retract', 'activation']);

export function decodeEnvelope(body: Buffer): Envelope {
  if (body.length < 8 || !body.subarray(0, 4).equals(MAGIC)) {
    throw new ValidationError('not a taglets envelope (bad magic)');
  }
  const len = body.readUInt32BE(4);
  if (8 + len > body.length) throw new ValidationError('truncated taglets envelope');
  let header: EnvelopeHeader;
  try {
    header = JSON.parse(body.subarray(8, 8 + len).toString('utf8')) as EnvelopeHeader;
  } catch {
    throw new ValidationError('taglets envelope header is not JSON');
  }
  if (!KINDS.has(header.kind) || typeof header.agent_id !== 'string' || typeof header.agent_class !== 'string') {
    throw new ValidationError('taglets envelope header lacks kind, agent_id or agent_class');
  }
  let state: unknown;
  try {
    state = deserialize(body.subarray(8 + len));
  } catch (err) {
    throw new ValidationError(`taglets envelope state cannot be decoded: ${(err as Error).message}`);
  }
  return { ...header, state };
}

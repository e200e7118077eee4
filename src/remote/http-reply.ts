/** Writing JSON answers with the wire codec (binary values tagged), and errors with their headers. */
import type { FastifyReply } from 'fastify';
import { toWire } from '../core/codec.ts';
import type { WireError } from '../core/errors.ts';

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(toWire(body) ?? null));
}

export function sendError(reply: FastifyReply, status: number, wire: WireError): FastifyReply {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="taglets"');
  return sendJson(reply, status, wire);
}

/** `1`, `true`, `yes` in query strings. */
export const truthy = (v: string | undefined): boolean => v === '1' || v === 'true' || v === 'yes';

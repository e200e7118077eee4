/**
 * Movement routes: `POST /agents/{id}/dispatch|clone|retract` with `{target}` or `{ticket}`,
 * and `POST /transfers`, where agents arrive as one binary envelope (see core/envelope.ts).
 */
import type { FastifyInstance } from 'fastify';
import { decodeEnvelope, ENVELOPE_CONTENT_TYPE } from '../../core/envelope.ts';
import { ValidationError } from '../../core/errors.ts';
import type { TicketInit } from '../../core/ticket.ts';
import type { Host } from '../../runtime/host.ts';
import { sendJson } from '../http-reply.ts';
import { AgentIdParams, MoveBody } from '../schemas.ts';

export interface MobilityRouteOptions {
  /** Largest agent envelope accepted. @default 1 GiB */
  maxTransferBytes?: number;
}

function targetOf(body: MoveBody, required: boolean): TicketInit | string | null {
  if (body.ticket && body.target) throw new ValidationError('give either target or ticket, not both');
  if (body.ticket) return body.ticket as TicketInit;
  if (body.target) return body.target;
  if (required) throw new ValidationError('body needs target (host name or URL) or ticket');
  return null;
}

export async function mobilityRoutes(app: FastifyInstance, host: Host, options: MobilityRouteOptions = {}): Promise<void> {
  app.addContentTypeParser(
    ENVELOPE_CONTENT_TYPE,
    { parseAs: 'buffer', bodyLimit: options.maxTransferBytes ?? 1024 ** 3 },
    (_req, body, done) => done(null, body),
  );

  app.post(
    '/transfers',
    { schema: { summary: `Receive an agent (body: ${ENVELOPE_CONTENT_TYPE})`, consumes: [ENVELOPE_CONTENT_TYPE] } },
    async (request, reply) => {
      if (!Buffer.isBuffer(request.body)) throw new ValidationError(`send the envelope as ${ENVELOPE_CONTENT_TYPE}`);
      const proxy = await host.arrive(decodeEnvelope(request.body));
      return sendJson(reply, 200, { proxy });
    },
  );

  app.post<{ Params: AgentIdParams; Body: MoveBody }>(
    '/agents/:id/dispatch',
    { schema: { summary: 'Move an agent to another host', params: AgentIdParams, body: MoveBody } },
    async (request, reply) => {
      const proxy = await host.dispatch(request.params.id, targetOf(request.body, true)!);
      return sendJson(reply, 200, { proxy });
    },
  );

  app.post<{ Params: AgentIdParams; Body: MoveBody }>(
    '/agents/:id/clone',
    { schema: { summary: 'Copy an agent (to another host, or this one)', params: AgentIdParams, body: MoveBody } },
    async (request, reply) => {
      const proxy = await host.clone(request.params.id, targetOf(request.body, false));
      return sendJson(reply, 200, { proxy });
    },
  );

  app.post<{ Params: AgentIdParams; Body: MoveBody }>(
    '/agents/:id/retract',
    { schema: { summary: 'Send an agent back to its requester (target)', params: AgentIdParams, body: MoveBody } },
    async (request, reply) => {
      const proxy = await host.dispatch(request.params.id, targetOf(request.body, true)!, 'retract');
      return sendJson(reply, 200, { proxy });
    },
  );
}

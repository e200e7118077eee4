/** `GET /events?since&limit`: the host's recent events. */
import type { FastifyInstance } from 'fastify';
import type { Host } from '../../runtime/host.ts';
import { sendJson } from '../http-reply.ts';
import { EventsQuery } from '../schemas.ts';

export async function eventRoutes(app: FastifyInstance, host: Host): Promise<void> {
  app.get<{ Querystring: EventsQuery }>(
    '/events',
    { schema: { summary: 'Recent host events with event_id > since', querystring: EventsQuery } },
    async (request, reply) => {
      const since = Number(request.query.since ?? 0);
      const limit = Math.min(1000, Number(request.query.limit ?? 100));
      return sendJson(reply, 200, { events: host.events.list(since, limit) });
    },
  );
}

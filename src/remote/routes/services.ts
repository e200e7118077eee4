/** Service routes: lookup, advertise/unadvertise for an agent, and leases. */
import type { FastifyInstance } from 'fastify';
import type { Host } from '../../runtime/host.ts';
import { sendJson, truthy } from '../http-reply.ts';
import { AdvertiseBody, AgentIdParams, LeaseBody, LeaseParams, ServicesQuery, UnadvertiseBody } from '../schemas.ts';

export async function serviceRoutes(app: FastifyInstance, host: Host): Promise<void> {
  app.get<{ Querystring: ServicesQuery }>(
    '/services',
    { schema: { summary: "Service records (scope=mesh: only mesh-scoped; mesh=1: also every online peer's)", querystring: ServicesQuery } },
    async (request, reply) => {
      const q = request.query;
      const services = await host.lookupServices({
        ...(q.name !== undefined ? { name: q.name } : {}),
        ...(q.capability !== undefined ? { capability: q.capability } : {}),
        ...(q.scope !== undefined ? { scope: q.scope } : {}),
        mesh: truthy(q.mesh),
      });
      return sendJson(reply, 200, { services });
    },
  );

  app.post<{ Params: AgentIdParams; Body: AdvertiseBody }>(
    '/agents/:id/services',
    { schema: { summary: 'Advertise a service offered by an active agent', params: AgentIdParams, body: AdvertiseBody } },
    async (request, reply) => sendJson(reply, 200, { service: host.advertise(request.params.id, request.body) }),
  );

  app.post<{ Params: AgentIdParams; Body: UnadvertiseBody }>(
    '/agents/:id/unadvertise-service',
    { schema: { summary: "Withdraw an agent's service records", params: AgentIdParams, body: UnadvertiseBody } },
    async (request, reply) => sendJson(reply, 200, { services: host.unadvertise(request.params.id, request.body.name) }),
  );

  app.post<{ Body: LeaseBody }>(
    '/services/leases',
    { schema: { summary: 'Lease a resident service: keeps it active until released or expired', body: LeaseBody } },
    async (request, reply) => {
      const lease = await host.leases.acquire(request.body.agent_id, request.body.service_name, request.body.ttl ?? 60);
      return sendJson(reply, 200, lease);
    },
  );

  app.post<{ Params: LeaseParams }>(
    '/services/leases/:lease_id/release',
    { schema: { summary: 'Release a lease', params: LeaseParams } },
    async (request, reply) => sendJson(reply, 200, { released: host.leases.release(request.params.lease_id) }),
  );
}

/**
 * Mesh membership: `GET /hosts` (every known host, self included) and `POST /hosts/join`
 * (register the caller, answer with this host and the online hosts it knows).
 */
import type { FastifyInstance } from 'fastify';
import { ConflictError } from '../../core/errors.ts';
import type { HostRef } from '../../runtime/directory.ts';
import type { Host } from '../../runtime/host.ts';
import { sendJson } from '../http-reply.ts';
import { Mesh } from '../mesh.ts';
import { HostRefSchema, type HostRefBody } from '../schemas.ts';

export async function meshRoutes(app: FastifyInstance, host: Host): Promise<void> {
  app.get(
    '/hosts',
    { schema: { summary: 'Every host this host knows (itself included, offline ones too), sorted by name, url' } },
    async (_req, reply) =>
      sendJson(reply, 200, {
        hosts: host.directory.availableHosts({ onlineOnly: false, includeSelf: true }),
        self_url: host.url,
        // This host's clock, so clients can tell ages without trusting their own clock.
        now: Date.now() / 1000,
      }),
  );

  app.post<{ Body: HostRefBody }>(
    '/hosts/join',
    {
      schema: {
        summary: 'Join the mesh: registers the calling host; 409 if its mesh version differs or this host has no mesh',
        body: HostRefSchema,
      },
    },
    async (request, reply) => {
      const directory = host.directory;
      if (!(directory instanceof Mesh)) {
        throw new ConflictError(`host '${host.name}' runs without a mesh (--no-mesh); it does not take part in gossip`);
      }
      return sendJson(reply, 200, directory.join(request.body as HostRef));
    },
  );
}

/** `GET /health`: identity, counts, capabilities and the runner pool. */
import type { FastifyInstance } from 'fastify';
import type { Host } from '../../runtime/host.ts';
import { VERSION } from '../../version.ts';
import { sendJson } from '../http-reply.ts';

/** Capabilities this host's API offers (grows with each feature). */
export const CAPABILITIES = {
  agents: ['list', 'state', 'create', 'message', 'dispose', 'dispatch', 'clone', 'retract', 'activate', 'deactivate'],
  transfer: ['tickets', 'binary-envelope'],
  events: ['list'],
  hosts: ['list', 'join'],
  messages: ['mailbox', 'priority', 'oneway', 'future'],
  services: ['list', 'mesh', 'advertise', 'leases', 'contracts'],
  artifacts: ['upload', 'download', 'list', 'delete'],
} as const;

export async function healthRoutes(app: FastifyInstance, host: Host): Promise<void> {
  app.get('/health', { schema: { summary: 'Host identity, counts and runner pool' } }, async (_req, reply) =>
    sendJson(reply, 200, {
      name: host.name,
      address: host.url,
      version: VERSION,
      mesh_version: host.meshVersion,
      code_version: host.meshVersion,
      mesh: host.meshEnabled,
      uptime_s: (Date.now() - host.startedAt) / 1000,
      active_count: host.activeCount(),
      inactive_count: host.inactiveCount(),
      capabilities: CAPABILITIES,
      tags: host.tags,
      properties: host.properties,
      runner_pool: host.runnerStatus(),
      pid: process.pid,
    }),
  );
}

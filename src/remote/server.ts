/**
 * The host's HTTP API (fastify). `buildServer(host)` returns an instance that is not yet
 * listening, so tests can use `inject()` and the composition root decides where to listen.
 * Every body is validated against its TypeBox schema before it reaches the runtime; every
 * error leaves as `{error_type, error}` with the status of its class.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { fromWire, toWire } from '../core/codec.ts';
import {
  AuthenticationError,
  BadRequestError,
  InternalError,
  PayloadTooLargeError,
  RouteNotFoundError,
  TagletsError,
  UnsupportedMediaTypeError,
  ValidationError,
  type WireError,
} from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { MessageInit } from '../core/message.ts';
import type { Host } from '../runtime/host.ts';
import { VERSION } from '../version.ts';
import { bearerChecker } from './auth.ts';
import {
  AgentIdParams,
  CreateAgentBody,
  EventsQuery,
  ListAgentsQuery,
  SendMessageBody,
} from './schemas.ts';

export interface ServerOptions {
  /** Bearer key every request must carry; no auth when unset. */
  apiKey?: string;
  /** Largest request body in bytes. @default 64 MiB */
  bodyLimit?: number;
}

export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

/** Capabilities this host's API offers (grows with each feature). */
export const CAPABILITIES = {
  agents: ['list', 'state', 'create', 'message', 'dispose'],
  events: ['list'],
  messages: ['mailbox', 'priority', 'oneway', 'future'],
} as const;

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(toWire(body) ?? null));
}

function sendError(reply: FastifyReply, status: number, wire: WireError): FastifyReply {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="taglets"');
  return sendJson(reply, status, wire);
}

/** Maps anything thrown in a route (or by fastify itself) to a status and wire error. */
export function mapError(err: unknown): { status: number; wire: WireError } {
  if (err instanceof TagletsError) return { status: err.status, wire: err.toWire() };
  const fe = err as FastifyError & { validationContext?: string };
  if (fe.validation) {
    return { status: 422, wire: new ValidationError(`invalid request: ${fe.message}`).toWire() };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, wire: new PayloadTooLargeError(`request body too large: ${fe.message}`).toWire() };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        wire: new UnsupportedMediaTypeError(`${fe.message}; send JSON with Content-Type: application/json`).toWire(),
      };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, wire: new BadRequestError(`bad request: ${fe.message}`).toWire() };
  }
  return { status: 500, wire: new InternalError(`unexpected error: ${fe.message ?? String(err)}`).toWire() };
}

const truthy = (v: string | undefined): boolean => v === '1' || v === 'true' || v === 'yes';

export async function buildServer(host: Host, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Strict validation: wrong types are errors, not silently coerced or stripped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    keepAliveTimeout: 75_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  const defaultJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    // An empty JSON body means "no options" (e.g. POST /agents/{id}/dispose).
    if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, {});
    defaultJson(req, body as string, done);
  });

  if (options.apiKey) {
    const check = bearerChecker(options.apiKey);
    app.addHook('onRequest', async (request, reply) => {
      if (!check(request.headers.authorization)) {
        return sendError(
          reply,
          401,
          new AuthenticationError(
            'missing or wrong bearer key: send Authorization: Bearer <key> (clients read TAGLETS_API_KEY or --api-key-env NAME)',
          ).toWire(),
        );
      }
    });
  }

  app.setErrorHandler((err, _request, reply) => {
    const { status, wire } = mapError(err);
    return sendError(reply, status, wire);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, new RouteNotFoundError(`No route for ${request.method} ${request.url.split('?')[0]}`).toWire()),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'taglets host API', version: VERSION },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: options.apiKey ? [{ bearer: [] }] : [],
    },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) => sendJson(reply, 200, app.swagger()));

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
      inactive_count: 0,
      capabilities: CAPABILITIES,
      tags: host.tags,
      properties: host.properties,
      runner_pool: host.runnerStatus(),
      pid: process.pid,
    }),
  );

  app.get<{ Querystring: ListAgentsQuery }>(
    '/agents',
    { schema: { summary: 'List agents', querystring: ListAgentsQuery } },
    async (request, reply) => {
      const which = request.query.state ?? 'all';
      let agents: object[] = which === 'inactive' ? [] : host.listAgents();
      if (truthy(request.query.include_state)) {
        agents = await Promise.all(
          agents.map((a) =>
            host.getState((a as { agent_id: string }).agent_id).catch((err: unknown) => ({
              ...a,
              state_error: err instanceof Error ? err.message : String(err),
            })),
          ),
        );
      }
      return sendJson(reply, 200, { agents });
    },
  );

  app.post<{ Body: CreateAgentBody }>(
    '/agents',
    { schema: { summary: 'Create an agent; returns after onCreation', body: CreateAgentBody } },
    async (request, reply) => {
      const body = request.body;
      const proxy = await host.createAgent({
        agent_class: body.agent_class,
        state: fromWire(body.state),
        init: fromWire(body.init),
        ...(body.agent_id !== undefined ? { agent_id: body.agent_id } : {}),
        ...(body.runner !== undefined ? { runner: body.runner } : {}),
      });
      return sendJson(reply, 200, { proxy });
    },
  );

  app.get<{ Params: AgentIdParams }>(
    '/agents/:id',
    { schema: { summary: 'Agent summary', params: AgentIdParams } },
    async (request, reply) => sendJson(reply, 200, host.getAgent(request.params.id)),
  );

  app.get<{ Params: AgentIdParams }>(
    '/agents/:id/state',
    { schema: { summary: 'Agent summary with its live state', params: AgentIdParams } },
    async (request, reply) => sendJson(reply, 200, await host.getState(request.params.id)),
  );

  app.post<{ Params: AgentIdParams; Body: SendMessageBody }>(
    '/agents/:id/messages',
    { schema: { summary: 'Send a message (sync, future or oneway)', params: AgentIdParams, body: SendMessageBody } },
    async (request, reply) => {
      const { message, oneway } = request.body;
      const init = fromWire(message) as MessageInit;
      init.message_id ??= newId();
      const isOneway = oneway === true || init.message_type === 'oneway' || init.message_type === 2;
      const result = await host.sendMessage(request.params.id, init, isOneway);
      return sendJson(reply, 200, isOneway ? { result: null, message_id: init.message_id } : { result });
    },
  );

  app.post<{ Params: AgentIdParams }>(
    '/agents/:id/dispose',
    { schema: { summary: 'Dispose an agent (runs onDisposing)', params: AgentIdParams } },
    async (request, reply) => {
      await host.dispose(request.params.id);
      return sendJson(reply, 200, { ok: true });
    },
  );

  app.get<{ Querystring: EventsQuery }>(
    '/events',
    { schema: { summary: 'Recent host events with event_id > since', querystring: EventsQuery } },
    async (request, reply) => {
      const since = Number(request.query.since ?? 0);
      const limit = Math.min(1000, Number(request.query.limit ?? 100));
      return sendJson(reply, 200, { events: host.events.list(since, limit) });
    },
  );

  return app;
}

/**
 * The host's HTTP API (fastify). `buildServer(host)` returns an instance that is not yet
 * listening, so tests can use `inject()` and the composition root decides where to listen.
 * Every body is validated against its TypeBox schema before it reaches the runtime; every
 * error leaves as `{error_type, error}` with the status of its class.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
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
import type { Host } from '../runtime/host.ts';
import { VERSION } from '../version.ts';
import { bearerChecker } from './auth.ts';
import { sendError, sendJson } from './http-reply.ts';
import { agentRoutes } from './routes/agents.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { meshRoutes } from './routes/mesh.ts';
import { mobilityRoutes } from './routes/mobility.ts';
import { serviceRoutes } from './routes/services.ts';

export interface ServerOptions {
  /** Bearer key every request must carry; no auth when unset. */
  apiKey?: string;
  /** Largest request body in bytes. @default 64 MiB */
  bodyLimit?: number;
}

export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

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

/** Route groups, one module per concept; each is `(app, host) => Promise<void>`. */
const ROUTE_PLUGINS: ((app: FastifyInstance, host: Host) => Promise<void>)[] = [
  healthRoutes,
  agentRoutes,
  eventRoutes,
  mobilityRoutes,
  meshRoutes,
  artifactRoutes,
  serviceRoutes,
];

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
  // Only JSON (and the binary types routes register themselves): text/plain is a 415, not a 422.
  app.removeContentTypeParser('text/plain');
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

  for (const routes of ROUTE_PLUGINS) await routes(app, host);

  return app;
}

/**
 * Artifact routes: upload (raw streamed body), list, download (streamed), metadata, delete.
 *
 * Uploads are parsed by a pass-through content-type parser registered in an encapsulated
 * context, so the request stream reaches the {@link ArtifactStore} unread: the JSON body limit
 * (`--max-body-size`) does not apply, only the artifact max size, which is enforced while
 * streaming. Other routes keep their JSON-only parsers.
 */
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import Type, { type Static } from 'typebox';
import type { ArtifactRef } from '../../core/artifact.ts';
import { HostError } from '../../core/errors.ts';
import { AGENT_ID_PATTERN } from '../../core/ids.ts';
import type { ArtifactStore } from '../../persistence/artifact-store.ts';
import type { ArtifactRecord } from '../../persistence/store.ts';
import type { Host } from '../../runtime/host.ts';
import { sendJson } from '../http-reply.ts';

/** Header carrying the sha256 of a downloaded artifact. */
export const ARTIFACT_SHA256_HEADER = 'x-taglets-artifact-sha256';

export const UploadArtifactQuery = Type.Object({
  owner_agent_id: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN, description: 'Agent that owns the artifact' })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Display name (default 'artifact')" })),
  compression: Type.Optional(Type.String({ maxLength: 32, description: "Label only, e.g. 'gzip'; bytes are stored as sent" })),
  expires_at: Type.Optional(
    Type.String({ pattern: '^[0-9]{1,15}(\\.[0-9]+)?$', description: 'Seconds since the epoch; 0 = never (default)' }),
  ),
  sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'Expected sha256; mismatch -> 422, nothing stored' })),
  size: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Expected size in bytes; mismatch -> 422, nothing stored' })),
});
export type UploadArtifactQuery = Static<typeof UploadArtifactQuery>;

export const ListArtifactsQuery = Type.Object({
  owner_agent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});
export type ListArtifactsQuery = Static<typeof ListArtifactsQuery>;

export const ArtifactIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export type ArtifactIdParams = Static<typeof ArtifactIdParams>;

/** How long a refused upload's remaining body is read and dropped before the socket is closed. */
const LINGER_MS = 5000;

/**
 * "Lingering close" for an upload refused before its body was read (too large, quota): the
 * error answer is sent at once while the rest of the body is read and dropped for up to
 * {@link LINGER_MS}, then the socket is closed. Closing at once would make the sender's next
 * write fail (EPIPE) before it reads the answer, so it would never learn why.
 */
function linger(raw: IncomingMessage): void {
  if (raw.destroyed) return;
  const timer = setTimeout(() => raw.socket?.destroy(), LINGER_MS);
  timer.unref();
  const stop = (): void => clearTimeout(timer);
  raw.once('end', stop);
  raw.once('close', stop);
  raw.on('error', () => {});
  raw.resume();
}

function storeOf(host: Host): ArtifactStore {
  if (!host.artifacts) throw new HostError(`host '${host.name}' has no artifact store`);
  return host.artifacts;
}

export function artifactRef(host: Host, r: ArtifactRecord): ArtifactRef {
  return {
    host_url: host.url,
    artifact_id: r.artifact_id,
    name: r.name,
    size_bytes: r.size_bytes,
    sha256: r.sha256,
    compression: r.compression,
    created_at: r.created_at,
    expires_at: r.expires_at,
    owner_agent_id: r.owner_agent_id,
  };
}

export async function artifactRoutes(app: FastifyInstance, host: Host): Promise<void> {
  await app.register(async (scoped) => {
    // Any content type: the body is handed over as the raw request stream.
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    scoped.post<{ Querystring: UploadArtifactQuery }>(
      '/artifacts',
      {
        schema: {
          summary: 'Upload an artifact: the raw body (Content-Length or chunked) is streamed to disk',
          querystring: UploadArtifactQuery,
        },
      },
      async (request, reply) => {
        const artifacts = storeOf(host);
        const q = request.query;
        const raw = request.raw;
        const body = (request.body as Readable | IncomingMessage | undefined) ?? raw;
        // Never let a failed upload destroy the request: that would kill the socket before the
        // error answer is written. The connection is closed after the answer instead.
        const source = body === raw ? raw.iterator({ destroyOnReturn: false }) : body;
        const length = request.headers['content-length'];
        const lengthHint = length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
        try {
          const record = await artifacts.upload(source, {
            ...(q.name !== undefined ? { name: q.name } : {}),
            owner_agent_id: q.owner_agent_id ?? null,
            compression: q.compression ?? null,
            expires_at: q.expires_at !== undefined ? Number(q.expires_at) : 0,
            ...(q.sha256 !== undefined ? { sha256: q.sha256 } : {}),
            ...(q.size !== undefined ? { size: Number(q.size) } : {}),
            ...(lengthHint !== undefined ? { lengthHint } : {}),
          });
          return sendJson(reply, 200, { artifact: artifactRef(host, record) });
        } catch (err) {
          if (!raw.complete) linger(raw);
          throw err;
        }
      },
    );
  });

  app.get<{ Querystring: ListArtifactsQuery }>(
    '/artifacts',
    { schema: { summary: 'List artifacts (optionally of one owner agent)', querystring: ListArtifactsQuery } },
    async (request, reply) => {
      const records = await storeOf(host).list(request.query.owner_agent_id);
      return sendJson(reply, 200, { artifacts: records.map((r) => artifactRef(host, r)) });
    },
  );

  app.get<{ Params: ArtifactIdParams }>(
    '/artifacts/:id',
    { schema: { summary: 'Download an artifact: raw bytes with Content-Length and X-Taglets-Artifact-Sha256', params: ArtifactIdParams } },
    async (request, reply) => {
      const artifacts = storeOf(host);
      // HEAD: the headers only, without opening (and fastify draining) the file.
      const { record, stream } =
        request.method === 'HEAD'
          ? { record: await artifacts.get(request.params.id), stream: Readable.from([]) }
          : await artifacts.open(request.params.id);
      return reply
        .code(200)
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(record.size_bytes))
        .header(ARTIFACT_SHA256_HEADER, record.sha256)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(record.name)}`)
        .send(stream);
    },
  );

  app.get<{ Params: ArtifactIdParams }>(
    '/artifacts/:id/metadata',
    { schema: { summary: 'Artifact metadata', params: ArtifactIdParams } },
    async (request, reply) => sendJson(reply, 200, { artifact: artifactRef(host, await storeOf(host).get(request.params.id)) }),
  );

  app.delete<{ Params: ArtifactIdParams }>(
    '/artifacts/:id',
    { schema: { summary: 'Delete an artifact (metadata and blob)', params: ArtifactIdParams } },
    async (request, reply) => {
      await storeOf(host).delete(request.params.id);
      return sendJson(reply, 200, { ok: true });
    },
  );
}

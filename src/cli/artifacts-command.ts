/** `taglets artifacts list|info|get|rm|put`: files hosted by a host. */
import type { Command } from 'commander';
import { ArtifactNotFoundError } from '../core/errors.ts';
import type { ArtifactRef } from '../core/artifact.ts';
import type { ProgressCallback } from '../remote/artifact-client.ts';
import { entryClient } from './entry.ts';
import { CliError, EXIT_EMPTY, colors, printJson, printTable } from './output.ts';
import { formatDuration, formatSize } from './units.ts';
import { act } from './act.ts';


/** Transfers at least this big show a progress line (only on a terminal, never with --json). */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

/** A one-line byte counter on stderr, redrawn at most 10 times a second. */
function progress(label: string, json: boolean | undefined): { onProgress?: ProgressCallback; done(): void } {
  if (json || !process.stderr.isTTY) return { done() {} };
  const started = Date.now();
  let last = 0;
  let shown = false;
  const onProgress: ProgressCallback = (bytes, total) => {
    const now = Date.now();
    if ((total !== undefined && total < PROGRESS_MIN_BYTES) || (now - last < 100 && bytes !== total)) return;
    last = now;
    shown = true;
    const rate = bytes / Math.max(0.001, (now - started) / 1000);
    const of = total !== undefined ? ` / ${formatSize(total)}  ${total > 0 ? Math.floor((bytes / total) * 100) : 100}%` : '';
    process.stderr.write(`\r\x1b[K${label}  ${formatSize(bytes)}${of}  ${formatSize(rate)}/s`);
  };
  return {
    onProgress,
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function expiry(a: ArtifactRef, now: number): string {
  if (!a.expires_at) return 'never';
  return a.expires_at <= now ? 'expired' : `in ${formatDuration(a.expires_at - now)}`;
}

function parseTtl(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0) throw new CliError(`--ttl must be a positive number of seconds, got '${text}'`);
  return s;
}

export function registerArtifactsCommand(program: Command): void {
  const artifacts = program
    .command('artifacts')
    .description('list, inspect, download, upload and delete files hosted by a host')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets artifacts put ./data.csv --name data.csv     # prints the artifact id
  $ taglets artifacts list --owner <agentId>
  $ taglets artifacts info <id> --json
  $ taglets artifacts get <id> ./out/data.csv --move      # verify sha256, then delete on the host
  $ taglets --entry http://127.0.0.1:9000 artifacts rm <id> -f

Exit codes: 0 ok, 1 empty list, 2 error.`,
    );

  artifacts
    .command('list')
    .alias('ls')
    .description('list the artifacts of the entry host (exit 1 when there are none)')
    .option('--owner <agentId>', 'only artifacts owned by this agent')
    .option('--agent <agentId>', 'same as --owner')
    .addHelpText('after', '\nExamples:\n  $ taglets artifacts list\n  $ taglets artifacts list --owner worker-1 --json')
    .action(
      act(async (g, opts: { owner?: string; agent?: string }) => {
        const owner = opts.owner ?? opts.agent;
        const client = await entryClient(g);
        const list = await client.listArtifacts(owner ? { owner } : {});
        if (g.json) printJson({ artifacts: list });
        else if (list.length === 0) process.stdout.write(`no artifacts on ${client.url}${owner ? ` owned by ${owner}` : ''}\n`);
        else {
          const now = Date.now() / 1000;
          printTable(
            ['ARTIFACT', 'NAME', 'SIZE', 'SHA256', 'OWNER', 'AGE', 'EXPIRES'],
            list.map((a) => [
              a.artifact_id,
              a.name,
              formatSize(a.size_bytes),
              a.sha256.slice(0, 12),
              a.owner_agent_id,
              formatDuration(Math.max(0, now - a.created_at)),
              expiry(a, now),
            ]),
          );
        }
        return list.length === 0 ? EXIT_EMPTY : 0;
      }),
    );

  artifacts
    .command('info')
    .description("print an artifact's metadata")
    .argument('<id>', 'artifact id')
    .addHelpText('after', '\nExample:\n  $ taglets artifacts info 0f8c…e1 --json')
    .action(
      act(async (g, id: string) => {
        const client = await entryClient(g);
        const a = await client.artifactInfo(id);
        if (g.json) printJson({ artifact: a });
        else {
          const now = Date.now() / 1000;
          const rows: [string, string][] = [
            ['artifact', a.artifact_id],
            ['name', a.name],
            ['size', `${formatSize(a.size_bytes)} (${a.size_bytes} bytes)`],
            ['sha256', a.sha256],
            ['compression', a.compression ?? '-'],
            ['owner', a.owner_agent_id ?? '-'],
            ['created', `${new Date(a.created_at * 1000).toISOString()} (${formatDuration(Math.max(0, now - a.created_at))} ago)`],
            ['expires', a.expires_at ? `${new Date(a.expires_at * 1000).toISOString()} (${expiry(a, now)})` : 'never'],
            ['host', a.host_url],
          ];
          for (const [k, v] of rows) process.stdout.write(`${colors.bold(k.padEnd(12))}${v}\n`);
        }
      }),
    );

  artifacts
    .command('get')
    .description('download an artifact (verified size and sha256, written atomically)')
    .argument('<id>', 'artifact id')
    .argument('<out>', "file to write, or an existing directory to keep the artifact's name")
    .option('--move', 'delete the artifact on the host once the local copy is verified')
    .addHelpText('after', '\nExamples:\n  $ taglets artifacts get <id> ./result.bin\n  $ taglets artifacts get <id> ./downloads/ --move')
    .action(
      act(async (g, id: string, out: string, opts: { move?: boolean }) => {
        const client = await entryClient(g);
        const bar = progress(`get ${id.slice(0, 8)}`, g.json);
        let got;
        try {
          got = await client.downloadArtifact(id, out, { move: opts.move ?? false, ...(bar.onProgress ? { onProgress: bar.onProgress } : {}) });
        } finally {
          bar.done();
        }
        if (g.json) printJson({ ...got, moved: opts.move ?? false });
        else process.stdout.write(`${got.path}  ${formatSize(got.size_bytes)}  sha256 ${got.sha256}${opts.move ? '  (deleted on host)' : ''}\n`);
      }),
    );

  artifacts
    .command('put')
    .description('upload a file as an artifact (prints its id)')
    .argument('<file>', 'file to upload')
    .option('--name <name>', "artifact name (default: the file's name)")
    .option('--owner <agentId>', 'agent that owns the artifact')
    .option('--compression <label>', "label stored with the artifact, e.g. 'gzip' (bytes are sent as they are)")
    .option('--ttl <seconds>', 'expire the artifact after this many seconds (default: never)')
    .option('--move', 'delete the local file once the host has stored and verified it')
    .addHelpText('after', '\nExamples:\n  $ taglets artifacts put ./model.bin --ttl 3600\n  $ taglets artifacts put ./in.csv.gz --compression gzip --owner worker-1 --json')
    .action(
      act(async (g, file: string, opts: { name?: string; owner?: string; compression?: string; ttl?: string; move?: boolean }) => {
        const ttl = parseTtl(opts.ttl);
        const client = await entryClient(g);
        const bar = progress(`put ${file}`, g.json);
        let a;
        try {
          a = await client.uploadArtifact(file, {
            ...(opts.name !== undefined ? { name: opts.name } : {}),
            ...(opts.owner !== undefined ? { owner: opts.owner } : {}),
            ...(opts.compression !== undefined ? { compression: opts.compression } : {}),
            ...(ttl !== undefined ? { expiresAt: Date.now() / 1000 + ttl } : {}),
            move: opts.move ?? false,
            ...(bar.onProgress ? { onProgress: bar.onProgress } : {}),
          });
        } finally {
          bar.done();
        }
        if (g.json) printJson({ artifact: a });
        else process.stdout.write(`${a.artifact_id}\n`);
      }),
    );

  artifacts
    .command('rm')
    .description('delete artifacts (metadata and file) from the host')
    .argument('<ids...>', 'artifact ids')
    .option('-f, --force', 'no error for artifacts that do not exist')
    .option('-q, --quiet', 'print nothing')
    .addHelpText('after', '\nExamples:\n  $ taglets artifacts rm <id>\n  $ taglets artifacts rm <id1> <id2> -f -q')
    .action(
      act(async (g, ids: string[], opts: { force?: boolean; quiet?: boolean }) => {
        const client = await entryClient(g);
        const deleted: string[] = [];
        const missing: string[] = [];
        for (const id of ids) {
          try {
            await client.deleteArtifact(id);
            deleted.push(id);
          } catch (err) {
            if (!(err instanceof ArtifactNotFoundError)) throw err;
            if (!opts.force) throw new CliError(`${err.message} (use -f to ignore missing artifacts)`);
            missing.push(id);
          }
        }
        if (opts.quiet) return;
        if (g.json) printJson({ ok: true, deleted, missing });
        else for (const id of deleted) process.stdout.write(`deleted ${id}\n`);
      }),
    );
}

/**
 * `taglets examples …`: runnable examples built on `taglets/patterns`.
 *
 * - `examples file push SRC --remote URL|NAME [--dest PATH] [--mode copy|move] [--dry] [--overwrite]`
 * - `examples file pull REMOTE_SRC --remote URL|NAME [--dest PATH] …`
 *
 * - `examples pi --digits N [--start 0] [--batch-size 1] [--max-in-flight 0] [--output pi.txt]`
 * - `examples analysis [--tasks 20] [--rows] [--features] [--trees] [--db results.sqlite] [--wait]`
 *   (both in `compute-examples.ts`)
 *
 * More examples register themselves in {@link EXAMPLES} (each gets the `examples` command).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  FILE_TRANSFER_AGENT_CLASS,
  TaskClient,
  fileTransferRequest,
  type FileTransferRequest,
  type FileTransferResult,
  type TaskStatus,
} from '../patterns/index.ts';
import type { HostClient } from '../remote/client.ts';
import { registerAnalysisExample, registerPiExample } from './compute-examples.ts';
import { entryClient, type GlobalFlags } from './entry.ts';
import { CliError, EXIT_ERROR, EXIT_OK, colors, printJson } from './output.ts';
import { act } from './act.ts';


/** Adds one example (sub)command to `taglets examples`. */
export type ExampleRegistrar = (examples: Command) => void;

const looksLikeAddress = (s: string): boolean => /^https?:\/\//.test(s) || /^[^\s/]+:\d+$/.test(s);

/** A local path made absolute against the CLI's working directory, keeping a trailing `/`. */
export function absoluteLocalPath(path: string): string {
  const p = path.trim();
  if (p === '' || p === '.') return `${process.cwd()}/`;
  if (p === '~' || p.startsWith('~/')) return p; // the host expands ~ (its own home)
  const abs = resolve(p);
  return p.endsWith('/') && !abs.endsWith('/') ? `${abs}/` : abs;
}

function parseSeconds(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new CliError(`${flag} must be a positive number of seconds, got '${text}'`);
  return n;
}

interface FileFlags {
  remote: string;
  dest?: string;
  mode: string;
  dry?: boolean;
  overwrite?: boolean;
  requestTimeout: string;
}

/** The host `--remote` names: a URL as is, a name through the entry host's mesh. */
async function remoteClient(entry: HostClient, remote: string): Promise<HostClient> {
  if (looksLikeAddress(remote)) return entry.sibling(remote);
  const hosts = await entry.hosts();
  const host = hosts.find((h) => h.name === remote);
  if (!host) {
    throw new CliError(`host '${remote}' is not known to the entry host ${entry.url} (known: ${hosts.map((h) => h.name).join(', ') || 'none'}); pass --remote URL`);
  }
  if (!host.online) throw new CliError(`host '${remote}' (${host.url}) is offline${host.error ? `: ${host.error}` : ''}`);
  return entry.sibling(host.url);
}

/** Runs one transfer agent on `client`'s host to completion; the exit code. */
async function runTransfer(client: HostClient, init: Partial<FileTransferRequest> & { source_path: string; target_host: string }, verb: string, g: GlobalFlags, timeoutS: number): Promise<number> {
  const request = fileTransferRequest(init);
  const progress = (line: string): void => {
    if (!g.json) process.stderr.write(`${line}\n`);
  };
  progress(
    `${verb} ${request.source_label || request.source_path} -> ${request.destination_label || `${request.target_host}:${request.destination_path || '.'}`}` +
      ` (${request.mode}${request.dry_run ? ', dry run' : ''}${request.overwrite ? ', overwrite' : ''})`,
  );
  const task = await TaskClient.create<FileTransferRequest, FileTransferResult>(client, FILE_TRANSFER_AGENT_CLASS);
  progress(`  agent ${task.ref.agent_id} created on ${client.url}`);
  let seen = '';
  const onStatus = (s: TaskStatus<FileTransferRequest, FileTransferResult>): void => {
    const key = `${s.status}@${s.host_url}`;
    if (key === seen) return;
    seen = key;
    progress(`  ${s.status.toLowerCase().replaceAll('_', ' ')} on ${s.host_name}`);
  };
  let final: TaskStatus<FileTransferRequest, FileTransferResult>;
  try {
    final = await task.startAndWait(request, { timeoutMs: Math.round(timeoutS * 1000), onStatus });
  } finally {
    await task.dispose().catch(() => {});
  }
  const ok = final.status === 'COMPLETED';
  if (g.json) {
    printJson({
      ok,
      status: final.status,
      result: final.result,
      error: final.error,
      agent_id: final.agent_id,
      host_url: final.host_url,
      transfer_id: request.transfer_id,
    });
  } else if (ok && final.result) {
    const r = final.result;
    const what = r.dry_run
      ? `dry run: would ${r.mode} ${r.size_human}${r.overwritten ? ' (replacing the existing file)' : ''}`
      : `${r.mode === 'move' ? 'moved' : 'copied'} ${r.size_human}`;
    process.stdout.write(`${colors.green('ok')} ${what} from ${r.source.label} to ${r.destination.label} in ${r.duration_s.toFixed(2)} s\n`);
  } else {
    process.stderr.write(`${colors.red('error')}: ${verb} failed: ${final.error ?? final.status}\n`);
  }
  return ok ? EXIT_OK : EXIT_ERROR;
}

function fileOptions(cmd: Command, destHelp: string): Command {
  return cmd
    .requiredOption('--remote <url|name>', 'the other host: URL, or a host name the entry host knows')
    .option('--dest <path>', destHelp)
    .option('--mode <mode>', 'copy or move (move deletes the source after the target saved the file)', 'copy')
    .option('--dry', 'plan and check on the target, change nothing')
    .option('--overwrite', 'replace an existing destination file')
    .option('--request-timeout <seconds>', 'give up after this many seconds', '60');
}

function checkMode(mode: string): 'copy' | 'move' {
  if (mode !== 'copy' && mode !== 'move') throw new CliError(`--mode must be copy or move, got '${mode}'`);
  return mode;
}

export const registerFileExample: ExampleRegistrar = (examples) => {
  const file = examples
    .command('file')
    .description('copy or move one file between hosts with a SingleFileTransferAgent')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets examples file push ./report.pdf --remote http://10.0.0.7:8765 --dest /srv/inbox/
  $ taglets examples file push notes.txt --remote beta --dest notes-copy.txt --mode move
  $ taglets examples file pull /var/log/syslog --remote beta --dest ./logs/ --dry
  $ taglets --entry http://127.0.0.1:8766 examples file pull data.csv --remote gamma --overwrite --json

Destinations: empty or "." keeps the source's name; a path ending in "/" or naming an existing
directory puts the file inside it. Relative paths on a remote host are relative to its user's
home directory. An existing destination file is refused unless --overwrite.`,
    );

  fileOptions(
    file
      .command('push')
      .argument('<src>', 'file on this machine (the entry host reads it)')
      .description('send a file from the entry host to --remote'),
    'path on the remote host (default: same name in its home directory)',
  )
    .addHelpText(
      'after',
      `
Examples:
  $ taglets examples file push ./a.txt --remote http://127.0.0.1:8766 --dest /tmp/inbox/
  $ taglets examples file push ./a.txt --remote beta --dest b.txt --mode move --overwrite`,
    )
    .action(
      act(async (g, src: string, opts: FileFlags) => {
        const mode = checkMode(opts.mode);
        const timeoutS = parseSeconds('--request-timeout', opts.requestTimeout);
        const entry = await entryClient(g);
        const source = absoluteLocalPath(src);
        if (source.endsWith('/')) throw new CliError(`the source must be a file, got '${src}'`);
        const dest = opts.dest ?? '';
        return runTransfer(
          entry,
          {
            source_path: source,
            destination_path: dest,
            target_host: opts.remote,
            mode,
            dry_run: opts.dry ?? false,
            overwrite: opts.overwrite ?? false,
          },
          'push',
          g,
          timeoutS,
        );
      }),
    );

  fileOptions(
    file
      .command('pull')
      .argument('<remote-src>', 'file on the remote host (relative: to its home directory)')
      .description('fetch a file from --remote to the entry host: the agent starts there and comes back'),
    'path on this machine (default: the current directory)',
  )
    .addHelpText(
      'after',
      `
Examples:
  $ taglets examples file pull /etc/hostname --remote http://127.0.0.1:8766 --dest ./beta-hostname
  $ taglets examples file pull logs/app.log --remote beta --dest ./ --mode move`,
    )
    .action(
      act(async (g, src: string, opts: FileFlags) => {
        const mode = checkMode(opts.mode);
        const timeoutS = parseSeconds('--request-timeout', opts.requestTimeout);
        const entry = await entryClient(g);
        const home = await entry.health();
        const remote = await remoteClient(entry, opts.remote);
        const dest = absoluteLocalPath(opts.dest ?? '.');
        return runTransfer(
          remote,
          {
            source_path: src,
            destination_path: dest,
            target_host: home.address,
            mode,
            dry_run: opts.dry ?? false,
            overwrite: opts.overwrite ?? false,
          },
          'pull',
          g,
          timeoutS,
        );
      }),
    );
};

/** Every example under `taglets examples`; later examples (pi, analysis, …) add theirs here. */
export const EXAMPLES: ExampleRegistrar[] = [registerFileExample, registerPiExample, registerAnalysisExample];

export function registerExamplesCommand(program: Command): Command {
  const examples = program
    .command('examples')
    .description('runnable examples built on taglets/patterns and taglets/compute')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets examples file push ./a.txt --remote http://127.0.0.1:8766 --dest /tmp/
  $ taglets examples file pull /tmp/a.txt --remote http://127.0.0.1:8766 --dest ./
  $ taglets examples pi --digits 1000 --output pi.txt
  $ taglets examples analysis --tasks 8 --wait`,
    );
  for (const register of EXAMPLES) register(examples);
  return examples;
}

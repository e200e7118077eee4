/** `taglets mesh summary|targets`: what the entry host knows about the mesh. */
import type { Command } from 'commander';
import type { MeshHost } from '../core/agent.ts';
import { entryClient, type GlobalFlags } from './entry.ts';
import { CliError, EXIT_EMPTY, colors, printJson, printTable } from './output.ts';
import { formatDuration, formatSize, parseSize } from './units.ts';
import { act } from './act.ts';


/** A host as listed by the CLI: the ref plus its age on the entry host's clock. */
export type ListedHost = MeshHost & { age_s: number };

function parseNumber(flag: string, text: string | undefined, options: { integer?: boolean; min?: number } = {}): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  const min = options.min ?? 0;
  if (text.trim() === '' || !Number.isFinite(n) || n < min || (options.integer && !Number.isInteger(n))) {
    throw new CliError(`${flag} must be ${options.integer ? 'an integer' : 'a number'} >= ${min}, got '${text}'`);
  }
  return n;
}

/** Hosts of the entry's mesh with `age_s` measured on the entry host's own clock. */
async function fetchHosts(g: GlobalFlags): Promise<{ url: string; hosts: ListedHost[] }> {
  const client = await entryClient(g);
  const reply = await client.call<{ hosts: MeshHost[]; now?: number; self_url?: string }>('GET', '/hosts');
  const now = typeof reply.now === 'number' ? reply.now : Date.now() / 1000;
  return {
    url: reply.self_url ?? client.url,
    hosts: reply.hosts.map((h) => ({ ...h, age_s: Math.max(0, Math.round((now - h.last_seen) * 1000) / 1000) })),
  };
}

const fmtLoad = (h: MeshHost): string => (typeof h.load_per_cpu === 'number' ? h.load_per_cpu.toFixed(2) : '-');
const fmtMem = (h: MeshHost): string => (typeof h.memory_available === 'number' ? formatSize(h.memory_available) : '-');

export interface TargetFilter {
  maxAgeS?: number | undefined;
  maxLoadPerCpu: number;
  minMemory?: number | undefined;
  includeSelf: boolean;
  selfUrl: string;
  limit: number;
}

/**
 * Online hosts that pass the filters, least loaded per CPU first (then most memory available,
 * then name, url). Hosts that report no load are skipped.
 */
export function rankTargets(hosts: ListedHost[], f: TargetFilter): ListedHost[] {
  return hosts
    .filter(
      (h) =>
        h.online &&
        (f.includeSelf || h.url !== f.selfUrl) &&
        (f.maxAgeS === undefined || h.age_s <= f.maxAgeS) &&
        typeof h.load_per_cpu === 'number' &&
        h.load_per_cpu <= f.maxLoadPerCpu &&
        (f.minMemory === undefined || (h.memory_available ?? 0) >= f.minMemory),
    )
    .sort(
      (a, b) =>
        a.load_per_cpu! - b.load_per_cpu! ||
        (b.memory_available ?? 0) - (a.memory_available ?? 0) ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : a.url < b.url ? -1 : a.url > b.url ? 1 : 0),
    )
    .slice(0, f.limit);
}

export function registerMeshCommand(program: Command): void {
  const mesh = program
    .command('mesh')
    .description('hosts of the mesh as the entry host sees them')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets mesh summary
  $ taglets mesh targets --limit 3 --mem 2G
  $ taglets --entry http://127.0.0.1:8766 mesh summary --json`,
    );

  mesh
    .command('summary')
    .description('every host the entry host knows, online or not (exit 1 when none is listed)')
    .option('--max-age <seconds>', 'only hosts heard from within this many seconds')
    .option('--limit <n>', 'at most this many hosts')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets mesh summary
  $ taglets mesh summary --max-age 5 --limit 20
  $ taglets mesh summary --json

LAST SEEN is how long ago the entry host last got fresh word of a host (its own clock).
LOAD/CPU is the host's 1-minute load average divided by its CPU count.`,
    )
    .action(
      act(async (g, opts: { maxAge?: string; limit?: string }) => {
        const maxAge = parseNumber('--max-age', opts.maxAge);
        const limit = parseNumber('--limit', opts.limit, { integer: true, min: 1 });
        const { url, hosts: all } = await fetchHosts(g);
        let hosts = all.filter((h) => maxAge === undefined || h.age_s <= maxAge);
        if (limit !== undefined) hosts = hosts.slice(0, limit);
        if (g.json) printJson({ hosts });
        else if (hosts.length === 0) process.stdout.write(`no hosts listed by ${url}\n`);
        else {
          printTable(
            ['NAME', 'URL', 'ONLINE', 'LAST SEEN', 'ACTIVE', 'INACTIVE', 'TAGS', 'LOAD/CPU', 'ERROR'],
            hosts.map((h) => [
              h.name,
              h.url,
              h.online ? colors.green('yes') : colors.red('no'),
              `${formatDuration(h.age_s)} ago`,
              h.active_count,
              h.inactive_count,
              h.tags.length ? h.tags.join(',') : null,
              fmtLoad(h),
              h.error ?? null,
            ]),
          );
        }
        return hosts.length === 0 ? EXIT_EMPTY : 0;
      }),
    );

  mesh
    .command('targets')
    .description('online hosts with room for work, least loaded per CPU first (exit 1 when none fits)')
    .option('--limit <n>', 'at most this many hosts', '5')
    .option('--max-age <seconds>', 'only hosts heard from within this many seconds')
    .option('--max-load-per-cpu <x>', 'skip hosts whose 1-minute load per CPU is above this', '1.0')
    .option('--mem <size>', 'skip hosts with less memory available (e.g. 512M, 2G)')
    .option('--include-self', 'list the entry host too (default)')
    .option('--exclude-self', 'never list the entry host')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets mesh targets
  $ taglets mesh targets --limit 3 --max-load-per-cpu 0.5 --mem 2G --exclude-self
  $ taglets mesh targets --json`,
    )
    .action(
      act(
        async (
          g,
          opts: { limit: string; maxAge?: string; maxLoadPerCpu: string; mem?: string; includeSelf?: boolean; excludeSelf?: boolean },
        ) => {
          if (opts.includeSelf && opts.excludeSelf) throw new CliError('give either --include-self or --exclude-self, not both');
          const limit = parseNumber('--limit', opts.limit, { integer: true, min: 1 })!;
          const maxAgeS = parseNumber('--max-age', opts.maxAge);
          const maxLoadPerCpu = parseNumber('--max-load-per-cpu', opts.maxLoadPerCpu)!;
          let minMemory: number | undefined;
          if (opts.mem !== undefined) {
            try {
              minMemory = parseSize(opts.mem)!;
            } catch (err) {
              throw new CliError(`--mem: ${(err as Error).message}`);
            }
          }
          const { url, hosts } = await fetchHosts(g);
          const targets = rankTargets(hosts, { limit, maxAgeS, maxLoadPerCpu, minMemory, includeSelf: !opts.excludeSelf, selfUrl: url });
          if (g.json) printJson({ targets });
          else if (targets.length === 0) {
            const online = hosts.filter((h) => h.online).length;
            process.stderr.write(
              `no target host: ${online} of ${hosts.length} known hosts online, none within --max-load-per-cpu ${maxLoadPerCpu}${minMemory !== undefined ? `, --mem ${opts.mem}` : ''}${maxAgeS !== undefined ? `, --max-age ${maxAgeS}` : ''}${opts.excludeSelf ? ' (entry host excluded)' : ''}\n`,
            );
          } else {
            printTable(
              ['NAME', 'URL', 'LOAD/CPU', 'CPUS', 'MEM AVAIL', 'ACTIVE', 'TAGS'],
              targets.map((h) => [h.name, h.url, fmtLoad(h), h.cpu_count ?? null, fmtMem(h), h.active_count, h.tags.length ? h.tags.join(',') : null]),
            );
          }
          return targets.length === 0 ? EXIT_EMPTY : 0;
        },
      ),
    );
}

/** Which host a CLI command talks to: `--entry URL|HOST:PORT|NAME`, default http://127.0.0.1:8765. */
import { HostClient } from '../remote/client.ts';
import { resolveApiKey } from './api-key.ts';
import { CliError } from './output.ts';

export interface GlobalFlags {
  entry?: string;
  json?: boolean;
  timeout?: string;
  apiKeyEnv?: string;
  color?: boolean;
}

export const DEFAULT_ENTRY = 'http://127.0.0.1:8765';

export function timeoutMs(flags: GlobalFlags): number {
  if (flags.timeout === undefined) return 20_000;
  const s = Number(flags.timeout);
  if (!Number.isFinite(s) || s <= 0) throw new CliError(`--timeout must be a positive number of seconds, got '${flags.timeout}'`);
  return Math.round(s * 1000);
}

const looksLikeAddress = (entry: string): boolean => /^https?:\/\//.test(entry) || /^[^\s/]+:\d+$/.test(entry);

/** A client for the entry host. A bare name is checked against the default host's name. */
export async function entryClient(flags: GlobalFlags): Promise<HostClient> {
  const apiKey = resolveApiKey(flags.apiKeyEnv);
  const options = { timeoutMs: timeoutMs(flags), ...(apiKey ? { apiKey } : {}) };
  const entry = flags.entry ?? process.env.TAGLETS_ENTRY ?? DEFAULT_ENTRY;
  if (looksLikeAddress(entry)) return new HostClient(entry, options);
  const client = new HostClient(DEFAULT_ENTRY, options);
  const health = await client.health().catch((err: Error) => {
    throw new CliError(`cannot resolve host name '${entry}': no host answers at ${DEFAULT_ENTRY} (${err.message}); pass --entry URL`);
  });
  if (health.name !== entry) {
    throw new CliError(`host '${entry}' not found: the host at ${DEFAULT_ENTRY} is '${health.name}'; pass --entry URL`);
  }
  return client;
}

import { CliError } from './output.ts';

/** The bearer key: from the env var named by --api-key-env (must be set), else TAGLETS_API_KEY, else none. */
export function resolveApiKey(envName: string | undefined): string | undefined {
  if (envName) {
    const value = process.env[envName];
    if (!value) throw new CliError(`--api-key-env ${envName}: environment variable ${envName} is not set or empty`);
    return value;
  }
  return process.env.TAGLETS_API_KEY || undefined;
}

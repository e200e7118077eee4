/** The glue between commander actions and taglets commands. */
import type { Command } from 'commander';
import type { GlobalFlags } from './entry.ts';

export type Action = (globals: GlobalFlags, ...rest: never[]) => Promise<number | void>;

/**
 * Wraps a command's action: it receives the merged global flags first, then the command's
 * arguments and options (and the commander Command last); a number it returns is the exit code.
 */
export function act(fn: Action) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const code = await fn(cmd.optsWithGlobals<GlobalFlags>(), ...(args.slice(0, -1) as never[]), cmd as never);
    if (typeof code === 'number') process.exitCode = code;
  };
}

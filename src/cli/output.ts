/** Output helpers shared by CLI commands: JSON for scripts, tables for people, exit codes. */
import Table from 'cli-table3';
import pc from 'picocolors';
import { toWire } from '../core/codec.ts';
import { TagletsError } from '../core/errors.ts';

/** Colours, switched off by --no-color (picocolors already honours NO_COLOR and non-TTY output). */
export let colors: ReturnType<typeof pc.createColors> = pc;
export function setColor(enabled: boolean): void {
  colors = pc.createColors(enabled);
}

/** Exit codes: 0 ok, 1 empty or partial result, 2 error. */
export const EXIT_OK = 0;
export const EXIT_EMPTY = 1;
export const EXIT_ERROR = 2;

/** Thrown by commands to end with a message and an exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_ERROR) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(toWire(value) ?? null, null, 2)}\n`);
}

export function printTable(head: string[], rows: (string | number | null)[][]): void {
  const table = new Table({
    head: head.map((h) => colors.bold(h)),
    style: { head: [], border: [] },
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
  });
  for (const row of rows) table.push(row.map((c) => (c === null ? '-' : String(c))));
  process.stdout.write(`${table.toString()}\n`);
}

/** How an error is shown to a person (or as JSON with --json). */
export function reportError(err: unknown, json: boolean): number {
  const exitCode = err instanceof CliError ? err.exitCode : EXIT_ERROR;
  const type = err instanceof TagletsError ? err.errorType : err instanceof CliError ? 'CliError' : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stdout.write(`${JSON.stringify({ error_type: type, error: message })}\n`);
  else process.stderr.write(`${colors.red('error')}: ${err instanceof TagletsError ? `${type}: ` : ''}${message}\n`);
  return exitCode;
}

/** Parses a JSON flag value with a message that names the flag. */
export function parseJsonFlag(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${flag} must be JSON (e.g. ${flag} '{"count": 1}'): ${(err as Error).message}`);
  }
}

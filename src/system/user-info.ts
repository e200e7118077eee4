/**
 * `user-info` v1 (lazy, local): lets agents talk to the person watching a host's terminal.
 *
 * - `notify {severity, title, message, job?, source?}` prints one line to the host's stderr:
 *   `[2025-01-31 14:05:09] WARNING: disk almost full job=j42 source=collector: 95% used`;
 * - `stream {text, target?, flush?}` writes `text` as it is to the host's stdout (default) or
 *   stderr; with `flush` the reply waits until the text was handed to the OS.
 *
 * Both answer `{ok: true}`.
 */
import Type, { type Static } from 'typebox';
import { Agent, type RunnerKind } from '../core/agent.ts';
import type { Message } from '../core/message.ts';
import { defineContract } from '../services/contract.ts';
import { advertiseContract } from './service-agent.ts';

const strict = { additionalProperties: false } as const;
const Ok = Type.Object({ ok: Type.Literal(true) });

export const NotifyRequest = Type.Object(
  {
    /** e.g. info, warning, error, success; printed in capitals. */
    severity: Type.String({ minLength: 1, maxLength: 32 }),
    title: Type.String(),
    message: Type.String(),
    job: Type.Optional(Type.String()),
    source: Type.Optional(Type.String()),
  },
  strict,
);
export type NotifyRequest = Static<typeof NotifyRequest>;

export const StreamRequest = Type.Object(
  {
    text: Type.String(),
    /** @default 'stdout' */
    target: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])),
    flush: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const UserInfoContract = defineContract({
  name: 'user-info',
  version: '1',
  operations: {
    notify: { request: NotifyRequest, reply: Ok },
    stream: { request: StreamRequest, reply: Ok },
  },
});

const pad = (n: number): string => String(n).padStart(2, '0');

/** `YYYY-mm-dd HH:MM:SS` in local time. */
export function formatLocalTimestamp(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The line `notify` prints (without the newline). */
export function formatNotifyLine(request: NotifyRequest, date: Date = new Date()): string {
  const job = request.job ? ` job=${request.job}` : '';
  const source = request.source ? ` source=${request.source}` : '';
  return `[${formatLocalTimestamp(date)}] ${request.severity.toUpperCase()}: ${request.title}${job}${source}: ${request.message}`;
}

function write(stream: NodeJS.WriteStream, text: string, flush: boolean): Promise<void> {
  if (!flush) {
    stream.write(text);
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
}

export class UserInfoAgent extends Agent<Record<string, never>> {
  static override runner: RunnerKind = 'inline';
  static readonly contract = UserInfoContract;
  static readonly defaultScope = 'local' as const;

  override async run(): Promise<void> {
    await advertiseContract(this, UserInfoContract, UserInfoAgent.defaultScope);
  }

  override handleMessage(message: Message): unknown {
    return UserInfoContract.route(message, {
      notify: async (r) => {
        await write(process.stderr, `${formatNotifyLine(r)}\n`, false);
        return { ok: true as const };
      },
      stream: async (r) => {
        await write(r.target === 'stderr' ? process.stderr : process.stdout, r.text, r.flush ?? false);
        return { ok: true as const };
      },
    });
  }
}

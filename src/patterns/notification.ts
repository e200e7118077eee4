/**
 * The Notification pattern: tell the person watching a host's terminal something, through
 * the host's `user-info` service (`user-info.notify`), without ever failing the caller.
 *
 * ```ts
 * const shown = await notifyUserInfo(this.context, { severity: 'warning', title: 'disk', message: '95% used' });
 * // true when the host's user-info service printed it; false when there is none or it failed
 * ```
 *
 * The host prints `[2025-01-31 14:05:09] WARNING: disk job=j42 source=collector: 95% used`.
 */
import { Agent, type AgentContext } from '../core/agent.ts';
import type { AgentRef } from '../core/message.ts';

/** The agent id of the user-info service on every host (bundled launch config). */
export const USER_INFO_AGENT_ID = 'service.user-info';
export const USER_INFO_SERVICE = 'user-info';
export const USER_INFO_NOTIFY_KIND = 'user-info.notify';

export interface UserNotification {
  /** e.g. info, warning, error, success (printed in capitals). */
  severity: string;
  title: string;
  message: string;
  job?: string;
  source?: string;
}

export interface NotifyOptions {
  /** Milliseconds to wait for the service. @default 5000 */
  timeoutMs?: number;
}

type NotifyContext = Pick<AgentContext, 'hostUrl' | 'getProxy' | 'findServices'>;

/** The message a notification travels as (exported for tests and non-agent callers). */
export function notificationMessage(n: UserNotification): { kind: string; args: { request: Record<string, string> } } {
  const request: Record<string, string> = { severity: String(n.severity), title: String(n.title), message: String(n.message) };
  if (n.job !== undefined && n.job !== null) request.job = String(n.job);
  if (n.source !== undefined && n.source !== null) request.source = String(n.source);
  return { kind: USER_INFO_NOTIFY_KIND, args: { request } };
}

/**
 * Sends `user-info.notify` to the user-info service of the agent's host. Resolves true when
 * the service accepted it, false when there is no such service or anything failed; never throws.
 */
export async function notifyUserInfo(context: NotifyContext, notification: UserNotification, options: NotifyOptions = {}): Promise<boolean> {
  try {
    const { kind, args } = notificationMessage(notification);
    let ref: AgentRef = { host_url: context.hostUrl, agent_id: USER_INFO_AGENT_ID };
    try {
      const records = await context.findServices(USER_INFO_SERVICE);
      const local = records.find((r) => r.name === USER_INFO_SERVICE);
      if (local) ref = local.proxy;
    } catch {
      /* no registry answer: try the well-known id */
    }
    const reply = await context.getProxy(ref).send(kind, args, { timeout: options.timeoutMs ?? 5000 });
    // A sleeping service may only queue the message: that is not "shown".
    return !(reply && typeof reply === 'object' && (reply as { queued?: unknown }).queued === true);
  } catch {
    return false;
  }
}

/** What {@link WithNotifications} adds to an agent. */
export interface NotificationMembers {
  notifyUserInfo(notification: UserNotification, options?: NotifyOptions): Promise<boolean>;
}

/** The agent-side convenience: `this.notifyUserInfo({...})` on any agent class. */
export function WithNotifications<TBase extends abstract new (...args: any[]) => Agent<object>>(
  Base: TBase,
): TBase & (abstract new (...args: any[]) => NotificationMembers) {
  abstract class NotifyingAgent extends Base implements NotificationMembers {
    /** See {@link notifyUserInfo}: true when shown, false otherwise; never throws. */
    notifyUserInfo(notification: UserNotification, options: NotifyOptions = {}): Promise<boolean> {
      return notifyUserInfo(this.context, notification, options);
    }
  }
  return NotifyingAgent;
}

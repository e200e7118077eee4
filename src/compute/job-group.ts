/**
 * `submitComputeJobGroup`: creates a {@link ResultCollectorAgent}, registers the expected job
 * keys (`<group>-0000`, `<group>-0001`, …) before any job starts, creates one
 * {@link CollectingComputeJobAgent} per state, reports jobs that could not be created as
 * `job_failure {stage: "create"}` and registers the created jobs' agent ids.
 *
 * ```ts
 * import { HostClient } from 'taglets/client';
 * import { submitComputeJobGroup } from 'taglets/compute';
 * const group = await submitComputeJobGroup(new HostClient(url), './jobs.js#Square', [{ n: 1 }, { n: 2 }]);
 * const summary = await new HostClient(url).getProxy(group.collector).send('summary');
 * ```
 *
 * Works from outside (a {@link HostClient}: jobs are created on its host) and from inside an
 * agent (its `this.context`: jobs are created on the agent's host).
 */
import { randomBytes } from 'node:crypto';
import type { AgentContext } from '../core/agent.ts';
import { ValidationError } from '../core/errors.ts';
import type { AgentRef } from '../core/message.ts';
import { HostClient, normalizeUrl } from '../remote/client.ts';
import { RESULT_COLLECTOR_CLASS } from './collector.ts';

/** Where a group is submitted from: a client of a host, or an agent's context. */
export type GroupSubmitter = HostClient | AgentContext;

export interface SubmitComputeJobGroupOptions {
  /** @default `group-<random hex>` */
  groupId?: string;
  /** Host (name or URL) the collector is created on. @default the submitting host */
  collectorHost?: string;
  /** The collector moves back to the submitting host once the group is complete. @default false */
  returnHomeWhenComplete?: boolean;
  /** Seconds between checks whether an offline home host is back. @default 300 */
  homeCheckSeconds?: number;
  /** Metadata registered with every job, or one object per job (by index). */
  jobMetadata?: Record<string, unknown> | Record<string, unknown>[];
  /** Jobs created at the same time. @default 4 */
  createConcurrency?: number;
  /** Collector class reference. @default 'taglets/compute#ResultCollectorAgent' */
  collectorClass?: string;
}

export interface GroupJob {
  index: number;
  job_key: string;
  agent_id: string;
  host_url: string;
}

export interface GroupCreationError {
  index: number;
  job_key: string;
  error: string;
}

export interface ComputeJobGroup {
  group_id: string;
  collector: AgentRef;
  jobs: GroupJob[];
  creation_errors: GroupCreationError[];
}

/** The key of job `index` of group `groupId`: `<group>-0007`. */
export function computeJobKey(groupId: string, index: number): string {
  return `${groupId}-${String(index).padStart(4, '0')}`;
}

/** A fresh group id: `group-<12 hex>`. */
export function newGroupId(prefix = 'group'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** The state fields that tie a collecting job to its group. */
export function collectingJobFields(groupId: string, jobKey: string, collector: AgentRef): Record<string, unknown> {
  return { group_id: groupId, job_key: jobKey, collector_agent_id: collector.agent_id, collector_host_url: collector.host_url };
}

/** What the helpers need from either kind of submitter. */
export interface GroupSubmitterAdapter {
  home(): Promise<{ name: string; url: string }>;
  /** URL of a host given by name or URL. */
  resolveHost(nameOrUrl: string): Promise<string>;
  /** Creates an agent on `hostUrl` (null: the submitting host). */
  create(hostUrl: string | null, agentClass: string, state: Record<string, unknown>): Promise<AgentRef>;
  send(ref: AgentRef, kind: string, args: Record<string, unknown>): Promise<unknown>;
}

const isClient = (t: GroupSubmitter): t is HostClient => typeof (t as HostClient).sibling === 'function';
const looksLikeUrl = (s: string): boolean => /^https?:\/\//.test(s) || /^[^\s/]+:\d+$/.test(s);
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function submitterAdapter(target: GroupSubmitter): GroupSubmitterAdapter {
  if (isClient(target)) {
    let home: Promise<{ name: string; url: string }> | undefined;
    return {
      home: () => (home ??= target.health().then((h) => ({ name: h.name, url: normalizeUrl(h.address || target.url) }))),
      async resolveHost(nameOrUrl) {
        if (looksLikeUrl(nameOrUrl)) return normalizeUrl(nameOrUrl);
        const host = (await target.hosts()).find((h) => h.name === nameOrUrl);
        if (!host) throw new ValidationError(`host '${nameOrUrl}' is not known to ${target.url}; pass its URL`);
        return normalizeUrl(host.url);
      },
      async create(hostUrl, agentClass, state) {
        const client = hostUrl && normalizeUrl(hostUrl) !== target.url ? target.sibling(hostUrl) : target;
        return (await client.createAgent(agentClass, { state })).ref;
      },
      send: (ref, kind, args) => target.getProxy(ref).send(kind, args),
    };
  }
  const ctx = target;
  return {
    home: async () => ({ name: ctx.hostName, url: normalizeUrl(ctx.hostUrl) }),
    async resolveHost(nameOrUrl) {
      const hosts = await ctx.availableHosts({ includeSelf: true, onlineOnly: false });
      const byName = hosts.find((h) => h.name === nameOrUrl);
      if (byName) return normalizeUrl(byName.url);
      if (looksLikeUrl(nameOrUrl)) return normalizeUrl(nameOrUrl);
      throw new ValidationError(`host '${nameOrUrl}' is not known to host '${ctx.hostName}'; pass its URL`);
    },
    async create(hostUrl, agentClass, state) {
      if (!hostUrl || normalizeUrl(hostUrl) === normalizeUrl(ctx.hostUrl)) return (await ctx.createAgent(agentClass, { state })).ref;
      // Agents create only on their own host; elsewhere they speak HTTP (TAGLETS_API_KEY).
      return (await new HostClient(hostUrl).createAgent(agentClass, { state })).ref;
    },
    send: (ref, kind, args) => ctx.getProxy(ref).send(kind, args),
  };
}

export interface CreateCollectorOptions {
  groupId: string;
  collectorHost?: string;
  returnHomeWhenComplete?: boolean;
  homeCheckSeconds?: number;
  collectorClass?: string;
}

/** Creates the collector of a group (home = the submitting host). */
export async function createResultCollector(target: GroupSubmitter | GroupSubmitterAdapter, options: CreateCollectorOptions): Promise<AgentRef> {
  const a = 'resolveHost' in target ? target : submitterAdapter(target);
  const home = await a.home();
  const hostUrl = options.collectorHost ? await a.resolveHost(options.collectorHost) : null;
  return a.create(hostUrl, options.collectorClass ?? RESULT_COLLECTOR_CLASS, {
    group_id: options.groupId,
    home_host_name: home.name,
    home_host_url: home.url,
    return_home_when_complete: options.returnHomeWhenComplete ?? false,
    ...(options.homeCheckSeconds !== undefined ? { home_check_seconds: options.homeCheckSeconds } : {}),
  });
}

/** Runs `fn` over `items` with at most `limit` at a time; results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

export async function submitComputeJobGroup(
  target: GroupSubmitter,
  jobClass: string,
  states: readonly Record<string, unknown>[],
  options: SubmitComputeJobGroupOptions = {},
): Promise<ComputeJobGroup> {
  if (typeof jobClass !== 'string' || !jobClass.includes('#')) {
    throw new ValidationError(`jobClass must be a class reference like './jobs.js#MyJob', got ${JSON.stringify(jobClass)}`);
  }
  const a = submitterAdapter(target);
  const groupId = options.groupId ?? newGroupId();
  const home = await a.home();
  const collector = await createResultCollector(a, {
    groupId,
    ...(options.collectorHost !== undefined ? { collectorHost: options.collectorHost } : {}),
    ...(options.returnHomeWhenComplete !== undefined ? { returnHomeWhenComplete: options.returnHomeWhenComplete } : {}),
    ...(options.homeCheckSeconds !== undefined ? { homeCheckSeconds: options.homeCheckSeconds } : {}),
    ...(options.collectorClass !== undefined ? { collectorClass: options.collectorClass } : {}),
  });
  const keys = states.map((_, i) => computeJobKey(groupId, i));
  const meta = (i: number): Record<string, unknown> => {
    const m = options.jobMetadata;
    return (Array.isArray(m) ? m[i] : m) ?? {};
  };

  // Expected before anything runs: a fast job cannot complete the group early.
  await a.send(collector, 'register_jobs', { jobs: keys.map((job_key, index) => ({ job_key, metadata: { index, ...meta(index) } })) });

  const jobs: GroupJob[] = [];
  const creation_errors: GroupCreationError[] = [];
  await mapLimit(states, options.createConcurrency ?? 4, async (state, index) => {
    const job_key = keys[index]!;
    try {
      const ref = await a.create(null, jobClass, { ...state, ...collectingJobFields(groupId, job_key, collector) });
      jobs.push({ index, job_key, agent_id: ref.agent_id, host_url: ref.host_url });
    } catch (err) {
      const error = errText(err);
      creation_errors.push({ index, job_key, error });
      await a
        .send(collector, 'job_failure', {
          group_id: groupId,
          job_key,
          agent_id: null,
          host_name: home.name,
          host_url: home.url,
          error,
          stage: 'create',
          details: { job_class: jobClass },
        })
        .catch(() => {});
    }
  });
  jobs.sort((x, y) => x.index - y.index);
  creation_errors.sort((x, y) => x.index - y.index);
  if (jobs.length > 0) {
    // Best effort: a group that completed already may have moved its collector home.
    await a
      .send(collector, 'register_jobs', { jobs: jobs.map((j) => ({ job_key: j.job_key, agent_id: j.agent_id, host_url: j.host_url })) })
      .catch(() => {});
  }
  return { group_id: groupId, collector, jobs, creation_errors };
}

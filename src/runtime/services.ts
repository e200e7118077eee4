/**
 * The host's service registry: records advertised by its active agents (or declared for
 * resident services before their provider exists), keyed by (name, agent id). Records of an
 * agent vanish when it leaves, crashes or sleeps; resident records stay discoverable.
 */
import type { AgentRef } from '../core/message.ts';

export type ServiceScope = 'local' | 'mesh';

export interface ServiceRecord {
  name: string;
  proxy: AgentRef;
  capabilities: string[];
  metadata: Record<string, unknown>;
  scope: ServiceScope;
  host_name: string;
  host_url: string;
  advertised_at: number;
  /** Seconds since epoch; null = no TTL. */
  expires_at: number | null;
  /** Declared by the launch config: kept while the provider sleeps or does not exist yet. */
  resident: boolean;
}

export interface ServiceQuery {
  name?: string;
  capability?: string;
  /** `mesh` returns only mesh-scoped records (what peers may see). */
  scope?: ServiceScope;
}

const key = (name: string, agentId: string): string => `${name}\0${agentId}`;

export class ServiceRegistry {
  private readonly records = new Map<string, ServiceRecord>();
  private readonly now: () => number;
  constructor(now: () => number = () => Date.now() / 1000) {
    this.now = now;
  }

  advertise(record: Omit<ServiceRecord, 'advertised_at' | 'expires_at' | 'resident'> & { ttl?: number | null; resident?: boolean }): ServiceRecord {
    const { ttl, ...rest } = record;
    const now = this.now();
    // A provider re-advertising its declared resident record keeps it resident (discoverable while asleep).
    const existing = this.records.get(key(rest.name, rest.proxy.agent_id));
    const full: ServiceRecord = {
      ...rest,
      resident: record.resident ?? existing?.resident ?? false,
      advertised_at: now,
      expires_at: ttl ? now + ttl : null,
    };
    this.records.set(key(full.name, full.proxy.agent_id), full);
    return full;
  }

  /** Removes an agent's records of `name` (all of them when omitted); returns what was removed. */
  unadvertise(agentId: string, name?: string): ServiceRecord[] {
    const removed: ServiceRecord[] = [];
    for (const [k, r] of this.records) {
      if (r.proxy.agent_id === agentId && (name === undefined || r.name === name)) {
        this.records.delete(k);
        removed.push(r);
      }
    }
    return removed;
  }

  /** The agent left or stopped: drop its records, except resident declarations. */
  agentGone(agentId: string): ServiceRecord[] {
    const removed: ServiceRecord[] = [];
    for (const [k, r] of this.records) {
      if (r.proxy.agent_id === agentId && !r.resident) {
        this.records.delete(k);
        removed.push(r);
      }
    }
    return removed;
  }

  lookup(query: ServiceQuery = {}): ServiceRecord[] {
    this.prune();
    const out: ServiceRecord[] = [];
    for (const r of this.records.values()) {
      if (query.name !== undefined && r.name !== query.name) continue;
      if (query.capability !== undefined && !r.capabilities.includes(query.capability)) continue;
      if (query.scope === 'mesh' && r.scope !== 'mesh') continue;
      out.push(r);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.proxy.agent_id.localeCompare(b.proxy.agent_id));
  }

  /** Removes records whose TTL passed. */
  prune(): ServiceRecord[] {
    const now = this.now();
    const expired: ServiceRecord[] = [];
    for (const [k, r] of this.records) {
      if (r.expires_at !== null && r.expires_at <= now) {
        this.records.delete(k);
        expired.push(r);
      }
    }
    return expired;
  }
}

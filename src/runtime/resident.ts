/**
 * Resident services: services declared by the host's launch config. Their records are
 * advertised at startup, before the provider exists, and stay discoverable while it sleeps.
 * `eager` providers start with the host; `lazy` ones are created on first use (exactly once
 * under concurrent calls) and put to sleep after `idle_timeout` seconds without calls or
 * leases. Leases keep a provider awake for their TTL.
 */
import { HostError, ValidationError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { AgentRef } from '../core/message.ts';
import type { EventInput } from './events.ts';
import type { ServiceRegistry, ServiceScope } from './services.ts';

export type ResidentLifecycle = 'eager' | 'lazy';

export interface ResidentSpec {
  /** Class reference of the provider. */
  agent_class: string;
  /** Service name. */
  service: string;
  /** Provider's agent id. @default `service.<service>` */
  agent_id: string;
  lifecycle: ResidentLifecycle;
  scope: ServiceScope;
  /** Seconds without calls or leases before a lazy provider sleeps; 0 = never. */
  idle_timeout: number;
  capabilities: string[];
  metadata: Record<string, unknown>;
  state?: unknown;
  init?: unknown;
}

export const RESIDENT_METADATA_KEY = 'taglets.resident_service';

export interface Lease {
  lease_id: string;
  agent_id: string;
  service_name: string;
  expires_at: number;
}

/** What the resident manager needs from its host. */
export interface ResidentHost {
  readonly name: string;
  readonly url: string;
  readonly services: ServiceRegistry;
  isActive(agentId: string): boolean;
  isInactive(agentId: string): boolean;
  /** Seconds since the agent last handled a message, or null while it is busy or not active. */
  idleSeconds(agentId: string): number | null;
  createAgent(request: { agent_class: string; state?: unknown; init?: unknown; agent_id: string }): Promise<AgentRef>;
  activate(agentId: string, reason: string): Promise<AgentRef>;
  deactivate(agentId: string, request: { reason: string; source: string; policy: Record<string, unknown> }): Promise<AgentRef>;
  emit(event: EventInput): void;
}

export class ResidentServices {
  private readonly host: ResidentHost;
  private readonly specs = new Map<string, ResidentSpec>();
  private readonly ensuring = new Map<string, Promise<AgentRef>>();
  private readonly leases = new Map<string, Lease>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(host: ResidentHost, now: () => number = () => Date.now() / 1000) {
    this.host = host;
    this.now = now;
  }

  /** Whether `agentId` is a declared resident provider. */
  isResident(agentId: string): boolean {
    return this.specs.has(agentId);
  }

  specOf(agentId: string): ResidentSpec | undefined {
    return this.specs.get(agentId);
  }

  /** Declares a resident service and advertises its record (the provider may not exist yet). */
  declare(spec: ResidentSpec): void {
    if (this.specs.has(spec.agent_id)) throw new ValidationError(`resident service agent id '${spec.agent_id}' is declared twice`);
    this.specs.set(spec.agent_id, spec);
    this.host.services.advertise({
      name: spec.service,
      proxy: { host_url: this.host.url, agent_id: spec.agent_id },
      capabilities: spec.capabilities,
      metadata: {
        ...spec.metadata,
        [RESIDENT_METADATA_KEY]: {
          agent_id: spec.agent_id,
          agent_class: spec.agent_class,
          lifecycle: spec.lifecycle,
          idle_timeout: spec.idle_timeout,
        },
      },
      scope: spec.scope,
      host_name: this.host.name,
      host_url: this.host.url,
      resident: true,
    });
    this.host.emit({ kind: 'resident-service-declare', agent_id: spec.agent_id, agent_class: spec.agent_class, data: { service_name: spec.service, lifecycle: spec.lifecycle } });
  }

  /** Starts eager providers and the idle/lease maintenance loop. */
  async start(): Promise<void> {
    await Promise.all(
      [...this.specs.values()].filter((s) => s.lifecycle === 'eager').map((s) => this.ensure(s.agent_id, 'startup').catch(() => {})),
    );
    this.timer = setInterval(() => void this.maintain(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Makes sure the provider runs: activates it if it sleeps, creates it if it never existed. Single flight. */
  ensure(agentId: string, reason = 'message'): Promise<AgentRef> {
    const spec = this.specs.get(agentId);
    if (!spec) return Promise.reject(new HostError(`'${agentId}' is not a resident service on host '${this.host.name}'`));
    if (this.host.isActive(agentId)) return Promise.resolve({ host_url: this.host.url, agent_id: agentId });
    const running = this.ensuring.get(agentId);
    if (running) return running;
    const work = (async () => {
      if (this.host.isInactive(agentId)) {
        const ref = await this.host.activate(agentId, reason);
        this.host.emit({ kind: 'resident-service-create', agent_id: agentId, agent_class: spec.agent_class, data: { activated: true, reason } });
        return ref;
      }
      try {
        const ref = await this.host.createAgent({
          agent_class: spec.agent_class,
          agent_id: agentId,
          ...(spec.state !== undefined ? { state: spec.state } : {}),
          ...(spec.init !== undefined ? { init: spec.init } : {}),
        });
        this.host.emit({ kind: 'resident-service-create', agent_id: agentId, agent_class: spec.agent_class, data: { reason } });
        return ref;
      } catch (err) {
        this.host.emit({ kind: 'resident-service-failed', agent_id: agentId, agent_class: spec.agent_class, error: (err as Error).message });
        throw err;
      }
    })().finally(() => this.ensuring.delete(agentId));
    this.ensuring.set(agentId, work);
    return work;
  }

  /** Leases a service (by its provider's id): the provider is started and kept awake until the lease ends. */
  async acquire(agentId: string, serviceName: string, ttlSeconds: number): Promise<Lease> {
    if (this.specs.has(agentId)) await this.ensure(agentId, 'lease');
    else if (!this.host.isActive(agentId)) throw new HostError(`cannot lease '${serviceName}': agent '${agentId}' is neither active nor a resident service here`);
    const lease: Lease = { lease_id: newId(), agent_id: agentId, service_name: serviceName, expires_at: this.now() + ttlSeconds };
    this.leases.set(lease.lease_id, lease);
    this.host.emit({ kind: 'service-lease-acquire', agent_id: agentId, data: { lease_id: lease.lease_id, service_name: serviceName } });
    return lease;
  }

  release(leaseId: string): boolean {
    const lease = this.leases.get(leaseId);
    if (!lease) return false;
    this.leases.delete(leaseId);
    this.host.emit({ kind: 'service-lease-release', agent_id: lease.agent_id, data: { lease_id: leaseId, service_name: lease.service_name } });
    return true;
  }

  hasLease(agentId: string): boolean {
    for (const l of this.leases.values()) if (l.agent_id === agentId) return true;
    return false;
  }

  /** Expires leases and puts idle lazy providers to sleep. */
  async maintain(): Promise<void> {
    const now = this.now();
    for (const [id, l] of this.leases) {
      if (l.expires_at <= now) {
        this.leases.delete(id);
        this.host.emit({ kind: 'service-lease-expire', agent_id: l.agent_id, data: { lease_id: id, service_name: l.service_name } });
      }
    }
    for (const spec of this.specs.values()) {
      if (spec.lifecycle !== 'lazy' || spec.idle_timeout <= 0 || this.hasLease(spec.agent_id)) continue;
      const idle = this.host.idleSeconds(spec.agent_id);
      if (idle === null || idle < spec.idle_timeout) continue;
      try {
        await this.host.deactivate(spec.agent_id, {
          reason: 'idle',
          source: 'host',
          policy: { activate_on_message: true, queue_messages_when_inactive: true, activate_on_startup: false },
        });
        this.host.emit({ kind: 'resident-service-idle-deactivate', agent_id: spec.agent_id, agent_class: spec.agent_class, data: { idle_seconds: idle } });
      } catch {
        /* busy again or shutting down: try next round */
      }
    }
  }
}

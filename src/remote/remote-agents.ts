/** Lets a host reach agents on other hosts over HTTP (used for agent-to-agent calls). */
import type { AgentSummary } from '../core/agent.ts';
import type { Envelope } from '../core/envelope.ts';
import { AgentNotFoundError, TransferError } from '../core/errors.ts';
import type { FileRef } from '../runtime/registered-files.ts';
import type { AgentRef, MessageInit } from '../core/message.ts';
import type { TargetProfile } from '../core/ticket.ts';
import type { CreateAgentRequest, RemoteAgents } from '../runtime/host.ts';
import type { ServiceQuery, ServiceRecord } from '../runtime/services.ts';
import { HostClient, type ClientOptions } from './client.ts';

export class HttpRemoteAgents implements RemoteAgents {
  private readonly clients = new Map<string, HostClient>();
  private readonly options: ClientOptions;
  constructor(options: ClientOptions = {}) {
    this.options = options;
  }
  private client(url: string): HostClient {
    let c = this.clients.get(url);
    if (!c) {
      c = new HostClient(url, this.options);
      this.clients.set(url, c);
    }
    return c;
  }
  send(ref: AgentRef, message: MessageInit, options: { oneway: boolean; timeoutMs?: number }): Promise<unknown> {
    return this.client(ref.host_url).sendMessage(ref.agent_id, message, options);
  }
  async create(hostUrl: string, body: CreateAgentRequest): Promise<AgentRef> {
    const proxy = await this.client(hostUrl).createAgent(body.agent_class, {
      state: body.state,
      init: body.init,
      ...(body.agent_id !== undefined ? { agentId: body.agent_id } : {}),
    });
    return proxy.ref;
  }
  info(ref: AgentRef): Promise<AgentSummary> {
    return this.client(ref.host_url).getAgent(ref.agent_id);
  }
  dispose(ref: AgentRef): Promise<void> {
    return this.client(ref.host_url).dispose(ref.agent_id);
  }
  services(url: string, query: ServiceQuery, timeoutMs: number): Promise<ServiceRecord[]> {
    return this.client(url).services(query, { timeoutMs }) as Promise<ServiceRecord[]>;
  }
  async shipFile(url: string, file: FileRef, ownerAgentId: string): Promise<string> {
    const ref = await this.client(url).uploadArtifact(file.current_path, { name: file.name, owner: ownerAgentId });
    if (ref.sha256 !== file.sha256) {
      await this.client(url).deleteArtifact(ref.artifact_id).catch(() => {});
      throw new TransferError(`registered file '${file.name}' changed while it was shipped`);
    }
    return ref.artifact_id;
  }
  async deleteArtifact(url: string, artifactId: string): Promise<void> {
    await this.client(url).deleteArtifact(artifactId);
  }
  async profile(url: string, timeoutMs: number): Promise<TargetProfile> {
    const h = await this.client(url).health({ timeoutMs });
    return { name: h.name, code_version: h.code_version, capabilities: h.capabilities, tags: h.tags };
  }
  transfer(url: string, envelope: Envelope, timeoutMs: number): Promise<AgentRef> {
    return this.client(url).transfer(envelope, { timeoutMs });
  }
  async exists(url: string, agentId: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.client(url).call('GET', `/agents/${encodeURIComponent(agentId)}`, undefined, { timeoutMs });
      return true;
    } catch (err) {
      if (err instanceof AgentNotFoundError) return false;
      throw err;
    }
  }
}

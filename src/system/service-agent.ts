/** What the system service agents share: advertising their contract. */
import type { Agent } from '../core/agent.ts';
import type { ServiceContract } from '../services/contract.ts';

/**
 * Advertises `contract` for `agent` (capabilities = operations, contract metadata). A record
 * the host already holds for this agent (a resident service declared by the launch config)
 * keeps its scope and metadata, so the resident block survives; otherwise `defaultScope`.
 * Failures are reported as an agent event, never thrown: the service answers messages
 * whether or not it could be advertised.
 */
export async function advertiseContract(agent: Agent<object>, contract: ServiceContract, defaultScope: 'local' | 'mesh'): Promise<void> {
  const ctx = agent.context;
  try {
    const existing = (await ctx.findServices(contract.name)).find((r) => r.proxy.agent_id === ctx.agentId && r.host_url === ctx.hostUrl);
    await ctx.advertise(contract.name, {
      capabilities: [...contract.capabilities],
      metadata: { ...(existing?.metadata ?? {}), ...contract.metadata() },
      scope: existing?.scope ?? defaultScope,
    });
  } catch (err) {
    await ctx.emitEvent('service-advertise-failed', { service: contract.name, error: err instanceof Error ? err.message : String(err) }).catch(() => {});
  }
}

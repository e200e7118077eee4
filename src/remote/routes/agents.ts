/** Agent routes: list, create, summary, state, messages, dispose. */
import type { FastifyInstance } from 'fastify';
import { fromWire } from '../../core/codec.ts';
import { newId } from '../../core/ids.ts';
import type { MessageInit } from '../../core/message.ts';
import { QueuedReceipt, type Host } from '../../runtime/host.ts';
import { sendJson, truthy } from '../http-reply.ts';
import { AgentIdParams, CreateAgentBody, DeactivateBody, ListAgentsQuery, SendMessageBody } from '../schemas.ts';

export async function agentRoutes(app: FastifyInstance, host: Host): Promise<void> {
  app.get<{ Querystring: ListAgentsQuery }>(
    '/agents',
    { schema: { summary: 'List agents', querystring: ListAgentsQuery } },
    async (request, reply) => {
      const which = request.query.state ?? 'all';
      let agents: object[] = host.listAgents(which);
      if (truthy(request.query.include_state)) {
        agents = await Promise.all(
          agents.map((a) =>
            host.getState((a as { agent_id: string }).agent_id).catch((err: unknown) => ({
              ...a,
              state_error: err instanceof Error ? err.message : String(err),
            })),
          ),
        );
      }
      return sendJson(reply, 200, { agents });
    },
  );

  app.post<{ Body: CreateAgentBody }>(
    '/agents',
    { schema: { summary: 'Create an agent; returns after onCreation', body: CreateAgentBody } },
    async (request, reply) => {
      const body = request.body;
      const proxy = await host.createAgent({
        agent_class: body.agent_class,
        state: fromWire(body.state),
        init: fromWire(body.init),
        ...(body.agent_id !== undefined ? { agent_id: body.agent_id } : {}),
        ...(body.runner !== undefined ? { runner: body.runner } : {}),
      });
      return sendJson(reply, 200, { proxy });
    },
  );

  app.get<{ Params: AgentIdParams }>(
    '/agents/:id',
    { schema: { summary: 'Agent summary', params: AgentIdParams } },
    async (request, reply) => sendJson(reply, 200, host.getAgent(request.params.id)),
  );

  app.get<{ Params: AgentIdParams }>(
    '/agents/:id/state',
    { schema: { summary: 'Agent summary with its live state', params: AgentIdParams } },
    async (request, reply) => sendJson(reply, 200, await host.getState(request.params.id)),
  );

  app.post<{ Params: AgentIdParams; Body: SendMessageBody }>(
    '/agents/:id/messages',
    { schema: { summary: 'Send a message (sync, future or oneway)', params: AgentIdParams, body: SendMessageBody } },
    async (request, reply) => {
      const { message, oneway, activate_if_inactive, no_delay } = request.body;
      const init = fromWire(message) as MessageInit;
      init.message_id ??= newId();
      const isOneway = oneway === true || init.message_type === 'oneway' || init.message_type === 2;
      const result = await host.sendMessage(request.params.id, init, isOneway, {
        activateIfInactive: activate_if_inactive !== false,
        noDelay: no_delay === true,
      });
      if (result instanceof QueuedReceipt) return sendJson(reply, 200, { result: null, queued: true, message_id: result.message_id });
      return sendJson(reply, 200, isOneway ? { result: null, message_id: init.message_id } : { result });
    },
  );

  app.post<{ Params: AgentIdParams; Body: DeactivateBody }>(
    '/agents/:id/deactivate',
    { schema: { summary: 'Put an agent to sleep on disk', params: AgentIdParams, body: DeactivateBody } },
    async (request, reply) => {
      const r = request.body.request ?? {};
      const { after_seconds, ...policy } = r.policy ?? {};
      if (after_seconds !== undefined) policy.activate_at = Date.now() / 1000 + after_seconds;
      const proxy = await host.deactivate(request.params.id, {
        reason: r.reason ?? 'deactivate',
        source: 'external',
        policy: r.policy ? policy : null,
        metadata: r.metadata ?? {},
      });
      return sendJson(reply, 200, { proxy, ok: true });
    },
  );

  app.post<{ Params: AgentIdParams }>(
    '/agents/:id/activate',
    { schema: { summary: 'Wake a sleeping agent', params: AgentIdParams } },
    async (request, reply) => sendJson(reply, 200, { proxy: await host.activate(request.params.id, 'activate') }),
  );

  app.post<{ Params: AgentIdParams }>(
    '/agents/:id/dispose',
    { schema: { summary: 'Dispose an agent (runs onDisposing)', params: AgentIdParams } },
    async (request, reply) => {
      await host.dispose(request.params.id);
      return sendJson(reply, 200, { ok: true });
    },
  );
}

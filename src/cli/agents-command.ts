/** `taglets agents ls|create|send|state|dispose`. */
import type { Command } from 'commander';
import type { AgentSummary } from '../core/agent.ts';
import { clampPriority } from '../core/message.ts';
import { entryClient } from './entry.ts';
import { CliError, EXIT_EMPTY, colors, parseJsonFlag, printJson, printTable } from './output.ts';
import { formatDuration } from './units.ts';
import { act } from './act.ts';


function statusOf(a: AgentSummary): string {
  if (a.crashed) return colors.red(`crashed${a.exitcode !== null ? ` (${a.exitcode})` : ''}`);
  return a.active ? colors.green('active') : colors.yellow('inactive');
}

export function registerAgentsCommand(program: Command): void {
  const agents = program
    .command('agents')
    .description('list, create, message and dispose agents on a host')
    .addHelpText(
      'after',
      `
Examples:
  $ taglets agents create ./agents/counter.js#Counter --init '"hello"'
  $ taglets agents send <id> inc --args '{"by": 2}'
  $ taglets agents ls --json
  $ taglets --entry http://127.0.0.1:9000 agents dispose <id>`,
    );

  agents
    .command('ls')
    .description('list the agents of the entry host (exit 1 when there are none)')
    .option('--state <which>', 'active, inactive or all', 'all')
    .option('--include-state', 'include each agent state (with --json)')
    .addHelpText('after', '\nExample:\n  $ taglets agents ls --state active')
    .action(
      act(async (g, opts: { state: string; includeState?: boolean }) => {
        if (!['active', 'inactive', 'all'].includes(opts.state)) throw new CliError(`--state must be active, inactive or all, got '${opts.state}'`);
        const client = await entryClient(g);
        const list = await client.listAgents({ state: opts.state as 'all', includeState: opts.includeState ?? false });
        if (g.json) printJson({ agents: list });
        else if (list.length === 0) process.stdout.write(`no agents on ${client.url}\n`);
        else {
          const now = Date.now() / 1000;
          printTable(
            ['AGENT', 'CLASS', 'STATUS', 'RUNNER', 'PID', 'QUEUED', 'IN FLIGHT', 'DELIVERED', 'FAILED', 'AGE'],
            list.map((a) => [
              a.agent_id,
              a.agent_class,
              statusOf(a),
              a.runner,
              a.pid,
              a.mailbox.queued_count,
              a.mailbox.in_flight_count,
              a.mailbox.delivered_count,
              a.mailbox.failed_count,
              formatDuration(Math.max(0, now - a.created_at)),
            ]),
          );
        }
        return list.length === 0 ? EXIT_EMPTY : 0;
      }),
    );

  agents
    .command('create')
    .description('create an agent from a class reference "<module>#<Export>"')
    .argument('<class>', "class reference, e.g. './agents/counter.js#Counter' (relative to the host's root)")
    .option('--state <json>', 'initial state (JSON), merged over the class defaultState')
    .option('--init <json>', 'value passed to onCreation (JSON)')
    .option('--id <agentId>', 'choose the agent id')
    .option('--runner <kind>', 'process or inline (default: what the class declares)')
    .addHelpText('after', `\nExample:\n  $ taglets agents create ./agents/counter.js#Counter --state '{"count": 5}' --id counter-1`)
    .action(
      act(async (g, agentClass: string, opts: { state?: string; init?: string; id?: string; runner?: string }) => {
        if (opts.runner !== undefined && opts.runner !== 'process' && opts.runner !== 'inline') {
          throw new CliError(`--runner must be process or inline, got '${opts.runner}'`);
        }
        const state = parseJsonFlag('--state', opts.state);
        const init = parseJsonFlag('--init', opts.init);
        const client = await entryClient(g);
        const proxy = await client.createAgent(agentClass, {
          ...(state !== undefined ? { state } : {}),
          ...(init !== undefined ? { init } : {}),
          ...(opts.id !== undefined ? { agentId: opts.id } : {}),
          ...(opts.runner !== undefined ? { runner: opts.runner as 'process' } : {}),
        });
        if (g.json) printJson({ proxy: proxy.ref });
        else process.stdout.write(`${proxy.agentId}\n`);
      }),
    );

  agents
    .command('send')
    .description('send a message and print the reply')
    .argument('<agentId>', 'target agent id')
    .argument('<kind>', 'message kind')
    .option('--args <json>', 'message args (JSON object)', '{}')
    .option('--arg <json>', 'single message argument (JSON)')
    .option('--priority <n>', 'priority 1..10 (clamped)', '5')
    .option('--oneway', 'do not wait for the reply')
    .addHelpText('after', `\nExample:\n  $ taglets agents send counter-1 inc --args '{"by": 2}' --priority 8`)
    .action(
      act(async (g, agentId: string, kind: string, opts: { args: string; arg?: string; priority: string; oneway?: boolean }) => {
        const args = parseJsonFlag('--args', opts.args);
        if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new CliError(`--args must be a JSON object, got ${opts.args}`);
        const priority = Number(opts.priority);
        if (!Number.isFinite(priority)) throw new CliError(`--priority must be a number 1..10, got '${opts.priority}'`);
        const arg = parseJsonFlag('--arg', opts.arg);
        const client = await entryClient(g);
        const result = await client.sendMessage(
          agentId,
          {
            kind,
            args: args as Record<string, unknown>,
            ...(arg !== undefined ? { arg } : {}),
            priority: clampPriority(priority),
            message_type: opts.oneway ? 'oneway' : 'sync',
          },
          { oneway: opts.oneway ?? false, timeoutMs: g.timeout ? Number(g.timeout) * 1000 : 0 },
        );
        if (g.json) printJson({ result });
        else if (opts.oneway) process.stdout.write('queued\n');
        else process.stdout.write(`${typeof result === 'string' ? result : JSON.stringify(result, null, 2)}\n`);
      }),
    );

  agents
    .command('state')
    .description("print an agent's summary and live state")
    .argument('<agentId>', 'agent id')
    .addHelpText('after', '\nExample:\n  $ taglets agents state counter-1 --json')
    .action(
      act(async (g, agentId: string) => {
        const client = await entryClient(g);
        const reply = await client.getState(agentId);
        if (g.json) printJson(reply);
        else {
          const { state, state_live, ...summary } = reply;
          process.stdout.write(
            `${summary.agent_id}  ${summary.agent_class}  ${statusOf(summary)}  pid ${summary.pid ?? '-'}${state_live ? '' : '  (last known state)'}\n`,
          );
          printJson(state);
        }
      }),
    );

  const ticketFlags = (cmd: Command): Command =>
    cmd
      .option('--timeout-per-attempt <seconds>', 'seconds per transfer attempt', '10')
      .option('--retries <n>', 'extra attempts after a failure', '0')
      .option('--require <capability>', 'capability or tag the target must offer (repeatable)', (v: string, p: string[] = []) => [...p, v])
      .option('--expect-version <version>', "the target's code version must equal this");
  const ticketOf = (destination: string, o: { timeoutPerAttempt: string; retries: string; require?: string[]; expectVersion?: string }) => {
    const timeout = Number(o.timeoutPerAttempt);
    const retries = Number(o.retries);
    if (!(timeout > 0)) throw new CliError(`--timeout-per-attempt must be > 0 seconds, got '${o.timeoutPerAttempt}'`);
    if (!Number.isInteger(retries) || retries < 0) throw new CliError(`--retries must be an integer >= 0, got '${o.retries}'`);
    return {
      destination,
      timeout,
      retries,
      required_capabilities: o.require ?? [],
      expected_code_version: o.expectVersion ?? null,
    };
  };
  type TicketOpts = Parameters<typeof ticketOf>[1];

  ticketFlags(
    agents
      .command('dispatch')
      .description('move an agent of the entry host to another host')
      .argument('<agentId>', 'agent id')
      .argument('<target>', 'target host name or URL'),
  )
    .addHelpText('after', '\nExample:\n  $ taglets agents dispatch counter-1 http://127.0.0.1:8766 --retries 2')
    .action(
      act(async (g, agentId: string, target: string, opts: TicketOpts) => {
        const client = await entryClient(g);
        const ref = await client.dispatch(agentId, ticketOf(target, opts));
        if (g.json) printJson({ proxy: ref });
        else process.stdout.write(`${ref.agent_id} now at ${ref.host_url}\n`);
      }),
    );

  ticketFlags(
    agents
      .command('clone')
      .description('copy an agent of the entry host (to another host, or the same one)')
      .argument('<agentId>', 'agent id')
      .argument('[target]', 'target host name or URL (default: the entry host)'),
  )
    .addHelpText('after', '\nExample:\n  $ taglets agents clone counter-1 beta')
    .action(
      act(async (g, agentId: string, target: string | undefined, opts: TicketOpts) => {
        const client = await entryClient(g);
        const ref = await client.clone(agentId, target === undefined ? null : ticketOf(target, opts));
        if (g.json) printJson({ proxy: ref });
        else process.stdout.write(`${ref.agent_id} at ${ref.host_url}\n`);
      }),
    );

  ticketFlags(
    agents
      .command('retract')
      .description('pull an agent from another host back to the entry host')
      .argument('<agentId>', 'agent id')
      .requiredOption('--from <url>', 'URL or host name of the host the agent is on now'),
  )
    .addHelpText('after', '\nExample:\n  $ taglets --entry http://127.0.0.1:8765 agents retract counter-1 --from http://127.0.0.1:8766')
    .action(
      act(async (g, agentId: string, opts: TicketOpts & { from: string }) => {
        const home = await entryClient(g);
        const remote = await entryClient({ ...g, entry: opts.from });
        const ref = await remote.retract(agentId, ticketOf(home.url, opts));
        if (g.json) printJson({ proxy: ref });
        else process.stdout.write(`${ref.agent_id} now at ${ref.host_url}\n`);
      }),
    );

  agents
    .command('deactivate')
    .description('put an agent to sleep on disk (it wakes on a message by default)')
    .argument('<agentId>', 'agent id')
    .option('--after <seconds>', 'wake after this many seconds')
    .option('--no-activate-on-message', 'messages do not wake it (they are queued)')
    .option('--activate-on-startup', 'wake it when the host starts')
    .option('--reason <text>', 'reason recorded with the deactivation', 'deactivate')
    .addHelpText('after', '\nExamples:\n  $ taglets agents deactivate counter-1\n  $ taglets agents deactivate counter-1 --after 3600 --no-activate-on-message')
    .action(
      act(async (g, agentId: string, opts: { after?: string; activateOnMessage: boolean; activateOnStartup?: boolean; reason: string }) => {
        const policy: Record<string, unknown> = { activate_on_message: opts.activateOnMessage };
        if (opts.activateOnStartup) policy.activate_on_startup = true;
        if (opts.after !== undefined) {
          const seconds = Number(opts.after);
          if (!(seconds >= 0)) throw new CliError(`--after must be a number of seconds >= 0, got '${opts.after}'`);
          policy.after_seconds = seconds;
        }
        const client = await entryClient(g);
        const ref = await client.deactivate(agentId, { reason: opts.reason, policy });
        if (g.json) printJson({ proxy: ref, ok: true });
        else process.stdout.write(`deactivated ${agentId}\n`);
      }),
    );

  agents
    .command('activate')
    .description('wake a sleeping agent (its queued messages are delivered in order)')
    .argument('<agentId>', 'agent id')
    .addHelpText('after', '\nExample:\n  $ taglets agents activate counter-1')
    .action(
      act(async (g, agentId: string) => {
        const client = await entryClient(g);
        const ref = await client.activate(agentId);
        if (g.json) printJson({ proxy: ref });
        else process.stdout.write(`activated ${agentId}\n`);
      }),
    );

  agents
    .command('dispose')
    .description('dispose an agent (runs its onDisposing hook)')
    .argument('<agentId>', 'agent id')
    .addHelpText('after', '\nExample:\n  $ taglets agents dispose counter-1')
    .action(
      act(async (g, agentId: string) => {
        const client = await entryClient(g);
        await client.dispose(agentId);
        if (g.json) printJson({ ok: true, agent_id: agentId });
        else process.stdout.write(`disposed ${agentId}\n`);
      }),
    );
}

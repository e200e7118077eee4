// Itinerary pattern: an agent visits hosts in turn, running tasks per destination and phase,
// and stays on the last host with its log.
//
// Run against two or more hosts (URLs; the first is where the agent starts):
//   node examples/patterns/itinerary.ts http://127.0.0.1:8765 http://127.0.0.1:8766 [...]
import { hostname, uptime } from 'node:os';
import { HostClient } from 'taglets/client';
import {
  ItineraryAgent,
  addDefaultTask,
  addTask,
  createTaskItinerary,
  itineraryTask,
  type ItineraryAgentState,
  type ItineraryTaskHandler,
} from 'taglets/patterns';

interface TouristState extends ItineraryAgentState {
  finished_on: string | null;
}

export class Tourist extends ItineraryAgent<TouristState> {
  static override defaultState: TouristState = {
    ...(ItineraryAgent.defaultState as ItineraryAgentState),
    finished_on: null,
  };

  override taskHandlers(): Record<string, ItineraryTaskHandler> {
    return {
      postcard: () => ({ host: this.hostName, machine: hostname(), uptime_s: Math.round(uptime()) }),
      say: (args) => `${String(args.text)} (${this.hostName})`,
    };
  }

  override onItineraryCompleted(): void {
    this.state.finished_on = this.hostName;
  }
}

async function main(): Promise<void> {
  const urls = process.argv.slice(2);
  if (urls.length < 1) throw new Error('usage: node examples/patterns/itinerary.ts URL [URL...]');
  let plan = createTaskItinerary(urls);
  plan = addDefaultTask(plan, itineraryTask('postcard', 'default'));
  plan = addTask(plan, urls[0]!, itineraryTask('say', 'dispatch', { text: 'leaving home' }));
  const start = new HostClient(urls[0]!);
  const agent = await start.createAgent(`${import.meta.url}#Tourist`, { state: { itinerary: plan } });
  const last = start.sibling(urls.at(-1)!);
  for (let i = 0; i < 200; i++) {
    const state = (await last.getState(agent.agentId).catch(() => null))?.state as TouristState | undefined;
    if (state?.finished_on) {
      for (const e of state.itinerary_log) console.log(`${e.host_name} ${e.phase} ${e.task}: ${JSON.stringify(e.ok ? e.result : e.error)}`);
      await last.dispose(agent.agentId);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the tourist did not finish in 10 s');
}

if (import.meta.main) await main();

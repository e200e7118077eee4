// MeshFanout pattern: clone to every online host of the mesh, collect one report from each,
// expire the silent ones after a deadline, then dispose the children.
//
// Run against a host of a mesh (e.g. `./taglets host --name alpha` and
// `./taglets host --name beta --port 8766 --peer http://127.0.0.1:8765`):
//   node examples/patterns/mesh-fanout.ts [HOST_URL] [DEADLINE_SECONDS]
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { Agent, type Message } from 'taglets';
import { HostClient } from 'taglets/client';
import { WithMeshFanout, newFanoutState, type MeshFanoutFields } from 'taglets/patterns';

type SurveyState = MeshFanoutFields;

/** A named base fixes the state type (and keeps declaration emit happy: no `Agent<S>` expression). */
export abstract class SurveyBase extends Agent<SurveyState> {}

export class HostSurvey extends WithMeshFanout(SurveyBase) {
  static override defaultState: SurveyState = { fanout: newFanoutState() };

  override async run(): Promise<void> {
    if (!this.isFanoutChild) return;
    await this.fanoutReport({
      cpus: availableParallelism(),
      load1: loadavg()[0],
      memory_gib: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    });
  }

  override async handleMessage(message: Message): Promise<unknown> {
    if (message.kind === 'survey') {
      this.fanoutReset(Number(message.args.deadline ?? 10));
      const targets = await this.fanoutSelectTargets({ includeSelf: true });
      await this.fanoutClone(targets);
      await this.fanoutWait();
      await this.fanoutDisposeChildren();
      return this.fanoutSummary();
    }
    return super.handleMessage(message); // books fanout.result / fanout.error
  }
}

async function main(): Promise<void> {
  const host = new HostClient(process.argv[2] ?? 'http://127.0.0.1:8765');
  const parent = await host.createAgent(`${import.meta.url}#HostSurvey`);
  try {
    const summary = (await parent.send('survey', { deadline: Number(process.argv[3] ?? 10) })) as {
      results: Record<string, unknown>;
      errors: Record<string, string>;
    };
    for (const [name, report] of Object.entries(summary.results)) console.log(`${name}: ${JSON.stringify(report)}`);
    for (const [name, error] of Object.entries(summary.errors)) console.log(`${name}: ERROR ${error}`);
  } finally {
    await parent.dispose();
  }
}

if (import.meta.main) await main();

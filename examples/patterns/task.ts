// Task pattern: an agent that runs one task; a client that starts it, waits, and follows it
// when the task moves the agent to another host.
//
// Run against a host (start one with `npm start`, or `./taglets host --name alpha`):
//   node examples/patterns/task.ts [HOST_URL] [OTHER_HOST_URL]
// Without OTHER_HOST_URL only the local task runs; with it a second task hops there first.
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { HostClient } from 'taglets/client';
import { TaskAgent, TaskClient, newTaskRecord, type TaskAgentState } from 'taglets/patterns';

interface CountRequest {
  /** Directory to count entries of (on the host where the task runs). */
  dir?: string;
  /** Host to run on instead (the task moves there first). */
  target?: string;
}
interface CountResult {
  host: string;
  dir: string;
  entries: number;
}
interface CountState extends TaskAgentState<CountRequest, CountResult> {
  hopped: boolean;
}

/** Counts the entries of a directory, optionally on another host. */
export class CountEntries extends TaskAgent<CountRequest, CountResult, CountState> {
  static override defaultState: CountState = { task: newTaskRecord(), hopped: false };

  override async runTask(request: CountRequest) {
    if (request.target && !this.state.hopped) {
      this.state.hopped = true;
      return this.dispatch(request.target); // the client follows; onTaskArrival finishes
    }
    return this.count(request.dir);
  }

  override async onTaskArrival() {
    // Finish after the arrival reply (the moving host is not kept waiting).
    setImmediate(() => {
      this.count(this.task.request?.dir).then(
        (result) => this.completeTask(result),
        (err) => this.failTask(err),
      );
    });
  }

  private async count(dir = homedir()): Promise<CountResult> {
    return { host: this.hostName, dir, entries: (await readdir(dir)).length };
  }
}

async function main(): Promise<void> {
  const [url = 'http://127.0.0.1:8765', other] = process.argv.slice(2);
  const host = new HostClient(url);
  const classRef = `${import.meta.url}#CountEntries`;

  const local = await TaskClient.create<CountRequest, CountResult>(host, classRef);
  const done = await local.startAndWait({ dir: '/' });
  console.log(`${done.status}: ${JSON.stringify(done.result ?? done.error)}`);
  await local.dispose();

  if (other) {
    const hop = await TaskClient.create<CountRequest, CountResult>(host, classRef);
    const moved = await hop.startAndWait(
      { dir: '/', target: other },
      { onStatus: (s) => console.log(`  ${s.status} on ${s.host_name}`) },
    );
    console.log(`${moved.status} on ${moved.host_name}: ${JSON.stringify(moved.result ?? moved.error)}`);
    await hop.dispose();
  }
}

if (import.meta.main) await main();

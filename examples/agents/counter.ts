// The agent of the README quick start. Hosts import it by class reference:
//   taglets agents create ./examples/agents/counter.ts#Counter --init '"hello"'
import { Agent, type Message } from 'taglets';

interface CounterState {
  count: number;
  trail: string[];
}

export class Counter extends Agent<CounterState> {
  static override defaultState: CounterState = { count: 0, trail: [] };

  override async onCreation(init: unknown) {
    this.state.trail.push(`created:${this.hostName}:${String(init)}`);
  }

  override async run() {
    this.state.trail.push(`run:${this.hostName}`);
  }

  override async handleMessage(msg: Message) {
    switch (msg.kind) {
      case 'inc':
        this.state.count += Number(msg.args.by ?? 1);
        return this.state.count;
      case 'get':
        return this.state;
      default:
        return this.notHandled();
    }
  }
}

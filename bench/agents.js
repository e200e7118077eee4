// Benchmark fixture agents, written the way a user writes them (plain ESM importing 'taglets').
import { Agent } from 'taglets';

/** Answers pings and counts the messages it handled. */
export class Counter extends Agent {
  static defaultState = { count: 0, created: false };
  async onCreation() {
    this.state.created = true;
  }
  handleMessage(msg) {
    switch (msg.kind) {
      case 'ping':
        return msg.args.v ?? 'pong';
      case 'inc':
        return ++this.state.count;
      case 'count':
        return this.state.count;
      case 'reset':
        this.state.count = 0;
        return 0;
      case 'pid':
        return process.pid;
      default:
        return this.notHandled();
    }
  }
}

/**
 * Moves between hosts (mobility benchmarks). Builds its own state from `init.bytes`: a Buffer
 * of that many pseudo-random bytes (not compressible, not sent by the driver).
 */
export class Mover extends Agent {
  static defaultState = { blob: null, bytes: 0, arrivals: 0 };
  async onCreation(init) {
    const { randomFillSync } = await import('node:crypto');
    const bytes = Number(init?.bytes ?? 0);
    const blob = Buffer.allocUnsafe(bytes);
    // randomFillSync fills at most 2^31-1 bytes per call; states here are far smaller.
    randomFillSync(blob);
    this.state.blob = blob;
    this.state.bytes = bytes;
  }
  onArrival() {
    this.state.arrivals++;
  }
  handleMessage(msg) {
    switch (msg.kind) {
      case 'ping':
        return 'pong';
      case 'size':
        return this.state.blob ? this.state.blob.length : 0;
      case 'arrivals':
        return this.state.arrivals;
      case 'where':
        return this.hostName;
      default:
        return this.notHandled();
    }
  }
}

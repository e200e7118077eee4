/**
 * Entry point of an agent child process. It waits, warm, for a `load`; runs one agent at a
 * time; after `unload` it may serve another agent (the host's warm pool reuses it). It exits
 * when the host goes away: the IPC channel closes and, even under SIGKILL of the host, the
 * kernel delivers the parent-death signal set by the launcher.
 */
import { errorFromWire, errorToWire } from '../core/errors.ts';
import { Message } from '../core/message.ts';
import { AgentShell, type HostBridge, type HostCallMethod } from './agent-shell.ts';
import type { ChildToHost, HostToChild } from './ipc-protocol.ts';

const send = (msg: ChildToHost): void => {
  // A host that is gone cannot be told anything; the disconnect handler ends this process.
  if (process.connected) process.send!(msg, undefined, undefined, () => {});
};

let shell: AgentShell | undefined;
let nextCallId = 1;
const pendingCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

const bridge: HostBridge = {
  call(method: HostCallMethod, args: Record<string, unknown>): Promise<unknown> {
    const id = nextCallId++;
    return new Promise((resolve, reject) => {
      pendingCalls.set(id, { resolve, reject });
      send({ t: 'call', id, method, args });
    });
  },
};

function reply(id: number, work: () => Promise<unknown>): void {
  work().then(
    (value) => send({ t: 'res', id, ok: true, value }),
    (err: unknown) => send({ t: 'res', id, ok: false, error: errorToWire(err) }),
  );
}

function requireShell(): AgentShell {
  if (!shell) throw new Error('no agent loaded in this process');
  return shell;
}

process.on('message', (raw: HostToChild) => {
  switch (raw.t) {
    case 'load':
      reply(raw.id, async () => {
        shell = await AgentShell.load(raw.spec, bridge);
        process.title = `taglet:${raw.spec.hostName}:${shell.cls.name}:${raw.spec.agentId}`;
        return shell.loadResult();
      });
      break;
    case 'hook':
      reply(raw.id, () => requireShell().hook(raw.name, raw.event));
      break;
    case 'msg':
      reply(raw.id, () => requireShell().handle(new Message(raw.message)));
      break;
    case 'state':
      reply(raw.id, async () => requireShell().agent.state);
      break;
    case 'run': {
      const current = requireShell();
      current.run().then(
        () => send({ t: 'run-end' }),
        (err: unknown) => send({ t: 'run-end', error: errorToWire(err) }),
      );
      break;
    }
    case 'unload':
      reply(raw.id, async () => {
        shell = undefined;
        process.title = 'taglet:idle';
        return null;
      });
      break;
    case 'call-res': {
      const pending = pendingCalls.get(raw.id);
      if (!pending) return;
      pendingCalls.delete(raw.id);
      if (raw.ok) pending.resolve(raw.value);
      else pending.reject(errorFromWire(raw.error!));
      break;
    }
  }
});

// The host handles Ctrl-C for the whole process group and stops children itself.
process.on('SIGINT', () => {});
process.on('disconnect', () => process.exit(0));
process.title = 'taglet:idle';
send({ t: 'ready', pid: process.pid });
// While idle in the warm pool, load the authoring API agents import, so creating an agent
// only pays for the agent's own module.
setImmediate(() => void import('../index.ts').catch(() => {}));

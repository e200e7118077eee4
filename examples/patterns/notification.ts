// Notification pattern: an agent tells the person at the host's terminal something through
// the host's user-info service. notifyUserInfo never throws: it resolves false when there is
// no user-info service (e.g. a host started with `--launch-config none`).
//
// Run against a host started with the default launch config (`npm start`):
//   node examples/patterns/notification.ts [HOST_URL] [MESSAGE]
// The host prints e.g. `[2025-01-31 14:05:09] INFO: example source=notification.ts: hello`.
import { Agent, type Message } from 'taglets';
import { HostClient } from 'taglets/client';
import { WithNotifications } from 'taglets/patterns';

export class Announcer extends WithNotifications(Agent) {
  override async handleMessage(message: Message): Promise<unknown> {
    if (message.kind !== 'announce') return this.notHandled();
    return this.notifyUserInfo({
      severity: 'info',
      title: 'example',
      message: String(message.args.text ?? 'hello'),
      source: 'notification.ts',
    });
  }
}

async function main(): Promise<void> {
  const host = new HostClient(process.argv[2] ?? 'http://127.0.0.1:8765');
  const agent = await host.createAgent(`${import.meta.url}#Announcer`);
  try {
    const shown = await agent.send('announce', { text: process.argv[3] ?? 'hello from an agent' });
    console.log(shown ? 'shown on the host terminal' : 'not shown: the host has no user-info service');
  } finally {
    await agent.dispose();
  }
}

if (import.meta.main) await main();

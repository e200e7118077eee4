// Operation pattern: an agent whose messages are the typed operations of a contract.
//
// Run against a host:
//   node examples/patterns/operation.ts [HOST_URL]
// It creates a key-value agent, finds it through its contract, calls it, and disposes it.
import { Type, defineContract } from 'taglets/services';
import { HostClient } from 'taglets/client';
import { OperationAgent, OperationClient, type OperationHandlers } from 'taglets/patterns';

export const KeyValue = defineContract({
  name: 'example-kv',
  version: '1',
  operations: {
    put: { request: Type.Object({ key: Type.String({ minLength: 1 }), value: Type.String() }), reply: Type.Boolean() },
    get: { request: Type.Object({ key: Type.String() }), reply: Type.Union([Type.String(), Type.Null()]) },
    keys: { reply: Type.Array(Type.String()) },
  },
});

interface KvState {
  entries: Record<string, string>;
}

export class KeyValueAgent extends OperationAgent<typeof KeyValue.operations, KvState> {
  static override defaultState: KvState = { entries: {} };
  static override advertiseScope = 'local' as const;
  readonly contract = KeyValue;

  operationHandlers(): OperationHandlers<typeof KeyValue.operations> {
    return {
      put: ({ key, value }) => {
        const fresh = !(key in this.state.entries);
        this.state.entries[key] = value;
        return fresh;
      },
      get: ({ key }) => this.state.entries[key] ?? null,
      keys: () => Object.keys(this.state.entries).sort(),
    };
  }
}

async function main(): Promise<void> {
  const host = new HostClient(process.argv[2] ?? 'http://127.0.0.1:8765');
  const agent = await host.createAgent(`${import.meta.url}#KeyValueAgent`);
  try {
    // Advertised in run(), right after creation: retry the lookup briefly.
    let kv: OperationClient<typeof KeyValue.operations> | undefined;
    for (let i = 0; i < 40 && !kv; i++) {
      kv = await OperationClient.find(KeyValue, host).catch(async () => {
        await new Promise((r) => setTimeout(r, 25));
        return undefined;
      });
    }
    if (!kv) throw new Error('the key-value service was not advertised');
    await kv.call('put', { key: 'greeting', value: 'hello' });
    await kv.sendOneway('put', { key: 'farewell', value: 'bye' });
    console.log('get greeting →', await kv.call('get', { key: 'greeting' }));
    console.log('keys →', await kv.call('keys', {}));
    await kv.call('put', { key: '', value: 'x' }).catch((err: Error) => console.log('contract error →', err.message));
  } finally {
    await agent.dispose();
  }
}

if (import.meta.main) await main();

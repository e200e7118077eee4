/**
 * Agent lifecycle and messaging against one real host process: creation, replies, errors,
 * run(), priorities, concurrency, binary values, oneway/future, events, OpenAPI, inline
 * runner and agent-to-agent calls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClassNotFoundError, ConflictError, HandlerError, LifecycleError, NotHandledError, TagletsError } from 'taglets';
import { HostClient, type AgentProxy } from 'taglets/client';
import { spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES, raw } from './helpers.ts';

const COUNTER = './agents.js#Counter';

let host: SpawnedHost;
let client: HostClient;
let gates: string;

before(async () => {
  host = await spawnHost({ name: 'alpha', root: FIXTURES });
  client = new HostClient(host.url);
  gates = mkdtempSync(join(tmpdir(), 'taglets-gates-'));
});

after(async () => {
  await host?.stop();
  if (gates) rmSync(gates, { recursive: true, force: true });
});

/** A gate file path; the Recorder fixture waits until it exists. */
let gateCount = 0;
const newGate = (): { path: string; open: () => void } => {
  const path = join(gates, `gate-${++gateCount}`);
  return { path, open: () => writeFileSync(path, '') };
};

async function listedIds(): Promise<string[]> {
  return (await client.listAgents()).map((a) => a.agent_id);
}

describe('creation', () => {
  it('runs onCreation with init, then run(), with state merged over defaultState', async () => {
    const proxy = await client.createAgent(COUNTER, { init: 'hello', state: { count: 5 } });
    assert.match(proxy.agentId, /^[0-9a-f]{32}$/);
    const reply = (await waitFor(async () => {
      const r = await proxy.state();
      return r.state && (r.state as { trail: string[] }).trail.length >= 2 ? r : null;
    }))!;
    assert.deepEqual(reply.state, { count: 5, trail: ['created:alpha:hello', 'run:alpha'], blob: null });
    assert.equal(reply.state_live, true);
    assert.equal(reply.agent_class, COUNTER);
    assert.equal(reply.host, 'alpha');
    assert.equal(reply.active, true);
    assert.equal(reply.crashed, false);
    assert.equal(reply.runner, 'process');
    assert.equal(typeof reply.pid, 'number');
    assert.notEqual(reply.pid, host.pid);
    assert.equal(await proxy.send('pid'), reply.pid);
    await proxy.dispose();
  });

  it('returns the proxy {host_url, agent_id} and honours a chosen agent_id', async () => {
    const res = await raw(`${host.url}/agents`, 'POST', JSON.stringify({ agent_class: COUNTER, agent_id: 'chosen-1' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { proxy: { host_url: host.url, agent_id: 'chosen-1' } });
    assert.ok((await listedIds()).includes('chosen-1'));
    await client.dispose('chosen-1');
    assert.ok(!(await listedIds()).includes('chosen-1'));
  });

  it('refuses a duplicate agent_id with 409 ConflictError', async () => {
    const first = await client.createAgent(COUNTER, { agentId: 'dup-1' });
    await assert.rejects(client.createAgent(COUNTER, { agentId: 'dup-1' }), (err: unknown) => {
      assert.ok(err instanceof ConflictError);
      assert.equal(err.status, 409);
      assert.match(err.message, /dup-1/);
      return true;
    });
    const res = await raw(`${host.url}/agents`, 'POST', JSON.stringify({ agent_class: COUNTER, agent_id: 'dup-1' }));
    assert.equal(res.status, 409);
    assert.equal(res.json.error_type, 'ConflictError');
    // The first agent is untouched.
    assert.equal(await first.send('inc'), 1);
    await first.dispose();
  });

  it('turns an onCreation that throws into LifecycleError and lists no agent', async () => {
    const before = await listedIds();
    await assert.rejects(client.createAgent('./agents.js#CreationThrows', { agentId: 'lc-1' }), (err: unknown) => {
      assert.ok(err instanceof LifecycleError, String(err));
      assert.equal(err.status, 400);
      assert.match(err.message, /cannot start/);
      return true;
    });
    assert.deepEqual(await listedIds(), before);
    // The id is free again.
    const again = await client.createAgent(COUNTER, { agentId: 'lc-1' });
    await again.dispose();
  });

  const badClasses: [string, RegExp][] = [
    ['./agents.js#Nope', /no export 'Nope'/],
    ['./agents.js#NotAnAgent', /not an Agent subclass/],
    ['./throws-on-import.js#Anything', /this module fails to import/],
    ['./missing-module.js#X', /cannot import '\.\/missing-module\.js'/],
    ['no-hash-here', /must look like '<module>#<ExportName>'/],
  ];
  for (const [ref, message] of badClasses) {
    it(`answers 400 ClassNotFoundError for '${ref}' and keeps serving`, async () => {
      const before = await listedIds();
      const res = await raw(`${host.url}/agents`, 'POST', JSON.stringify({ agent_class: ref }));
      assert.equal(res.status, 400);
      assert.equal(res.json.error_type, 'ClassNotFoundError');
      assert.match(res.json.error, message);
      await assert.rejects(client.createAgent(ref), ClassNotFoundError);
      assert.deepEqual(await listedIds(), before);
      assert.equal((await client.health()).name, 'alpha');
    });
  }
});

describe('messages', () => {
  let counter: AgentProxy;
  before(async () => {
    counter = await client.createAgent(COUNTER);
  });
  after(() => counter.dispose());

  it('returns handler values as replies', async () => {
    assert.equal(await counter.send('inc'), 1);
    assert.equal(await counter.send('inc', { by: 4 }), 5);
    assert.equal(await counter.send('get'), 5);
    assert.deepEqual(await counter.send('echo', { value: { a: [1, 'two', null, true] } }), { a: [1, 'two', null, true] });
    assert.equal(await counter.sendMessage({ kind: 'echo', arg: 'single' }), 'single');
  });

  it('answers 422 NotHandledError for a kind the agent declines', async () => {
    await assert.rejects(counter.send('unknown-kind'), (err: unknown) => {
      assert.ok(err instanceof NotHandledError);
      assert.equal(err.status, 422);
      assert.match(err.message, /unknown-kind/);
      return true;
    });
    const res = await raw(`${host.url}/agents/${counter.agentId}/messages`, 'POST', JSON.stringify({ message: { kind: 'zzz' } }));
    assert.equal(res.status, 422);
    assert.equal(res.json.error_type, 'NotHandledError');
  });

  it('turns a handler error into HandlerError and the agent lives on', async () => {
    const before = (await counter.send('get')) as number;
    await assert.rejects(counter.send('fail'), (err: unknown) => {
      assert.ok(err instanceof HandlerError);
      assert.match(err.message, /boom/);
      return true;
    });
    // A TagletsError thrown by the handler travels as is.
    await assert.rejects(counter.send('fail-typed'), (err: unknown) => {
      assert.ok(err instanceof TagletsError);
      assert.equal(err.errorType, 'TagletsError');
      assert.equal(err.message, 'typed failure');
      return true;
    });
    assert.equal(await counter.send('inc'), before + 1);
    const info = await counter.info();
    assert.equal(info.crashed, false);
    assert.ok(info.mailbox.failed_count >= 2);
    assert.ok(info.mailbox.delivered_count >= 1);
  });

  it('queues oneway messages and answers at once', async () => {
    const before = (await counter.send('get')) as number;
    const res = await raw(
      `${host.url}/agents/${counter.agentId}/messages`,
      'POST',
      JSON.stringify({ message: { kind: 'inc', args: { by: 3 } }, oneway: true }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.json.result, null);
    assert.match(res.json.message_id, /^[0-9a-f]{32}$/);
    await counter.sendOneway('inc', { by: 2 });
    // message_type 2 is oneway too (paglets' numeric form).
    const numeric = await raw(
      `${host.url}/agents/${counter.agentId}/messages`,
      'POST',
      JSON.stringify({ message: { kind: 'inc', args: { by: 10 }, message_type: 2 } }),
    );
    assert.equal(numeric.status, 200);
    assert.equal(numeric.json.result, null);
    assert.equal(typeof numeric.json.message_id, 'string');
    await waitFor(async () => (await counter.send('get')) === before + 15);
  });

  it('gives a FutureReply for sendFuture', async () => {
    const recorder = await client.createAgent('./agents.js#Recorder');
    try {
      const gate = newGate();
      const future = recorder.sendFuture('record', { n: 'f1', gate: gate.path });
      assert.equal(future.available, false);
      // The gate is closed, so no reply can have arrived.
      assert.equal(await future.wait(50), false);
      gate.open();
      assert.equal(await future.wait(), true);
      assert.equal(future.available, true);
      assert.equal(await future.get(), 'f1');
      // A future whose handler fails is available too, and get() throws the error.
      const failing = counter.sendFuture('fail');
      assert.equal(await failing.wait(), true);
      assert.equal(failing.available, true);
      await assert.rejects(failing.get(), HandlerError);
    } finally {
      await recorder.dispose();
    }
  });

  it('handles messages by priority, FIFO within a priority, one at a time', async () => {
    const recorder = await client.createAgent('./agents.js#Recorder');
    try {
      const gate = newGate();
      const held = recorder.sendFuture('hold', { gate: gate.path });
      await waitFor(async () => (await recorder.info()).mailbox.in_flight_count === 1);
      const plan: [string, number][] = [
        ['a', 2],
        ['b', 9],
        ['c', 5],
        ['d', 9],
        ['e', 2],
        ['f', 5],
        ['g', 10],
        ['h', 1],
      ];
      for (const [n, priority] of plan) await recorder.sendOneway('record', { n }, { priority });
      const queued = await recorder.info();
      assert.equal(queued.mailbox.queued_count, plan.length);
      assert.equal(queued.mailbox.in_flight_count, 1);
      gate.open();
      assert.equal(await held.get(), 'held');
      const state = (await waitFor(async () => {
        const s = (await recorder.state()).state as { seen: string[]; maxActive: number };
        return s.seen.length === plan.length ? s : null;
      }))!;
      assert.deepEqual(state.seen, ['g', 'b', 'd', 'c', 'f', 'a', 'e', 'h']);
      assert.equal(state.maxActive, 1);
    } finally {
      await recorder.dispose();
    }
  });

  it('handles one message at a time unless the class sets concurrency', async () => {
    for (const [cls, expectActive] of [
      ['./agents.js#Recorder', 1],
      ['./agents.js#ConcurrentRecorder', 4],
    ] as const) {
      const agent = await client.createAgent(cls);
      try {
        const gate = newGate();
        const replies = Promise.all([1, 2, 3, 4, 5, 6].map((n) => agent.send('record', { n, gate: gate.path })));
        // Wait until the agent has as many handlers running as it allows, and the rest queued.
        await waitFor(async () => {
          const info = await agent.info();
          return info.mailbox.in_flight_count === expectActive && info.mailbox.queued_count === 6 - expectActive;
        });
        const during = (await agent.state()).state as { active: number };
        assert.equal(during.active, expectActive);
        gate.open();
        assert.deepEqual((await replies).sort(), [1, 2, 3, 4, 5, 6]);
        const s = (await agent.state()).state as { seen: number[]; maxActive: number; active: number };
        assert.equal(s.maxActive, expectActive, cls);
        assert.equal(s.active, 0);
        assert.equal(s.seen.length, 6);
      } finally {
        await agent.dispose();
      }
    }
  });

  it('round-trips 1 MiB of binary through a reply and the state', async () => {
    const bytes = new Uint8Array(1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    const echoed = (await counter.send('echo', { value: bytes })) as Uint8Array;
    assert.ok(echoed instanceof Uint8Array);
    assert.equal(Buffer.compare(Buffer.from(echoed), Buffer.from(bytes)), 0);
    assert.equal(await counter.send('store', { blob: bytes }), bytes.length);
    const stored = ((await counter.state()).state as { blob: Uint8Array }).blob;
    assert.ok(stored instanceof Uint8Array);
    assert.equal(stored.length, bytes.length);
    assert.equal(Buffer.compare(Buffer.from(stored), Buffer.from(bytes)), 0);
    // On the wire it is the tagged base64 form.
    const res = await raw(`${host.url}/agents/${counter.agentId}/state`, 'GET');
    assert.equal(res.json.state.blob.__taglets_binary__, Buffer.from(bytes).toString('base64'));
  });
});

describe('run()', () => {
  it('a run() that never ends blocks nothing', async () => {
    const agent = await client.createAgent('./agents.js#Forever');
    const ticks = await waitFor(async () => {
      const n = (await agent.send('ticks')) as number;
      return n > 0 ? n : 0;
    });
    assert.ok(ticks > 0);
    await assert.rejects(agent.send('other'), NotHandledError);
    assert.equal((await agent.info()).crashed, false);
    await agent.dispose();
    assert.ok(!(await listedIds()).includes(agent.agentId));
  });

  it('a run() that throws marks the agent crashed and logs agent-crashed', async () => {
    const agent = await client.createAgent('./agents.js#RunThrows');
    const info = (await waitFor(async () => {
      const i = await agent.info();
      return i.crashed ? i : null;
    }))!;
    assert.equal(info.active, false);
    assert.match(info.error ?? '', /run exploded/);
    const events = await client.events({ limit: 1000 });
    const crashed = events.find((e) => e.kind === 'agent-crashed' && e.agent_id === agent.agentId);
    assert.ok(crashed, 'agent-crashed event');
    assert.equal(crashed.agent_class, './agents.js#RunThrows');
    assert.match(crashed.error ?? '', /run exploded/);
    await assert.rejects(agent.send('anything'), (err: unknown) => err instanceof TagletsError && err.errorType === 'AgentCrashedError');
    await agent.dispose();
    assert.ok(!(await listedIds()).includes(agent.agentId));
  });
});

describe('runners and agent-to-agent calls', () => {
  it("runs a class declaring static runner = 'inline' in the host process", async () => {
    const agent = await client.createAgent('./agents.js#InlineEcho');
    const reply = (await agent.send('x', { a: 1 })) as { pid: number; args: unknown };
    assert.equal(reply.pid, host.pid);
    assert.deepEqual(reply.args, { a: 1 });
    const info = await agent.info();
    assert.equal(info.runner, 'inline');
    assert.equal(info.pid, host.pid);
    await agent.dispose();
  });

  it('lets an agent call and create other agents from inside a handler', async () => {
    const target = await client.createAgent(COUNTER);
    const caller = await client.createAgent('./agents.js#Caller');
    assert.equal(await caller.send('call', { target: target.agentId }), 10);
    assert.equal(await target.send('get'), 10);
    const ref = (await caller.send('spawn', { agent_class: COUNTER })) as { host_url: string; agent_id: string };
    assert.equal(ref.host_url, host.url);
    const spawned = client.proxy(ref.agent_id);
    const state = (await spawned.state()).state as { trail: string[] };
    assert.equal(state.trail[0], 'created:alpha:from-caller');
    // Calling an unknown agent fails inside the handler and comes back as an error.
    await assert.rejects(caller.send('call', { target: 'no-such-agent' }), (err: unknown) => {
      assert.ok(err instanceof TagletsError);
      assert.match(err.message, /no-such-agent/);
      return true;
    });
    for (const p of [target, caller, spawned]) await p.dispose();
  });
});

describe('host API', () => {
  it('GET /events pages with since and limit', async () => {
    const all = await client.events({ limit: 1000 });
    assert.equal(all[0]!.event_id, 1);
    assert.equal(all[0]!.kind, 'context-start');
    assert.ok(all.some((e) => e.kind === 'create'));
    assert.ok(all.some((e) => e.kind === 'dispose'));
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.event_id, all[i - 1]!.event_id + 1);
    const page = await raw(`${host.url}/events?since=1&limit=2`, 'GET');
    assert.equal(page.status, 200);
    assert.deepEqual(
      page.json.events.map((e: { event_id: number }) => e.event_id),
      [2, 3],
    );
    const last = all[all.length - 1]!.event_id;
    assert.deepEqual(await client.events({ since: last }), []);
    const bad = await raw(`${host.url}/events?since=abc`, 'GET');
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error_type, 'ValidationError');
  });

  it('GET /openapi.json lists the routes', async () => {
    const res = await raw(`${host.url}/openapi.json`, 'GET');
    assert.equal(res.status, 200);
    assert.match(res.json.openapi, /^3\./);
    const paths = res.json.paths as Record<string, Record<string, unknown>>;
    for (const [path, method] of [
      ['/health', 'get'],
      ['/agents', 'get'],
      ['/agents', 'post'],
      ['/agents/{id}', 'get'],
      ['/agents/{id}/state', 'get'],
      ['/agents/{id}/messages', 'post'],
      ['/agents/{id}/dispose', 'post'],
      ['/events', 'get'],
    ] as const) {
      assert.ok(paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
    }
  });

  it('GET /health reports identity, version and the runner pool', async () => {
    const health = await client.health();
    assert.equal(health.name, 'alpha');
    assert.equal(health.address, host.url);
    assert.equal(health.pid, host.pid);
    assert.equal(typeof health.version, 'string');
    assert.equal(typeof health.mesh_version, 'string');
    assert.ok(health.uptime_s >= 0);
    const pool = health.runner_pool.process!;
    for (const field of ['idle', 'busy', 'spawned', 'reused', 'target_idle'] as const) {
      assert.equal(typeof pool[field], 'number', `runner_pool.process.${field}`);
    }
    assert.ok(pool.spawned >= 1, 'the warm pool forked children');
  });
});

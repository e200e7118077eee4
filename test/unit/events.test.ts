import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventLog, type HostEvent } from '../../src/runtime/events.ts';

const origin = () => ({ host_name: 'alpha', host_address: 'http://127.0.0.1:1' });

describe('EventLog', () => {
  it('numbers events from 1 and fills the defaults', () => {
    const log = new EventLog(origin);
    const first = log.emit({ kind: 'context-start' });
    const second = log.emit({ kind: 'create', agent_id: 'a1', agent_class: './x.js#X', data: { pid: 1 } });
    assert.equal(first.event_id, 1);
    assert.equal(second.event_id, 2);
    assert.equal(Object.keys(first)[0], 'event_id');
    assert.equal(first.kind, 'context-start');
    assert.equal(first.host_name, 'alpha');
    assert.equal(first.host_address, 'http://127.0.0.1:1');
    assert.equal(first.agent_id, null);
    assert.equal(first.error, null);
    assert.equal(typeof first.timestamp, 'number');
    assert.equal(second.agent_id, 'a1');
    assert.deepEqual(second.data, { pid: 1 });
  });

  it('lists events after `since`, at most `limit`, oldest first', () => {
    const log = new EventLog(origin);
    for (let i = 0; i < 10; i++) log.emit({ kind: 'agent-event', data: i });
    const ids = (events: HostEvent[]) => events.map((e) => e.event_id);
    assert.deepEqual(ids(log.list()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(ids(log.list(7)), [8, 9, 10]);
    assert.deepEqual(ids(log.list(2, 3)), [3, 4, 5]);
    assert.deepEqual(ids(log.list(10)), []);
    assert.deepEqual(ids(log.list(99)), []);
    assert.deepEqual(ids(log.list(0, 0)), []);
    assert.deepEqual(new EventLog(origin).list(), []);
  });

  it('keeps at most `capacity` events, dropping the oldest, while ids keep growing', () => {
    const log = new EventLog(origin, 3);
    for (let i = 0; i < 7; i++) log.emit({ kind: 'agent-event' });
    assert.deepEqual(
      log.list().map((e) => e.event_id),
      [5, 6, 7],
    );
    // `since` older than the ring starts at the oldest kept event.
    assert.deepEqual(
      log.list(1, 2).map((e) => e.event_id),
      [5, 6],
    );
    assert.deepEqual(
      log.list(5).map((e) => e.event_id),
      [6, 7],
    );
    assert.equal(log.emit({ kind: 'agent-event' }).event_id, 8);
  });

  it('calls listeners and lets them unsubscribe', () => {
    const log = new EventLog(origin);
    const seen: string[] = [];
    const off = log.on((e) => seen.push(e.kind));
    log.emit({ kind: 'create' });
    off();
    log.emit({ kind: 'dispose' });
    assert.deepEqual(seen, ['create']);
  });

  it('turns a throwing listener into an event-listener-failed event without breaking the emitter', () => {
    const log = new EventLog(origin);
    const seen: string[] = [];
    log.on((e) => {
      if (e.kind === 'create') throw new Error('listener broke');
    });
    log.on((e) => seen.push(e.kind));
    const created = log.emit({ kind: 'create', agent_id: 'a' });
    assert.equal(created.event_id, 1);
    const events = log.list();
    assert.deepEqual(
      events.map((e) => [e.event_id, e.kind]),
      [
        [1, 'create'],
        [2, 'event-listener-failed'],
      ],
    );
    assert.equal(events[1]!.error, 'listener broke');
    // The other listener still saw both events.
    assert.ok(seen.includes('create'));
    assert.ok(seen.includes('event-listener-failed'));
  });

  it('does not loop when a listener also throws on event-listener-failed', () => {
    const log = new EventLog(origin);
    log.on(() => {
      throw new Error('always');
    });
    log.emit({ kind: 'create' });
    assert.deepEqual(
      log.list().map((e) => e.kind),
      ['create', 'event-listener-failed'],
    );
  });
});

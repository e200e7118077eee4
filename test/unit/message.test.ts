import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Message, Priority, clampPriority } from '../../src/core/message.ts';

describe('Message', () => {
  it('clamps priority to 1..10 and defaults to NORMAL', () => {
    assert.deepEqual(Priority, { MIN: 1, NORMAL: 5, MAX: 10 });
    assert.equal(clampPriority(undefined), 5);
    assert.equal(clampPriority(Number.NaN), 5);
    assert.equal(clampPriority(0), 1);
    assert.equal(clampPriority(-7), 1);
    assert.equal(clampPriority(11), 10);
    assert.equal(clampPriority(1000), 10);
    assert.equal(clampPriority(3.4), 3);
    assert.equal(new Message({ kind: 'x', priority: 42 }).priority, 10);
    assert.equal(new Message({ kind: 'x', priority: -1 }).priority, 1);
    assert.equal(new Message('x').priority, 5);
  });

  it('increases and decreases priority within the bounds', () => {
    const m = new Message({ kind: 'x', priority: 8 });
    assert.equal(m.increasePriority().priority, 9);
    assert.equal(m.increasePriority(5).priority, 10);
    assert.equal(m.decreasePriority(3).priority, 7);
    assert.equal(m.decreasePriority(100).priority, 1);
    assert.equal(m.decreasePriority().priority, 1);
  });

  it('maps message_type numbers 0/1/2 to sync/future/oneway', () => {
    assert.equal(new Message({ kind: 'x', message_type: 0 }).message_type, 'sync');
    assert.equal(new Message({ kind: 'x', message_type: 1 }).message_type, 'future');
    assert.equal(new Message({ kind: 'x', message_type: 2 }).message_type, 'oneway');
    assert.equal(new Message({ kind: 'x', message_type: 'oneway' }).message_type, 'oneway');
    assert.equal(new Message({ kind: 'x' }).message_type, 'sync');
  });

  it('generates distinct 32-hex message ids and keeps given ones', () => {
    const a = new Message('x');
    const b = new Message('x');
    assert.match(a.message_id, /^[0-9a-f]{32}$/);
    assert.notEqual(a.message_id, b.message_id);
    assert.equal(new Message({ kind: 'x', message_id: 'given-1' }).message_id, 'given-1');
  });

  it('builds from kind + args and serializes every field', () => {
    const m = new Message('inc', { by: 2 });
    assert.equal(m.kind, 'inc');
    assert.deepEqual(m.args, { by: 2 });
    assert.equal(m.arg, null);
    assert.equal(m.sender, null);
    const json = m.toJSON();
    assert.deepEqual(Object.keys(json).sort(), [
      'arg',
      'args',
      'kind',
      'message_id',
      'message_type',
      'priority',
      'reply_to',
      'sender',
      'timestamp',
    ]);
    assert.equal(typeof json.timestamp, 'number');
    const copy = new Message(json);
    assert.deepEqual(copy.toJSON(), json);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mailbox } from '../../src/runtime/mailbox.ts';

describe('Mailbox', () => {
  it('serves higher priorities first and FIFO within a priority', () => {
    const box = new Mailbox<string>();
    box.push('a5', 5);
    box.push('b1', 1);
    box.push('c10', 10);
    box.push('d5', 5);
    box.push('e1', 1);
    box.push('f10', 10);
    box.push('g7', 7);
    const order: string[] = [];
    for (let item = box.shift(); item !== undefined; item = box.shift()) order.push(item);
    assert.deepEqual(order, ['c10', 'f10', 'g7', 'a5', 'd5', 'b1', 'e1']);
    assert.equal(box.shift(), undefined);
  });

  it('keeps FIFO order when pushes and shifts interleave', () => {
    const box = new Mailbox<number>();
    box.push(1, 5);
    box.push(2, 5);
    assert.equal(box.shift(), 1);
    box.push(3, 5);
    box.push(4, 9);
    assert.equal(box.shift(), 4);
    assert.equal(box.shift(), 2);
    assert.equal(box.shift(), 3);
    assert.equal(box.queued, 0);
  });

  it('counts queued entries and reports counters', () => {
    const box = new Mailbox<number>();
    assert.deepEqual(box.counters(), { queued_count: 0, in_flight_count: 0, delivered_count: 0, failed_count: 0 });
    box.push(1, 3);
    box.push(2, 8);
    box.push(3, 3);
    assert.equal(box.queued, 3);
    box.shift();
    box.inFlight = 1;
    box.delivered = 4;
    box.failed = 2;
    assert.deepEqual(box.counters(), { queued_count: 2, in_flight_count: 1, delivered_count: 4, failed_count: 2 });
  });

  it('drains every entry in priority order and leaves the box empty', () => {
    const box = new Mailbox<string>();
    box.push('low', 1);
    box.push('high', 10);
    box.push('mid', 5);
    box.push('mid2', 5);
    assert.deepEqual(box.drain(), ['high', 'mid', 'mid2', 'low']);
    assert.equal(box.queued, 0);
    assert.equal(box.shift(), undefined);
    assert.deepEqual(box.drain(), []);
    box.push('again', 2);
    assert.equal(box.shift(), 'again');
  });
});

/** Itinerary plans: pure functions over plain, serializable plan data. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addDefaultTask,
  addDestination,
  addTask,
  createItinerary,
  createTaskItinerary,
  dispatchNext,
  firstDestination,
  hasNext,
  itineraryCounts,
  itineraryTask,
  lastDestination,
  makeImmutable,
  nextDestination,
  peekNext,
  removeDestination,
  setDefaultPhases,
  skipNext,
  tasksForPhase,
  type ItineraryPlan,
} from '../../src/patterns/index.ts';
import { ValidationError } from '../../src/core/errors.ts';
import type { AgentHandle, MoveTarget } from '../../src/core/agent.ts';

/** Walks a plan with `next` until exhausted (bounded). */
function walk(plan: ItineraryPlan, max = 20): string[] {
  const out: string[] = [];
  let p = plan;
  for (let i = 0; i < max; i++) {
    const r = nextDestination(p);
    p = r.plan;
    if (r.destination === null) break;
    out.push(r.destination);
  }
  return out;
}

describe('ItineraryPlan', () => {
  it('starts before the first destination and is plain JSON data', () => {
    const plan = createItinerary(['a', 'b']);
    assert.deepEqual(plan, {
      destinations: ['a', 'b'],
      current_index: -1,
      current_location: null,
      visited_destinations: [],
      mutable: true,
      circular: false,
      loop_count: 0,
      completed: false,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
  });

  it('next advances, records visits, and completes when exhausted', () => {
    const p0 = createItinerary(['a', 'b']);
    const r1 = nextDestination(p0);
    assert.equal(r1.destination, 'a');
    assert.equal(r1.plan.current_index, 0);
    assert.equal(r1.plan.current_location, 'a');
    assert.deepEqual(p0.visited_destinations, [], 'the input plan is unchanged');
    const r2 = nextDestination(r1.plan);
    assert.equal(r2.destination, 'b');
    assert.deepEqual(r2.plan.visited_destinations, ['a', 'b']);
    const r3 = nextDestination(r2.plan);
    assert.equal(r3.destination, null);
    assert.equal(r3.plan.completed, true);
    assert.equal(r3.plan.current_location, 'b');
    assert.equal(hasNext(r2.plan), false);
    assert.equal(nextDestination(createItinerary([])).destination, null);
  });

  it('a circular plan wraps around and counts loops', () => {
    const plan = createItinerary(['a', 'b'], { circular: true });
    let p = plan;
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = nextDestination(p);
      p = r.plan;
      seen.push(r.destination!);
    }
    assert.deepEqual(seen, ['a', 'b', 'a', 'b', 'a']);
    assert.equal(p.loop_count, 2);
    assert.equal(p.completed, false);
    assert.equal(peekNext(p), 'b');
  });

  it('add appends, inserts at an index or after a value, and can refuse duplicates', () => {
    let p = createItinerary(['a', 'c']);
    p = addDestination(p, 'd');
    p = addDestination(p, 'b', { after: 'a' });
    p = addDestination(p, 'z', { index: 0 });
    assert.deepEqual(p.destinations, ['z', 'a', 'b', 'c', 'd']);
    assert.equal(addDestination(p, 'a', { unique: true }), p, 'no-dup add returns the same plan');
    assert.deepEqual(addDestination(p, 'a').destinations, ['z', 'a', 'b', 'c', 'd', 'a']);
    assert.throws(() => addDestination(p, 'x', { after: 'nope' }), ValidationError);
    assert.throws(() => addDestination(p, 'x', { index: 99 }), ValidationError);
    assert.throws(() => addDestination(p, ''), ValidationError);
  });

  it('adding or removing around the current stop keeps the next stop', () => {
    let p = nextDestination(nextDestination(createItinerary(['a', 'b', 'c'])).plan).plan; // at b
    assert.equal(peekNext(p), 'c');
    p = addDestination(p, 'x', { index: 0 });
    assert.equal(p.current_location, 'b');
    assert.equal(peekNext(p), 'c');
    p = removeDestination(p, 'a');
    assert.equal(peekNext(p), 'c');
    p = removeDestination(p, 'b'); // the current stop itself
    assert.equal(peekNext(p), 'c');
    assert.deepEqual(walk(p), ['c']);
  });

  it('remove by value or index; errors for unknown values and bad indexes', () => {
    const p = createItinerary(['a', 'b', 'a']);
    assert.deepEqual(removeDestination(p, 'a').destinations, ['b', 'a']);
    assert.deepEqual(removeDestination(p, { value: 'b' }).destinations, ['a', 'a']);
    assert.deepEqual(removeDestination(p, 2).destinations, ['a', 'b']);
    assert.deepEqual(removeDestination(p, { index: 0 }).destinations, ['b', 'a']);
    assert.throws(() => removeDestination(p, 'zz'), ValidationError);
    assert.throws(() => removeDestination(p, 3), ValidationError);
  });

  it('an immutable plan refuses changes but still walks', () => {
    const p = makeImmutable(createItinerary(['a', 'b']));
    assert.throws(() => addDestination(p, 'c'), /immutable/);
    assert.throws(() => removeDestination(p, 'a'), /immutable/);
    assert.deepEqual(walk(p), ['a', 'b']);
    assert.equal(createItinerary([], { mutable: false }).mutable, false);
  });

  it('skip_next skips without visiting; counts, first and last', () => {
    const p = createItinerary(['a', 'b', 'c', 'd']);
    const skipped = skipNext(p);
    assert.equal(peekNext(skipped), 'b');
    assert.deepEqual(skipped.visited_destinations, []);
    assert.deepEqual(walk(skipNext(p, 2)), ['c', 'd']);
    assert.equal(skipNext(p, 10).completed, true);
    assert.deepEqual(itineraryCounts(p), { total: 4, visited: 0, remaining: 4 });
    const at2 = nextDestination(nextDestination(p).plan).plan;
    assert.deepEqual(itineraryCounts(at2), { total: 4, visited: 2, remaining: 2 });
    assert.equal(firstDestination(p), 'a');
    assert.equal(lastDestination(p), 'd');
    assert.equal(firstDestination(createItinerary()), null);
    assert.equal(lastDestination(createItinerary()), null);
  });
});

describe('dispatchNext', () => {
  function traveller(plan: ItineraryPlan, fail = false) {
    const calls: { target: MoveTarget; planAtDispatch: ItineraryPlan }[] = [];
    const agent = {
      state: { itinerary: plan },
      async dispatch(target: MoveTarget): Promise<AgentHandle> {
        calls.push({ target, planAtDispatch: agent.state.itinerary });
        if (fail) throw new Error('unreachable');
        return { ref: { host_url: String(target), agent_id: 'x' } } as AgentHandle;
      },
    };
    return { agent, calls };
  }

  it('advances the plan before dispatching (the plan that travels points at the target)', async () => {
    const { agent, calls } = traveller(createItinerary(['http://b:1', 'http://c:1']));
    const moved = await dispatchNext(agent);
    assert.equal(moved?.ref.host_url, 'http://b:1');
    assert.equal(calls[0]!.target, 'http://b:1');
    assert.equal(calls[0]!.planAtDispatch.current_location, 'http://b:1');
    assert.equal(calls[0]!.planAtDispatch.current_index, 0);
  });

  it('resolves null and marks the plan completed when exhausted', async () => {
    const { agent, calls } = traveller(createItinerary([]));
    assert.equal(await dispatchNext(agent), null);
    assert.equal(agent.state.itinerary.completed, true);
    assert.equal(calls.length, 0);
  });

  it('restores the plan when the move fails', async () => {
    const plan = createItinerary(['http://b:1']);
    const { agent } = traveller(plan, true);
    await assert.rejects(dispatchNext(agent), /unreachable/);
    assert.equal(agent.state.itinerary, plan);
  });
});

describe('TaskItineraryPlan', () => {
  it('tasksForPhase: enabled defaults first, then the destination tasks of that phase', () => {
    let p = createTaskItinerary(['a', 'b']);
    p = addDefaultTask(p, itineraryTask('log', 'default'));
    p = addTask(p, 'a', itineraryTask('collect', 'arrival', { depth: 2 }));
    p = addTask(p, 'a', itineraryTask('pack', 'dispatch'));
    p = addTask(p, 'a', itineraryTask('undo', 'reverting'));
    p = addTask(p, 'a', itineraryTask('either', 'default'));
    const names = (dest: string, phase: 'arrival' | 'dispatch' | 'reverting') => tasksForPhase(p, dest, phase).map((t) => t.name);
    assert.deepEqual(names('a', 'arrival'), ['log', 'collect', 'either']);
    assert.deepEqual(names('a', 'dispatch'), ['pack']);
    assert.deepEqual(names('a', 'reverting'), ['undo']);
    assert.deepEqual(names('b', 'arrival'), ['log']);
    assert.deepEqual(tasksForPhase(p, 'a', 'arrival')[1]!.args, { depth: 2 });
    const flipped = setDefaultPhases(p, { arrival: false, dispatch: true });
    assert.deepEqual(tasksForPhase(flipped, 'a', 'arrival').map((t) => t.name), ['collect']);
    assert.deepEqual(tasksForPhase(flipped, 'a', 'dispatch').map((t) => t.name), ['log', 'pack', 'either']);
    assert.deepEqual(tasksForPhase(p, null, 'arrival').map((t) => t.name), ['log']);
  });

  it('defaults: arrival on, dispatch and reverting off; default tasks must be execution default', () => {
    const p = createTaskItinerary(['a']);
    assert.equal(p.default_on_arrival, true);
    assert.equal(p.default_on_dispatch, false);
    assert.equal(p.default_on_reverting, false);
    assert.throws(() => addDefaultTask(p, itineraryTask('x', 'arrival')), /must have execution 'default'/);
    assert.throws(() => itineraryTask('x', 'sometimes' as never), /execution must be one of/);
    assert.throws(() => itineraryTask(''), ValidationError);
  });

  it('the plan functions keep task fields and never mutate their input', () => {
    const p = addTask(createTaskItinerary(['a', 'b']), 'b', itineraryTask('t'));
    const frozen = structuredClone(p);
    const moved = nextDestination(addDestination(removeDestination(p, 'a'), 'c')).plan;
    assert.deepEqual(p, frozen);
    assert.deepEqual(moved.tasks, p.tasks);
    assert.equal(moved.default_on_arrival, true);
    assert.equal(moved.current_location, 'b');
  });
});

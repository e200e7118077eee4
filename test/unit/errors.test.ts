import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as errors from '../../src/core/errors.ts';
import {
  AgentCrashedError,
  AgentNotFoundError,
  AuthenticationError,
  ConflictError,
  NotHandledError,
  PayloadTooLargeError,
  TagletsError,
  errorFromWire,
  errorToWire,
  errorTypes,
  isWireError,
} from '../../src/core/errors.ts';

describe('errors', () => {
  it('rebuilds known classes from the wire with their status', () => {
    const cases: [errors.TagletsError['constructor'], string, number][] = [
      [NotHandledError, 'NotHandledError', 422],
      [AgentNotFoundError, 'AgentNotFoundError', 404],
      [ConflictError, 'ConflictError', 409],
      [AuthenticationError, 'AuthenticationError', 401],
      [PayloadTooLargeError, 'PayloadTooLargeError', 413],
      [AgentCrashedError, 'AgentCrashedError', 400],
    ];
    for (const [Cls, type, status] of cases) {
      const err = errorFromWire({ error_type: type, error: `msg ${type}`, details: { x: 1 } });
      assert.ok(err instanceof Cls, `${type} should rebuild as its class`);
      assert.ok(err instanceof TagletsError);
      assert.equal(err.errorType, type);
      assert.equal(err.name, type);
      assert.equal(err.status, status);
      assert.equal(err.message, `msg ${type}`);
      assert.deepEqual(err.details, { x: 1 });
    }
  });

  it('keeps the status of the class even when the wire status differs', () => {
    assert.equal(errorFromWire({ error_type: 'NotHandledError', error: 'x' }, 500).status, 422);
  });

  it('keeps error_type and status of unknown types', () => {
    const err = errorFromWire({ error_type: 'SomethingNewError', error: 'from the future' }, 418);
    assert.ok(err instanceof TagletsError);
    assert.equal(err.errorType, 'SomethingNewError');
    assert.equal(err.status, 418);
    assert.equal(err.message, 'from the future');
    assert.deepEqual(err.toWire(), { error_type: 'SomethingNewError', error: 'from the future' });
    assert.equal(errorFromWire({ error_type: 'Other', error: 'x' }).status, 400);
  });

  it('lists every class in errorTypes under a distinct name that matches its class', () => {
    assert.equal(new Set(errorTypes).size, errorTypes.length);
    assert.ok(errorTypes.length >= 20);
    const exported = errors as unknown as Record<string, unknown>;
    for (const type of errorTypes) {
      const Cls = exported[type] as new (m: string) => TagletsError;
      assert.equal(typeof Cls, 'function', `${type} is exported`);
      const err = new Cls('m');
      assert.equal(err.errorType, type);
      assert.equal(err.toWire().error_type, type);
      assert.ok(err.status >= 400 && err.status < 600, `${type} has an error status`);
    }
    // Every exported error class is in the registry.
    for (const [name, value] of Object.entries(exported)) {
      if (typeof value === 'function' && value.prototype instanceof Error) {
        assert.ok(errorTypes.includes(name), `${name} is listed in errorTypes`);
      }
    }
  });

  it('turns thrown values into wire errors', () => {
    assert.deepEqual(errorToWire(new ConflictError('taken')), { error_type: 'ConflictError', error: 'taken' });
    assert.deepEqual(errorToWire(new RangeError('bad')), { error_type: 'RangeError', error: 'bad' });
    assert.deepEqual(errorToWire('plain'), { error_type: 'Error', error: 'plain' });
    assert.ok(isWireError({ error_type: 'X', error: 'y' }));
    assert.ok(!isWireError({ error_type: 'X' }));
    assert.ok(!isWireError(null));
  });
});

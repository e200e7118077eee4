import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ClassNotFoundError } from '../../src/core/errors.ts';
import { loadAgentClass, parseClassRef, resolveSpecifier } from '../../src/runtime/class-loader.ts';

describe('class references', () => {
  it('parses "<specifier>#<Export>" at the last #', () => {
    assert.deepEqual(parseClassRef('./agents/counter.js#Counter'), { specifier: './agents/counter.js', exportName: 'Counter' });
    assert.deepEqual(parseClassRef('taglets/system#ServerInfoAgent'), { specifier: 'taglets/system', exportName: 'ServerInfoAgent' });
    assert.deepEqual(parseClassRef('./odd#name.js#X'), { specifier: './odd#name.js', exportName: 'X' });
  });

  it('rejects references without a module or an export, with a hint', () => {
    for (const bad of ['Counter', '#Counter', './agents/counter.js#', '', '#']) {
      assert.throws(
        () => parseClassRef(bad),
        (err: unknown) =>
          err instanceof ClassNotFoundError &&
          err.message.includes(`'${bad}'`) &&
          err.message.includes('<module>#<ExportName>'),
        `'${bad}' should be rejected`,
      );
    }
  });

  it('resolves relative paths against the root, keeps file: URLs and package specifiers', () => {
    assert.equal(resolveSpecifier('./a.js', '/srv/root'), pathToFileURL(resolve('/srv/root', 'a.js')).href);
    assert.equal(resolveSpecifier('../b.js', '/srv/root'), pathToFileURL('/srv/b.js').href);
    assert.equal(resolveSpecifier('/abs/c.js', '/srv/root'), pathToFileURL('/abs/c.js').href);
    assert.equal(resolveSpecifier('file:///x/y.js', '/srv/root'), 'file:///x/y.js');
    assert.equal(resolveSpecifier('my-pkg/agents', '/srv/root'), 'my-pkg/agents');
  });

  it('fails to load a missing module with ClassNotFoundError naming the reference', async () => {
    await assert.rejects(loadAgentClass('./does-not-exist.js#X', '/nonexistent-root'), (err: unknown) => {
      assert.ok(err instanceof ClassNotFoundError);
      assert.match(err.message, /cannot import '\.\/does-not-exist\.js'/);
      return true;
    });
  });
});

/** The `taglets` CLI against a real host: agents commands, exit codes, help, host errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HostClient } from 'taglets/client';
import { runCli, spawnHost, waitFor, type SpawnedHost } from 'taglets/testing';
import { FIXTURES } from './helpers.ts';

const COUNTER = './agents.js#Counter';

let host: SpawnedHost;
/** `taglets --entry <host> ...args` */
const cli = (...args: string[]) => runCli(['--entry', host.url, ...args]);

before(async () => {
  host = await spawnHost({ name: 'cli-host', root: FIXTURES });
});
after(() => host?.stop());

describe('taglets agents', () => {
  it('ls exits 1 on an empty host', async () => {
    const [table, json] = await Promise.all([cli('agents', 'ls'), cli('agents', 'ls', '--json')]);
    assert.equal(table.code, 1, table.stderr);
    assert.match(table.stdout, /no agents on http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(json.code, 1, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { agents: [] });
  });

  // Independent commands run side by side: each CLI start costs a Node start and its imports.
  it('create, ls, send, state, dispose', async () => {
    const [created, plain] = await Promise.all([
      cli('agents', 'create', COUNTER, '--init', '"cli"', '--state', '{"count": 3}', '--id', 'cli-1', '--json'),
      cli('agents', 'create', COUNTER),
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout), { proxy: { host_url: host.url, agent_id: 'cli-1' } });
    assert.equal(plain.code, 0, plain.stderr);
    const plainId = plain.stdout.trim();
    assert.match(plainId, /^[0-9a-f]{32}$/);

    const [list, table, sent, echo] = await Promise.all([
      cli('agents', 'ls', '--json'),
      cli('agents', 'ls'),
      cli('agents', 'send', 'cli-1', 'inc', '--args', '{"by": 2}', '--json'),
      cli('agents', 'send', plainId, 'echo', '--arg', '{"x": [1, 2]}', '--json'),
    ]);
    assert.equal(list.code, 0, list.stderr);
    const agents = JSON.parse(list.stdout).agents as { agent_id: string; agent_class: string; active: boolean }[];
    assert.deepEqual(agents.map((a) => a.agent_id).sort(), [plainId, 'cli-1'].sort());
    assert.ok(agents.every((a) => a.agent_class === COUNTER && a.active));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /AGENT/);
    assert.match(table.stdout, /cli-1/);
    assert.match(table.stdout, /active/);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(JSON.parse(sent.stdout), { result: 5 });
    assert.deepEqual(JSON.parse(echo.stdout), { result: { x: [1, 2] } });

    const sentPlain = await cli('agents', 'send', 'cli-1', 'inc', '--priority', '9');
    assert.equal(sentPlain.code, 0, sentPlain.stderr);
    assert.equal(sentPlain.stdout, '6\n');
    const oneway = await cli('agents', 'send', 'cli-1', 'inc', '--oneway');
    assert.equal(oneway.code, 0, oneway.stderr);
    assert.equal(oneway.stdout, 'queued\n');

    const state = await waitFor(async () => {
      const r = await cli('agents', 'state', 'cli-1', '--json');
      assert.equal(r.code, 0, r.stderr);
      const parsed = JSON.parse(r.stdout);
      return parsed.state.count === 7 ? parsed : null;
    });
    assert.equal(state.agent_id, 'cli-1');
    assert.equal(state.state_live, true);
    assert.deepEqual(state.state.trail.slice(0, 1), ['created:cli-host:cli']);

    const [statePlain, disposedPlain] = await Promise.all([cli('agents', 'state', 'cli-1'), cli('agents', 'dispose', plainId)]);
    assert.equal(statePlain.code, 0, statePlain.stderr);
    assert.match(statePlain.stdout, /^cli-1 {2}\.\/agents\.js#Counter {2}active {2}pid \d+/);
    assert.match(statePlain.stdout, /"count": 7/);
    assert.equal(disposedPlain.code, 0, disposedPlain.stderr);
    assert.equal(disposedPlain.stdout, `disposed ${plainId}\n`);

    const disposed = await cli('agents', 'dispose', 'cli-1', '--json');
    assert.equal(disposed.code, 0, disposed.stderr);
    assert.deepEqual(JSON.parse(disposed.stdout), { ok: true, agent_id: 'cli-1' });
    assert.equal((await cli('agents', 'ls')).code, 1);
  });

  it('exits 2 with a message on stderr for errors', async () => {
    const cases: [string[], RegExp][] = [
      [['agents', 'send', 'ghost', 'inc'], /AgentNotFoundError: .*ghost/],
      [['agents', 'create', './agents.js#Nope'], /ClassNotFoundError: .*Nope/],
      [['agents', 'create', COUNTER, '--state', '{oops'], /--state must be JSON/],
      [['agents', 'send', 'x', 'inc', '--args', '[1]'], /--args must be a JSON object/],
      [['agents', 'send', 'x', 'inc', '--priority', 'high'], /--priority must be a number/],
      [['agents', 'ls', '--state', 'sleeping'], /--state must be active, inactive or all/],
      [['agents', 'frobnicate'], /unknown command/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    });
  });

  it('with --json reports errors as {error_type, error} and still exits 2', async () => {
    const r = await cli('agents', 'send', 'ghost', 'inc', '--json');
    assert.equal(r.code, 2, r.stderr);
    const err = JSON.parse(r.stdout);
    assert.equal(err.error_type, 'AgentNotFoundError');
    assert.match(err.error, /ghost/);
  });

  it('exits 2 when the entry host cannot be reached', async () => {
    const dead = await runCli(['--entry', 'http://127.0.0.1:1', 'agents', 'ls']);
    assert.equal(dead.code, 2, dead.stderr);
    assert.match(dead.stderr, /cannot reach host at http:\/\/127\.0\.0\.1:1/);
  });

  it('--help of every command exits 0 and shows an example', async () => {
    const commands = [[], ['agents'], ['agents', 'ls'], ['agents', 'create'], ['agents', 'send'], ['agents', 'state'], ['agents', 'dispose'], ['host']];
    const results = await Promise.all(commands.map((c) => runCli([...c, '--help'])));
    results.forEach((r, i) => {
      const name = ['taglets', ...commands[i]!].join(' ');
      assert.equal(r.code, 0, `${name} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: taglets/, name);
      assert.match(r.stdout, /Example/, name);
    });
  });
});

describe('taglets host', () => {
  it('exits 2 with a clear message when the port is in use', async () => {
    const port = new URL(host.url).port;
    const dir = mkdtempSync(join(tmpdir(), 'taglets-cli-'));
    try {
      const r = await runCli(['host', '--name', 'clash', '--port', port, '--persistence-dir', dir], { timeoutMs: 15_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
      assert.doesNotMatch(r.stdout, /listening/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The running host is unaffected.
    assert.equal((await new HostClient(host.url).health()).name, 'cli-host');
  });

  it('exits 2 for invalid flags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taglets-cli-'));
    try {
      const cases: [string[], RegExp][] = [
        [['--port', '70000'], /--port must be 0\.\.65535/],
        [['--max-body-size', '12 parsecs'], /--max-body-size: invalid size/],
        [['--property', 'novalue'], /--property must be KEY=VALUE/],
      ];
      const results = await Promise.all(
        cases.map(([args]) => runCli(['host', '--name', 'bad', '--persistence-dir', dir, ...args], { timeoutMs: 15_000 })),
      );
      results.forEach((r, i) => {
        assert.equal(r.code, 2, cases[i]![0].join(' '));
        assert.match(r.stderr, cases[i]![1]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * System services without a host: the user-info notify line, request validation of the
 * server-info and user-info contracts, and the bundled launch config declaring the three
 * system services with classes that really export agents offering those contracts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isAgentClass } from '../../src/core/agent.ts';
import { ServiceContractError } from '../../src/core/errors.ts';
import { parseLaunchConfig } from '../../src/services/launch-config.ts';
import * as system from '../../src/system/index.ts';
import { formatLocalTimestamp, formatNotifyLine, UserInfoContract } from '../../src/system/user-info.ts';

describe('user-info notify line', () => {
  const at = new Date(2025, 0, 31, 4, 5, 9);

  it('is `[YYYY-mm-dd HH:MM:SS] SEVERITY: title job=… source=…: message` in local time', () => {
    assert.equal(formatLocalTimestamp(at), '2025-01-31 04:05:09');
    assert.equal(
      formatNotifyLine({ severity: 'warning', title: 'disk almost full', message: '95% used', job: 'j42', source: 'collector' }, at),
      '[2025-01-31 04:05:09] WARNING: disk almost full job=j42 source=collector: 95% used',
    );
  });

  it('leaves out job and source when not given', () => {
    assert.equal(formatNotifyLine({ severity: 'info', title: 'done', message: 'all 20 tasks' }, at), '[2025-01-31 04:05:09] INFO: done: all 20 tasks');
    assert.equal(formatNotifyLine({ severity: 'Error', title: 't', message: 'm', source: 'pi' }, at), '[2025-01-31 04:05:09] ERROR: t source=pi: m');
  });
});

describe('contract validation', () => {
  const rejects = (fn: () => void, field: RegExp): void =>
    assert.throws(fn, (err: Error) => err instanceof ServiceContractError && field.test(err.message));

  it('server-info names the bad field', () => {
    const c = system.ServerInfoContract;
    rejects(() => c.checkRequest('load', { interval: 'soon' }), /server-info\.load request: interval/);
    rejects(() => c.checkRequest('load', { interval: -1 }), /interval/);
    rejects(() => c.checkRequest('df', { paths: '/' }), /paths/);
    rejects(() => c.checkRequest('plist', { limit: 2.5 }), /limit/);
    rejects(() => c.checkRequest('plist', { qurey: 'node' }), /qurey/);
    rejects(() => c.checkRequest('nope', {}), /no operation 'nope'/);
    c.checkRequest('load', { interval: 0.5, include_gpu: false });
    c.checkRequest('summary', {});
    assert.deepEqual([...c.capabilities], ['load', 'df', 'plist', 'summary']);
  });

  it('user-info checks severity and stream target', () => {
    rejects(() => UserInfoContract.checkRequest('notify', { severity: 'info', title: 't' }), /message/);
    rejects(() => UserInfoContract.checkRequest('stream', { text: 'x', target: 'printer' }), /target/);
    UserInfoContract.checkRequest('stream', { text: 'x' });
  });
});

describe('bundled launch config', () => {
  const path = new URL('../../launch/default-launch.toml', import.meta.url);
  const config = parseLaunchConfig(readFileSync(path, 'utf8'), path.pathname);

  it('declares server-info, mesh-info, user-info and compute-slots as documented', () => {
    assert.equal(config.configId, 'taglets-default-launch');
    const byService = Object.fromEntries(config.residents.map((r) => [r.service, r]));
    assert.deepEqual(
      Object.fromEntries(Object.entries(byService).map(([s, r]) => [s, [r.agent_class, r.agent_id, r.lifecycle, r.scope, r.idle_timeout]])),
      {
        'server-info': ['taglets/system#ServerInfoAgent', 'service.server-info', 'lazy', 'mesh', 30],
        'mesh-info': ['taglets/system#MeshInfoAgent', 'service.mesh-info', 'eager', 'mesh', 0],
        'user-info': ['taglets/system#UserInfoAgent', 'service.user-info', 'lazy', 'local', 30],
        'compute-slots': ['taglets/system#ComputeSlotsAgent', 'service.compute-slots', 'eager', 'mesh', 0],
      },
    );
  });

  it('names classes taglets/system exports, inline, offering the declared contract and scope', () => {
    for (const r of config.residents) {
      const [specifier, exportName] = r.agent_class.split('#');
      assert.equal(specifier, 'taglets/system');
      const cls = (system as Record<string, unknown>)[exportName!] as { runner: string; contract: { name: string }; defaultScope: string };
      assert.ok(isAgentClass(cls), `${exportName} is an Agent subclass`);
      assert.equal(cls.runner, 'inline');
      assert.equal(cls.contract.name, r.service);
      assert.equal(cls.defaultScope, r.scope);
      assert.equal(r.agent_id, `service.${r.service}`);
    }
    assert.equal(system.SYSTEM_SERVICE_IDS.meshInfo, system.MESH_INFO_AGENT_ID);
  });
});

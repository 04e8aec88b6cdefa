import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer, type TestServer } from '../harness.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/latchkey', import.meta.url));

async function cli(server: TestServer, ...args: string[]): Promise<{ code: number; json?: any; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args, '--database-url', server.config.databaseUrl]);
    const lines = stdout.trim().split('\n');
    return { code: 0, json: JSON.parse(lines[lines.length - 1]), stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('latchkey namespace list|delete, while a server runs on the same database', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite');
  });
  after(async () => {
    await server?.close();
  });

  const limit = (namespace: string) =>
    server.call('ratelimit.limit', { namespace, identifier: 'i', limit: 5, duration: 60_000 });

  it('lists the live namespaces of the workspace only', async () => {
    await limit('alpha');
    await limit('beta');
    const other = await server.newWorkspace();
    await server.call('ratelimit.limit', { namespace: 'theirs', identifier: 'i', limit: 5, duration: 60_000 }, other.rootKey);
    const res = await cli(server, 'namespace', 'list', '--workspace', server.workspaceId);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.json.namespaces.map((n: any) => n.name), ['alpha', 'beta']);
    for (const n of res.json.namespaces) {
      assert.match(n.id, /^rlns_/);
      assert.equal(typeof n.createdAt, 'number');
    }
  });

  it('deletes by name or id; the running server then refuses the namespace with 410', async () => {
    await limit('gamma');
    await limit('delta');
    const list = await cli(server, 'namespace', 'list', '--workspace', server.workspaceId);
    const delta = list.json.namespaces.find((n: any) => n.name === 'delta');
    const byName = await cli(server, 'namespace', 'delete', '--workspace', server.workspaceId, '--namespace', 'gamma');
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.json.namespaceId, /^rlns_/);
    const byId = await cli(server, 'namespace', 'delete', '--workspace', server.workspaceId, '--namespace', delta.id);
    assert.deepEqual(byId.json, { namespaceId: delta.id });
    const after = await cli(server, 'namespace', 'list', '--workspace', server.workspaceId);
    assert.deepEqual(after.json.namespaces.map((n: any) => n.name).filter((n: string) => n === 'gamma' || n === 'delta'), []);
    // The server holds namespaces in a short-lived cache; the deletion shows within a few seconds.
    const deadline = Date.now() + 5000;
    let status = 200;
    while (Date.now() < deadline && status !== 410) {
      status = (await limit('gamma')).status;
      if (status !== 410) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 410);
    assert.equal((await limit('delta')).status, 410);
  });

  it('fails with a message for an unknown namespace or workspace, or missing flags', async () => {
    const unknown = await cli(server, 'namespace', 'delete', '--workspace', server.workspaceId, '--namespace', 'nope');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /namespace 'nope' does not exist/);
    const noWorkspace = await cli(server, 'namespace', 'list', '--workspace', 'ws_missing');
    assert.equal(noWorkspace.code, 1);
    assert.match(noWorkspace.stderr, /workspace 'ws_missing' does not exist/);
    const noFlag = await cli(server, 'namespace', 'delete', '--workspace', server.workspaceId);
    assert.equal(noFlag.code, 1);
    assert.match(noFlag.stderr, /needs --namespace/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/index.ts';

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, '../../bin/latchkey');

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('latchkey migration create', () => {
  it('creates a migration in the workspace and prints its id as JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
    const url = `sqlite:${join(dir, 'cli.db')}`;
    try {
      const { workspaceId } = lastJson((await run(process.execPath, [bin, 'workspace', 'create', '--name', 'cli', '--database-url', url])).stdout);
      const { migrationId } = lastJson((await run(process.execPath, [bin, 'migration', 'create', '--workspace', workspaceId, '--database-url', url])).stdout);
      assert.match(migrationId, /^mig_/);
      const store = await openStore(url);
      try {
        assert.deepEqual(await store.keys.findMigration(workspaceId, migrationId), { id: migrationId, algorithm: 'sha256' });
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with one line for an unknown workspace or algorithm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
    const url = `sqlite:${join(dir, 'cli.db')}`;
    try {
      await assert.rejects(run(process.execPath, [bin, 'migration', 'create', '--workspace', 'ws_missing', '--database-url', url]), (err: any) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, /^latchkey: workspace 'ws_missing' does not exist\n$/);
        return true;
      });
      const { workspaceId } = lastJson((await run(process.execPath, [bin, 'workspace', 'create', '--name', 'cli', '--database-url', url])).stdout);
      await assert.rejects(
        run(process.execPath, [bin, 'migration', 'create', '--workspace', workspaceId, '--algorithm', 'md5', '--database-url', url]),
        (err: any) => /unknown algorithm 'md5'/.test(err.stderr),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

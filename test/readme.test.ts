import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnUntil, type Spawned } from '../bench/lib/process.ts';

/** The README, tried the way a newcomer would: start the server, take the printed key, run the curl example. */

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Every ```sh block of the README, in order. */
const shellBlocks = [...README.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

function firstBlockWith(text: string): string {
  const block = shellBlocks.find((b) => b.includes(text));
  assert.ok(block, `README.md has no sh block containing ${text}`);
  return block;
}

function bash(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('README', () => {
  it('starts with the two set-up commands', () => {
    assert.equal(shellBlocks[0].trim(), 'npm ci && npm start');
    assert.equal(shellBlocks[1].trim(), 'npm test');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.scripts.start, 'node --max-semi-space-size=64 bin/latchkey serve');
  });

  describe('on a fresh server', () => {
    let dir: string;
    let server: Spawned;
    let url: string;
    let rootKey: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'latchkey-readme-'));
      server = await spawnUntil(join(ROOT, 'bin/latchkey'), ['serve'], /^Latchkey listening on http:\/\//, {
        LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`,
        PORT: '0',
      });
      const output = server.output.join('\n');
      url = /^Latchkey listening on (http:\/\/\S+)/m.exec(output)![1];
      const key = /^\s+(lk_root_\S+)\s*$/m.exec(output);
      assert.ok(key, `no root key printed on first start:\n${output}`);
      rootKey = key[1];
    });
    after(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('creates an identity with the curl example', async () => {
      const env = { LATCHKEY_URL: url, ROOT_KEY: rootKey };
      const create = await bash(firstBlockWith('identities.createIdentity'), env);
      assert.equal(create.code, 0, create.stderr);
      const created = JSON.parse(create.stdout);
      assert.match(created.data.identityId, /^id_/);

      const res = await fetch(`${url}/v2/identities.getIdentity`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rootKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ identity: created.data.identityId }),
      });
      const got = await res.json();
      assert.equal(res.status, 200);
      assert.equal(got.data.externalId, 'user_123');
      assert.deepEqual(got.data.meta, { plan: 'pro' });
      assert.equal(got.data.ratelimits[0].name, 'requests');

      const read = await bash(firstBlockWith('identities.getIdentity'), env);
      assert.equal(read.code, 0, read.stderr);
      assert.equal(JSON.parse(read.stdout).data.id, created.data.identityId);
    });
  });
});

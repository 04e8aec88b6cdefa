import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { spawnUntil, type Spawned } from '../bench/lib/process.ts';
import { randomAlphanumeric } from '../src/core/ids.ts';
import { backends, POSTGRES_URL } from './harness.ts';

/** The command-line tool, run for real as separate processes. */

const BIN = resolve(fileURLToPath(import.meta.url), '../../bin/latchkey');
const ROOT_KEY = /\blk_root_[A-Za-z0-9]+\b/;
const LISTENING = /^Latchkey listening on (http:\/\/\S+)/;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bin/latchkey` with only the given settings in the environment (plus PATH and HOME). */
function latchkey(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(
      BIN,
      args,
      { env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

function serve(databaseUrl: string): Promise<Spawned> {
  return spawnUntil(BIN, ['serve'], LISTENING, { LATCHKEY_DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1' });
}

function urlOf(server: Spawned): string {
  for (const line of server.output) {
    const m = LISTENING.exec(line);
    if (m) return m[1];
  }
  throw new Error(`no listening line in ${server.output.join('\n')}`);
}

async function post(url: string, operation: string, body: unknown, key: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v2/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A bad setting ends the command with one line on stderr, exit code 1, and no stack trace. */
function assertOneLineError(result: Result, mentions: RegExp): void {
  assert.equal(result.code, 1, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assert.match(lines[0], /^latchkey: /);
  assert.match(lines[0], mentions);
  assert.doesNotMatch(result.stderr, /\n\s+at |Error:/);
  assert.doesNotMatch(result.stdout, ROOT_KEY);
}

describe('bin/latchkey', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('--help', () => {
    const cases: [string[], RegExp][] = [
      [['--help'], /Commands:[\s\S]*serve[\s\S]*workspace create[\s\S]*root-key create/],
      [['help'], /Commands:/],
      [[], /Commands:/],
      [['serve', '--help'], /latchkey serve[\s\S]*PORT[\s\S]*HOST[\s\S]*LATCHKEY_DATABASE_URL/],
      [['serve', '-h'], /latchkey serve/],
      [['workspace', '--help'], /workspace create --name/],
      [['workspace', 'create', '--help'], /workspace create --name/],
      [['root-key', '--help'], /root-key create --workspace[\s\S]*--permission/],
      [['root-key', 'create', '--help'], /root-key create --workspace/],
    ];
    for (const [args, expected] of cases) {
      it(`latchkey ${args.join(' ')}`, async () => {
        const res = await latchkey(args);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, expected);
        assert.equal(res.stderr, '');
      });
    }
  });

  describe('serve, workspace create and root-key create on one SQLite database', () => {
    let databaseUrl: string;
    let server: Spawned | undefined;
    let bootstrapKey: string;
    after(async () => server?.stop());

    it('prints a root key with every permission on the first start', async () => {
      databaseUrl = `sqlite:${join(dir, 'shared', 'latchkey.db')}`;
      server = await serve(databaseUrl);
      const printed = server.output.join('\n');
      const keys = printed.match(new RegExp(ROOT_KEY.source, 'g')) ?? [];
      assert.equal(keys.length, 1, printed);
      bootstrapKey = keys[0];
      const url = urlOf(server);
      const live = await fetch(`${url}/v2/liveness`);
      assert.equal(live.status, 200);
      assert.equal((await post(url, 'apis.createApi', { name: 'first-api' }, bootstrapKey)).status, 200);
      assert.equal((await post(url, 'identities.createIdentity', { externalId: 'default-user' }, bootstrapKey)).status, 200);
    });

    it('creates a workspace and a scoped root key while the server runs', async () => {
      const url = urlOf(server!);
      const ws = await latchkey(['workspace', 'create', '--name', 'team'], { LATCHKEY_DATABASE_URL: databaseUrl });
      assert.equal(ws.code, 0, ws.stderr);
      const { workspaceId } = JSON.parse(lastLine(ws.stdout));
      assert.match(workspaceId, /^ws_[A-Za-z0-9]+$/);

      const rk = await latchkey(
        ['root-key', 'create', '--workspace', workspaceId, '--permission', 'identity.*.create_identity', '--permission', 'identity.*.read_identity'],
        { LATCHKEY_DATABASE_URL: databaseUrl },
      );
      assert.equal(rk.code, 0, rk.stderr);
      const created = JSON.parse(lastLine(rk.stdout));
      assert.match(created.keyId, /^key_/);
      assert.match(created.key, ROOT_KEY);

      // The running server accepts the new key at once, for exactly its tuples and its workspace.
      const identity = await post(url, 'identities.createIdentity', { externalId: 'team-user' }, created.key);
      assert.equal(identity.status, 200);
      assert.equal((await post(url, 'identities.getIdentity', { identity: 'team-user' }, created.key)).status, 200);
      const forbidden = await post(url, 'apis.createApi', { name: 'nope' }, created.key);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.detail, "Missing permission: 'api.*.create_api'");
      assert.equal((await post(url, 'identities.updateIdentity', { identity: 'team-user', meta: {} }, created.key)).status, 403);
      assert.equal((await post(url, 'identities.deleteIdentity', { identity: 'team-user' }, created.key)).status, 403);
      // Another workspace's identity does not exist for it, and its identity does not exist for the first workspace.
      assert.equal((await post(url, 'identities.getIdentity', { identity: 'default-user' }, created.key)).status, 404);
      assert.equal((await post(url, 'identities.getIdentity', { identity: 'team-user' }, bootstrapKey)).status, 404);

      const full = await latchkey(['root-key', 'create', '--workspace', workspaceId, '--name', 'admin'], {
        LATCHKEY_DATABASE_URL: databaseUrl,
      });
      assert.equal(full.code, 0, full.stderr);
      const admin = JSON.parse(lastLine(full.stdout));
      assert.equal((await post(url, 'apis.createApi', { name: 'team-api' }, admin.key)).status, 200);
      assert.equal((await post(url, 'identities.deleteIdentity', { identity: 'team-user' }, admin.key)).status, 200);
    });

    it('prints no root key on the second start, and the first key keeps working', async () => {
      await server!.stop();
      assert.equal(server!.child.exitCode, 0);
      server = await serve(databaseUrl);
      assert.doesNotMatch(server.output.join('\n'), ROOT_KEY);
      const got = await post(urlOf(server), 'identities.getIdentity', { identity: 'default-user' }, bootstrapKey);
      assert.equal(got.status, 200);
    });
  });

  describe('several nodes starting at once on a new database', async () => {
    for (const backend of await backends()) {
      it(`create exactly one root key [${backend.name}]`, { skip: backend.skip }, async () => {
        let databaseUrl = `sqlite:${join(dir, 'together', 'latchkey.db')}`;
        let cleanup = async () => {};
        if (backend.name === 'postgres') {
          const schema = `t_${randomAlphanumeric(12).toLowerCase()}`;
          const admin = new pg.Client({ connectionString: POSTGRES_URL });
          await admin.connect();
          await admin.query(`CREATE SCHEMA ${schema}`);
          const url = new URL(POSTGRES_URL);
          url.searchParams.set('options', `-c search_path=${schema}`);
          databaseUrl = url.toString();
          cleanup = async () => {
            await admin.query(`DROP SCHEMA ${schema} CASCADE`);
            await admin.end();
          };
        }
        const nodes = await Promise.all([1, 2, 3].map(() => serve(databaseUrl)));
        try {
          const printed = nodes.flatMap((n) => n.output.join('\n').match(new RegExp(ROOT_KEY.source, 'g')) ?? []);
          assert.equal(printed.length, 1, nodes.map((n) => n.output.join('\n')).join('\n---\n'));
          for (const node of nodes) {
            const res = await post(urlOf(node), 'identities.listIdentities', {}, printed[0]);
            assert.equal(res.status, 200);
          }
        } finally {
          await Promise.all(nodes.map((n) => n.stop()));
          await cleanup();
        }
      });
    }
  });

  describe('bad settings', () => {
    it('refuses SQLite paths it cannot create or write', async () => {
      const file = join(dir, 'plain-file');
      writeFileSync(file, 'not a directory');
      const notDb = join(dir, 'not-a-db.db');
      writeFileSync(notDb, 'this is not an SQLite database, just text long enough to be read as one');
      const [proc, underFile, garbage, workspace] = await Promise.all([
        latchkey(['serve'], { LATCHKEY_DATABASE_URL: 'sqlite:/proc/latchkey/test.db' }),
        latchkey(['serve'], { LATCHKEY_DATABASE_URL: `sqlite:${file}/test.db` }),
        latchkey(['serve'], { LATCHKEY_DATABASE_URL: `sqlite:${notDb}` }),
        latchkey(['workspace', 'create', '--name', 'x'], { LATCHKEY_DATABASE_URL: `sqlite:${file}/sub/test.db` }),
      ]);
      assertOneLineError(proc, /SQLite.*\/proc\/latchkey/);
      assertOneLineError(underFile, /SQLite.*plain-file/);
      assertOneLineError(garbage, /SQLite.*not-a-db\.db/);
      assertOneLineError(workspace, /SQLite.*plain-file/);
    });

    it('refuses an unreachable PostgreSQL', async () => {
      const [serveRes, workspaceRes] = await Promise.all([
        latchkey(['serve'], { LATCHKEY_DATABASE_URL: 'postgres://127.0.0.1:1/x' }),
        latchkey(['workspace', 'create', '--name', 'x'], { LATCHKEY_DATABASE_URL: 'postgres://user:secret@127.0.0.1:1/x' }),
      ]);
      assertOneLineError(serveRes, /PostgreSQL.*127\.0\.0\.1:1/);
      assertOneLineError(workspaceRes, /PostgreSQL/);
      assert.doesNotMatch(workspaceRes.stderr, /secret/);
    });

    it('refuses bad ports, hosts, URLs and log levels', async () => {
      const db = `sqlite:${join(dir, 'settings.db')}`;
      const cases: [Record<string, string>, string[], RegExp][] = [
        [{ PORT: 'abc' }, ['serve'], /PORT/],
        [{ PORT: '70000' }, ['serve'], /PORT/],
        [{ PORT: '-1' }, ['serve'], /PORT/],
        [{}, ['serve', '--port', '1.5'], /PORT/],
        [{ LATCHKEY_DATABASE_URL: 'mysql://localhost/x' }, ['serve'], /LATCHKEY_DATABASE_URL/],
        [{ LATCHKEY_LOG_LEVEL: 'loud' }, ['serve'], /LATCHKEY_LOG_LEVEL/],
        [{ LATCHKEY_BODY_LIMIT: 'lots' }, ['serve'], /LATCHKEY_BODY_LIMIT/],
        [{ LATCHKEY_REDIS_URL: 'http://x' }, ['serve'], /LATCHKEY_REDIS_URL/],
        [{ HOST: '203.0.113.254' }, ['serve'], /cannot listen/],
      ];
      const results = await Promise.all(
        cases.map(([env, args]) => latchkey(args, { LATCHKEY_DATABASE_URL: db, PORT: '0', ...env })),
      );
      results.forEach((res, i) => assertOneLineError(res, cases[i][2]));
    });

    it('refuses a port already in use', async () => {
      const blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      const port = (blocker.address() as { port: number }).port;
      try {
        const res = await latchkey(['serve'], { LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'busy.db')}`, PORT: String(port) });
        assert.equal(res.code, 1);
        assert.match(res.stderr.trim(), new RegExp(`^latchkey: cannot listen on 127\\.0\\.0\\.1:${port}`));
        assert.doesNotMatch(res.stderr, /\n\s+at /);
      } finally {
        blocker.close();
      }
    });

    it('refuses unknown permission tuples, unknown workspaces and missing arguments', async () => {
      const env = { LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'keys.db')}` };
      const ws = await latchkey(['workspace', 'create', '--name', 'real'], env);
      const { workspaceId } = JSON.parse(lastLine(ws.stdout));
      const cases: [string[], RegExp][] = [
        [['root-key', 'create', '--workspace', workspaceId, '--permission', 'api.*.fly'], /api\.\*\.fly/],
        [['root-key', 'create', '--workspace', workspaceId, '--permission', 'nonsense'], /nonsense/],
        [['root-key', 'create', '--workspace', workspaceId, '--permission', 'wizard.*.read'], /wizard/],
        [['root-key', 'create', '--workspace', 'ws_doesnotexist'], /ws_doesnotexist/],
        [['root-key', 'create'], /--workspace/],
        [['root-key', 'rotate'], /rotate/],
        [['workspace', 'create'], /--name/],
        [['workspace', 'create', '--name', '  '], /--name/],
        [['workspace', 'remove'], /remove/],
        [['frobnicate'], /frobnicate/],
        [['serve', '--no-such-flag'], /no-such-flag/],
      ];
      const results = await Promise.all(cases.map(([args]) => latchkey(args, env)));
      results.forEach((res, i) => assertOneLineError(res, cases[i][1]));
    });
  });
});

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { backends, POSTGRES_URL } from '../harness.ts';
import { callOperation } from '../../bench/lib/api.ts';
import { randomAlphanumeric } from '../../src/core/ids.ts';

const BIN = new URL('../../bin/latchkey', import.meta.url).pathname;
const N = 25;

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Starts `latchkey serve` and waits until it listens; returns the process and what it printed. */
async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join('\n')}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output.push(...chunk.toString().split('\n'));
      // `serve` prints this line once it listens, after the first start's root key.
      if (/Latchkey listening on/.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output.join('\n')}`)));
  });
  return { child, output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  return code as number | null;
}


for (const backend of await backends()) {
  describe(`analytics across a restart [${backend.name}]`, { skip: backend.skip }, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups) await c();
    });

    it(`keeps exactly ${N} events after ${N} verifications and a SIGTERM`, async () => {
      let databaseUrl: string;
      if (backend.name === 'sqlite') {
        const dir = mkdtempSync(join(tmpdir(), 'latchkey-restart-'));
        databaseUrl = `sqlite:${join(dir, 'restart.db')}`;
        cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      } else {
        const name = `lk_restart_${randomAlphanumeric(10).toLowerCase()}`;
        const admin = new pg.Client({ connectionString: POSTGRES_URL });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        await admin.end();
        const url = new URL(POSTGRES_URL);
        url.pathname = `/${name}`;
        databaseUrl = url.toString();
        cleanups.push(async () => {
          const c = new pg.Client({ connectionString: POSTGRES_URL });
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await c.end();
        });
      }
      const port = await freePort();
      // Events stay in memory until the shutdown writes them: the timer would not fire during the test.
      const env = { LATCHKEY_DATABASE_URL: databaseUrl, PORT: String(port), LATCHKEY_ANALYTICS_FLUSH_MS: '3600000', LATCHKEY_LOG_LEVEL: 'info' };

      const first = await serve(env);
      let rootKey: string;
      try {
        const keyLine = first.output.map((l) => l.trim()).find((l) => /^[A-Za-z0-9_]{20,}$/.test(l));
        assert.ok(keyLine, `no root key printed:\n${first.output.join('\n')}`);
        rootKey = keyLine;
        const { apiId } = await callOperation(`http://127.0.0.1:${port}`, 'apis.createApi', { name: 'restart-api' }, rootKey);
        const { key } = await callOperation(`http://127.0.0.1:${port}`, 'keys.createKey', { apiId }, rootKey);
        for (let i = 0; i < N; i++) {
          const data = await callOperation(`http://127.0.0.1:${port}`, 'keys.verifyKey', { key, tags: ['restart'] }, rootKey);
          assert.equal(data.valid, true);
        }
      } finally {
        assert.equal(await stop(first.child), 0);
      }

      const second = await serve(env);
      try {
        const raw = await callOperation(`http://127.0.0.1:${port}`, 'analytics.getVerifications', { query: "SELECT count() AS n FROM key_verifications_v1 WHERE has(tags, 'restart')" }, rootKey);
        assert.deepEqual(raw, [{ n: N }]);
        const day = await callOperation(`http://127.0.0.1:${port}`, 'analytics.getVerifications', { query: 'SELECT sum(count) AS n FROM key_verifications_per_day_v1' }, rootKey);
        assert.deepEqual(day, [{ n: N }]);
      } finally {
        assert.equal(await stop(second.child), 0);
      }
    });
  });
}

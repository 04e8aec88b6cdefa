import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createApp, type App } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { ALL_ROOT_PERMISSIONS } from '../src/core/rootPermissions.ts';
import { randomAlphanumeric } from '../src/core/ids.ts';
import type { Clock } from '../src/services.ts';
import { assertMatchesContract } from './contract.ts';

export type BackendName = 'sqlite' | 'postgres';

export const POSTGRES_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let postgresProbe: Promise<string | undefined> | undefined;

/** Why PostgreSQL cannot be used for tests, or undefined when it can. */
export function postgresUnavailable(): Promise<string | undefined> {
  postgresProbe ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (err) {
      return `PostgreSQL at ${POSTGRES_URL} is unreachable (${(err as Error).message})`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresProbe;
}

/** Why Redis cannot be used for tests, or undefined when it can. */
export async function redisUnavailable(): Promise<string | undefined> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (err) {
    return `Redis at ${REDIS_URL} is unreachable (${(err as Error).message})`;
  } finally {
    probe.disconnect();
  }
}

export interface BackendCase {
  name: BackendName;
  /** Set when this backend cannot run here: the suite is skipped with this reason. */
  skip?: string;
}

/**
 * The backends every behaviour test runs on. Without PostgreSQL a developer's run skips it loudly;
 * in CI (CI=true) a missing PostgreSQL is a failure, never a skip.
 */
export async function backends(): Promise<BackendCase[]> {
  const reason = await postgresUnavailable();
  if (reason) {
    if (process.env.CI) throw new Error(`CI requires PostgreSQL: ${reason}`);
    console.warn(`\n*** SKIPPING PostgreSQL tests: ${reason} ***\n`);
  }
  return [{ name: 'sqlite' }, { name: 'postgres', skip: reason ? `SKIPPED: ${reason}` : undefined }];
}

export interface CallResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestServer {
  backend: BackendName;
  url: string;
  app: App;
  config: Config;
  /** PostgreSQL only: the schema this server's store lives in. */
  postgresSchema?: string;
  /** Workspace and all-permissions root key created for this server. */
  workspaceId: string;
  rootKey: string;
  /** A root key in the given workspace (default: this server's) holding exactly these tuples. */
  newRootKey(permissions: string[], workspaceId?: string): Promise<string>;
  newWorkspace(): Promise<{ workspaceId: string; rootKey: string }>;
  /**
   * POSTs to `/v2/<operation>` and checks the answer against the contract's response schema.
   * `key: null` sends no Authorization header.
   */
  call<T = any>(operation: string, body: unknown, key?: string | null, init?: { headers?: Record<string, string>; raw?: string | Uint8Array }): Promise<CallResult<T>>;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  env?: Record<string, string>;
  /** PostgreSQL only: run on this existing schema (another server's) instead of a fresh one; it is not dropped on close. */
  postgresSchema?: string;
}

/** Starts a real server on a free port over a fresh store: a temp SQLite file or a new PostgreSQL schema. */
export async function startServer(backend: BackendName, options: StartOptions = {}): Promise<TestServer> {
  let cleanup: () => Promise<void>;
  let databaseUrl: string;
  let schema: string | undefined;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'));
    databaseUrl = `sqlite:${join(dir, 'test.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else if (options.postgresSchema) {
    schema = options.postgresSchema;
    databaseUrl = POSTGRES_URL;
    cleanup = async () => {};
  } else {
    schema = `t_${randomAlphanumeric(12).toLowerCase()}`;
    databaseUrl = POSTGRES_URL;
    cleanup = async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    };
  }
  const config = loadConfig({ LATCHKEY_DATABASE_URL: databaseUrl, PORT: '0', LATCHKEY_LOG_LEVEL: 'error', ...options.env });
  const app = await createApp(config, { clock: options.clock, logger: false, connect: { schema, poolSize: 5 } });
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const store = app.services.store;

  const newWorkspace = async () => {
    const ws = await store.workspaces.create(`test-${randomAlphanumeric(6)}`);
    const { key } = await store.rootKeys.create(ws.id, ALL_ROOT_PERMISSIONS);
    return { workspaceId: ws.id, rootKey: key };
  };
  const main = await newWorkspace();

  const server: TestServer = {
    backend,
    url,
    app,
    config,
    postgresSchema: schema,
    workspaceId: main.workspaceId,
    rootKey: main.rootKey,
    async newRootKey(permissions, workspaceId = main.workspaceId) {
      return (await store.rootKeys.create(workspaceId, permissions)).key;
    },
    newWorkspace,
    async call(operation, body, key = main.rootKey, init = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
      if (key !== null) headers.authorization = `Bearer ${key}`;
      const res = await fetch(`${url}/v2/${operation}`, {
        method: 'POST',
        headers,
        body: (init.raw ?? JSON.stringify(body)) as BodyInit,
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`${operation} answered ${res.status} with a body that is not JSON: ${text.slice(0, 500)}`);
      }
      const contentType = res.headers.get('content-type') ?? '';
      if (res.status >= 500) throw new Error(`${operation} answered ${res.status}: ${text.slice(0, 1000)}`);
      assertMatchesContract(operation, res.status, contentType, parsed);
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async close() {
      await app.close();
      await cleanup();
    },
  };
  return server;
}

/**
 * Why the two-node tests (PostgreSQL and Redis) cannot run here, or undefined when they can. In CI
 * (CI=true) a missing service is a failure, never a skip; elsewhere the skip is announced loudly.
 */
export async function clusterUnavailable(suite: string): Promise<string | undefined> {
  const reason = (await postgresUnavailable()) ?? (await redisUnavailable());
  if (reason && process.env.CI) throw new Error(`CI requires PostgreSQL and Redis: ${reason}`);
  if (reason) console.warn(`\n*** SKIPPING ${suite}: ${reason} ***\n`);
  return reason;
}

/** Two nodes of one cluster: the same PostgreSQL schema and the same Redis. Close `b` before `a`. */
export async function startTwoNodes(): Promise<[TestServer, TestServer]> {
  const a = await startServer('postgres', { env: { LATCHKEY_REDIS_URL: REDIS_URL } });
  const b = await startServer('postgres', { env: { LATCHKEY_REDIS_URL: REDIS_URL }, postgresSchema: a.postgresSchema });
  return [a, b];
}

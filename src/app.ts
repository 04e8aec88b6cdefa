import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { ALL_ROOT_PERMISSIONS } from './core/rootPermissions.ts';
import { buildServer } from './server.ts';
import type { Clock, Services } from './services.ts';
import { openStore, type Store } from './store/index.ts';
import type { ConnectOptions } from './store/connection.ts';
import { MemoryRateLimiter } from './limiter/memory.ts';
import { RedisRateLimiter } from './limiter/redis.ts';
import { NamespaceCache } from './ratelimit/namespaces.ts';
import { createAnalyticsSink } from './analytics/index.ts';
import { InProcessCacheBus, KeyCache } from './cache/index.ts';
import { RedisCacheBus } from './cache/redisBus.ts';
import { Verifier } from './verify/verifier.ts';
import { permissionsSatisfy } from './core/permissionQuery.ts';
import { AnalyticsQueries } from './analytics/query/service.ts';

export interface App {
  server: FastifyInstance;
  services: Services;
  /** Stops accepting requests, drains work in flight and closes every connection. */
  close(): Promise<void>;
}

export interface AppOptions {
  clock?: Clock;
  logger?: boolean;
  connect?: ConnectOptions;
}

/** Wires the services for one node from its config. */
export async function createServices(config: Config, store: Store, clock: Clock): Promise<Services> {
  const limiter = config.redisUrl ? new RedisRateLimiter(config.redisUrl) : new MemoryRateLimiter(10_000, clock);
  const analytics = createAnalyticsSink(config, store, clock);
  const cacheBus = config.redisUrl ? await RedisCacheBus.connect(config.redisUrl) : new InProcessCacheBus();
  const cache = new KeyCache(store.keys, cacheBus, config.keyCacheSize);
  const verifier = new Verifier({
    keys: store.keys,
    cache,
    limiter,
    analytics,
    clock,
    nodeId: config.nodeId,
    evaluatePermissions: permissionsSatisfy,
  });
  const namespaces = new NamespaceCache(store.ratelimit, {}, cacheBus);
  const analyticsQueries = new AnalyticsQueries(store.backend, {
    timeoutMs: config.analyticsQueryTimeoutMs,
    maxRows: config.analyticsQueryMaxRows,
    defaultWindowDays: config.analyticsRetentionDays,
  });
  return { config, store, clock, limiter, analytics, analyticsQueries, cacheBus, cache, verifier, namespaces };
}

/** Releases what the services hold, after the HTTP server stopped: buffered events are written first. */
export async function closeServices(services: Services): Promise<void> {
  services.cache.close();
  await services.cacheBus.close();
  await services.analytics.close();
  await services.analyticsQueries.close();
  await services.limiter.close();
  await services.store.close();
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const store = await openStore(config.databaseUrl, options.connect);
  const services = await createServices(config, store, options.clock ?? Date.now);
  const server = await buildServer(services, { logger: options.logger });
  let closed = false;
  return {
    server,
    services,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await closeServices(services);
    },
  };
}

/**
 * On the very first start (no workspace yet) creates a default workspace and a root key with every
 * permission. Returns the plaintext key so it can be shown once; returns undefined on every later start.
 */
export async function bootstrap(store: Store): Promise<{ workspaceId: string; keyId: string; key: string } | undefined> {
  // Several nodes may start at once on one new database: exactly one of them creates the key.
  return store.exclusive(async ({ workspaces, rootKeys }) => {
    if ((await workspaces.count()) > 0) return undefined;
    const workspace = await workspaces.create('default');
    const rootKey = await rootKeys.create(workspace.id, ALL_ROOT_PERMISSIONS, 'bootstrap');
    return { workspaceId: workspace.id, ...rootKey };
  });
}

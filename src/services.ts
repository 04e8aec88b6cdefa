import type { Config } from './config.ts';
import type { Store } from './store/index.ts';
import type { RateLimiter } from './limiter/types.ts';
import type { AnalyticsSink } from './analytics/types.ts';
import type { CacheBus } from './cache/bus.ts';
import type { KeyCache } from './cache/keyCache.ts';
import type { Verifier } from './verify/verifier.ts';
import type { NamespaceCache } from './ratelimit/namespaces.ts';
import type { AnalyticsQueries } from './analytics/query/service.ts';

/** A source of the current time in unix ms; tests inject their own to cross windows and refill dates. */
export type Clock = () => number;

/** Everything a route handler may use. Built once per server by `createServices`. */
export interface Services {
  config: Config;
  store: Store;
  clock: Clock;
  /** Rate-limit counters: in memory on one node, Redis in a cluster. */
  limiter: RateLimiter;
  /** Where verification events go; never awaited on the hot path. */
  analytics: AnalyticsSink;
  /** Delivers cache invalidations to every node: in-process on one node, Redis pub/sub in a cluster. */
  cacheBus: CacheBus;
  /** Keys by hash and identities by id, for verification without a database read. */
  cache: KeyCache;
  verifier: Verifier;
  /** Rate-limit namespaces with their overrides, cached for limit checks. */
  namespaces: NamespaceCache;
  /** Runs analytics.getVerifications queries, read-only and confined to the caller's workspace. */
  analyticsQueries: AnalyticsQueries;
}

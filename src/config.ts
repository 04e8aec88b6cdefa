/** Every setting Latchkey reads, from the environment or from command-line flags (flags win). */
export interface Config {
  port: number;
  host: string;
  /** `sqlite:<path>` (default `sqlite:./data/latchkey.db`) or `postgres://...` */
  databaseUrl: string;
  /** `redis://...` for cluster mode: shared rate-limit counters and cache invalidation across nodes. */
  redisUrl: string | undefined;
  logLevel: string;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** How many keys the verification cache holds before evicting the least recently used. */
  keyCacheSize: number;
  /** Name of this node, recorded with analytics events. */
  nodeId: string;
  /** Days raw verification events are kept before pruning; rollups are kept. */
  analyticsRetentionDays: number;
  /** Whether verification events are recorded at all (`LATCHKEY_ANALYTICS=off` turns recording off). */
  analyticsEnabled: boolean;
  /** Most events held in memory awaiting a write; beyond it new events are dropped and counted. */
  analyticsBufferSize: number;
  /** Longest time an event waits in memory before it is written, in ms. */
  analyticsFlushMs: number;
  /** Longest an analytics query may run, in ms. */
  analyticsQueryTimeoutMs: number;
  /** Most rows an analytics query may return. */
  analyticsQueryMaxRows: number;
  /** Analytics queries each workspace may run per hour. */
  analyticsQueryQuota: number;
}

export class ConfigError extends Error {}

const FLAG_TO_ENV: Record<string, string> = {
  port: 'PORT',
  host: 'HOST',
  'database-url': 'LATCHKEY_DATABASE_URL',
  'redis-url': 'LATCHKEY_REDIS_URL',
  'log-level': 'LATCHKEY_LOG_LEVEL',
  'body-limit': 'LATCHKEY_BODY_LIMIT',
  'key-cache-size': 'LATCHKEY_KEY_CACHE_SIZE',
  'node-id': 'LATCHKEY_NODE_ID',
  'analytics-retention-days': 'LATCHKEY_ANALYTICS_RETENTION_DAYS',
  analytics: 'LATCHKEY_ANALYTICS',
  'analytics-buffer-size': 'LATCHKEY_ANALYTICS_BUFFER_SIZE',
  'analytics-flush-ms': 'LATCHKEY_ANALYTICS_FLUSH_MS',
  'analytics-query-timeout-ms': 'LATCHKEY_ANALYTICS_QUERY_TIMEOUT_MS',
  'analytics-query-max-rows': 'LATCHKEY_ANALYTICS_QUERY_MAX_ROWS',
  'analytics-query-quota': 'LATCHKEY_ANALYTICS_QUERY_QUOTA',
};

export const CONFIG_FLAGS = Object.keys(FLAG_TO_ENV);

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}, got '${raw}'`);
  }
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(raw: string): string {
  if (!LOG_LEVELS.includes(raw)) {
    throw new ConfigError(`LATCHKEY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${raw}'`);
  }
  return raw;
}

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be 'on' or 'off', got '${raw}'`);
}

/** Builds the config from env, overridden by flags given as `{ 'database-url': '...' }`. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  flags: Record<string, string | undefined> = {},
): Config {
  const get = (flag: string): string | undefined => flags[flag] ?? env[FLAG_TO_ENV[flag]];
  const databaseUrl = get('database-url') || 'sqlite:./data/latchkey.db';
  if (!/^sqlite:.+/.test(databaseUrl) && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      `LATCHKEY_DATABASE_URL must start with 'sqlite:' or 'postgres://', got '${databaseUrl}'`,
    );
  }
  const redisUrl = get('redis-url') || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(`LATCHKEY_REDIS_URL must start with 'redis://' or 'rediss://', got '${redisUrl}'`);
  }
  return {
    port: integer('PORT', get('port'), 8080, 0, 65535),
    host: get('host') || '127.0.0.1',
    databaseUrl,
    redisUrl,
    logLevel: logLevel(get('log-level') || 'info'),
    bodyLimit: integer('LATCHKEY_BODY_LIMIT', get('body-limit'), 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    keyCacheSize: integer('LATCHKEY_KEY_CACHE_SIZE', get('key-cache-size'), 1_000_000, 0, 100_000_000),
    nodeId: get('node-id') || `node-${process.pid}`,
    analyticsRetentionDays: integer(
      'LATCHKEY_ANALYTICS_RETENTION_DAYS', get('analytics-retention-days'), 30, 1, 3650,
    ),
    analyticsEnabled: onOff('LATCHKEY_ANALYTICS', get('analytics'), true),
    analyticsBufferSize: integer('LATCHKEY_ANALYTICS_BUFFER_SIZE', get('analytics-buffer-size'), 200_000, 1, 100_000_000),
    analyticsFlushMs: integer('LATCHKEY_ANALYTICS_FLUSH_MS', get('analytics-flush-ms'), 1000, 10, 3_600_000),
    analyticsQueryTimeoutMs: integer('LATCHKEY_ANALYTICS_QUERY_TIMEOUT_MS', get('analytics-query-timeout-ms'), 30_000, 1, 3_600_000),
    analyticsQueryMaxRows: integer('LATCHKEY_ANALYTICS_QUERY_MAX_ROWS', get('analytics-query-max-rows'), 100_000, 1, 10_000_000),
    analyticsQueryQuota: integer('LATCHKEY_ANALYTICS_QUERY_QUOTA', get('analytics-query-quota'), 1000, 1, 100_000_000),
  };
}

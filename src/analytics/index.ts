import type { Config } from '../config.ts';
import type { Clock } from '../services.ts';
import type { Store } from '../store/index.ts';
import { createAnalyticsWriter } from '../store/analytics.ts';
import { DisabledSink, PersistentSink } from './sink.ts';
import type { AnalyticsSink } from './types.ts';

const HOUR_MS = 3_600_000;

/** The node's analytics sink: events persisted in batches to the store, or ignored when recording is off. */
export function createAnalyticsSink(config: Config, store: Store, clock: Clock): AnalyticsSink {
  if (!config.analyticsEnabled) return new DisabledSink();
  return new PersistentSink(createAnalyticsWriter(store.backend), clock, {
    capacity: config.analyticsBufferSize,
    flushMs: config.analyticsFlushMs,
    // Larger batches cost less per event (fewer rollup upserts, fewer commits); they are decoded, summed and
    // written on the writer's own thread, so their size does not pause the requests in flight.
    batchSize: 50_000,
    retentionDays: config.analyticsRetentionDays,
    pruneEveryMs: HOUR_MS,
    onError: (err) => console.error(`analytics: writing verification events failed, will retry: ${(err as Error).message}`),
  });
}

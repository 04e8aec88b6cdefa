import type { Config } from '../config.ts';
import type { Clock } from '../services.ts';
import type { Store } from '../store/index.ts';
import { EventBuffer } from './buffer.ts';
import type { AnalyticsSink, VerificationEvent } from './types.ts';

/**
 * Holds verification events in a bounded buffer. Persisting them (batched inserts and rollups) is
 * the analytics store's job; until it is wired in, events stay in memory only.
 */
class BufferedSink implements AnalyticsSink {
  readonly buffer = new EventBuffer(100_000);

  record(event: VerificationEvent): void {
    this.buffer.push(event);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

export function createAnalyticsSink(_config: Config, _store: Store, _clock: Clock): AnalyticsSink {
  return new BufferedSink();
}

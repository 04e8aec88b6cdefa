import type { Clock } from '../services.ts';
import type { AnalyticsWriter } from '../store/analytics.ts';
import { EventBuffer } from './buffer.ts';
import { CHUNK_EVENTS } from './chunk.ts';
import type { AnalyticsSink, VerificationEvent } from './types.ts';

export interface SinkOptions {
  /** Events held in memory at most; when full, new events are dropped and counted in `stats().dropped`. */
  capacity: number;
  /** Longest time an event waits before it is written, in ms. */
  flushMs: number;
  /** A flush starts early once this many events wait, and writes at most this many per transaction. */
  batchSize: number;
  /** Raw events older than this many days are deleted; rollups stay. */
  retentionDays: number;
  /** How often the retention pruning runs, in ms. */
  pruneEveryMs: number;
  /** Told about write failures; the events stay buffered and are retried. */
  onError?: (err: unknown) => void;
}

export interface SinkStats {
  buffered: number;
  accepted: number;
  dropped: number;
  written: number;
  failedWrites: number;
}

const DAY_MS = 86_400_000;

/**
 * Records verification events without ever blocking or failing a verification: `record` only appends to a
 * bounded buffer, and a timer (or a full batch) writes them in the background. `close` writes everything left.
 */
export class PersistentSink implements AnalyticsSink {
  private readonly buffer: EventBuffer;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;
  private inFlight: Promise<void> | undefined;
  private earlyFlushQueued = false;
  private closed = false;
  private written = 0;
  private failedWrites = 0;

  constructor(
    private readonly writer: AnalyticsWriter,
    private readonly clock: Clock,
    private readonly options: SinkOptions,
  ) {
    this.buffer = new EventBuffer(options.capacity, Math.min(CHUNK_EVENTS, options.batchSize));
    this.flushTimer = setInterval(() => void this.flush().catch(() => {}), options.flushMs);
    this.flushTimer.unref();
    this.pruneTimer = setInterval(() => void this.prune().catch(() => {}), options.pruneEveryMs);
    this.pruneTimer.unref();
  }

  record(event: VerificationEvent): void {
    if (this.closed) return;
    this.buffer.push(event);
    if (this.buffer.length >= this.options.batchSize && !this.earlyFlushQueued && !this.inFlight) {
      this.earlyFlushQueued = true;
      setImmediate(() => {
        this.earlyFlushQueued = false;
        void this.flush().catch(() => {});
      });
    }
  }

  /** Writes every buffered event, batch by batch; one flush runs at a time. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight.catch(() => {});
    if (this.buffer.length === 0) return;
    this.inFlight = this.drain();
    try {
      await this.inFlight;
    } finally {
      this.inFlight = undefined;
    }
  }

  /**
   * Writes the events that were buffered when the flush began. Events recorded meanwhile wait for the next
   * flush: draining until the buffer is empty would, under steady load, chase the arrivals with ever
   * smaller batches (those that came in during the previous write), and a small batch costs several times
   * more per event than a large one (a transaction, and a rollup upsert per event instead of per group).
   */
  private async drain(): Promise<void> {
    this.buffer.seal();
    let left = this.buffer.length;
    while (left > 0) {
      const batch = this.buffer.take(Math.min(left, this.options.batchSize));
      const events = batch.reduce((n, chunk) => n + chunk.count, 0);
      left -= events;
      try {
        await this.writer.write(batch);
        this.written += events;
      } catch (err) {
        this.failedWrites++;
        this.buffer.restore(batch);
        this.options.onError?.(err);
        throw err;
      }
    }
  }

  /** Deletes raw events that fell out of the retention window. Returns how many were deleted. */
  async prune(): Promise<number> {
    return this.writer.pruneRaw(this.clock() - this.options.retentionDays * DAY_MS);
  }

  stats(): SinkStats {
    return {
      buffered: this.buffer.length,
      accepted: this.buffer.accepted,
      dropped: this.buffer.dropped,
      written: this.written,
      failedWrites: this.failedWrites,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    clearInterval(this.pruneTimer);
    try {
      await this.flush();
    } catch (err) {
      throw new Error(`${this.buffer.length} buffered verification events could not be written: ${(err as Error).message}`);
    } finally {
      await this.writer.close?.();
    }
  }
}

/** Used when recording is turned off: every event is ignored. */
export class DisabledSink implements AnalyticsSink {
  record(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

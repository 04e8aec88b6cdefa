import { CHUNK_EVENTS, EventChunk } from './chunk.ts';
import type { VerificationEvent } from './types.ts';

/**
 * A bounded in-memory queue of verification events, kept as encoded chunks (see EventChunk). When full,
 * the newest event is dropped and counted: verification never waits for analytics and memory never grows
 * without bound.
 */
export class EventBuffer {
  private chunks: EventChunk[] = [];
  /** Whether the last chunk still takes events; a chunk handed out by `take` must not change. */
  private open = false;
  private size = 0;
  /** Events refused because the buffer was full, since start. */
  dropped = 0;
  /** Events accepted, since start. */
  accepted = 0;

  constructor(
    readonly capacity: number,
    private readonly perChunk = CHUNK_EVENTS,
  ) {}

  push(event: VerificationEvent): boolean {
    if (this.size >= this.capacity) {
      this.dropped++;
      return false;
    }
    let last = this.chunks[this.chunks.length - 1];
    if (!this.open || last.full) {
      last = new EventChunk(this.perChunk);
      this.chunks.push(last);
      this.open = true;
    }
    last.append(event);
    this.size++;
    this.accepted++;
    return true;
  }

  /** Closes the chunk being filled, so that what is buffered now can be taken whole. */
  seal(): void {
    this.open = false;
  }

  /**
   * Takes the oldest chunks, as many as fit in `max` events (at least one); the open chunk is sealed
   * first if it is reached.
   */
  take(max: number): EventChunk[] {
    const taken: EventChunk[] = [];
    let events = 0;
    while (this.chunks.length > 0) {
      const next = this.chunks[0];
      if (taken.length > 0 && events + next.count > max) break;
      this.chunks.shift();
      if (this.chunks.length === 0) this.open = false;
      taken.push(next);
      events += next.count;
    }
    this.size -= events;
    return taken;
  }

  /** Puts chunks back at the front, e.g. after a failed write, as far as capacity allows. */
  restore(chunks: EventChunk[]): void {
    let room = Math.max(0, this.capacity - this.size);
    const kept: EventChunk[] = [];
    for (const chunk of chunks) {
      const before = chunk.count;
      chunk.truncate(room);
      this.dropped += before - chunk.count;
      room -= chunk.count;
      if (chunk.count > 0) kept.push(chunk);
    }
    this.size += kept.reduce((n, c) => n + c.count, 0);
    this.chunks = kept.concat(this.chunks);
  }

  get length(): number {
    return this.size;
  }
}

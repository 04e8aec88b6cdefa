import type { VerificationEvent } from './types.ts';

/**
 * A bounded in-memory queue of verification events. When full, the newest event is dropped and counted:
 * verification never waits for analytics and memory never grows without bound.
 */
export class EventBuffer {
  private events: VerificationEvent[] = [];
  /** Events refused because the buffer was full, since start. */
  dropped = 0;
  /** Events accepted, since start. */
  accepted = 0;

  constructor(readonly capacity: number) {}

  push(event: VerificationEvent): boolean {
    if (this.events.length >= this.capacity) {
      this.dropped++;
      return false;
    }
    this.events.push(event);
    this.accepted++;
    return true;
  }

  /** Takes up to `max` of the oldest events out of the buffer. */
  take(max: number): VerificationEvent[] {
    if (this.events.length <= max) {
      const all = this.events;
      this.events = [];
      return all;
    }
    return this.events.splice(0, max);
  }

  /** Puts events back at the front, e.g. after a failed write, as far as capacity allows. */
  restore(events: VerificationEvent[]): void {
    const room = Math.max(0, this.capacity - this.events.length);
    const kept = events.slice(0, room);
    this.dropped += events.length - kept.length;
    this.events = kept.concat(this.events);
  }

  get length(): number {
    return this.events.length;
  }
}

import { LRUCache } from 'lru-cache';
import type { IdentityRecord, KeyRecord } from '../core/keys.ts';
import type { CacheBus, Invalidation } from './bus.ts';

/** Marks a hash known to have no live key, so repeated unknown keys do not reach the database. */
const MISSING = Symbol('missing');
type KeySlot = KeyRecord | typeof MISSING;
type IdentitySlot = IdentityRecord | typeof MISSING;

export interface KeyLoader {
  findByHash(hash: string): Promise<KeyRecord | undefined>;
  identity(identityId: string): Promise<IdentityRecord | null>;
}

/**
 * Keys by hash and identities by id, bounded in count with least-recently-used eviction. Entries never
 * expire by time: every write that changes a verification's answer publishes an invalidation on the bus,
 * and every node drops the entry before that write answers.
 */
export class KeyCache {
  private readonly keys: LRUCache<string, KeySlot> | undefined;
  private readonly identities: LRUCache<string, IdentitySlot> | undefined;
  /** Bumped by every invalidation: a load that started before one must not store what it read. */
  private generation = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly loader: KeyLoader,
    private readonly bus: CacheBus,
    maxEntries: number,
  ) {
    if (maxEntries > 0) {
      this.keys = new LRUCache({ max: maxEntries });
      this.identities = new LRUCache({ max: maxEntries });
    }
    this.unsubscribe = bus.subscribe((message) => this.apply(message));
  }

  /** The cached key, or undefined when it is not cached (a known-missing key is `null`). */
  peekKey(hash: string): KeyRecord | null | undefined {
    const slot = this.keys?.get(hash);
    return slot === MISSING ? null : slot;
  }

  /** The identity when cached: a record, null when known to be gone, undefined when not cached. */
  peekIdentity(identityId: string): IdentityRecord | null | undefined {
    const slot = this.identities?.get(identityId);
    return slot === MISSING ? null : slot;
  }

  async loadKey(hash: string): Promise<KeyRecord | null> {
    const generation = this.generation;
    const key = (await this.loader.findByHash(hash)) ?? null;
    if (generation === this.generation) this.keys?.set(hash, key ?? MISSING);
    return key;
  }

  async loadIdentity(identityId: string): Promise<IdentityRecord | null> {
    const generation = this.generation;
    const identity = await this.loader.identity(identityId);
    if (generation === this.generation) this.identities?.set(identityId, identity ?? MISSING);
    return identity;
  }

  async getKey(hash: string): Promise<KeyRecord | null> {
    const cached = this.peekKey(hash);
    return cached !== undefined ? cached : this.loadKey(hash);
  }

  async getIdentity(identityId: string): Promise<IdentityRecord | null> {
    const cached = this.peekIdentity(identityId);
    return cached !== undefined ? cached : this.loadIdentity(identityId);
  }

  evictKey(hash: string): Promise<void> {
    return this.bus.publish({ kind: 'key', hash });
  }

  evictIdentity(id: string): Promise<void> {
    return this.bus.publish({ kind: 'identity', id });
  }

  evictAll(): Promise<void> {
    return this.bus.publish({ kind: 'all' });
  }

  private apply(message: Invalidation): void {
    this.generation++;
    switch (message.kind) {
      case 'key':
        this.keys?.delete(message.hash);
        break;
      case 'identity':
        this.identities?.delete(message.id);
        break;
      case 'all':
        this.keys?.clear();
        this.identities?.clear();
        break;
    }
  }

  get size(): { keys: number; identities: number } {
    return { keys: this.keys?.size ?? 0, identities: this.identities?.size ?? 0 };
  }

  close(): void {
    this.unsubscribe();
  }
}

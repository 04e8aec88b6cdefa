import { LRUCache } from 'lru-cache';
import { hashKey } from '../core/hash.ts';
import type { Store } from '../store/index.ts';
import { errors } from './errors.ts';

/** The authenticated caller: a root key acting on one workspace. */
export class Principal {
  private readonly granted: Set<string>;

  constructor(
    readonly rootKeyId: string,
    readonly workspaceId: string,
    permissions: string[],
  ) {
    this.granted = new Set(permissions);
  }

  /** True when the key holds at least one of the tuples, compared as exact strings. */
  has(...anyOf: string[]): boolean {
    for (const p of anyOf) if (this.granted.has(p)) return true;
    return false;
  }

  /** Throws 403 unless the key holds at least one of the tuples. */
  require(...anyOf: string[]): void {
    if (!this.has(...anyOf)) throw errors.missingPermissions(anyOf);
  }

  get permissions(): string[] {
    return [...this.granted];
  }
}

/** Root-key lookups are cached briefly: every verification authenticates, and root keys rarely change. */
export class RootKeyAuthenticator {
  private readonly cache = new LRUCache<string, Principal>({ max: 10_000, ttl: 5_000 });

  constructor(private readonly store: Store) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization.trim() === '') throw errors.authMissing();
    if (!authorization.startsWith('Bearer ')) throw errors.authMalformed();
    const token = authorization.slice('Bearer '.length).trim();
    if (token === '') throw errors.authMalformed();
    const hash = hashKey(token);
    const cached = this.cache.get(hash);
    if (cached) return cached;
    const rootKey = await this.store.rootKeys.findByHash(hash);
    if (!rootKey) throw errors.unknownRootKey();
    const principal = new Principal(rootKey.id, rootKey.workspaceId, rootKey.permissions);
    this.cache.set(hash, principal);
    return principal;
  }

  /** The principal of a root key seen within the cache's lifetime, without waiting; undefined otherwise. */
  cached(authorization: string | undefined): Principal | undefined {
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
    const token = authorization.slice('Bearer '.length).trim();
    return token === '' ? undefined : this.cache.get(hashKey(token));
  }

  /** Forget cached root keys, for example after one was deleted. */
  clear(): void {
    this.cache.clear();
  }
}

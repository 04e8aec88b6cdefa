import { LRUCache } from 'lru-cache';
import type { CacheBus } from '../cache/bus.ts';
import { indexOverrides, type OverrideIndex } from '../core/overrides.ts';
import type { Namespace, RatelimitStore } from '../store/ratelimit.ts';

/** A namespace together with its overrides, ready for limit checks. */
export interface NamespaceState {
  namespace: Namespace;
  overrides: OverrideIndex;
}

/**
 * Namespaces and their overrides by workspace and id-or-name, so a limit check on a known namespace reads
 * no database. Every write through this node evicts the workspace before answering, so the next call sees
 * it. Writes made elsewhere (the CLI, another node) are picked up when an entry expires after `ttlMs`.
 */
export class NamespaceCache {
  private readonly entries: LRUCache<string, { generation: number; state: NamespaceState }>;
  private readonly loading = new Map<string, Promise<NamespaceState | undefined>>();
  /** Bumped by every eviction of a workspace; entries and loads from an older generation are ignored. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly store: RatelimitStore,
    options: { max?: number; ttlMs?: number } = {},
    private readonly bus?: CacheBus,
  ) {
    this.entries = new LRUCache({ max: options.max ?? 100_000, ttl: options.ttlMs ?? 2_000 });
    bus?.subscribe((message) => {
      if (message.kind === 'namespaces') this.forget(message.workspaceId);
      else if (message.kind === 'all') this.entries.clear();
    });
  }

  /** The namespace by id or name (deleted ones included), or undefined when it never existed. */
  get(workspaceId: string, idOrName: string): NamespaceState | undefined | Promise<NamespaceState | undefined> {
    const key = `${workspaceId}\u0000${idOrName}`;
    const generation = this.generations.get(workspaceId) ?? 0;
    const hit = this.entries.get(key);
    if (hit && hit.generation === generation) return hit.state;
    const pending = this.loading.get(key);
    if (pending) return pending;
    const done = () => {
      if (this.loading.get(key) === load) this.loading.delete(key);
    };
    const load: Promise<NamespaceState | undefined> = this.load(workspaceId, idOrName).then(
      (state) => {
        done();
        if (state && (this.generations.get(workspaceId) ?? 0) === generation) this.entries.set(key, { generation, state });
        return state;
      },
      (err) => {
        done();
        throw err;
      },
    );
    this.loading.set(key, load);
    return load;
  }

  /** Creates the namespace (or finds the one a concurrent call just created). */
  async create(workspaceId: string, name: string): Promise<NamespaceState> {
    const namespace = await this.store.createNamespace(workspaceId, name);
    await this.evict(workspaceId);
    return { namespace, overrides: indexOverrides([]) };
  }

  /**
   * Forgets everything cached for the workspace, on this node at once and, through the bus, on every node;
   * call after any namespace or override write, before answering it.
   */
  async evict(workspaceId: string): Promise<void> {
    if (this.bus) await this.bus.publish({ kind: 'namespaces', workspaceId });
    else this.forget(workspaceId);
  }

  private forget(workspaceId: string): void {
    this.generations.set(workspaceId, (this.generations.get(workspaceId) ?? 0) + 1);
    for (const key of this.loading.keys()) if (key.startsWith(`${workspaceId}\u0000`)) this.loading.delete(key);
  }

  private async load(workspaceId: string, idOrName: string): Promise<NamespaceState | undefined> {
    const namespace = await this.store.findNamespace(workspaceId, idOrName);
    if (!namespace) return undefined;
    const overrides = namespace.deletedAt === undefined ? await this.store.overrides(workspaceId, namespace.id) : [];
    return { namespace, overrides: indexOverrides(overrides) };
  }
}

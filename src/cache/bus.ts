/**
 * The CacheBus seam: a write announces what it changed, and every node's verification cache drops it.
 * One node delivers in-process; a cluster delivers through Redis pub/sub.
 */
export type Invalidation =
  | { kind: 'key'; hash: string }
  | { kind: 'identity'; id: string }
  /** Drops everything cached, for rare writes that affect many keys (e.g. an API deleted). */
  | { kind: 'all' }
  /** Drops a workspace's cached rate-limit namespaces and overrides. */
  | { kind: 'namespaces'; workspaceId: string };

export type InvalidationHandler = (message: Invalidation) => void;

export interface CacheBus {
  /** Resolves once every subscriber on this node has applied the message (and, in a cluster, once it was sent). */
  publish(message: Invalidation): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(handler: InvalidationHandler): () => void;
  close(): Promise<void>;
}

/** Delivers messages synchronously to the subscribers of this process. */
export class InProcessCacheBus implements CacheBus {
  private readonly handlers = new Set<InvalidationHandler>();

  async publish(message: Invalidation): Promise<void> {
    for (const handler of this.handlers) handler(message);
  }

  subscribe(handler: InvalidationHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

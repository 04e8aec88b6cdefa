import { Redis } from 'ioredis';
import { randomAlphanumeric } from '../core/ids.ts';
import { StoreError } from '../store/connection.ts';
import type { CacheBus, Invalidation, InvalidationHandler } from './bus.ts';

interface Envelope {
  /** The node that published, so it does not apply its own message twice. */
  from: string;
  message: Invalidation;
}

/**
 * Invalidations across a cluster over Redis pub/sub. A publish applies to this node's caches at once, then
 * goes to every other node through one channel. A node whose subscription dropped may have missed
 * messages, so when it reconnects it drops everything it had cached.
 */
export class RedisCacheBus implements CacheBus {
  private readonly handlers = new Set<InvalidationHandler>();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly nodeId = randomAlphanumeric(16);
  private readonly channel: string;
  private subscribedOnce = false;

  private constructor(url: string, prefix: string) {
    this.channel = `${prefix}cache-invalidation`;
    this.publisher = new Redis(url, { maxRetriesPerRequest: 2 });
    this.subscriber = new Redis(url);
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', () => {
        // ioredis reconnects by itself; publishes made meanwhile fail and reach their callers.
      });
    }
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      let envelope: Envelope;
      try {
        envelope = JSON.parse(raw);
      } catch {
        return;
      }
      if (envelope.from !== this.nodeId) this.deliver(envelope.message);
    });
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) this.deliver({ kind: 'all' });
    });
  }

  /** Connects and subscribes; resolves once this node receives the cluster's invalidations. */
  static async connect(url: string, prefix = 'latchkey:'): Promise<RedisCacheBus> {
    const bus = new RedisCacheBus(url, prefix);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5_000);
    });
    try {
      await Promise.race([bus.subscriber.subscribe(bus.channel), bus.publisher.ping(), timeout]);
    } catch (err) {
      await bus.close();
      throw new StoreError(`cannot connect to Redis at ${url.replace(/\/\/[^@/]*@/, '//***@')}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    bus.subscribedOnce = true;
    return bus;
  }

  async publish(message: Invalidation): Promise<void> {
    this.deliver(message);
    await this.publisher.publish(this.channel, JSON.stringify({ from: this.nodeId, message } satisfies Envelope));
  }

  subscribe(handler: InvalidationHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private deliver(message: Invalidation): void {
    for (const handler of this.handlers) handler(message);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.subscriber.disconnect();
    await this.publisher.quit().catch(() => this.publisher.disconnect());
  }
}

import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import type { Backend } from '../../store/connection.ts';
import { analyticsPath } from '../../store/sqliteFiles.ts';

export class QueryTimeout extends Error {}
/** The database refused the translated query (unknown column, type mismatch, ...): the query's fault. */
export class QueryRejected extends Error {}

export interface ReadLimits {
  timeoutMs: number;
  /** At most this many rows plus one are read, so that an overflow can be noticed. */
  maxRows: number;
}

/** Runs translated analytics SQL read-only, within a time limit; rows come back as arrays of values. */
export interface AnalyticsReader {
  read(sql: string, params: unknown[], limits: ReadLimits): Promise<unknown[][]>;
  close(): Promise<void>;
}

export function createAnalyticsReader(backend: Backend): AnalyticsReader {
  return backend.kind === 'sqlite' ? new SqliteReader(analyticsPath(backend.path)) : new PostgresReader(backend.pool);
}

interface Pending {
  worker: Worker;
  resolve(rows: unknown[][]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A worker thread with its own read-only connection. SQLite cannot interrupt a statement from another
 * thread through this driver, so a query past its limit is answered with a timeout at once and its worker
 * is ended; the next query starts a fresh one.
 */
class SqliteReader implements AnalyticsReader {
  private worker: { thread: Worker; ready: Promise<void> } | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly path: string) {}

  private ensureWorker(): { thread: Worker; ready: Promise<void> } {
    if (this.worker) return this.worker;
    const thread = new Worker(new URL('./sqliteWorker.mjs', import.meta.url), { workerData: { path: this.path } });
    thread.unref();
    const ready = new Promise<void>((resolve, reject) => {
      thread.once('message', () => resolve());
      thread.once('error', reject);
      thread.once('exit', () => reject(new Error('analytics reader stopped')));
    });
    ready.catch(() => {});
    thread.on('message', (msg: { id?: number; rows?: unknown[][]; error?: { message: string } }) => {
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new QueryRejected(msg.error.message));
      else p.resolve(msg.rows!);
    });
    thread.on('error', (err) => this.failAll(thread, err));
    thread.on('exit', () => this.failAll(thread, new Error('analytics reader stopped')));
    this.worker = { thread, ready };
    return this.worker;
  }

  private failAll(thread: Worker, err: Error): void {
    if (this.worker?.thread === thread) this.worker = undefined;
    for (const [id, p] of this.pending) {
      if (p.worker !== thread) continue;
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  async read(sql: string, params: unknown[], limits: ReadLimits): Promise<unknown[][]> {
    if (this.closed) throw new Error('analytics reader is closed');
    const { thread, ready } = this.ensureWorker();
    // Starting a worker is not part of the query's time.
    await ready;
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QueryTimeout(`the query ran longer than ${limits.timeoutMs} ms`));
        if (this.worker?.thread === thread) this.worker = undefined;
        void thread.terminate();
        // A warm replacement for the next query.
        if (!this.closed) this.ensureWorker();
      }, limits.timeoutMs);
      this.pending.set(id, { worker: thread, resolve, reject, timer });
      thread.postMessage({ id, sql, params, maxRows: limits.maxRows });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.thread.terminate();
  }
}

/** Each query runs in its own READ ONLY transaction with a statement timeout. */
class PostgresReader implements AnalyticsReader {
  constructor(private readonly pool: pg.Pool) {}

  async read(sql: string, params: unknown[], limits: ReadLimits): Promise<unknown[][]> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(limits.timeoutMs))}`);
      const result = await client.query({ text: sql, values: params, rowMode: 'array' });
      await client.query('COMMIT');
      return result.rows.slice(0, limits.maxRows + 1);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      const code = (err as { code?: string }).code;
      if (code === '57014') throw new QueryTimeout(`the query ran longer than ${limits.timeoutMs} ms`);
      // Class 08 is a lost connection, 53 lack of resources, 57P a shutdown: the server's trouble, not the query's.
      if (code && !/^(08|53|57P|XX)/.test(code)) throw new QueryRejected((err as Error).message);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {}
}

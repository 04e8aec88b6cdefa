// Writes analytics batches on its own connection, off the thread that serves requests: to the analytics
// SQLite file, or to PostgreSQL (workerData is a WriterTarget of analytics.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { register } from 'tsx/esm/api';

// Recording is background work: on Linux this thread runs at a lower CPU priority (nice +10) than the
// thread serving requests, so under CPU pressure verifications (and the garbage collector's helpers) go
// first and a backlog waits in the bounded buffer instead. Where thread ids are not to be had, nothing changes.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
} catch {
  // Not Linux, or not permitted: the thread keeps the process's priority.
}

register();
const require = createRequire(import.meta.url);
const { SqliteAnalyticsWriter, PostgresAnalyticsWriter } = await import('./analytics.ts');
const { postgresPool } = await import('./connection.ts');
const { decodeChunks } = await import('../analytics/chunk.ts');

function openWriter(target) {
  // A dropped connection is replaced on the next batch; the batch itself reports its error.
  if (target.kind === 'postgres') return new PostgresAnalyticsWriter(postgresPool(target.url, target.schema, 1));
  const Database = require('better-sqlite3');
  const db = new Database(target.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Rollup upserts of many distinct keys touch pages all over the day and month tables; SQLite's default
  // 2 MB page cache made most of them reads (200,000 active keys: writer CPU about 8% lower at 64 MB).
  db.pragma('cache_size = -65536');
  const writer = new SqliteAnalyticsWriter(db);
  writer.close = async () => db.close();
  return writer;
}

const writer = openWriter(workerData);

// The chunks of the batches being received, by batch (see ThreadedWriter.write); a batch is decoded and
// written in one transaction once its last part is in.
const parts = new Map();

parentPort.on('message', async ({ id, op, batch, chunk, before }) => {
  if (op === 'part') {
    if (!parts.has(batch)) parts.set(batch, []);
    parts.get(batch).push(chunk);
    return;
  }
  try {
    let result;
    if (op === 'write') {
      const received = parts.get(batch);
      parts.delete(batch);
      if (!received) throw new Error(`batch ${batch} arrived without its events`);
      result = await writer.writeColumns(decodeChunks(received));
    } else if (op === 'prune') {
      result = await writer.pruneRaw(before);
    } else {
      await writer.close();
      result = 0;
    }
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});

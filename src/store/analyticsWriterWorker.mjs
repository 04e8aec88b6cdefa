// Writes analytics batches on its own connection to the analytics SQLite file, off the thread that serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { register } from 'tsx/esm/api';

register();
const Database = createRequire(import.meta.url)('better-sqlite3');
const { SqliteAnalyticsWriter } = await import('./analytics.ts');
const { concatColumns } = await import('../analytics/columns.ts');
const { decodeChunk } = await import('../analytics/chunk.ts');

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const writer = new SqliteAnalyticsWriter(db);

// The chunks of the batches being received, by batch (see ThreadedSqliteWriter.write); a batch is
// written in one transaction once its last part is in.
const parts = new Map();

parentPort.on('message', async ({ id, op, batch, chunk, before }) => {
  if (op === 'part') {
    if (!parts.has(batch)) parts.set(batch, []);
    parts.get(batch).push(decodeChunk(chunk));
    return;
  }
  try {
    let result;
    if (op === 'write') {
      const received = parts.get(batch);
      parts.delete(batch);
      if (!received) throw new Error(`batch ${batch} arrived without its events`);
      result = writer.writeColumns(concatColumns(received));
    } else {
      result = await writer.pruneRaw(before);
    }
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});

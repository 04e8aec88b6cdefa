// Writes analytics batches on its own connection to the analytics SQLite file, off the thread that serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { register } from 'tsx/esm/api';

register();
const Database = createRequire(import.meta.url)('better-sqlite3');
const { SqliteAnalyticsWriter } = await import('./analytics.ts');
const { concatColumns } = await import('../analytics/columns.ts');

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const writer = new SqliteAnalyticsWriter(db);

// Parts of the batches being received, by batch: each part is one JSON string of columns (see
// ThreadedSqliteWriter.write), and a batch is written in one transaction once its last part is in.
const parts = new Map();

parentPort.on('message', async ({ id, op, batch, columns, before }) => {
  if (op === 'part') {
    if (!parts.has(batch)) parts.set(batch, []);
    parts.get(batch).push(JSON.parse(columns));
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

// Writes analytics batches on its own connection to the analytics SQLite file, off the thread that serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { register } from 'tsx/esm/api';

register();
const Database = createRequire(import.meta.url)('better-sqlite3');
const { SqliteAnalyticsWriter } = await import('./analytics.ts');

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const writer = new SqliteAnalyticsWriter(db);

parentPort.on('message', async ({ id, op, columns, before }) => {
  try {
    // A batch arrives as one JSON string of columns (see ThreadedSqliteWriter.write).
    const result = op === 'write' ? writer.writeColumns(JSON.parse(columns)) : await writer.pruneRaw(before);
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});

// Runs analytics queries on a read-only connection to the analytics SQLite file (which holds nothing else),
// off the main thread, so a long query never stalls verifications; the main thread ends this worker when a
// query runs past its time limit.
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('query_only = ON');
db.pragma('busy_timeout = 5000');
// ClickHouse compares LIKE patterns case-sensitively.
db.pragma('case_sensitive_like = ON');

// quantile(level)(x): linear interpolation between the closest ranks, as percentile_cont does.
db.aggregate('lk_quantile', {
  start: () => ({ values: [], level: 0.5 }),
  step: (state, value, level) => {
    if (value !== null && value !== undefined) state.values.push(Number(value));
    state.level = level;
    return state;
  },
  result: (state) => {
    const v = state.values.sort((a, b) => a - b);
    if (v.length === 0) return null;
    const pos = (v.length - 1) * state.level;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  },
});

parentPort.postMessage({ ready: true });

parentPort.on('message', ({ id, sql, params, maxRows }) => {
  try {
    const stmt = db.prepare(sql);
    if (!stmt.reader) throw Object.assign(new Error('only queries that return rows are run'), { code: 'LK_NOT_READER' });
    stmt.raw(true);
    const rows = [];
    // Parameters are named @p1, @p2, ... in the order they were added.
    const named = Object.fromEntries(params.map((value, i) => [`p${i + 1}`, value]));
    for (const row of params.length > 0 ? stmt.iterate(named) : stmt.iterate()) {
      rows.push(row);
      if (rows.length > maxRows) break;
    }
    parentPort.postMessage({ id, rows });
  } catch (err) {
    parentPort.postMessage({ id, error: { message: err.message, code: err.code } });
  }
});

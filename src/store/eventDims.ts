import type SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import type { EventColumns } from '../analytics/columns.ts';
import { DIM_COLUMNS } from './migrations/0007_analytics_dims.ts';

/** An analytics_event_dims row as remembered: its id (0 while not known yet) and what an event shares. */
interface Dim {
  id: number;
  workspaceId: string;
  keySpaceId: string;
  identityId: string;
  externalId: string;
  outcome: string;
  region: string;
  tags: string[];
}

// Cannot occur in ids as this server makes them.
const NO_KEY = '\u0000';
/** Remembered dims at most; past it the memory starts over (a lookup in the database is a miss's only cost). */
const MAX_REMEMBERED = 100_000;

function sameTags(a: string[], b: string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The analytics_event_dims rows seen so far, looked up by what an event shares with others: by key id,
 * then a scan of the few dims of that key (its identity, outcome and tags rarely vary), so no composite
 * string is built per event. Dims rows are never deleted, so a remembered id stays right across batches,
 * unless the transaction that added the row failed: the writer then calls `forget`.
 */
class DimsMemory {
  private readonly byKey = new Map<string, Dim[]>();
  private remembered = 0;

  /** The remembered dims of event `i`, or a new entry for them with id 0, for the caller to fill in. */
  of(c: EventColumns, i: number): Dim {
    if (this.remembered >= MAX_REMEMBERED) this.forget();
    // NOT_FOUND events have no key: they are found by workspace instead.
    const lookup = c.keyId[i] || NO_KEY + c.workspaceId[i];
    let list = this.byKey.get(lookup);
    if (list === undefined) this.byKey.set(lookup, (list = []));
    for (let j = 0; j < list.length; j++) {
      const d = list[j];
      if (
        d.identityId === c.identityId[i] &&
        d.outcome === c.outcome[i] &&
        sameTags(d.tags, c.tags[i]) &&
        d.externalId === c.externalId[i] &&
        d.region === c.nodeId[i] &&
        d.keySpaceId === c.keySpaceId[i] &&
        d.workspaceId === c.workspaceId[i]
      ) {
        return d;
      }
    }
    const dim: Dim = {
      id: 0, workspaceId: c.workspaceId[i], keySpaceId: c.keySpaceId[i], identityId: c.identityId[i], externalId: c.externalId[i],
      outcome: c.outcome[i], region: c.nodeId[i], tags: c.tags[i],
    };
    list.push(dim);
    this.remembered++;
    return dim;
  }

  forget(): void {
    this.byKey.clear();
    this.remembered = 0;
  }
}

/** A dims row's values in the order of DIM_COLUMNS; key id from the event, as the dims do not keep it. */
function dimValues(c: EventColumns, i: number, tags: unknown): unknown[] {
  return [c.workspaceId[i], c.keySpaceId[i], c.keyId[i], c.identityId[i], c.externalId[i], c.outcome[i], c.nodeId[i], tags];
}

/** SQLite: a new dims row is looked up or added inside the batch's own transaction. */
export class SqliteEventDims {
  private readonly memory = new DimsMemory();
  private readonly select: SqliteDatabase.Statement;
  private readonly insert: SqliteDatabase.Statement;

  constructor(db: SqliteDatabase.Database, private readonly encodeTags: (tags: string[]) => string) {
    const where = DIM_COLUMNS.map((c) => `${c} = ?`).join(' AND ');
    this.select = db.prepare(`SELECT id FROM analytics_event_dims WHERE ${where}`).pluck();
    this.insert = db
      .prepare(`INSERT INTO analytics_event_dims (${DIM_COLUMNS.join(', ')}) VALUES (${DIM_COLUMNS.map(() => '?').join(', ')}) RETURNING id`)
      .pluck();
  }

  /** The dims id of event `i`, its row added if new. */
  idOf(c: EventColumns, i: number): number {
    const dim = this.memory.of(c, i);
    if (dim.id === 0) {
      const values = dimValues(c, i, this.encodeTags(c.tags[i]));
      dim.id = Number((this.select.get(values) as number | bigint | undefined) ?? (this.insert.get(values) as number | bigint));
    }
    return dim.id;
  }

  /** After a failed transaction: the dims rows it added are gone with it. */
  forget(): void {
    this.memory.forget();
  }
}

const DIM_RECORD = `${DIM_COLUMNS.map((c) => `${c} ${c === 'tags' ? 'text[]' : 'text'}`).join(', ')}`;
const SAME_DIMS = DIM_COLUMNS.map((c) => `d.${c} = r.${c}`).join(' AND ');

/**
 * PostgreSQL: the batch's new dims are added before its transaction, in statements of their own. Committed
 * at once, they are never taken back, whatever becomes of the batch; and the lookup that follows the
 * insert sees rows another node added meanwhile (ON CONFLICT waits for that node's transaction).
 */
export class PostgresEventDims {
  private readonly memory = new DimsMemory();

  /** The dims id of every event of the batch, in order. */
  async idsOf(pool: pg.Pool, c: EventColumns): Promise<Float64Array> {
    const n = c.time.length;
    const dims = new Array<Dim>(n);
    // The batch's dims not known yet, each once, with an event that has them.
    const fresh = new Map<Dim, number>();
    for (let i = 0; i < n; i++) {
      const dim = (dims[i] = this.memory.of(c, i));
      if (dim.id === 0 && !fresh.has(dim)) fresh.set(dim, i);
    }
    if (fresh.size > 0) {
      const unknown = [...fresh.keys()];
      try {
        const records = JSON.stringify(
          [...fresh.values()].map((at, index) => {
            const values = dimValues(c, at, c.tags[at]);
            const record: Record<string, unknown> = { n: index };
            DIM_COLUMNS.forEach((column, k) => (record[column] = values[k]));
            return record;
          }),
        );
        await pool.query(
          `INSERT INTO analytics_event_dims (${DIM_COLUMNS.join(', ')}) SELECT ${DIM_COLUMNS.join(', ')} ` +
            `FROM json_to_recordset($1::json) AS r(${DIM_RECORD}) WHERE true ON CONFLICT DO NOTHING`,
          [records],
        );
        const { rows } = await pool.query<{ n: number; id: string }>(
          `SELECT r.n, d.id FROM json_to_recordset($1::json) AS r(n integer, ${DIM_RECORD}) JOIN analytics_event_dims d ON ${SAME_DIMS}`,
          [records],
        );
        for (const row of rows) unknown[row.n].id = Number(row.id);
        if (unknown.some((dim) => dim.id === 0)) throw new Error('analytics dims rows were added but could not be read back');
      } catch (err) {
        this.memory.forget();
        throw err;
      }
    }
    const ids = new Float64Array(n);
    for (let i = 0; i < n; i++) ids[i] = dims[i].id;
    return ids;
  }
}

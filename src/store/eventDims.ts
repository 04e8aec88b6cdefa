import type SqliteDatabase from 'better-sqlite3';
import type { EventColumns } from '../analytics/columns.ts';
import { DIM_COLUMNS } from './migrations/0007_analytics_dims.ts';

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
 * The ids of analytics_event_dims rows (SQLite), looked up by what an event shares with others. Found by key
 * id, then a scan of the few dims of that key (its identity, outcome and tags rarely vary within a
 * batch), so no composite string is built per event. Rows are never deleted, so a remembered id stays
 * right across batches, except for rows added by a transaction that then failed: `forget` drops all.
 */
export class EventDims {
  private readonly byKey = new Map<string, Dim[]>();
  private remembered = 0;
  private readonly select: SqliteDatabase.Statement;
  private readonly insert: SqliteDatabase.Statement;

  constructor(db: SqliteDatabase.Database, private readonly encodeTags: (tags: string[]) => string) {
    const where = DIM_COLUMNS.map((c) => `${c} = ?`).join(' AND ');
    this.select = db.prepare(`SELECT id FROM analytics_event_dims WHERE ${where}`).pluck();
    this.insert = db
      .prepare(`INSERT INTO analytics_event_dims (${DIM_COLUMNS.join(', ')}) VALUES (${DIM_COLUMNS.map(() => '?').join(', ')}) RETURNING id`)
      .pluck();
  }

  /** The dims id of event `i`, added to the table if new (inside the caller's transaction). */
  idOf(c: EventColumns, i: number): number {
    if (this.remembered >= MAX_REMEMBERED) this.forget();
    const keyId = c.keyId[i];
    // NOT_FOUND events have no key: they are found by workspace instead.
    const lookup = keyId || NO_KEY + c.workspaceId[i];
    let list = this.byKey.get(lookup);
    if (list !== undefined) {
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
          return d.id;
        }
      }
    }
    const values = [
      c.workspaceId[i], c.keySpaceId[i], keyId, c.identityId[i], c.externalId[i], c.outcome[i], c.nodeId[i], this.encodeTags(c.tags[i]),
    ];
    const id = Number((this.select.get(values) as number | bigint | undefined) ?? (this.insert.get(values) as number | bigint));
    if (list === undefined) this.byKey.set(lookup, (list = []));
    list.push({
      id, workspaceId: c.workspaceId[i], keySpaceId: c.keySpaceId[i], identityId: c.identityId[i], externalId: c.externalId[i],
      outcome: c.outcome[i], region: c.nodeId[i], tags: c.tags[i],
    });
    this.remembered++;
    return id;
  }

  forget(): void {
    this.byKey.clear();
    this.remembered = 0;
  }
}

import { sql, type RawBuilder } from 'kysely';
import type SqliteDatabase from 'better-sqlite3';
import type { Db } from './connection.ts';
import type { PreparedQueries } from './prepared.ts';
import { latestRefillBoundary, withRefill, type RefillConfig } from '../core/credits.ts';

export interface SpendResult {
  /** True when the credits were deducted. */
  ok: boolean;
  /** Remaining after the deduction, or the current balance when there was not enough. */
  remaining: number;
}

export type CreditOperation = 'set' | 'increment' | 'decrement';

/** `remaining` with a due refill applied, as an SQL expression; `boundary` is the latest refill boundary. */
function effective(boundary: number): RawBuilder<number> {
  return sql<number>`(CASE WHEN refill_amount IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < ${boundary}) AND remaining < refill_amount THEN refill_amount ELSE remaining END)`;
}

/** `last_refill_at` after a due refill was applied. */
function stamp(boundary: number): RawBuilder<number> {
  return sql<number>`(CASE WHEN refill_amount IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < ${boundary}) THEN CAST(${boundary} AS BIGINT) ELSE last_refill_at END)`;
}

const EFFECTIVE_POSITIONAL =
  '(CASE WHEN refill_amount IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < ?) AND remaining < refill_amount THEN refill_amount ELSE remaining END)';
/** Parameters: boundary, cost, boundary, boundary, id, boundary, cost. */
const SPEND = `UPDATE keys SET remaining = ${EFFECTIVE_POSITIONAL} - ?,
  last_refill_at = (CASE WHEN refill_amount IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < ?) THEN CAST(? AS BIGINT) ELSE last_refill_at END)
  WHERE id = ? AND deleted_at IS NULL AND remaining IS NOT NULL AND ${EFFECTIVE_POSITIONAL} >= ?
  RETURNING remaining`;
const BALANCE = 'SELECT remaining, refill_amount, refill_day, last_refill_at FROM keys WHERE id = ? AND deleted_at IS NULL';

/**
 * Credit balances. Every change is one conditional UPDATE, so a balance never goes below zero and a credit
 * is never spent twice, however many verifications race (row locks on PostgreSQL, one writer on SQLite).
 */
export class CreditLedger {
  private readonly batcher: SqliteSpendBatcher | undefined;

  constructor(
    private readonly db: Db,
    private readonly prepared: PreparedQueries,
    sqlite?: SqliteDatabase.Database,
  ) {
    this.batcher = sqlite ? new SqliteSpendBatcher(sqlite) : undefined;
  }

  /**
   * Deducts `cost` if the balance (after any due refill) covers it. Returns undefined when the key no
   * longer exists or has become unlimited.
   */
  async spend(keyId: string, cost: number, refillDay: number | null, now: number): Promise<SpendResult | undefined> {
    const boundary = latestRefillBoundary(refillDay, now);
    const params = [boundary, cost, boundary, boundary, keyId, boundary, cost];
    const row = this.batcher
      ? await this.batcher.run(params, () => this.prepared.first<{ remaining: number }>(SPEND, params))
      : await this.prepared.first<{ remaining: number }>(SPEND, params);
    const remaining = row?.remaining;
    if (remaining !== undefined) return { ok: true, remaining: Number(remaining) };
    const current = await this.balance(keyId, now);
    return current === undefined || current === null ? undefined : { ok: false, remaining: current };
  }

  /** The balance as of `now` (refill applied), null when unlimited, undefined when the key is gone. */
  async balance(keyId: string, now: number): Promise<number | null | undefined> {
    const row = await this.prepared.first<{
      remaining: number | null;
      refill_amount: number | null;
      refill_day: number | null;
      last_refill_at: number | null;
    }>(BALANCE, [keyId]);
    if (!row) return undefined;
    const refill: RefillConfig | null =
      row.refill_amount === null ? null : { amount: row.refill_amount, refillDay: row.refill_day };
    return withRefill({ remaining: row.remaining, refill, lastRefillAt: row.last_refill_at }, now).remaining;
  }

  /**
   * updateCredits: set a balance (null = unlimited, which also drops the refill), or add to or take from
   * the balance after any due refill, never below zero. Returns undefined when the key is gone.
   */
  async adjust(
    keyId: string,
    operation: CreditOperation,
    value: number | null,
    refillDay: number | null,
    now: number,
  ): Promise<{ remaining: number | null; refill: RefillConfig | null } | undefined> {
    const boundary = latestRefillBoundary(refillDay, now);
    let assignments: RawBuilder<unknown>;
    if (operation === 'set' && value === null) {
      assignments = sql`remaining = NULL, refill_amount = NULL, refill_day = NULL, last_refill_at = NULL`;
    } else if (operation === 'set') {
      assignments = sql`remaining = ${value}, last_refill_at = ${stamp(boundary)}`;
    } else if (operation === 'increment') {
      assignments = sql`remaining = ${effective(boundary)} + ${value}, last_refill_at = ${stamp(boundary)}`;
    } else {
      assignments = sql`remaining = (CASE WHEN ${effective(boundary)} < ${value} THEN 0 ELSE ${effective(boundary)} - ${value} END), last_refill_at = ${stamp(boundary)}`;
    }
    const result = await sql<{ remaining: number | null; refill_amount: number | null; refill_day: number | null }>`
      UPDATE keys SET ${assignments}, updated_at = ${now}
      WHERE id = ${keyId} AND deleted_at IS NULL
      RETURNING remaining, refill_amount, refill_day`.execute(this.db);
    const row = result.rows[0];
    if (!row) return undefined;
    return {
      remaining: row.remaining === null ? null : Number(row.remaining),
      refill: row.refill_amount === null ? null : { amount: Number(row.refill_amount), refillDay: row.refill_day },
    };
  }
}

interface PendingSpend {
  params: unknown[];
  fallback: () => Promise<{ remaining: number } | undefined>;
  resolve(row: { remaining: number } | undefined): void;
  reject(err: unknown): void;
}

/**
 * Group commit for SQLite: the deductions of all verifications that arrive in one turn of the event loop
 * run one after another inside a single transaction, so they share one WAL commit instead of paying one
 * each. Each is still the same conditional UPDATE, applied in order by the only writer, so the counts stay
 * exact; every caller gets its answer only after the commit.
 */
class SqliteSpendBatcher {
  private pending: PendingSpend[] = [];
  private runBatch: ((batch: PendingSpend[]) => ({ remaining: number } | undefined)[]) | undefined;

  constructor(private readonly sqlite: SqliteDatabase.Database) {}

  run(params: unknown[], fallback: PendingSpend['fallback']): Promise<{ remaining: number } | undefined> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ params, fallback, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    // A transaction of the query builder is open on the shared connection: queue behind it one by one.
    if (this.sqlite.inTransaction) {
      for (const p of batch) p.fallback().then(p.resolve, p.reject);
      return;
    }
    if (!this.runBatch) {
      const statement = this.sqlite.prepare(SPEND);
      this.runBatch = this.sqlite.transaction((items: PendingSpend[]) =>
        items.map((p) => statement.get(...p.params) as { remaining: number } | undefined),
      );
    }
    let rows: ({ remaining: number } | undefined)[];
    try {
      rows = this.runBatch(batch);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i].resolve(rows[i]);
  }
}

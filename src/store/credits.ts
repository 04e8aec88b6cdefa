import { sql, type RawBuilder } from 'kysely';
import type SqliteDatabase from 'better-sqlite3';
import type { Backend, Db } from './connection.ts';
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

const EFFECTIVE_NAMED =
  '(CASE WHEN refill_amount IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < @boundary) AND remaining < refill_amount THEN refill_amount ELSE remaining END)';
const SPEND_SQLITE = `UPDATE keys SET remaining = ${EFFECTIVE_NAMED} - @cost,
  last_refill_at = (CASE WHEN refill_amount IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < @boundary) THEN @boundary ELSE last_refill_at END)
  WHERE id = @id AND deleted_at IS NULL AND remaining IS NOT NULL AND ${EFFECTIVE_NAMED} >= @cost
  RETURNING remaining`;

/**
 * Credit balances. Every change is one conditional UPDATE, so a balance never goes below zero and a credit
 * is never spent twice, however many verifications race (row locks on PostgreSQL, one writer on SQLite).
 */
export class CreditLedger {
  private readonly sqlite: SqliteDatabase.Database | undefined;
  private spendStatement: SqliteDatabase.Statement | undefined;

  constructor(private readonly db: Db, backend: Backend) {
    this.sqlite = backend.kind === 'sqlite' ? backend.sqlite : undefined;
  }

  /**
   * Deducts `cost` if the balance (after any due refill) covers it. Returns undefined when the key no
   * longer exists or has become unlimited.
   */
  async spend(keyId: string, cost: number, refillDay: number | null, now: number): Promise<SpendResult | undefined> {
    const boundary = latestRefillBoundary(refillDay, now);
    let remaining: number | undefined;
    // On SQLite the statement runs synchronously, unless a transaction is open on the shared connection:
    // then it queues behind it like any other query, so it can never become part of someone else's transaction.
    if (this.sqlite && !this.sqlite.inTransaction) {
      this.spendStatement ??= this.sqlite.prepare(SPEND_SQLITE);
      const row = this.spendStatement.get({ id: keyId, cost, boundary }) as { remaining: number } | undefined;
      remaining = row?.remaining;
    } else {
      const result = await sql<{ remaining: number }>`UPDATE keys SET remaining = ${effective(boundary)} - ${cost},
        last_refill_at = ${stamp(boundary)}
        WHERE id = ${keyId} AND deleted_at IS NULL AND remaining IS NOT NULL AND ${effective(boundary)} >= ${cost}
        RETURNING remaining`.execute(this.db);
      remaining = result.rows[0]?.remaining;
    }
    if (remaining !== undefined) return { ok: true, remaining: Number(remaining) };
    const current = await this.balance(keyId, now);
    return current === undefined || current === null ? undefined : { ok: false, remaining: current };
  }

  /** The balance as of `now` (refill applied), null when unlimited, undefined when the key is gone. */
  async balance(keyId: string, now: number): Promise<number | null | undefined> {
    const row = await this.db
      .selectFrom('keys')
      .select(['remaining', 'refill_amount', 'refill_day', 'last_refill_at'])
      .where('id', '=', keyId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
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

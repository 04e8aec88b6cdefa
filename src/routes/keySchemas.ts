import { Type, type Static } from '@sinclair/typebox';
import { errors } from '../http/errors.ts';

/** Request-schema pieces of the key operations. */

export const KeyId = Type.String({ minLength: 3, maxLength: 255, pattern: '^[a-zA-Z0-9_]+$' });

/** Expiry and delays: unix ms up to 2100-01-01. */
export const Timestamp = Type.Integer({ minimum: 0, maximum: 4_102_444_800_000 });

/** Credit counts stay exact JavaScript integers. */
const CreditCount = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const Refill = Type.Object(
  {
    interval: Type.Union([Type.Literal('daily'), Type.Literal('monthly')]),
    amount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    refillDay: Type.Optional(Type.Integer({ minimum: 1, maximum: 31 })),
  },
  { additionalProperties: false },
);

export const Credits = Type.Object(
  { remaining: Type.Union([CreditCount, Type.Null()]), refill: Type.Optional(Refill) },
  { additionalProperties: false },
);

/** updateKey's credits: every part may be absent (keep), null (clear) or a value (set). */
export const CreditsUpdate = Type.Union([
  Type.Object(
    {
      remaining: Type.Optional(Type.Union([CreditCount, Type.Null()])),
      refill: Type.Optional(Type.Union([Refill, Type.Null()])),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

export const CreditValue = Type.Union([CreditCount, Type.Null()]);

export type RefillInput = Static<typeof Refill>;

/**
 * Checks a refill's shape beyond the schema and turns it into the stored form: monthly refills need a
 * day, daily ones must not have one.
 */
export function toRefill(refill: RefillInput, field: string): { amount: number; refillDay: number | null } {
  if (refill.interval === 'monthly' && refill.refillDay === undefined) {
    throw errors.invalidInput(`A monthly refill needs ${field}.refillDay, the day of the month it happens on.`, [
      { location: `body.${field}.refillDay`, message: `body.${field}.refillDay is required when interval is 'monthly'` },
    ]);
  }
  if (refill.interval === 'daily' && refill.refillDay !== undefined) {
    throw errors.invalidInput(`A daily refill happens every day: leave out ${field}.refillDay.`, [
      { location: `body.${field}.refillDay`, message: `body.${field}.refillDay must not be given when interval is 'daily'` },
    ]);
  }
  return { amount: refill.amount, refillDay: refill.interval === 'monthly' ? refill.refillDay! : null };
}

/** A refill only makes sense on a limited balance. */
export function requireRemainingForRefill(remaining: number | null | undefined, field: string): void {
  if (remaining === null || remaining === undefined) {
    throw errors.invalidInput(`${field}.remaining must be a number when ${field}.refill is set.`, [
      { location: `body.${field}.remaining`, message: `body.${field}.remaining is required when a refill is set` },
    ]);
  }
}

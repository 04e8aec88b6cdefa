import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prefixOfStart, rerolledExpiry } from '../../src/core/reroll.ts';

describe('rerolledExpiry', () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 30, 500);
  it('rounds now + delay up to the next whole minute', () => {
    assert.equal(rerolledExpiry(now, 1, null), Date.UTC(2030, 0, 1, 12, 1));
    assert.equal(rerolledExpiry(now, 29_500, null), Date.UTC(2030, 0, 1, 12, 1));
    assert.equal(rerolledExpiry(now, 29_501, null), Date.UTC(2030, 0, 1, 12, 2));
    assert.equal(rerolledExpiry(Date.UTC(2030, 0, 1, 12, 5), 60_000, null), Date.UTC(2030, 0, 1, 12, 6));
  });
  it('0 means now', () => {
    assert.equal(rerolledExpiry(now, 0, null), now);
  });
  it('never extends an expiry the old key had', () => {
    const soon = now + 10_000;
    assert.equal(rerolledExpiry(now, 3_600_000, soon), soon);
    const later = now + 7_200_000;
    assert.equal(rerolledExpiry(now, 60_000, later), Date.UTC(2030, 0, 1, 12, 2));
  });
});

describe('prefixOfStart', () => {
  it('takes everything before the last underscore', () => {
    assert.equal(prefixOfStart('sk_live_ab12'), 'sk_live');
    assert.equal(prefixOfStart('api_Xy9z'), 'api');
    assert.equal(prefixOfStart('Xy9z'), undefined);
    assert.equal(prefixOfStart(''), undefined);
  });
});

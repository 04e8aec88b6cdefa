import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { manualClock, newApi, newKey, verify } from '../keyHelpers.ts';

const at = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h);
const clock = manualClock(at(2032, 1, 20, 9));

// The refill is applied by the verification (or read) that first comes after a boundary, in the same
// statement that spends the credits: nothing runs on a timer.
await describeOnBackends(
  'credit refills',
  (server) => {
    describe('200', () => {
      it('monthly on day 31: January 31, then February 29 in a leap year, then March 31', async () => {
        clock.set(at(2032, 1, 20, 9));
        const apiId = await newApi(server());
        const { key, keyId } = await newKey(server(), apiId, {
          credits: { remaining: 2, refill: { interval: 'monthly', amount: 10, refillDay: 31 } },
        });
        assert.equal((await verify(server(), { key })).credits, 1);
        clock.set(at(2032, 1, 30, 23));
        assert.equal((await verify(server(), { key })).credits, 0);
        assert.equal((await verify(server(), { key })).code, 'USAGE_EXCEEDED');
        clock.set(at(2032, 1, 31, 0));
        assert.equal((await verify(server(), { key })).credits, 9, 'refilled to 10 on Jan 31, then one spent');
        assert.equal((await verify(server(), { key, credits: { cost: 9 } })).credits, 0);
        clock.set(at(2032, 2, 28, 23));
        assert.equal((await verify(server(), { key })).code, 'USAGE_EXCEEDED', 'no refill before Feb 29');
        clock.set(at(2032, 2, 29, 1));
        assert.equal((await verify(server(), { key })).credits, 9);
        assert.equal((await verify(server(), { key })).credits, 8, 'the same boundary is never applied twice');
        clock.set(at(2032, 3, 30, 12));
        assert.equal((await server().call('keys.getKey', { keyId })).body.data.credits.remaining, 8);
        clock.set(at(2032, 3, 31, 12));
        assert.equal((await server().call('keys.getKey', { keyId })).body.data.credits.remaining, 10, 'reads show a due refill');
        assert.equal((await verify(server(), { key })).credits, 9);
      });

      it('daily refills survive downtime: one refill, never several, and none missed', async () => {
        clock.set(at(2031, 6, 1, 12));
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId, { credits: { remaining: 1, refill: { interval: 'daily', amount: 3 } } });
        assert.equal((await verify(server(), { key })).credits, 0);
        clock.set(at(2031, 6, 9, 18));
        assert.equal((await verify(server(), { key })).credits, 2, 'eight days later: refilled once to 3');
        assert.equal((await verify(server(), { key })).credits, 1);
        clock.set(at(2031, 6, 9, 23));
        assert.equal((await verify(server(), { key })).credits, 0);
        assert.equal((await verify(server(), { key })).code, 'USAGE_EXCEEDED');
        clock.set(at(2031, 6, 10, 0));
        assert.equal((await verify(server(), { key })).credits, 2);
      });

      it('a USAGE_EXCEEDED answer already counts a due refill, and updateCredits works on the refilled balance', async () => {
        clock.set(at(2031, 8, 1, 12));
        const apiId = await newApi(server());
        const { key, keyId } = await newKey(server(), apiId, { credits: { remaining: 0, refill: { interval: 'daily', amount: 5 } } });
        clock.set(at(2031, 8, 2, 12));
        const big = await verify(server(), { key, credits: { cost: 6 } });
        assert.equal(big.code, 'USAGE_EXCEEDED');
        assert.equal(big.credits, 5);
        const dec = await server().call('keys.updateCredits', { keyId, operation: 'decrement', value: 2 });
        assert.equal(dec.body.data.remaining, 3);
        assert.equal((await verify(server(), { key })).credits, 2, 'the refill of Aug 2 is not applied again');
      });
    });
  },
  { clock: clock.now },
);

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { manualClock, newApi, newKey, rawCall, verify } from '../keyHelpers.ts';
import type { VerificationEvent } from '../../src/analytics/types.ts';

const clock = manualClock(Date.UTC(2030, 0, 15, 12, 0, 0));

await describeOnBackends(
  'keys.verifyKey',
  (server) => {
    describe('200', () => {
      it('VALID carries the key and its identity', async () => {
        const apiId = await newApi(server());
        await server().call('identities.createIdentity', { externalId: 'acme', meta: { tier: 'gold' } });
        const { key, keyId } = await newKey(server(), apiId, { externalId: 'acme', name: 'k', meta: { a: 1 } });
        const data = await verify(server(), { key });
        assert.equal(data.valid, true);
        assert.equal(data.code, 'VALID');
        assert.equal(data.keyId, keyId);
        assert.equal(data.name, 'k');
        assert.deepEqual(data.meta, { a: 1 });
        assert.equal(data.enabled, true);
        assert.equal(data.identity.externalId, 'acme');
        assert.deepEqual(data.identity.meta, { tier: 'gold' });
        assert.equal('credits' in data, false);
        assert.equal('ratelimits' in data, false);
      });

      it('NOT_FOUND for an unknown key carries nothing else', async () => {
        const data = await verify(server(), { key: 'sk_nothing_here' });
        assert.deepEqual(data, { valid: false, code: 'NOT_FOUND' });
      });

      it('NOT_FOUND for a key of another workspace', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId);
        const other = await server().newWorkspace();
        assert.deepEqual(await verify(server(), { key }, other.rootKey), { valid: false, code: 'NOT_FOUND' });
      });

      it('NOT_FOUND when the root key may not verify keys of that API', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId);
        const otherApi = await server().newRootKey(['api.api_someother.verify_key']);
        assert.equal((await verify(server(), { key }, otherApi)).code, 'NOT_FOUND');
        const noVerify = await server().newRootKey(['api.*.read_key']);
        assert.equal((await verify(server(), { key }, noVerify)).code, 'NOT_FOUND');
        const scoped = await server().newRootKey([`api.${apiId}.verify_key`]);
        assert.equal((await verify(server(), { key }, scoped)).code, 'VALID');
      });

      it('NOT_FOUND once the API is deleted', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId);
        assert.equal((await verify(server(), { key })).code, 'VALID');
        await server().call('apis.deleteApi', { apiId });
        assert.equal((await verify(server(), { key })).code, 'NOT_FOUND');
      });

      it('DISABLED', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId, { enabled: false });
        const data = await verify(server(), { key });
        assert.equal(data.valid, false);
        assert.equal(data.code, 'DISABLED');
        assert.equal(data.enabled, false);
      });

      it('EXPIRED once the clock passes the expiry', async () => {
        const apiId = await newApi(server());
        const expires = clock.now() + 60_000;
        const { key } = await newKey(server(), apiId, { expires });
        assert.equal((await verify(server(), { key })).code, 'VALID');
        clock.advance(60_000);
        const data = await verify(server(), { key });
        assert.equal(data.code, 'EXPIRED');
        assert.equal(data.expires, expires);
      });

      it('RATE_LIMITED by an auto-applied key limit, reporting every limit', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId, {
          ratelimits: [{ name: 'per-minute', limit: 2, duration: 60_000, autoApply: true }],
        });
        const first = await verify(server(), { key });
        assert.equal(first.code, 'VALID');
        assert.equal(first.ratelimits[0].remaining, 1);
        assert.equal(first.ratelimits[0].exceeded, false);
        assert.match(first.ratelimits[0].id, /^rl_/);
        assert.equal(first.ratelimits[0].reset % 60_000, 0);
        assert.ok(first.ratelimits[0].reset > clock.now());
        assert.equal((await verify(server(), { key })).code, 'VALID');
        const third = await verify(server(), { key });
        assert.equal(third.code, 'RATE_LIMITED');
        assert.equal(third.valid, false);
        assert.equal(third.ratelimits[0].exceeded, true);
        assert.equal(third.ratelimits[0].remaining, 0);
      });

      it('checks all limits together: a denied call increments none of them', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId, {
          ratelimits: [
            { name: 'fast', limit: 3, duration: 60_000, autoApply: true },
            { name: 'slow', limit: 10, duration: 3_600_000, autoApply: true },
          ],
        });
        for (let i = 0; i < 3; i++) assert.equal((await verify(server(), { key })).code, 'VALID');
        const denied = await verify(server(), { key });
        assert.equal(denied.code, 'RATE_LIMITED');
        const fast = denied.ratelimits.find((r: any) => r.name === 'fast');
        const slow = denied.ratelimits.find((r: any) => r.name === 'slow');
        assert.equal(fast.exceeded, true);
        assert.equal(slow.exceeded, false);
        assert.equal(slow.remaining, 7, 'the denied call was not counted on the slow window');
        const again = await verify(server(), { key, ratelimits: [{ name: 'slow', cost: 0 }] });
        assert.equal(again.code, 'RATE_LIMITED');
        assert.equal(again.ratelimits.find((r: any) => r.name === 'slow').remaining, 7);
      });

      it('applies requested limits by name with a cost, and inline limits', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId, {
          ratelimits: [{ name: 'tokens', limit: 10, duration: 60_000, autoApply: false }],
        });
        const plain = await verify(server(), { key });
        assert.equal('ratelimits' in plain, false, 'a limit that is not auto-applied is only checked on request');
        const spent = await verify(server(), { key, ratelimits: [{ name: 'tokens', cost: 7 }] });
        assert.equal(spent.ratelimits[0].remaining, 3);
        const over = await verify(server(), { key, ratelimits: [{ name: 'tokens', cost: 4 }] });
        assert.equal(over.code, 'RATE_LIMITED');
        const inline = await verify(server(), { key, ratelimits: [{ name: 'inline', limit: 1, duration: 10_000 }] });
        assert.equal(inline.code, 'VALID');
        assert.equal(inline.ratelimits[0].id, '');
        assert.equal(inline.ratelimits[0].limit, 1);
        assert.equal((await verify(server(), { key, ratelimits: [{ name: 'inline', limit: 1, duration: 10_000 }] })).code, 'RATE_LIMITED');
      });

      it('spends credits down to USAGE_EXCEEDED, never below zero', async () => {
        const apiId = await newApi(server());
        const { key, keyId } = await newKey(server(), apiId, { credits: { remaining: 5 } });
        const first = await verify(server(), { key });
        assert.equal(first.credits, 4);
        const big = await verify(server(), { key, credits: { cost: 15 } });
        assert.equal(big.code, 'USAGE_EXCEEDED');
        assert.equal(big.credits, 4, 'nothing is deducted when the balance does not cover the cost');
        assert.equal((await verify(server(), { key, credits: { cost: 4 } })).credits, 0);
        const empty = await verify(server(), { key });
        assert.equal(empty.code, 'USAGE_EXCEEDED');
        assert.equal(empty.credits, 0);
        const free = await verify(server(), { key, credits: { cost: 0 } });
        assert.equal(free.code, 'VALID', 'cost 0 passes at a balance of 0');
        const got = await server().call('keys.getKey', { keyId });
        assert.equal(got.body.data.credits.remaining, 0);
      });

      it('a key without credits ignores the cost', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId);
        const data = await verify(server(), { key, credits: { cost: 1000 } });
        assert.equal(data.code, 'VALID');
        assert.equal('credits' in data, false);
      });

      it('shares an identity limit across the keys of the identity', async () => {
        const apiId = await newApi(server());
        await server().call('identities.createIdentity', {
          externalId: 'shared-org',
          ratelimits: [{ name: 'org', limit: 3, duration: 60_000, autoApply: true }],
        });
        const a = await newKey(server(), apiId, { externalId: 'shared-org' });
        const b = await newKey(server(), apiId, { externalId: 'shared-org' });
        assert.equal((await verify(server(), { key: a.key })).code, 'VALID');
        assert.equal((await verify(server(), { key: b.key })).code, 'VALID');
        const third = await verify(server(), { key: a.key });
        assert.equal(third.code, 'VALID');
        assert.equal(third.identity.ratelimits[0].name, 'org');
        assert.equal((await verify(server(), { key: b.key })).code, 'RATE_LIMITED');
      });

      it("lets a key limit shadow its identity's limit of the same name", async () => {
        const apiId = await newApi(server());
        await server().call('identities.createIdentity', {
          externalId: 'shadowed',
          ratelimits: [{ name: 'calls', limit: 1, duration: 60_000, autoApply: true }],
        });
        const { key } = await newKey(server(), apiId, {
          externalId: 'shadowed',
          ratelimits: [{ name: 'calls', limit: 5, duration: 60_000, autoApply: true }],
        });
        const data = await verify(server(), { key });
        assert.equal(data.ratelimits.length, 1);
        assert.equal(data.ratelimits[0].limit, 5);
        assert.equal('ratelimits' in data.identity, false);
        assert.equal((await verify(server(), { key })).code, 'VALID');
      });
    });

    describe('check order', () => {
      it('a disabled key with credits spends none', async () => {
        const apiId = await newApi(server());
        const { key, keyId } = await newKey(server(), apiId, { enabled: false, credits: { remaining: 3 } });
        assert.equal((await verify(server(), { key })).code, 'DISABLED');
        const got = await server().call('keys.getKey', { keyId });
        assert.equal(got.body.data.credits.remaining, 3);
      });
      it('an expired key touches no rate limit', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId, {
          expires: clock.now() - 1,
          ratelimits: [{ name: 'once', limit: 1, duration: 60_000, autoApply: true }],
        });
        const data = await verify(server(), { key });
        assert.equal(data.code, 'EXPIRED');
        assert.equal('ratelimits' in data, false);
      });
      it('a rate-limited call spends no credits; a call out of credits has used its rate limit', async () => {
        const apiId = await newApi(server());
        const { key, keyId } = await newKey(server(), apiId, {
          credits: { remaining: 1 },
          ratelimits: [{ name: 'two', limit: 2, duration: 60_000, autoApply: true }],
        });
        assert.equal((await verify(server(), { key })).code, 'VALID');
        const out = await verify(server(), { key });
        assert.equal(out.code, 'USAGE_EXCEEDED');
        assert.equal(out.ratelimits[0].remaining, 0);
        await server().call('keys.updateCredits', { keyId, operation: 'set', value: 5 });
        const limited = await verify(server(), { key });
        assert.equal(limited.code, 'RATE_LIMITED');
        assert.equal(limited.credits, undefined);
        const got = await server().call('keys.getKey', { keyId });
        assert.equal(got.body.data.credits.remaining, 5);
      });
    });

    describe('analytics', () => {
      it('emits one complete event per verification', async () => {
        const apiId = await newApi(server());
        await server().call('identities.createIdentity', { externalId: 'evented' });
        const { key, keyId } = await newKey(server(), apiId, { externalId: 'evented', credits: { remaining: 9 } });
        const sink = server().app.services.analytics;
        const seen: VerificationEvent[] = [];
        const original = sink.record;
        sink.record = (event) => {
          seen.push(event);
          original.call(sink, event);
        };
        try {
          await verify(server(), { key, tags: ['path=/x'], credits: { cost: 2 } });
          await verify(server(), { key: 'unknown-key' });
        } finally {
          sink.record = original;
        }
        assert.equal(seen.length, 2);
        const [valid, missing] = seen;
        assert.equal(valid.outcome, 'VALID');
        assert.equal(valid.keyId, keyId);
        assert.equal(valid.workspaceId, server().workspaceId);
        assert.match(valid.keySpaceId, /^ks_/);
        assert.match(valid.identityId, /^id_/);
        assert.equal(valid.externalId, 'evented');
        assert.deepEqual(valid.tags, ['path=/x']);
        assert.equal(valid.spentCredits, 2);
        assert.equal(valid.time, clock.now());
        assert.match(valid.requestId, /^req_/);
        assert.ok(valid.latency >= 0);
        assert.ok(valid.nodeId.length > 0);
        assert.equal(missing.outcome, 'NOT_FOUND');
        assert.equal(missing.keyId, '');
      });

      it('a failing sink never fails the verification', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId);
        const sink = server().app.services.analytics;
        const original = sink.record;
        sink.record = () => {
          throw new Error('sink down');
        };
        try {
          assert.equal((await verify(server(), { key })).code, 'VALID');
        } finally {
          sink.record = original;
        }
      });
    });

    describe('400', () => {
      it('needs a key', async () => {
        const res = await server().call('keys.verifyKey', {});
        assert.equal(res.status, 400);
        assert.equal(res.body.error.errors[0].location, 'body.key');
      });
      it('rejects a negative cost and unknown fields', async () => {
        assert.equal((await server().call('keys.verifyKey', { key: 'x', credits: { cost: -1 } })).status, 400);
        const res = await server().call('keys.verifyKey', { key: 'x', apiId: 'api_x' });
        assert.equal(res.status, 400);
        assert.equal(res.body.error.errors[0].location, 'body.apiId');
      });
      it('validates before authenticating', async () => {
        assert.equal((await server().call('keys.verifyKey', { key: '' }, 'bad-root-key')).status, 400);
      });
    });

    describe('401', () => {
      it('rejects an unknown root key', async () => {
        assert.equal((await server().call('keys.verifyKey', { key: 'x' }, 'bad-root-key')).status, 401);
      });
    });

    describe('412', () => {
      it('refuses a requested limit that is configured nowhere', async () => {
        const apiId = await newApi(server());
        const { key } = await newKey(server(), apiId);
        const res = await rawCall(server(), 'keys.verifyKey', { key, ratelimits: [{ name: 'nonexistent' }] });
        assert.equal(res.status, 412);
        assert.match(res.body.error.detail, /'nonexistent'/);
        assert.match(res.body.meta.requestId, /^req_/);
        assert.equal(res.body.error.status, 412);
      });
    });
  },
  { clock: clock.now },
);

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { newApi, newKey, verifierOf } from '../keyHelpers.ts';
import { renderVerifyData, type VerifyInput } from '../../src/verify/verifier.ts';
import { Principal } from '../../src/http/auth.ts';
import { ALL_ROOT_PERMISSIONS } from '../../src/core/rootPermissions.ts';

// The lean path writes verifyKey answers with renderVerifyData; it must produce exactly what
// JSON.stringify makes of the same answer, whatever the key carries and whatever the outcome.
await describeOnBackends('verify: rendering the answer', (server) => {
  const verifier = () => verifierOf(server());
  const principal = () => new Principal('key_root', server().workspaceId, ALL_ROOT_PERMISSIONS);
  const same = async (input: VerifyInput, code: string) => {
    const data = await verifier().verify(principal(), input, 'req_render');
    assert.equal(data.code, code);
    assert.equal(renderVerifyData(data), JSON.stringify(data));
    return data;
  };

  describe('200', () => {
    it('renders every field a key and its identity can carry, for every outcome', async () => {
      const apiId = await newApi(server());
      const externalId = `render-${Date.now()}`;
      const identity = await server().call('identities.createIdentity', {
        externalId,
        meta: { plan: 'pro', nested: { list: [1, 'two', null], 'key "with" quotes': 'line\nbreak' } },
        ratelimits: [
          { name: 'per-identity', limit: 100, duration: 60_000, autoApply: true },
          { name: 'on-demand', limit: 2, duration: 60_000 },
        ],
      });
      assert.equal(identity.status, 200, JSON.stringify(identity.body));
      const full = await newKey(server(), apiId, {
        name: 'ключ "one"',
        meta: { tier: 'gold', unicode: 'ü☃', nested: { a: [true, false] } },
        expires: Date.now() + 3_600_000,
        externalId,
        credits: { remaining: 3 },
        ratelimits: [{ name: 'per-key', limit: 1, duration: 60_000, autoApply: false }],
      });
      const data = await same({ key: full.key }, 'VALID');
      assert.equal(data.credits, 2);
      assert.ok(data.identity?.meta && data.ratelimits?.length === 1);
      await same({ key: full.key, ratelimits: [{ name: 'on-demand', cost: 2 }], credits: { cost: 0 } }, 'VALID');
      await same({ key: full.key, ratelimits: [{ name: 'on-demand' }] }, 'RATE_LIMITED');
      await same({ key: full.key, ratelimits: [{ name: 'inline "limit"', limit: 5, duration: 2_000, cost: 1 }] }, 'VALID');
      await same({ key: full.key, credits: { cost: 10 } }, 'USAGE_EXCEEDED');

      const plain = await newKey(server(), apiId);
      await same({ key: plain.key }, 'VALID');
      const disabled = await newKey(server(), apiId, { enabled: false, credits: { remaining: 1 } });
      await same({ key: disabled.key }, 'DISABLED');
      await same({ key: 'lk_no_such_key' }, 'NOT_FOUND');

      // Only auto-applied limits, two of them, one exhausted: the limits are written from per-key text.
      const strict = `render-strict-${Date.now()}`;
      await server().call('identities.createIdentity', {
        externalId: strict,
        ratelimits: [
          { name: 'hourly "1"', limit: 1, duration: 3_600_000, autoApply: true },
          { name: 'daily', limit: 1_000, duration: 86_400_000, autoApply: true },
        ],
      });
      const limited = await newKey(server(), apiId, { externalId: strict });
      const first = await same({ key: limited.key }, 'VALID');
      assert.equal(first.ratelimits?.length, 2);
      const second = await same({ key: limited.key }, 'RATE_LIMITED');
      assert.deepEqual(
        Object.fromEntries((second.ratelimits ?? []).map((r) => [r.name, r.exceeded])),
        { 'hourly "1"': true, daily: false },
      );
    });
  });
});

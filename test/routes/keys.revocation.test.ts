import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { newApi, newKey, verify } from '../keyHelpers.ts';

// Each case verifies first, so the key and its identity are cached, then changes them and verifies
// again at once: the answer must already reflect the change.
await describeOnBackends('verification sees every write at once', (server) => {
  describe('200', () => {
    it('deleteKey → NOT_FOUND', async () => {
      const apiId = await newApi(server());
      const { key, keyId } = await newKey(server(), apiId);
      assert.equal((await verify(server(), { key })).code, 'VALID');
      await server().call('keys.deleteKey', { keyId });
      assert.equal((await verify(server(), { key })).code, 'NOT_FOUND');
    });

    it('updateKey enabled:false → DISABLED, and back', async () => {
      const apiId = await newApi(server());
      const { key, keyId } = await newKey(server(), apiId);
      assert.equal((await verify(server(), { key })).code, 'VALID');
      await server().call('keys.updateKey', { keyId, enabled: false });
      assert.equal((await verify(server(), { key })).code, 'DISABLED');
      await server().call('keys.updateKey', { keyId, enabled: true });
      assert.equal((await verify(server(), { key })).code, 'VALID');
    });

    it('updateKey meta and expiry', async () => {
      const apiId = await newApi(server());
      const { key, keyId } = await newKey(server(), apiId, { meta: { v: 1 } });
      assert.deepEqual((await verify(server(), { key })).meta, { v: 1 });
      await server().call('keys.updateKey', { keyId, meta: { v: 2 } });
      assert.deepEqual((await verify(server(), { key })).meta, { v: 2 });
      await server().call('keys.updateKey', { keyId, expires: Date.now() - 1000 });
      assert.equal((await verify(server(), { key })).code, 'EXPIRED');
    });

    it('updateIdentity meta and limits reach the next verification of every key of the identity', async () => {
      const apiId = await newApi(server());
      await server().call('identities.createIdentity', { externalId: 'revoke-org', meta: { plan: 'free' } });
      const a = await newKey(server(), apiId, { externalId: 'revoke-org' });
      const b = await newKey(server(), apiId, { externalId: 'revoke-org' });
      assert.deepEqual((await verify(server(), { key: a.key })).identity.meta, { plan: 'free' });
      assert.deepEqual((await verify(server(), { key: b.key })).identity.meta, { plan: 'free' });
      await server().call('identities.updateIdentity', {
        identity: 'revoke-org',
        meta: { plan: 'paid' },
        ratelimits: [{ name: 'tight', limit: 1, duration: 60_000, autoApply: true }],
      });
      const nextA = await verify(server(), { key: a.key });
      assert.deepEqual(nextA.identity.meta, { plan: 'paid' });
      assert.equal(nextA.ratelimits[0].name, 'tight');
      const nextB = await verify(server(), { key: b.key });
      assert.deepEqual(nextB.identity.meta, { plan: 'paid' });
      assert.equal(nextB.code, 'RATE_LIMITED', 'the new shared limit counts both keys');
    });

    it('deleteIdentity → the keys stay valid without identity and its limits', async () => {
      const apiId = await newApi(server());
      await server().call('identities.createIdentity', {
        externalId: 'doomed',
        ratelimits: [{ name: 'shared', limit: 1, duration: 60_000, autoApply: true }],
      });
      const { key } = await newKey(server(), apiId, { externalId: 'doomed' });
      assert.equal((await verify(server(), { key })).code, 'VALID');
      assert.equal((await verify(server(), { key })).code, 'RATE_LIMITED');
      await server().call('identities.deleteIdentity', { identity: 'doomed' });
      const after = await verify(server(), { key });
      assert.equal(after.code, 'VALID');
      assert.equal('identity' in after, false);
      assert.equal('ratelimits' in after, false);
    });

    it('updateCredits and a key created after an unknown-key lookup', async () => {
      const apiId = await newApi(server());
      const { key, keyId } = await newKey(server(), apiId);
      assert.equal('credits' in (await verify(server(), { key })), false);
      await server().call('keys.updateCredits', { keyId, operation: 'set', value: 0 });
      assert.equal((await verify(server(), { key })).code, 'USAGE_EXCEEDED');
    });
  });
});

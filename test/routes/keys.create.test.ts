import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { hashKey } from '../../src/core/hash.ts';

await describeOnBackends('keys.createKey / getKey / whoami', (server) => {
  const newApi = async () => (await server().call('apis.createApi', { name: 'keys-api' })).body.data.apiId as string;

  describe('200', () => {
    it('creates a key with a prefix and stores only its hash', async () => {
      const apiId = await newApi();
      const res = await server().call('keys.createKey', { apiId, prefix: 'sk_live', byteLength: 24, name: 'first' });
      assert.equal(res.status, 200);
      const { keyId, key } = res.body.data;
      assert.match(keyId, /^key_/);
      assert.match(key, /^sk_live_[1-9A-HJ-NP-Za-km-z]+$/);
      const row = await server().app.services.store.db.selectFrom('keys').selectAll().where('id', '=', keyId).executeTakeFirstOrThrow();
      assert.equal(row.hash, hashKey(key));
      assert.equal(row.start, key.slice(0, 'sk_live_'.length + 4));
      assert.ok(!JSON.stringify(row).includes(key), 'the plaintext is not stored');
      const got = await server().call('keys.getKey', { keyId });
      assert.equal(got.status, 200);
      assert.equal(got.body.data.keyId, keyId);
      assert.equal(got.body.data.name, 'first');
      assert.equal(got.body.data.enabled, true);
      assert.equal(got.body.data.start, row.start);
      assert.equal('credits' in got.body.data, false);
      assert.equal('meta' in got.body.data, false);
    });

    it('links an externalId to a new identity, then to the same one', async () => {
      const apiId = await newApi();
      const a = await server().call('keys.createKey', { apiId, externalId: 'customer-1' });
      const b = await server().call('keys.createKey', { apiId, externalId: 'customer-1' });
      const ga = await server().call('keys.getKey', { keyId: a.body.data.keyId });
      const gb = await server().call('keys.getKey', { keyId: b.body.data.keyId });
      assert.equal(ga.body.data.identity.externalId, 'customer-1');
      assert.equal(ga.body.data.identity.id, gb.body.data.identity.id);
      const identity = await server().call('identities.getIdentity', { identity: 'customer-1' });
      assert.equal(identity.body.data.id, ga.body.data.identity.id);
    });

    it('reports meta, expiry, credits with refill and key rate limits', async () => {
      const apiId = await newApi();
      const expires = Date.now() + 3_600_000;
      const { body } = await server().call('keys.createKey', {
        apiId,
        meta: { plan: 'pro' },
        expires,
        credits: { remaining: 10, refill: { interval: 'monthly', amount: 100, refillDay: 31 } },
        ratelimits: [{ name: 'requests', limit: 5, duration: 60_000, autoApply: true }],
        enabled: false,
      });
      const got = await server().call('keys.getKey', { keyId: body.data.keyId });
      assert.deepEqual(got.body.data.meta, { plan: 'pro' });
      assert.equal(got.body.data.expires, expires);
      assert.equal(got.body.data.enabled, false);
      assert.deepEqual(got.body.data.credits, { remaining: 10, refill: { interval: 'monthly', amount: 100, refillDay: 31 } });
      assert.equal(got.body.data.ratelimits.length, 1);
      assert.match(got.body.data.ratelimits[0].id, /^rl_/);
      assert.equal(got.body.data.ratelimits[0].autoApply, true);
    });

    it('answers whoami for the plaintext key', async () => {
      const apiId = await newApi();
      const { body } = await server().call('keys.createKey', { apiId, name: 'me' });
      const res = await server().call('keys.whoami', { key: body.data.key });
      assert.equal(res.status, 200);
      assert.equal(res.body.data.keyId, body.data.keyId);
      assert.equal(res.body.data.name, 'me');
    });

    it('accepts API-scoped create and read rights', async () => {
      const apiId = await newApi();
      const rootKey = await server().newRootKey([`api.${apiId}.create_key`, `api.${apiId}.read_key`]);
      const created = await server().call('keys.createKey', { apiId }, rootKey);
      assert.equal(created.status, 200);
      const got = await server().call('keys.getKey', { keyId: created.body.data.keyId }, rootKey);
      assert.equal(got.status, 200);
    });
  });

  describe('400', () => {
    it('rejects a byteLength under 16, naming the field', async () => {
      const res = await server().call('keys.createKey', { apiId: 'api_whatever', byteLength: 8 });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.errors[0].location, 'body.byteLength');
    });
    it('needs remaining when a refill is set', async () => {
      const apiId = await newApi();
      const res = await server().call('keys.createKey', { apiId, credits: { remaining: null, refill: { interval: 'daily', amount: 5 } } });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.errors[0].location, 'body.credits.remaining');
    });
    it('needs a refillDay for monthly refills and refuses one for daily refills', async () => {
      const apiId = await newApi();
      const monthly = await server().call('keys.createKey', { apiId, credits: { remaining: 1, refill: { interval: 'monthly', amount: 5 } } });
      assert.equal(monthly.status, 400);
      assert.equal(monthly.body.error.errors[0].location, 'body.credits.refill.refillDay');
      const daily = await server().call('keys.createKey', { apiId, credits: { remaining: 1, refill: { interval: 'daily', amount: 5, refillDay: 3 } } });
      assert.equal(daily.status, 400);
    });
    it('rejects duplicate rate limit names and unknown fields', async () => {
      const apiId = await newApi();
      const dup = await server().call('keys.createKey', {
        apiId,
        ratelimits: [
          { name: 'same', limit: 1, duration: 1000, autoApply: false },
          { name: 'same', limit: 2, duration: 1000, autoApply: false },
        ],
      });
      assert.equal(dup.status, 400);
      assert.equal(dup.body.error.errors[0].location, 'body.ratelimits[1].name');
      const unknown = await server().call('keys.createKey', { apiId, roles: ['admin'] });
      assert.equal(unknown.status, 400);
    });
    it('rejects a whoami without a key', async () => {
      const res = await server().call('keys.whoami', {});
      assert.equal(res.status, 400);
      assert.equal(res.body.error.errors[0].location, 'body.key');
    });
  });

  describe('401', () => {
    it('rejects an unknown root key', async () => {
      const res = await server().call('keys.getKey', { keyId: 'key_123' }, 'nope');
      assert.equal(res.status, 401);
    });
  });

  describe('403', () => {
    it('needs read_key for the key API on getKey', async () => {
      const apiId = await newApi();
      const { body } = await server().call('keys.createKey', { apiId });
      const rootKey = await server().newRootKey(['api.api_other0000.read_key']);
      const res = await server().call('keys.getKey', { keyId: body.data.keyId }, rootKey);
      assert.equal(res.status, 403);
    });
  });

  describe('404', () => {
    it('hides a missing API, and one the root key may not create keys in', async () => {
      const missing = await server().call('keys.createKey', { apiId: 'api_doesnotexist' });
      assert.equal(missing.status, 404);
      const apiId = await newApi();
      const rootKey = await server().newRootKey(['api.*.read_key']);
      const masked = await server().call('keys.createKey', { apiId }, rootKey);
      assert.equal(masked.status, 404);
      assert.equal(masked.body.error.type, missing.body.error.type);
    });
    it('hides keys of another workspace', async () => {
      const apiId = await newApi();
      const { body } = await server().call('keys.createKey', { apiId });
      const other = await server().newWorkspace();
      assert.equal((await server().call('keys.getKey', { keyId: body.data.keyId }, other.rootKey)).status, 404);
      assert.equal((await server().call('keys.whoami', { key: body.data.key }, other.rootKey)).status, 404);
    });
    it('answers whoami with 404 when the root key may not read the key', async () => {
      const apiId = await newApi();
      const { body } = await server().call('keys.createKey', { apiId });
      const rootKey = await server().newRootKey(['api.*.verify_key']);
      assert.equal((await server().call('keys.whoami', { key: body.data.key }, rootKey)).status, 404);
    });
  });
});

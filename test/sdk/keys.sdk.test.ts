import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Unkey } from '@unkey/api';
import * as sdkErrors from '@unkey/api/models/errors';
import { backends, startServer, type TestServer } from '../harness.ts';
import { manualClock } from '../keyHelpers.ts';

// The official client drives the whole key flow, so every answer is parsed by the client users run.
for (const backend of await backends()) {
  describe(`@unkey/api keys end to end [${backend.name}]`, { skip: backend.skip }, () => {
    const clock = manualClock(Date.UTC(2030, 5, 1, 10));
    let server: TestServer;
    let unkey: Unkey;
    before(async () => {
      server = await startServer(backend.name, { clock: clock.now });
      unkey = new Unkey({ rootKey: server.rootKey, serverURL: server.url, retryConfig: { strategy: 'none' } });
    });
    after(async () => server?.close());

    it('identity → two keys → shared limit, credits, expiry', async () => {
      const api = await unkey.apis.createApi({ name: 'sdk-api' });
      const apiId = api.data.apiId;
      await unkey.identities.createIdentity({
        externalId: 'sdk-customer',
        meta: { plan: 'team' },
        ratelimits: [{ name: 'team-requests', limit: 3, duration: 60_000, autoApply: true }],
      });
      const one = await unkey.keys.createKey({ apiId, prefix: 'sdk', externalId: 'sdk-customer' });
      const two = await unkey.keys.createKey({ apiId, prefix: 'sdk', externalId: 'sdk-customer', name: 'second' });
      assert.match(one.data.key, /^sdk_/);

      const first = await unkey.keys.verifyKey({ key: one.data.key });
      assert.equal(first.data.valid, true);
      assert.equal(first.data.code, 'VALID');
      assert.equal(first.data.identity?.externalId, 'sdk-customer');
      assert.deepEqual(first.data.identity?.meta, { plan: 'team' });
      assert.equal(first.data.ratelimits?.[0].remaining, 2);

      assert.equal((await unkey.keys.verifyKey({ key: two.data.key })).data.code, 'VALID');
      assert.equal((await unkey.keys.verifyKey({ key: one.data.key })).data.code, 'VALID');
      const limited = await unkey.keys.verifyKey({ key: two.data.key });
      assert.equal(limited.data.valid, false);
      assert.equal(limited.data.code, 'RATE_LIMITED');
      assert.equal(limited.data.ratelimits?.[0].exceeded, true);

      const metered = await unkey.keys.createKey({ apiId, credits: { remaining: 2 } });
      assert.equal((await unkey.keys.verifyKey({ key: metered.data.key })).data.credits, 1);
      assert.equal((await unkey.keys.verifyKey({ key: metered.data.key })).data.credits, 0);
      const exhausted = await unkey.keys.verifyKey({ key: metered.data.key });
      assert.equal(exhausted.data.code, 'USAGE_EXCEEDED');
      assert.equal(exhausted.data.credits, 0);

      const expiring = await unkey.keys.createKey({ apiId, expires: clock.now() + 60_000 });
      assert.equal((await unkey.keys.verifyKey({ key: expiring.data.key })).data.code, 'VALID');
      clock.advance(61_000);
      const expired = await unkey.keys.verifyKey({ key: expiring.data.key });
      assert.equal(expired.data.code, 'EXPIRED');
      assert.equal(expired.data.valid, false);

      const unknown = await unkey.keys.verifyKey({ key: 'sdk_doesnotexist' });
      assert.equal(unknown.data.code, 'NOT_FOUND');
    });

    it('every other key operation parses in the official client', async () => {
      const apiId = (await unkey.apis.createApi({ name: 'sdk-ops' })).data.apiId;
      const created = await unkey.keys.createKey({
        apiId,
        name: 'ops',
        meta: { x: 1 },
        credits: { remaining: 5, refill: { interval: 'monthly', amount: 50, refillDay: 31 } },
        ratelimits: [{ name: 'per-key', limit: 10, duration: 1000, autoApply: false }],
      });
      const keyId = created.data.keyId;
      const got = await unkey.keys.getKey({ keyId });
      assert.equal(got.data.credits?.refill?.interval, 'monthly');
      assert.equal((await unkey.keys.whoami({ key: created.data.key })).data.keyId, keyId);
      assert.deepEqual((await unkey.keys.updateKey({ keyId, name: null, meta: { y: 2 } })).data, {});
      const credits = await unkey.keys.updateCredits({ keyId, operation: 'increment', value: 3 });
      assert.equal(credits.data.remaining, 8);
      const unlimited = await unkey.keys.updateCredits({ keyId, operation: 'set', value: null });
      assert.equal(unlimited.data.remaining, null);
      const listed = await unkey.apis.listKeys({ apiId });
      assert.equal(listed.result.data.length, 1);
      assert.equal(listed.result.pagination?.hasMore, false);
      const rerolled = await unkey.keys.rerollKey({ keyId, expiration: 0 });
      assert.notEqual(rerolled.data.keyId, keyId);
      assert.deepEqual((await unkey.keys.deleteKey({ keyId: rerolled.data.keyId })).data, {});
      await assert.rejects(unkey.keys.getKey({ keyId: rerolled.data.keyId }), sdkErrors.NotFoundErrorResponse);
      await assert.rejects(unkey.keys.createKey({ apiId, byteLength: 8 }), sdkErrors.BadRequestErrorResponse);
    });
  });
}

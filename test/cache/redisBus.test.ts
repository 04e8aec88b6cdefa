import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterUnavailable, startTwoNodes, type TestServer } from '../harness.ts';
import { newApi, newKey, verify } from '../keyHelpers.ts';
import { RedisCacheBus } from '../../src/cache/redisBus.ts';

const skip = await clusterUnavailable('cluster cache tests');

describe('cache invalidation across two nodes (PostgreSQL + Redis)', { skip }, () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    [a, b] = await startTwoNodes();
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a key deleted on one node is NOT_FOUND on the other at once', async () => {
    const apiId = await newApi(a);
    const { key, keyId } = await newKey(a, apiId);
    assert.equal((await verify(b, { key }, a.rootKey)).code, 'VALID');
    assert.equal((await verify(b, { key }, a.rootKey)).code, 'VALID');
    const del = await a.call('keys.deleteKey', { keyId });
    assert.equal(del.status, 200);
    assert.equal((await verify(b, { key }, a.rootKey)).code, 'NOT_FOUND');
  });

  it('a key disabled on one node is DISABLED on the other at once', async () => {
    const apiId = await newApi(a);
    const { key, keyId } = await newKey(a, apiId);
    assert.equal((await verify(b, { key }, a.rootKey)).code, 'VALID');
    await a.call('keys.updateKey', { keyId, enabled: false });
    assert.equal((await verify(b, { key }, a.rootKey)).code, 'DISABLED');
  });

  it('identity meta updated on one node shows on the other at once', async () => {
    const apiId = await newApi(a);
    const { key } = await newKey(a, apiId, { externalId: 'cluster_user' });
    assert.equal((await verify(b, { key }, a.rootKey)).identity.meta, undefined);
    await a.call('identities.updateIdentity', { identity: 'cluster_user', meta: { plan: 'pro' } });
    assert.deepEqual((await verify(b, { key }, a.rootKey)).identity.meta, { plan: 'pro' });
  });

  it('an override set on one node applies to the next limit call on the other', async () => {
    const body = { namespace: 'cluster-ns', identifier: 'user_9', limit: 100, duration: 60_000 };
    // The first call creates the namespace; the second has node B cache it, with no overrides.
    await b.call('ratelimit.limit', body, a.rootKey);
    const cached = await b.call('ratelimit.limit', body, a.rootKey);
    assert.equal(cached.body.data.limit, 100);
    const set = await a.call('ratelimit.setOverride', { namespace: 'cluster-ns', identifier: 'user_9', limit: 1, duration: 60_000 });
    assert.equal(set.status, 200);
    const next = await b.call('ratelimit.limit', body, a.rootKey);
    assert.equal(next.body.data.limit, 1);
    assert.equal(next.body.data.overrideId, set.body.data.overrideId);
    assert.equal(next.body.data.success, false);
  });

  it('an identity limit is shared across nodes', async () => {
    const apiId = await newApi(a);
    await a.call('identities.createIdentity', {
      externalId: 'cluster_shared',
      ratelimits: [{ name: 'requests', limit: 4, duration: 60_000, autoApply: true }],
    });
    const k1 = await newKey(a, apiId, { externalId: 'cluster_shared' });
    const k2 = await newKey(a, apiId, { externalId: 'cluster_shared' });
    const codes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => verify(i % 2 ? a : b, { key: i % 3 ? k1.key : k2.key }, a.rootKey)),
    );
    assert.equal(codes.filter((d) => d.code === 'VALID').length, 4);
  });
});

describe('RedisCacheBus', () => {
  it('fails with a clear message when Redis is unreachable', async () => {
    await assert.rejects(RedisCacheBus.connect('redis://127.0.0.1:1'), /cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});

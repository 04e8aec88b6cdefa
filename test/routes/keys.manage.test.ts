import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describeOnBackends } from '../routes.ts';
import { manualClock, newApi, newKey, verify } from '../keyHelpers.ts';

const MINUTE = 60_000;
const clock = manualClock(Date.UTC(2031, 4, 10, 8, 30, 15));

await describeOnBackends(
  'keys.updateKey / deleteKey / rerollKey / updateCredits / migrateKeys / apis.listKeys',
  (server) => {
    const getKey = async (keyId: string) => (await server().call('keys.getKey', { keyId })).body.data;

    describe('updateKey 200', () => {
      it('keeps absent fields, clears null ones and sets given ones', async () => {
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId, {
          name: 'orig',
          meta: { a: 1 },
          expires: clock.now() + 10 * MINUTE,
          externalId: 'three-state',
          credits: { remaining: 5, refill: { interval: 'daily', amount: 10 } },
        });
        assert.equal((await server().call('keys.updateKey', { keyId, name: 'renamed' })).status, 200);
        let key = await getKey(keyId);
        assert.equal(key.name, 'renamed');
        assert.deepEqual(key.meta, { a: 1 }, 'absent meta is kept');
        assert.equal(key.identity.externalId, 'three-state');
        assert.deepEqual(key.credits, { remaining: 5, refill: { interval: 'daily', amount: 10 } });

        const res = await server().call('keys.updateKey', { keyId, meta: null, expires: null, externalId: null, name: null });
        assert.deepEqual(res.body.data, {});
        key = await getKey(keyId);
        for (const field of ['meta', 'expires', 'identity', 'name']) assert.equal(field in key, false, `${field} is cleared`);
        assert.equal(key.credits.remaining, 5);
        assert.ok(key.updatedAt >= key.createdAt);

        await server().call('keys.updateKey', { keyId, externalId: 'relinked', meta: { b: 2 } });
        key = await getKey(keyId);
        assert.equal(key.identity.externalId, 'relinked');
        assert.deepEqual(key.meta, { b: 2 });
      });

      it('applies the credit rules: refill:null keeps the balance, remaining:null makes it unlimited', async () => {
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId, { credits: { remaining: 5, refill: { interval: 'daily', amount: 10 } } });
        await server().call('keys.updateKey', { keyId, credits: { refill: null } });
        assert.deepEqual((await getKey(keyId)).credits, { remaining: 5 });
        await server().call('keys.updateKey', { keyId, credits: { refill: { interval: 'monthly', amount: 7, refillDay: 15 } } });
        assert.deepEqual((await getKey(keyId)).credits, { remaining: 5, refill: { interval: 'monthly', amount: 7, refillDay: 15 } });
        await server().call('keys.updateKey', { keyId, credits: { remaining: null } });
        assert.equal('credits' in (await getKey(keyId)), false);
        await server().call('keys.updateKey', { keyId, credits: { remaining: 3 } });
        assert.deepEqual((await getKey(keyId)).credits, { remaining: 3 });
        await server().call('keys.updateKey', { keyId, credits: null });
        assert.equal('credits' in (await getKey(keyId)), false);
      });

      it('replaces key rate limits by name, keeping the ids of kept names', async () => {
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId, {
          ratelimits: [
            { name: 'keep', limit: 1, duration: 1000, autoApply: true },
            { name: 'drop', limit: 1, duration: 1000, autoApply: true },
          ],
        });
        const before = (await getKey(keyId)).ratelimits;
        await server().call('keys.updateKey', {
          keyId,
          ratelimits: [
            { name: 'keep', limit: 5, duration: 2000, autoApply: false },
            { name: 'new', limit: 3, duration: 1000, autoApply: true },
          ],
        });
        const after = (await getKey(keyId)).ratelimits;
        assert.deepEqual(after.map((r: any) => r.name).sort(), ['keep', 'new']);
        const keep = after.find((r: any) => r.name === 'keep');
        assert.equal(keep.id, before.find((r: any) => r.name === 'keep').id);
        assert.equal(keep.limit, 5);
        await server().call('keys.updateKey', { keyId, ratelimits: [] });
        assert.equal('ratelimits' in (await getKey(keyId)), false);
      });
    });

    describe('updateKey 400 / 403 / 404', () => {
      it('needs a balance for a refill and a refillDay for monthly ones', async () => {
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId);
        const noBalance = await server().call('keys.updateKey', { keyId, credits: { refill: { interval: 'daily', amount: 3 } } });
        assert.equal(noBalance.status, 400);
        assert.equal(noBalance.body.error.errors[0].location, 'body.credits.remaining');
        const noDay = await server().call('keys.updateKey', { keyId, credits: { remaining: 1, refill: { interval: 'monthly', amount: 3 } } });
        assert.equal(noDay.status, 400);
        assert.equal((await server().call('keys.updateKey', { keyId, enabled: null })).status, 400);
      });
      it('needs update_key and hides other workspaces', async () => {
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId);
        const readOnly = await server().newRootKey(['api.*.read_key']);
        assert.equal((await server().call('keys.updateKey', { keyId, name: 'x' }, readOnly)).status, 403);
        const other = await server().newWorkspace();
        assert.equal((await server().call('keys.updateKey', { keyId, name: 'x' }, other.rootKey)).status, 404);
        assert.equal((await server().call('keys.updateKey', { keyId: 'key_missing', name: 'x' })).status, 404);
      });
    });

    describe('deleteKey', () => {
      it('soft-deletes: the key is gone for reads and verification, and a second delete is 404', async () => {
        const apiId = await newApi(server());
        const { keyId, key } = await newKey(server(), apiId);
        assert.deepEqual((await server().call('keys.deleteKey', { keyId })).body.data, {});
        assert.equal((await server().call('keys.getKey', { keyId })).status, 404);
        assert.equal((await verify(server(), { key })).code, 'NOT_FOUND');
        assert.equal((await server().call('keys.deleteKey', { keyId })).status, 404);
        const row = await server().app.services.store.db.selectFrom('keys').select('deleted_at').where('id', '=', keyId).executeTakeFirst();
        assert.ok(row?.deleted_at, 'the row is kept, marked deleted');
      });
      it('permanently removes the row and its rate limits', async () => {
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId, { ratelimits: [{ name: 'gone', limit: 1, duration: 1000, autoApply: true }] });
        await server().call('keys.deleteKey', { keyId, permanent: true });
        const db = server().app.services.store.db;
        assert.equal(await db.selectFrom('keys').select('id').where('id', '=', keyId).executeTakeFirst(), undefined);
        assert.equal(await db.selectFrom('ratelimits').select('id').where('key_id', '=', keyId).executeTakeFirst(), undefined);
      });
      it('needs delete_key (403), and rejects a malformed id (400)', async () => {
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId);
        const rootKey = await server().newRootKey(['api.*.read_key']);
        assert.equal((await server().call('keys.deleteKey', { keyId }, rootKey)).status, 403);
        assert.equal((await server().call('keys.deleteKey', { keyId: 'bad id!' })).status, 400);
      });
    });

    describe('rerollKey', () => {
      it('copies the key and expires the old one at the next whole minute after the delay', async () => {
        const apiId = await newApi(server());
        await server().call('identities.createIdentity', { externalId: 'reroller' });
        const old = await newKey(server(), apiId, {
          prefix: 'rr',
          name: 'rolled',
          meta: { m: true },
          externalId: 'reroller',
          credits: { remaining: 4, refill: { interval: 'daily', amount: 9 } },
          ratelimits: [{ name: 'rl-copy', limit: 3, duration: 60_000, autoApply: true }],
        });
        const res = await server().call('keys.rerollKey', { keyId: old.keyId, expiration: 90_000 });
        assert.equal(res.status, 200);
        const fresh = res.body.data;
        assert.notEqual(fresh.keyId, old.keyId);
        assert.match(fresh.key, /^rr_/);
        const a = await getKey(old.keyId);
        const b = await getKey(fresh.keyId);
        assert.equal(a.expires, Math.ceil((clock.now() + 90_000) / MINUTE) * MINUTE);
        assert.equal(a.expires % MINUTE, 0);
        assert.equal(b.name, 'rolled');
        assert.deepEqual(b.meta, { m: true });
        assert.equal(b.identity.id, a.identity.id);
        assert.deepEqual(b.credits, a.credits);
        assert.equal(b.ratelimits[0].name, 'rl-copy');
        assert.notEqual(b.ratelimits[0].id, a.ratelimits[0].id);
        assert.equal('expires' in b, false);
        assert.equal((await verify(server(), { key: old.key })).code, 'VALID');
        assert.equal((await verify(server(), { key: fresh.key })).code, 'VALID');
      });
      it('expiration 0 expires the old key at once', async () => {
        const apiId = await newApi(server());
        const old = await newKey(server(), apiId);
        await verify(server(), { key: old.key });
        const res = await server().call('keys.rerollKey', { keyId: old.keyId, expiration: 0 });
        assert.equal((await verify(server(), { key: old.key })).code, 'EXPIRED');
        assert.equal((await verify(server(), { key: res.body.data.key })).code, 'VALID');
      });
      it('never extends an expiry the old key had, and the new key keeps it', async () => {
        const apiId = await newApi(server());
        const expires = clock.now() + 5 * MINUTE;
        const old = await newKey(server(), apiId, { expires });
        const res = await server().call('keys.rerollKey', { keyId: old.keyId, expiration: 24 * 60 * MINUTE });
        assert.equal((await getKey(old.keyId)).expires, expires);
        assert.equal((await getKey(res.body.data.keyId)).expires, expires);
      });
      it('404 for a missing key, 403 without create_key', async () => {
        assert.equal((await server().call('keys.rerollKey', { keyId: 'key_missing', expiration: 0 })).status, 404);
        const apiId = await newApi(server());
        const { keyId } = await newKey(server(), apiId);
        const rootKey = await server().newRootKey(['api.*.read_key']);
        assert.equal((await server().call('keys.rerollKey', { keyId, expiration: 0 }, rootKey)).status, 403);
      });
    });

    describe('updateCredits', () => {
      it('sets, increments and decrements (clamped at zero), and set null makes it unlimited', async () => {
        const apiId = await newApi(server());
        const { keyId, key } = await newKey(server(), apiId, { credits: { remaining: 2, refill: { interval: 'daily', amount: 5 } } });
        const call = (operation: string, value?: number | null) => server().call('keys.updateCredits', { keyId, operation, value });
        assert.deepEqual((await call('set', 10)).body.data, { remaining: 10, refill: { interval: 'daily', amount: 5 } });
        assert.equal((await call('increment', 5)).body.data.remaining, 15);
        assert.equal((await call('decrement', 4)).body.data.remaining, 11);
        assert.equal((await call('decrement', 100)).body.data.remaining, 0);
        assert.equal((await verify(server(), { key })).code, 'USAGE_EXCEEDED');
        assert.equal((await call('increment', 1)).body.data.remaining, 1);
        assert.equal((await verify(server(), { key })).code, 'VALID', 'the next verification sees the new balance');
        const unlimited = await call('set', null);
        assert.deepEqual(unlimited.body.data, { remaining: null });
        assert.equal('credits' in (await verify(server(), { key })), false);
      });
      it('400 for increment without a value or on an unlimited key; 404 for a missing key', async () => {
        const apiId = await newApi(server());
        const limited = await newKey(server(), apiId, { credits: { remaining: 1 } });
        const noValue = await server().call('keys.updateCredits', { keyId: limited.keyId, operation: 'increment' });
        assert.equal(noValue.status, 400);
        assert.equal(noValue.body.error.errors[0].location, 'body.value');
        const unlimited = await newKey(server(), apiId);
        assert.equal((await server().call('keys.updateCredits', { keyId: unlimited.keyId, operation: 'decrement', value: 1 })).status, 400);
        assert.equal((await server().call('keys.updateCredits', { keyId: 'key_missing', operation: 'set', value: 1 })).status, 404);
        assert.equal((await server().call('keys.updateCredits', { keyId: limited.keyId, operation: 'double', value: 1 })).status, 400);
      });
    });

    describe('migrateKeys', () => {
      it('imports keys by hash; they verify, and verifying with the migrationId reveals their start', async () => {
        const apiId = await newApi(server());
        const migrationId = await server().app.services.store.keys.createMigration(server().workspaceId, 'sha256', clock.now());
        const plain = 'legacy_abcdefghijklmnop';
        const hex = createHash('sha256').update(plain).digest('hex');
        const b64Plain = 'other-system-key-0001';
        const b64 = createHash('sha256').update(b64Plain).digest('base64');
        const res = await server().call('keys.migrateKeys', {
          migrationId,
          apiId,
          keys: [
            { hash: hex, name: 'imported', externalId: 'migrated-user', credits: { remaining: 3 } },
            { hash: b64 },
            { hash: hex },
          ],
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.data.migrated.length, 2);
        assert.deepEqual(res.body.data.failed, [hex], 'a hash that already exists fails');
        const keyId = res.body.data.migrated[0].keyId;
        assert.equal(res.body.data.migrated[0].hash, hex);
        const before = await getKey(keyId);
        assert.equal(before.name, 'imported');
        const data = await verify(server(), { key: plain, migrationId });
        assert.equal(data.code, 'VALID');
        assert.equal(data.keyId, keyId);
        assert.equal(data.credits, 2);
        assert.equal((await getKey(keyId)).start, 'legacy_abcd');
        assert.equal((await verify(server(), { key: b64Plain })).code, 'VALID');
      });
      it('404 for an unknown migration or API, 400 for a hash that is no SHA-256 digest', async () => {
        const apiId = await newApi(server());
        const migrationId = await server().app.services.store.keys.createMigration(server().workspaceId, 'sha256', clock.now());
        const hash = createHash('sha256').update('x').digest('hex');
        assert.equal((await server().call('keys.migrateKeys', { migrationId: 'mig_unknown', apiId, keys: [{ hash }] })).status, 404);
        assert.equal((await server().call('keys.migrateKeys', { migrationId, apiId: 'api_unknown', keys: [{ hash }] })).status, 404);
        const bad = await server().call('keys.migrateKeys', { migrationId, apiId, keys: [{ hash: 'not-a-digest' }] });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error.errors[0].location, 'body.keys[0].hash');
        const other = await server().newWorkspace();
        assert.equal((await server().call('keys.migrateKeys', { migrationId, apiId, keys: [{ hash }] }, other.rootKey)).status, 404);
      });
    });

    describe('apis.listKeys', () => {
      it('pages through live keys in id order and filters by externalId', async () => {
        const apiId = await newApi(server());
        const created = [];
        for (let i = 0; i < 5; i++) created.push(await newKey(server(), apiId, { externalId: i % 2 === 0 ? 'even' : 'odd' }));
        await server().call('keys.deleteKey', { keyId: created[4].keyId });
        const first = await server().call('apis.listKeys', { apiId, limit: 3 });
        assert.equal(first.status, 200);
        assert.equal(first.body.data.length, 3);
        assert.equal(first.body.pagination.hasMore, true);
        const second = await server().call('apis.listKeys', { apiId, limit: 3, cursor: first.body.pagination.cursor });
        assert.equal(second.body.data.length, 1);
        assert.deepEqual(second.body.pagination, { hasMore: false });
        const ids = [...first.body.data, ...second.body.data].map((k: any) => k.keyId);
        assert.deepEqual(ids, created.slice(0, 4).map((k) => k.keyId).sort());
        const even = await server().call('apis.listKeys', { apiId, externalId: 'even' });
        assert.equal(even.body.data.length, 2);
        assert.ok(even.body.data.every((k: any) => k.identity.externalId === 'even'));
        const none = await server().call('apis.listKeys', { apiId, externalId: 'nobody' });
        assert.deepEqual(none.body.data, []);
      });
      it('masks a missing right as a missing API, and hides other workspaces', async () => {
        const apiId = await newApi(server());
        const readKeyOnly = await server().newRootKey(['api.*.read_key']);
        assert.equal((await server().call('apis.listKeys', { apiId }, readKeyOnly)).status, 404);
        const both = await server().newRootKey([`api.${apiId}.read_key`, `api.${apiId}.read_api`]);
        assert.equal((await server().call('apis.listKeys', { apiId }, both)).status, 200);
        const other = await server().newWorkspace();
        assert.equal((await server().call('apis.listKeys', { apiId }, other.rootKey)).status, 404);
        assert.equal((await server().call('apis.listKeys', { apiId, limit: 0 })).status, 400);
      });
    });
  },
  { clock: clock.now },
);

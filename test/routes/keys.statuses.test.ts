import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';
import { newApi, newKey } from '../keyHelpers.ts';

// Statuses every key operation shares: a malformed body is a 400 naming the field (before any
// authentication), an unknown root key is a 401.
const OPERATIONS: [string, Record<string, unknown>, string][] = [
  ['keys.createKey', { apiId: 'api_valid123', name: '' }, 'body.name'],
  ['keys.getKey', { keyId: 'ab' }, 'body.keyId'],
  ['keys.whoami', { key: '' }, 'body.key'],
  ['keys.verifyKey', { key: 'k', tags: 'not-a-list' }, 'body.tags'],
  ['keys.updateKey', { keyId: 'key_abc', expires: 'tomorrow' }, 'body.expires'],
  ['keys.deleteKey', { keyId: 'key_abc', permanent: 'yes' }, 'body.permanent'],
  ['keys.rerollKey', { keyId: 'key_abc' }, 'body.expiration'],
  ['keys.updateCredits', { keyId: 'key_abc', operation: 'set', value: -1 }, 'body.value'],
  ['keys.migrateKeys', { migrationId: 'mig_abc', apiId: 'api_abc', keys: [] }, 'body.keys'],
  ['apis.listKeys', { apiId: 'api_abc', cursor: 5 }, 'body.cursor'],
];

await describeOnBackends('key operations: shared statuses', (server) => {
  describe('400', () => {
    for (const [operation, body, location] of OPERATIONS) {
      it(`${operation} names the bad field, even with a bad root key`, async () => {
        const res = await server().call(operation, body, 'not-a-root-key');
        assert.equal(res.status, 400);
        assert.ok(
          res.body.error.errors.some((e: { location: string }) => e.location === location),
          `${location} in ${JSON.stringify(res.body.error.errors)}`,
        );
      });
    }
  });

  describe('401', () => {
    const valid: Record<string, Record<string, unknown>> = {
      'keys.createKey': { apiId: 'api_valid123' },
      'keys.getKey': { keyId: 'key_abc' },
      'keys.whoami': { key: 'k' },
      'keys.verifyKey': { key: 'k' },
      'keys.updateKey': { keyId: 'key_abc' },
      'keys.deleteKey': { keyId: 'key_abc' },
      'keys.rerollKey': { keyId: 'key_abc', expiration: 0 },
      'keys.updateCredits': { keyId: 'key_abc', operation: 'set', value: 1 },
      'keys.migrateKeys': { migrationId: 'mig_abc', apiId: 'api_abc', keys: [{ hash: 'abcdef' }] },
      'apis.listKeys': { apiId: 'api_abc' },
    };
    for (const [operation, body] of Object.entries(valid)) {
      it(`${operation} rejects an unknown root key`, async () => {
        const res = await server().call(operation, body, 'lk_root_unknown');
        assert.equal(res.status, 401);
      });
    }
  });

  describe('403', () => {
    it('updateCredits needs update_key', async () => {
      const apiId = await newApi(server());
      const { keyId } = await newKey(server(), apiId, { credits: { remaining: 1 } });
      const rootKey = await server().newRootKey(['api.*.read_key']);
      const res = await server().call('keys.updateCredits', { keyId, operation: 'set', value: 5 }, rootKey);
      assert.equal(res.status, 403);
      assert.match(res.body.error.detail, /update_key/);
    });
    it('migrateKeys needs create_key', async () => {
      const apiId = await newApi(server());
      const migrationId = await server().app.services.store.keys.createMigration(server().workspaceId, 'sha256', Date.now());
      const rootKey = await server().newRootKey(['api.*.read_key']);
      const hash = 'a'.repeat(64);
      const res = await server().call('keys.migrateKeys', { migrationId, apiId, keys: [{ hash }] }, rootKey);
      assert.equal(res.status, 403);
    });
    it('getKey with decrypt needs decrypt_key', async () => {
      const apiId = await newApi(server());
      const { keyId } = await newKey(server(), apiId);
      const rootKey = await server().newRootKey(['api.*.read_key']);
      assert.equal((await server().call('keys.getKey', { keyId, decrypt: true }, rootKey)).status, 403);
      assert.equal((await server().call('keys.getKey', { keyId, decrypt: true })).status, 200);
    });
  });
});

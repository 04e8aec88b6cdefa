import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { hashKey } from '../../src/core/hash.ts';
import { describeOnBackends } from '../routes.ts';
import { newApi, newKey, verify } from '../keyHelpers.ts';

/** The permission step of verifyKey, what it reports, and that RBAC changes reach cached keys at once. */

const unique = (prefix: string) => `${prefix}.${randomAlphanumeric(8).toLowerCase()}`;

await describeOnBackends('verifyKey: permissions', (server) => {
  let apiId: string;
  const api = async () => (apiId ??= await newApi(server(), 'rbac-verify'));
  const key = async (fields: Record<string, unknown> = {}) => newKey(server(), await api(), fields);
  /** Verifies once so the key is cached, and checks that it is. */
  const warm = async (plaintext: string) => {
    await verify(server(), { key: plaintext });
    assert.ok(server().app.services.cache.peekKey(hashKey(plaintext)), 'the key should be cached after a verification');
  };

  describe('200', () => {
    it('evaluates the query against direct and role permissions', async () => {
      const [read, write, admin] = [unique('documents.read'), unique('documents.write'), unique('admin')];
      const role = unique('editor');
      await server().call('permissions.createRole', { name: role, permissions: [write] });
      const { key: plaintext, keyId } = await key({ permissions: [read], roles: [role] });
      const valid = await verify(server(), { key: plaintext, permissions: `${read} AND (${write} OR ${admin})` });
      assert.equal(valid.code, 'VALID');
      assert.equal(valid.valid, true);
      assert.equal(valid.keyId, keyId);
      assert.deepEqual(valid.permissions, [read, write].sort());
      assert.deepEqual(valid.roles, [role]);
      const denied = await verify(server(), { key: plaintext, permissions: `${read} AND ${admin}` });
      assert.equal(denied.code, 'INSUFFICIENT_PERMISSIONS');
      assert.equal(denied.valid, false);
      assert.equal(denied.keyId, keyId);
      assert.deepEqual(denied.permissions, [read, write].sort());
      const orAdmin = await verify(server(), { key: plaintext, permissions: `${admin} or ${read} AND ${write}` });
      assert.equal(orAdmin.code, 'VALID');
    });

    it('matches slugs exactly: a star is not a wildcard', async () => {
      const { key: plaintext } = await key({ permissions: ['files.*'] });
      assert.equal((await verify(server(), { key: plaintext, permissions: 'files.*' })).code, 'VALID');
      assert.equal((await verify(server(), { key: plaintext, permissions: 'files.read' })).code, 'INSUFFICIENT_PERMISSIONS');
      const { key: reader } = await key({ permissions: ['files.read'] });
      assert.equal((await verify(server(), { key: reader, permissions: 'files.*' })).code, 'INSUFFICIENT_PERMISSIONS');
    });

    it('leaves permissions and roles out when the key has none', async () => {
      const { key: plaintext } = await key();
      const data = await verify(server(), { key: plaintext, permissions: 'anything' });
      assert.equal(data.code, 'INSUFFICIENT_PERMISSIONS');
      assert.equal(data.permissions, undefined);
      assert.equal(data.roles, undefined);
    });

    it('a failed check spends neither rate limit nor credits', async () => {
      const needed = unique('needed');
      const { key: plaintext } = await key({
        credits: { remaining: 1 },
        ratelimits: [{ name: 'tight', limit: 1, duration: 60_000, autoApply: true }],
      });
      for (let i = 0; i < 3; i++) {
        const denied = await verify(server(), { key: plaintext, permissions: needed });
        assert.equal(denied.code, 'INSUFFICIENT_PERMISSIONS');
        assert.equal(denied.credits, undefined);
        assert.equal(denied.ratelimits, undefined);
      }
      const valid = await verify(server(), { key: plaintext });
      assert.equal(valid.code, 'VALID');
      assert.equal(valid.credits, 0);
      assert.equal(valid.ratelimits[0].remaining, 0);
    });

    it('disabled keys are DISABLED before the permission step', async () => {
      const { key: plaintext } = await key({ enabled: false });
      assert.equal((await verify(server(), { key: plaintext, permissions: 'missing' })).code, 'DISABLED');
    });
  });

  describe('200: changes reach cached keys on the next verification', () => {
    it('removing a role or a direct permission from the key', async () => {
      const [p, q] = [unique('p'), unique('q')];
      const role = unique('role');
      await server().call('permissions.createRole', { name: role, permissions: [p] });
      const { key: plaintext, keyId } = await key({ roles: [role], permissions: [q] });
      await warm(plaintext);
      assert.equal((await verify(server(), { key: plaintext, permissions: `${p} AND ${q}` })).code, 'VALID');
      await server().call('keys.removeRoles', { keyId, roles: [role] });
      assert.equal((await verify(server(), { key: plaintext, permissions: p })).code, 'INSUFFICIENT_PERMISSIONS');
      await server().call('keys.removePermissions', { keyId, permissions: [q] });
      assert.equal((await verify(server(), { key: plaintext, permissions: q })).code, 'INSUFFICIENT_PERMISSIONS');
      await server().call('keys.addPermissions', { keyId, permissions: [q] });
      assert.equal((await verify(server(), { key: plaintext, permissions: q })).code, 'VALID');
      await server().call('keys.setRoles', { keyId, roles: [role] });
      assert.equal((await verify(server(), { key: plaintext, permissions: p })).code, 'VALID');
      await server().call('keys.setPermissions', { keyId, permissions: [] });
      assert.equal((await verify(server(), { key: plaintext, permissions: q })).code, 'INSUFFICIENT_PERMISSIONS');
      await server().call('keys.addRoles', { keyId, roles: [role] });
      assert.deepEqual((await verify(server(), { key: plaintext })).roles, [role]);
    });

    it('changing the permissions of a role every key holds', async () => {
      const [p, q] = [unique('p'), unique('q')];
      const role = unique('shared');
      const created = await server().call('permissions.createRole', { name: role, permissions: [p] });
      const keys = [await key({ roles: [role] }), await key({ roles: [role] })];
      for (const k of keys) {
        await warm(k.key);
        assert.equal((await verify(server(), { key: k.key, permissions: p })).code, 'VALID');
      }
      await server().call('permissions.setRolePermissions', { roleId: created.body.data.roleId, permissions: [q] });
      for (const k of keys) {
        const data = await verify(server(), { key: k.key, permissions: p });
        assert.equal(data.code, 'INSUFFICIENT_PERMISSIONS');
        assert.deepEqual(data.permissions, [q]);
      }
    });

    it('deleting a permission held directly or through a role', async () => {
      const p = unique('doomed');
      const role = unique('role');
      await server().call('permissions.createRole', { name: role, permissions: [p] });
      const direct = await key({ permissions: [p] });
      const viaRole = await key({ roles: [role] });
      for (const k of [direct, viaRole]) await warm(k.key);
      await server().call('permissions.deletePermission', { permission: p });
      for (const k of [direct, viaRole]) {
        assert.equal((await verify(server(), { key: k.key, permissions: p })).code, 'INSUFFICIENT_PERMISSIONS');
      }
    });

    it('deleting a role', async () => {
      const p = unique('p');
      const role = unique('role');
      await server().call('permissions.createRole', { name: role, permissions: [p] });
      const k = await key({ roles: [role] });
      await warm(k.key);
      const res = await server().call('permissions.deleteRole', { role });
      assert.equal(res.status, 200);
      const data = await verify(server(), { key: k.key, permissions: p });
      assert.equal(data.code, 'INSUFFICIENT_PERMISSIONS');
      assert.equal(data.roles, undefined);
    });
  });

  describe('200: a change to a role held by very many keys', () => {
    it('drops the whole cache instead of evicting key by key, and the change is seen at once', async () => {
      const p = unique('p');
      const role = unique('crowded');
      const created = await server().call('permissions.createRole', { name: role, permissions: [p] });
      const roleId = created.body.data.roleId;
      const k = await key({ roles: [role] });
      const bystander = await key();
      await server().app.services.store.db
        .insertInto('keys_roles')
        .values(
          Array.from({ length: 1000 }, (_, i) => ({
            key_id: `key_elsewhere${i}`,
            role_id: roleId,
            workspace_id: server().workspaceId,
            created_at: Date.now(),
          })),
        )
        .execute();
      await warm(k.key);
      await warm(bystander.key);
      await server().call('permissions.setRolePermissions', { roleId, permissions: [] });
      assert.equal(server().app.services.cache.peekKey(hashKey(bystander.key)), undefined);
      assert.equal((await verify(server(), { key: k.key, permissions: p })).code, 'INSUFFICIENT_PERMISSIONS');
    });
  });

  describe('400', () => {
    it('refuses a query that does not parse, saying what was expected where', async () => {
      const { key: plaintext } = await key({ permissions: ['a'] });
      const cases: [string, RegExp][] = [
        ['a AND', /Unexpected end of query\. Expected a permission identifier or opening parenthesis\./],
        ['(a OR b', /Missing closing parenthesis '\)' at position 7/],
        ['a AND ()', /Empty parentheses found at position 6/],
        ['AND a', /Unexpected token 'AND' at position 0/],
        ['a # b', /Unexpected character '#' at position 2/],
      ];
      for (const [query, message] of cases) {
        const res = await server().call('keys.verifyKey', { key: plaintext, permissions: query });
        assert.equal(res.status, 400, query);
        assert.equal(res.body.error.type, 'https://unkey.com/docs/errors/user/bad_request/permissions_query_syntax_error');
        assert.match(res.body.error.detail, message);
        assert.equal(res.body.error.errors[0].location, 'body.permissions');
      }
    });

    it('refuses a bad query whatever the key', async () => {
      const res = await server().call('keys.verifyKey', { key: 'not-a-key-at-all', permissions: '((' });
      assert.equal(res.status, 400);
      assert.match(res.body.error.type, /permissions_query_syntax_error$/);
    });

    it('a bad query spends nothing', async () => {
      const { key: plaintext } = await key({ credits: { remaining: 1 } });
      assert.equal((await server().call('keys.verifyKey', { key: plaintext, permissions: 'a OR' })).status, 400);
      assert.equal((await verify(server(), { key: plaintext })).credits, 0);
    });

    it('refuses an over-long query by the schema', async () => {
      const res = await server().call('keys.verifyKey', { key: 'k', permissions: 'a'.repeat(1001) });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.errors[0].location, 'body.permissions');
    });
  });
});

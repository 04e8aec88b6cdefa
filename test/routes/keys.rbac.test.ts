import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { describeOnBackends } from '../routes.ts';
import { newApi, newKey } from '../keyHelpers.ts';
import type { TestServer } from '../harness.ts';

/** keys.add/remove/set Permissions and Roles, and the roles and permissions of createKey, updateKey, rerollKey, migrateKeys. */

const unique = (prefix: string) => `${prefix}.${randomAlphanumeric(8).toLowerCase()}`;
const slugs = (list: { slug: string }[]) => list.map((p) => p.slug);
const names = (list: { name: string }[]) => list.map((r) => r.name);

async function createRole(server: TestServer, permissions: string[] = [], name = unique('role')) {
  const res = await server.call('permissions.createRole', { name, permissions });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { id: res.body.data.roleId as string, name };
}

async function getKey(server: TestServer, keyId: string) {
  const res = await server.call('keys.getKey', { keyId });
  assert.equal(res.status, 200);
  return res.body.data;
}

await describeOnBackends('keys: permissions and roles', (server) => {
  let apiId: string;
  const api = async () => (apiId ??= await newApi(server(), 'rbac-keys'));
  const key = async (fields: Record<string, unknown> = {}) => (await newKey(server(), await api(), fields)).keyId;

  describe('200', () => {
    it('adds permissions idempotently, creating unknown slugs, and answers with all direct permissions', async () => {
      const keyId = await key();
      const [a, b] = [unique('a'), unique('b')];
      const first = await server().call('keys.addPermissions', { keyId, permissions: [a] });
      assert.equal(first.status, 200);
      assert.deepEqual(slugs(first.body.data), [a]);
      assert.match(first.body.data[0].id, /^perm_/);
      const second = await server().call('keys.addPermissions', { keyId, permissions: [b, a, b] });
      assert.deepEqual(slugs(second.body.data), [a, b].sort());
      assert.equal(second.body.data.find((p: { slug: string }) => p.slug === a).id, first.body.data[0].id);
      assert.deepEqual((await getKey(server(), keyId)).permissions, [a, b].sort());
    });

    it('removes by slug or id; an existing but unassigned permission is a no-op', async () => {
      const keyId = await key();
      const [a, b, c] = [unique('a'), unique('b'), unique('c')];
      const added = await server().call('keys.addPermissions', { keyId, permissions: [a, b] });
      await server().call('permissions.createPermission', { name: c, slug: c });
      const idOfA = added.body.data.find((p: { slug: string }) => p.slug === a).id;
      const res = await server().call('keys.removePermissions', { keyId, permissions: [idOfA, c] });
      assert.equal(res.status, 200);
      assert.deepEqual(slugs(res.body.data), [b]);
      const again = await server().call('keys.removePermissions', { keyId, permissions: [b] });
      assert.deepEqual(again.body.data, []);
      assert.equal((await getKey(server(), keyId)).permissions, undefined);
    });

    it('sets the direct permissions, keeping role permissions, and [] clears them', async () => {
      const [viaRole, old, fresh] = [unique('role'), unique('old'), unique('fresh')];
      const role = await createRole(server(), [viaRole]);
      const keyId = await key({ permissions: [old], roles: [role.name] });
      const res = await server().call('keys.setPermissions', { keyId, permissions: [fresh] });
      assert.equal(res.status, 200);
      assert.deepEqual(slugs(res.body.data), [fresh]);
      assert.deepEqual((await getKey(server(), keyId)).permissions, [fresh, viaRole].sort());
      const cleared = await server().call('keys.setPermissions', { keyId, permissions: [] });
      assert.deepEqual(cleared.body.data, []);
      assert.deepEqual((await getKey(server(), keyId)).permissions, [viaRole]);
    });

    it('adds, removes and sets roles by name, answering with the roles and their permissions', async () => {
      const p = unique('p');
      const editor = await createRole(server(), [p]);
      const viewer = await createRole(server());
      const keyId = await key();
      const added = await server().call('keys.addRoles', { keyId, roles: [editor.name, viewer.name, editor.name] });
      assert.equal(added.status, 200);
      assert.deepEqual(names(added.body.data), [editor.name, viewer.name].sort());
      const withPermission = added.body.data.find((r: { name: string }) => r.name === editor.name);
      assert.equal(withPermission.id, editor.id);
      assert.deepEqual(slugs(withPermission.permissions), [p]);
      const got = await getKey(server(), keyId);
      assert.deepEqual(got.roles, [editor.name, viewer.name].sort());
      assert.deepEqual(got.permissions, [p]);

      const removed = await server().call('keys.removeRoles', { keyId, roles: [editor.name] });
      assert.deepEqual(names(removed.body.data), [viewer.name]);
      const unassigned = await server().call('keys.removeRoles', { keyId, roles: [editor.name] });
      assert.deepEqual(names(unassigned.body.data), [viewer.name]);
      assert.equal((await getKey(server(), keyId)).permissions, undefined);

      const set = await server().call('keys.setRoles', { keyId, roles: [editor.name] });
      assert.deepEqual(names(set.body.data), [editor.name]);
      const cleared = await server().call('keys.setRoles', { keyId, roles: [] });
      assert.deepEqual(cleared.body.data, []);
      assert.equal((await getKey(server(), keyId)).roles, undefined);
    });

    it('createKey takes roles and permissions, creating unknown slugs', async () => {
      const [direct, viaRole] = [unique('direct'), unique('via')];
      const role = await createRole(server(), [viaRole]);
      const keyId = await key({ permissions: [direct, direct], roles: [role.name] });
      const got = await getKey(server(), keyId);
      assert.deepEqual(got.permissions, [direct, viaRole].sort());
      assert.deepEqual(got.roles, [role.name]);
      assert.equal((await server().call('permissions.getPermission', { permission: direct })).status, 200);
    });

    it('updateKey replaces roles and direct permissions, and leaves them when absent', async () => {
      const [old, fresh, viaRole] = [unique('old'), unique('fresh'), unique('via')];
      const role = await createRole(server(), [viaRole]);
      const keyId = await key({ permissions: [old] });
      const res = await server().call('keys.updateKey', { keyId, permissions: [fresh], roles: [role.name] });
      assert.equal(res.status, 200);
      let got = await getKey(server(), keyId);
      assert.deepEqual(got.permissions, [fresh, viaRole].sort());
      assert.deepEqual(got.roles, [role.name]);
      await server().call('keys.updateKey', { keyId, name: 'renamed' });
      got = await getKey(server(), keyId);
      assert.deepEqual(got.roles, [role.name]);
      await server().call('keys.updateKey', { keyId, permissions: [], roles: [] });
      got = await getKey(server(), keyId);
      assert.equal(got.permissions, undefined);
      assert.equal(got.roles, undefined);
    });

    it('rerollKey gives the new key the same direct permissions and roles', async () => {
      const [direct, viaRole] = [unique('direct'), unique('via')];
      const role = await createRole(server(), [viaRole]);
      const keyId = await key({ permissions: [direct], roles: [role.name] });
      const res = await server().call('keys.rerollKey', { keyId, expiration: 60_000 });
      assert.equal(res.status, 200);
      const got = await getKey(server(), res.body.data.keyId);
      assert.deepEqual(got.permissions, [direct, viaRole].sort());
      assert.deepEqual(got.roles, [role.name]);
      const setOnNew = await server().call('keys.setPermissions', { keyId: res.body.data.keyId, permissions: [] });
      assert.deepEqual(setOnNew.body.data, []);
      assert.deepEqual((await getKey(server(), keyId)).permissions, [direct, viaRole].sort());
    });

    it('migrateKeys imports keys with roles and permissions', async () => {
      const [direct, viaRole] = [unique('direct'), unique('via')];
      const role = await createRole(server(), [viaRole]);
      const migrationId = await server().app.services.store.keys.createMigration(server().workspaceId, 'sha256', Date.now());
      const hash = createHash('sha256').update(`imported_${randomAlphanumeric(20)}`).digest('hex');
      const res = await server().call('keys.migrateKeys', {
        migrationId,
        apiId: await api(),
        keys: [{ hash, permissions: [direct], roles: [role.name] }],
      });
      assert.equal(res.status, 200);
      const got = await getKey(server(), res.body.data.migrated[0].keyId);
      assert.deepEqual(got.permissions, [direct, viaRole].sort());
      assert.deepEqual(got.roles, [role.name]);
    });

    it('apis.listKeys reports the permissions and roles of every key', async () => {
      const listApi = await newApi(server(), 'rbac-list');
      const p = unique('p');
      const role = await createRole(server(), [p]);
      const withRole = (await newKey(server(), listApi, { roles: [role.name] })).keyId;
      const without = (await newKey(server(), listApi)).keyId;
      const res = await server().call('apis.listKeys', { apiId: listApi });
      assert.equal(res.status, 200);
      const byId = new Map(res.body.data.map((k: { keyId: string }) => [k.keyId, k]));
      assert.deepEqual((byId.get(withRole) as any).permissions, [p]);
      assert.deepEqual((byId.get(withRole) as any).roles, [role.name]);
      assert.equal((byId.get(without) as any).permissions, undefined);
    });

    it('a key deleted for good leaves no links behind', async () => {
      const role = await createRole(server());
      const keyId = await key({ permissions: [unique('p')], roles: [role.name] });
      assert.equal((await server().call('keys.deleteKey', { keyId, permanent: true })).status, 200);
      const db = server().app.services.store.db;
      assert.deepEqual(await db.selectFrom('keys_permissions').select('key_id').where('key_id', '=', keyId).execute(), []);
      assert.deepEqual(await db.selectFrom('keys_roles').select('key_id').where('key_id', '=', keyId).execute(), []);
    });

    it('deleting a permission or role takes it from the key', async () => {
      const [p, q] = [unique('p'), unique('q')];
      const role = await createRole(server(), [q]);
      const keyId = await key({ permissions: [p], roles: [role.name] });
      await server().call('permissions.deletePermission', { permission: p });
      assert.deepEqual((await getKey(server(), keyId)).permissions, [q]);
      await server().app.services.store.rbac.deleteRole(server().workspaceId, role.id);
      const got = await getKey(server(), keyId);
      assert.equal(got.permissions, undefined);
      assert.equal(got.roles, undefined);
    });

    it('accepts API-scoped update rights with the rbac tuple', async () => {
      const keyId = await key();
      const root = await server().newRootKey([`api.${await api()}.update_key`, 'rbac.*.add_permission_to_key', 'rbac.*.create_permission']);
      const res = await server().call('keys.addPermissions', { keyId, permissions: [unique('scoped')] }, root);
      assert.equal(res.status, 200);
    });
  });

  describe('400', () => {
    it('validates bodies, naming the field', async () => {
      const cases: [string, unknown, string][] = [
        ['keys.addPermissions', { keyId: 'key_x', permissions: [] }, 'body.permissions'],
        ['keys.addPermissions', { keyId: 'key_x', permissions: ['no spaces'] }, 'body.permissions[0]'],
        ['keys.removePermissions', { keyId: 'key_x', permissions: [] }, 'body.permissions'],
        ['keys.setPermissions', { keyId: 'key_x' }, 'body.permissions'],
        ['keys.setPermissions', { keyId: 'k', permissions: [] }, 'body.keyId'],
        ['keys.addRoles', { keyId: 'key_x', roles: [] }, 'body.roles'],
        ['keys.removeRoles', { keyId: 'key_x', roles: [''] }, 'body.roles[0]'],
        ['keys.setRoles', { keyId: 'key_x', roles: Array.from({ length: 101 }, (_, i) => `r${i}`) }, 'body.roles'],
        ['keys.setRoles', { keyId: 'key_x', roles: [], extra: 1 }, 'body.extra'],
        ['keys.createKey', { apiId: 'api_12345678', permissions: ['a b'] }, 'body.permissions[0]'],
        ['keys.createKey', { apiId: 'api_12345678', roles: [''] }, 'body.roles[0]'],
      ];
      for (const [op, body, location] of cases) {
        const res = await server().call(op, body);
        assert.equal(res.status, 400, `${op} ${JSON.stringify(body)}`);
        assert.equal(res.body.error.errors[0].location, location, `${op} ${JSON.stringify(body)}`);
      }
    });
  });

  describe('401', () => {
    it('rejects an unknown root key', async () => {
      for (const [op, body] of [
        ['keys.addPermissions', { keyId: 'key_x', permissions: ['a'] }],
        ['keys.removePermissions', { keyId: 'key_x', permissions: ['a'] }],
        ['keys.setPermissions', { keyId: 'key_x', permissions: [] }],
        ['keys.addRoles', { keyId: 'key_x', roles: ['a'] }],
        ['keys.removeRoles', { keyId: 'key_x', roles: ['a'] }],
        ['keys.setRoles', { keyId: 'key_x', roles: [] }],
      ] as const) {
        assert.equal((await server().call(op, body, 'lk_root_unknown')).status, 401, op);
      }
    });
  });

  describe('403', () => {
    it('demands update_key and the operation\'s rbac tuples, exactly as listed', async () => {
      const keyId = await key();
      const role = await createRole(server());
      const existing = unique('existing');
      await server().call('permissions.createPermission', { name: existing, slug: existing });
      const update = 'api.*.update_key';
      const cases: [string, Record<string, unknown>, string[]][] = [
        ['keys.addPermissions', { permissions: [existing] }, [update, 'rbac.*.add_permission_to_key']],
        ['keys.removePermissions', { permissions: [existing] }, [update, 'rbac.*.remove_permission_from_key']],
        ['keys.setPermissions', { permissions: [existing] }, [update, 'rbac.*.add_permission_to_key', 'rbac.*.remove_permission_from_key']],
        ['keys.addRoles', { roles: [role.name] }, [update, 'rbac.*.add_role_to_key']],
        ['keys.removeRoles', { roles: [role.name] }, [update]],
        ['keys.setRoles', { roles: [role.name] }, [update]],
      ];
      for (const [op, body, needed] of cases) {
        // Missing any one of the needed tuples is refused, naming it; all of them together are enough.
        for (const missing of needed) {
          const root = await server().newRootKey(needed.filter((t) => t !== missing));
          const res = await server().call(op, { keyId, ...body }, root);
          assert.equal(res.status, 403, `${op} without ${missing}`);
          assert.match(res.body.error.detail, new RegExp(missing.replace(/[.*]/g, '\\$&')));
        }
        const res = await server().call(op, { keyId, ...body }, await server().newRootKey(needed));
        assert.equal(res.status, 200, op);
      }
    });

    it('creating unknown slugs needs rbac.*.create_permission, and then nothing changes', async () => {
      const keyId = await key();
      const fresh = unique('fresh');
      const root = await server().newRootKey(['api.*.update_key', 'rbac.*.add_permission_to_key', 'rbac.*.remove_permission_from_key']);
      for (const op of ['keys.addPermissions', 'keys.setPermissions']) {
        const res = await server().call(op, { keyId, permissions: [fresh] }, root);
        assert.equal(res.status, 403, op);
        assert.equal(res.body.error.detail, "Missing permission: 'rbac.*.create_permission'");
      }
      assert.equal((await server().call('permissions.getPermission', { permission: fresh })).status, 404);
      const updater = await server().newRootKey(['api.*.update_key']);
      const update = await server().call('keys.updateKey', { keyId, permissions: [fresh] }, updater);
      assert.equal(update.status, 403);
      assert.equal(update.body.error.detail, "Missing permission: 'rbac.*.create_permission'");
      const creator = await server().newRootKey(['api.*.create_key']);
      const create = await server().call('keys.createKey', { apiId: await api(), permissions: [fresh] }, creator);
      assert.equal(create.status, 403);
      assert.equal(create.body.error.detail, "Missing permission: 'rbac.*.create_permission'");
    });

    it('a grant for another API is not enough', async () => {
      const keyId = await key();
      const root = await server().newRootKey(['api.api_other1234.update_key', 'rbac.*.add_role_to_key']);
      const res = await server().call('keys.addRoles', { keyId, roles: ['any'] }, root);
      assert.equal(res.status, 403);
    });
  });

  describe('404', () => {
    it('names the unknown role, and changes nothing', async () => {
      const role = await createRole(server());
      const keyId = await key({ roles: [role.name] });
      for (const op of ['keys.addRoles', 'keys.removeRoles', 'keys.setRoles']) {
        const res = await server().call(op, { keyId, roles: ['no-such-role'] });
        assert.equal(res.status, 404, op);
        assert.match(res.body.error.type, /role_not_found$/);
        assert.match(res.body.error.detail, /'no-such-role'/);
      }
      // Roles are named, not referred to by id.
      const byId = await server().call('keys.addRoles', { keyId, roles: [role.id] });
      assert.equal(byId.status, 404);
      const partial = await server().call('keys.setRoles', { keyId, roles: [role.name, 'missing-too'] });
      assert.equal(partial.status, 404);
      assert.deepEqual((await getKey(server(), keyId)).roles, [role.name]);
    });

    it('updateKey and migrateKeys with an unknown role change and import nothing', async () => {
      const [kept, other] = [unique('kept'), unique('other')];
      const keyId = await key({ permissions: [kept] });
      const res = await server().call('keys.updateKey', { keyId, name: 'changed', permissions: [other], roles: ['ghost'] });
      assert.equal(res.status, 404);
      assert.match(res.body.error.detail, /'ghost'/);
      const got = await getKey(server(), keyId);
      assert.deepEqual(got.permissions, [kept]);
      assert.equal(got.name, undefined);
      const migrationId = await server().app.services.store.keys.createMigration(server().workspaceId, 'sha256', Date.now());
      const hash = createHash('sha256').update(randomAlphanumeric(24)).digest('hex');
      const migrate = await server().call('keys.migrateKeys', {
        migrationId,
        apiId: await api(),
        keys: [{ hash }, { hash: createHash('sha256').update(randomAlphanumeric(24)).digest('hex'), roles: ['ghost'] }],
      });
      assert.equal(migrate.status, 404);
      const db = server().app.services.store.db;
      const base64 = Buffer.from(hash, 'hex').toString('base64');
      assert.deepEqual(await db.selectFrom('keys').select('id').where('hash', 'in', [hash, base64]).execute(), []);
    });

    it('names a permission to remove that does not exist', async () => {
      const keyId = await key({ permissions: [unique('kept')] });
      const res = await server().call('keys.removePermissions', { keyId, permissions: ['never.existed'] });
      assert.equal(res.status, 404);
      assert.match(res.body.error.type, /permission_not_found$/);
      assert.match(res.body.error.detail, /'never\.existed'/);
      assert.equal((await getKey(server(), keyId)).permissions.length, 1);
    });

    it('createKey with an unknown role creates no key', async () => {
      const apiKeys = async () =>
        (await server().app.services.store.db.selectFrom('keys').select('id').execute()).length;
      const before = await apiKeys();
      const res = await server().call('keys.createKey', { apiId: await api(), roles: ['ghost-role'], permissions: [unique('p')] });
      assert.equal(res.status, 404);
      assert.match(res.body.error.detail, /'ghost-role'/);
      assert.equal(await apiKeys(), before);
    });

    it('does not find unknown keys or keys of another workspace', async () => {
      const keyId = await key();
      const other = await server().newWorkspace();
      for (const [op, body] of [
        ['keys.addPermissions', { permissions: ['a'] }],
        ['keys.removePermissions', { permissions: ['a'] }],
        ['keys.setPermissions', { permissions: [] }],
        ['keys.addRoles', { roles: ['a'] }],
        ['keys.removeRoles', { roles: ['a'] }],
        ['keys.setRoles', { roles: [] }],
      ] as const) {
        const missing = await server().call(op, { keyId: 'key_doesnotexist', ...body });
        assert.equal(missing.status, 404, op);
        assert.match(missing.body.error.type, /key_not_found$/);
        const foreign = await server().call(op, { keyId, ...body }, other.rootKey);
        assert.equal(foreign.status, 404, op);
      }
    });

    it('roles and permissions of another workspace do not exist here', async () => {
      const other = await server().newWorkspace();
      const name = unique('theirs');
      await server().call('permissions.createRole', { name }, other.rootKey);
      const keyId = await key();
      const res = await server().call('keys.addRoles', { keyId, roles: [name] });
      assert.equal(res.status, 404);
    });
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { describeOnBackends } from '../routes.ts';

const unique = (prefix: string) => `${prefix}.${randomAlphanumeric(8).toLowerCase()}`;
const slugs = (permissions: { slug: string }[] | undefined) => (permissions ?? []).map((p) => p.slug);

await describeOnBackends('roles', (server) => {
  async function createRole(body: Record<string, unknown> = {}, key?: string) {
    const res = await server().call('permissions.createRole', { name: unique('role'), ...body }, key);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data.roleId as string;
  }

  describe('200', () => {
    it('creates a role with existing and new permissions and reads it by id and by name', async () => {
      const existing = unique('documents.read');
      const created = await server().call('permissions.createPermission', { name: 'Read', slug: existing });
      const fresh = unique('documents.write');
      const name = unique('Editor');
      const roleId = await createRole({ name, description: 'Edits documents', permissions: [existing, fresh, existing] });
      assert.match(roleId, /^role_[A-Za-z0-9]+$/);
      for (const role of [roleId, name]) {
        const got = await server().call('permissions.getRole', { role });
        assert.equal(got.status, 200);
        assert.equal(got.body.data.id, roleId);
        assert.equal(got.body.data.name, name);
        assert.equal(got.body.data.description, 'Edits documents');
        assert.deepEqual(slugs(got.body.data.permissions).sort(), [existing, fresh].sort());
        const reused = got.body.data.permissions.find((p: { slug: string }) => p.slug === existing);
        assert.deepEqual(reused, { id: created.body.data.permissionId, name: 'Read', slug: existing });
      }
      // The new slug became a permission of its own, named after its slug.
      const auto = await server().call('permissions.getPermission', { permission: fresh });
      assert.equal(auto.body.data.name, fresh);
    });

    it('leaves out description and permissions when a role has none', async () => {
      const roleId = await createRole();
      const got = await server().call('permissions.getRole', { role: roleId });
      assert.deepEqual(Object.keys(got.body.data).sort(), ['id', 'name']);
    });

    it('lists roles with their permissions, paginated and searchable', async () => {
      const { rootKey } = await server().newWorkspace();
      const ids: string[] = [];
      for (const [name, description] of [
        ['Admin', 'Everything'],
        ['support_desk', 'Reads tickets'],
        ['supportdesk', undefined],
        ['Billing', 'Handles ADMIN billing'],
      ] as const) {
        ids.push(
          await createRole({ name, ...(description ? { description } : {}), permissions: [`${name.toLowerCase()}.x`] }, rootKey),
        );
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await server().call('permissions.listRoles', { limit: 3, ...(cursor ? { cursor } : {}) }, rootKey);
        assert.equal(res.status, 200);
        for (const role of res.body.data) {
          assert.equal(role.permissions.length, 1);
          seen.push(role.id);
        }
        cursor = res.body.pagination.cursor;
      } while (cursor);
      assert.deepEqual(seen, [...ids].sort());
      const search = async (text: string) =>
        (await server().call('permissions.listRoles', { search: text }, rootKey)).body.data.map((r: { name: string }) => r.name).sort();
      assert.deepEqual(await search('admin'), ['Admin', 'Billing']);
      assert.deepEqual(await search('t_d'), ['support_desk']);
      assert.deepEqual(await search('TICKETS'), ['support_desk']);
      assert.deepEqual(await search(ids[2].slice(5)), ['supportdesk']);
    });

    it('replaces the permissions of a role, creating new slugs, and clears them with []', async () => {
      const a = unique('a');
      const b = unique('b');
      const c = unique('c');
      const roleId = await createRole({ permissions: [a, b] });
      const set = await server().call('permissions.setRolePermissions', { roleId, permissions: [b, c] });
      assert.equal(set.status, 200);
      assert.deepEqual(slugs(set.body.data).sort(), [b, c].sort());
      const got = await server().call('permissions.getRole', { role: roleId });
      assert.deepEqual(slugs(got.body.data.permissions).sort(), [b, c].sort());
      // The permission dropped from the role still exists on its own.
      assert.equal((await server().call('permissions.getPermission', { permission: a })).status, 200);
      const cleared = await server().call('permissions.setRolePermissions', { roleId, permissions: [] });
      assert.deepEqual(cleared.body.data, []);
      const after = await server().call('permissions.getRole', { role: roleId });
      assert.equal(after.body.data.permissions, undefined);
    });

    it('deletes a role by id or name and takes it from every key', async () => {
      const name = unique('temp');
      const roleId = await createRole({ name, permissions: [unique('p')] });
      const rbac = server().app.services.store.rbac;
      await rbac.addKeyRoles(server().workspaceId, 'key_with_role', [name]);
      const res = await server().call('permissions.deleteRole', { role: name });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.data, {});
      assert.equal((await server().call('permissions.getRole', { role: roleId })).status, 404);
      assert.deepEqual(await rbac.keyRoles('key_with_role'), []);
      // The name can be used again.
      await createRole({ name });
      const byId = await createRole();
      assert.equal((await server().call('permissions.deleteRole', { role: byId })).status, 200);
    });

    it('allows a role without permissions with only rbac.*.create_role', async () => {
      const key = await server().newRootKey(['rbac.*.create_role']);
      await createRole({}, key);
      await createRole({ permissions: [] }, key);
    });

    it('allows existing slugs without rbac.*.create_permission', async () => {
      const slug = unique('known');
      await server().call('permissions.createPermission', { name: slug, slug });
      const key = await server().newRootKey(['rbac.*.create_role', 'rbac.*.add_permission_to_role']);
      await createRole({ permissions: [slug] }, key);
      const roleId = await createRole();
      const setter = await server().newRootKey(['rbac.*.add_permission_to_role', 'rbac.*.remove_permission_from_role']);
      const res = await server().call('permissions.setRolePermissions', { roleId, permissions: [slug] }, setter);
      assert.equal(res.status, 200);
    });
  });

  describe('400', () => {
    it('validates role bodies, naming the field', async () => {
      const cases: [string, unknown, string][] = [
        ['permissions.createRole', { name: '' }, 'body.name'],
        ['permissions.createRole', { name: 'x'.repeat(129) }, 'body.name'],
        ['permissions.createRole', { name: 'x', permissions: ['bad slug'] }, 'body.permissions[0]'],
        ['permissions.createRole', { name: 'x', permissions: Array.from({ length: 101 }, (_, i) => `p${i}`) }, 'body.permissions'],
        ['permissions.createRole', { name: 'x', description: 'd'.repeat(513) }, 'body.description'],
        ['permissions.createRole', { name: 'x', other: 1 }, 'body.other'],
        ['permissions.getRole', { role: '' }, 'body.role'],
        ['permissions.listRoles', { limit: 0 }, 'body.limit'],
        ['permissions.setRolePermissions', { roleId: 'ro', permissions: [] }, 'body.roleId'],
        ['permissions.setRolePermissions', { roleId: 'role_x' }, 'body.permissions'],
        ['permissions.setRolePermissions', { roleId: 'role x', permissions: [] }, 'body.roleId'],
      ];
      for (const [op, body, location] of cases) {
        const res = await server().call(op, body);
        assert.equal(res.status, 400, `${op} ${JSON.stringify(body)}`);
        assert.equal(res.body.error.errors[0].location, location, `${op} ${JSON.stringify(body)}`);
      }
    });
    it('validates the deleteRole body', async () => {
      const res = await server().call('permissions.deleteRole', {});
      assert.equal(res.status, 400);
    });
  });

  describe('401', () => {
    it('rejects an unknown root key on every operation', async () => {
      for (const [op, body] of [
        ['permissions.createRole', { name: 'n' }],
        ['permissions.getRole', { role: 'n' }],
        ['permissions.listRoles', {}],
        ['permissions.deleteRole', { role: 'n' }],
        ['permissions.setRolePermissions', { roleId: 'role_x', permissions: [] }],
      ] as const) {
        assert.equal((await server().call(op, body, 'lk_root_unknown')).status, 401, op);
      }
    });
  });

  describe('403', () => {
    it('demands the exact rbac tuple of each read and delete', async () => {
      const roleId = await createRole();
      for (const [op, body, needed] of [
        ['permissions.getRole', { role: roleId }, 'rbac.*.read_role'],
        ['permissions.listRoles', {}, 'rbac.*.read_role'],
        ['permissions.deleteRole', { role: roleId }, 'rbac.*.delete_role'],
      ] as const) {
        const key = await server().newRootKey(['rbac.*.read_permission', 'rbac.*.create_role', 'rbac.*.update_role']);
        const res = await server().call(op, body, key);
        assert.equal(res.status, 403, op);
        assert.equal(res.body.error.detail, `Missing permission: '${needed}'`);
        assert.equal((await server().call(op, body, await server().newRootKey([needed]))).status, 200, op);
      }
    });

    it('createRole needs create_role, then add_permission_to_role for permissions, then create_permission for new slugs', async () => {
      const known = unique('known');
      await server().call('permissions.createPermission', { name: known, slug: known });
      const cases: [string[], Record<string, unknown>, string][] = [
        [['rbac.*.add_permission_to_role', 'rbac.*.create_permission'], {}, 'rbac.*.create_role'],
        [['rbac.*.create_role', 'rbac.*.create_permission'], { permissions: [known] }, 'rbac.*.add_permission_to_role'],
        [['rbac.*.create_role', 'rbac.*.add_permission_to_role'], { permissions: [known, unique('new')] }, 'rbac.*.create_permission'],
      ];
      for (const [grants, body, needed] of cases) {
        const key = await server().newRootKey(grants);
        const name = unique('r');
        const res = await server().call('permissions.createRole', { name, ...body }, key);
        assert.equal(res.status, 403, needed);
        assert.equal(res.body.error.detail, `Missing permission: '${needed}'`);
        // Nothing was created.
        assert.equal((await server().call('permissions.getRole', { role: name })).status, 404);
      }
    });

    it('setRolePermissions needs add and remove grants, and create_permission for new slugs', async () => {
      const roleId = await createRole();
      const fresh = unique('fresh');
      for (const [grants, permissions, needed] of [
        [['rbac.*.remove_permission_from_role'], [], 'rbac.*.add_permission_to_role'],
        [['rbac.*.add_permission_to_role'], [], 'rbac.*.remove_permission_from_role'],
        [['rbac.*.add_permission_to_role', 'rbac.*.remove_permission_from_role'], [fresh], 'rbac.*.create_permission'],
      ] as const) {
        const key = await server().newRootKey([...grants]);
        const res = await server().call('permissions.setRolePermissions', { roleId, permissions }, key);
        assert.equal(res.status, 403, needed);
        assert.equal(res.body.error.detail, `Missing permission: '${needed}'`);
      }
      assert.equal((await server().call('permissions.getPermission', { permission: fresh })).status, 404);
    });
  });

  describe('404', () => {
    it('does not find unknown roles', async () => {
      const got = await server().call('permissions.getRole', { role: 'no-such-role' });
      assert.equal(got.status, 404);
      assert.match(got.body.error.type, /role_not_found$/);
      assert.match(got.body.error.detail, /no-such-role/);
      const orphan = unique('orphan');
      const set = await server().call('permissions.setRolePermissions', { roleId: 'role_missing', permissions: [orphan] });
      assert.equal(set.status, 404);
      assert.match(set.body.error.detail, /role_missing/);
      // No permission was created for the unknown role.
      assert.equal((await server().call('permissions.getPermission', { permission: orphan })).status, 404);
      const del = await server().call('permissions.deleteRole', { role: 'no-such-role' });
      assert.equal(del.status, 404);
      assert.match(del.body.error.type, /role_not_found$/);
    });

    it('finds setRolePermissions roles by id only', async () => {
      const name = `byname_${randomAlphanumeric(8)}`;
      await createRole({ name });
      const res = await server().call('permissions.setRolePermissions', { roleId: name, permissions: [] });
      assert.equal(res.status, 404);
    });

    it('hides roles of another workspace', async () => {
      const name = unique('mine');
      const roleId = await createRole({ name });
      const other = await server().newWorkspace();
      for (const role of [roleId, name]) {
        assert.equal((await server().call('permissions.getRole', { role }, other.rootKey)).status, 404);
        assert.equal((await server().call('permissions.deleteRole', { role }, other.rootKey)).status, 404);
      }
      const set = await server().call('permissions.setRolePermissions', { roleId, permissions: [] }, other.rootKey);
      assert.equal(set.status, 404);
      const list = await server().call('permissions.listRoles', { search: name }, other.rootKey);
      assert.deepEqual(list.body.data, []);
      // Another workspace may use the same name.
      assert.equal((await server().call('permissions.createRole', { name }, other.rootKey)).status, 200);
    });
  });

  describe('409', () => {
    it('refuses a duplicate role name', async () => {
      const name = unique('dup');
      await createRole({ name });
      const never = unique('never');
      const res = await server().call('permissions.createRole', { name, permissions: [never] });
      assert.equal(res.status, 409);
      assert.match(res.body.error.type, /role_already_exists$/);
      assert.match(res.body.error.detail, /already exists/);
      assert.ok(res.body.error.detail.includes(name));
      // The refused role created none of its permissions.
      assert.equal((await server().call('permissions.getPermission', { permission: never })).status, 404);
    });
  });
});

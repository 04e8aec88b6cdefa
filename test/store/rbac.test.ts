import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { UnknownRbacReferenceError } from '../../src/store/rbac.ts';
import { describeOnBackends } from '../routes.ts';

/** The key side of the RBAC repository: links of key ids to permissions and roles, and what a key holds. */
await describeOnBackends('rbac store: key links', (server) => {
  const rbac = () => server().app.services.store.rbac;
  const ws = () => server().workspaceId;
  const keyId = () => `key_${randomAlphanumeric(12)}`;
  const slug = (name: string) => `${name}.${randomAlphanumeric(6)}`;

  describe('permissions of a key', () => {
    it('adds idempotently, creating unknown slugs, and lists direct permissions by slug', async () => {
      const key = keyId();
      const [a, b] = [slug('a'), slug('b')];
      assert.deepEqual((await rbac().missingSlugs(ws(), [a, b, a])).sort(), [a, b].sort());
      const first = await rbac().addKeyPermissions(ws(), key, [b, a, a]);
      assert.deepEqual(first.map((p) => p.slug), [a, b].sort());
      assert.equal(first[0].name, first[0].slug);
      const again = await rbac().addKeyPermissions(ws(), key, [a]);
      assert.deepEqual(again.map((p) => p.id), first.map((p) => p.id));
      assert.deepEqual(await rbac().missingSlugs(ws(), [a, b]), []);
    });

    it('removes by slug or id, ignores unassigned ones and rejects unknown ones', async () => {
      const key = keyId();
      const [a, b, c] = [slug('a'), slug('b'), slug('c')];
      const added = await rbac().addKeyPermissions(ws(), key, [a, b]);
      await rbac().addKeyPermissions(ws(), keyId(), [c]);
      const left = await rbac().removeKeyPermissions(ws(), key, [added[0].id, c]);
      assert.deepEqual(left.map((p) => p.slug), [b]);
      await assert.rejects(
        rbac().removeKeyPermissions(ws(), key, [b, 'never.created']),
        (err: unknown) => err instanceof UnknownRbacReferenceError && err.kind === 'permission' && err.reference === 'never.created',
      );
      // The failed removal changed nothing.
      assert.deepEqual((await rbac().keyPermissions(key)).map((p) => p.slug), [b]);
    });

    it('replaces direct permissions, and [] clears them', async () => {
      const key = keyId();
      const [a, b, c] = [slug('a'), slug('b'), slug('c')];
      await rbac().addKeyPermissions(ws(), key, [a, b]);
      assert.deepEqual((await rbac().setKeyPermissions(ws(), key, [c, b])).map((p) => p.slug), [b, c].sort());
      assert.deepEqual((await rbac().keyPermissions(key)).map((p) => p.slug), [b, c].sort());
      assert.deepEqual(await rbac().setKeyPermissions(ws(), key, []), []);
      assert.deepEqual(await rbac().keyPermissions(key), []);
    });

    it('never links a permission of another workspace', async () => {
      const other = await server().newWorkspace();
      const shared = slug('shared');
      const theirs = await rbac().createPermission(other.workspaceId, { name: shared, slug: shared });
      const key = keyId();
      const mine = await rbac().addKeyPermissions(ws(), key, [shared]);
      assert.notEqual(mine[0].id, theirs.id);
      await assert.rejects(rbac().removeKeyPermissions(ws(), key, [theirs.id]), UnknownRbacReferenceError);
    });
  });

  describe('roles of a key', () => {
    it('adds, removes and sets roles by name; unknown names are rejected', async () => {
      const key = keyId();
      const [r1, r2] = [slug('role1'), slug('role2')];
      const role1 = await rbac().createRole(ws(), { name: r1, permissions: [slug('p')] });
      await rbac().createRole(ws(), { name: r2, permissions: [] });
      const added = await rbac().addKeyRoles(ws(), key, [r2, r1, r1]);
      assert.deepEqual(added.map((r) => r.name), [r1, r2].sort());
      assert.deepEqual(added.find((r) => r.name === r1)?.permissions, role1.permissions);
      await assert.rejects(
        rbac().addKeyRoles(ws(), key, [role1.id]),
        (err: unknown) => err instanceof UnknownRbacReferenceError && err.kind === 'role' && err.reference === role1.id,
      );
      assert.deepEqual((await rbac().removeKeyRoles(ws(), key, [r1])).map((r) => r.name), [r2]);
      assert.deepEqual((await rbac().removeKeyRoles(ws(), key, [r1])).map((r) => r.name), [r2]);
      await assert.rejects(rbac().setKeyRoles(ws(), key, [r1, 'nope']), UnknownRbacReferenceError);
      assert.deepEqual((await rbac().keyRoles(key)).map((r) => r.name), [r2]);
      assert.deepEqual((await rbac().setKeyRoles(ws(), key, [r1])).map((r) => r.name), [r1]);
      assert.deepEqual(await rbac().setKeyRoles(ws(), key, []), []);
    });
  });

  describe('what a key holds', () => {
    it('joins direct and role permissions, deduplicated, with role names', async () => {
      const [k1, k2, k3] = [keyId(), keyId(), keyId()];
      const [read, write, admin] = [slug('read'), slug('write'), slug('admin')];
      const editor = slug('editor');
      const empty = slug('empty');
      await rbac().createRole(ws(), { name: editor, permissions: [read, write] });
      await rbac().createRole(ws(), { name: empty, permissions: [] });
      await rbac().addKeyPermissions(ws(), k1, [read, admin]);
      await rbac().addKeyRoles(ws(), k1, [editor, empty]);
      await rbac().addKeyRoles(ws(), k2, [empty]);
      const access = await rbac().keyAccess([k1, k2, k3]);
      assert.deepEqual(access.get(k1), { permissions: [admin, read, write].sort(), roles: [editor, empty].sort() });
      assert.deepEqual(access.get(k2), { permissions: [], roles: [empty] });
      assert.deepEqual(access.get(k3), { permissions: [], roles: [] });
      // The single-statement read of a cache miss answers the same.
      for (const k of [k1, k2, k3]) assert.deepEqual(await rbac().accessOfKey(k), access.get(k));
    });

    it('reports the keys a role or permission change affects', async () => {
      const [direct, viaRole, unrelated] = [keyId(), keyId(), keyId()];
      const p = slug('p');
      const role = slug('role');
      await rbac().createRole(ws(), { name: role, permissions: [p] });
      await rbac().addKeyPermissions(ws(), direct, [p]);
      await rbac().addKeyRoles(ws(), viaRole, [role]);
      await rbac().addKeyPermissions(ws(), unrelated, [slug('other')]);
      const roleRow = await rbac().findRole(ws(), role);
      const set = await rbac().setRolePermissions(ws(), roleRow!.id, [p, slug('q')]);
      assert.deepEqual(set?.affectedKeyIds, [viaRole]);
      const deleted = await rbac().deletePermission(ws(), p);
      assert.deepEqual(deleted?.affectedKeyIds.sort(), [direct, viaRole].sort());
      const roleDeleted = await rbac().deleteRole(ws(), role);
      assert.deepEqual(roleDeleted?.affectedKeyIds, [viaRole]);
      assert.deepEqual((await rbac().keyAccess([direct, viaRole])).get(viaRole), { permissions: [], roles: [] });
    });

    it('copies the links of one key to another', async () => {
      const [from, to] = [keyId(), keyId()];
      const role = slug('role');
      const p = slug('p');
      await rbac().createRole(ws(), { name: role, permissions: [slug('q')] });
      await rbac().addKeyPermissions(ws(), from, [p]);
      await rbac().addKeyRoles(ws(), from, [role]);
      await rbac().copyKeyLinks(from, to);
      const access = await rbac().keyAccess([from, to]);
      assert.deepEqual(access.get(to), access.get(from));
      assert.equal(access.get(to)?.roles.length, 1);
      await rbac().copyKeyLinks(keyId(), to);
      assert.deepEqual((await rbac().keyAccess([to])).get(to), access.get(from));
    });

    it('forgets every link of a removed key', async () => {
      const key = keyId();
      const role = slug('role');
      await rbac().createRole(ws(), { name: role, permissions: [] });
      await rbac().addKeyPermissions(ws(), key, [slug('p')]);
      await rbac().addKeyRoles(ws(), key, [role]);
      await rbac().removeKey(key);
      assert.deepEqual((await rbac().keyAccess([key])).get(key), { permissions: [], roles: [] });
    });
  });
});

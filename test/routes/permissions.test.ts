import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { describeOnBackends } from '../routes.ts';

const unique = (prefix: string) => `${prefix}.${randomAlphanumeric(8).toLowerCase()}`;

await describeOnBackends('permissions', (server) => {
  async function createPermission(slug = unique('perm'), extra: Record<string, unknown> = {}) {
    const res = await server().call('permissions.createPermission', { name: `Name of ${slug}`, slug, ...extra });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { id: res.body.data.permissionId as string, slug };
  }

  describe('200', () => {
    it('creates a permission and reads it back by id and by slug', async () => {
      const slug = unique('documents');
      const res = await server().call('permissions.createPermission', {
        name: 'Read documents',
        slug,
        description: 'Lets a key read documents',
      });
      assert.equal(res.status, 200);
      assert.match(res.body.data.permissionId, /^perm_[A-Za-z0-9]+$/);
      const expected = { id: res.body.data.permissionId, name: 'Read documents', slug, description: 'Lets a key read documents' };
      const byId = await server().call('permissions.getPermission', { permission: res.body.data.permissionId });
      assert.deepEqual(byId.body.data, expected);
      const bySlug = await server().call('permissions.getPermission', { permission: slug });
      assert.deepEqual(bySlug.body.data, expected);
    });

    it('leaves out an absent or empty description', async () => {
      const a = await createPermission();
      const b = await createPermission(unique('empty'), { description: '' });
      for (const p of [a, b]) {
        const got = await server().call('permissions.getPermission', { permission: p.id });
        assert.deepEqual(Object.keys(got.body.data).sort(), ['id', 'name', 'slug']);
      }
    });

    it('accepts every slug character the contract allows', async () => {
      const slug = `a-Z_0:9.*${randomAlphanumeric(4)}`;
      const { id } = await createPermission(slug);
      const got = await server().call('permissions.getPermission', { permission: slug });
      assert.equal(got.body.data.id, id);
    });

    it('lists permissions in pages ordered by id, following the cursor to the end', async () => {
      const { workspaceId, rootKey } = await server().newWorkspace();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await server().call('permissions.createPermission', { name: `p${i}`, slug: `p${i}` }, rootKey);
        ids.push(res.body.data.permissionId);
      }
      assert.ok(workspaceId);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await server().call('permissions.listPermissions', { limit: 2, ...(cursor ? { cursor } : {}) }, rootKey);
        assert.equal(res.status, 200);
        seen.push(...res.body.data.map((p: { id: string }) => p.id));
        cursor = res.body.pagination.cursor;
        assert.equal(res.body.pagination.hasMore, cursor !== undefined);
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...ids].sort());
      const all = await server().call('permissions.listPermissions', {}, rootKey);
      assert.equal(all.body.data.length, 5);
      assert.deepEqual(all.body.pagination, { hasMore: false });
    });

    it('searches id, name, slug and description case-insensitively, with % and _ literal', async () => {
      const { rootKey } = await server().newWorkspace();
      const make = async (name: string, slug: string, description?: string) =>
        (await server().call('permissions.createPermission', { name, slug, ...(description ? { description } : {}) }, rootKey))
          .body.data.permissionId as string;
      const byName = await make('Billing Admin', 'x.one');
      const bySlug = await make('other', 'billing.read');
      const byDescription = await make('third', 'x.three', 'grants BILLING access');
      const percent = await make('100% coverage', 'x.four');
      const underscore = await make('under_score', 'x.five');
      const plain = await make('underscore', 'x.six');
      const search = async (text: string) =>
        (await server().call('permissions.listPermissions', { search: text }, rootKey)).body.data
          .map((p: { id: string }) => p.id)
          .sort();
      assert.deepEqual(await search('billing'), [byName, bySlug, byDescription].sort());
      assert.deepEqual(await search('%'), [percent]);
      assert.deepEqual(await search('r_s'), [underscore]);
      assert.deepEqual(await search('underscore'), [plain]);
      assert.deepEqual(await search(byName.slice(5, 12).toUpperCase()), [byName]);
      assert.deepEqual(await search('nothing-like-this'), []);
    });

    it('deletes a permission by slug, after which it is gone', async () => {
      const { id, slug } = await createPermission();
      const res = await server().call('permissions.deletePermission', { permission: slug });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.data, {});
      const got = await server().call('permissions.getPermission', { permission: id });
      assert.equal(got.status, 404);
    });

    it('deletes a permission by id and removes it from every role and key', async () => {
      const { id, slug } = await createPermission();
      const keep = await createPermission();
      const role = await server().call('permissions.createRole', { name: unique('role'), permissions: [slug, keep.slug] });
      const rbac = server().app.services.store.rbac;
      await rbac.addKeyPermissions(server().workspaceId, 'key_linked', [slug, keep.slug]);
      const res = await server().call('permissions.deletePermission', { permission: id });
      assert.equal(res.status, 200);
      const got = await server().call('permissions.getRole', { role: role.body.data.roleId });
      assert.deepEqual(got.body.data.permissions.map((p: { slug: string }) => p.slug), [keep.slug]);
      assert.deepEqual((await rbac.keyPermissions('key_linked')).map((p) => p.slug), [keep.slug]);
      // The slug is free again.
      await createPermission(slug);
    });

    it('lets the same slug exist in two workspaces', async () => {
      const { slug } = await createPermission();
      const other = await server().newWorkspace();
      const res = await server().call('permissions.createPermission', { name: 'n', slug }, other.rootKey);
      assert.equal(res.status, 200);
    });
  });

  describe('400', () => {
    it('rejects a slug with characters outside the pattern, naming the field', async () => {
      const res = await server().call('permissions.createPermission', { name: 'n', slug: 'has space' });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.errors[0].location, 'body.slug');
    });
    it('rejects a missing name, too long a slug and unknown fields', async () => {
      for (const [body, location] of [
        [{ slug: 'a' }, 'body.name'],
        [{ name: 'n', slug: 'a'.repeat(129) }, 'body.slug'],
        [{ name: 'n', slug: 'a', extra: true }, 'body.extra'],
        [{ name: 'n', slug: 'a', description: 'd'.repeat(513) }, 'body.description'],
      ] as const) {
        const res = await server().call('permissions.createPermission', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.errors[0].location, location);
      }
    });
    it('rejects bad get, list and delete bodies', async () => {
      assert.equal((await server().call('permissions.getPermission', {})).status, 400);
      assert.equal((await server().call('permissions.getPermission', { permission: '' })).status, 400);
      assert.equal((await server().call('permissions.deletePermission', { permission: 'a b' })).status, 400);
      for (const body of [{ limit: 0 }, { limit: 101 }, { limit: 1.5 }, { search: 's'.repeat(257) }, { cursor: 'c'.repeat(1025) }]) {
        const res = await server().call('permissions.listPermissions', body);
        assert.equal(res.status, 400, JSON.stringify(body));
      }
    });
  });

  describe('401', () => {
    it('rejects an unknown root key on every operation', async () => {
      for (const [op, body] of [
        ['permissions.createPermission', { name: 'n', slug: 's' }],
        ['permissions.getPermission', { permission: 's' }],
        ['permissions.listPermissions', {}],
        ['permissions.deletePermission', { permission: 's' }],
      ] as const) {
        const res = await server().call(op, body, 'lk_root_unknown');
        assert.equal(res.status, 401, op);
      }
    });
  });

  describe('403', () => {
    it('demands the exact rbac tuple of each operation', async () => {
      const { id } = await createPermission();
      const cases = [
        ['permissions.createPermission', { name: 'n', slug: unique('s') }, 'rbac.*.create_permission'],
        ['permissions.getPermission', { permission: id }, 'rbac.*.read_permission'],
        ['permissions.listPermissions', {}, 'rbac.*.read_permission'],
        ['permissions.deletePermission', { permission: id }, 'rbac.*.delete_permission'],
      ] as const;
      // A key with every other rbac grant is still refused.
      for (const [op, body, needed] of cases) {
        const others = ['create_permission', 'read_permission', 'delete_permission', 'create_role', 'read_role']
          .map((a) => `rbac.*.${a}`)
          .filter((t) => t !== needed);
        const key = await server().newRootKey([...others, 'api.*.create_api']);
        const res = await server().call(op, body, key);
        assert.equal(res.status, 403, op);
        assert.equal(res.body.error.detail, `Missing permission: '${needed}'`);
        const allowed = await server().newRootKey([needed]);
        assert.equal((await server().call(op, body, allowed)).status, 200, op);
      }
    });
  });

  describe('404', () => {
    it('does not find an unknown permission', async () => {
      const res = await server().call('permissions.getPermission', { permission: 'perm_doesnotexist' });
      assert.equal(res.status, 404);
      assert.match(res.body.error.type, /permission_not_found$/);
      assert.match(res.body.error.detail, /perm_doesnotexist/);
      const del = await server().call('permissions.deletePermission', { permission: 'no.such.slug' });
      assert.equal(del.status, 404);
    });
    it('hides permissions of another workspace', async () => {
      const { id, slug } = await createPermission();
      const other = await server().newWorkspace();
      for (const permission of [id, slug]) {
        assert.equal((await server().call('permissions.getPermission', { permission }, other.rootKey)).status, 404);
        assert.equal((await server().call('permissions.deletePermission', { permission }, other.rootKey)).status, 404);
      }
      const list = await server().call('permissions.listPermissions', { search: slug }, other.rootKey);
      assert.deepEqual(list.body.data, []);
      assert.equal((await server().call('permissions.getPermission', { permission: id })).status, 200);
    });
    it('answers 404 for a second delete', async () => {
      const { id } = await createPermission();
      assert.equal((await server().call('permissions.deletePermission', { permission: id })).status, 200);
      assert.equal((await server().call('permissions.deletePermission', { permission: id })).status, 404);
    });
  });

  describe('409', () => {
    it('refuses a duplicate slug in one workspace', async () => {
      const { slug } = await createPermission();
      const res = await server().call('permissions.createPermission', { name: 'again', slug });
      assert.equal(res.status, 409);
      assert.match(res.body.error.type, /permission_already_exists$/);
      assert.match(res.body.error.detail, /already exists/);
      assert.match(res.body.error.detail, new RegExp(slug.replace(/[.*]/g, '\\$&')));
    });
  });
});

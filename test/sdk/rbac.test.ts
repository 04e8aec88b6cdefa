import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadRequestErrorResponse,
  ConflictErrorResponse,
  ForbiddenErrorResponse,
  NotFoundErrorResponse,
} from '@unkey/api/models/errors';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { describeOnBackends } from '../routes.ts';
import { rejectsWith, sdk } from './sdk.ts';

/**
 * The official SDK drives every permissions operation and every keys.* permission and role operation end to end,
 * typed errors and page iterators included, and a verification that follows a role on and off a key.
 */



await describeOnBackends('official SDK: permissions and roles', (server) => {
  const client = () => sdk(server().url, server().rootKey);

  describe('permissions', () => {
    it('creates, reads, lists and deletes permissions', async () => {
      const slug = `documents.read.${randomAlphanumeric(6)}`;
      const created = await client().permissions.createPermission({ name: 'Read documents', slug, description: 'read' });
      const permissionId = created.data.permissionId;
      assert.match(permissionId, /^perm_/);

      const got = await client().permissions.getPermission({ permission: slug });
      assert.deepEqual(got.data, { id: permissionId, name: 'Read documents', slug, description: 'read' });

      const { rootKey } = await server().newWorkspace();
      const other = sdk(server().url, rootKey);
      for (let i = 0; i < 3; i++) await other.permissions.createPermission({ name: `p${i}`, slug: `p${i}` });
      const seen: string[] = [];
      for await (const page of await other.permissions.listPermissions({ limit: 2 })) {
        seen.push(...page.result.data.map((p) => p.slug));
      }
      assert.deepEqual(seen.sort(), ['p0', 'p1', 'p2']);

      const deleted = await client().permissions.deletePermission({ permission: permissionId });
      assert.deepEqual(deleted.data, {});
      await rejectsWith(() => client().permissions.getPermission({ permission: permissionId }), NotFoundErrorResponse);
    });

    it('raises the typed errors', async () => {
      const slug = `dup.${randomAlphanumeric(6)}`;
      await client().permissions.createPermission({ name: 'n', slug });
      const conflict = await rejectsWith(
        () => client().permissions.createPermission({ name: 'n', slug }),
        ConflictErrorResponse,
      );
      assert.equal(conflict.error.status, 409);
      const bad = await rejectsWith(
        () => client().permissions.createPermission({ name: 'n', slug: 'not valid' }),
        BadRequestErrorResponse,
      );
      assert.equal(bad.error.errors[0].location, 'body.slug');
      const weak = sdk(server().url, await server().newRootKey(['rbac.*.read_role']));
      await rejectsWith(() => weak.permissions.createPermission({ name: 'n', slug: 'x' }), ForbiddenErrorResponse);
    });
  });

  describe('roles', () => {
    it('creates, reads, lists, updates and deletes roles', async () => {
      const name = `editor-${randomAlphanumeric(6)}`;
      const read = `doc.read.${randomAlphanumeric(6)}`;
      const write = `doc.write.${randomAlphanumeric(6)}`;
      const created = await client().permissions.createRole({ name, description: 'Edits', permissions: [read] });
      const roleId = created.data.roleId;
      assert.match(roleId, /^role_/);

      const got = await client().permissions.getRole({ role: name });
      assert.equal(got.data.id, roleId);
      assert.equal(got.data.description, 'Edits');
      assert.deepEqual(got.data.permissions?.map((p) => p.slug), [read]);

      const set = await client().permissions.setRolePermissions({ roleId, permissions: [read, write] });
      assert.deepEqual(set.data.map((p) => p.slug).sort(), [read, write].sort());

      const { rootKey } = await server().newWorkspace();
      const other = sdk(server().url, rootKey);
      for (let i = 0; i < 3; i++) await other.permissions.createRole({ name: `r${i}` });
      const names: string[] = [];
      for await (const page of await other.permissions.listRoles({ limit: 2 })) names.push(...page.result.data.map((r) => r.name));
      assert.deepEqual(names.sort(), ['r0', 'r1', 'r2']);

      const deleted = await client().permissions.deleteRole({ role: roleId });
      assert.deepEqual(deleted.data, {});
      await rejectsWith(() => client().permissions.getRole({ role: roleId }), NotFoundErrorResponse);
      await rejectsWith(() => client().permissions.setRolePermissions({ roleId, permissions: [] }), NotFoundErrorResponse);
      await rejectsWith(() => other.permissions.createRole({ name: 'r0' }), ConflictErrorResponse);
    });
  });

  describe('keys', () => {
    it('verifies a permission query through a role, and denies it on the call after the role is removed', async () => {
      const suffix = randomAlphanumeric(6);
      const read = 'documents.read';
      const write = 'documents.write';
      const { rootKey } = await server().newWorkspace();
      const unkey = sdk(server().url, rootKey);
      await unkey.permissions.createPermission({ name: 'Read documents', slug: read });
      await unkey.permissions.createPermission({ name: 'Write documents', slug: write });
      const role = `editor-${suffix}`;
      await unkey.permissions.createRole({ name: role, permissions: [read, write] });
      const { data: api } = await unkey.apis.createApi({ name: 'documents-api' });
      const { data: created } = await unkey.keys.createKey({ apiId: api.apiId, name: 'alice' });

      const added = await unkey.keys.addRoles({ keyId: created.keyId, roles: [role] });
      assert.deepEqual(added.data.map((r) => r.name), [role]);
      const query = 'documents.read AND (documents.write OR admin)';
      const valid = await unkey.keys.verifyKey({ key: created.key, permissions: query });
      assert.equal(valid.data.code, 'VALID');
      assert.equal(valid.data.valid, true);
      assert.deepEqual(valid.data.roles, [role]);
      assert.deepEqual(valid.data.permissions, [read, write]);

      const removed = await unkey.keys.removeRoles({ keyId: created.keyId, roles: [role] });
      assert.deepEqual(removed.data, []);
      const denied = await unkey.keys.verifyKey({ key: created.key, permissions: query });
      assert.equal(denied.data.code, 'INSUFFICIENT_PERMISSIONS');
      assert.equal(denied.data.valid, false);

      const syntax = await rejectsWith(
        () => unkey.keys.verifyKey({ key: created.key, permissions: 'documents.read AND (' }),
        BadRequestErrorResponse,
      );
      assert.match(syntax.error.type, /permissions_query_syntax_error$/);
    });

    it('adds, removes and sets permissions and roles of a key', async () => {
      const unkey = client();
      const suffix = randomAlphanumeric(6);
      const [a, b] = [`a.${suffix}`, `b.${suffix}`];
      const role = `viewer-${suffix}`;
      await unkey.permissions.createRole({ name: role, permissions: [a] });
      const { data: api } = await unkey.apis.createApi({ name: 'rbac-sdk' });
      const { data: created } = await unkey.keys.createKey({ apiId: api.apiId, permissions: [b] });
      const keyId = created.keyId;

      const added = await unkey.keys.addPermissions({ keyId, permissions: [a] });
      assert.deepEqual(added.data.map((p) => p.slug), [a, b]);
      const removed = await unkey.keys.removePermissions({ keyId, permissions: [a] });
      assert.deepEqual(removed.data.map((p) => p.slug), [b]);
      const set = await unkey.keys.setPermissions({ keyId, permissions: [] });
      assert.deepEqual(set.data, []);

      const roles = await unkey.keys.setRoles({ keyId, roles: [role] });
      assert.deepEqual(roles.data.map((r) => r.permissions?.map((p) => p.slug)), [[a]]);
      const got = await unkey.keys.getKey({ keyId });
      assert.deepEqual(got.data.roles, [role]);
      assert.deepEqual(got.data.permissions, [a]);

      const missing = await rejectsWith(() => unkey.keys.addRoles({ keyId, roles: ['nobody'] }), NotFoundErrorResponse);
      assert.match(missing.error.detail, /'nobody'/);
      const weak = sdk(server().url, await server().newRootKey(['api.*.update_key']));
      await rejectsWith(() => weak.keys.addPermissions({ keyId, permissions: [a] }), ForbiddenErrorResponse);
    });
  });
});

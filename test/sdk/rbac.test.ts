import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Unkey } from '@unkey/api';
import {
  BadRequestErrorResponse,
  ConflictErrorResponse,
  ForbiddenErrorResponse,
  NotFoundErrorResponse,
} from '@unkey/api/models/errors';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { describeOnBackends } from '../routes.ts';

/** The official SDK drives every permissions operation end to end, typed errors and page iterators included. */

const sdk = (serverURL: string, rootKey: string) => new Unkey({ rootKey, serverURL, retryConfig: { strategy: 'none' } });

async function rejectsWith<T extends Error>(fn: () => Promise<unknown>, type: new (...args: any[]) => T): Promise<T> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    return err as T;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

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
});

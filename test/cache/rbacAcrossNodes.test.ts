import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { clusterUnavailable, startTwoNodes, type TestServer } from '../harness.ts';
import { newApi, newKey, verify } from '../keyHelpers.ts';

const skip = await clusterUnavailable('cluster RBAC tests');

const unique = (prefix: string) => `${prefix}.${randomAlphanumeric(8).toLowerCase()}`;

/** RBAC changes made on one node reach the verifications of another node at once (PostgreSQL + Redis). */
describe('permissions and roles across two nodes', { skip }, () => {
  let a: TestServer;
  let b: TestServer;
  let apiId: string;
  before(async () => {
    [a, b] = await startTwoNodes();
    apiId = await newApi(a);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  const check = async (key: string, permissions: string) => (await verify(b, { key, permissions }, a.rootKey)).code;

  it('a role taken from a key on one node denies on the other', async () => {
    const p = unique('documents.read');
    const role = unique('reader');
    await a.call('permissions.createRole', { name: role, permissions: [p] });
    const { key, keyId } = await newKey(a, apiId, { roles: [role] });
    assert.equal(await check(key, p), 'VALID');
    await a.call('keys.removeRoles', { keyId, roles: [role] });
    assert.equal(await check(key, p), 'INSUFFICIENT_PERMISSIONS');
  });

  it("a role's permissions changed on one node apply on the other", async () => {
    const [p, q] = [unique('p'), unique('q')];
    const role = unique('changing');
    const created = await a.call('permissions.createRole', { name: role, permissions: [p] });
    const { key } = await newKey(a, apiId, { roles: [role] });
    assert.equal(await check(key, p), 'VALID');
    await a.call('permissions.setRolePermissions', { roleId: created.body.data.roleId, permissions: [q] });
    assert.equal(await check(key, p), 'INSUFFICIENT_PERMISSIONS');
    assert.equal(await check(key, q), 'VALID');
  });

  it('a permission or role deleted on one node is gone on the other', async () => {
    const [direct, viaRole] = [unique('direct'), unique('via')];
    const role = unique('doomed');
    await a.call('permissions.createRole', { name: role, permissions: [viaRole] });
    const { key } = await newKey(a, apiId, { roles: [role], permissions: [direct] });
    assert.equal(await check(key, `${direct} AND ${viaRole}`), 'VALID');
    await a.call('permissions.deletePermission', { permission: direct });
    assert.equal(await check(key, direct), 'INSUFFICIENT_PERMISSIONS');
    await a.call('permissions.deleteRole', { role });
    assert.equal(await check(key, viaRole), 'INSUFFICIENT_PERMISSIONS');
  });
});

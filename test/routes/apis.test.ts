import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';

await describeOnBackends('apis', (server) => {
  describe('200', () => {
    it('creates, reads and deletes an API', async () => {
      const created = await server().call('apis.createApi', { name: 'payments' });
      assert.equal(created.status, 200);
      assert.match(created.body.data.apiId, /^api_[A-Za-z0-9]+$/);
      assert.match(created.body.meta.requestId, /^req_/);
      const got = await server().call('apis.getApi', { apiId: created.body.data.apiId });
      assert.deepEqual(got.body.data, { id: created.body.data.apiId, name: 'payments' });
      const deleted = await server().call('apis.deleteApi', { apiId: created.body.data.apiId });
      assert.deepEqual(deleted.body.data, {});
      const after = await server().call('apis.getApi', { apiId: created.body.data.apiId });
      assert.equal(after.status, 404);
    });

    it('accepts an API-scoped read permission', async () => {
      const { body } = await server().call('apis.createApi', { name: 'scoped' });
      const key = await server().newRootKey([`api.${body.data.apiId}.read_api`]);
      const got = await server().call('apis.getApi', { apiId: body.data.apiId }, key);
      assert.equal(got.status, 200);
    });
  });

  describe('400', () => {
    it('names the field that is too short', async () => {
      const res = await server().call('apis.createApi', { name: 'ab' });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.errors[0].location, 'body.name');
    });
    it('rejects unknown fields', async () => {
      const res = await server().call('apis.createApi', { name: 'abc', extra: 1 });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.errors[0].location, 'body.extra');
    });
    it('rejects malformed JSON', async () => {
      const res = await server().call('apis.createApi', undefined, undefined, { raw: '{"name": ' });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('content-type')?.startsWith('application/json'), true);
    });
    it('validates the body before authentication', async () => {
      const res = await server().call('apis.createApi', { name: 1 }, 'not-a-key');
      assert.equal(res.status, 400);
    });
    it('needs an Authorization header', async () => {
      const res = await server().call('apis.createApi', { name: 'abc' }, null);
      assert.equal(res.status, 400);
      assert.match(res.body.error.type, /authentication\/missing/);
    });
    it('needs the Bearer scheme', async () => {
      const res = await server().call('apis.createApi', { name: 'abc' }, null, { headers: { authorization: 'Basic abc' } });
      assert.equal(res.status, 400);
      assert.match(res.body.error.type, /authentication\/malformed/);
    });
  });

  describe('401', () => {
    it('rejects an unknown root key', async () => {
      const res = await server().call('apis.createApi', { name: 'abc' }, 'lk_root_unknown');
      assert.equal(res.status, 401);
    });
  });

  describe('403', () => {
    it('names the missing permission', async () => {
      const key = await server().newRootKey(['identity.*.read_identity']);
      const res = await server().call('apis.createApi', { name: 'abc' }, key);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.detail, "Missing permission: 'api.*.create_api'");
    });
    it('does not accept a grant for another API', async () => {
      const { body } = await server().call('apis.createApi', { name: 'one' });
      const key = await server().newRootKey(['api.api_other123.read_api']);
      const res = await server().call('apis.getApi', { apiId: body.data.apiId }, key);
      assert.equal(res.status, 403);
      assert.match(res.body.error.detail, /Missing one of these permissions: api\.\*\.read_api or api\.api_\w+\.read_api/);
    });
  });

  describe('404', () => {
    it('hides APIs of another workspace', async () => {
      const { body } = await server().call('apis.createApi', { name: 'mine' });
      const other = await server().newWorkspace();
      const res = await server().call('apis.getApi', { apiId: body.data.apiId }, other.rootKey);
      assert.equal(res.status, 404);
      const del = await server().call('apis.deleteApi', { apiId: body.data.apiId }, other.rootKey);
      assert.equal(del.status, 404);
    });
  });

  describe('412', () => {
    it('refuses to delete a protected API', async () => {
      const { body } = await server().call('apis.createApi', { name: 'protected' });
      await server().app.services.store.apis.setDeleteProtection(server().workspaceId, body.data.apiId, true);
      const res = await server().call('apis.deleteApi', { apiId: body.data.apiId });
      assert.equal(res.status, 412);
    });
  });
});

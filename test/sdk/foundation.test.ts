import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadRequestErrorResponse,
  ConflictErrorResponse,
  ForbiddenErrorResponse,
  NotFoundErrorResponse,
  PreconditionFailedErrorResponse,
  UnauthorizedErrorResponse,
} from '@unkey/api/models/errors';
import { describeOnBackends } from '../routes.ts';
import { rejectsWith, sdk } from './sdk.ts';

/**
 * The official SDK drives every APIs and identities operation end to end: if it can parse each answer,
 * success or typed error, code written for Unkey works against Latchkey unchanged.
 */



await describeOnBackends('official SDK: apis and identities', (server) => {
  const client = () => sdk(server().url, server().rootKey);

  describe('apis', () => {
    it('creates, reads and deletes an API', async () => {
      const created = await client().apis.createApi({ name: 'sdk-payments' });
      assert.match(created.meta.requestId, /^req_/);
      const apiId = created.data.apiId;
      assert.match(apiId, /^api_/);

      const got = await client().apis.getApi({ apiId });
      assert.deepEqual(got.data, { id: apiId, name: 'sdk-payments' });

      const deleted = await client().apis.deleteApi({ apiId });
      assert.deepEqual(deleted.data, {});

      const gone = await rejectsWith(() => client().apis.getApi({ apiId }), NotFoundErrorResponse);
      assert.equal(gone.error.status, 404);
      await rejectsWith(() => client().apis.deleteApi({ apiId }), NotFoundErrorResponse);
    });

    it('raises the typed errors', async () => {
      const bad = await rejectsWith(() => client().apis.createApi({ name: 'ab' }), BadRequestErrorResponse);
      assert.equal(bad.error.errors[0].location, 'body.name');

      await rejectsWith(() => sdk(server().url, 'lk_root_unknown').apis.createApi({ name: 'abc' }), UnauthorizedErrorResponse);

      const weak = sdk(server().url, await server().newRootKey(['identity.*.read_identity']));
      const forbidden = await rejectsWith(() => weak.apis.createApi({ name: 'abc' }), ForbiddenErrorResponse);
      assert.equal(forbidden.error.detail, "Missing permission: 'api.*.create_api'");

      const { data } = await client().apis.createApi({ name: 'sdk-protected' });
      await server().app.services.store.apis.setDeleteProtection(server().workspaceId, data.apiId, true);
      await rejectsWith(() => client().apis.deleteApi({ apiId: data.apiId }), PreconditionFailedErrorResponse);

      const other = await server().newWorkspace();
      await rejectsWith(() => sdk(server().url, other.rootKey).apis.getApi({ apiId: data.apiId }), NotFoundErrorResponse);
    });
  });

  describe('identities', () => {
    it('creates, reads, updates and deletes an identity', async () => {
      const externalId = `sdk_user_${Date.now()}`;
      const created = await client().identities.createIdentity({
        externalId,
        meta: { plan: 'pro' },
        ratelimits: [{ name: 'requests', limit: 10, duration: 60_000, autoApply: true }],
      });
      const identityId = created.data.identityId;
      assert.match(identityId, /^id_/);

      for (const identity of [identityId, externalId]) {
        const got = await client().identities.getIdentity({ identity });
        assert.equal(got.data.id, identityId);
        assert.equal(got.data.externalId, externalId);
        assert.deepEqual(got.data.meta, { plan: 'pro' });
        assert.equal(got.data.ratelimits?.[0].name, 'requests');
        assert.equal(got.data.ratelimits?.[0].autoApply, true);
      }
      const before = (await client().identities.getIdentity({ identity: identityId })).data.ratelimits!;

      const updated = await client().identities.updateIdentity({
        identity: externalId,
        meta: { plan: 'enterprise' },
        ratelimits: [
          { name: 'requests', limit: 50, duration: 60_000, autoApply: true },
          { name: 'tokens', limit: 1000, duration: 3_600_000, autoApply: false },
        ],
      });
      assert.deepEqual(updated.data.meta, { plan: 'enterprise' });
      const requests = updated.data.ratelimits?.find((r) => r.name === 'requests');
      assert.equal(requests?.id, before[0].id);
      assert.equal(requests?.limit, 50);
      assert.equal(updated.data.ratelimits?.length, 2);

      const cleared = await client().identities.updateIdentity({ identity: identityId, meta: {}, ratelimits: [] });
      assert.equal(cleared.data.meta, undefined);
      assert.equal(cleared.data.ratelimits, undefined);

      const deleted = await client().identities.deleteIdentity({ identity: identityId });
      assert.match(deleted.meta.requestId, /^req_/);
      await rejectsWith(() => client().identities.getIdentity({ identity: identityId }), NotFoundErrorResponse);

      // The externalId is free again at once.
      const again = await client().identities.createIdentity({ externalId });
      assert.notEqual(again.data.identityId, identityId);
    });

    it('walks every page of listIdentities with the page iterator', async () => {
      const ws = await server().newWorkspace();
      const unkey = sdk(server().url, ws.rootKey);
      const created = new Set<string>();
      for (let i = 0; i < 12; i++) created.add((await unkey.identities.createIdentity({ externalId: `sdk-page-${i}` })).data.identityId);

      const pages = await unkey.identities.listIdentities({ limit: 5 });
      assert.equal(pages.result.data.length, 5);
      assert.equal(pages.result.pagination.hasMore, true);

      const seen: string[] = [];
      let count = 0;
      for await (const page of pages) {
        count++;
        seen.push(...page.result.data.map((i) => i.id));
      }
      assert.equal(count, 3);
      assert.equal(seen.length, 12);
      assert.deepEqual(new Set(seen), created);

      const searched = await unkey.identities.listIdentities({ search: 'SDK-PAGE-1' });
      assert.deepEqual(searched.result.data.map((i) => i.externalId).sort(), ['sdk-page-1', 'sdk-page-10', 'sdk-page-11']);
      assert.equal(searched.result.pagination.hasMore, false);
      assert.equal(searched.result.pagination.cursor, undefined);
      assert.equal(await searched.next(), null);
    });

    it('raises ConflictErrorResponse for a duplicate externalId', async () => {
      const externalId = `sdk_dup_${Date.now()}`;
      await client().identities.createIdentity({ externalId });
      const conflict = await rejectsWith(() => client().identities.createIdentity({ externalId }), ConflictErrorResponse);
      assert.equal(conflict.error.status, 409);
      assert.match(conflict.error.type, /identity_already_exists$/);
    });

    it('raises NotFoundErrorResponse for unknown identities on every lookup', async () => {
      const identity = 'sdk-nobody';
      await rejectsWith(() => client().identities.getIdentity({ identity }), NotFoundErrorResponse);
      await rejectsWith(() => client().identities.updateIdentity({ identity, meta: { a: 1 } }), NotFoundErrorResponse);
      const del = await rejectsWith(() => client().identities.deleteIdentity({ identity }), NotFoundErrorResponse);
      assert.match(del.error.type, /identity_not_found$/);
    });

    it('raises BadRequestErrorResponse naming the problem', async () => {
      const dup = await rejectsWith(
        () =>
          client().identities.createIdentity({
            externalId: `sdk_bad_${Date.now()}`,
            ratelimits: [
              { name: 'same', limit: 1, duration: 1000 },
              { name: 'same', limit: 2, duration: 1000 },
            ],
          }),
        BadRequestErrorResponse,
      );
      assert.match(dup.error.detail, /'same'/);
      const bad = await rejectsWith(() => client().identities.createIdentity({ externalId: 'not valid!' }), BadRequestErrorResponse);
      assert.equal(bad.error.errors[0].location, 'body.externalId');
      await rejectsWith(() => client().identities.listIdentities({ limit: 101 }), BadRequestErrorResponse);
      await rejectsWith(() => client().identities.updateIdentity({ identity: 'x', ratelimits: [{ name: 'abc', limit: 1, duration: 10 }] }), BadRequestErrorResponse);
      await rejectsWith(() => client().identities.getIdentity({ identity: '' }), BadRequestErrorResponse);
      await rejectsWith(() => client().identities.deleteIdentity({ identity: '' }), BadRequestErrorResponse);
    });

    it('raises UnauthorizedErrorResponse for an unknown root key on every operation', async () => {
      const stranger = sdk(server().url, 'lk_root_unknown');
      await rejectsWith(() => stranger.identities.createIdentity({ externalId: 'abc' }), UnauthorizedErrorResponse);
      await rejectsWith(() => stranger.identities.getIdentity({ identity: 'abc' }), UnauthorizedErrorResponse);
      await rejectsWith(() => stranger.identities.listIdentities({}), UnauthorizedErrorResponse);
      await rejectsWith(() => stranger.identities.updateIdentity({ identity: 'abc', meta: {} }), UnauthorizedErrorResponse);
      await rejectsWith(() => stranger.identities.deleteIdentity({ identity: 'abc' }), UnauthorizedErrorResponse);
      await rejectsWith(() => stranger.apis.getApi({ apiId: 'api_12345678' }), UnauthorizedErrorResponse);
      await rejectsWith(() => stranger.apis.deleteApi({ apiId: 'api_12345678' }), UnauthorizedErrorResponse);
    });

    it('raises ForbiddenErrorResponse when the root key lacks the tuple', async () => {
      const externalId = `sdk_forbidden_${Date.now()}`;
      const { data } = await client().identities.createIdentity({ externalId });
      const weak = sdk(server().url, await server().newRootKey(['api.*.read_api']));
      await rejectsWith(() => weak.identities.createIdentity({ externalId: 'abcdef' }), ForbiddenErrorResponse);
      await rejectsWith(() => weak.identities.getIdentity({ identity: externalId }), ForbiddenErrorResponse);
      await rejectsWith(() => weak.identities.listIdentities({}), ForbiddenErrorResponse);
      await rejectsWith(() => weak.identities.updateIdentity({ identity: externalId, meta: {} }), ForbiddenErrorResponse);
      const del = await rejectsWith(() => weak.identities.deleteIdentity({ identity: externalId }), ForbiddenErrorResponse);
      assert.match(del.error.detail, /identity\.\*\.delete_identity/);

      const scoped = sdk(server().url, await server().newRootKey([`identity.${data.identityId}.read_identity`]));
      assert.equal((await scoped.identities.getIdentity({ identity: externalId })).data.id, data.identityId);
    });
  });
});

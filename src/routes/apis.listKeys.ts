import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { Cursor, PageLimit } from './schemas.ts';
import { pagination } from './wire.ts';
import { apiNotFound } from './apis.getApi.ts';
import { keyToWire } from './keyWire.ts';
import type { IdentityRecord } from '../core/keys.ts';

export default defineRoute({
  operation: 'apis.listKeys',
  body: Type.Object(
    {
      apiId: Type.String({ minLength: 1, maxLength: 255 }),
      limit: Type.Optional(PageLimit),
      cursor: Type.Optional(Cursor),
      externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      decrypt: Type.Optional(Type.Boolean()),
      revalidateKeysCache: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    const api = await services.store.apis.get(auth.workspaceId, body.apiId);
    const mayRead =
      auth.has('api.*.read_key', `api.${body.apiId}.read_key`) && auth.has('api.*.read_api', `api.${body.apiId}.read_api`);
    // Not being allowed to read the API looks the same as the API not existing.
    if (!api || !mayRead) throw apiNotFound();
    // Keys are only stored hashed, so `decrypt` has no plaintext to add; it needs the right all the same.
    if (body.decrypt) auth.require('api.*.decrypt_key', `api.${api.id}.decrypt_key`);
    if (body.revalidateKeysCache) await services.cache.evictAll();
    const limit = body.limit ?? 100;
    let identityId: string | undefined;
    if (body.externalId !== undefined) {
      const identity = await services.store.identities.find(auth.workspaceId, body.externalId);
      if (!identity || identity.externalId !== body.externalId) return { data: [], pagination: { hasMore: false } };
      identityId = identity.id;
    }
    const page = await services.store.keys.list(auth.workspaceId, api.keyspaceId, { limit, cursor: body.cursor, identityId });
    const identities = new Map<string, IdentityRecord | null>();
    for (const key of page.items) {
      if (key.identityId !== null && !identities.has(key.identityId)) {
        identities.set(key.identityId, await services.store.keys.identity(key.identityId));
      }
    }
    const now = services.clock();
    return {
      data: page.items.map((key) => keyToWire(key, key.identityId ? identities.get(key.identityId) ?? null : null, now)),
      pagination: pagination(page),
    };
  },
});

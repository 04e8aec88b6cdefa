import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { generateKey } from '../core/hash.ts';
import { ExternalId, Meta, RatelimitRequests } from './schemas.ts';
import { checkMetaSize, checkUniqueRatelimitNames } from './wire.ts';
import { apiNotFound } from './apis.getApi.ts';
import { Credits, Timestamp, requireRemainingForRefill, toRefill } from './keySchemas.ts';
import type { Principal } from '../http/auth.ts';
import type { Services } from '../services.ts';

export const CreateKeyFields = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  externalId: Type.Optional(ExternalId),
  meta: Type.Optional(Meta),
  expires: Type.Optional(Timestamp),
  credits: Type.Optional(Credits),
  ratelimits: Type.Optional(RatelimitRequests),
  enabled: Type.Optional(Type.Boolean()),
};

/** Checks what the schema cannot say about a new key's fields; returns the stored credit settings. */
export function checkNewKeyFields(
  body: { meta?: Record<string, unknown>; ratelimits?: { name: string }[]; credits?: { remaining: number | null; refill?: Parameters<typeof toRefill>[0] } },
  field = '',
) {
  checkMetaSize(body.meta, `${field}meta`);
  checkUniqueRatelimitNames(body.ratelimits as never, `${field}ratelimits`);
  if (!body.credits) return { remaining: undefined, refill: undefined };
  if (body.credits.refill) requireRemainingForRefill(body.credits.remaining, `${field}credits`);
  return {
    remaining: body.credits.remaining,
    refill: body.credits.refill ? toRefill(body.credits.refill, `${field}credits.refill`) : undefined,
  };
}

/** The API a key operation targets, with the root key's right to act on it; a missing right looks like a missing API. */
export async function apiForKeyWrite(services: Services, auth: Principal, apiId: string, action: string) {
  const api = await services.store.apis.get(auth.workspaceId, apiId);
  if (!api || !auth.has(`api.*.${action}`, `api.${api.id}.${action}`)) throw apiNotFound();
  return api;
}

export default defineRoute({
  operation: 'keys.createKey',
  body: Type.Object(
    {
      apiId: Type.String({ minLength: 3, maxLength: 255, pattern: '^[a-zA-Z0-9_]+$' }),
      prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 16, pattern: '^[a-zA-Z0-9_]+$' })),
      byteLength: Type.Optional(Type.Integer({ minimum: 16, maximum: 255 })),
      recoverable: Type.Optional(Type.Boolean()),
      ...CreateKeyFields,
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    const credits = checkNewKeyFields(body);
    const api = await apiForKeyWrite(services, auth, body.apiId, 'create_key');
    if (body.recoverable) {
      throw errors.preconditionFailed('This server does not keep recoverable keys: no key encryption is configured.');
    }
    const keyspace = await services.store.keys.keyspaceDefaults(api.keyspaceId);
    const generated = generateKey(body.prefix ?? keyspace.prefix ?? undefined, body.byteLength ?? keyspace.bytes ?? 16);
    const { keyId } = await services.store.keys.create(
      {
        workspaceId: auth.workspaceId,
        keyspaceId: api.keyspaceId,
        hash: generated.hash,
        start: generated.start,
        name: body.name,
        externalId: body.externalId,
        meta: body.meta,
        expires: body.expires,
        enabled: body.enabled,
        remaining: credits.remaining,
        refill: credits.refill,
        ratelimits: body.ratelimits,
      },
      services.clock(),
    );
    // A hash looked up before this key existed may be cached as missing.
    await services.cache.evictKey(generated.hash);
    return { data: { keyId, key: generated.key } };
  },
});

import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { normaliseSha256 } from '../core/importedHash.ts';
import { KeyExistsError } from '../store/keys.ts';
import { CreateKeyFields, checkNewKeyFields } from './keys.createKey.ts';
import { apiNotFound } from './apis.getApi.ts';

export default defineRoute({
  operation: 'keys.migrateKeys',
  body: Type.Object(
    {
      migrationId: Type.String({ minLength: 3, maxLength: 255 }),
      apiId: Type.String({ minLength: 3, maxLength: 255 }),
      keys: Type.Array(
        Type.Object({ hash: Type.String({ minLength: 3 }), ...CreateKeyFields }, { additionalProperties: false }),
        { minItems: 1 },
      ),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    const prepared = body.keys.map((k, i) => {
      const hash = normaliseSha256(k.hash);
      if (!hash) {
        throw errors.invalidInput(`keys[${i}].hash is not a SHA-256 digest in hex or base64.`, [
          { location: `body.keys[${i}].hash`, message: 'expected 64 hex characters or 44 base64 characters' },
        ]);
      }
      return { input: k, hash, credits: checkNewKeyFields(k, `keys[${i}].`) };
    });
    const api = await services.store.apis.get(auth.workspaceId, body.apiId);
    if (!api) throw apiNotFound();
    auth.require('api.*.create_key', `api.${api.id}.create_key`);
    const migration = await services.store.keys.findMigration(auth.workspaceId, body.migrationId);
    if (!migration) {
      throw errors.notFound('migration', `There is no migration '${body.migrationId}' in this workspace; create one with 'latchkey migration create'.`);
    }
    const now = services.clock();
    const migrated: { hash: string; keyId: string }[] = [];
    const failed: string[] = [];
    for (const { input, hash, credits } of prepared) {
      try {
        const { keyId } = await services.store.keys.create(
          {
            workspaceId: auth.workspaceId,
            keyspaceId: api.keyspaceId,
            hash,
            start: '',
            name: input.name,
            externalId: input.externalId,
            meta: input.meta,
            expires: input.expires,
            enabled: input.enabled,
            remaining: credits.remaining,
            refill: credits.refill,
            ratelimits: input.ratelimits,
            pendingMigrationId: migration.id,
          },
          now,
        );
        await services.cache.evictKey(hash);
        migrated.push({ hash: input.hash, keyId });
      } catch (err) {
        if (!(err instanceof KeyExistsError)) throw err;
        failed.push(input.hash);
      }
    }
    return { data: { migrated, failed } };
  },
});

import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { IdentityExistsError } from '../store/identities.ts';
import { ExternalId, Meta, RatelimitRequests } from './schemas.ts';
import { checkMetaSize, checkUniqueRatelimitNames } from './wire.ts';

export default defineRoute({
  operation: 'identities.createIdentity',
  // Loose like the reference API: unknown top-level fields are ignored here.
  body: Type.Object(
    { externalId: ExternalId, meta: Type.Optional(Meta), ratelimits: Type.Optional(RatelimitRequests) },
    { additionalProperties: true },
  ),
  async handler({ auth, services }, body) {
    checkMetaSize(body.meta);
    checkUniqueRatelimitNames(body.ratelimits);
    auth.require('identity.*.create_identity');
    try {
      const identity = await services.store.identities.create(
        auth.workspaceId,
        body.externalId,
        body.meta ?? {},
        body.ratelimits ?? [],
      );
      return { data: { identityId: identity.id } };
    } catch (err) {
      if (err instanceof IdentityExistsError) {
        throw errors.conflict(
          'identity',
          `An identity with externalId '${body.externalId}' already exists in this workspace.`,
        );
      }
      throw err;
    }
  },
});

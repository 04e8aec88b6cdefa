import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { UnknownRatelimitError } from '../core/verify.ts';
import { parsePermissionQueryOrThrow } from './rbac.ts';

const Limit = Type.Object({
  id: Type.String(),
  name: Type.String(),
  limit: Type.Integer(),
  duration: Type.Integer(),
  autoApply: Type.Boolean(),
});

/** The answer's shape, for the compiled serializer of this hot operation. */
const VerifyAnswer = Type.Object({
  meta: Type.Object({ requestId: Type.String() }),
  data: Type.Object({
    valid: Type.Boolean(),
    code: Type.String(),
    keyId: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    meta: Type.Optional(Type.Object({}, { additionalProperties: true })),
    expires: Type.Optional(Type.Integer()),
    credits: Type.Optional(Type.Integer()),
    enabled: Type.Optional(Type.Boolean()),
    permissions: Type.Optional(Type.Array(Type.String())),
    roles: Type.Optional(Type.Array(Type.String())),
    identity: Type.Optional(
      Type.Object({
        id: Type.String(),
        externalId: Type.String(),
        meta: Type.Optional(Type.Object({}, { additionalProperties: true })),
        ratelimits: Type.Optional(Type.Array(Limit)),
      }),
    ),
    ratelimits: Type.Optional(
      Type.Array(
        Type.Object({
          exceeded: Type.Boolean(),
          id: Type.String(),
          name: Type.String(),
          limit: Type.Integer(),
          duration: Type.Integer(),
          reset: Type.Integer(),
          remaining: Type.Integer(),
          autoApply: Type.Boolean(),
        }),
      ),
    ),
  }),
});

export default defineRoute({
  operation: 'keys.verifyKey',
  response: VerifyAnswer,
  body: Type.Object(
    {
      key: Type.String({ minLength: 1, maxLength: 512 }),
      tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 20 })),
      permissions: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
      credits: Type.Optional(
        Type.Object({ cost: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }) }, { additionalProperties: false }),
      ),
      ratelimits: Type.Optional(
        Type.Array(
          Type.Object(
            {
              name: Type.String({ minLength: 3, maxLength: 255 }),
              cost: Type.Optional(Type.Integer({ minimum: 0 })),
              limit: Type.Optional(Type.Integer({ minimum: 0 })),
              duration: Type.Optional(Type.Integer({ minimum: 0 })),
            },
            { additionalProperties: false },
          ),
          { maxItems: 100 },
        ),
      ),
      migrationId: Type.Optional(Type.String({ maxLength: 256 })),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services, requestId }, body) {
    // A query that does not parse is bad input whatever the key, so it is refused before any lookup.
    if (body.permissions !== undefined) parsePermissionQueryOrThrow(body.permissions);
    try {
      // Every outcome, NOT_FOUND included, is an answer with status 200.
      return { data: await services.verifier.verify(auth, body, requestId) };
    } catch (err) {
      if (err instanceof UnknownRatelimitError) throw errors.preconditionFailed(err.message);
      throw err;
    }
  },
});

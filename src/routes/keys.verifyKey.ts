import { Type } from '@sinclair/typebox';
import { defineLeanRoute, renderData } from '../http/route.ts';
import { renderVerifyData } from '../verify/verifier.ts';
import { errors } from '../http/errors.ts';
import { UnknownRatelimitError } from '../core/verify.ts';
import { parsePermissionQueryOrThrow } from './rbac.ts';

// The hottest operation: served on the lean path, with the same validation-before-auth and envelope.
export default defineLeanRoute({
  operation: 'keys.verifyKey',
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
      const data = await services.verifier.verify(auth, body, requestId);
      return { data, [renderData]: () => renderVerifyData(data) };
    } catch (err) {
      if (err instanceof UnknownRatelimitError) throw errors.preconditionFailed(err.message);
      throw err;
    }
  },
});

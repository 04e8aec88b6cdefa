import { Type } from '@sinclair/typebox';

/** Request-schema pieces shared by several operations. */

export const EXTERNAL_ID_PATTERN = '^[a-zA-Z0-9_.-]+$';
export const META_MAX_BYTES = 1024 * 1024;

export const ExternalId = Type.String({ minLength: 1, maxLength: 255, pattern: EXTERNAL_ID_PATTERN });

export const Meta = Type.Object({}, { additionalProperties: true, maxProperties: 100 });

/** Limits are bounded so that every stored limit can be reported back within the response schema. */
export const RatelimitRequest = Type.Object(
  {
    name: Type.String({ minLength: 3, maxLength: 128 }),
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    duration: Type.Integer({ minimum: 1000, maximum: 2_592_000_000 }),
    autoApply: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const RatelimitRequests = Type.Array(RatelimitRequest, { maxItems: 50 });

export const PageLimit = Type.Integer({ minimum: 1, maximum: 100 });
export const Cursor = Type.String({ minLength: 1, maxLength: 1024 });

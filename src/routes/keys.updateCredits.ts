import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { CreditValue } from './keySchemas.ts';
import { keyNotFound, refillToWire, requireKeyAction } from './keyWire.ts';

export default defineRoute({
  operation: 'keys.updateCredits',
  body: Type.Object(
    {
      keyId: Type.String({ minLength: 3, maxLength: 255 }),
      operation: Type.Union([Type.Literal('set'), Type.Literal('increment'), Type.Literal('decrement')]),
      value: Type.Optional(CreditValue),
    },
    { additionalProperties: false },
  ),
  async handler({ auth, services }, body) {
    const value = body.value ?? null;
    if (body.operation !== 'set' && value === null) {
      throw errors.invalidInput('An increment or decrement needs a value.', [
        { location: 'body.value', message: `body.value is required for '${body.operation}'` },
      ]);
    }
    const keys = services.store.keys;
    const key = await keys.findById(auth.workspaceId, body.keyId);
    if (!key) throw keyNotFound();
    requireKeyAction(auth, key, 'update_key');
    if (body.operation !== 'set' && key.credits.remaining === null) {
      throw errors.invalidInput('This key has unlimited credits: set a balance before adding to or taking from it.', [
        { location: 'body.operation', message: `cannot ${body.operation} the credits of a key with unlimited credits` },
      ]);
    }
    const result = await keys.credits.adjust(key.id, body.operation, value, key.credits.refill?.refillDay ?? null, services.clock());
    if (!result) throw keyNotFound();
    await services.cache.evictKey(key.hash);
    return {
      data: { remaining: result.remaining, ...(result.refill ? { refill: refillToWire(result.refill) } : {}) },
    };
  },
});

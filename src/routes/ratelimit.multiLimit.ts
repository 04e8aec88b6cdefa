import { Type } from '@sinclair/typebox';
import { defineLeanRoute } from '../http/route.ts';
import { checkLimits } from '../ratelimit/check.ts';
import { LimitBody } from './ratelimit.shared.ts';

export default defineLeanRoute({
  operation: 'ratelimit.multiLimit',
  body: Type.Array(LimitBody, { minItems: 1, maxItems: 100 }),
  async handler({ auth, services }, body) {
    const { passed, outcomes } = await checkLimits(auth, services, body);
    const limits = outcomes.map((o, i) => {
      const item: Record<string, unknown> = {
        namespace: body[i].namespace,
        identifier: body[i].identifier,
        limit: o.limit,
        remaining: o.remaining,
        reset: o.reset,
        passed: o.success,
      };
      if (o.overrideId !== undefined) item.overrideId = o.overrideId;
      return item;
    });
    return { data: { passed, limits } };
  },
});

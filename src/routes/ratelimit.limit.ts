import { defineLeanRoute } from '../http/route.ts';
import { checkLimits } from '../ratelimit/check.ts';
import { LimitBody } from './ratelimit.shared.ts';

export default defineLeanRoute({
  operation: 'ratelimit.limit',
  body: LimitBody,
  async handler({ auth, services }, body) {
    const { outcomes } = await checkLimits(auth, services, [body]);
    // A limited request is still a 200: the caller reads `success`.
    return { data: outcomes[0] };
  },
});

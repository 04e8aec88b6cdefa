import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';

export const ApiId = Type.String({ minLength: 8, maxLength: 255, pattern: '^[a-zA-Z0-9_]+$' });

export const apiNotFound = () => errors.notFound('api', 'The requested API does not exist or has been deleted.');

export default defineRoute({
  operation: 'apis.getApi',
  body: Type.Object({ apiId: ApiId }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    auth.require('api.*.read_api', `api.${body.apiId}.read_api`);
    const api = await services.store.apis.get(auth.workspaceId, body.apiId);
    if (!api) throw apiNotFound();
    return { data: { id: api.id, name: api.name } };
  },
});

import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';

export default defineRoute({
  operation: 'apis.createApi',
  body: Type.Object({ name: Type.String({ minLength: 3, maxLength: 256 }) }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    auth.require('api.*.create_api');
    const api = await services.store.apis.create(auth.workspaceId, body.name);
    return { data: { apiId: api.id } };
  },
});

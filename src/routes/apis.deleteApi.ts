import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { ApiId, apiNotFound } from './apis.getApi.ts';

export default defineRoute({
  operation: 'apis.deleteApi',
  body: Type.Object({ apiId: ApiId }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    auth.require('api.*.delete_api', `api.${body.apiId}.delete_api`);
    const api = await services.store.apis.get(auth.workspaceId, body.apiId);
    if (!api) throw apiNotFound();
    if (api.deleteProtection) {
      throw errors.protectedResource(`The API ${api.id} has delete protection on; turn it off before deleting.`);
    }
    await services.store.apis.softDelete(auth.workspaceId, api.id);
    // Every key of the API now verifies as NOT_FOUND; API deletions are rare, so all cached keys go.
    await services.cache.evictAll();
    return { data: {} };
  },
});

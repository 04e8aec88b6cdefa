import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { ApiError } from '../http/errors.ts';
import type { Principal } from '../http/auth.ts';
import type { Services } from '../services.ts';
import { QueryError, type QueryErrorKind } from '../analytics/query/errors.ts';
import { QueryRejected, QueryTimeout } from '../analytics/query/reader.ts';
import { RowsLimitExceeded } from '../analytics/query/service.ts';
import type { Access } from '../analytics/query/translate.ts';

const DOCS = 'https://unkey.com/docs/errors';
const HOUR_MS = 3_600_000;

const QUERY_ERROR_TYPES: Record<QueryErrorKind, string> = {
  invalid_query: 'invalid_analytics_query',
  invalid_query_type: 'invalid_analytics_query_type',
  invalid_table: 'invalid_analytics_table',
  invalid_function: 'invalid_analytics_function',
};

function badQuery(kind: QueryErrorKind, message: string): ApiError {
  return new ApiError(400, 'Bad Request', `${DOCS}/user/bad_request/${QUERY_ERROR_TYPES[kind]}`, `The analytics query was refused: ${message}.`, [
    { location: 'body.query', message },
  ]);
}

/** What the root key may read: the whole workspace, or only the keyspaces of the APIs it was granted. */
async function accessOf(auth: Principal, services: Services): Promise<Access> {
  if (auth.has('api.*.read_analytics')) return { workspaceId: auth.workspaceId };
  const apiIds = auth.permissions
    .map((p) => /^api\.([^.]+)\.read_analytics$/.exec(p)?.[1])
    .filter((id): id is string => id !== undefined);
  if (apiIds.length === 0) auth.require('api.*.read_analytics');
  const keySpaceIds: string[] = [];
  for (const apiId of apiIds) {
    const api = await services.store.apis.get(auth.workspaceId, apiId);
    if (api) keySpaceIds.push(api.keyspaceId);
  }
  return { workspaceId: auth.workspaceId, keySpaceIds };
}

export default defineRoute({
  operation: 'analytics.getVerifications',
  body: Type.Object({ query: Type.String() }),
  async handler({ auth, services }, body) {
    const access = await accessOf(auth, services);
    const now = services.clock();
    const quota = services.config.analyticsQueryQuota;
    const { passed } = await services.limiter.check(
      [{ key: `analytics-queries:${auth.workspaceId}`, limit: quota, duration: HOUR_MS, cost: 1 }],
      now,
    );
    if (!passed) {
      throw new ApiError(429, 'Too Many Requests', `${DOCS}/user/too_many_requests/query_quota_exceeded`, `This workspace ran its ${quota} analytics queries of the hour; try again later.`);
    }
    try {
      return { data: await services.analyticsQueries.run(body.query, access, now) };
    } catch (err) {
      if (err instanceof QueryError) throw badQuery(err.kind, err.message);
      if (err instanceof QueryRejected) throw badQuery('invalid_query', err.message);
      if (err instanceof QueryTimeout) {
        throw new ApiError(422, 'Unprocessable Entity', `${DOCS}/user/unprocessable_entity/query_execution_timeout`, `The analytics query was stopped: ${err.message}.`);
      }
      if (err instanceof RowsLimitExceeded) {
        throw new ApiError(422, 'Unprocessable Entity', `${DOCS}/user/unprocessable_entity/query_rows_limit_exceeded`, `The analytics query was stopped: ${err.message}; aggregate or add a LIMIT.`);
      }
      throw err;
    }
  },
});

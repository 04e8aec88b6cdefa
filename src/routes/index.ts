import type { Route } from '../http/route.ts';
import apisCreateApi from './apis.createApi.ts';
import apisDeleteApi from './apis.deleteApi.ts';
import apisGetApi from './apis.getApi.ts';
import identitiesCreateIdentity from './identities.createIdentity.ts';
import identitiesDeleteIdentity from './identities.deleteIdentity.ts';
import identitiesGetIdentity from './identities.getIdentity.ts';
import identitiesListIdentities from './identities.listIdentities.ts';
import identitiesUpdateIdentity from './identities.updateIdentity.ts';
import ratelimitDeleteOverride from './ratelimit.deleteOverride.ts';
import ratelimitGetOverride from './ratelimit.getOverride.ts';
import ratelimitLimit from './ratelimit.limit.ts';
import ratelimitListOverrides from './ratelimit.listOverrides.ts';
import ratelimitMultiLimit from './ratelimit.multiLimit.ts';
import ratelimitSetOverride from './ratelimit.setOverride.ts';

/** Every operation the server serves, one module each. */
export const routes: Route<any>[] = [
  apisCreateApi,
  apisDeleteApi,
  apisGetApi,
  identitiesCreateIdentity,
  identitiesDeleteIdentity,
  identitiesGetIdentity,
  identitiesListIdentities,
  identitiesUpdateIdentity,
  ratelimitDeleteOverride,
  ratelimitGetOverride,
  ratelimitLimit,
  ratelimitListOverrides,
  ratelimitMultiLimit,
  ratelimitSetOverride,
];

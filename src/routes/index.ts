import type { Route } from '../http/route.ts';
import analyticsGetVerifications from './analytics.getVerifications.ts';
import apisCreateApi from './apis.createApi.ts';
import apisDeleteApi from './apis.deleteApi.ts';
import apisGetApi from './apis.getApi.ts';
import identitiesCreateIdentity from './identities.createIdentity.ts';
import identitiesDeleteIdentity from './identities.deleteIdentity.ts';
import identitiesGetIdentity from './identities.getIdentity.ts';
import identitiesListIdentities from './identities.listIdentities.ts';
import identitiesUpdateIdentity from './identities.updateIdentity.ts';

/** Every operation the server serves, one module each. */
export const routes: Route<any>[] = [
  analyticsGetVerifications,
  apisCreateApi,
  apisDeleteApi,
  apisGetApi,
  identitiesCreateIdentity,
  identitiesDeleteIdentity,
  identitiesGetIdentity,
  identitiesListIdentities,
  identitiesUpdateIdentity,
];

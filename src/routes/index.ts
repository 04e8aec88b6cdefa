import type { Route } from '../http/route.ts';
import analyticsGetVerifications from './analytics.getVerifications.ts';
import apisCreateApi from './apis.createApi.ts';
import apisDeleteApi from './apis.deleteApi.ts';
import apisGetApi from './apis.getApi.ts';
import apisListKeys from './apis.listKeys.ts';
import identitiesCreateIdentity from './identities.createIdentity.ts';
import identitiesDeleteIdentity from './identities.deleteIdentity.ts';
import identitiesGetIdentity from './identities.getIdentity.ts';
import identitiesListIdentities from './identities.listIdentities.ts';
import identitiesUpdateIdentity from './identities.updateIdentity.ts';
import keysCreateKey from './keys.createKey.ts';
import keysDeleteKey from './keys.deleteKey.ts';
import keysGetKey from './keys.getKey.ts';
import keysMigrateKeys from './keys.migrateKeys.ts';
import keysRerollKey from './keys.rerollKey.ts';
import keysUpdateCredits from './keys.updateCredits.ts';
import keysUpdateKey from './keys.updateKey.ts';
import keysVerifyKey from './keys.verifyKey.ts';
import keysWhoami from './keys.whoami.ts';

/** Every operation the server serves, one module each. */
export const routes: Route<any>[] = [
  analyticsGetVerifications,
  apisCreateApi,
  apisDeleteApi,
  apisGetApi,
  apisListKeys,
  identitiesCreateIdentity,
  identitiesDeleteIdentity,
  identitiesGetIdentity,
  identitiesListIdentities,
  identitiesUpdateIdentity,
  keysCreateKey,
  keysDeleteKey,
  keysGetKey,
  keysMigrateKeys,
  keysRerollKey,
  keysUpdateCredits,
  keysUpdateKey,
  keysVerifyKey,
  keysWhoami,
];

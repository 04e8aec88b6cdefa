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
import permissionsCreatePermission from './permissions.createPermission.ts';
import permissionsCreateRole from './permissions.createRole.ts';
import permissionsDeletePermission from './permissions.deletePermission.ts';
import permissionsDeleteRole from './permissions.deleteRole.ts';
import permissionsGetPermission from './permissions.getPermission.ts';
import permissionsGetRole from './permissions.getRole.ts';
import permissionsListPermissions from './permissions.listPermissions.ts';
import permissionsListRoles from './permissions.listRoles.ts';
import permissionsSetRolePermissions from './permissions.setRolePermissions.ts';
import keysAddPermissions from './keys.addPermissions.ts';
import keysAddRoles from './keys.addRoles.ts';
import keysRemovePermissions from './keys.removePermissions.ts';
import keysRemoveRoles from './keys.removeRoles.ts';
import keysSetPermissions from './keys.setPermissions.ts';
import keysSetRoles from './keys.setRoles.ts';
import keysCreateKey from './keys.createKey.ts';
import keysDeleteKey from './keys.deleteKey.ts';
import keysGetKey from './keys.getKey.ts';
import keysMigrateKeys from './keys.migrateKeys.ts';
import keysRerollKey from './keys.rerollKey.ts';
import keysUpdateCredits from './keys.updateCredits.ts';
import keysUpdateKey from './keys.updateKey.ts';
import keysVerifyKey from './keys.verifyKey.ts';
import keysWhoami from './keys.whoami.ts';
import ratelimitDeleteOverride from './ratelimit.deleteOverride.ts';
import ratelimitGetOverride from './ratelimit.getOverride.ts';
import ratelimitLimit from './ratelimit.limit.ts';
import ratelimitListOverrides from './ratelimit.listOverrides.ts';
import ratelimitMultiLimit from './ratelimit.multiLimit.ts';
import ratelimitSetOverride from './ratelimit.setOverride.ts';

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
  permissionsCreatePermission,
  permissionsCreateRole,
  permissionsDeletePermission,
  permissionsDeleteRole,
  permissionsGetPermission,
  permissionsGetRole,
  permissionsListPermissions,
  permissionsListRoles,
  permissionsSetRolePermissions,
  keysAddPermissions,
  keysAddRoles,
  keysRemovePermissions,
  keysRemoveRoles,
  keysSetPermissions,
  keysSetRoles,
  keysCreateKey,
  keysDeleteKey,
  keysGetKey,
  keysMigrateKeys,
  keysRerollKey,
  keysUpdateCredits,
  keysUpdateKey,
  keysVerifyKey,
  keysWhoami,
  ratelimitDeleteOverride,
  ratelimitGetOverride,
  ratelimitLimit,
  ratelimitListOverrides,
  ratelimitMultiLimit,
  ratelimitSetOverride,
];

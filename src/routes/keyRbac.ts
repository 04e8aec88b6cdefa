import { Type } from '@sinclair/typebox';
import type { KeyRecord } from '../core/keys.ts';
import type { RouteContext } from '../http/route.ts';
import { KeyId } from './keySchemas.ts';
import { keyNotFound, requireKeyAction } from './keyWire.ts';
import { PermissionSlug, RoleName } from './rbac.ts';

/** Request bodies and the common first step of the operations that change a key's permissions and roles. */

export const KeyPermissionsBody = (minItems: number) =>
  Type.Object(
    { keyId: KeyId, permissions: Type.Array(PermissionSlug, { minItems, maxItems: 1000 }) },
    { additionalProperties: false },
  );

export const KeyRolesBody = (minItems: number) =>
  Type.Object({ keyId: KeyId, roles: Type.Array(RoleName, { minItems, maxItems: 100 }) }, { additionalProperties: false });

/**
 * The live key of the caller's workspace, once the root key may update keys of its API and holds every
 * given RBAC tuple. Unknown keys are a 404 before any permission is looked at.
 */
export async function keyForRbacChange(
  { auth, services }: Pick<RouteContext, 'auth' | 'services'>,
  keyId: string,
  ...rbacTuples: string[]
): Promise<KeyRecord> {
  const key = await services.store.keys.findById(auth.workspaceId, keyId);
  if (!key) throw keyNotFound();
  requireKeyAction(auth, key, 'update_key');
  for (const tuple of rbacTuples) auth.require(tuple);
  return key;
}

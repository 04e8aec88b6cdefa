import { Type } from '@sinclair/typebox';
import type { Principal } from '../http/auth.ts';
import { ApiError, errors } from '../http/errors.ts';
import { PermissionQuerySyntaxError, parsePermissionQuery, type PermissionQuery } from '../core/permissionQuery.ts';
import { UnknownRbacReferenceError, type Permission, type Role } from '../store/rbac.ts';
import type { Store } from '../store/index.ts';
import type { Services } from '../services.ts';

/** Schema pieces, wire conversions and checks shared by the permission, role and key-RBAC operations. */

const SLUG_PATTERN = '^[a-zA-Z0-9_:\\-\\.\\*]+$';
export const PermissionSlug = Type.String({ minLength: 1, maxLength: 128, pattern: SLUG_PATTERN });
export const RoleName = Type.String({ minLength: 1, maxLength: 128 });
export const Description = Type.String({ maxLength: 512 });
/** A role holds at most 100 permissions: that is all a role can report in one answer. */
export const RolePermissionSlugs = Type.Array(PermissionSlug, { maxItems: 100 });
/** The permissions and roles a key can be given when it is created or updated. */
export const KeyPermissionSlugs = Type.Array(PermissionSlug, { maxItems: 1000 });
export const KeyRoleNames = Type.Array(RoleName, { maxItems: 100 });

export const ListBody = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
    search: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export function permissionToWire(p: Permission) {
  const out: { id: string; name: string; slug: string; description?: string } = { id: p.id, name: p.name, slug: p.slug };
  if (p.description) out.description = p.description;
  return out;
}

export function roleToWire(r: Role) {
  const out: Record<string, unknown> = { id: r.id, name: r.name };
  if (r.description) out.description = r.description;
  if (r.permissions.length > 0) out.permissions = r.permissions.map(permissionToWire);
  return out;
}

export const permissionNotFound = (reference: string) =>
  errors.notFound('permission', `The permission '${reference}' does not exist in this workspace.`);

export const roleNotFound = (reference: string) =>
  errors.notFound('role', `The role '${reference}' does not exist in this workspace.`);

/** Beyond this many keys one change drops the whole verification cache rather than key by key. */
const EVICT_ALL_ABOVE = 1000;

/** Drops the cached records of keys whose permissions or roles changed, before the change is answered. */
export async function evictKeys(services: Services, keyIds: string[]): Promise<void> {
  if (keyIds.length === 0) return;
  if (keyIds.length > EVICT_ALL_ABOVE) return services.cache.evictAll();
  const hashes = await services.store.rbac.keyHashes(keyIds);
  await Promise.all(hashes.map((hash) => services.cache.evictKey(hash)));
}

/** Maps a reference to a permission or role that does not exist onto a 404 naming it; rethrows anything else. */
export function rethrowUnknownReference(err: unknown): never {
  if (err instanceof UnknownRbacReferenceError) {
    throw err.kind === 'role' ? roleNotFound(err.reference) : permissionNotFound(err.reference);
  }
  throw err;
}

/** Creating permissions on the fly needs its own grant: demands it when any of these slugs is new. */
export async function requireCreateForNewSlugs(
  auth: Principal,
  store: Store,
  slugs: string[] | undefined,
): Promise<void> {
  if (!slugs || slugs.length === 0 || auth.has('rbac.*.create_permission')) return;
  const missing = await store.rbac.missingSlugs(auth.workspaceId, slugs);
  if (missing.length > 0) auth.require('rbac.*.create_permission');
}

/** Parses the verifyKey permission query; a query that does not parse is a 400 saying what was expected where. */
export function parsePermissionQueryOrThrow(query: string): PermissionQuery {
  try {
    return parsePermissionQuery(query);
  } catch (err) {
    if (!(err instanceof PermissionQuerySyntaxError)) throw err;
    throw new ApiError(
      400,
      'Bad Request',
      'https://unkey.com/docs/errors/user/bad_request/permissions_query_syntax_error',
      `The permissions query is invalid: ${err.message}`,
      [{ location: 'body.permissions', message: err.message }],
    );
  }
}

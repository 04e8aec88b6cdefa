/** The root-key permission tuples Latchkey understands, `<resource>.<id|*>.<action>`. */

const ACTIONS: Record<string, string[]> = {
  api: [
    'create_api', 'read_api', 'update_api', 'delete_api', 'create_key', 'read_key', 'update_key', 'delete_key',
    'encrypt_key', 'decrypt_key', 'verify_key', 'read_analytics',
  ],
  ratelimit: [
    'limit', 'create_namespace', 'read_namespace', 'update_namespace', 'delete_namespace', 'set_override',
    'read_override', 'delete_override', 'list_overrides',
  ],
  rbac: [
    'create_permission', 'read_permission', 'update_permission', 'delete_permission', 'create_role', 'read_role',
    'update_role', 'delete_role', 'add_permission_to_key', 'remove_permission_from_key', 'add_role_to_key',
    'remove_role_from_key', 'add_permission_to_role', 'remove_permission_from_role',
  ],
  identity: ['create_identity', 'read_identity', 'update_identity', 'delete_identity'],
};

/** Every wildcard tuple: what the bootstrap root key holds. */
export const ALL_ROOT_PERMISSIONS: string[] = Object.entries(ACTIONS).flatMap(([resource, actions]) =>
  actions.map((action) => `${resource}.*.${action}`),
);

const TUPLE = /^([a-z]+)\.([A-Za-z0-9_*-]+)\.([a-z_]+)$/;

/** Checks a tuple given on the command line; returns an error message, or undefined when it is valid. */
export function checkRootPermission(tuple: string): string | undefined {
  const m = TUPLE.exec(tuple);
  if (!m) return `'${tuple}' is not a permission tuple of the form <resource>.<id|*>.<action>`;
  const actions = ACTIONS[m[1]];
  if (!actions) return `'${tuple}': unknown resource '${m[1]}' (known: ${Object.keys(ACTIONS).join(', ')})`;
  if (!actions.includes(m[3])) return `'${tuple}': unknown action '${m[3]}' for ${m[1]}`;
  return undefined;
}

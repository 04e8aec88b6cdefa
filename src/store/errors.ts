/** A database that cannot be used as configured: unreachable, unwritable, or failing to migrate. */
export class StoreError extends Error {}

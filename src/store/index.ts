import { connect, migrate, type Backend, type ConnectOptions, type Db } from './connection.ts';
import { ApiStore } from './apis.ts';
import { IdentityStore } from './identities.ts';
import { KeyStore } from './keys.ts';
import { RootKeyStore, WorkspaceStore } from './workspaces.ts';

/**
 * All durable state, one repository per area. The same repositories run on SQLite and PostgreSQL:
 * queries are written once with Kysely, and dialect differences stay inside the repository that has them.
 */
export class Store {
  readonly workspaces: WorkspaceStore;
  readonly rootKeys: RootKeyStore;
  readonly apis: ApiStore;
  readonly identities: IdentityStore;
  readonly keys: KeyStore;

  constructor(
    readonly db: Db,
    readonly backend: Backend,
    private readonly closeConnection: () => Promise<void>,
  ) {
    this.workspaces = new WorkspaceStore(db);
    this.rootKeys = new RootKeyStore(db);
    this.apis = new ApiStore(db);
    this.identities = new IdentityStore(db);
    this.keys = new KeyStore(db, backend);
  }

  close(): Promise<void> {
    return this.closeConnection();
  }
}

/** Connects to the database named by the URL and brings its schema up to date. */
export async function openStore(url: string, options: ConnectOptions = {}): Promise<Store> {
  const conn = await connect(url, options);
  try {
    await migrate(conn.db, conn.schema);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return new Store(conn.db, conn.backend, conn.close);
}

export { StoreError } from './connection.ts';

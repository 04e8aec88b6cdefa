import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, ConfigError, loadConfig, type Config } from './config.ts';
import { checkRootPermission, ALL_ROOT_PERMISSIONS } from './core/rootPermissions.ts';
import { StoreError } from './store/errors.ts';
import type { Store } from './store/index.ts';

/** An error the user can fix: printed as one line, without a stack trace. */
export class UsageError extends Error {}

const CONFIG_OPTIONS = Object.fromEntries(CONFIG_FLAGS.map((f) => [f, { type: 'string' as const }]));

const HELP: Record<string, string> = {
  main: `latchkey - self-hostable API key service

Usage: latchkey <command> [options]

Commands:
  serve                         run the HTTP server
  workspace create --name <n>   create a workspace
  root-key create --workspace <id> [--permission <tuple>]...
                                create a root key for a workspace
  migration create --workspace <id>
                                create a key migration, for keys.migrateKeys
  namespace list --workspace <id>
                                list the rate-limit namespaces of a workspace
  namespace delete --workspace <id> --namespace <name|id>
                                delete a rate-limit namespace

Run 'latchkey <command> --help' for the options of a command.`,
  serve: `Usage: latchkey serve [options]

Runs the HTTP server. On the first start with an empty database it creates a
default workspace and a root key holding every permission, and prints that key once.

Options (each also read from the environment variable in brackets):
  --port <n>                     port to listen on [PORT] (default 8080)
  --host <addr>                  address to bind [HOST] (default 127.0.0.1)
  --database-url <url>           sqlite:<path> or postgres://... [LATCHKEY_DATABASE_URL]
                                 (default sqlite:./data/latchkey.db)
  --redis-url <url>              redis://... for cluster mode [LATCHKEY_REDIS_URL]
  --log-level <level>            fatal|error|warn|info|debug [LATCHKEY_LOG_LEVEL] (default info)
  --body-limit <bytes>           largest request body [LATCHKEY_BODY_LIMIT] (default 4194304)
  --key-cache-size <n>           keys held in the verification cache [LATCHKEY_KEY_CACHE_SIZE]
  --node-id <name>               this node's name in analytics [LATCHKEY_NODE_ID]
  --analytics-retention-days <n> days raw verification events are kept [LATCHKEY_ANALYTICS_RETENTION_DAYS]
  --analytics <on|off>           record verification events [LATCHKEY_ANALYTICS]
  --analytics-buffer-size <n>    events held in memory before new ones are dropped [LATCHKEY_ANALYTICS_BUFFER_SIZE]
  --analytics-flush-ms <ms>      longest wait before buffered events are written [LATCHKEY_ANALYTICS_FLUSH_MS]
  --analytics-query-timeout-ms <ms>  longest an analytics query may run [LATCHKEY_ANALYTICS_QUERY_TIMEOUT_MS]
  --analytics-query-max-rows <n> most rows an analytics query may return [LATCHKEY_ANALYTICS_QUERY_MAX_ROWS]
  --analytics-query-quota <n>    analytics queries per workspace per hour [LATCHKEY_ANALYTICS_QUERY_QUOTA]`,
  workspace: `Usage: latchkey workspace create --name <name> [--database-url <url>]

Creates a workspace and prints {"workspaceId": "..."} as the last line of output.
The database is --database-url or LATCHKEY_DATABASE_URL (default sqlite:./data/latchkey.db);
a server may be running on it meanwhile.`,
  'root-key': `Usage: latchkey root-key create --workspace <id> [--permission <tuple>]... [--name <name>]
                                [--database-url <url>]

Creates a root key for the workspace and prints {"keyId": "...", "key": "..."} as the last
line of output. The key is shown only this once. Each --permission is a tuple such as
api.*.create_key or identity.*.read_identity; without any, the key gets every permission.
The database is --database-url or LATCHKEY_DATABASE_URL (default sqlite:./data/latchkey.db);
a server may be running on it meanwhile, and accepts the new key at once.`,
  migration: `Usage: latchkey migration create --workspace <id> [--algorithm sha256] [--database-url <url>]

Creates a key migration for the workspace and prints {"migrationId": "..."} as the last line of
output. Pass that id to keys.migrateKeys with keys given as the SHA-256 digest (hex or base64) of
their plaintext; they verify at once, and their first verification with the migrationId
records their visible start.`,
  namespace: `Usage: latchkey namespace list --workspace <id> [--database-url <url>]
       latchkey namespace delete --workspace <id> --namespace <name|id> [--database-url <url>]

Rate-limit namespaces are created by the first ratelimit.limit call that names them.
'list' prints {"namespaces": [{"id", "name", "createdAt"}, ...]} as the last line of output.
'delete' prints {"namespaceId": "..."}; limit calls on a deleted namespace are refused with 410.
A running server notices the deletion within a few seconds.`,
};

function parse(
  args: string[],
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function configFrom(values: Record<string, unknown>): Config {
  const flags: Record<string, string | undefined> = {};
  for (const f of CONFIG_FLAGS) flags[f] = values[f] as string | undefined;
  return loadConfig(process.env, flags);
}

// The server and the database drivers are loaded only by the commands that use them, so that --help
// and mistakes in the arguments answer at once.
async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const { openStore } = await import('./store/index.ts');
  const store = await openStore(config.databaseUrl);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function serve(args: string[]): Promise<void> {
  const { values } = parse(args, CONFIG_OPTIONS);
  if (values.help) return void console.log(HELP.serve);
  const config = configFrom(values);
  const { bootstrap, createApp } = await import('./app.ts');
  const app = await createApp(config);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.server.log.info(`${signal} received, shutting down`);
    try {
      await app.close();
    } catch (err) {
      // Most often buffered verification events that could not be written: say so, and exit non-zero.
      app.server.log.error(`shutting down failed: ${(err as Error)?.message ?? String(err)}`);
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    await app.server.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close();
    throw new UsageError(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  }
  // Only once the server is up: a start that fails prints no key. Until the key exists no request can
  // authenticate, so serving first is safe.
  const first = await bootstrap(app.services.store);
  if (first) {
    const line = '='.repeat(72);
    console.log(
      `${line}\nFirst start: created workspace ${first.workspaceId} and a root key with every permission.\n` +
        `Root key (shown only this once, store it now):\n\n    ${first.key}\n\n${line}`,
    );
  }
  const address = app.server.server.address();
  if (address && typeof address === 'object') {
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    console.log(`Latchkey listening on http://${host}:${address.port} (database ${redact(config.databaseUrl)})`);
  }
}

/** The database URL without its password, fit to print. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

async function workspace(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...CONFIG_OPTIONS, name: { type: 'string' } });
  if (values.help) return void console.log(HELP.workspace);
  if (positionals[0] !== 'create') throw new UsageError(`unknown workspace command '${positionals[0] ?? ''}'; try 'workspace create --name <name>'`);
  const name = values.name as string | undefined;
  if (!name || name.trim() === '') throw new UsageError('workspace create needs --name <name>');
  const ws = await withStore(configFrom(values), (store) => store.workspaces.create(name));
  console.log(JSON.stringify({ workspaceId: ws.id }));
}

async function rootKey(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...CONFIG_OPTIONS,
    workspace: { type: 'string' },
    permission: { type: 'string', multiple: true },
    name: { type: 'string' },
  });
  if (values.help) return void console.log(HELP['root-key']);
  if (positionals[0] !== 'create') throw new UsageError(`unknown root-key command '${positionals[0] ?? ''}'; try 'root-key create --workspace <id>'`);
  const workspaceId = values.workspace as string | undefined;
  if (!workspaceId) throw new UsageError('root-key create needs --workspace <id>');
  const permissions = (values.permission as string[] | undefined) ?? [];
  for (const p of permissions) {
    const problem = checkRootPermission(p);
    if (problem) throw new UsageError(problem);
  }
  const created = await withStore(configFrom(values), async (store) => {
    if (!(await store.workspaces.get(workspaceId))) throw new UsageError(`workspace '${workspaceId}' does not exist`);
    return store.rootKeys.create(
      workspaceId,
      permissions.length > 0 ? permissions : ALL_ROOT_PERMISSIONS,
      values.name as string | undefined,
    );
  });
  console.log(JSON.stringify(created));
}

const MIGRATION_ALGORITHMS = ['sha256'];

async function migration(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...CONFIG_OPTIONS,
    workspace: { type: 'string' },
    algorithm: { type: 'string' },
  });
  if (values.help) return void console.log(HELP.migration);
  if (positionals[0] !== 'create') throw new UsageError(`unknown migration command '${positionals[0] ?? ''}'; try 'migration create --workspace <id>'`);
  const workspaceId = values.workspace as string | undefined;
  if (!workspaceId) throw new UsageError('migration create needs --workspace <id>');
  const algorithm = (values.algorithm as string | undefined) ?? 'sha256';
  if (!MIGRATION_ALGORITHMS.includes(algorithm)) {
    throw new UsageError(`unknown algorithm '${algorithm}' (known: ${MIGRATION_ALGORITHMS.join(', ')})`);
  }
  const migrationId = await withStore(configFrom(values), async (store) => {
    if (!(await store.workspaces.get(workspaceId))) throw new UsageError(`workspace '${workspaceId}' does not exist`);
    return store.keys.createMigration(workspaceId, algorithm, Date.now());
  });
  console.log(JSON.stringify({ migrationId }));
}

async function namespace(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...CONFIG_OPTIONS,
    workspace: { type: 'string' },
    namespace: { type: 'string' },
  });
  if (values.help) return void console.log(HELP.namespace);
  const action = positionals[0];
  if (action !== 'list' && action !== 'delete') {
    throw new UsageError(`unknown namespace command '${action ?? ''}'; try 'namespace list --workspace <id>'`);
  }
  const workspaceId = values.workspace as string | undefined;
  if (!workspaceId) throw new UsageError(`namespace ${action} needs --workspace <id>`);
  const ref = values.namespace as string | undefined;
  if (action === 'delete' && !ref) throw new UsageError('namespace delete needs --namespace <name|id>');
  const output = await withStore(configFrom(values), async (store) => {
    if (!(await store.workspaces.get(workspaceId))) throw new UsageError(`workspace '${workspaceId}' does not exist`);
    if (action === 'list') {
      const namespaces = await store.ratelimit.listNamespaces(workspaceId);
      return { namespaces: namespaces.map((ns) => ({ id: ns.id, name: ns.name, createdAt: ns.createdAt })) };
    }
    const deleted = await store.ratelimit.deleteNamespace(workspaceId, ref!);
    if (!deleted) throw new UsageError(`namespace '${ref}' does not exist in workspace '${workspaceId}'`);
    return { namespaceId: deleted.id };
  });
  console.log(JSON.stringify(output));
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  serve,
  workspace,
  'root-key': rootKey,
  migration,
  namespace,
};

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main);
    return;
  }
  const run = COMMANDS[command];
  try {
    if (!run) throw new UsageError(`unknown command '${command}'; run 'latchkey --help'`);
    await run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof StoreError) {
      console.error(`latchkey: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

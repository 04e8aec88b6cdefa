import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { postgresUnavailable, startServer, type TestServer } from '../harness.ts';

/** PostgreSQL rollup tables leave room on their pages, so that adding to a row's counts can stay on its page. */
describe('PostgreSQL rollup tables', async () => {
  const skip = await postgresUnavailable();
  let server: TestServer;
  before(async () => {
    if (!skip) server = await startServer('postgres');
  });
  after(async () => server?.close());

  it('are created half empty per page (fillfactor 50), the raw event tables full', { skip }, async () => {
    const { rows } = await sql<{ relname: string; reloptions: string[] | null }>`
      select c.relname, c.reloptions from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${server.postgresSchema!} and c.relkind = 'r' and c.relname like 'analytics%' order by c.relname`.execute(
      server.app.services.store.db,
    );
    assert.deepEqual(
      rows.map((r) => [r.relname, r.reloptions]),
      [
        ['analytics_event_dims', null],
        ['analytics_event_packs', null],
        ['analytics_per_day', ['fillfactor=50']],
        ['analytics_per_hour', ['fillfactor=50']],
        ['analytics_per_minute', ['fillfactor=50']],
        ['analytics_per_month', ['fillfactor=50']],
      ],
    );
  });
});

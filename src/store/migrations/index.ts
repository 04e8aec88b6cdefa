import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_keys.ts';
import * as m0003 from './0003_rbac.ts';
import * as m0004 from './0004_ratelimit.ts';
import * as m0005 from './0005_analytics.ts';
import * as m0006 from './0006_analytics_file.ts';
import * as m0007 from './0007_analytics_dims.ts';
import * as m0008 from './0008_rollup_fillfactor.ts';
import * as m0009 from './0009_analytics_dims_postgres.ts';
import * as m0010 from './0010_event_rows_workspace_key.ts';
import * as m0011 from './0011_event_packs.ts';

/** Every migration, in order. Add new ones at the end with the next number. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_keys': m0002,
  '0003_rbac': m0003,
  '0004_ratelimit': m0004,
  '0005_analytics': m0005,
  '0006_analytics_file': m0006,
  '0007_analytics_dims': m0007,
  '0008_rollup_fillfactor': m0008,
  '0009_analytics_dims_postgres': m0009,
  '0010_event_rows_workspace_key': m0010,
  '0011_event_packs': m0011,
};

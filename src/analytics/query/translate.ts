import type { Expr, FromItem, OrderItem, Query, Select, SetExpr, WindowSpec } from './ast.ts';
import { QueryError, invalidQuery } from './errors.ts';
import { translateCall } from './functions.ts';
import { tableSpec, type SqlType, type TableSpec } from './tables.ts';
import { bucketStart } from '../rollup.ts';
import { parseDateTime, startOf } from './time.ts';
import { workspaceKey } from '../../core/workspaceKey.ts';
import { unpackSql } from '../../store/migrations/0011_event_packs.ts';

export type Dialect = 'sqlite' | 'postgres';

/** Whose rows a query may read: always one workspace, optionally only some keyspaces of it. */
export interface Access {
  workspaceId: string;
  /** Undefined: every keyspace of the workspace. */
  keySpaceIds?: string[];
}

export interface TranslateOptions {
  dialect: Dialect;
  access: Access;
  /** Unix ms that now() stands for. */
  now: number;
  /** Window applied when the query filters on no time column, in days. */
  defaultWindowDays: number;
  /** The outermost LIMIT is capped at this many rows. */
  maxRows: number;
}

export interface OutputColumn {
  name: string;
  type: SqlType;
}

export interface Translated {
  sql: string;
  params: unknown[];
  columns: OutputColumn[];
}

/** An expression after translation: its SQL, its type, and its value when known before running. */
export interface Typed {
  sql: string;
  type: SqlType;
  value?: number | string;
  interval?: { ms: number } | { months: number };
}

interface Column {
  name: string;
  sql: string;
  type: SqlType;
}

interface Source {
  name: string;
  alias: string;
  columns: Column[];
  /** For an allowed table: the names of the columns the query reads from it, filled in as they are resolved. */
  used?: Set<string>;
  /** For an allowed table: its index in Translator.bases. */
  base?: number;
}

/** Name resolution for one query level; lookups fall back to the enclosing level (correlated subqueries). */
export class Scope {
  readonly sources: Source[] = [];
  readonly aliases = new Map<string, Expr>();
  readonly expanding = new Set<string>();
  readonly lambdas = new Map<string, Typed>();
  /** Laterals added by arrayJoin, appended to this level's FROM. */
  readonly laterals: string[] = [];
  /** arrayJoin element columns by the SQL of their array, so repeating an arrayJoin reuses one lateral. */
  readonly arrayJoins = new Map<string, string>();
  clause: 'select' | 'where' | 'other' = 'other';
  /** The conditions this level's WHERE is a conjunction of: each must hold for every row it returns. */
  conjuncts?: Set<Expr>;
  /** The CTEs visible here, for subqueries inside expressions. */
  env?: CteEnv;

  constructor(readonly parent?: Scope) {}

  ctes(): CteEnv {
    for (let s: Scope | undefined = this; s; s = s.parent) if (s.env) return s.env;
    return new Map();
  }
}

type CteEnv = Map<string, { sqlName: string; columns: Column[] }>;

const TIME_MARK = '\u0000time:';
const BASE_MARK = '\u0000base:';
const PACK_MARK = '\u0000pack:';

/** A base table as the translator reads it; `low`/`high` bound the times of the rows the query keeps. */
interface Base {
  spec: TableSpec;
  used: Set<string>;
  rows: TableSpec['rows'];
  low?: number;
  high?: number;
}

const FLIPPED: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };

/**
 * Rewrites a parsed query into SQL for one backend. Every name in the output is generated here: each table
 * reference becomes a subquery over the physical table that already filters on the caller's workspace (and
 * keyspaces), user aliases become generated ones, and functions are mapped one by one from the allow-list.
 * So nothing the query says can name another table, another workspace's rows, or a database function.
 */
export function translate(query: Query, options: TranslateOptions): Translated {
  const t = new Translator(options);
  const { sql, columns } = t.query(query, undefined, new Map(), true);
  return { ...t.finish(sql), columns: columns.map((c) => ({ name: c.name, type: c.type })) };
}

export class Translator {
  readonly params: unknown[] = [];
  private counter = 0;
  private timeFiltered = false;
  /** The allowed tables the query reads, by the index their SQL refers to them with. */
  private readonly bases: Base[] = [];

  constructor(readonly options: TranslateOptions) {}

  get dialect(): Dialect {
    return this.options.dialect;
  }

  fresh(prefix: string): string {
    return `${prefix}${++this.counter}`;
  }

  /** A string value, always passed as a bound parameter. */
  param(value: string): string {
    this.params.push(value);
    return this.dialect === 'postgres' ? `CAST($${this.params.length} AS TEXT)` : `@p${this.params.length}`;
  }

  // ---- queries

  query(q: Query, outer: Scope | undefined, env: CteEnv, top = false): { sql: string; columns: Column[] } {
    const ctes: string[] = [];
    let cteEnv = env;
    if (q.ctes.length > 0) {
      cteEnv = new Map(env);
      for (const cte of q.ctes) {
        const inner = this.query(cte.query, outer, cteEnv);
        const sqlName = this.fresh('q');
        ctes.push(`${quote(sqlName)} AS (${inner.sql})`);
        cteEnv.set(cte.name, { sqlName, columns: inner.columns.map((c) => ({ ...c })) });
      }
    }
    const level = new Scope(outer);
    for (const w of q.withAliases) level.aliases.set(w.name, w.expr);
    const limit = this.limitClause(q, top);
    let body: { sql: string; columns: Column[] };
    if (q.body.kind === 'select') {
      body = this.select(q.body, level, cteEnv, q.orderBy, limit);
    } else {
      const set = this.setExpr(q.body, level, cteEnv);
      const scope = new Scope(level);
      scope.sources.push({ name: '', alias: '', columns: set.columns });
      body = { sql: set.sql + this.orderBy(q.orderBy, scope) + limit, columns: set.columns };
    }
    return { sql: (ctes.length > 0 ? `WITH ${ctes.join(', ')} ` : '') + body.sql, columns: body.columns };
  }

  private limitClause(q: Query, top: boolean): string {
    let limit = q.limit === undefined ? undefined : this.constInteger(q.limit, 'LIMIT');
    const offset = q.offset === undefined ? undefined : this.constInteger(q.offset, 'OFFSET');
    // One row more than allowed, so that exceeding the limit can be told apart from meeting it.
    if (top) limit = Math.min(limit ?? Infinity, this.options.maxRows + 1);
    let sql = '';
    if (limit !== undefined) sql += ` LIMIT ${limit}`;
    else if (offset !== undefined) sql += this.dialect === 'sqlite' ? ' LIMIT -1' : '';
    if (offset !== undefined) sql += ` OFFSET ${offset}`;
    return sql;
  }

  private constInteger(e: Expr, what: string): number {
    if (e.kind !== 'number' || !Number.isInteger(e.value) || e.value < 0) {
      throw invalidQuery(`${what} takes a whole number that is not negative`);
    }
    return e.value;
  }

  private setExpr(e: SetExpr, scope: Scope, env: CteEnv): { sql: string; columns: Column[] } {
    if (e.kind === 'select') return this.select(e, scope, env, [], '');
    if (e.kind === 'nested') {
      const inner = this.query(e.query, scope, env);
      const alias = this.fresh('s');
      return {
        sql: `SELECT ${inner.columns.map((c) => `${quote(alias)}.${quote(c.sql)} AS ${quote(c.sql)}`).join(', ')} FROM (${inner.sql}) AS ${quote(alias)}`,
        columns: inner.columns,
      };
    }
    const left = this.setExpr(e.left, scope, env);
    const right = this.setExpr(e.right, scope, env);
    if (left.columns.length !== right.columns.length) {
      throw invalidQuery(`both sides of ${e.op} must select the same number of columns`);
    }
    const op = e.op === 'UNION' ? (e.all ? 'UNION ALL' : 'UNION') : e.op;
    if (e.op !== 'UNION' && e.all && this.dialect === 'sqlite') throw invalidQuery(`${e.op} ALL is not supported`);
    // Output names come from the left side; the right side's columns are renamed to match.
    const rightSql = `SELECT ${right.columns.map((c, i) => `${quote('r')}.${quote(c.sql)} AS ${quote(left.columns[i].sql)}`).join(', ')} FROM (${right.sql}) AS ${quote('r')}`;
    return { sql: `${left.sql} ${op}${e.all && e.op !== 'UNION' ? ' ALL' : ''} ${rightSql}`, columns: left.columns };
  }

  private select(s: Select, parent: Scope, env: CteEnv, orderBy: OrderItem[], limit: string): { sql: string; columns: Column[] } {
    const scope = new Scope(parent);
    scope.env = env;
    const from = s.from ? this.from(s.from, scope, env) : undefined;
    for (const item of s.items) if (item.kind === 'item' && item.alias !== undefined) scope.aliases.set(item.alias, item.expr);

    const columns: Column[] = [];
    const parts: string[] = [];
    for (const item of s.items) {
      if (item.kind === 'star') {
        const sources = item.table === undefined ? scope.sources : scope.sources.filter((src) => src.name === item.table);
        if (item.table !== undefined && sources.length === 0) throw invalidQuery(`unknown table ${item.table} in ${item.table}.*`);
        if (sources.length === 0) throw invalidQuery('SELECT * needs a FROM clause');
        for (const src of sources) {
          for (const c of src.columns) {
            const name = this.fresh('c');
            parts.push(`${columnSql(src, c)} AS ${quote(name)}`);
            columns.push({ name: c.name, sql: name, type: c.type });
          }
        }
        continue;
      }
      scope.clause = 'select';
      if (item.alias !== undefined) scope.expanding.add(item.alias);
      const typed = this.expr(item.expr, scope);
      if (item.alias !== undefined) scope.expanding.delete(item.alias);
      const name = this.fresh('c');
      parts.push(`${typed.sql} AS ${quote(name)}`);
      const display = item.alias ?? (item.expr.kind === 'column' ? item.expr.name : item.text);
      columns.push({ name: display, sql: name, type: typed.type });
    }

    let sql = `SELECT ${s.distinct ? 'DISTINCT ' : ''}${parts.join(', ')}`;
    let where = '';
    if (s.where) {
      scope.clause = 'where';
      scope.conjuncts = new Set();
      const split = (e: Expr): void => {
        if (e.kind === 'binary' && e.op === 'AND') {
          split(e.left);
          split(e.right);
        } else scope.conjuncts!.add(e);
      };
      split(s.where);
      where = ` WHERE ${this.bool(s.where, scope)}`;
      scope.conjuncts = undefined;
    }
    scope.clause = 'other';
    const groupBy = s.groupBy.length > 0 ? ` GROUP BY ${s.groupBy.map((g) => this.expr(g, scope).sql).join(', ')}` : '';
    const having = s.having ? ` HAVING ${this.bool(s.having, scope)}` : '';
    const order = this.orderBy(orderBy, scope);
    if (from !== undefined) {
      const laterals = scope.laterals.length > 0 ? ` ${scope.laterals.join(' ')}` : '';
      sql += ` FROM ${from}${laterals}`;
    } else if (scope.laterals.length > 0) {
      throw invalidQuery('arrayJoin needs a FROM clause');
    }
    return { sql: sql + where + groupBy + having + order + limit, columns };
  }

  private orderBy(items: OrderItem[], scope: Scope): string {
    if (items.length === 0) return '';
    const parts = items.map((o) => {
      const e = this.expr(o.expr, scope).sql;
      const dir = o.desc ? ' DESC' : ' ASC';
      // Both backends agree on NULL placement only when it is spelled out; ClickHouse puts NULLs last.
      const nulls = ` NULLS ${o.nulls ?? 'LAST'}`;
      return e + dir + nulls;
    });
    return ` ORDER BY ${parts.join(', ')}`;
  }

  private from(item: FromItem, scope: Scope, env: CteEnv): string {
    switch (item.kind) {
      case 'table': {
        if (item.qualifier !== undefined) {
          throw new QueryError('invalid_table', `table ${item.qualifier}.${item.name} is not one of the analytics tables`);
        }
        const alias = this.fresh('t');
        const cte = env.get(item.name);
        if (cte) {
          scope.sources.push({ name: item.alias ?? item.name, alias, columns: cte.columns.map((c) => ({ ...c })) });
          return `${quote(cte.sqlName)} AS ${quote(alias)}`;
        }
        const spec = tableSpec(item.name);
        if (!spec) throw new QueryError('invalid_table', `table ${item.name} is not one of the analytics tables`);
        const used = new Set<string>();
        const base = this.baseTable(spec, used);
        scope.sources.push({
          name: item.alias ?? item.name,
          alias,
          columns: spec.columns.map((c) => ({ name: c.name, sql: c.name, type: c.type })),
          used,
          base: this.bases.length - 1,
        });
        return `(${base}) AS ${quote(alias)}`;
      }
      case 'subquery': {
        const inner = this.query(item.query, scope.parent, env);
        const alias = this.fresh('t');
        scope.sources.push({ name: item.alias ?? '', alias, columns: inner.columns.map((c) => ({ ...c })) });
        return `(${inner.sql}) AS ${quote(alias)}`;
      }
      case 'join': {
        const left = this.from(item.left, scope, env);
        const leftSources = scope.sources.length;
        const right = this.from(item.right, scope, env);
        if (item.type === 'CROSS') return `${left} CROSS JOIN ${right}`;
        if (item.type === 'RIGHT' && this.dialect === 'sqlite') throw invalidQuery('RIGHT JOIN is not supported; swap the sides and use LEFT JOIN');
        if (item.type === 'FULL' && this.dialect === 'sqlite') throw invalidQuery('FULL JOIN is not supported');
        let on: string;
        if (item.using) {
          const rightSources = scope.sources.slice(leftSources);
          const leftOnly = scope.sources.slice(0, leftSources);
          on = item.using
            .map((name) => `${this.find(leftOnly, name).sql} = ${this.find(rightSources, name).sql}`)
            .join(' AND ');
        } else {
          const saved = scope.clause;
          scope.clause = 'where';
          on = this.bool(item.on!, scope);
          scope.clause = saved;
        }
        return `${left} ${item.type} JOIN ${right} ON ${on}`;
      }
    }
  }

  private find(sources: Source[], name: string): Column {
    for (const src of sources) {
      const c = src.columns.find((col) => col.name === name);
      if (c) return { ...c, sql: columnSql(src, c) };
    }
    throw invalidQuery(`unknown column ${name} in USING`);
  }

  /**
   * The rows of one allowed table that the caller may read: the workspace (and keyspace) filter is part of
   * it. The columns are listed once the whole query is translated (see `finish`): only those it reads.
   */
  private baseTable(spec: TableSpec, used: Set<string>): string {
    const workspaceId = this.options.access.workspaceId;
    let where = `workspace_id = ${this.param(workspaceId)}`;
    // The key is a number this code computes, written as a literal: a parameter here is bound as text.
    if (spec.postgresWorkspaceKey && this.dialect === 'postgres') where = `workspace_key = ${workspaceKey(workspaceId)} AND ${where}`;
    const keySpaces = this.options.access.keySpaceIds;
    if (keySpaces !== undefined) {
      where += keySpaces.length === 0 ? ' AND 1 = 0' : ` AND key_space_id IN (${keySpaces.map((k) => this.param(k)).join(', ')})`;
    }
    // The keyspace is a dims column: a caller limited to some APIs always reads the joined view.
    const rows = keySpaces === undefined ? spec.rows : undefined;
    this.bases.push({ spec, used, rows });
    const index = this.bases.length - 1;
    const packs = spec.postgresPacks && this.dialect === 'postgres' ? `${PACK_MARK}${index}\u0000` : '';
    return `SELECT ${BASE_MARK}${index}\u0000 WHERE ${where}${TIME_MARK}${spec.granularity ?? 'raw'}\u0000${packs}`;
  }

  /** A base table's column list and table, now that the columns the query reads are known. */
  private expandBase(index: number): string {
    const { spec, used, rows } = this.bases[index];
    // A query reading no column (count() alone) still needs one for the subquery to be valid.
    const columns = spec.columns.filter((c) => used.has(c.name) || (used.size === 0 && c.name === 'time'));
    const list = columns.map((c) => (c.expr ? `${c.expr} AS ${c.name}` : c.name)).join(', ');
    const narrow = rows !== undefined && columns.every((c) => rows.columns.includes(c.name));
    // The view analytics_event_rows unpacks every array of a pack; unpacked here, a query reads only the
    // arrays of its columns (a count over 1M events spent most of its time on request ids it never read).
    if (narrow && spec.postgresPacks && this.dialect === 'postgres') {
      return `${list} FROM (${unpackSql(columns.map((c) => c.name))}) AS analytics_event_rows`;
    }
    return `${list} FROM ${narrow ? rows.physical : spec.physical}`;
  }

  /**
   * Completes the SQL: applies the default time window where needed, and renumbers parameters so that only
   * those the SQL uses are bound (constants such as format strings are read at translation time only).
   */
  finish(raw: string): { sql: string; params: unknown[] } {
    const sql = this.applyTimeWindow(raw)
      .replace(/\u0000pack:(\d+)\u0000/g, (_m, i: string) => this.packBounds(Number(i)))
      .replace(/\u0000base:(\d+)\u0000/g, (_m, i: string) => this.expandBase(Number(i)));
    const used = new Map<number, number>();
    const params: unknown[] = [];
    const pattern = this.dialect === 'postgres' ? /\$(\d+)/g : /@p(\d+)/g;
    const renumbered = sql.replace(pattern, (_m, n: string) => {
      let next = used.get(Number(n));
      if (next === undefined) {
        params.push(this.params[Number(n) - 1]);
        next = params.length;
        used.set(Number(n), next);
      }
      return this.dialect === 'postgres' ? `$${next}` : `@p${next}`;
    });
    return { sql: renumbered, params };
  }

  /**
   * The packs (see migration 0011) that can hold a base table's rows within its time bounds: those the
   * query's own conditions imply, else the default window. A pack is read whole, so the row conditions
   * still apply to its events; this only spares unpacking the packs none of whose events could be kept.
   */
  private packBounds(index: number): string {
    const base = this.bases[index];
    let low = base.low;
    if (!this.timeFiltered) low = Math.max(low ?? -Infinity, this.windowStart());
    let sql = '';
    if (low !== undefined && Number.isFinite(low)) sql += ` AND pack_last_time >= ${Math.floor(low)}`;
    if (base.high !== undefined && Number.isFinite(base.high)) sql += ` AND pack_first_time <= ${Math.ceil(base.high)}`;
    return sql;
  }

  /**
   * Notes a time bound of a packed base table from one of a WHERE's conjuncts: `time <op> constant` (either
   * way round), where `time` is that table's column at this level. Whatever else the query does, a row it
   * keeps satisfies the condition, so its table's rows outside the bound can go unread.
   */
  private noteTimeBound(op: string, l: Expr, r: Expr, left: Typed, right: Typed, scope: Scope): void {
    let base = this.packedTime(l, scope);
    let value = right.value;
    if (base === undefined) {
      base = this.packedTime(r, scope);
      value = left.value;
      op = FLIPPED[op];
    }
    if (base === undefined || typeof value !== 'number' || !Number.isFinite(value)) return;
    if (op === '>' || op === '>=' || op === '=') base.low = Math.max(base.low ?? -Infinity, value);
    if (op === '<' || op === '<=' || op === '=') base.high = Math.min(base.high ?? Infinity, value);
  }

  /** The packed base table whose `time` column `e` is, read at this level (not an alias, not an outer level). */
  private packedTime(e: Expr, scope: Scope): Base | undefined {
    if (e.kind !== 'column' || e.name !== 'time' || this.dialect !== 'postgres') return undefined;
    if (e.table === undefined && (scope.aliases.has('time') || scope.lambdas.has('time'))) return undefined;
    const sources = scope.sources.filter((src) => (e.table === undefined || src.name === e.table) && src.columns.some((c) => c.name === 'time'));
    if (sources.length !== 1 || sources[0].base === undefined) return undefined;
    const base = this.bases[sources[0].base];
    return base.spec.postgresPacks ? base : undefined;
  }

  /** Where the default window starts, in unix ms. */
  private windowStart(): number {
    return this.options.now - this.options.defaultWindowDays * 86_400_000;
  }

  /** Without a time condition anywhere, every table reads only the default window. */
  private applyTimeWindow(sql: string): string {
    return sql.replace(/\u0000time:(raw|minute|hour|day|month)\u0000/g, (_m, g: string) => {
      if (this.timeFiltered) return '';
      const since = this.windowStart();
      return ` AND time >= ${g === 'raw' ? since : bucketStart(g as 'minute', since)}`;
    });
  }

  // ---- expressions

  bool(e: Expr, scope: Scope): string {
    const typed = this.expr(e, scope);
    if (this.dialect === 'postgres' && typed.type !== 'bool' && typed.type !== 'null' && typed.type !== 'unknown') {
      return `(${typed.sql}) <> 0`;
    }
    return typed.sql;
  }

  expr(e: Expr, scope: Scope): Typed {
    switch (e.kind) {
      case 'number':
        return { sql: numberSql(e.value), type: Number.isInteger(e.value) ? 'int' : 'float', value: e.value };
      case 'string':
        return { sql: this.param(e.value), type: 'string', value: e.value };
      case 'null':
        return { sql: 'NULL', type: 'null' };
      case 'bool':
        return this.dialect === 'postgres' ? { sql: e.value ? 'TRUE' : 'FALSE', type: 'bool' } : { sql: e.value ? '1' : '0', type: 'bool' };
      case 'star':
        throw invalidQuery('* is only accepted in count(*) and SELECT *');
      case 'column':
        return this.column(e.name, e.table, scope);
      case 'call':
        return translateCall(this, e, scope);
      case 'lambda':
        throw invalidQuery('a lambda is only accepted as the first argument of arrayFilter');
      case 'unary': {
        if (e.op === 'NOT') return { sql: `(NOT ${this.bool(e.expr, scope)})`, type: 'bool' };
        const inner = this.expr(e.expr, scope);
        if (typeof inner.value === 'number') return { sql: numberSql(-inner.value), type: inner.type, value: -inner.value };
        return { sql: `(- ${inner.sql})`, type: inner.type };
      }
      case 'binary':
        return this.binary(e.op, e.left, e.right, scope, e);
      case 'in': {
        const left = this.expr(e.expr, scope);
        const not = e.not ? 'NOT ' : '';
        if (e.query) {
          const inner = this.query(e.query, scope, scope.ctes());
          if (inner.columns.length !== 1) throw invalidQuery('a subquery after IN must select one column');
          return { sql: `(${left.sql} ${not}IN (${inner.sql}))`, type: 'bool' };
        }
        const items = e.list!.map((x) => this.coerce(this.expr(x, scope), left.type).sql);
        return { sql: `(${left.sql} ${not}IN (${items.join(', ')}))`, type: 'bool' };
      }
      case 'between': {
        const v = this.expr(e.expr, scope);
        const low = this.coerce(this.expr(e.low, scope), v.type);
        const high = this.coerce(this.expr(e.high, scope), v.type);
        if (!e.not && scope.conjuncts?.has(e)) {
          this.noteTimeBound('>=', e.expr, e.low, v, low, scope);
          this.noteTimeBound('<=', e.expr, e.high, v, high, scope);
        }
        return { sql: `(${v.sql} ${e.not ? 'NOT ' : ''}BETWEEN ${low.sql} AND ${high.sql})`, type: 'bool' };
      }
      case 'isnull':
        return { sql: `(${this.expr(e.expr, scope).sql} IS ${e.not ? 'NOT ' : ''}NULL)`, type: 'bool' };
      case 'case': {
        const operand = e.operand ? this.expr(e.operand, scope) : undefined;
        let type: SqlType = 'unknown';
        const whens = e.whens.map((w) => {
          const cond = operand ? this.coerce(this.expr(w.when, scope), operand.type).sql : this.bool(w.when, scope);
          const then = this.expr(w.then, scope);
          if (type === 'unknown' || type === 'null') type = then.type;
          return `WHEN ${cond} THEN ${then.sql}`;
        });
        const otherwise = e.else ? ` ELSE ${this.expr(e.else, scope).sql}` : '';
        return { sql: `(CASE${operand ? ` ${operand.sql}` : ''} ${whens.join(' ')}${otherwise} END)`, type };
      }
      case 'interval': {
        const n = this.expr(e.value, scope);
        if (typeof n.value !== 'number' || !Number.isInteger(n.value)) throw invalidQuery('an INTERVAL needs a whole number');
        return intervalOf(n.value, e.unit);
      }
      case 'subquery': {
        const inner = this.query(e.query, scope, scope.ctes());
        if (inner.columns.length !== 1) throw invalidQuery('a scalar subquery must select one column');
        return { sql: `(${inner.sql})`, type: inner.columns[0].type };
      }
      case 'exists':
        return { sql: `(EXISTS (${this.query(e.query, scope, scope.ctes()).sql}))`, type: 'bool' };
      case 'array': {
        const items = e.items.map((x) => this.expr(x, scope));
        if (this.dialect === 'sqlite') return { sql: `json_array(${items.map((i) => i.sql).join(', ')})`, type: 'array' };
        if (items.length === 0) return { sql: 'CAST(ARRAY[] AS TEXT[])', type: 'array' };
        return { sql: `ARRAY[${items.map((i) => i.sql).join(', ')}]`, type: 'array' };
      }
    }
  }

  private column(name: string, table: string | undefined, scope: Scope): Typed {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (table === undefined) {
        const lambda = s.lambdas.get(name);
        if (lambda) return lambda;
        const alias = s.aliases.get(name);
        if (alias && !s.expanding.has(name)) {
          s.expanding.add(name);
          try {
            return this.expr(alias, scope);
          } finally {
            s.expanding.delete(name);
          }
        }
      }
      const matches: { src: Source; col: Column }[] = [];
      for (const src of s.sources) {
        if (table !== undefined && src.name !== table) continue;
        const col = src.columns.find((c) => c.name === name);
        if (col) matches.push({ src, col });
      }
      if (matches.length > 1 && table === undefined) throw invalidQuery(`column ${name} is ambiguous; qualify it with a table name`);
      if (matches.length > 0) {
        const { src, col } = matches[0];
        if (name === 'time' && scope.clause === 'where') this.timeFiltered = true;
        return { sql: columnSql(src, col), type: col.type };
      }
      if (table !== undefined && s.sources.some((src) => src.name === table)) break;
    }
    throw invalidQuery(`unknown column ${table !== undefined ? `${table}.` : ''}${name}`);
  }

  private binary(op: string, l: Expr, r: Expr, scope: Scope, node?: Expr): Typed {
    if (op === 'AND' || op === 'OR') return { sql: `(${this.bool(l, scope)} ${op} ${this.bool(r, scope)})`, type: 'bool' };
    let left = this.expr(l, scope);
    let right = this.expr(r, scope);
    if (op === '+' || op === '-') return this.arithmetic(op, left, right);
    if (op === '*' || op === '%') {
      if (typeof left.value === 'number' && typeof right.value === 'number' && op === '*') {
        return { sql: numberSql(left.value * right.value), type: numeric(left, right), value: left.value * right.value };
      }
      return { sql: `(${left.sql} ${op} ${right.sql})`, type: op === '%' ? 'int' : numeric(left, right) };
    }
    if (op === '/') {
      const real = this.dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
      return { sql: `(CAST(${left.sql} AS ${real}) / NULLIF(${right.sql}, 0))`, type: 'float' };
    }
    if (op === '||') return { sql: `(${this.text(left)} || ${this.text(right)})`, type: 'string' };
    if (op === 'LIKE' || op === 'NOT LIKE') return { sql: `(${left.sql} ${op} ${right.sql})`, type: 'bool' };
    if (op === 'ILIKE' || op === 'NOT ILIKE') {
      const not = op.startsWith('NOT') ? 'NOT ' : '';
      return { sql: `(lower(${left.sql}) ${not}LIKE lower(${right.sql}))`, type: 'bool' };
    }
    // Comparisons: a date written as text compares with a time column as the instant it names.
    right = this.coerce(right, left.type);
    left = this.coerce(left, right.type);
    if (node !== undefined && op in FLIPPED && scope.conjuncts?.has(node)) this.noteTimeBound(op, l, r, left, right, scope);
    return { sql: `(${left.sql} ${op === '!=' ? '<>' : op} ${right.sql})`, type: 'bool' };
  }

  private arithmetic(op: '+' | '-', left: Typed, right: Typed): Typed {
    if (left.interval && right.interval) throw invalidQuery('two intervals cannot be added');
    if (right.interval || left.interval) {
      const [base, interval, sign] = right.interval ? [left, right.interval, op === '-' ? -1 : 1] : [right, left.interval!, 1];
      if (op === '-' && left.interval) throw invalidQuery('an interval cannot have a time subtracted from it');
      const type: SqlType = base.type === 'date' && 'ms' in interval && interval.ms % 86_400_000 !== 0 ? 'datetime' : base.type === 'date' ? 'date' : 'datetime';
      if ('ms' in interval) {
        const delta = sign * interval.ms;
        if (typeof base.value === 'number') return { sql: numberSql(base.value + delta), type, value: base.value + delta };
        return { sql: `(${base.sql} + ${numberSql(delta)})`, type };
      }
      const months = sign * interval.months;
      if (typeof base.value === 'number') {
        const v = addMonths(base.value, months);
        return { sql: numberSql(v), type, value: v };
      }
      return { sql: this.addMonthsSql(base.sql, months), type };
    }
    if (typeof left.value === 'number' && typeof right.value === 'number') {
      const v = op === '+' ? left.value + right.value : left.value - right.value;
      const type = left.type === 'datetime' || left.type === 'date' ? (op === '-' && (right.type === 'datetime' || right.type === 'date') ? 'int' : left.type) : numeric(left, right);
      return { sql: numberSql(v), type, value: v };
    }
    const timeLike = left.type === 'datetime' || left.type === 'date';
    const type: SqlType = timeLike && !(right.type === 'datetime' || right.type === 'date') ? left.type : timeLike ? 'int' : numeric(left, right);
    return { sql: `(${left.sql} ${op} ${right.sql})`, type };
  }

  private addMonthsSql(sql: string, months: number): string {
    const sign = months < 0 ? '-' : '+';
    const n = Math.abs(months);
    if (this.dialect === 'sqlite') {
      return `(CAST(strftime('%s', (${sql}) / 1000, 'unixepoch', '${sign}${n} months') AS INTEGER) * 1000 + (${sql}) % 1000)`;
    }
    return `(CAST(EXTRACT(EPOCH FROM (to_timestamp((${sql}) / 1000.0) AT TIME ZONE 'UTC') ${sign} INTERVAL '${n} months') * 1000 AS BIGINT))`;
  }

  /** Turns a text constant into a time when it is compared with a time. */
  coerce(e: Typed, against: SqlType): Typed {
    if ((against === 'datetime' || against === 'date') && e.type === 'string' && typeof e.value === 'string') {
      const ms = parseDateTime(e.value);
      if (ms === undefined) throw invalidQuery(`'${e.value}' is not a date or time`);
      return { sql: numberSql(ms), type: against, value: ms };
    }
    return e;
  }

  /** The expression as text: times are formatted the way they are shown in results. */
  text(e: Typed): string {
    if (e.type === 'datetime' || e.type === 'date') return this.formatTime(e, e.type === 'date' ? '%Y-%m-%d' : '%Y-%m-%d %H:%M:%S');
    if (e.type === 'string') return e.sql;
    return `CAST(${e.sql} AS TEXT)`;
  }

  /** Formats a time with strftime-style specifiers (%Y %m %d %H %M %S). */
  formatTime(e: Typed, format: string): string {
    if (this.dialect === 'sqlite') return `strftime(${this.param(format)}, (${e.sql}) / 1000, 'unixepoch')`;
    return `to_char(to_timestamp((${e.sql}) / 1000.0) AT TIME ZONE 'UTC', ${this.param(toCharFormat(format))})`;
  }

  startOf(unit: 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year', e: Typed): Typed {
    const type: SqlType = unit === 'minute' || unit === 'hour' ? 'datetime' : 'date';
    if (typeof e.value === 'number') {
      const v = startOf(unit, e.value);
      return { sql: numberSql(v), type, value: v };
    }
    const x = `(${e.sql})`;
    switch (unit) {
      case 'minute':
      case 'hour':
      case 'day': {
        const size = unit === 'minute' ? 60_000 : unit === 'hour' ? 3_600_000 : 86_400_000;
        return { sql: `(${x} - ${x} % ${size})`, type };
      }
      case 'week':
        // Weeks start on Sunday; 1970-01-01 was a Thursday.
        return { sql: `((${x} / 86400000 - (${x} / 86400000 + 4) % 7) * 86400000)`, type };
      case 'month':
      case 'year':
        if (this.dialect === 'sqlite') {
          return { sql: `(CAST(strftime('%s', ${x} / 1000, 'unixepoch', 'start of ${unit}') AS INTEGER) * 1000)`, type };
        }
        return { sql: `(CAST(EXTRACT(EPOCH FROM date_trunc('${unit}', to_timestamp(${x} / 1000.0) AT TIME ZONE 'UTC')) AS BIGINT) * 1000)`, type };
    }
  }

  window(spec: WindowSpec, scope: Scope): string {
    const parts: string[] = [];
    if (spec.partitionBy.length > 0) parts.push(`PARTITION BY ${spec.partitionBy.map((p) => this.expr(p, scope).sql).join(', ')}`);
    const order = this.orderBy(spec.orderBy, scope).trim();
    if (order) parts.push(order);
    if (spec.frame) {
      const bound = (b: NonNullable<WindowSpec['frame']>['start']) =>
        b.kind === 'current' ? 'CURRENT ROW' : b.kind === 'unbounded' ? `UNBOUNDED ${b.direction}` : `${b.rows} ${b.direction}`;
      parts.push(
        spec.frame.end
          ? `${spec.frame.unit} BETWEEN ${bound(spec.frame.start)} AND ${bound(spec.frame.end)}`
          : `${spec.frame.unit} ${bound(spec.frame.start)}`,
      );
    }
    return ` OVER (${parts.join(' ')})`;
  }
}

export function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function columnSql(src: Source, c: Column): string {
  src.used?.add(c.name);
  return src.alias ? `${quote(src.alias)}.${quote(c.sql)}` : quote(c.sql);
}

export function numberSql(v: number): string {
  if (!Number.isFinite(v)) throw invalidQuery('number out of range');
  return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? BigInt(v).toString() : String(v);
}

function numeric(a: Typed, b: Typed): SqlType {
  return a.type === 'float' || b.type === 'float' ? 'float' : 'int';
}

const UNIT_MS: Record<string, number> = { SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000, WEEK: 604_800_000 };

export function intervalOf(n: number, unit: string): Typed {
  const u = unit.toUpperCase();
  if (u in UNIT_MS) return { sql: numberSql(n * UNIT_MS[u]), type: 'interval', interval: { ms: n * UNIT_MS[u] } };
  const months = u === 'MONTH' ? n : u === 'QUARTER' ? 3 * n : u === 'YEAR' ? 12 * n : undefined;
  if (months === undefined) throw invalidQuery(`unknown interval unit ${unit}`);
  return { sql: '0', type: 'interval', interval: { months } };
}

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(target.getUTCFullYear(), target.getUTCMonth(), Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

function toCharFormat(format: string): string {
  const map: Record<string, string> = { Y: 'YYYY', m: 'MM', d: 'DD', H: 'HH24', M: 'MI', S: 'SS' };
  let out = '';
  let literal = '';
  const flush = () => {
    if (literal) out += `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    if (format[i] === '%' && map[format[i + 1]]) {
      flush();
      out += map[format[i + 1]];
      i++;
    } else if (format[i] === '%' && format[i + 1] === '%') {
      literal += '%';
      i++;
    } else literal += format[i];
  }
  flush();
  return out;
}

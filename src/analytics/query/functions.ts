import type { Expr } from './ast.ts';
import { QueryError, invalidQuery } from './errors.ts';
import { parseDateTime, type TimeUnit } from './time.ts';
import { intervalOf, numberSql, quote, type Scope, type Translator, type Typed } from './translate.ts';
import type { SqlType } from './tables.ts';

type Call = Extract<Expr, { kind: 'call' }>;
type Handler = (t: Translator, call: Call, scope: Scope) => Typed;

/** Translates a call of an allow-listed function; any other name is refused. */
export function translateCall(t: Translator, call: Call, scope: Scope): Typed {
  const name = call.name.toLowerCase();
  const handler = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (!handler) throw new QueryError('invalid_function', `function ${call.name} is not allowed in analytics queries`);
  if (call.over && !AGGREGATES.has(name)) throw invalidQuery(`${call.name} cannot be used as a window function`);
  if (call.params && name !== 'quantile') throw invalidQuery(`${call.name} takes no parameters`);
  if (call.distinct && !DISTINCT_OK.has(name)) throw invalidQuery(`${call.name} does not take DISTINCT`);
  return handler(t, call, scope);
}

const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'any', 'grouparray', 'groupuniqarray', 'uniq', 'uniqexact', 'quantile', 'countif', 'sumif']);
const DISTINCT_OK = new Set(['count', 'sum', 'avg', 'min', 'max', 'grouparray']);

function arity(call: Call, min: number, max = min): void {
  if (call.args.length < min || call.args.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw invalidQuery(`${call.name} takes ${want} argument${max === 1 ? '' : 's'}, got ${call.args.length}`);
  }
}

function args(t: Translator, call: Call, scope: Scope, min: number, max = min): Typed[] {
  arity(call, min, max);
  return call.args.map((a) => t.expr(a, scope));
}

function over(t: Translator, call: Call, scope: Scope): string {
  return call.over ? t.window(call.over, scope) : '';
}

function distinct(call: Call): string {
  return call.distinct ? 'DISTINCT ' : '';
}

/** Sums are 0, never NULL, over no rows, as in ClickHouse. */
function aggregate(fn: string, type: (arg: Typed) => SqlType, zero = false): Handler {
  return (t, call, scope) => {
    const [a] = args(t, call, scope, 1);
    const sql = `${fn}(${distinct(call)}${a.sql})${over(t, call, scope)}`;
    return { sql: zero ? `COALESCE(${sql}, 0)` : sql, type: type(a) };
  };
}

function stringConst(t: Translator, e: Expr, scope: Scope, what: string): string {
  const v = t.expr(e, scope);
  if (typeof v.value !== 'string') throw invalidQuery(`${what} must be a text constant`);
  return v.value;
}

/** A time argument: text constants are read as UTC dates and times. */
function time(e: Typed): Typed {
  if (e.type === 'string' && typeof e.value === 'string') {
    const ms = parseDateTime(e.value);
    if (ms === undefined) throw invalidQuery(`'${e.value}' is not a date or time`);
    return { sql: numberSql(ms), type: 'datetime', value: ms };
  }
  return e;
}

function startOfHandler(unit: TimeUnit): Handler {
  return (t, call, scope) => {
    const [x] = args(t, call, scope, 1);
    return t.startOf(unit, time(x));
  };
}

function interval(unit: string): Handler {
  return (t, call, scope) => {
    const [n] = args(t, call, scope, 1);
    if (typeof n.value !== 'number' || !Number.isInteger(n.value)) throw invalidQuery(`${call.name} needs a whole number`);
    return intervalOf(n.value, unit);
  };
}

/** Converts an array or text: SQLite keeps arrays as JSON text, PostgreSQL as text[]. */
function arrayElements(t: Translator, arr: Typed, alias: string): { from: string; value: string } {
  if (arr.type !== 'array' && arr.type !== 'unknown') throw invalidQuery('expected an array');
  if (t.dialect === 'sqlite') return { from: `json_each(${arr.sql}) AS ${quote(alias)}`, value: `${quote(alias)}.value` };
  return { from: `unnest(${arr.sql}) AS ${quote(alias)}(${quote('v')})`, value: `${quote(alias)}.${quote('v')}` };
}

function arrayArg(t: Translator, call: Call, scope: Scope, index: number): Typed {
  const a = t.expr(call.args[index], scope);
  if (a.type !== 'array' && a.type !== 'unknown') throw invalidQuery(`argument ${index + 1} of ${call.name} must be an array`);
  return a;
}

const FORMAT_SPECIFIERS: Record<string, string> = { Y: '%Y', m: '%m', d: '%d', H: '%H', i: '%M', M: '%M', S: '%S', s: '%S', F: '%Y-%m-%d', T: '%H:%M:%S', D: '%m/%d/%y', '%': '%%' };

const FUNCTIONS: Record<string, Handler> = {
  // aggregates
  count: (t, call, scope) => {
    arity(call, 0, 1);
    const a = call.args[0];
    const inner = a === undefined || a.kind === 'star' ? '*' : `${distinct(call)}${t.expr(a, scope).sql}`;
    return { sql: `COUNT(${inner})${over(t, call, scope)}`, type: 'int' };
  },
  sum: aggregate('SUM', (a) => (a.type === 'float' ? 'float' : 'int'), true),
  avg: aggregate('AVG', () => 'float'),
  min: aggregate('MIN', (a) => a.type),
  max: aggregate('MAX', (a) => a.type),
  any: aggregate('MIN', (a) => a.type),
  uniq: (t, call, scope) => {
    const [a] = args(t, call, scope, 1);
    return { sql: `COUNT(DISTINCT ${a.sql})${over(t, call, scope)}`, type: 'int' };
  },
  uniqexact: (t, call, scope) => FUNCTIONS.uniq(t, call, scope),
  grouparray: (t, call, scope) => {
    const [a] = args(t, call, scope, 1);
    const fn = t.dialect === 'sqlite' ? 'json_group_array' : 'array_agg';
    return { sql: `${fn}(${distinct(call)}${a.sql})${over(t, call, scope)}`, type: 'array' };
  },
  groupuniqarray: (t, call, scope) => {
    const [a] = args(t, call, scope, 1);
    const fn = t.dialect === 'sqlite' ? 'json_group_array' : 'array_agg';
    return { sql: `${fn}(DISTINCT ${a.sql})${over(t, call, scope)}`, type: 'array' };
  },
  quantile: (t, call, scope) => {
    const levelExpr = call.params?.[0] ?? { kind: 'number', value: 0.5 };
    if (call.params && call.params.length > 1) throw invalidQuery('quantile takes one level');
    const level = t.expr(levelExpr, scope);
    if (typeof level.value !== 'number' || level.value < 0 || level.value > 1) throw invalidQuery('quantile level must be a number from 0 to 1');
    const [x] = args(t, call, scope, 1);
    if (call.over) throw invalidQuery('quantile cannot be used as a window function');
    if (t.dialect === 'sqlite') return { sql: `lk_quantile(${x.sql}, ${numberSql(level.value)})`, type: 'float' };
    return { sql: `percentile_cont(${numberSql(level.value)}) WITHIN GROUP (ORDER BY ${x.sql})`, type: 'float' };
  },
  countif: (t, call, scope) => {
    arity(call, 1);
    return { sql: `COUNT(CASE WHEN ${t.bool(call.args[0], scope)} THEN 1 END)${over(t, call, scope)}`, type: 'int' };
  },
  sumif: (t, call, scope) => {
    arity(call, 2);
    const x = t.expr(call.args[0], scope);
    const cond = t.bool(call.args[1], scope);
    return { sql: `COALESCE(SUM(CASE WHEN ${cond} THEN ${x.sql} ELSE 0 END)${over(t, call, scope)}, 0)`, type: x.type === 'float' ? 'float' : 'int' };
  },

  // date and time
  now: (t, call) => {
    arity(call, 0, 1);
    return { sql: numberSql(t.options.now), type: 'datetime', value: t.options.now };
  },
  now64: (t, call) => {
    arity(call, 0, 1);
    return { sql: numberSql(t.options.now), type: 'datetime', value: t.options.now };
  },
  today: (t, call) => {
    arity(call, 0);
    return t.startOf('day', { sql: '', type: 'datetime', value: t.options.now });
  },
  todate: (t, call, scope) => {
    const [x] = args(t, call, scope, 1);
    return t.startOf('day', time(x));
  },
  todatetime: (t, call, scope) => {
    const [x] = args(t, call, scope, 1, 2);
    return toDateTime(x);
  },
  todatetime64: (t, call, scope) => {
    const [x] = args(t, call, scope, 1, 3);
    return toDateTime(x);
  },
  tostartofminute: startOfHandler('minute'),
  tostartofhour: startOfHandler('hour'),
  tostartofday: startOfHandler('day'),
  tostartofweek: startOfHandler('week'),
  tostartofmonth: startOfHandler('month'),
  tostartofyear: startOfHandler('year'),
  date_trunc: (t, call, scope) => {
    arity(call, 2, 3);
    const unit = stringConst(t, call.args[0], scope, 'the unit of date_trunc').toLowerCase();
    if (!['minute', 'hour', 'day', 'week', 'month', 'year'].includes(unit)) throw invalidQuery(`date_trunc does not know the unit '${unit}'`);
    return t.startOf(unit as TimeUnit, time(t.expr(call.args[1], scope)));
  },
  formatdatetime: (t, call, scope) => {
    arity(call, 2, 3);
    const x = time(t.expr(call.args[0], scope));
    const format = stringConst(t, call.args[1], scope, 'the format of formatDateTime');
    let converted = '';
    for (let i = 0; i < format.length; i++) {
      if (format[i] !== '%') {
        converted += format[i];
        continue;
      }
      const spec = FORMAT_SPECIFIERS[format[i + 1]];
      if (!spec) throw invalidQuery(`formatDateTime does not support %${format[i + 1] ?? ''}`);
      converted += spec;
      i++;
    }
    return { sql: t.formatTime(x, converted), type: 'string' };
  },
  fromunixtimestamp64milli: (t, call, scope) => {
    const [x] = args(t, call, scope, 1, 2);
    return { ...x, type: 'datetime' };
  },
  tounixtimestamp64milli: (t, call, scope) => {
    const [x] = args(t, call, scope, 1);
    return { ...time(x), type: 'int' };
  },
  tointervalday: interval('DAY'),
  tointervalweek: interval('WEEK'),
  tointervalmonth: interval('MONTH'),
  tointervalyear: interval('YEAR'),
  tointervalhour: interval('HOUR'),
  tointervalminute: interval('MINUTE'),
  tointervalsecond: interval('SECOND'),

  // strings
  lower: (t, call, scope) => ({ sql: `lower(${args(t, call, scope, 1)[0].sql})`, type: 'string' }),
  upper: (t, call, scope) => ({ sql: `upper(${args(t, call, scope, 1)[0].sql})`, type: 'string' }),
  trim: (t, call, scope) => ({ sql: `trim(${args(t, call, scope, 1)[0].sql})`, type: 'string' }),
  substring: (t, call, scope) => {
    const a = args(t, call, scope, 2, 3);
    return { sql: `substr(${a.map((x) => x.sql).join(', ')})`, type: 'string' };
  },
  concat: (t, call, scope) => {
    const a = args(t, call, scope, 1, 64);
    return { sql: `(${a.map((x) => t.text(x)).join(' || ')})`, type: 'string' };
  },
  length: (t, call, scope) => {
    const [x] = args(t, call, scope, 1);
    if (x.type === 'array') return { sql: t.dialect === 'sqlite' ? `json_array_length(${x.sql})` : `cardinality(${x.sql})`, type: 'int' };
    return { sql: `length(${x.sql})`, type: 'int' };
  },
  startswith: (t, call, scope) => {
    const [s, p] = args(t, call, scope, 2);
    return { sql: `(substr(${s.sql}, 1, length(${p.sql})) = ${p.sql})`, type: 'bool' };
  },
  endswith: (t, call, scope) => {
    const [s, p] = args(t, call, scope, 2);
    const tail = t.dialect === 'sqlite' ? `substr(${s.sql}, length(${s.sql}) - length(${p.sql}) + 1)` : `right(${s.sql}, length(${p.sql}))`;
    return { sql: `(length(${p.sql}) = 0 OR ${tail} = ${p.sql})`, type: 'bool' };
  },

  // JSON
  jsonextractstring: (t, call, scope) => {
    arity(call, 2, 16);
    const json = t.expr(call.args[0], scope);
    const keys = call.args.slice(1).map((k) => stringConst(t, k, scope, 'a JSONExtractString key'));
    if (t.dialect === 'sqlite') {
      const path = '$' + keys.map((k) => `."${k.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join('');
      return { sql: `COALESCE(CASE WHEN json_valid(${json.sql}) THEN json_extract(${json.sql}, ${t.param(path)}) END, '')`, type: 'string' };
    }
    const pathSql = `ARRAY[${keys.map((k) => t.param(k)).join(', ')}]`;
    return { sql: `COALESCE(CAST(${json.sql} AS JSONB) #>> ${pathSql}, '')`, type: 'string' };
  },

  // math
  round: (t, call, scope) => {
    const [x, n] = args(t, call, scope, 1, 2);
    const digits = n ? n.sql : '0';
    if (t.dialect === 'sqlite') return { sql: `round(${x.sql}, ${digits})`, type: 'float' };
    return { sql: `CAST(round(CAST(${x.sql} AS NUMERIC), ${digits}) AS DOUBLE PRECISION)`, type: 'float' };
  },
  floor: (t, call, scope) => ({ sql: `floor(${args(t, call, scope, 1)[0].sql})`, type: 'float' }),
  ceil: (t, call, scope) => ({ sql: `ceil(${args(t, call, scope, 1)[0].sql})`, type: 'float' }),
  abs: (t, call, scope) => {
    const [x] = args(t, call, scope, 1);
    return { sql: `abs(${x.sql})`, type: x.type };
  },

  // conditionals
  if: (t, call, scope) => {
    arity(call, 3);
    const cond = t.bool(call.args[0], scope);
    const a = t.expr(call.args[1], scope);
    const b = t.expr(call.args[2], scope);
    return { sql: `(CASE WHEN ${cond} THEN ${a.sql} ELSE ${b.sql} END)`, type: a.type === 'null' ? b.type : a.type };
  },
  case: () => {
    throw invalidQuery('write CASE WHEN ... THEN ... END');
  },
  coalesce: (t, call, scope) => {
    const a = args(t, call, scope, 1, 64);
    return { sql: `COALESCE(${a.map((x) => x.sql).join(', ')})`, type: a.find((x) => x.type !== 'null')?.type ?? 'null' };
  },

  // conversions
  tostring: (t, call, scope) => {
    const [x] = args(t, call, scope, 1);
    return { sql: t.text(x), type: 'string' };
  },
  toint32: (t, call, scope) => ({ sql: `CAST(${args(t, call, scope, 1)[0].sql} AS ${t.dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'})`, type: 'int' }),
  toint64: (t, call, scope) => ({ sql: `CAST(${args(t, call, scope, 1)[0].sql} AS ${t.dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'})`, type: 'int' }),
  tofloat64: (t, call, scope) => ({ sql: `CAST(${args(t, call, scope, 1)[0].sql} AS ${t.dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION'})`, type: 'float' }),

  // arrays
  has: (t, call, scope) => {
    arity(call, 2);
    const arr = arrayArg(t, call, scope, 0);
    const x = t.expr(call.args[1], scope);
    if (t.dialect === 'postgres') return { sql: `(${x.sql} = ANY(${arr.sql}))`, type: 'bool' };
    const el = arrayElements(t, arr, t.fresh('e'));
    return { sql: `(EXISTS (SELECT 1 FROM ${el.from} WHERE ${el.value} = ${x.sql}))`, type: 'bool' };
  },
  hasany: (t, call, scope) => {
    arity(call, 2);
    const arr = arrayArg(t, call, scope, 0);
    const wanted = arrayArg(t, call, scope, 1);
    if (t.dialect === 'postgres') return { sql: `(${arr.sql} && ${wanted.sql})`, type: 'bool' };
    const a = arrayElements(t, arr, t.fresh('e'));
    const b = arrayElements(t, wanted, t.fresh('e'));
    return { sql: `(EXISTS (SELECT 1 FROM ${a.from} WHERE ${a.value} IN (SELECT ${b.value} FROM ${b.from})))`, type: 'bool' };
  },
  hasall: (t, call, scope) => {
    arity(call, 2);
    const arr = arrayArg(t, call, scope, 0);
    const wanted = arrayArg(t, call, scope, 1);
    if (t.dialect === 'postgres') return { sql: `(${arr.sql} @> ${wanted.sql})`, type: 'bool' };
    const a = arrayElements(t, arr, t.fresh('e'));
    const b = arrayElements(t, wanted, t.fresh('e'));
    return { sql: `(NOT EXISTS (SELECT 1 FROM ${b.from} WHERE ${b.value} NOT IN (SELECT ${a.value} FROM ${a.from})))`, type: 'bool' };
  },
  arrayjoin: (t, call, scope) => {
    arity(call, 1);
    const arr = arrayArg(t, call, scope, 0);
    const known = scope.arrayJoins.get(arr.sql);
    if (known) return { sql: known, type: 'string' };
    const el = arrayElements(t, arr, t.fresh('aj'));
    scope.laterals.push(t.dialect === 'sqlite' ? `CROSS JOIN ${el.from}` : `CROSS JOIN LATERAL ${el.from}`);
    scope.arrayJoins.set(arr.sql, el.value);
    return { sql: el.value, type: 'string' };
  },
  arrayfilter: (t, call, scope) => {
    arity(call, 2);
    const fn = call.args[0];
    if (fn.kind !== 'lambda' || fn.params.length !== 1) throw invalidQuery('arrayFilter takes a lambda of one parameter, such as x -> x != \'\'');
    const arr = arrayArg(t, call, scope, 1);
    const el = arrayElements(t, arr, t.fresh('af'));
    const saved = scope.lambdas.get(fn.params[0]);
    scope.lambdas.set(fn.params[0], { sql: el.value, type: 'string' });
    let cond: string;
    try {
      cond = t.bool(fn.body, scope);
    } finally {
      if (saved) scope.lambdas.set(fn.params[0], saved);
      else scope.lambdas.delete(fn.params[0]);
    }
    if (t.dialect === 'sqlite') return { sql: `(SELECT json_group_array(${el.value}) FROM ${el.from} WHERE ${cond})`, type: 'array' };
    return { sql: `ARRAY(SELECT ${el.value} FROM ${el.from} WHERE ${cond})`, type: 'array' };
  },
};

function toDateTime(x: Typed): Typed {
  if (x.type === 'string' && typeof x.value === 'string') {
    const ms = parseDateTime(x.value);
    if (ms === undefined) throw invalidQuery(`'${x.value}' is not a date or time`);
    return { sql: numberSql(ms), type: 'datetime', value: ms };
  }
  // A number given to toDateTime counts seconds.
  if (x.type === 'int' || x.type === 'float') {
    if (typeof x.value === 'number') return { sql: numberSql(x.value * 1000), type: 'datetime', value: x.value * 1000 };
    return { sql: `(${x.sql} * 1000)`, type: 'datetime' };
  }
  return { ...x, type: 'datetime' };
}

import type { Cte, Expr, FrameBound, FromItem, IntervalUnit, OrderItem, Query, Select, SelectItem, SetExpr, WindowSpec } from './ast.ts';
import { QueryError, invalidQuery } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';

/** Longest accepted query text, in characters. */
export const MAX_QUERY_LENGTH = 32_768;
/** Deepest accepted nesting of expressions and subqueries. */
export const MAX_DEPTH = 64;

const RESERVED = new Set([
  'SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'HAVING', 'ORDER', 'LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT',
  'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'OUTER', 'ON', 'USING', 'AS', 'AND', 'OR', 'NOT', 'IN', 'IS',
  'NULL', 'LIKE', 'ILIKE', 'BETWEEN', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'WITH', 'DISTINCT', 'ALL', 'ASC', 'DESC',
  'NULLS', 'OVER', 'PARTITION', 'INTERVAL', 'EXISTS', 'SETTINGS', 'FORMAT', 'PREWHERE', 'WINDOW', 'INTO', 'TRUE',
  'FALSE', 'ARRAY', 'GLOBAL', 'ANY', 'SAMPLE', 'FINAL',
]);

/** Statements that are not queries: answered as a wrong query type rather than as unparseable text. */
const STATEMENTS = new Set([
  'INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER', 'CREATE', 'ATTACH', 'DETACH', 'PRAGMA', 'COPY', 'SET', 'TRUNCATE',
  'GRANT', 'REVOKE', 'VACUUM', 'EXPLAIN', 'SHOW', 'DESCRIBE', 'DESC', 'KILL', 'OPTIMIZE', 'SYSTEM', 'RENAME', 'REPLACE',
  'BEGIN', 'COMMIT', 'ROLLBACK', 'USE', 'EXEC', 'EXECUTE', 'CALL', 'DO', 'LOAD', 'REINDEX', 'ANALYZE', 'EXCHANGE',
  'MERGE', 'UPSERT', 'LOCK', 'UNLOCK', 'START', 'SAVEPOINT', 'RELEASE', 'DECLARE', 'PREPARE', 'DEALLOCATE', 'LISTEN',
  'NOTIFY', 'CHECKPOINT', 'CLUSTER', 'COMMENT', 'SECURITY', 'REFRESH', 'IMPORT', 'RESET', 'DISCARD', 'CHECK', 'WATCH',
]);

const INTERVAL_UNITS: Record<string, IntervalUnit> = {
  SECOND: 'SECOND', SECONDS: 'SECOND', MINUTE: 'MINUTE', MINUTES: 'MINUTE', HOUR: 'HOUR', HOURS: 'HOUR',
  DAY: 'DAY', DAYS: 'DAY', WEEK: 'WEEK', WEEKS: 'WEEK', MONTH: 'MONTH', MONTHS: 'MONTH', QUARTER: 'QUARTER',
  QUARTERS: 'QUARTER', YEAR: 'YEAR', YEARS: 'YEAR',
};

/** Parses one SELECT-family statement; anything else throws a QueryError naming why. */
export function parseQuery(text: string): Query {
  if (text.length > MAX_QUERY_LENGTH) throw invalidQuery(`the query is longer than ${MAX_QUERY_LENGTH} characters`);
  const tokens = tokenize(text);
  return new Parser(tokens, text).statement();
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  statement(): Query {
    const first = this.peek();
    if (first.kind === 'ident' && !this.isKeyword(first, 'SELECT') && !this.isKeyword(first, 'WITH')) {
      if (STATEMENTS.has(first.value.toUpperCase())) {
        throw new QueryError('invalid_query_type', `only SELECT queries are accepted, not ${first.value.toUpperCase()}`);
      }
    }
    if (first.kind === 'eof') throw invalidQuery('the query is empty');
    const query = this.query();
    while (this.acceptOp(';')) {
      if (this.peek().kind !== 'eof') {
        throw new QueryError('invalid_query_type', 'only one statement is accepted per query');
      }
    }
    const rest = this.peek();
    if (rest.kind !== 'eof') {
      if (rest.kind === 'ident' && (rest.value.toUpperCase() === 'SETTINGS' || rest.value.toUpperCase() === 'FORMAT')) {
        throw invalidQuery(`${rest.value.toUpperCase()} clauses are not accepted`);
      }
      throw this.unexpected();
    }
    return query;
  }

  // ---- queries

  private query(): Query {
    return this.nested(() => {
      const ctes: Cte[] = [];
      const withAliases: { name: string; expr: Expr }[] = [];
      if (this.acceptKeyword('WITH')) {
        if (this.isKeyword(this.peek(), 'RECURSIVE')) throw invalidQuery('recursive CTEs are not accepted');
        do {
          const t = this.peek();
          const next = this.peek(1);
          if ((t.kind === 'ident' || t.kind === 'quoted') && this.isKeyword(next, 'AS') && this.peekOp('(', 2)) {
            const name = this.identifier();
            this.expectKeyword('AS');
            this.expectOp('(');
            const query = this.query();
            this.expectOp(')');
            ctes.push({ name, query });
          } else {
            const expr = this.expr();
            this.expectKeyword('AS');
            withAliases.push({ name: this.identifier(), expr });
          }
        } while (this.acceptOp(','));
      }
      const body = this.setExpr();
      const orderBy = this.acceptKeywords('ORDER', 'BY') ? this.orderList() : [];
      let limit: Expr | undefined;
      let offset: Expr | undefined;
      if (this.acceptKeyword('LIMIT')) {
        const first = this.expr();
        if (this.acceptOp(',')) {
          offset = first;
          limit = this.expr();
        } else {
          limit = first;
          if (this.acceptKeyword('OFFSET')) offset = this.expr();
        }
      } else if (this.acceptKeyword('OFFSET')) {
        offset = this.expr();
      }
      return { kind: 'query', ctes, withAliases, body, orderBy, limit, offset };
    });
  }

  private setExpr(): SetExpr {
    let left = this.setOperand();
    for (;;) {
      const t = this.peek();
      const op = t.kind === 'ident' ? t.value.toUpperCase() : '';
      if (op !== 'UNION' && op !== 'EXCEPT' && op !== 'INTERSECT') return left;
      this.pos++;
      let all = false;
      if (this.acceptKeyword('ALL')) all = true;
      else this.acceptKeyword('DISTINCT');
      const right = this.setOperand();
      left = { kind: 'set', op, all, left, right };
    }
  }

  private setOperand(): SetExpr {
    if (this.peekOp('(')) {
      this.pos++;
      const query = this.query();
      this.expectOp(')');
      return { kind: 'nested', query };
    }
    return this.select();
  }

  private select(): Select {
    if (!this.acceptKeyword('SELECT')) {
      const t = this.peek();
      if (t.kind === 'ident' && STATEMENTS.has(t.value.toUpperCase())) {
        throw new QueryError('invalid_query_type', `only SELECT queries are accepted, not ${t.value.toUpperCase()}`);
      }
      throw this.unexpected('SELECT');
    }
    const distinct = this.acceptKeyword('DISTINCT');
    if (!distinct) this.acceptKeyword('ALL');
    const items: SelectItem[] = [];
    do items.push(this.selectItem());
    while (this.acceptOp(','));
    if (this.isKeyword(this.peek(), 'INTO')) throw new QueryError('invalid_query_type', 'SELECT ... INTO is not accepted');
    const from = this.acceptKeyword('FROM') ? this.fromList() : undefined;
    if (this.isKeyword(this.peek(), 'PREWHERE')) throw invalidQuery('PREWHERE is not accepted; use WHERE');
    const where = this.acceptKeyword('WHERE') ? this.expr() : undefined;
    const groupBy: Expr[] = [];
    if (this.acceptKeywords('GROUP', 'BY')) {
      do groupBy.push(this.expr());
      while (this.acceptOp(','));
    }
    const having = this.acceptKeyword('HAVING') ? this.expr() : undefined;
    return { kind: 'select', distinct, items, from, where, groupBy, having };
  }

  private selectItem(): SelectItem {
    if (this.peekOp('*')) {
      this.pos++;
      return { kind: 'star' };
    }
    const t = this.peek();
    if ((t.kind === 'ident' || t.kind === 'quoted') && this.peekOp('.', 1) && this.peekOp('*', 2)) {
      this.pos += 3;
      return { kind: 'star', table: t.value };
    }
    const start = this.peek().start;
    const expr = this.expr();
    const text = this.text.slice(start, this.tokens[this.pos - 1].end);
    return { kind: 'item', expr, alias: this.alias(), text };
  }

  /** `AS name`, or a bare name that is not a keyword. */
  private alias(): string | undefined {
    if (this.acceptKeyword('AS')) return this.identifier();
    const t = this.peek();
    if (t.kind === 'quoted' || (t.kind === 'ident' && !RESERVED.has(t.value.toUpperCase()))) {
      this.pos++;
      return t.value;
    }
    return undefined;
  }

  private fromList(): FromItem {
    let left = this.fromItem();
    for (;;) {
      if (this.acceptOp(',')) {
        left = { kind: 'join', type: 'CROSS', left, right: this.fromItem() };
        continue;
      }
      const type = this.joinType();
      if (!type) return left;
      const right = this.fromItem();
      if (type === 'CROSS') {
        left = { kind: 'join', type, left, right };
      } else if (this.acceptKeyword('ON')) {
        left = { kind: 'join', type, left, right, on: this.expr() };
      } else if (this.acceptKeyword('USING')) {
        const wrapped = this.acceptOp('(');
        const using: string[] = [];
        do using.push(this.identifier());
        while (this.acceptOp(','));
        if (wrapped) this.expectOp(')');
        left = { kind: 'join', type, left, right, using };
      } else {
        throw this.unexpected('ON or USING');
      }
    }
  }

  private joinType(): 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS' | undefined {
    const t = this.peek();
    if (t.kind !== 'ident') return undefined;
    const word = t.value.toUpperCase();
    if (word === 'JOIN') {
      this.pos++;
      return 'INNER';
    }
    if (word === 'GLOBAL' || word === 'ANY' || word === 'ALL' || word === 'ASOF' || word === 'SEMI' || word === 'ANTI' || word === 'ARRAY') {
      throw invalidQuery(`${word} joins are not accepted`);
    }
    if (word !== 'INNER' && word !== 'LEFT' && word !== 'RIGHT' && word !== 'FULL' && word !== 'CROSS') return undefined;
    this.pos++;
    if (word !== 'INNER' && word !== 'CROSS') this.acceptKeyword('OUTER');
    this.expectKeyword('JOIN');
    return word;
  }

  private fromItem(): FromItem {
    if (this.peekOp('(')) {
      this.pos++;
      const query = this.query();
      this.expectOp(')');
      return { kind: 'subquery', query, alias: this.alias() };
    }
    const t = this.peek();
    if (t.kind !== 'ident' && t.kind !== 'quoted') throw this.unexpected('a table');
    if (t.kind === 'ident' && RESERVED.has(t.value.toUpperCase())) throw this.unexpected('a table');
    this.pos++;
    let name = t.value;
    let qualifier: string | undefined;
    if (this.peekOp('.')) {
      this.pos++;
      qualifier = name;
      name = this.identifier();
      // Deeper qualification (catalog.schema.table) names a table outside the allowed set as well.
      while (this.acceptOp('.')) name = `${name}.${this.identifier()}`;
    }
    if (this.peekOp('(')) {
      throw new QueryError('invalid_table', `table functions such as ${qualifier ? `${qualifier}.` : ''}${name}() are not accepted`);
    }
    if (this.isKeyword(this.peek(), 'FINAL') || this.isKeyword(this.peek(), 'SAMPLE')) {
      throw invalidQuery(`${this.peek().value.toUpperCase()} is not accepted`);
    }
    return { kind: 'table', name, qualifier, alias: this.alias() };
  }

  private orderList(): OrderItem[] {
    const items: OrderItem[] = [];
    do {
      const expr = this.expr();
      let desc = false;
      if (this.acceptKeyword('DESC')) desc = true;
      else this.acceptKeyword('ASC');
      let nulls: 'FIRST' | 'LAST' | undefined;
      if (this.acceptKeyword('NULLS')) {
        if (this.acceptKeyword('FIRST')) nulls = 'FIRST';
        else {
          this.expectKeyword('LAST');
          nulls = 'LAST';
        }
      }
      items.push({ expr, desc, nulls });
    } while (this.acceptOp(','));
    return items;
  }

  // ---- expressions, lowest precedence first

  expr(): Expr {
    return this.nested(() => this.or());
  }

  private or(): Expr {
    let left = this.and();
    while (this.acceptKeyword('OR')) left = { kind: 'binary', op: 'OR', left, right: this.and() };
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.acceptKeyword('AND')) left = { kind: 'binary', op: 'AND', left, right: this.not() };
    return left;
  }

  private not(): Expr {
    if (this.acceptKeyword('NOT')) return this.nested(() => ({ kind: 'unary', op: 'NOT', expr: this.not() }));
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.concat();
    const t = this.peek();
    if (t.kind === 'op' && ['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.value)) {
      this.pos++;
      const op = t.value === '==' ? '=' : t.value === '<>' ? '!=' : t.value;
      return { kind: 'binary', op, left, right: this.concat() };
    }
    if (this.isKeyword(t, 'IS')) {
      this.pos++;
      const not = this.acceptKeyword('NOT');
      this.expectKeyword('NULL');
      return { kind: 'isnull', expr: left, not };
    }
    const save = this.pos;
    const not = this.acceptKeyword('NOT');
    if (this.acceptKeyword('IN')) {
      this.expectOp('(');
      if (this.isKeyword(this.peek(), 'SELECT') || this.isKeyword(this.peek(), 'WITH')) {
        const query = this.query();
        this.expectOp(')');
        return { kind: 'in', expr: left, not, query };
      }
      const list: Expr[] = [];
      do list.push(this.expr());
      while (this.acceptOp(','));
      this.expectOp(')');
      return { kind: 'in', expr: left, not, list };
    }
    if (this.acceptKeyword('LIKE')) return { kind: 'binary', op: not ? 'NOT LIKE' : 'LIKE', left, right: this.concat() };
    if (this.acceptKeyword('ILIKE')) return { kind: 'binary', op: not ? 'NOT ILIKE' : 'ILIKE', left, right: this.concat() };
    if (this.acceptKeyword('BETWEEN')) {
      const low = this.concat();
      this.expectKeyword('AND');
      return { kind: 'between', expr: left, not, low, high: this.concat() };
    }
    this.pos = save;
    return left;
  }

  private concat(): Expr {
    let left = this.additive();
    while (this.acceptOp('||')) left = { kind: 'binary', op: '||', left, right: this.additive() };
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && (t.value === '+' || t.value === '-')) {
        this.pos++;
        left = { kind: 'binary', op: t.value, left, right: this.multiplicative() };
      } else return left;
    }
  }

  private multiplicative(): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && (t.value === '*' || t.value === '/' || t.value === '%')) {
        this.pos++;
        left = { kind: 'binary', op: t.value, left, right: this.unary() };
      } else return left;
    }
  }

  private unary(): Expr {
    if (this.acceptOp('-')) return this.nested(() => ({ kind: 'unary', op: '-', expr: this.unary() }));
    if (this.acceptOp('+')) return this.nested(() => this.unary());
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.kind === 'number') {
      this.pos++;
      const value = Number(t.value);
      if (!Number.isFinite(value)) throw invalidQuery(`number out of range: ${t.value}`);
      return { kind: 'number', value };
    }
    if (t.kind === 'string') {
      this.pos++;
      return { kind: 'string', value: t.value };
    }
    if (t.kind === 'op' && t.value === '(') {
      this.pos++;
      if (this.isKeyword(this.peek(), 'SELECT') || this.isKeyword(this.peek(), 'WITH')) {
        const query = this.query();
        this.expectOp(')');
        return { kind: 'subquery', query };
      }
      const inner = this.expr();
      if (this.peekOp(',')) throw invalidQuery('tuples are not accepted');
      this.expectOp(')');
      return inner;
    }
    if (t.kind === 'op' && t.value === '[') {
      this.pos++;
      const items: Expr[] = [];
      if (!this.peekOp(']')) {
        do items.push(this.expr());
        while (this.acceptOp(','));
      }
      this.expectOp(']');
      return { kind: 'array', items };
    }
    if (t.kind === 'quoted') {
      this.pos++;
      return this.columnRest(t.value);
    }
    if (t.kind !== 'ident') throw this.unexpected();
    const word = t.value.toUpperCase();
    switch (word) {
      case 'NULL':
        this.pos++;
        return { kind: 'null' };
      case 'TRUE':
      case 'FALSE':
        this.pos++;
        return { kind: 'bool', value: word === 'TRUE' };
      case 'CASE':
        this.pos++;
        return this.caseExpr();
      case 'INTERVAL':
        this.pos++;
        return this.interval();
      case 'EXISTS': {
        this.pos++;
        this.expectOp('(');
        const query = this.query();
        this.expectOp(')');
        return { kind: 'exists', query };
      }
      case 'CAST':
        throw new QueryError('invalid_function', 'CAST is not accepted; use toString, toInt64 or toFloat64');
    }
    if (RESERVED.has(word)) throw this.unexpected();
    this.pos++;
    if (this.peekOp('(')) return this.call(t.value);
    if (this.peekOp('->')) {
      this.pos++;
      return { kind: 'lambda', params: [t.value], body: this.expr() };
    }
    return this.columnRest(t.value);
  }

  private columnRest(first: string): Expr {
    if (!this.peekOp('.')) return { kind: 'column', name: first };
    this.pos++;
    const second = this.peek();
    if (second.kind === 'ident' || second.kind === 'quoted') {
      this.pos++;
      if (this.peekOp('(')) throw new QueryError('invalid_function', `function ${first}.${second.value} is not accepted`);
      if (this.peekOp('.')) throw invalidQuery(`column references have at most two parts: ${first}.${second.value}...`);
      return { kind: 'column', table: first, name: second.value };
    }
    throw this.unexpected('a column name');
  }

  private call(name: string): Expr {
    this.expectOp('(');
    const first = this.callArgs();
    let args = first.args;
    let params: Expr[] | undefined;
    // Parametric aggregates: quantile(0.9)(latency).
    if (this.peekOp('(')) {
      params = first.args;
      this.pos++;
      const second = this.callArgs();
      args = second.args;
      first.distinct = second.distinct;
    }
    let over: WindowSpec | undefined;
    if (this.acceptKeyword('OVER')) over = this.window();
    return { kind: 'call', name, args, params, distinct: first.distinct, over };
  }

  /** The arguments after an opening parenthesis, through the closing one. */
  private callArgs(): { args: Expr[]; distinct: boolean } {
    const distinct = this.acceptKeyword('DISTINCT');
    const args: Expr[] = [];
    if (this.acceptOp(')')) return { args, distinct };
    if (this.peekOp('*') && this.peekOp(')', 1)) {
      this.pos += 2;
      return { args: [{ kind: 'star' }], distinct };
    }
    do {
      // Lambdas with several parameters: (x, y) -> expr
      if (this.peekOp('(') && this.lambdaParamsAhead()) {
        this.pos++;
        const params: string[] = [];
        do params.push(this.identifier());
        while (this.acceptOp(','));
        this.expectOp(')');
        this.expectOp('->');
        args.push({ kind: 'lambda', params, body: this.expr() });
      } else {
        args.push(this.expr());
      }
    } while (this.acceptOp(','));
    this.expectOp(')');
    return { args, distinct };
  }

  private lambdaParamsAhead(): boolean {
    let i = 1;
    for (;;) {
      const t = this.peek(i);
      if (t.kind !== 'ident') return false;
      if (this.peekOp(')', i + 1)) return this.peekOp('->', i + 2);
      if (!this.peekOp(',', i + 1)) return false;
      i += 2;
    }
  }

  private window(): WindowSpec {
    if (!this.peekOp('(')) throw invalidQuery('named windows are not accepted; write OVER (...)');
    this.pos++;
    const partitionBy: Expr[] = [];
    if (this.acceptKeywords('PARTITION', 'BY')) {
      do partitionBy.push(this.expr());
      while (this.acceptOp(','));
    }
    const orderBy = this.acceptKeywords('ORDER', 'BY') ? this.orderList() : [];
    let frame: WindowSpec['frame'];
    const unit = this.peek().value.toUpperCase();
    if (this.peek().kind === 'ident' && (unit === 'ROWS' || unit === 'RANGE')) {
      this.pos++;
      if (this.acceptKeyword('BETWEEN')) {
        const start = this.frameBound();
        this.expectKeyword('AND');
        frame = { unit, start, end: this.frameBound() };
      } else {
        frame = { unit, start: this.frameBound() };
      }
    }
    this.expectOp(')');
    return { partitionBy, orderBy, frame };
  }

  private frameBound(): FrameBound {
    if (this.acceptKeyword('UNBOUNDED')) return { kind: 'unbounded', direction: this.direction() };
    if (this.acceptKeywords('CURRENT', 'ROW')) return { kind: 'current' };
    const t = this.peek();
    if (t.kind !== 'number' || !/^[0-9]+$/.test(t.value)) throw this.unexpected('a frame bound');
    this.pos++;
    return { kind: 'offset', rows: Number(t.value), direction: this.direction() };
  }

  private direction(): 'PRECEDING' | 'FOLLOWING' {
    if (this.acceptKeyword('PRECEDING')) return 'PRECEDING';
    this.expectKeyword('FOLLOWING');
    return 'FOLLOWING';
  }

  private caseExpr(): Expr {
    const operand = this.isKeyword(this.peek(), 'WHEN') ? undefined : this.expr();
    const whens: { when: Expr; then: Expr }[] = [];
    while (this.acceptKeyword('WHEN')) {
      const when = this.expr();
      this.expectKeyword('THEN');
      whens.push({ when, then: this.expr() });
    }
    if (whens.length === 0) throw this.unexpected('WHEN');
    const otherwise = this.acceptKeyword('ELSE') ? this.expr() : undefined;
    this.expectKeyword('END');
    return { kind: 'case', operand, whens, else: otherwise };
  }

  private interval(): Expr {
    const t = this.peek();
    if (t.kind === 'string') {
      // INTERVAL '7 day' or INTERVAL '7' DAY
      this.pos++;
      const m = /^\s*(-?[0-9]+)\s*([A-Za-z]+)?\s*$/.exec(t.value);
      if (!m) throw invalidQuery(`bad interval '${t.value}'`);
      const unitWord = m[2] ?? this.identifier();
      return { kind: 'interval', value: { kind: 'number', value: Number(m[1]) }, unit: this.intervalUnit(unitWord) };
    }
    const value = this.unary();
    return { kind: 'interval', value, unit: this.intervalUnit(this.identifier()) };
  }

  private intervalUnit(word: string): IntervalUnit {
    const unit = INTERVAL_UNITS[word.toUpperCase()];
    if (!unit) throw invalidQuery(`unknown interval unit ${word}`);
    return unit;
  }

  // ---- token helpers

  private nested<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH) throw invalidQuery(`the query is nested deeper than ${MAX_DEPTH} levels`);
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)];
  }

  private peekOp(op: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'op' && t.value === op;
  }

  private acceptOp(op: string): boolean {
    if (!this.peekOp(op)) return false;
    this.pos++;
    return true;
  }

  private expectOp(op: string): void {
    if (!this.acceptOp(op)) throw this.unexpected(`'${op}'`);
  }

  private isKeyword(t: Token, word: string): boolean {
    return t.kind === 'ident' && t.value.toUpperCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(this.peek(), word)) return false;
    this.pos++;
    return true;
  }

  private acceptKeywords(...words: string[]): boolean {
    if (!words.every((w, i) => this.isKeyword(this.peek(i), w))) return false;
    this.pos += words.length;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) throw this.unexpected(word);
  }

  private identifier(): string {
    const t = this.peek();
    if (t.kind === 'quoted' || (t.kind === 'ident' && !RESERVED.has(t.value.toUpperCase()))) {
      this.pos++;
      return t.value;
    }
    throw this.unexpected('a name');
  }

  private unexpected(expected?: string): QueryError {
    const t = this.peek();
    const found = t.kind === 'eof' ? 'the end of the query' : `'${this.text.slice(t.start, t.end).slice(0, 40)}' at offset ${t.start}`;
    return invalidQuery(expected ? `expected ${expected} but found ${found}` : `unexpected ${found}`);
  }
}

/** The parse tree of the accepted SELECT subset. */

export interface Query {
  kind: 'query';
  ctes: Cte[];
  /** Scalar aliases from `WITH <expr> AS name`. */
  withAliases: { name: string; expr: Expr }[];
  body: SetExpr;
  orderBy: OrderItem[];
  limit?: Expr;
  offset?: Expr;
}

export interface Cte {
  name: string;
  query: Query;
}

export type SetExpr =
  | Select
  | { kind: 'set'; op: 'UNION' | 'EXCEPT' | 'INTERSECT'; all: boolean; left: SetExpr; right: SetExpr }
  | { kind: 'nested'; query: Query };

export interface Select {
  kind: 'select';
  distinct: boolean;
  items: SelectItem[];
  from?: FromItem;
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
}

export type SelectItem =
  | { kind: 'star'; table?: string }
  | { kind: 'item'; expr: Expr; alias?: string; text: string };

export type FromItem =
  | { kind: 'table'; name: string; qualifier?: string; alias?: string }
  | { kind: 'subquery'; query: Query; alias?: string }
  | { kind: 'join'; type: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS'; left: FromItem; right: FromItem; on?: Expr; using?: string[] };

export interface OrderItem {
  expr: Expr;
  desc: boolean;
  nulls?: 'FIRST' | 'LAST';
}

export interface WindowSpec {
  partitionBy: Expr[];
  orderBy: OrderItem[];
  frame?: { unit: 'ROWS' | 'RANGE'; start: FrameBound; end?: FrameBound };
}

export type FrameBound =
  | { kind: 'unbounded'; direction: 'PRECEDING' | 'FOLLOWING' }
  | { kind: 'current' }
  | { kind: 'offset'; rows: number; direction: 'PRECEDING' | 'FOLLOWING' };

export type IntervalUnit = 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | 'WEEK' | 'MONTH' | 'QUARTER' | 'YEAR';

export type Expr =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'column'; table?: string; name: string }
  | { kind: 'star' }
  | { kind: 'call'; name: string; args: Expr[]; params?: Expr[]; distinct: boolean; over?: WindowSpec }
  | { kind: 'lambda'; params: string[]; body: Expr }
  | { kind: 'unary'; op: '-' | 'NOT'; expr: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'in'; expr: Expr; not: boolean; list?: Expr[]; query?: Query }
  | { kind: 'between'; expr: Expr; not: boolean; low: Expr; high: Expr }
  | { kind: 'isnull'; expr: Expr; not: boolean }
  | { kind: 'case'; operand?: Expr; whens: { when: Expr; then: Expr }[]; else?: Expr }
  | { kind: 'interval'; value: Expr; unit: IntervalUnit }
  | { kind: 'subquery'; query: Query }
  | { kind: 'exists'; query: Query }
  | { kind: 'array'; items: Expr[] };

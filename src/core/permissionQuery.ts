/**
 * The permission query of verifyKey, e.g. `documents.read AND (documents.write OR admin)`.
 *
 * Identifiers are runs of `[A-Za-z0-9._:-*\/]`; `AND` and `OR` are operators when a whole identifier-like word spells
 * them in any case (`ANDROID` stays an identifier); parentheses group; AND binds tighter than OR. A leaf holds when
 * the key's slug list contains the exact string: `api.*` is a literal slug, not a wildcard.
 *
 * Parsing is a single pass that reads tokens as it needs them, so time is linear in the query length. Nesting is capped, which bounds
 * the recursion of both the parser and the evaluator far below any stack limit.
 */

export const MAX_QUERY_LENGTH = 1000;
export const MAX_QUERY_PERMISSIONS = 100;
export const MAX_QUERY_DEPTH = 50;

export type PermissionQuery =
  | { kind: 'permission'; slug: string }
  | { kind: 'and'; operands: PermissionQuery[] }
  | { kind: 'or'; operands: PermissionQuery[] };

/** A query that does not parse; `position` is the 0-based character offset the message refers to. */
export class PermissionQuerySyntaxError extends Error {
  readonly position: number;

  constructor(message: string, position: number) {
    // Bad queries are ordinary input, not faults: a stack trace would cost more than the whole parse.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'PermissionQuerySyntaxError';
    this.position = position;
  }
}

type Token =
  | { type: 'ident'; text: string; pos: number }
  | { type: 'and' | 'or'; text: string; pos: number }
  | { type: 'lparen' | 'rparen'; text: string; pos: number }
  | { type: 'end'; text: ''; pos: number };

/** 1 for the ASCII codes an identifier may contain: letters, digits and . _ : - * / */
const IDENT_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-*/') IDENT_CHAR[c.charCodeAt(0)] = 1;

function isIdentChar(code: number): boolean {
  return code < 128 && IDENT_CHAR[code] === 1;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/** Reads tokens on demand, so a query that fails early is never scanned to its end. */
class Lexer {
  private offset = 0;
  current: Token;

  constructor(private readonly query: string) {
    this.current = this.scan();
  }

  advance(): void {
    this.current = this.scan();
  }

  private scan(): Token {
    const query = this.query;
    let i = this.offset;
    while (i < query.length && isSpace(query.charCodeAt(i))) i++;
    if (i >= query.length) {
      this.offset = i;
      return { type: 'end', text: '', pos: i };
    }
    const code = query.charCodeAt(i);
    if (code === 40 || code === 41) {
      this.offset = i + 1;
      return code === 40 ? { type: 'lparen', text: '(', pos: i } : { type: 'rparen', text: ')', pos: i };
    }
    if (!isIdentChar(code)) {
      const char = String.fromCodePoint(query.codePointAt(i)!);
      throw new PermissionQuerySyntaxError(
        `Unexpected character '${char}' at position ${i}. Permission identifiers may only contain letters, digits and . _ : - * /`,
        i,
      );
    }
    const start = i;
    while (i < query.length && isIdentChar(query.charCodeAt(i))) i++;
    this.offset = i;
    const text = query.slice(start, i);
    const upper = text.length <= 3 ? text.toUpperCase() : '';
    return { type: upper === 'AND' ? 'and' : upper === 'OR' ? 'or' : 'ident', text, pos: start };
  }
}

const EXPECT_OPERAND = 'Expected a permission identifier or opening parenthesis.';

class Parser {
  private depth = 0;
  private permissions = 0;

  constructor(private readonly lexer: Lexer) {}

  parse(): PermissionQuery {
    const query = this.parseOr();
    const next = this.peek();
    if (next.type === 'rparen') {
      throw new PermissionQuerySyntaxError(
        `Unexpected token ')' at position ${next.pos}: it closes no opening parenthesis.`,
        next.pos,
      );
    }
    if (next.type !== 'end') {
      throw new PermissionQuerySyntaxError(
        `Unexpected token '${next.text}' at position ${next.pos}. Expected 'AND', 'OR' or the end of the query.`,
        next.pos,
      );
    }
    return query;
  }

  private peek(): Token {
    return this.lexer.current;
  }

  private advance(): void {
    this.lexer.advance();
  }

  private parseOr(): PermissionQuery {
    const operands = [this.parseAnd()];
    while (this.peek().type === 'or') {
      this.advance();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0] : { kind: 'or', operands };
  }

  private parseAnd(): PermissionQuery {
    const operands = [this.parseOperand()];
    while (this.peek().type === 'and') {
      this.advance();
      operands.push(this.parseOperand());
    }
    return operands.length === 1 ? operands[0] : { kind: 'and', operands };
  }

  private parseOperand(): PermissionQuery {
    const token = this.peek();
    switch (token.type) {
      case 'ident':
        this.advance();
        if (++this.permissions > MAX_QUERY_PERMISSIONS) {
          throw new PermissionQuerySyntaxError(
            `Too many permissions: the one at position ${token.pos} exceeds the limit of ${MAX_QUERY_PERMISSIONS} per query.`,
            token.pos,
          );
        }
        return { kind: 'permission', slug: token.text };
      case 'lparen':
        return this.parseGroup(token);
      case 'end':
        throw new PermissionQuerySyntaxError(`Unexpected end of query. ${EXPECT_OPERAND}`, token.pos);
      default:
        throw new PermissionQuerySyntaxError(
          `Unexpected token '${token.text}' at position ${token.pos}. ${EXPECT_OPERAND}`,
          token.pos,
        );
    }
  }

  private parseGroup(open: Token): PermissionQuery {
    this.advance();
    if (this.peek().type === 'rparen') {
      throw new PermissionQuerySyntaxError(
        `Empty parentheses found at position ${open.pos}. Expected a permission identifier or opening parenthesis inside them.`,
        open.pos,
      );
    }
    if (++this.depth > MAX_QUERY_DEPTH) {
      throw new PermissionQuerySyntaxError(
        `Parentheses nested too deeply at position ${open.pos}: at most ${MAX_QUERY_DEPTH} levels are allowed.`,
        open.pos,
      );
    }
    const inner = this.parseOr();
    this.depth--;
    const close = this.peek();
    if (close.type === 'rparen') {
      this.advance();
      return inner;
    }
    if (close.type === 'end') {
      throw new PermissionQuerySyntaxError(
        `Missing closing parenthesis ')' at position ${close.pos}. The parenthesis opened at position ${open.pos} is never closed.`,
        close.pos,
      );
    }
    throw new PermissionQuerySyntaxError(
      `Unexpected token '${close.text}' at position ${close.pos}. Expected 'AND', 'OR' or a closing parenthesis ')'.`,
      close.pos,
    );
  }
}

/** Parses a permission query; throws PermissionQuerySyntaxError saying what was expected and where. */
export function parsePermissionQuery(query: string): PermissionQuery {
  if (query.length > MAX_QUERY_LENGTH) {
    throw new PermissionQuerySyntaxError(
      `The query is ${query.length} characters long; at most ${MAX_QUERY_LENGTH} are allowed.`,
      MAX_QUERY_LENGTH,
    );
  }
  return new Parser(new Lexer(query)).parse();
}

/** True when the granted slugs satisfy the query. */
export function evaluatePermissionQuery(query: PermissionQuery, granted: ReadonlySet<string>): boolean {
  switch (query.kind) {
    case 'permission':
      return granted.has(query.slug);
    case 'and':
      return query.operands.every((q) => evaluatePermissionQuery(q, granted));
    case 'or':
      return query.operands.some((q) => evaluatePermissionQuery(q, granted));
  }
}

/**
 * The slugs whose absence makes the query fail: every missing leaf under a failing AND, and under a failing OR the
 * missing leaves of all its alternatives. Empty when the query holds.
 */
export function missingPermissions(query: PermissionQuery, granted: ReadonlySet<string>): string[] {
  const missing = new Set<string>();
  const collect = (q: PermissionQuery): void => {
    if (evaluatePermissionQuery(q, granted)) return;
    if (q.kind === 'permission') missing.add(q.slug);
    else for (const operand of q.operands) collect(operand);
  };
  collect(query);
  return [...missing];
}

/** The verify pipeline's permission step: whether a key holding these slugs satisfies the query text. */
export function permissionsSatisfy(query: string, permissions: readonly string[]): boolean {
  return evaluatePermissionQuery(parsePermissionQuery(query), new Set(permissions));
}

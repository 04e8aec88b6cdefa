import { invalidQuery } from './errors.ts';

export type TokenKind = 'ident' | 'quoted' | 'string' | 'number' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifier or operator text; the unescaped value for strings and quoted identifiers. */
  value: string;
  /** Offset of the token in the query, for naming result columns after their source text. */
  start: number;
  end: number;
}

const OPERATORS = ['->', '<=', '>=', '!=', '<>', '==', '||', '(', ')', ',', '.', '*', '+', '-', '/', '%', '=', '<', '>', '[', ']', ';'];

/**
 * Splits a query into tokens. Comments are dropped like whitespace: the query is rebuilt from its parse
 * tree, so nothing inside a comment can reach the database.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if ((c === '-' && text[i + 1] === '-') || c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw invalidQuery('unterminated comment');
      i = close + 2;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$]/.test(text[i])) i++;
      tokens.push({ kind: 'ident', value: text.slice(start, i), start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:0x[0-9a-fA-F]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)/.exec(text.slice(i, i + 400));
      if (!m) throw invalidQuery(`bad number at offset ${i}`);
      i += m[0].length;
      if (i < n && /[A-Za-z_]/.test(text[i])) throw invalidQuery(`bad number at offset ${start}`);
      tokens.push({ kind: 'number', value: m[0], start, end: i });
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      const { value, end } = readQuoted(text, i, c);
      i = end;
      tokens.push({ kind: c === "'" ? 'string' : 'quoted', value, start, end });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) throw invalidQuery(`unexpected character '${c}' at offset ${i}`);
    i += op.length;
    tokens.push({ kind: 'op', value: op, start, end: i });
  }
  tokens.push({ kind: 'eof', value: '', start: n, end: n });
  return tokens;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f', '\\': '\\', "'": "'", '"': '"', '`': '`' };

/** Reads a quoted string or identifier: the quote doubled or backslash-escaped stands for itself. */
function readQuoted(text: string, open: number, quote: string): { value: string; end: number } {
  let value = '';
  let i = open + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) break;
      value += ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        value += quote;
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    value += c;
    i++;
  }
  throw invalidQuery(`unterminated ${quote === "'" ? 'string' : 'quoted identifier'} at offset ${open}`);
}

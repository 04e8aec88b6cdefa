import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  MAX_QUERY_PERMISSIONS,
  PermissionQuerySyntaxError,
  evaluatePermissionQuery,
  missingPermissions,
  parsePermissionQuery,
  type PermissionQuery,
} from '../../src/core/permissionQuery.ts';

const p = (slug: string): PermissionQuery => ({ kind: 'permission', slug });

function holds(query: string, granted: string[]): boolean {
  return evaluatePermissionQuery(parsePermissionQuery(query), new Set(granted));
}

function syntaxError(query: string): PermissionQuerySyntaxError {
  try {
    parsePermissionQuery(query);
  } catch (err) {
    assert.ok(err instanceof PermissionQuerySyntaxError, `expected a syntax error, got ${String(err)}`);
    return err;
  }
  assert.fail(`'${query}' parsed, but a syntax error was expected`);
}

describe('permission query: parsing', () => {
  it('reads a single identifier with every allowed character', () => {
    assert.deepEqual(parsePermissionQuery('api.*:read-write/x_1'), p('api.*:read-write/x_1'));
  });

  it('lets AND bind tighter than OR', () => {
    assert.deepEqual(parsePermissionQuery('a OR b AND c'), {
      kind: 'or',
      operands: [p('a'), { kind: 'and', operands: [p('b'), p('c')] }],
    });
    assert.deepEqual(parsePermissionQuery('a AND b OR c'), {
      kind: 'or',
      operands: [{ kind: 'and', operands: [p('a'), p('b')] }, p('c')],
    });
  });

  it('flattens chains of one operator', () => {
    assert.deepEqual(parsePermissionQuery('a AND b AND c'), { kind: 'and', operands: [p('a'), p('b'), p('c')] });
    assert.deepEqual(parsePermissionQuery('a or b or c'), { kind: 'or', operands: [p('a'), p('b'), p('c')] });
  });

  it('groups with parentheses, also nested and without spaces', () => {
    assert.deepEqual(parsePermissionQuery('(a OR b) AND c'), {
      kind: 'and',
      operands: [{ kind: 'or', operands: [p('a'), p('b')] }, p('c')],
    });
    assert.deepEqual(parsePermissionQuery('((a))'), p('a'));
    assert.deepEqual(parsePermissionQuery('a AND(b OR(c AND d))'), {
      kind: 'and',
      operands: [p('a'), { kind: 'or', operands: [p('b'), { kind: 'and', operands: [p('c'), p('d')] }] }],
    });
  });

  it('treats operators case-insensitively and only as whole words', () => {
    assert.deepEqual(parsePermissionQuery('a and b Or c'), {
      kind: 'or',
      operands: [{ kind: 'and', operands: [p('a'), p('b')] }, p('c')],
    });
    assert.deepEqual(parsePermissionQuery('ANDROID AND ORACLE'), { kind: 'and', operands: [p('ANDROID'), p('ORACLE')] });
    assert.deepEqual(parsePermissionQuery('AND.read OR or_x'), { kind: 'or', operands: [p('AND.read'), p('or_x')] });
  });

  it('ignores surrounding whitespace, tabs and newlines', () => {
    assert.deepEqual(parsePermissionQuery('  a\tAND\n b  '), { kind: 'and', operands: [p('a'), p('b')] });
  });

  it('accepts a query of exactly the maximum length', () => {
    const slug = 'x'.repeat(MAX_QUERY_LENGTH);
    assert.deepEqual(parsePermissionQuery(slug), p(slug));
  });

  it('accepts nesting up to the maximum depth', () => {
    const query = '('.repeat(MAX_QUERY_DEPTH) + 'a' + ')'.repeat(MAX_QUERY_DEPTH);
    assert.deepEqual(parsePermissionQuery(query), p('a'));
  });
});

describe('permission query: error messages', () => {
  const cases: [query: string, message: string, position: number][] = [
    ['   ', 'Unexpected end of query. Expected a permission identifier or opening parenthesis.', 3],
    ['a AND', 'Unexpected end of query. Expected a permission identifier or opening parenthesis.', 5],
    ['(a OR', 'Unexpected end of query. Expected a permission identifier or opening parenthesis.', 5],
    [
      'AND a',
      "Unexpected token 'AND' at position 0. Expected a permission identifier or opening parenthesis.",
      0,
    ],
    [
      'a OR or b',
      "Unexpected token 'or' at position 5. Expected a permission identifier or opening parenthesis.",
      5,
    ],
    [
      'a AND )',
      "Unexpected token ')' at position 6. Expected a permission identifier or opening parenthesis.",
      6,
    ],
    [
      'documents.read AND (documents.write',
      "Missing closing parenthesis ')' at position 35. The parenthesis opened at position 19 is never closed.",
      35,
    ],
    [
      'a AND () OR b',
      'Empty parentheses found at position 6. Expected a permission identifier or opening parenthesis inside them.',
      6,
    ],
    ['a b', "Unexpected token 'b' at position 2. Expected 'AND', 'OR' or the end of the query.", 2],
    ['a (b)', "Unexpected token '(' at position 2. Expected 'AND', 'OR' or the end of the query.", 2],
    ['(a b)', "Unexpected token 'b' at position 3. Expected 'AND', 'OR' or a closing parenthesis ')'.", 3],
    ['a)', "Unexpected token ')' at position 1: it closes no opening parenthesis.", 1],
    [
      'a AND b!',
      "Unexpected character '!' at position 7. Permission identifiers may only contain letters, digits and . _ : - * /",
      7,
    ],
    [
      'a OR 😀',
      "Unexpected character '😀' at position 5. Permission identifiers may only contain letters, digits and . _ : - * /",
      5,
    ],
  ];
  for (const [query, message, position] of cases) {
    it(`'${query}'`, () => {
      const err = syntaxError(query);
      assert.equal(err.message, message);
      assert.equal(err.position, position);
    });
  }

  it('rejects a query over the length limit', () => {
    const err = syntaxError('x'.repeat(MAX_QUERY_LENGTH + 1));
    assert.equal(err.message, `The query is ${MAX_QUERY_LENGTH + 1} characters long; at most ${MAX_QUERY_LENGTH} are allowed.`);
  });

  it('rejects too many permissions, naming where the limit was passed', () => {
    const names = Array.from({ length: MAX_QUERY_PERMISSIONS + 1 }, (_, i) => `p${i}`);
    const query = names.join(' OR ');
    const err = syntaxError(query);
    const position = query.indexOf(`p${MAX_QUERY_PERMISSIONS}`);
    assert.equal(
      err.message,
      `Too many permissions: the one at position ${position} exceeds the limit of ${MAX_QUERY_PERMISSIONS} per query.`,
    );
    assert.doesNotThrow(() => parsePermissionQuery(names.slice(0, MAX_QUERY_PERMISSIONS).join(' OR ')));
  });

  it('rejects nesting deeper than the limit with a syntax error, not a stack overflow', () => {
    const depth = MAX_QUERY_DEPTH + 1;
    const err = syntaxError('('.repeat(depth) + 'a' + ')'.repeat(depth));
    assert.equal(
      err.message,
      `Parentheses nested too deeply at position ${MAX_QUERY_DEPTH}: at most ${MAX_QUERY_DEPTH} levels are allowed.`,
    );
    // The longest possible nesting within the length limit fails the same way.
    const half = MAX_QUERY_LENGTH / 2;
    assert.match(syntaxError('('.repeat(half - 1) + 'a' + ')'.repeat(half - 1)).message, /nested too deeply/);
    assert.match(syntaxError('('.repeat(MAX_QUERY_LENGTH)).message, /nested too deeply/);
  });
});

describe('permission query: evaluation', () => {
  it('matches exact slugs only: a star is a literal', () => {
    assert.equal(holds('api.read', ['api.read']), true);
    assert.equal(holds('api.*', ['api.read']), false);
    assert.equal(holds('api.read', ['api.*']), false);
    assert.equal(holds('api.*', ['api.*']), true);
    assert.equal(holds('Api.Read', ['api.read']), false);
  });

  it('applies precedence when evaluating', () => {
    // a OR (b AND c): true with only a; false with only b.
    assert.equal(holds('a OR b AND c', ['a']), true);
    assert.equal(holds('a OR b AND c', ['b']), false);
    assert.equal(holds('a OR b AND c', ['b', 'c']), true);
    // (a OR b) AND c
    assert.equal(holds('(a OR b) AND c', ['a']), false);
    assert.equal(holds('(a OR b) AND c', ['b', 'c']), true);
  });

  it('evaluates the documented example', () => {
    const q = 'documents.read AND (documents.write OR admin)';
    assert.equal(holds(q, ['documents.read', 'admin']), true);
    assert.equal(holds(q, ['documents.read', 'documents.write']), true);
    assert.equal(holds(q, ['documents.read']), false);
    assert.equal(holds(q, ['documents.write', 'admin']), false);
  });

  it('reports the missing permissions', () => {
    const q = parsePermissionQuery('documents.read AND (documents.write OR admin) AND (x OR y)');
    assert.deepEqual(missingPermissions(q, new Set(['documents.read', 'y'])), ['documents.write', 'admin']);
    assert.deepEqual(missingPermissions(q, new Set(['y'])), ['documents.read', 'documents.write', 'admin']);
    assert.deepEqual(missingPermissions(q, new Set(['documents.read', 'admin', 'x'])), []);
    assert.deepEqual(missingPermissions(parsePermissionQuery('a AND a'), new Set()), ['a']);
  });

  it('agrees with a direct boolean reading on random queries', () => {
    // Random expression trees, printed with full parentheses and with minimal ones, evaluate alike.
    const slugs = ['a', 'b', 'c', 'd'];
    const tree: fc.Arbitrary<PermissionQuery> = fc.letrec<{ node: PermissionQuery }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom(...slugs).map(p),
        fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), operands: fc.array(tie('node'), { minLength: 2, maxLength: 3 }) }),
      ),
    })).node;
    const print = (q: PermissionQuery): string =>
      q.kind === 'permission' ? q.slug : `(${q.operands.map(print).join(q.kind === 'and' ? ' AND ' : ' or ')})`;
    const direct = (q: PermissionQuery, granted: Set<string>): boolean =>
      q.kind === 'permission'
        ? granted.has(q.slug)
        : q.kind === 'and'
          ? q.operands.every((o) => direct(o, granted))
          : q.operands.some((o) => direct(o, granted));
    fc.assert(
      fc.property(tree, fc.subarray(slugs), (q, granted) => {
        const text = print(q);
        if (text.length > MAX_QUERY_LENGTH) return;
        const set = new Set(granted);
        const parsed = parsePermissionQuery(text);
        assert.equal(evaluatePermissionQuery(parsed, set), direct(q, set));
        assert.equal(missingPermissions(parsed, set).length === 0, direct(q, set));
      }),
      { numRuns: 500 },
    );
  });
});

describe('permission query: robustness', () => {
  // Strings made mostly of the query's own alphabet reach deep into the parser; arbitrary unicode covers the rest.
  const queryish = fc
    .array(fc.constantFrom('a', 'b.read', '*', ' ', ' ', '(', ')', '((', '))', 'AND', 'and', 'OR', 'or', 'ANDROID', '!', '\t'), {
      maxLength: 400,
    })
    .map((parts) => parts.join('').slice(0, MAX_QUERY_LENGTH));
  const anything = fc.oneof(queryish, fc.string({ maxLength: MAX_QUERY_LENGTH, unit: 'binary' }));

  it('either parses or throws a syntax error, quickly, for random input', () => {
    const timings: number[] = [];
    fc.assert(
      fc.property(anything, (query) => {
        const started = performance.now();
        try {
          evaluatePermissionQuery(parsePermissionQuery(query), new Set(['a']));
        } catch (err) {
          if (!(err instanceof PermissionQuerySyntaxError)) throw err;
          assert.ok(err.position >= 0 && err.position <= query.length, `position ${err.position} outside the query`);
        }
        timings.push(performance.now() - started);
      }),
      { numRuns: 5000 },
    );
    // Reported, not asserted: timings on a shared machine are too noisy for a pass/fail line.
    timings.sort((a, b) => a - b);
    const at = (q: number) => (timings[Math.min(timings.length - 1, Math.floor(q * timings.length))] * 1000).toFixed(1);
    const mean = (timings.reduce((a, b) => a + b, 0) / timings.length) * 1000;
    console.log(
      `permission query: ${timings.length} random inputs: mean ${mean.toFixed(1)} µs, p50 ${at(0.5)} µs, p99 ${at(0.99)} µs, max ${at(1)} µs`,
    );
  });

  it('handles the worst cases of the length limit', () => {
    const worst = [
      '('.repeat(MAX_QUERY_LENGTH),
      ')'.repeat(MAX_QUERY_LENGTH),
      'a AND '.repeat(166) + 'a',
      Array.from({ length: MAX_QUERY_PERMISSIONS }, () => 'a').join(' OR '),
      '(a OR '.repeat(MAX_QUERY_DEPTH) + 'a' + ')'.repeat(MAX_QUERY_DEPTH),
      'AND '.repeat(250),
    ];
    for (const query of worst) {
      assert.ok(query.length <= MAX_QUERY_LENGTH);
      const started = performance.now();
      for (let i = 0; i < 100; i++) {
        try {
          evaluatePermissionQuery(parsePermissionQuery(query), new Set(['b']));
        } catch (err) {
          assert.ok(err instanceof PermissionQuerySyntaxError);
        }
      }
      const mean = (performance.now() - started) / 100;
      console.log(`permission query: worst case '${query.slice(0, 12)}…' (${query.length} chars) ${(mean * 1000).toFixed(1)} µs`);
    }
  });
});

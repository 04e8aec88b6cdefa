/**
 * Parse-and-evaluate cost of verifyKey permission queries, from the everyday case to the worst inputs the
 * 1000-character limit allows. Run: `node --import tsx bench/permissionQuery.ts`.
 */
import { performance } from 'node:perf_hooks';
import {
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  MAX_QUERY_PERMISSIONS,
  PermissionQuerySyntaxError,
  permissionsSatisfy,
} from '../src/core/permissionQuery.ts';

const granted = ['documents.read', 'documents.write', 'billing.read', ...Array.from({ length: 50 }, (_, i) => `perm.${i}`)];

const cases: [string, string][] = [
  ['single permission', 'documents.read'],
  ['documented example', 'documents.read AND (documents.write OR admin)'],
  ['10 permissions, mixed', '(a OR b) AND (c OR documents.read) AND (d OR e OR documents.write) AND f OR billing.read AND g'],
  [`${MAX_QUERY_PERMISSIONS} permissions OR-ed`, Array.from({ length: MAX_QUERY_PERMISSIONS }, (_, i) => `q${i}`).join(' OR ')],
  [`nesting ${MAX_QUERY_DEPTH} deep`, '('.repeat(MAX_QUERY_DEPTH) + 'documents.read' + ')'.repeat(MAX_QUERY_DEPTH)],
  [`${MAX_QUERY_LENGTH} chars of '(' (syntax error)`, '('.repeat(MAX_QUERY_LENGTH)],
  [`${MAX_QUERY_LENGTH}-char identifier`, 'x'.repeat(MAX_QUERY_LENGTH)],
  ['unbalanced at the end (syntax error)', `${Array.from({ length: 90 }, (_, i) => `p${i}`).join(' AND ')} AND (`],
];

function run(query: string): void {
  try {
    permissionsSatisfy(query, granted);
  } catch (err) {
    if (!(err instanceof PermissionQuerySyntaxError)) throw err;
  }
}

if (cases.some(([, query]) => query.length > MAX_QUERY_LENGTH)) throw new Error('a case is longer than the limit');

const lines = ['| query | chars | µs per query | queries/s |', '|---|---:|---:|---:|'];
for (const [name, query] of cases) {
  for (let i = 0; i < 2_000; i++) run(query);
  const iterations = 20_000;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) run(query);
  const micros = ((performance.now() - started) * 1000) / iterations;
  lines.push(`| ${name} | ${query.length} | ${micros.toFixed(2)} | ${Math.round(1e6 / micros)} |`);
}
console.log(lines.join('\n'));

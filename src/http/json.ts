import { errors } from './errors.ts';
import { fieldPath } from './validation.ts';

/**
 * Deepest nesting accepted in a request body. Real bodies (meta included) stay far below it; far deeper
 * ones would exhaust the stack of anything that later walks them recursively, such as JSON.stringify.
 */
export const MAX_BODY_DEPTH = 100;

/**
 * Parses a request body as JSON and rejects, as a 400 naming the place, what no operation can store the
 * same way on both backends or handle safely:
 * - `__proto__` keys and `constructor.prototype`, which could poison objects merged from the body;
 * - strings or keys holding the NUL character, which PostgreSQL text cannot hold;
 * - nesting deeper than MAX_BODY_DEPTH.
 */
export function parseJsonBody(text: string): unknown {
  // A leading byte-order mark is an encoding artefact, not content.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === '') {
    throw errors.invalidInput('The request body is empty; a JSON body is required.', [
      { location: 'body', message: 'body is empty' },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    throw errors.invalidInput(`The request body is not valid JSON: ${(err as Error).message}`, [
      { location: 'body', message: `malformed JSON: ${(err as Error).message}` },
    ]);
  }
  checkParsed(value);
  return value;
}

function reject(detail: string, path: string[], message: string): never {
  const location = fieldPath(path);
  throw errors.invalidInput(`${detail} (at ${location}).`, [{ location, message: `${location} ${message}` }]);
}

/** Walks the parsed value without recursion, so that even a pathological body cannot overflow the stack. */
function checkParsed(root: unknown): void {
  const stack: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) reject('Text in the request body must not contain NUL characters', path, 'contains a NUL character');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_BODY_DEPTH) {
      reject(`The request body is nested more than ${MAX_BODY_DEPTH} levels deep`, path, `is nested too deeply`);
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: [...path, String(i)] }));
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const at = [...path, key];
      if (key === '__proto__') reject("The field name '__proto__' is not allowed", at, 'is not an allowed field name');
      if (key === 'constructor' && item !== null && typeof item === 'object' && 'prototype' in item) {
        reject("A 'constructor' field may not hold a 'prototype' field", at, "may not hold a 'prototype' field");
      }
      if (key.includes('\u0000')) reject('Field names must not contain NUL characters', at, 'has a NUL character in its name');
      stack.push({ value: item, path: at });
    }
  }
}

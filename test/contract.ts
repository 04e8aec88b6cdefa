import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Checks response bodies against the response schemas of the published v2 OpenAPI document, read from
 * `../shared/contract/` beside the checkout (override with LATCHKEY_CONTRACT_DIR).
 */
const here = dirname(fileURLToPath(import.meta.url));
const contractDir = process.env.LATCHKEY_CONTRACT_DIR ?? resolve(here, '../../shared/contract');

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ((data: unknown) => boolean) & { errors?: unknown }>();

function load(): Ajv2020 {
  if (ajv) return ajv;
  const doc = parse(readFileSync(resolve(contractDir, 'unkey-v2-openapi.yaml'), 'utf8'));
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  for (const f of ['int', 'int64', 'int32', 'float', 'double', 'byte', 'binary', 'password']) ajv.addFormat(f, true);
  // The document composes BadRequestErrorDetails as allOf(BaseError, {errors}), yet closes BaseError with
  // additionalProperties:false, so no 400 body could ever match. Opening BaseError is the only reading
  // under which the documented 400 shape is valid; everything else is checked as written.
  delete doc.components.schemas.BaseError.additionalProperties;
  // verifyKey's per-limit `reset` is a unix-ms timestamp and inline limits report the id "" (the behaviour
  // notes win over the document, whose bounds were copied from `duration` and from configured limits).
  const verifyLimit = doc.components.schemas.VerifyKeyRatelimitData.properties;
  delete verifyLimit.reset.maximum;
  verifyLimit.id = { anyOf: [verifyLimit.id, { const: '' }] };
  ajv.addSchema(doc, 'openapi');
  return ajv;
}

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/** Throws when `body` does not match the documented response of `operation` for `status`. */
export function assertMatchesContract(operation: string, status: number, contentType: string, body: unknown): void {
  const path = operation === 'liveness' ? '/v2/liveness' : `/v2/${operation}`;
  const method = operation === 'liveness' ? 'get' : 'post';
  const mediaType = contentType.split(';')[0].trim();
  const key = `${path} ${status} ${mediaType}`;
  let validate = compiled.get(key);
  if (!validate) {
    const a = load();
    const ref = `openapi#/${pointer('paths', path, method, 'responses', String(status), 'content', mediaType, 'schema')}`;
    try {
      validate = a.compile({ $ref: ref }) as unknown as NonNullable<typeof validate>;
    } catch (err) {
      throw new Error(`the contract has no ${mediaType} response ${status} for ${operation}: ${(err as Error).message}`);
    }
    compiled.set(key, validate!);
  }
  if (!validate!(body)) {
    throw new Error(
      `response of ${operation} (${status}) does not match the contract: ${JSON.stringify(validate!.errors, null, 1)}\nbody: ${JSON.stringify(body).slice(0, 2000)}`,
    );
  }
}

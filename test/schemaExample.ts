import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** A JSON schema as TypeBox builds it (TypeBox's own markers are symbols, which are ignored here). */
type Schema = Record<string, any>;

/** Validates like the server does: every error, no coercion, no defaults, unknown keywords tolerated. */
export function createValidator(): Ajv {
  const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

const STRING_SEEDS = [
  'fuzz_target', 'fuzz-target.1', 'FuzzTarget1', 'a', '1', 'fuzz target', 'https://example.com/fuzz',
  'fuzz@example.com', '2024-01-01T00:00:00Z', '00000000-0000-4000-8000-000000000000',
];

/**
 * Builds a body the schema accepts, with every optional property present so that mutations can reach
 * each field. Strings default to `fuzz_target` where the schema allows it, so that one created resource
 * is found by the operations that look resources up.
 */
export class ExampleBuilder {
  private readonly compiled = new WeakMap<Schema, ValidateFunction>();

  constructor(private readonly ajv: Ajv) {}

  accepts(schema: Schema, value: unknown): boolean {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.compiled.set(schema, validate);
    }
    return validate(value) as boolean;
  }

  /** A value the schema accepts: the full form if it is valid, else one with only required properties. */
  example(schema: Schema): unknown {
    const full = this.build(schema, true);
    if (this.accepts(schema, full)) return full;
    const minimal = this.build(schema, false);
    if (this.accepts(schema, minimal)) return minimal;
    throw new Error(`cannot build a valid example for the schema ${JSON.stringify(schema).slice(0, 500)}; teach test/schemaExample.ts its keywords`);
  }

  private build(schema: Schema, optional: boolean): unknown {
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum)) return schema.enum[0];
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = schema[key] as Schema[] | undefined;
      if (!branches) continue;
      for (const branch of branches) {
        const value = this.build(branch, optional);
        if (this.accepts(branch, value)) return value;
      }
      return this.build(branches[0], optional);
    }
    if (Array.isArray(schema.allOf)) return this.build(Object.assign({}, ...schema.allOf), optional);
    const type = Array.isArray(schema.type) ? (schema.type.find((t: string) => t !== 'null') ?? 'null') : schema.type;
    switch (type) {
      case 'object': {
        const required = new Set<string>(schema.required ?? []);
        const out: Record<string, unknown> = {};
        for (const [key, sub] of Object.entries<Schema>(schema.properties ?? {})) {
          if (optional || required.has(key)) out[key] = this.build(sub, optional);
        }
        return out;
      }
      case 'array': {
        if (Array.isArray(schema.prefixItems)) return schema.prefixItems.map((s: Schema) => this.build(s, optional));
        if (Array.isArray(schema.items)) return schema.items.map((s: Schema) => this.build(s, optional));
        const count = Math.max(schema.minItems ?? 0, schema.items ? 1 : 0);
        return Array.from({ length: count }, () => this.build(schema.items ?? {}, optional));
      }
      case 'string':
        return this.string(schema);
      case 'integer':
      case 'number':
        return this.number(schema, type === 'integer');
      case 'boolean':
        return false;
      case 'null':
        return null;
      default:
        return 'fuzz_target';
    }
  }

  private string(schema: Schema): string {
    const min = schema.minLength ?? 0;
    const max = schema.maxLength ?? Infinity;
    for (const seed of STRING_SEEDS) {
      let value = seed;
      while (value.length < min) value += seed.replace(/[^a-z]/g, '') || 'x';
      value = value.slice(0, Math.min(max, Math.max(min, seed.length)));
      if (this.accepts(schema, value)) return value;
    }
    return 'fuzz_target';
  }

  private number(schema: Schema, integer: boolean): number {
    let value = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    if (schema.maximum !== undefined) value = Math.min(value, schema.maximum);
    if (schema.multipleOf) value = Math.ceil(value / schema.multipleOf) * schema.multipleOf;
    return integer ? Math.ceil(value) : value;
  }
}

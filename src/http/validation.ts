import { errors, type ApiError, type FieldError } from './errors.ts';

export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `['ratelimits', '0', 'duration']` → `body.ratelimits[0].duration` */
export function fieldPath(parts: string[]): string {
  let path = 'body';
  for (const part of parts) {
    path += /^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return path;
}

/** A schema validator's instance path such as `/ratelimits/0/duration`, plus an optional last part, as a field path. */
function instanceFieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return fieldPath(parts);
}

function describe(e: SchemaError): FieldError {
  switch (e.keyword) {
    case 'required': {
      const location = instanceFieldPath(e.instancePath, String(e.params.missingProperty));
      return { location, message: `${location} is required` };
    }
    case 'additionalProperties': {
      const location = instanceFieldPath(e.instancePath, String(e.params.additionalProperty));
      return { location, message: `${location} is not a known field`, fix: 'remove the field' };
    }
    case 'type': {
      const location = instanceFieldPath(e.instancePath);
      return { location, message: `${location} must be of type ${String(e.params.type)}` };
    }
    default: {
      const location = instanceFieldPath(e.instancePath);
      return { location, message: `${location} ${e.message ?? 'is invalid'}` };
    }
  }
}

/** Turns schema-validator errors into the API's field errors, one per problem, without repeats. */
export function toFieldErrors(validation: SchemaError[]): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of validation) {
    // anyOf/oneOf wrappers only repeat what their branches already said.
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const fe = describe(e);
    const key = `${fe.location}|${fe.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(fe);
    }
  }
  return out.slice(0, 20);
}

/** The 400 for a body that fails its operation's schema, naming every field at fault. */
export function invalidBody(path: string, validation: SchemaError[]): ApiError {
  const fieldErrors = toFieldErrors(validation);
  return errors.invalidInput(
    `The request body for '${path}' is invalid: ${fieldErrors.map((f) => f.message).join('; ')}`,
    fieldErrors,
  );
}

/** Errors in the wire shape of the v2 API: `{meta, error: {title, detail, status, type, errors?}}`. */

const DOCS = 'https://unkey.com/docs/errors';

export interface FieldError {
  location: string;
  message: string;
  fix?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly type: string,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }

  toBody(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      title: this.title,
      detail: this.detail,
      status: this.status,
      type: this.type,
    };
    // Every 400-family answer carries an `errors` array, even when empty: clients require it.
    if (this.errors || this.status === 400 || this.status === 413) body.errors = this.errors ?? [];
    return body;
  }
}

// Operations whose every error is sent as application/problem+json, as the official SDK expects.
const PROBLEM_JSON_OPERATIONS = new Set(['/v2/identities.deleteIdentity']);

/** The media type of an error answer to a request for `path`. */
export function errorMediaType(path: string, accept: string | undefined, status: number): string {
  if (status === 429 || PROBLEM_JSON_OPERATIONS.has(path)) return 'application/problem+json';
  if (accept && accept.includes('application/problem+json')) return 'application/problem+json';
  return 'application/json';
}

export const errors = {
  invalidInput: (detail: string, fieldErrors: FieldError[] = []) =>
    new ApiError(400, 'Bad Request', `${DOCS}/unkey/application/invalid_input`, detail, fieldErrors),
  invalidJson: (message: string) =>
    new ApiError(400, 'Bad Request', `${DOCS}/unkey/application/invalid_input`, `The request body is not valid JSON: ${message}`.trim(), [
      { location: 'body', message: 'malformed JSON' },
    ]),
  emptyBody: () =>
    new ApiError(400, 'Bad Request', `${DOCS}/unkey/application/invalid_input`, 'The request body is empty; a JSON body is required.', [
      { location: 'body', message: 'body is empty' },
    ]),
  badContentLength: () =>
    new ApiError(400, 'Bad Request', `${DOCS}/unkey/application/invalid_input`, 'The Content-Length header does not match the body.', [
      { location: 'header.content-length', message: 'does not match the body' },
    ]),
  bodyTooLarge: (detail: string) =>
    new ApiError(413, 'Request Entity Too Large', `${DOCS}/user/bad_request/request_body_too_large`, detail, []),
  authMissing: () =>
    new ApiError(
      400,
      'Bad Request',
      `${DOCS}/unkey/authentication/missing`,
      "Authentication is required: send an 'Authorization: Bearer <root key>' header.",
      [{ location: 'header.authorization', message: 'the Authorization header is missing' }],
    ),
  authMalformed: () =>
    new ApiError(
      400,
      'Bad Request',
      `${DOCS}/unkey/authentication/malformed`,
      "The Authorization header must have the form 'Bearer <root key>'.",
      [{ location: 'header.authorization', message: "expected 'Bearer <root key>'" }],
    ),
  unknownRootKey: () =>
    new ApiError(
      401,
      'Unauthorized',
      `${DOCS}/unkey/authentication/key_not_found`,
      'The provided root key is invalid: no such root key exists.',
    ),
  missingPermissions: (anyOf: string[]) =>
    new ApiError(
      403,
      'Insufficient Permissions',
      `${DOCS}/unkey/authorization/insufficient_permissions`,
      anyOf.length === 1
        ? `Missing permission: '${anyOf[0]}'`
        : `Missing one of these permissions: ${anyOf.join(' or ')}`,
    ),
  notFound: (thing: string, detail: string) =>
    new ApiError(404, 'Not Found', `${DOCS}/unkey/data/${thing}_not_found`, detail),
  conflict: (thing: string, detail: string) =>
    new ApiError(409, 'Conflicting Resource', `${DOCS}/unkey/data/${thing}_already_exists`, detail),
  gone: (thing: string, detail: string) =>
    new ApiError(410, 'Resource Gone', `${DOCS}/unkey/data/${thing}_gone`, detail),
  preconditionFailed: (detail: string) =>
    new ApiError(412, 'Precondition Failed', `${DOCS}/unkey/application/precondition_failed`, detail),
  protectedResource: (detail: string) =>
    new ApiError(412, 'Resource is protected', `${DOCS}/unkey/application/protected_resource`, detail),
  routeNotFound: (method: string, url: string) =>
    new ApiError(404, 'Not Found', `${DOCS}/unkey/application/route_not_found`, `There is no route ${method} ${url}.`),
  internal: () =>
    new ApiError(
      500,
      'Internal Server Error',
      `${DOCS}/unkey/application/unexpected_error`,
      'Something unexpected went wrong; the error was logged.',
    ),
};

import { STATUS_CODES } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { newId } from './core/ids.ts';
import { ApiError, errorMediaType, errors } from './http/errors.ts';
import { RootKeyAuthenticator, type Principal } from './http/auth.ts';
import type { Route } from './http/route.ts';
import { LeanRoutes } from './http/lean.ts';
import { invalidBody, type SchemaError } from './http/validation.ts';
import { parseJsonBody } from './http/json.ts';
import { routes as allRoutes } from './routes/index.ts';
import type { Services } from './services.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function errorContentType(request: FastifyRequest, status: number): string {
  return errorMediaType(request.routeOptions.url ?? request.url, request.headers.accept, status);
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: ApiError): FastifyReply {
  return reply
    .code(err.status)
    .type(errorContentType(request, err.status))
    .send({ meta: { requestId: request.id }, error: err.toBody() });
}

/** Maps anything thrown while serving a request onto the API's error shape. */
function toApiError(request: FastifyRequest, err: unknown, bodyLimit: number): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { code?: string; statusCode?: number; validation?: unknown[]; message?: string };
  if (e.validation) return invalidBody(request.routeOptions.url ?? request.url, e.validation as SchemaError[]);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.bodyTooLarge(`The request body is larger than the ${bodyLimit} bytes this server accepts.`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.emptyBody();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.badContentLength();
  }
  if (err instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return errors.invalidJson(e.message ?? '');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(
      e.statusCode,
      STATUS_CODES[e.statusCode] ?? 'Bad Request',
      'https://unkey.com/docs/errors/unkey/application/invalid_input',
      e.message ?? 'The request cannot be served.',
      [],
    );
  }
  request.log.error({ err }, 'unexpected error');
  return errors.internal();
}

export interface ServerOptions {
  routes?: Route[];
  logger?: boolean;
}

/** Builds the HTTP app: envelope, errors, authentication and every operation. */
export async function buildServer(services: Services, options: ServerOptions = {}): Promise<FastifyInstance> {
  const routes = options.routes ?? allRoutes;
  const authenticator = new RootKeyAuthenticator(services.store);
  const lean = new LeanRoutes(routes, services, authenticator, (err) => app.log.error({ err }, 'unexpected error'));
  const app: FastifyInstance = Fastify({
    // Hot operations declared with defineLeanRoute are answered before Fastify sees them.
    serverFactory: (handler, opts) => lean.createServer(handler, opts),
    logger: options.logger === false ? false : { level: services.config.logLevel },
    // Per-request lines are off: at thousands of verifications a second they would dominate the cost.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: services.config.bodyLimit,
    genReqId: () => newId('req'),
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: true,
      },
    },
  });

  // Every body is read as JSON, whatever content type it declares (or none): curl users often forget the
  // header, and the API speaks nothing else.
  app.removeAllContentTypeParsers();
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.method === 'POST') request.headers['content-type'] = 'application/json';
    done();
  });
  app.addContentTypeParser('application/json', { parseAs: 'string' }, async (_request: FastifyRequest, body: string) =>
    parseJsonBody(body),
  );

  app.setErrorHandler((err, request, reply) => sendError(request, reply, toApiError(request, err, services.config.bodyLimit)));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, errors.routeNotFound(request.method, request.url)));

  app.get('/v2/liveness', async (request) => ({ meta: { requestId: request.id }, data: { message: 'OK' } }));

  for (const route of routes) {
    const schema = route.response ? { body: route.body, response: { 200: route.response } } : { body: route.body };
    app.post(`/v2/${route.operation}`, { schema }, async (request, reply) => {
      // Authentication runs in the handler, after schema validation, so a bad body is a 400 even with a
      // bad root key; doing it here rather than in a hook saves a hook round on every request.
      const auth = await authenticator.authenticate(request.headers.authorization);
      request.principal = auth;
      const result = await route.handler({ requestId: request.id, auth, services, request, reply }, request.body as never);
      return { meta: { requestId: request.id }, ...result };
    });
  }
  return app;
}

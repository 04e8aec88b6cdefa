import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import { newId } from '../core/ids.ts';
import type { Services } from '../services.ts';
import type { RootKeyAuthenticator } from './auth.ts';
import { ApiError, errorMediaType, errors } from './errors.ts';
import { parseJsonBody } from './json.ts';
import { renderData, type LeanContext, type ResponseBody, type Route } from './route.ts';
import { invalidBody, type SchemaError } from './validation.ts';

interface LeanEntry {
  path: string;
  validate: ValidateFunction;
  handler(ctx: LeanContext, body: unknown): Promise<ResponseBody>;
}

/** The HTTP server settings Fastify would apply to a server it created itself. */
export interface HttpServerOptions {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number;
}

/**
 * Serves the operations declared with `defineLeanRoute` straight from node:http. For a check that itself
 * takes a few microseconds, Fastify's per-request lifecycle (request and reply objects, hooks, child
 * loggers) is most of the cost. The contract stays that of every route: the body is checked against the
 * same schema with the same validator settings before the root key is authenticated, and answers and
 * errors have the same envelope. Any other request goes on to Fastify.
 */
export class LeanRoutes {
  private readonly entries = new Map<string, LeanEntry>();

  constructor(
    routes: Route<any>[],
    private readonly services: Services,
    private readonly authenticator: RootKeyAuthenticator,
    private readonly logError: (err: unknown) => void,
  ) {
    // The settings given to Fastify's validator in server.ts, so both paths accept and reject alike.
    const ajv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true });
    for (const route of routes) {
      if (!route.lean) continue;
      const path = `/v2/${route.operation}`;
      this.entries.set(path, {
        path,
        validate: ajv.compile(route.body),
        handler: route.handler as LeanEntry['handler'],
      });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** An HTTP server that answers lean operations itself and hands every other request to `fallback`. */
  createServer(
    fallback: (req: IncomingMessage, res: ServerResponse) => void,
    options: HttpServerOptions,
  ): Server {
    const server = createServer((req, res) => {
      const entry = req.method === 'POST' ? this.entries.get(req.url ?? '') : undefined;
      if (entry) this.serve(entry, req, res);
      else fallback(req, res);
    });
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  }

  private serve(entry: LeanEntry, req: IncomingMessage, res: ServerResponse): void {
    const requestId = newId('req');
    const limit = this.services.config.bodyLimit;
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (declared !== undefined && declared > limit) {
      this.fail(entry, req, res, requestId, errors.bodyTooLarge('The request body is larger than this server accepts.'));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > limit) {
        refused = true;
        this.fail(entry, req, res, requestId, errors.bodyTooLarge('The request body is larger than this server accepts.'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      refused = true;
    });
    req.on('end', () => {
      if (refused) return;
      if (declared !== undefined && declared !== received) {
        this.fail(entry, req, res, requestId, errors.badContentLength());
        return;
      }
      const text = chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString();
      this.handle(entry, req, res, requestId, text).catch((err) => this.fail(entry, req, res, requestId, err));
    });
  }

  private async handle(entry: LeanEntry, req: IncomingMessage, res: ServerResponse, requestId: string, text: string): Promise<void> {
    // The same parser as every other route: NUL characters, deep nesting and prototype keys are refused.
    const body = parseJsonBody(text);
    if (!entry.validate(body)) throw invalidBody(entry.path, entry.validate.errors as SchemaError[]);
    const header = req.headers.authorization;
    const auth = this.authenticator.cached(header) ?? (await this.authenticator.authenticate(header));
    const result = await entry.handler({ requestId, auth, services: this.services }, body);
    // Request ids are alphanumeric, so the envelope can be joined as text around the serialized result.
    const render = result[renderData];
    let payload: string;
    if (render !== undefined && result.pagination === undefined) {
      payload = `{"meta":{"requestId":"${requestId}"},"data":${render()}}`;
    } else {
      const rest = JSON.stringify(result);
      payload = `{"meta":{"requestId":"${requestId}"}${rest === '{}' ? '}' : `,${rest.slice(1)}`}`;
    }
    this.answers.push(res, payload);
    // The turn's first answer schedules the writing of them all.
    if (this.answers.length === 2) setImmediate(this.writeAnswers);
  }

  /**
   * Answers waiting to be written, as (response, payload) pairs. A turn of the event loop reads many
   * requests at once; their answers are written together once the turn's I/O is handled instead of one by
   * one between verifications. A client that waits for several answers is then woken once for the lot, not
   * once per answer, which on a busy machine costs more than the verifications themselves.
   */
  private readonly answers: (ServerResponse | string)[] = [];

  private readonly writeAnswers = (): void => {
    const answers = this.answers.splice(0);
    for (let i = 0; i < answers.length; i += 2) {
      const res = answers[i] as ServerResponse;
      const payload = answers[i + 1] as string;
      try {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
      } catch (err) {
        // One connection gone bad must not keep the other answers from being written.
        this.logError(err);
      }
    }
  };

  private fail(entry: LeanEntry, req: IncomingMessage, res: ServerResponse, requestId: string, err: unknown): void {
    let error: ApiError;
    if (err instanceof ApiError) error = err;
    else {
      this.logError(err);
      error = errors.internal();
    }
    if (res.headersSent) return;
    const payload = JSON.stringify({ meta: { requestId }, error: error.toBody() });
    res.writeHead(error.status, {
      'content-type': `${errorMediaType(entry.path, req.headers.accept, error.status)}; charset=utf-8`,
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  }
}

import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from './auth.ts';
import type { Services } from '../services.ts';

/**
 * Set on a lean route's answer: renders its `data` as JSON text exactly as `JSON.stringify(data)` would,
 * from parts cached by the handler's domain, which on the hottest route costs less than serialising the
 * whole object on every call. Symbol-keyed, so every other serialiser ignores it.
 */
export const renderData = Symbol('renderData');

/** The body of a successful answer, without `meta`, which the server adds. */
export type ResponseBody = {
  data?: unknown;
  pagination?: { hasMore: boolean; cursor?: string };
  [renderData]?: () => string;
};

export interface RouteContext {
  requestId: string;
  /** The authenticated root key; routes declared with `auth: false` get none. */
  auth: Principal;
  services: Services;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** What the handler of a lean route gets: Fastify never sees its requests, so there is no request or reply. */
export type LeanContext = Omit<RouteContext, 'request' | 'reply'>;

export interface Route<S extends TSchema = TSchema> {
  /** `<group>.<operation>`, served at `POST /v2/<group>.<operation>`. */
  operation: string;
  body: S;
  /**
   * Optional schema of the whole 200 body (`meta` included). Given, the answer is written by a serializer
   * compiled from it instead of JSON.stringify: for the hottest operations. Fields it does not name are dropped.
   */
  response?: TSchema;
  handler(ctx: RouteContext, body: Static<S>): Promise<ResponseBody>;
  /** Served by the lean path of `http/lean.ts`; set by `defineLeanRoute`, whose handler uses only `LeanContext`. */
  lean?: boolean;
}

/** Declares one operation: its request schema and its handler, with the body typed from the schema. */
export function defineRoute<S extends TSchema>(route: Route<S>): Route<S> {
  return route;
}

/**
 * Declares an operation on the hot path: served straight from node:http (see `http/lean.ts`) with the same
 * validation, authentication, envelope and errors as every other route, minus Fastify's per-request work.
 */
export function defineLeanRoute<S extends TSchema>(route: {
  operation: string;
  body: S;
  handler(ctx: LeanContext, body: Static<S>): Promise<ResponseBody>;
}): Route<S> {
  return { ...route, lean: true };
}

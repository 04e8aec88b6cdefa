import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from './auth.ts';
import type { Services } from '../services.ts';

/** The body of a successful answer, without `meta`, which the server adds. */
export type ResponseBody = { data?: unknown; pagination?: { hasMore: boolean; cursor?: string } };

export interface RouteContext {
  requestId: string;
  /** The authenticated root key; routes declared with `auth: false` get none. */
  auth: Principal;
  services: Services;
  request: FastifyRequest;
  reply: FastifyReply;
}

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
}

/** Declares one operation: its request schema and its handler, with the body typed from the schema. */
export function defineRoute<S extends TSchema>(route: Route<S>): Route<S> {
  return route;
}

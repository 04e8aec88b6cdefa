/** Domain shapes shared by the store, the verify pipeline and the routes. */

export type Meta = Record<string, unknown>;

export interface RatelimitConfig {
  id: string;
  name: string;
  limit: number;
  /** Window length in milliseconds. */
  duration: number;
  autoApply: boolean;
}

export interface RatelimitInput {
  name: string;
  limit: number;
  duration: number;
  autoApply?: boolean;
}

export interface Identity {
  id: string;
  workspaceId: string;
  externalId: string;
  meta: Meta;
  ratelimits: RatelimitConfig[];
}

export interface Page<T> {
  items: T[];
  /** Id of the first row of the next page; absent on the last page. */
  cursor?: string;
}

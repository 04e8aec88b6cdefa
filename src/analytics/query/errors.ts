/** Why a query was refused; each kind maps to one error type of the API. */
export type QueryErrorKind = 'invalid_query' | 'invalid_query_type' | 'invalid_table' | 'invalid_function';

export class QueryError extends Error {
  constructor(
    readonly kind: QueryErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const invalidQuery = (message: string) => new QueryError('invalid_query', message);

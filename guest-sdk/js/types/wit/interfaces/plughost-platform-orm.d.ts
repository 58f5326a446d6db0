/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/orm@0.1.0' {
  /**
   * Rows matching the query, as a JSON array.
   */
  export function findMany(model: string, query: Query): Json;
  /**
   * The first row matching the query.
   */
  export function findOne(model: string, query: Query): Json | undefined;
  /**
   * The row with this id (not soft-deleted).
   */
  export function findById(model: string, id: bigint): Json | undefined;
  /**
   * Inserts a row from a JSON object of fields; returns it with its id and timestamps.
   */
  export function create(model: string, values: Json): Json;
  /**
   * Sets the given fields of a row; none when no such row exists.
   */
  export function update(model: string, id: bigint, values: Json): Json | undefined;
  /**
   * Deletes a row (soft-delete models mark it); whether a row went.
   */
  export { _delete as delete };
  function _delete(model: string, id: bigint): boolean;
  /**
   * Rows matching the filters.
   */
  export function count(model: string, filters: Array<[string, Json]>): bigint;
  /**
   * One page (from 1) of `limit` rows (at most 1000) matching the query's filters and
   * order; the query's own limit and offset are ignored.
   */
  export function paginate(model: string, query: Query, page: bigint, limit: bigint): Page;
  /**
   * Opens a transaction for the rest of this invocation: the calls after it share it.
   * It ends at `commit` or `rollback`; if still open when the invocation ends, it
   * commits when the handler returned success, and rolls back when the handler
   * returned an error, trapped or ran past its deadline.
   */
  export function begin(): void;
  /**
   * Commits the open transaction.
   */
  export function commit(): void;
  /**
   * Rolls the open transaction back.
   */
  export function rollback(): void;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  /**
   * JSON text: an object for a row or for values, an array for several rows.
   */
  export type Json = string;
  /**
   * Sort direction.
   * # Variants
   * 
   * ## `"asc"`
   * 
   * ## `"desc"`
   */
  export type Direction = 'asc' | 'desc';
  /**
   * One sort key.
   */
  export interface Sort {
    field: string,
    direction: Direction,
  }
  /**
   * Which rows a read returns.
   */
  export interface Query {
    /**
     * Equality filters, ANDed: a field and a JSON value (`null` matches empty fields).
     */
    filters: Array<[string, Json]>,
    /**
     * Sort keys, first one first; rows are then ordered by id.
     */
    orderBy: Array<Sort>,
    /**
     * Most rows to return.
     */
    limit?: bigint,
    /**
     * Rows to skip.
     */
    offset?: bigint,
    /**
     * Also return soft-deleted rows.
     */
    includeDeleted: boolean,
  }
  /**
   * One page of rows.
   */
  export interface Page {
    /**
     * The rows, a JSON array.
     */
    data: Json,
    /**
     * Rows matching the filters in all.
     */
    total: bigint,
    /**
     * This page, from 1.
     */
    page: bigint,
    /**
     * Rows per page.
     */
    limit: bigint,
    /**
     * Pages in all.
     */
    totalPages: bigint,
  }
}

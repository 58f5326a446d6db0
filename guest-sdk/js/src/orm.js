// Repositories over the host's ORM: declare models in plugin.toml ([models.NAME]) and read
// and write rows as objects, never as SQL.
//
//     import { orm } from 'plughost';
//     const todos = new orm.Repository('todo');
//     const todo = todos.create({ title: 'Buy milk' });
//     const page = todos.paginate(1, 10, { done: false }); // {data, total, page, limit, totalPages}
//     orm.transaction(() => todos.update(todo.id, { done: true }));
//
// A refused or failed call throws the host's error, which ends the request with its status
// (denied 403, invalid 400, internal 500) unless caught.

import * as orm from 'plughost:platform/orm@0.1.0';

import { PlughostError, describe } from './http.js';

/** Which rows a read returns: equality filters (ANDed), sort keys, a window. */
export class Query {
  constructor(filters = {}) {
    this.filters = [];
    this.order = [];
    this.max = undefined;
    this.skip = undefined;
    this.withDeleted = false;
    for (const [field, value] of Object.entries(filters)) this.filter(field, value);
  }

  /** Only rows whose field equals value (null matches empty fields). */
  filter(field, value) {
    this.filters.push([field, JSON.stringify(value ?? null)]);
    return this;
  }

  orderBy(field, descending = false) {
    this.order.push({ field, direction: descending ? 'desc' : 'asc' });
    return this;
  }

  limit(n) {
    this.max = count(n, 'limit');
    return this;
  }

  offset(n) {
    this.skip = count(n, 'offset');
    return this;
  }

  /** Also return soft-deleted rows. */
  includeDeleted() {
    this.withDeleted = true;
    return this;
  }

  toWit() {
    return {
      filters: this.filters,
      orderBy: this.order,
      limit: this.max,
      offset: this.skip,
      includeDeleted: this.withDeleted,
    };
  }
}

function count(n, what) {
  if (!Number.isSafeInteger(Number(n)) || Number(n) < 0) {
    throw new PlughostError('invalid', `${what} must be a whole number of 0 or more, not ${describe(n)}`);
  }
  return BigInt(n);
}

/** A row id (a number, a bigint or a route param's digits) as the host takes it. */
function rowId(id) {
  if (typeof id === 'bigint') return id;
  const text = String(id);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new PlughostError('invalid', `'${text}' is not a row id`);
  }
  return BigInt(text);
}

/** A Query, or a plain object of equality filters. */
function asQuery(queryOrFilters) {
  if (queryOrFilters instanceof Query) return queryOrFilters;
  return new Query(queryOrFilters ?? {});
}

function row(text) {
  return text === undefined || text === null ? null : JSON.parse(text);
}

/** The rows of one model, as objects. */
export class Repository {
  constructor(model) {
    this.model = model;
  }

  /** Rows matching a Query or an object of filters. */
  findMany(query) {
    return JSON.parse(orm.findMany(this.model, asQuery(query).toWit()));
  }

  /** The first row matching, or null. */
  findOne(query) {
    return row(orm.findOne(this.model, asQuery(query).toWit()));
  }

  /** The row with this id (not soft-deleted), or null. */
  findById(id) {
    return row(orm.findById(this.model, rowId(id)));
  }

  /** Inserts a row; returns it with its id and timestamps. */
  create(values) {
    return JSON.parse(orm.create(this.model, JSON.stringify(values)));
  }

  /** Sets the given fields; null when there is no such row. */
  update(id, values) {
    return row(orm.update(this.model, rowId(id), JSON.stringify(values)));
  }

  /** Deletes a row (soft-delete models mark it); whether a row went. */
  delete(id) {
    return orm.delete(this.model, rowId(id));
  }

  /** Rows matching a Query's filters or an object of filters. */
  count(query) {
    return Number(orm.count(this.model, asQuery(query).filters));
  }

  /** One page (from 1) of `limit` rows: {data, total, page, limit, totalPages}. */
  paginate(page = 1, limit = 20, query = undefined) {
    const p = orm.paginate(this.model, asQuery(query).toWit(), count(page, 'page'), count(limit, 'limit'));
    return {
      data: JSON.parse(p.data),
      total: Number(p.total),
      page: Number(p.page),
      limit: Number(p.limit),
      totalPages: Number(p.totalPages),
    };
  }
}

/** Opens a transaction for the rest of this invocation (see `transaction`). */
export function begin() { orm.begin(); }
/** Commits the open transaction. */
export function commit() { orm.commit(); }
/** Rolls the open transaction back. */
export function rollback() { orm.rollback(); }

/** Runs `work` in a transaction: commits when it returns, rolls back (and rethrows) when it
 * throws. Returns what `work` returned. */
export function transaction(work) {
  orm.begin();
  let result;
  try {
    result = work();
  } catch (error) {
    orm.rollback();
    throw error;
  }
  orm.commit();
  return result;
}

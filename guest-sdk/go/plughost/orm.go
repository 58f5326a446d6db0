package plughost

import (
	"encoding/json"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	witorm "plughost/wit/imports/plughost_platform_orm"
)

// Query selects rows of a model: every row, refined with Filter, OrderBy, Limit, Offset and
// IncludeDeleted (each returns the query, for chaining). A nil *Query means every row.
type Query struct {
	raw witorm.Query
	err error
}

// NewQuery is a query for every row.
func NewQuery() *Query { return &Query{} }

// Filter keeps only rows whose `field` equals `value` (any Go value, encoded as JSON; nil
// matches empty fields).
func (q *Query) Filter(field string, value any) *Query {
	text, err := jsonText(value)
	if err != nil && q.err == nil {
		q.err = err
	}
	q.raw.Filters = append(q.raw.Filters, witTypes.Tuple2[string, string]{F0: field, F1: text})
	return q
}

// OrderBy adds a sort key, first one first; rows are then ordered by id.
func (q *Query) OrderBy(field string, descending bool) *Query {
	direction := witorm.Direction_Asc
	if descending {
		direction = witorm.Direction_Desc
	}
	q.raw.OrderBy = append(q.raw.OrderBy, witorm.Sort{Field: field, Direction: direction})
	return q
}

// Limit returns at most `limit` rows.
func (q *Query) Limit(limit uint64) *Query {
	q.raw.Limit = witTypes.Some(limit)
	return q
}

// Offset skips `offset` rows.
func (q *Query) Offset(offset uint64) *Query {
	q.raw.Offset = witTypes.Some(offset)
	return q
}

// IncludeDeleted also returns soft-deleted rows.
func (q *Query) IncludeDeleted() *Query {
	q.raw.IncludeDeleted = true
	return q
}

func (q *Query) wit() (witorm.Query, error) {
	if q == nil {
		return witorm.Query{}, nil
	}
	return q.raw, q.err
}

// Model is one of the module's models (plugin.toml [models.NAME]); rows are JSON objects.
type Model struct {
	name string
}

// M is the model `name`.
func M(name string) Model { return Model{name} }

// FindMany is the rows matching the query, a JSON array.
func (m Model) FindMany(query *Query) (json.RawMessage, error) {
	q, err := query.wit()
	if err != nil {
		return nil, err
	}
	rows, err := unwrap(witorm.FindMany(m.name, q))
	return json.RawMessage(rows), err
}

// FindOne is the first matching row; nil when there is none.
func (m Model) FindOne(query *Query) (json.RawMessage, error) {
	q, err := query.wit()
	if err != nil {
		return nil, err
	}
	return optionalRow(unwrap(witorm.FindOne(m.name, q)))
}

// FindByID is the row with this id; nil when there is none (or it is soft-deleted).
func (m Model) FindByID(id int64) (json.RawMessage, error) {
	return optionalRow(unwrap(witorm.FindById(m.name, id)))
}

// Create inserts a row from `values` (an object of fields: a map, a struct or a
// json.RawMessage) and returns it with id and timestamps. A field the model refuses is
// `invalid`, naming the model and field.
func (m Model) Create(values any) (json.RawMessage, error) {
	text, err := jsonText(values)
	if err != nil {
		return nil, err
	}
	row, err := unwrap(witorm.Create(m.name, text))
	return json.RawMessage(row), err
}

// Update sets the given fields and returns the row; nil when there is no such row.
func (m Model) Update(id int64, values any) (json.RawMessage, error) {
	text, err := jsonText(values)
	if err != nil {
		return nil, err
	}
	return optionalRow(unwrap(witorm.Update(m.name, id, text)))
}

// Delete deletes a row (soft-delete models mark it); whether one went.
func (m Model) Delete(id int64) (bool, error) {
	return unwrap(witorm.Delete(m.name, id))
}

// Count is the number of rows matching the query's filters.
func (m Model) Count(query *Query) (uint64, error) {
	q, err := query.wit()
	if err != nil {
		return 0, err
	}
	return unwrap(witorm.Count(m.name, q.Filters))
}

// Page is one page of rows.
type Page struct {
	Data       json.RawMessage // the rows, a JSON array
	Total      uint64          // rows matching the filters in all
	Page       uint64          // this page, from 1
	Limit      uint64          // rows per page
	TotalPages uint64
}

// Paginate is page `page` (from 1) of `limit` rows (at most 1000) in the query's filters
// and order.
func (m Model) Paginate(query *Query, page, limit uint64) (Page, error) {
	q, err := query.wit()
	if err != nil {
		return Page{}, err
	}
	got, err := unwrap(witorm.Paginate(m.name, q, page, limit))
	if err != nil {
		return Page{}, err
	}
	return Page{json.RawMessage(got.Data), got.Total, got.Page, got.Limit, got.TotalPages}, nil
}

// Begin starts a transaction for the rest of the invocation: it commits at Commit, or when
// the handler succeeds; it rolls back at Rollback, or when the handler fails or panics.
func Begin() error    { return check(witorm.Begin()) }
func Commit() error   { return check(witorm.Commit()) }
func Rollback() error { return check(witorm.Rollback()) }

func optionalRow(row witTypes.Option[string], err error) (json.RawMessage, error) {
	if err != nil || row.IsNone() {
		return nil, err
	}
	return json.RawMessage(row.Some()), nil
}

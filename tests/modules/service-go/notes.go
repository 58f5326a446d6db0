package main

import (
	"encoding/json"
	"strconv"

	"plughost"
)

var note = plughost.M("note")

func notes(router *plughost.Router) {
	router.Post("/notes", createNote).
		Get("/notes", listNotes).
		Get("/notes/{id}", showNote).
		Patch("/notes/{id}", updateNote).
		Delete("/notes/{id}", deleteNote).
		Post("/notes/batch", batch)
}

func noteID(request *plughost.Request) (int64, error) {
	id, err := strconv.ParseInt(request.Param("id"), 10, 64)
	if err != nil {
		return 0, plughost.ErrInvalid("'%s' is not a note id", request.Param("id"))
	}
	return id, nil
}

func createNote(request *plughost.Request) (*plughost.Response, error) {
	row, err := note.Create(json.RawMessage(request.Body()))
	if err != nil {
		return nil, err
	}
	return plughost.JSON(row).Status(201), nil
}

func listNotes(request *plughost.Request) (*plughost.Response, error) {
	query := plughost.NewQuery().OrderBy("rank", true)
	if done := request.Query("done"); done != "" {
		query.Filter("done", done == "true")
	}
	if title := request.Query("title"); title != "" {
		query.Filter("title", title)
	}
	page, _ := strconv.ParseUint(request.Query("page"), 10, 64)
	limit, _ := strconv.ParseUint(request.Query("limit"), 10, 64)
	if page == 0 {
		page = 1
	}
	if limit == 0 {
		limit = 20
	}
	got, err := note.Paginate(query, page, limit)
	if err != nil {
		return nil, err
	}
	count, err := note.Count(query)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Title string `json:"title"`
	}
	if err := plughost.Decode(got.Data, &rows); err != nil {
		return nil, err
	}
	var first any
	if len(rows) > 0 {
		first = rows[0].Title
	}
	return plughost.JSON(map[string]any{
		"data": got.Data, "total": got.Total, "count": count, "page": got.Page,
		"total_pages": got.TotalPages, "first_title": first,
	}), nil
}

func showNote(request *plughost.Request) (*plughost.Response, error) {
	id, err := noteID(request)
	if err != nil {
		return nil, err
	}
	row, err := note.FindByID(id)
	if err != nil {
		return nil, err
	}
	if row == nil {
		return nil, plughost.ErrNotFound("no note %d", id)
	}
	return plughost.JSON(row), nil
}

func updateNote(request *plughost.Request) (*plughost.Response, error) {
	id, err := noteID(request)
	if err != nil {
		return nil, err
	}
	row, err := note.Update(id, json.RawMessage(request.Body()))
	if err != nil {
		return nil, err
	}
	if row == nil {
		return nil, plughost.ErrNotFound("no note %d", id)
	}
	return plughost.JSON(row), nil
}

func deleteNote(request *plughost.Request) (*plughost.Response, error) {
	id, err := noteID(request)
	if err != nil {
		return nil, err
	}
	deleted, err := note.Delete(id)
	if err != nil {
		return nil, err
	}
	if !deleted {
		return nil, plughost.ErrNotFound("no note %d", id)
	}
	return plughost.Empty(204), nil
}

// batch creates every note of a JSON array in one transaction: all or none.
func batch(request *plughost.Request) (*plughost.Response, error) {
	var rows []json.RawMessage
	if err := request.JSON(&rows); err != nil {
		return nil, err
	}
	if err := plughost.Begin(); err != nil {
		return nil, err
	}
	for _, row := range rows {
		if _, err := note.Create(row); err != nil {
			plughost.Rollback()
			return nil, err
		}
	}
	if err := plughost.Commit(); err != nil {
		return nil, err
	}
	count, err := note.Count(nil)
	if err != nil {
		return nil, err
	}
	return plughost.JSON(map[string]any{"created": len(rows), "count": count}), nil
}

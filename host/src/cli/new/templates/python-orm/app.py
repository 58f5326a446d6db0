"""The {{name}} module: notes kept with the ORM."""

import json

from plughost import HttpError, Request, Response, Router, orm

router = Router()
notes = orm.Repository("note")


@router.get("/notes")
def index(request: Request) -> Response:
    return Response.json(json.dumps(notes.find_many(orm.Query().order_by("id"))))


@router.post("/notes")
def create(request: Request) -> Response:
    try:
        values = json.loads(request.text())
    except ValueError as error:
        raise HttpError("invalid", f"the body is not JSON: {error}")
    return Response.json(json.dumps(notes.create(values)), status=201)


@router.get("/notes/{id}")
def show(request: Request) -> Response:
    note_id = request.param("id")
    note = notes.find_by_id(int(note_id)) if note_id.isdigit() else None
    if note is None:
        raise HttpError("not-found", f"no note {note_id}")
    return Response.json(json.dumps(note))


HttpHandler = router.handler()

"""Test fixture: a small books API over the orm capability, written with the Python SDK."""

import json

from plughost import HttpError, Request, Response, Router, orm

router = Router()
books = orm.Repository("book")


def body(request: Request):
    try:
        return json.loads(request.text())
    except ValueError as error:
        raise HttpError("invalid", f"body is not JSON: {error}")


def book_id(request: Request) -> int:
    try:
        return int(request.param("id"))
    except (TypeError, ValueError):
        raise HttpError("not-found", f"no book {request.param('id')!r}")


@router.post("/books")
def create(request: Request) -> Response:
    return Response.json(json.dumps(books.create(body(request))), status=201)


@router.get("/books")
def index(request: Request) -> Response:
    filters = {}
    if "read" in request.query:
        filters["read"] = request.query["read"] == "true"
    query = orm.Query().order_by("year", descending=True)
    page = books.paginate(int(request.query.get("page", 1)), int(request.query.get("limit", 10)), query, **filters)
    return Response.json(json.dumps(page))


@router.get("/books/{id}")
def show(request: Request) -> Response:
    book = books.find_by_id(book_id(request))
    if book is None:
        raise HttpError("not-found", "no such book")
    return Response.json(json.dumps(book))


@router.patch("/books/{id}")
def update(request: Request) -> Response:
    book = books.update(book_id(request), body(request))
    if book is None:
        raise HttpError("not-found", "no such book")
    return Response.json(json.dumps(book))


@router.delete("/books/{id}")
def delete(request: Request) -> Response:
    if not books.delete(book_id(request)):
        raise HttpError("not-found", "no such book")
    return Response(204)


@router.post("/books/batch")
def batch(request: Request) -> Response:
    """Creates every book in one transaction; any bad one undoes them all."""
    with orm.transaction():
        created = [books.create(values) for values in body(request)]
    return Response.json(json.dumps({"created": len(created), "count": books.count()}))


HttpHandler = router.handler()

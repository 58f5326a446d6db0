"""Test fixture: objects and mail through the Python SDK (plughost.storage, plughost.mail).

    PUT    /objects/{*key}            stores the body with the request's content type (x-meta-NAME
                                      headers become metadata); 201 {key, size, content_type, etag}
    GET    /objects/{*key}?start=&end= the bytes (or a range), with the stored content type
    DELETE /objects/{*key}            204, or 404 when there was nothing
    GET    /head/{*key}               what the host knows of the object, and whether it exists
    GET    /list?prefix=&cursor=&limit= {keys, next_cursor}
    POST   /copy?source=&target=      the copy's info
    PUT    /raw?key=                  stores under a key from the query, as given (escape attempts)
    POST   /pieces?key=&count=&size=  an upload in pieces, then {info, url} (a published URL)
    POST   /mail                      {to, subject, text, from?, attachment_name?, attachment_text?,
                                      attachment_type?}; 201 {id}

A refused or invalid storage or mail call is not caught: the host's error (componentize-py's
Err) ends the request as 403 or 400, like any capability's.
"""

import json

from plughost import HttpError, Request, Response, Router, mail, storage

router = Router()


def info(o: storage.ObjectInfo) -> dict:
    return {
        "key": o.key,
        "size": o.size,
        "content_type": o.content_type,
        "etag": o.etag,
        "modified_ms": o.modified_ms,
        "metadata": [list(entry) for entry in o.metadata],
    }


def number(request: Request, name: str):
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise HttpError("invalid", f"{name} is not a number: {value!r}")


def store(request: Request, key: str) -> Response:
    metadata = {
        name[len("x-meta-"):]: value for name, value in request.headers.items() if name.startswith("x-meta-")
    }
    stored = storage.put(key, request.body, content_type=request.header("content-type"), metadata=metadata)
    return Response.json(json.dumps(info(stored)), status=201)


@router.put("/objects/{*key}")
def put(request: Request) -> Response:
    return store(request, request.param("key") or "")


@router.put("/raw")
def put_raw(request: Request) -> Response:
    return store(request, request.query.get("key", ""))


@router.get("/objects/{*key}")
def get(request: Request) -> Response:
    key = request.param("key") or ""
    if request.query.get("via") == "get":
        data = storage.get(key, start=number(request, "start"), end=number(request, "end"))
        return Response(200, [("content-type", storage.head(key).content_type)], bytes(data))
    # One call: the bytes and what the host knows of the object.
    obj = storage.read(key, start=number(request, "start"), end=number(request, "end"))
    return Response(200, [("content-type", obj.info.content_type)], bytes(obj.bytes))


@router.delete("/objects/{*key}")
def delete(request: Request) -> Response:
    if not storage.delete(request.param("key") or ""):
        raise HttpError("not-found", "no such object")
    return Response(204)


@router.get("/head/{*key}")
def head(request: Request) -> Response:
    key = request.param("key") or ""
    if not storage.exists(key):
        return Response.json(json.dumps({"exists": False}))
    return Response.json(json.dumps({"exists": True, "info": info(storage.head(key))}))


@router.get("/list")
def index(request: Request) -> Response:
    page = storage.list(
        request.query.get("prefix", ""),
        cursor=request.query.get("cursor") or None,
        limit=number(request, "limit") or 100,
    )
    return Response.json(json.dumps({"keys": storage.keys(page), "next_cursor": page.next_cursor}))


@router.post("/copy")
def copy(request: Request) -> Response:
    copied = storage.copy(request.query.get("source", ""), request.query.get("target", ""))
    return Response.json(json.dumps(info(copied)))


@router.post("/mail")
def send(request: Request) -> Response:
    try:
        spec = json.loads(request.text())
    except ValueError as error:
        raise HttpError("invalid", f"body is not JSON: {error}")
    to = spec.get("to", [])
    attachments = []
    if spec.get("attachment_name") is not None:
        attachments.append(
            mail.Attachment(
                spec["attachment_name"],
                spec.get("attachment_type", "text/plain"),
                spec.get("attachment_text", "").encode("utf-8"),
            )
        )
    message_id = mail.send(
        to=[to] if isinstance(to, str) else to,
        subject=spec.get("subject", ""),
        text=spec.get("text"),
        sender=spec.get("from"),
        attachments=attachments,
    )
    return Response.json(json.dumps({"id": message_id}), status=201)


@router.post("/pieces")
def pieces(request: Request) -> Response:
    """Writes ?count= pieces of ?size= bytes (piece i filled with the letter a+i) through an
    upload, then answers the object's info and a published URL."""
    key = request.query.get("key") or "pieces.bin"
    upload = storage.begin_upload(key, content_type="text/plain")
    for i in range(number(request, "count") or 1):
        upload.append(bytes([97 + i % 26]) * (number(request, "size") or 1))
    stored = upload.commit()
    url = storage.publish(key, number(request, "seconds") or 60)
    return Response.json(json.dumps({"info": info(stored), "url": url}), status=201)


HttpHandler = router.handler()

"""The {{name}} module: emits an event per greeting and handles the events it subscribes to."""

import json

from plughost import Request, Response, Router, events, log

router = Router()


@router.post("/greet/{who}")
def greet(request: Request) -> Response:
    event_id = events.emit("{{name}}.greeted.v1", {"who": request.param("who")})
    return Response.json(json.dumps({"event": event_id}), status=202)


HttpHandler = router.handler()

subscriptions = events.Subscriptions()


@subscriptions.on("{{name}}.greeted.v1")
def greeted(event: events.Event) -> None:
    log.info(f"{event.payload['who']} was greeted ({event.topic})")


EventHandler = subscriptions.handler()

"""A Python module with every handler: HTTP, a WebSocket namespace, events and jobs.

WebSocket `/py`:
    join {room}  -> the sender gets `joined {room}`, the room gets `presence {room, users}`
    say {room, text} -> the room gets `said {room, text, user}`; emits `service-py.said.v1`
    echo DATA -> the sender gets `echo DATA` (with the message's id)
Clients whose token says `sub = "mallory"` are refused at connect. The event handler logs
what was said and dispatches a `py-echo` job, whose handler logs it again.
"""

from plughost import Error, Response, Router, events, log, queue, ws

sockets = ws.Sockets()


@sockets.on_connect
def connect(connection: ws.Connection) -> None:
    if connection.user_id == "mallory":
        raise Error("denied", "mallory is not welcome here")


@sockets.on("join")
def join(connection: ws.Connection, message: ws.Message) -> None:
    room = message.data["room"]
    ws.join(room)
    ws.reply("joined", {"room": room})
    ws.to_room(room, "presence", {"room": room, "users": ws.presence(room)})


@sockets.on("say")
def say(connection: ws.Connection, message: ws.Message) -> None:
    room = message.data["room"]
    ws.to_room(room, "said", {"room": room, "text": message.data["text"], "user": connection.user_id})
    events.emit("service-py.said.v1", {"text": message.data["text"]})


@sockets.on("echo")
def echo(connection: ws.Connection, message: ws.Message) -> None:
    ws.reply("echo", message.data)


WsHandler = sockets.handler()

router = Router()


@router.get("/ping")
def ping(request) -> Response:
    return Response.text("pong")


def divide(a: int, b: int) -> float:
    return a / b


@router.get("/raise")
def fail(request) -> Response:
    return Response.text(str(divide(1, 0)))


@router.get("/none")
def forget(request):
    Response.text("built but not returned")


HttpHandler = router.handler()

subscriptions = events.Subscriptions()


@subscriptions.on("service-py.*")
def heard(event: events.Event) -> None:
    log.info(f"heard {event.payload['text']} on {event.topic}")
    queue.dispatch("py-echo", {"text": event.payload["text"]})


EventHandler = subscriptions.handler()

jobs = queue.Jobs()


@jobs.handle("py-echo")
def py_echo(job: queue.Job) -> None:
    log.info(f"job {job.queue} attempt {job.attempt}: {job.payload['text']}")


JobHandler = jobs.handler()

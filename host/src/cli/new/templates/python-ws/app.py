"""The {{name}} module: a WebSocket namespace that echoes and broadcasts."""

from plughost import ws

sockets = ws.Sockets()


@sockets.on("echo")
def echo(connection: ws.Connection, message: ws.Message) -> None:
    ws.reply("echo", message.data)


@sockets.on("broadcast")
def broadcast(connection: ws.Connection, message: ws.Message) -> None:
    ws.broadcast("broadcast", message.data)


WsHandler = sockets.handler()

package plughost

import (
	"encoding/json"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	witws "plughost/wit/imports/plughost_platform_ws"
)

// Connection is a WebSocket client of one of the module's [ws] namespaces.
type Connection struct {
	SocketID  string
	Namespace string          // e.g. "/chat"
	UserID    string          // the token's `sub`, "" without a token
	Claims    json.RawMessage // all claims of the token ("{}" without one)
}

// Message is a client's message.
type Message struct {
	Event string
	Data  json.RawMessage
	ID    string // the client's id for it, echoed by Reply; "" when none
}

// The calls below work while a connection or message is handled; `data` is any Go value,
// sent as JSON.

// Reply answers the message being handled (with its id).
func Reply(event string, data any) error {
	return withJSON(data, func(text string) error { return check(witws.Reply(event, text)) })
}

// SendError sends an error frame to the client being handled.
func SendError(code, message string) error { return check(witws.SendError(code, message)) }

// ToSocket sends to one socket of the namespace.
func ToSocket(socketID, event string, data any) error {
	return withJSON(data, func(text string) error { return check(witws.ToSocket(socketID, event, text)) })
}

// ToRoom sends to every socket in `room`.
func ToRoom(room, event string, data any) error {
	return withJSON(data, func(text string) error { return check(witws.ToRoom(room, event, text)) })
}

// ToUser sends to every socket of `userID`.
func ToUser(userID, event string, data any) error {
	return withJSON(data, func(text string) error { return check(witws.ToUser(userID, event, text)) })
}

// Broadcast sends to every socket of the namespace.
func Broadcast(event string, data any) error {
	return withJSON(data, func(text string) error { return check(witws.Broadcast(event, text)) })
}

// Join puts the socket being handled in `room`.
func Join(room string) error { return check(witws.Join(room)) }

// Leave takes the socket being handled out of `room`.
func Leave(room string) error { return check(witws.Leave(room)) }

// Presence is the users online in the namespace (room "") or in `room`, sorted, each once.
func Presence(room string) ([]string, error) {
	option := witTypes.None[string]()
	if room != "" {
		option = witTypes.Some(room)
	}
	return unwrap(witws.Presence(option))
}

func withJSON(data any, send func(text string) error) error {
	text, err := jsonText(data)
	if err != nil {
		return err
	}
	return send(text)
}

// MessageHandler handles the messages of one event.
type MessageHandler func(connection *Connection, message *Message) error

var (
	connectHandler    func(connection *Connection) error
	messageHandlers   = map[string]MessageHandler{}
	disconnectHandler func(connection *Connection)
)

// OnConnect is called when a client connects; an error refuses it. Default: accepted.
func OnConnect(handler func(connection *Connection) error) { connectHandler = handler }

// OnMessage handles the client messages of `event`; an error goes back to the client as an
// error frame.
func OnMessage(event string, handler MessageHandler) { messageHandlers[event] = handler }

// OnDisconnect is called when a client went away (its rooms are already left).
func OnDisconnect(handler func(connection *Connection)) { disconnectHandler = handler }

func dispatchMessage(connection *Connection, message *Message) error {
	if len(messageHandlers) == 0 {
		return ErrInternal("the module handles no WebSocket messages ('%s'); call plughost.OnMessage in an init function", message.Event)
	}
	handler, ok := messageHandlers[message.Event]
	if !ok {
		return ErrInvalid("unknown event '%s'", message.Event)
	}
	return handler(connection, message)
}

// Package plughost writes plughost modules in Go.
//
// `host build` compiles every .go file of a module folder (package main, app.go and any
// others) together with this package and bindings it generates from the platform's WIT, with
// Go's wasip1 port, and makes the result a component of the `service` world. A module
// registers the handlers it needs from an init function; every handler it leaves out gets a
// default (see handlers.go). `host build` supplies func main, so a module has none.
//
//	package main
//
//	import "plughost"
//
//	func init() {
//		router := plughost.NewRouter()
//		router.Get("/{name}", func(request *plughost.Request) (*plughost.Response, error) {
//			return plughost.Text("Hello, " + request.Param("name") + "!"), nil
//		})
//		plughost.Routes(router)
//	}
//
// ERRORS. A fallible call returns an error, which is a *plughost.Error (kind and message)
// when the platform refused; a handler may return it as it is: its kind gives the status
// (denied 403, invalid 400, not-found 404, internal 500). Any other error is internal.
//
// JSON. Rows, payloads and messages cross the boundary as JSON text: the SDK takes any Go
// value (encoded with encoding/json; a json.RawMessage is sent as it is) and hands back
// json.RawMessage, to decode with json.Unmarshal or the Decode helpers.
//
// A panic (or running past the deadline or the memory limit) ends the invocation with a 500
// and the host goes on serving. Each invocation may get a fresh instance: keep no state in
// package variables beyond what init sets up. fmt.Print and os.Stderr go to the host's log;
// modules get no files, no environment and no network.
package plughost

import (
	"encoding/json"
	"errors"
	"fmt"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	wittypes "plughost/wit/imports/plughost_platform_types"
)

// ErrorKind is the platform's error kind.
type ErrorKind uint8

const (
	// Denied: the module's grant does not cover it (403).
	Denied ErrorKind = ErrorKind(wittypes.Error_Denied)
	// Invalid: bad input (400).
	Invalid ErrorKind = ErrorKind(wittypes.Error_Invalid)
	// NotFound: the thing asked for does not exist (404).
	NotFound ErrorKind = ErrorKind(wittypes.Error_NotFound)
	// Internal: anything else (500).
	Internal ErrorKind = ErrorKind(wittypes.Error_Internal)
)

// String is "denied", "invalid", "not-found" or "internal".
func (k ErrorKind) String() string {
	switch k {
	case Denied:
		return "denied"
	case Invalid:
		return "invalid"
	case NotFound:
		return "not-found"
	default:
		return "internal"
	}
}

// Error is the platform's error: a kind and a message.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Kind.String() + ": " + e.Message }

// NewError is an error of `kind` with a fmt-formatted message.
func NewError(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ErrDenied, ErrInvalid, ErrNotFound and ErrInternal are NewError of each kind.
func ErrDenied(format string, args ...any) *Error   { return NewError(Denied, format, args...) }
func ErrInvalid(format string, args ...any) *Error  { return NewError(Invalid, format, args...) }
func ErrNotFound(format string, args ...any) *Error { return NewError(NotFound, format, args...) }
func ErrInternal(format string, args ...any) *Error { return NewError(Internal, format, args...) }

// KindOf is the kind of `err`: its own for a *Error (also wrapped), else Internal.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

func fromWit(e wittypes.Error) *Error {
	var message string
	switch e.Tag() {
	case wittypes.Error_Denied:
		message = e.Denied()
	case wittypes.Error_Invalid:
		message = e.Invalid()
	case wittypes.Error_NotFound:
		message = e.NotFound()
	default:
		message = e.Internal()
	}
	return &Error{Kind: ErrorKind(e.Tag()), Message: message}
}

func toWit(err error) wittypes.Error {
	var e *Error
	if !errors.As(err, &e) {
		return wittypes.MakeErrorInternal(err.Error())
	}
	switch e.Kind {
	case Denied:
		return wittypes.MakeErrorDenied(e.Message)
	case Invalid:
		return wittypes.MakeErrorInvalid(e.Message)
	case NotFound:
		return wittypes.MakeErrorNotFound(e.Message)
	default:
		return wittypes.MakeErrorInternal(e.Message)
	}
}

// unwrap is the value of a binding call's result, or the platform's error as a *Error.
func unwrap[T any](r witTypes.Result[T, wittypes.Error]) (T, error) {
	if r.IsErr() {
		var zero T
		return zero, fromWit(r.Err())
	}
	return r.Ok(), nil
}

func check[T any](r witTypes.Result[T, wittypes.Error]) error {
	_, err := unwrap(r)
	return err
}

// jsonText is `value` as JSON text: a json.RawMessage as it is, anything else encoded.
func jsonText(value any) (string, error) {
	switch v := value.(type) {
	case json.RawMessage:
		return string(v), nil
	case nil:
		return "null", nil
	}
	encoded, err := json.Marshal(value)
	if err != nil {
		return "", ErrInvalid("cannot encode %T as JSON: %v", value, err)
	}
	return string(encoded), nil
}

// Decode decodes the JSON text `data` into `into` (a pointer), an `invalid` error if it
// cannot.
func Decode(data json.RawMessage, into any) error {
	if err := json.Unmarshal(data, into); err != nil {
		return ErrInvalid("cannot decode %s: %v", string(data), err)
	}
	return nil
}

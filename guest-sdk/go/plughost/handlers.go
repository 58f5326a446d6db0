package plughost

import (
	"encoding/json"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	witevent "plughost/wit/imports/plughost_platform_event_types"
	withttp "plughost/wit/imports/plughost_platform_http_types"
	witjob "plughost/wit/imports/plughost_platform_job_types"
	wittypes "plughost/wit/imports/plughost_platform_types"
	witws "plughost/wit/imports/plughost_platform_ws_types"
)

// Handlers. A module registers those it needs from an init function; each one it leaves out
// has a default, so every module exports the whole `service` world and the host calls only
// what the manifest declares.

var httpHandler Handler

// Routes serves the module's [http] routes with `router`. Default: an `internal` error
// saying what to register.
func Routes(router *Router) { httpHandler = router.Dispatch }

// HandleHTTP serves every route with one handler (Routes with a Router is the usual way).
func HandleHTTP(handler Handler) { httpHandler = handler }

// The functions below are called by the code `host build` generates for the component's
// exports; a module does not call them.

// ExportHTTP answers one HTTP request.
func ExportHTTP(raw withttp.Request) witTypes.Result[withttp.Response, wittypes.Error] {
	defer endInvocation()
	request := &Request{raw}
	var response *Response
	var err error
	if httpHandler == nil {
		err = ErrInternal("the module serves no HTTP routes (%s %s); call plughost.Routes in an init function", raw.Method, raw.Route)
	} else {
		response, err = httpHandler(request)
	}
	if err == nil && response == nil {
		err = ErrInternal("the handler of %s %s returned neither a response nor an error", raw.Method, raw.Route)
	}
	if err == nil {
		err = response.err
	}
	if err != nil {
		return witTypes.Err[withttp.Response](toWit(err))
	}
	body := response.body
	if body == nil {
		body = []byte{}
	}
	return witTypes.Ok[withttp.Response, wittypes.Error](withttp.Response{Status: response.status, Headers: response.headers, Body: body})
}

func unit(err error) witTypes.Result[witTypes.Unit, wittypes.Error] {
	if err != nil {
		return witTypes.Err[witTypes.Unit](toWit(err))
	}
	return witTypes.Ok[witTypes.Unit, wittypes.Error](witTypes.Unit{})
}

// ExportEvent handles one event.
func ExportEvent(raw witevent.Event) witTypes.Result[witTypes.Unit, wittypes.Error] {
	defer endInvocation()
	return unit(dispatchEvent(&Event{raw.Id, raw.Topic, json.RawMessage(raw.Payload), raw.Source, raw.Time}))
}

// ExportJob runs one job.
func ExportJob(raw witjob.Job) witTypes.Result[witTypes.Unit, wittypes.Error] {
	defer endInvocation()
	return unit(dispatchJob(&Job{raw.Id, raw.Queue, json.RawMessage(raw.Payload), raw.Attempt, raw.MaxAttempts, raw.LastError.SomeOr("")}))
}

func connection(raw witws.Connection) *Connection {
	return &Connection{raw.SocketId, raw.Namespace, raw.UserId.SomeOr(""), json.RawMessage(raw.Claims)}
}

// ExportConnect admits or refuses one WebSocket client.
func ExportConnect(raw witws.Connection) witTypes.Result[witTypes.Unit, wittypes.Error] {
	defer endInvocation()
	if connectHandler == nil {
		return unit(nil)
	}
	return unit(connectHandler(connection(raw)))
}

// ExportMessage handles one client message.
func ExportMessage(raw witws.Connection, message witws.Message) witTypes.Result[witTypes.Unit, wittypes.Error] {
	defer endInvocation()
	return unit(dispatchMessage(connection(raw), &Message{message.Event, json.RawMessage(message.Data), message.Id.SomeOr("")}))
}

// ExportDisconnect tells of a client that went away.
func ExportDisconnect(raw witws.Connection) {
	defer endInvocation()
	if disconnectHandler != nil {
		disconnectHandler(connection(raw))
	}
}

// endInvocation releases what the invocation left open (the upload handles).
func endInvocation() { dropUploads() }

package plughost

import (
	"net/url"
	"strings"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	withttp "plughost/wit/imports/plughost_platform_http_types"
)

// Request is an HTTP request routed to the module.
type Request struct {
	raw withttp.Request
}

// Method is the upper-case method, e.g. "GET".
func (r *Request) Method() string { return r.raw.Method }

// Path is the full path, including the module's prefix.
func (r *Request) Path() string { return r.raw.Path }

// Route is the matched route pattern as declared in plugin.toml, e.g. "/{name}".
func (r *Request) Route() string { return r.raw.Route }

// Param is the value of route parameter `{name}` (the host percent-decoded it), "" when the
// route has none.
func (r *Request) Param(name string) string {
	for _, p := range r.raw.Params {
		if p.F0 == name {
			return p.F1
		}
	}
	return ""
}

// QueryString is the raw query string without '?' ("" when absent).
func (r *Request) QueryString() string { return r.raw.Query }

// Query is the first value of query parameter `name`, percent-decoded ('+' is a space);
// "" when absent.
func (r *Request) Query(name string) string {
	value, _ := r.LookupQuery(name)
	return value
}

// LookupQuery is the first value of query parameter `name` and whether the query has it.
func (r *Request) LookupQuery(name string) (string, bool) {
	values, _ := url.ParseQuery(r.raw.Query)
	if list, ok := values[name]; ok && len(list) > 0 {
		return list[0], true
	}
	return "", false
}

// Header is the value of header `name` (any case), "" when absent.
func (r *Request) Header(name string) string {
	value, _ := r.LookupHeader(name)
	return value
}

// LookupHeader is the value of header `name` (any case) and whether the request has it.
func (r *Request) LookupHeader(name string) (string, bool) {
	for _, h := range r.raw.Headers {
		if strings.EqualFold(h.F0, name) {
			return h.F1, true
		}
	}
	return "", false
}

// Body is the body's bytes.
func (r *Request) Body() []byte { return r.raw.Body }

// Text is the body as a string.
func (r *Request) Text() string { return string(r.raw.Body) }

// JSON decodes the body into `into` (a pointer); an `invalid` error when it cannot.
func (r *Request) JSON(into any) error { return Decode(r.raw.Body, into) }

// ID is the id the host gave the request (also sent back as x-request-id).
func (r *Request) ID() string { return r.raw.RequestId }

// Response is the module's answer; build one with Text, JSON, Bytes, Empty or Object, then
// chain Status and Header.
type Response struct {
	status  uint16
	headers []witTypes.Tuple2[string, string]
	body    []byte
	err     error
}

func newResponse(status uint16, contentType string, body []byte) *Response {
	response := &Response{status: status, body: body}
	if contentType != "" {
		response.Header("content-type", contentType)
	}
	return response
}

// Text is a 200 text/plain; charset=utf-8 response.
func Text(text string) *Response {
	return newResponse(200, "text/plain; charset=utf-8", []byte(text))
}

// JSON is a 200 application/json response of `value` (a json.RawMessage is sent as it is).
func JSON(value any) *Response {
	text, err := jsonText(value)
	response := newResponse(200, "application/json", []byte(text))
	response.err = err
	return response
}

// Bytes is a 200 response of `data` with the given content type ("": none).
func Bytes(contentType string, data []byte) *Response {
	return newResponse(200, contentType, data)
}

// Empty is a response with `status` and no body, e.g. Empty(204).
func Empty(status uint16) *Response { return newResponse(status, "", nil) }

// Object is the module's stored object at `key`, streamed by the host (content type, ETag,
// byte ranges): its bytes never pass through the module.
func Object(key string) *Response {
	return Empty(200).Header("x-plughost-object", key)
}

// Status sets the status; returns the response, for chaining.
func (r *Response) Status(status uint16) *Response {
	r.status = status
	return r
}

// Header adds a header; returns the response, for chaining.
func (r *Response) Header(name, value string) *Response {
	r.headers = append(r.headers, witTypes.Tuple2[string, string]{F0: name, F1: value})
	return r
}

// Handler answers one route.
type Handler func(request *Request) (*Response, error)

type route struct {
	method, pattern string
	handler         Handler
}

// Router maps the routes of plugin.toml's [http] to handlers.
type Router struct {
	routes []route
}

// NewRouter is an empty router; register it with Routes.
func NewRouter() *Router { return &Router{} }

// Handle adds a route: the method ("GET", ..., or "ANY") and pattern exactly as in
// plugin.toml. Returns the router, for chaining.
func (r *Router) Handle(method, pattern string, handler Handler) *Router {
	r.routes = append(r.routes, route{strings.ToUpper(method), pattern, handler})
	return r
}

func (r *Router) Get(pattern string, h Handler) *Router    { return r.Handle("GET", pattern, h) }
func (r *Router) Post(pattern string, h Handler) *Router   { return r.Handle("POST", pattern, h) }
func (r *Router) Put(pattern string, h Handler) *Router    { return r.Handle("PUT", pattern, h) }
func (r *Router) Patch(pattern string, h Handler) *Router  { return r.Handle("PATCH", pattern, h) }
func (r *Router) Delete(pattern string, h Handler) *Router { return r.Handle("DELETE", pattern, h) }
func (r *Router) Any(pattern string, h Handler) *Router    { return r.Handle("ANY", pattern, h) }

// Dispatch calls the handler of the first route matching the request's method and route;
// `not-found` when none does.
func (r *Router) Dispatch(request *Request) (*Response, error) {
	for _, route := range r.routes {
		if (route.method == request.Method() || route.method == "ANY") && route.pattern == request.Route() {
			return route.handler(request)
		}
	}
	return nil, ErrNotFound("the module has no handler for %s %s; add it to the Router", request.Method(), request.Route())
}

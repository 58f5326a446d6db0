// The Go hello module: GET /hello-go/{name} answers "Hello, {name}! (go)".
//
// Build and run from the repository root (Go comes from scripts/setup, into .venv):
//
//	host build examples/hello && host run --plugins examples/hello/plugins
//	curl localhost:8080/hello-go/Ada
package main

import "plughost"

func greet(request *plughost.Request) (*plughost.Response, error) {
	return plughost.Text("Hello, " + request.Param("name") + "! (go)"), nil
}

func init() {
	plughost.Routes(plughost.NewRouter().Get("/{name}", greet))
}

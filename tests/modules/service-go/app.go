// Test fixture: the Go SDK over every capability (see plugin.toml); notes.go holds the ORM
// routes, to show that every .go file of the folder is compiled.
package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"plughost"
)

func init() {
	router := plughost.NewRouter().
		Get("/ping", func(*plughost.Request) (*plughost.Response, error) { return plughost.Text("pong"), nil }).
		Any("/echo", echo).
		Get("/crash", crash).
		Get("/config/{key}", config).
		Put("/objects/{*key}", putObject).
		Get("/objects/{*key}", getObject).
		Post("/pieces", pieces).
		Post("/mail", sendMail)
	notes(router)
	plughost.Routes(router)

	plughost.OnConnect(func(connection *plughost.Connection) error {
		if connection.UserID == "mallory" {
			return plughost.ErrDenied("mallory is not welcome here")
		}
		return nil
	})
	plughost.OnMessage("join", join)
	plughost.OnMessage("say", say)
	plughost.OnMessage("echo", func(_ *plughost.Connection, message *plughost.Message) error {
		return plughost.Reply("echo", message.Data)
	})
	plughost.OnMessage("shout", func(_ *plughost.Connection, message *plughost.Message) error {
		return plughost.Broadcast("shouted", message.Data)
	})
	plughost.On("service-go.*", heard)
	plughost.OnJob("go-echo", func(job *plughost.Job) error {
		var payload struct{ Text string }
		if err := plughost.Decode(job.Payload, &payload); err != nil {
			return err
		}
		plughost.Info("job %s attempt %d: %s", job.Queue, job.Attempt, payload.Text)
		return nil
	})
}

func echo(request *plughost.Request) (*plughost.Response, error) {
	optional := func(value string, ok bool) any {
		if !ok {
			return nil
		}
		return value
	}
	response := plughost.JSON(map[string]any{
		"method": request.Method(),
		"path":   request.Path(),
		"route":  request.Route(),
		"q":      optional(request.LookupQuery("q")),
		"query":  request.QueryString(),
		"header": optional(request.LookupHeader("X-Test")),
		"body":   request.Text(),
		"length": len(request.Body()),
		"has_id": request.ID() != "",
	})
	if status, err := strconv.Atoi(request.Query("status")); err == nil {
		response.Status(uint16(status))
	}
	return response.Header("x-echo", "yes"), nil
}

func crash(request *plughost.Request) (*plughost.Response, error) {
	plughost.Info("about to panic on %s", request.Path())
	var notes map[string]int
	notes["boom"] = 1 // a nil map: panics
	return nil, nil
}

func config(request *plughost.Request) (*plughost.Response, error) {
	value, ok, err := plughost.Config(request.Param("key"))
	if err != nil {
		return nil, err
	}
	if !ok {
		return plughost.Empty(204), nil
	}
	return plughost.Text(value), nil
}

func putObject(request *plughost.Request) (*plughost.Response, error) {
	info, err := plughost.StoragePut(request.Param("key"), request.Body(), request.Header("content-type"),
		map[string]string{"author": "Ada"})
	if err != nil {
		return nil, err
	}
	return plughost.JSON(map[string]any{
		"key": info.Key, "size": info.Size, "content_type": info.ContentType,
		"metadata": [][]string{{"author", info.Metadata["author"]}},
	}).Status(201), nil
}

func getObject(request *plughost.Request) (*plughost.Response, error) {
	key := request.Param("key")
	if start := request.Query("start"); start != "" {
		from, _ := strconv.ParseUint(start, 10, 64)
		to, _ := strconv.ParseUint(request.Query("end"), 10, 64)
		data, err := plughost.StorageGetRange(key, from, to)
		if err != nil {
			return nil, err
		}
		return plughost.Bytes("application/octet-stream", data), nil
	}
	data, info, err := plughost.StorageRead(key)
	if err != nil {
		return nil, err
	}
	return plughost.Bytes(info.ContentType, data), nil
}

// pieces writes `count` pieces of `size` bytes ('a'.., 'b'.., ...) at `key`, then publishes it.
func pieces(request *plughost.Request) (*plughost.Response, error) {
	key := request.Query("key")
	count, err1 := strconv.Atoi(request.Query("count"))
	size, err2 := strconv.Atoi(request.Query("size"))
	if key == "" || err1 != nil || err2 != nil {
		return nil, plughost.ErrInvalid("pieces needs key, count and size")
	}
	upload, err := plughost.StorageBeginUpload(key, "text/plain")
	if err != nil {
		return nil, err
	}
	for i := 0; i < count; i++ {
		if err := upload.Append([]byte(strings.Repeat(string(rune('a'+i%26)), size))); err != nil {
			return nil, err
		}
	}
	written := upload.Written()
	info, err := upload.Commit()
	if err != nil {
		return nil, err
	}
	url, err := plughost.StoragePublish(key, 600)
	if err != nil {
		return nil, err
	}
	return plughost.JSON(map[string]any{"written": written, "size": info.Size, "url": url}).Status(201), nil
}

func sendMail(request *plughost.Request) (*plughost.Response, error) {
	var spec struct{ To, Subject, Text, From string }
	if err := request.JSON(&spec); err != nil {
		return nil, err
	}
	mail := plughost.NewMail(spec.Subject).To(spec.To).Text(spec.Text).
		Attach("note.txt", "text/plain", []byte("attached by Go"))
	if spec.From != "" {
		mail.From(spec.From)
	}
	id, err := mail.Send()
	if err != nil {
		return nil, err
	}
	return plughost.JSON(map[string]string{"id": id}).Status(201), nil
}

type roomText struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

func join(_ *plughost.Connection, message *plughost.Message) error {
	var data roomText
	if err := plughost.Decode(message.Data, &data); err != nil || data.Room == "" {
		return plughost.ErrInvalid("join needs a room")
	}
	if err := plughost.Join(data.Room); err != nil {
		return err
	}
	if err := plughost.Reply("joined", map[string]string{"room": data.Room}); err != nil {
		return err
	}
	users, err := plughost.Presence(data.Room)
	if err != nil {
		return err
	}
	return plughost.ToRoom(data.Room, "presence", map[string]any{"room": data.Room, "users": users})
}

func say(connection *plughost.Connection, message *plughost.Message) error {
	var data roomText
	if err := plughost.Decode(message.Data, &data); err != nil || data.Room == "" || data.Text == "" {
		return plughost.ErrInvalid("say needs a room and a text")
	}
	said := map[string]string{"room": data.Room, "text": data.Text, "user": connection.UserID}
	if err := plughost.ToRoom(data.Room, "said", said); err != nil {
		return err
	}
	_, err := plughost.Emit("service-go.said.v1", map[string]string{"text": data.Text})
	return err
}

func heard(event *plughost.Event) error {
	var payload struct{ Text string }
	if err := plughost.Decode(event.Payload, &payload); err != nil {
		return err
	}
	plughost.Info("heard %s on %s", payload.Text, event.Topic)
	if _, err := plughost.M("note").Create(map[string]string{"title": "heard: " + payload.Text}); err != nil {
		return err
	}
	_, err := plughost.Enqueue("go-echo", json.RawMessage(`{"text":`+strconv.Quote(payload.Text)+`}`), 0, 0)
	return err
}

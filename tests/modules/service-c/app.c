/* A C module with every handler: HTTP over the ORM, a WebSocket namespace, events and jobs.
 *
 * HTTP /service-c:
 *   GET /ping -> pong;  ANY /echo -> what the request accessors saw, as JSON
 *   GET /crash -> abort() (a trap);  GET /config/{key} -> the config value
 *   /notes: create, list (?done=, ?title=, ?page=, ?limit=; by rank, descending), show,
 *   update, delete, and POST /notes/batch (a JSON array, in one transaction)
 *   PUT/GET /objects/{*key} (storage);  POST /pieces?key=&count=&size= (an upload in pieces,
 *   published);  POST /mail {"to", "subject", "text"}
 * WebSocket /c:
 *   join {room}  -> the sender gets `joined {room}`, the room gets `presence {room, users}`
 *   say {room, text} -> the room gets `said {room, text, user}`; emits `service-c.said.v1`
 *   echo DATA -> the sender gets `echo DATA` (with the message's id)
 *   shout DATA -> every socket of the namespace gets `shouted DATA`
 * Clients whose token says `sub = "mallory"` are refused at connect. The event handler logs
 * what was said, stores it as a note and dispatches a `c-echo` job, whose handler logs it.
 */
#include <stdlib.h>
#include <string.h>

#include "plughost.h"

/* ---- HTTP ---- */

static ph_response *ping(const ph_request *request) {
    (void)request;
    return ph_response_text("pong");
}

static const char *or_null(const char *s) { return s == NULL ? "null" : ph_json_quote(s); }

static ph_response *echo(const ph_request *request) {
    size_t len;
    ph_request_body(request, &len);
    const char *json = ph_format(
        "{\"method\":%s,\"path\":%s,\"route\":%s,\"q\":%s,\"query\":%s,\"header\":%s,"
        "\"body\":%s,\"length\":%zu,\"has_id\":%s}",
        ph_json_quote(ph_request_method(request)), ph_json_quote(ph_request_path(request)),
        ph_json_quote(ph_request_route(request)), or_null(ph_request_query(request, "q")),
        ph_json_quote(ph_request_query_string(request)), or_null(ph_request_header(request, "X-Test")),
        ph_json_quote(ph_request_text(request)), len, *ph_request_id(request) ? "true" : "false");
    ph_response *response = ph_response_json(json);
    const char *status = ph_request_query(request, "status");
    if (status != NULL) {
        ph_response_status(response, (uint16_t)atoi(status));
    }
    return ph_response_header(response, "x-echo", "yes");
}

static ph_response *crash(const ph_request *request) {
    ph_log_info("about to abort on %s", ph_request_path(request));
    abort();
}

static ph_response *config(const ph_request *request) {
    const char *value;
    ph_error *error = ph_config_get(ph_request_param(request, "key"), &value);
    if (error) {
        return ph_response_error(error);
    }
    return value == NULL ? ph_response_empty(204) : ph_response_text(value);
}

static bool note_id(const ph_request *request, int64_t *id) {
    char *end;
    const char *text = ph_request_param(request, "id");
    long long parsed = strtoll(text, &end, 10);
    *id = parsed;
    return *text != '\0' && *end == '\0';
}

static ph_response *create_note(const ph_request *request) {
    const char *row;
    ph_error *error = ph_orm_create("note", ph_request_text(request), &row);
    if (error) {
        return ph_response_error(error);
    }
    return ph_response_status(ph_response_json(row), 201);
}

static ph_response *list_notes(const ph_request *request) {
    ph_query *query = ph_query_order_by(ph_query_new(), "rank", true);
    const char *done = ph_request_query(request, "done");
    if (done != NULL) {
        ph_query_filter(query, "done", strcmp(done, "true") == 0 ? "true" : "false");
    }
    const char *title = ph_request_query(request, "title");
    if (title != NULL) {
        ph_query_filter(query, "title", ph_json_quote(title));
    }
    const char *page_text = ph_request_query(request, "page");
    const char *limit_text = ph_request_query(request, "limit");
    ph_page page;
    ph_error *error = ph_orm_paginate("note", query, page_text ? strtoull(page_text, NULL, 10) : 1,
                                      limit_text ? strtoull(limit_text, NULL, 10) : 20, &page);
    if (error) {
        return ph_response_error(error);
    }
    uint64_t count;
    if ((error = ph_orm_count("note", query, &count))) {
        return ph_response_error(error);
    }
    return ph_response_json(ph_format(
        "{\"data\":%s,\"total\":%llu,\"count\":%llu,\"page\":%llu,\"total_pages\":%llu,\"first_title\":%s}",
        page.data, (unsigned long long)page.total, (unsigned long long)count,
        (unsigned long long)page.page, (unsigned long long)page.total_pages,
        or_null(ph_json_get_string(ph_json_at(page.data, 0), "title"))));
}

static ph_response *show_note(const ph_request *request) {
    int64_t id;
    if (!note_id(request, &id)) {
        return ph_response_error(ph_error_new(PH_INVALID, "'%s' is not a note id", ph_request_param(request, "id")));
    }
    const char *row;
    ph_error *error = ph_orm_find_by_id("note", id, &row);
    if (error) {
        return ph_response_error(error);
    }
    if (row == NULL) {
        return ph_response_error(ph_error_new(PH_NOT_FOUND, "no note %lld", (long long)id));
    }
    return ph_response_json(row);
}

static ph_response *update_note(const ph_request *request) {
    int64_t id;
    if (!note_id(request, &id)) {
        return ph_response_error(ph_error_new(PH_INVALID, "not a note id"));
    }
    const char *row;
    ph_error *error = ph_orm_update("note", id, ph_request_text(request), &row);
    if (error) {
        return ph_response_error(error);
    }
    if (row == NULL) {
        return ph_response_error(ph_error_new(PH_NOT_FOUND, "no note %lld", (long long)id));
    }
    return ph_response_json(row);
}

static ph_response *delete_note(const ph_request *request) {
    int64_t id;
    bool deleted;
    if (!note_id(request, &id)) {
        return ph_response_error(ph_error_new(PH_INVALID, "not a note id"));
    }
    ph_error *error = ph_orm_delete("note", id, &deleted);
    if (error) {
        return ph_response_error(error);
    }
    if (!deleted) {
        return ph_response_error(ph_error_new(PH_NOT_FOUND, "no note %lld", (long long)id));
    }
    return ph_response_empty(204);
}

/* Creates every note of a JSON array in one transaction: all or none. */
static ph_response *batch(const ph_request *request) {
    const char *notes = ph_request_text(request);
    ph_error *error = ph_orm_begin();
    if (error) {
        return ph_response_error(error);
    }
    size_t n = ph_json_length(notes);
    for (size_t i = 0; i < n; i++) {
        if ((error = ph_orm_create("note", ph_json_at(notes, i), NULL))) {
            ph_orm_rollback();
            return ph_response_error(error);
        }
    }
    if ((error = ph_orm_commit())) {
        return ph_response_error(error);
    }
    uint64_t count;
    if ((error = ph_orm_count("note", NULL, &count))) {
        return ph_response_error(error);
    }
    return ph_response_json(ph_format("{\"created\":%zu,\"count\":%llu}", n, (unsigned long long)count));
}

static ph_response *put_object(const ph_request *request) {
    size_t len;
    const uint8_t *body = ph_request_body(request, &len);
    ph_pair metadata[] = {{"author", "Ada"}};
    ph_object_info info;
    ph_error *error = ph_storage_put(ph_request_param(request, "key"), body, len,
                                     ph_request_header(request, "content-type"), metadata, 1, &info);
    if (error) {
        return ph_response_error(error);
    }
    return ph_response_status(
        ph_response_json(ph_format("{\"key\":%s,\"size\":%llu,\"content_type\":%s,\"metadata\":[[%s,%s]]}",
                                   ph_json_quote(info.key), (unsigned long long)info.size,
                                   ph_json_quote(info.content_type), ph_json_quote(info.metadata[0].name),
                                   ph_json_quote(info.metadata[0].value))),
        201);
}

static ph_response *get_object(const ph_request *request) {
    const char *key = ph_request_param(request, "key");
    const char *start = ph_request_query(request, "start");
    const uint8_t *data;
    size_t len;
    ph_object_info info;
    ph_error *error;
    if (start != NULL) {
        const char *end = ph_request_query(request, "end");
        error = ph_storage_get_range(key, strtoull(start, NULL, 10),
                                     end ? strtoull(end, NULL, 10) : UINT64_MAX, &data, &len);
        info.content_type = "application/octet-stream";
    } else {
        error = ph_storage_read(key, &data, &len, &info);
    }
    if (error) {
        return ph_response_error(error);
    }
    return ph_response_bytes(info.content_type, data, len);
}

/* Writes `count` pieces of `size` bytes ('a'.., 'b'.., ...) at `key`, then publishes it. */
static ph_response *pieces(const ph_request *request) {
    const char *key = ph_request_query(request, "key");
    const char *count_text = ph_request_query(request, "count");
    const char *size_text = ph_request_query(request, "size");
    if (key == NULL || count_text == NULL || size_text == NULL) {
        return ph_response_error(ph_error_new(PH_INVALID, "pieces needs key, count and size"));
    }
    size_t count = strtoul(count_text, NULL, 10);
    size_t size = strtoul(size_text, NULL, 10);
    ph_upload *upload;
    ph_error *error = ph_storage_begin_upload(key, "text/plain", &upload);
    if (error) {
        return ph_response_error(error);
    }
    char *piece = ph_alloc(size);
    for (size_t i = 0; i < count; i++) {
        memset(piece, 'a' + (int)(i % 26), size);
        if ((error = ph_upload_append(upload, piece, size))) {
            return ph_response_error(error);
        }
    }
    uint64_t written = ph_upload_written(upload);
    ph_object_info info;
    const char *url;
    if ((error = ph_upload_commit(upload, &info)) || (error = ph_storage_publish(key, 600, &url))) {
        return ph_response_error(error);
    }
    return ph_response_status(
        ph_response_json(ph_format("{\"written\":%llu,\"size\":%llu,\"url\":%s}", (unsigned long long)written,
                                   (unsigned long long)info.size, ph_json_quote(url))),
        201);
}

static ph_response *send_mail(const ph_request *request) {
    const char *spec = ph_request_text(request);
    ph_mail *mail = ph_mail_new(ph_json_get_string(spec, "subject"));
    ph_mail_to(mail, ph_json_get_string(spec, "to"));
    ph_mail_text(mail, ph_json_get_string(spec, "text"));
    const char *from = ph_json_get_string(spec, "from");
    if (from != NULL) {
        ph_mail_from(mail, from);
    }
    const char *note = "attached by C";
    ph_mail_attach(mail, "note.txt", "text/plain", note, strlen(note));
    const char *id;
    ph_error *error = ph_mail_send(mail, &id);
    if (error) {
        return ph_response_error(error);
    }
    return ph_response_status(ph_response_json(ph_format("{\"id\":%s}", ph_json_quote(id))), 201);
}

PH_ROUTES(
    PH_GET("/ping", ping),
    PH_ANY("/echo", echo),
    PH_GET("/crash", crash),
    PH_GET("/config/{key}", config),
    PH_POST("/notes", create_note),
    PH_GET("/notes", list_notes),
    PH_GET("/notes/{id}", show_note),
    PH_PATCH("/notes/{id}", update_note),
    PH_DELETE("/notes/{id}", delete_note),
    PH_POST("/notes/batch", batch),
    PH_PUT("/objects/{*key}", put_object),
    PH_GET("/objects/{*key}", get_object),
    PH_POST("/pieces", pieces),
    PH_POST("/mail", send_mail)
)

/* ---- WebSockets ---- */

ph_error *ph_ws_connect(const ph_connection *connection) {
    if (connection->user_id != NULL && strcmp(connection->user_id, "mallory") == 0) {
        return ph_error_new(PH_DENIED, "mallory is not welcome here");
    }
    return NULL;
}

static ph_error *join(const ph_connection *connection, const ph_message *message) {
    (void)connection;
    const char *room = ph_json_get_string(message->data, "room");
    if (room == NULL) {
        return ph_error_new(PH_INVALID, "join needs a room");
    }
    ph_error *error;
    ph_strings users;
    const char *quoted = ph_json_quote(room);
    if ((error = ph_ws_join(room)) || (error = ph_ws_reply("joined", ph_format("{\"room\":%s}", quoted))) ||
        (error = ph_ws_presence(room, &users))) {
        return error;
    }
    return ph_ws_to_room(room, "presence",
                         ph_format("{\"room\":%s,\"users\":%s}", quoted, ph_json_strings(&users)));
}

static ph_error *say(const ph_connection *connection, const ph_message *message) {
    const char *room = ph_json_get_string(message->data, "room");
    const char *text = ph_json_get_string(message->data, "text");
    if (room == NULL || text == NULL) {
        return ph_error_new(PH_INVALID, "say needs a room and a text");
    }
    ph_error *error = ph_ws_to_room(room, "said",
                                    ph_format("{\"room\":%s,\"text\":%s,\"user\":%s}", ph_json_quote(room),
                                              ph_json_quote(text), or_null(connection->user_id)));
    if (error) {
        return error;
    }
    return ph_events_emit("service-c.said.v1", ph_format("{\"text\":%s}", ph_json_quote(text)), NULL);
}

static ph_error *echo_message(const ph_connection *connection, const ph_message *message) {
    (void)connection;
    return ph_ws_reply("echo", message->data);
}

static ph_error *shout(const ph_connection *connection, const ph_message *message) {
    (void)connection;
    return ph_ws_broadcast("shouted", message->data);
}

PH_MESSAGES(
    PH_MESSAGE("join", join),
    PH_MESSAGE("say", say),
    PH_MESSAGE("echo", echo_message),
    PH_MESSAGE("shout", shout)
)

/* ---- Events and jobs ---- */

static ph_error *heard(const ph_event *event) {
    const char *text = ph_json_get_string(event->payload, "text");
    ph_log_info("heard %s on %s", text, event->topic);
    ph_error *error = ph_orm_create("note", ph_format("{\"title\":%s}", ph_json_quote(ph_format("heard: %s", text))),
                                    NULL);
    if (error) {
        return error;
    }
    return ph_queue_dispatch("c-echo", ph_format("{\"text\":%s}", ph_json_quote(text)), 0, 0, NULL);
}

PH_SUBSCRIPTIONS(
    PH_ON("service-c.*", heard)
)

static ph_error *c_echo(const ph_job *job) {
    ph_log_info("job %s attempt %u: %s", job->queue, (unsigned)job->attempt,
                ph_json_get_string(job->payload, "text"));
    return NULL;
}

PH_JOBS(
    PH_JOB("c-echo", c_echo)
)

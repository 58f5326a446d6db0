/*
 * plughost.h: write plughost modules in C.
 *
 * `host build` compiles every .c file of a module folder (app.c and any others) together
 * with this SDK and bindings it generates from the platform's WIT, with `zig cc`, and makes
 * the result a component of the `service` world. A module defines the handlers it needs;
 * the SDK gives every handler it leaves out a default (see "Handlers" below).
 *
 *     #include "plughost.h"
 *
 *     static ph_response *greet(const ph_request *request) {
 *         return ph_response_text(ph_format("Hello, %s!", ph_request_param(request, "name")));
 *     }
 *
 *     PH_ROUTES(
 *         PH_GET("/{name}", greet)
 *     )
 *
 * MEMORY. Everything the SDK hands out or builds (strings, requests, responses, errors,
 * queries, mails, rows) lives in the invocation's arena: it stays valid until the handler
 * that is running returns, and is then released at once. Never free() it; copy what must
 * outlive the invocation (a module normally keeps nothing: each invocation may get a fresh
 * instance). Strings passed to the SDK are copied when needed, so they may be the module's
 * own buffers, string literals or arena strings alike. Memory the module gets with malloc()
 * is its own to free().
 *
 * STRINGS are NUL-terminated UTF-8; bytes (bodies, objects) come as pointer and length.
 * JSON crosses the boundary as text: build it with ph_format and ph_json_quote, read it with
 * the ph_json_* accessors.
 *
 * ERRORS. A fallible call returns `ph_error *`: NULL on success, else the platform's error
 * (kind and message), which a handler can return as it is:
 *
 *     const char *row;
 *     ph_error *error = ph_orm_create("book", ph_request_text(request), &row);
 *     if (error) return ph_response_error(error);   // 400 for invalid, 403 for denied, ...
 *
 * Outputs are written only on success. A trap (abort(), an access beyond linear memory,
 * running past the deadline or the memory limit) ends the invocation with a 500 and the
 * host goes on serving. Beware: a NULL dereference does not trap in WebAssembly (address 0
 * is ordinary memory), so check what may be NULL.
 *
 * OUTPUT. printf and stderr go to the host's log (stdout is buffered: fflush it, or use
 * ph_log). Modules get no files, no environment and no network: fopen and getenv fail.
 */
#ifndef PLUGHOST_H
#define PLUGHOST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * Arena memory and strings
 * ------------------------------------------------------------------------------------- */

/* `size` bytes (zeroed, aligned for any type) that live until the handler returns. */
void *ph_alloc(size_t size);
/* A copy of `s` in the arena (NULL stays NULL). */
char *ph_strdup(const char *s);
/* A copy of the first `len` bytes at `s`, NUL-terminated. */
char *ph_strndup(const char *s, size_t len);
/* printf into the arena. */
char *ph_format(const char *format, ...) __attribute__((format(printf, 1, 2)));
char *ph_vformat(const char *format, va_list args);

/* A list of strings (arena). */
typedef struct ph_strings {
    const char **items;
    size_t len;
} ph_strings;

/* Name/value pairs (headers, metadata; arena). */
typedef struct ph_pair {
    const char *name;
    const char *value;
} ph_pair;

/* ---------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------- */

typedef enum ph_error_kind {
    PH_DENIED = 0,    /* the grant does not cover it: 403 */
    PH_INVALID = 1,   /* bad input: 400 */
    PH_NOT_FOUND = 2, /* 404 */
    PH_INTERNAL = 3,  /* anything else: 500 */
} ph_error_kind;

typedef struct ph_error {
    ph_error_kind kind;
    const char *message;
} ph_error;

/* A new error (arena) with a printf-formatted message. */
ph_error *ph_error_new(ph_error_kind kind, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* "denied", "invalid", "not-found" or "internal". */
const char *ph_error_kind_name(ph_error_kind kind);

/* ---------------------------------------------------------------------------------------
 * JSON helpers: text in, text out (all results in the arena)
 * ------------------------------------------------------------------------------------- */

/* `s` as a JSON string literal, quotes included: ph_json_quote("a\"b") is "\"a\\\"b\"". */
char *ph_json_quote(const char *s);
/* A JSON array of strings: ["a","b"]. */
char *ph_json_strings(const ph_strings *strings);
/* The raw JSON text of member `key` of the object `json`, or NULL when it has none
 * (or `json` is not an object). */
const char *ph_json_get(const char *json, const char *key);
/* Member `key` as a string (unescaped), or NULL when absent or not a string. */
const char *ph_json_get_string(const char *json, const char *key);
/* Member `key` as an integer; false when absent or not an integer. */
bool ph_json_get_int(const char *json, const char *key, int64_t *value);
/* Member `key` as a boolean; false when absent or not true/false. */
bool ph_json_get_bool(const char *json, const char *key, bool *value);
/* Elements in the JSON array `json` (0 when it is not an array). */
size_t ph_json_length(const char *json);
/* The raw JSON text of element `index` of the array `json`, or NULL. */
const char *ph_json_at(const char *json, size_t index);
/* The unescaped text of a JSON string literal, or NULL when `json` is not one. */
const char *ph_json_string_value(const char *json);

/* ---------------------------------------------------------------------------------------
 * Log (always granted) and config
 * ------------------------------------------------------------------------------------- */

typedef enum ph_log_level {
    PH_LOG_TRACE = 0,
    PH_LOG_DEBUG = 1,
    PH_LOG_INFO = 2,
    PH_LOG_WARN = 3,
    PH_LOG_ERROR = 4,
} ph_log_level;

/* One line into the host's log, tagged with module, tenant and request id. */
void ph_log(ph_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));
#define ph_log_trace(...) ph_log(PH_LOG_TRACE, __VA_ARGS__)
#define ph_log_debug(...) ph_log(PH_LOG_DEBUG, __VA_ARGS__)
#define ph_log_info(...) ph_log(PH_LOG_INFO, __VA_ARGS__)
#define ph_log_warn(...) ph_log(PH_LOG_WARN, __VA_ARGS__)
#define ph_log_error(...) ph_log(PH_LOG_ERROR, __VA_ARGS__)

/* The config value of `key` into *value, NULL when granted but unset; `denied` outside
 * the module's config grant. */
ph_error *ph_config_get(const char *key, const char **value);

/* ---------------------------------------------------------------------------------------
 * HTTP: requests, responses, routes
 * ------------------------------------------------------------------------------------- */

typedef struct ph_request ph_request;
typedef struct ph_response ph_response;

/* Upper-case method, e.g. "GET". */
const char *ph_request_method(const ph_request *request);
/* The full path, including the module's prefix. */
const char *ph_request_path(const ph_request *request);
/* The matched route pattern as declared in plugin.toml, e.g. "/{name}". */
const char *ph_request_route(const ph_request *request);
/* The value of route parameter `{name}` (the host percent-decoded it), or NULL. */
const char *ph_request_param(const ph_request *request, const char *name);
/* The raw query string without '?' ("" when absent). */
const char *ph_request_query_string(const ph_request *request);
/* The first value of query parameter `name`, percent-decoded ('+' is a space), or NULL. */
const char *ph_request_query(const ph_request *request, const char *name);
/* The value of header `name` (any case), or NULL. */
const char *ph_request_header(const ph_request *request, const char *name);
/* The body's bytes; *len receives its length (len may be NULL). Never NULL. */
const uint8_t *ph_request_body(const ph_request *request, size_t *len);
/* The body as a NUL-terminated string (bytes after an embedded NUL are not seen). */
const char *ph_request_text(const ph_request *request);
/* The id the host gave the request (also sent back as x-request-id). */
const char *ph_request_id(const ph_request *request);

/* 200, text/plain; charset=utf-8. */
ph_response *ph_response_text(const char *text);
/* 200, application/json; `json` is sent as it is. */
ph_response *ph_response_json(const char *json);
/* 200 with `len` bytes of `data` and the given content type (NULL: none). */
ph_response *ph_response_bytes(const char *content_type, const void *data, size_t len);
/* An empty response with `status`, e.g. ph_response_empty(204). */
ph_response *ph_response_empty(uint16_t status);
/* The module's stored object at `key`, streamed by the host (content type, ETag, byte
 * ranges): its bytes never pass through the module. */
ph_response *ph_response_object(const char *key);
/* Ends the request with the platform error: its kind gives the status. */
ph_response *ph_response_error(const ph_error *error);
/* Sets the status; returns `response`, for chaining. */
ph_response *ph_response_status(ph_response *response, uint16_t status);
/* Adds a header; returns `response`, for chaining. */
ph_response *ph_response_header(ph_response *response, const char *name, const char *value);

typedef ph_response *(*ph_http_handler)(const ph_request *request);

/* One route: the method ("GET", ..., or "ANY") and pattern exactly as in plugin.toml. */
typedef struct ph_route {
    const char *method;
    const char *pattern;
    ph_http_handler handler;
} ph_route;

/* Calls the handler of the first route matching the request's method and route, up to the
 * entry whose method is NULL; `not-found` when none does. */
ph_response *ph_dispatch(const ph_request *request, const ph_route *routes);

#define PH_ROUTE(method, pattern, handler) {(method), (pattern), (handler)}
#define PH_GET(pattern, handler) PH_ROUTE("GET", pattern, handler)
#define PH_POST(pattern, handler) PH_ROUTE("POST", pattern, handler)
#define PH_PUT(pattern, handler) PH_ROUTE("PUT", pattern, handler)
#define PH_PATCH(pattern, handler) PH_ROUTE("PATCH", pattern, handler)
#define PH_DELETE(pattern, handler) PH_ROUTE("DELETE", pattern, handler)
#define PH_ANY(pattern, handler) PH_ROUTE("ANY", pattern, handler)

/* ---------------------------------------------------------------------------------------
 * ORM: the module's models (plugin.toml [models.NAME]); rows are JSON objects
 * ------------------------------------------------------------------------------------- */

typedef struct ph_query ph_query;

/* A query for every row; refine it with the calls below (each returns `query`). */
ph_query *ph_query_new(void);
/* Only rows whose `field` equals `json_value` (JSON text: "3", "true", "\"Ada\"", "null"). */
ph_query *ph_query_filter(ph_query *query, const char *field, const char *json_value);
/* Sort key, first one first; rows are then ordered by id. */
ph_query *ph_query_order_by(ph_query *query, const char *field, bool descending);
ph_query *ph_query_limit(ph_query *query, uint64_t limit);
ph_query *ph_query_offset(ph_query *query, uint64_t offset);
/* Also return soft-deleted rows. */
ph_query *ph_query_include_deleted(ph_query *query);

/* One page of rows. */
typedef struct ph_page {
    const char *data; /* the rows, a JSON array */
    uint64_t total;   /* rows matching the filters in all */
    uint64_t page;    /* this page, from 1 */
    uint64_t limit;   /* rows per page */
    uint64_t total_pages;
} ph_page;

/* In each call a NULL query means every row. */
/* Rows matching the query, a JSON array, into *rows. */
ph_error *ph_orm_find_many(const char *model, const ph_query *query, const char **rows);
/* The first matching row into *row, NULL when there is none. */
ph_error *ph_orm_find_one(const char *model, const ph_query *query, const char **row);
/* The row with this id into *row, NULL when there is none (or it is soft-deleted). */
ph_error *ph_orm_find_by_id(const char *model, int64_t id, const char **row);
/* Inserts a row from a JSON object of fields; *row (may be NULL) gets it with id and
 * timestamps. A field the model refuses is `invalid`, naming the model and field. */
ph_error *ph_orm_create(const char *model, const char *values, const char **row);
/* Sets the given fields; *row (may be NULL) gets the row, NULL when there is no such row. */
ph_error *ph_orm_update(const char *model, int64_t id, const char *values, const char **row);
/* Deletes a row (soft-delete models mark it); *deleted (may be NULL): whether one went. */
ph_error *ph_orm_delete(const char *model, int64_t id, bool *deleted);
/* Rows matching the query's filters. */
ph_error *ph_orm_count(const char *model, const ph_query *query, uint64_t *count);
/* Page `page` (from 1) of `limit` rows (at most 1000) in the query's filters and order. */
ph_error *ph_orm_paginate(const char *model, const ph_query *query, uint64_t page, uint64_t limit,
                          ph_page *result);
/* A transaction for the rest of the invocation: it commits at ph_orm_commit, or when the
 * handler succeeds; it rolls back at ph_orm_rollback, or when the handler fails or traps. */
ph_error *ph_orm_begin(void);
ph_error *ph_orm_commit(void);
ph_error *ph_orm_rollback(void);

/* ---------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------- */

/* Publishes `payload` (JSON text) on `topic`; *id (may be NULL) gets the event id.
 * Delivered only if the invocation succeeds. */
ph_error *ph_events_emit(const char *topic, const char *payload, const char **id);

typedef struct ph_event {
    const char *id;
    const char *topic;
    const char *payload; /* JSON text */
    const char *source;  /* the module that emitted it */
    const char *time;    /* RFC 3339, UTC */
} ph_event;

typedef ph_error *(*ph_event_handler)(const ph_event *event);

/* A topic pattern (`*` is any run of characters) and its handler. */
typedef struct ph_subscription {
    const char *pattern;
    ph_event_handler handler;
} ph_subscription;

/* Calls the handler of the first subscription matching the topic, up to the entry whose
 * pattern is NULL; `invalid` when none does. */
ph_error *ph_dispatch_event(const ph_event *event, const ph_subscription *subscriptions);

#define PH_ON(pattern, handler) {(pattern), (handler)}

/* ---------------------------------------------------------------------------------------
 * Queue
 * ------------------------------------------------------------------------------------- */

/* Enqueues `payload` (JSON text) on `queue`, to run no sooner than `delay_ms` from now with
 * `max_attempts` attempts (0: the host's default); *id (may be NULL) gets the job id.
 * Enqueued only if the invocation succeeds. */
ph_error *ph_queue_dispatch(const char *queue, const char *payload, uint64_t delay_ms,
                            uint32_t max_attempts, const char **id);

typedef struct ph_job {
    const char *id;
    const char *queue;
    const char *payload; /* JSON text */
    uint32_t attempt;    /* from 1 */
    uint32_t max_attempts;
    const char *last_error; /* why the previous attempt failed, or NULL */
} ph_job;

typedef ph_error *(*ph_job_handler)(const ph_job *job);

typedef struct ph_job_route {
    const char *queue;
    ph_job_handler handler;
} ph_job_route;

/* Calls the handler of the job's queue (entries up to a NULL queue); `invalid` when none. */
ph_error *ph_dispatch_job(const ph_job *job, const ph_job_route *routes);

#define PH_JOB(queue, handler) {(queue), (handler)}

/* ---------------------------------------------------------------------------------------
 * WebSockets ([ws] namespaces): work while a connection or message is handled
 * ------------------------------------------------------------------------------------- */

typedef struct ph_connection {
    const char *socket_id;
    const char *ws_namespace; /* e.g. "/chat" */
    const char *user_id;      /* the token's `sub`, or NULL */
    const char *claims;       /* JSON object ("{}" without a token) */
} ph_connection;

typedef struct ph_message {
    const char *event;
    const char *data; /* JSON text */
    const char *id;   /* the client's id, echoed by ph_ws_reply, or NULL */
} ph_message;

/* `data` is JSON text in each. */
ph_error *ph_ws_reply(const char *event, const char *data);
ph_error *ph_ws_send_error(const char *code, const char *message);
ph_error *ph_ws_to_socket(const char *socket_id, const char *event, const char *data);
ph_error *ph_ws_to_room(const char *room, const char *event, const char *data);
ph_error *ph_ws_to_user(const char *user_id, const char *event, const char *data);
ph_error *ph_ws_broadcast(const char *event, const char *data);
ph_error *ph_ws_join(const char *room);
ph_error *ph_ws_leave(const char *room);
/* Users online in the namespace (room NULL) or in `room`, sorted, each once. */
ph_error *ph_ws_presence(const char *room, ph_strings *users);

typedef ph_error *(*ph_ws_handler)(const ph_connection *connection, const ph_message *message);

typedef struct ph_ws_route {
    const char *event;
    ph_ws_handler handler;
} ph_ws_route;

/* Calls the handler of the message's event (entries up to a NULL event); `invalid`
 * ("unknown event 'x'") when none. */
ph_error *ph_dispatch_message(const ph_connection *connection, const ph_message *message,
                              const ph_ws_route *routes);

#define PH_MESSAGE(event, handler) {(event), (handler)}

/* ---------------------------------------------------------------------------------------
 * Storage: objects under keys in the module's own root, within its storage grant
 * ------------------------------------------------------------------------------------- */

typedef struct ph_object_info {
    const char *key;
    uint64_t size;
    const char *content_type;
    const char *etag;
    uint64_t modified_ms;
    const ph_pair *metadata;
    size_t metadata_len;
} ph_object_info;

/* Writes `len` bytes at `key`, replacing any object there, with `content_type` (NULL:
 * application/octet-stream) and `metadata_len` metadata pairs; *info may be NULL. */
ph_error *ph_storage_put(const char *key, const void *data, size_t len, const char *content_type,
                         const ph_pair *metadata, size_t metadata_len, ph_object_info *info);
/* The object's bytes; `not-found` when there is none. *data is NUL-terminated for
 * convenience (the NUL is not counted in *len). */
ph_error *ph_storage_get(const char *key, const uint8_t **data, size_t *len);
/* Bytes `start` up to, not including, `end` (UINT64_MAX: to the end). */
ph_error *ph_storage_get_range(const char *key, uint64_t start, uint64_t end, const uint8_t **data,
                               size_t *len);
/* Bytes and info in one call (`info` may be NULL). */
ph_error *ph_storage_read(const char *key, const uint8_t **data, size_t *len, ph_object_info *info);
ph_error *ph_storage_head(const char *key, ph_object_info *info);
ph_error *ph_storage_exists(const char *key, bool *exists);
/* *deleted (may be NULL): whether there was an object. */
ph_error *ph_storage_delete(const char *key, bool *deleted);
ph_error *ph_storage_copy(const char *source, const char *target, ph_object_info *info);
/* Up to `limit` keys starting with `prefix`, after `cursor` (NULL: from the start);
 * *next_cursor (may be NULL) gets the cursor of the next page, NULL after the last. */
ph_error *ph_storage_list(const char *prefix, const char *cursor, uint32_t limit, ph_strings *keys,
                          const char **next_cursor);
/* A URL path ("/_storage/...") serving the object for `expires_in_seconds`. */
ph_error *ph_storage_publish(const char *key, uint32_t expires_in_seconds, const char **url);

/* An object written in pieces, for objects too large to hold in memory: nothing is visible
 * at the key until ph_upload_commit; an upload not committed when the handler returns
 * leaves nothing behind (the SDK drops every upload handle then). */
typedef struct ph_upload ph_upload;

ph_error *ph_storage_begin_upload(const char *key, const char *content_type, ph_upload **upload);
/* Adds `len` bytes (at most 64 MiB per call) to the end of the object. */
ph_error *ph_upload_append(ph_upload *upload, const void *data, size_t len);
/* Bytes appended so far. */
uint64_t ph_upload_written(const ph_upload *upload);
/* Makes the object visible at its key (`info` may be NULL). */
ph_error *ph_upload_commit(ph_upload *upload, ph_object_info *info);

/* ---------------------------------------------------------------------------------------
 * Mail: build a message, then send it (queued; goes out if the invocation succeeds)
 * ------------------------------------------------------------------------------------- */

typedef struct ph_mail ph_mail;

ph_mail *ph_mail_new(const char *subject);
ph_mail *ph_mail_to(ph_mail *mail, const char *address);
ph_mail *ph_mail_cc(ph_mail *mail, const char *address);
ph_mail *ph_mail_bcc(ph_mail *mail, const char *address);
/* The sender; without one the module's [mail] from is used. */
ph_mail *ph_mail_from(ph_mail *mail, const char *address);
ph_mail *ph_mail_reply_to(ph_mail *mail, const char *address);
ph_mail *ph_mail_text(ph_mail *mail, const char *text);
ph_mail *ph_mail_html(ph_mail *mail, const char *html);
ph_mail *ph_mail_attach(ph_mail *mail, const char *name, const char *content_type,
                        const void *content, size_t len);
ph_mail *ph_mail_header(ph_mail *mail, const char *name, const char *value);
/* Queues the message; *message_id (may be NULL) gets its Message-ID. */
ph_error *ph_mail_send(const ph_mail *mail, const char **message_id);

/* ---------------------------------------------------------------------------------------
 * Handlers. A module defines those it needs; the SDK has a weak default for each, so
 * every module exports the whole `service` world and the host calls only what the
 * manifest declares. The PH_* macros below define them from tables.
 * ------------------------------------------------------------------------------------- */

/* HTTP routes ([http] in plugin.toml). Default: an `internal` error saying what to define. */
ph_response *ph_http(const ph_request *request);
/* Events ([events] subscribe). Default: an `internal` error. */
ph_error *ph_on_event(const ph_event *event);
/* Jobs ([queue] handles). Default: an `internal` error. */
ph_error *ph_handle_job(const ph_job *job);
/* A WebSocket client connects; an error refuses it. Default: accepted. */
ph_error *ph_ws_connect(const ph_connection *connection);
/* A client's message; an error goes back to it as an error frame. Default: `internal`. */
ph_error *ph_ws_message(const ph_connection *connection, const ph_message *message);
/* A client went away (its rooms are already left). Default: nothing. */
void ph_ws_disconnect(const ph_connection *connection);

/* Defines ph_http from routes:  PH_ROUTES(PH_GET("/{id}", show), PH_POST("/", create)) */
#define PH_ROUTES(...)                                                       \
    static const ph_route ph_routes_[] = {__VA_ARGS__, {NULL, NULL, NULL}}; \
    ph_response *ph_http(const ph_request *request) { return ph_dispatch(request, ph_routes_); }

/* Defines ph_on_event:  PH_SUBSCRIPTIONS(PH_ON("order.*", on_order)) */
#define PH_SUBSCRIPTIONS(...)                                                             \
    static const ph_subscription ph_subscriptions_[] = {__VA_ARGS__, {NULL, NULL}};       \
    ph_error *ph_on_event(const ph_event *event) {                                        \
        return ph_dispatch_event(event, ph_subscriptions_);                               \
    }

/* Defines ph_handle_job:  PH_JOBS(PH_JOB("send-mail", send_mail)) */
#define PH_JOBS(...)                                                                   \
    static const ph_job_route ph_jobs_[] = {__VA_ARGS__, {NULL, NULL}};                \
    ph_error *ph_handle_job(const ph_job *job) { return ph_dispatch_job(job, ph_jobs_); }

/* Defines ph_ws_message:  PH_MESSAGES(PH_MESSAGE("join", join), PH_MESSAGE("say", say)) */
#define PH_MESSAGES(...)                                                                    \
    static const ph_ws_route ph_messages_[] = {__VA_ARGS__, {NULL, NULL}};                  \
    ph_error *ph_ws_message(const ph_connection *connection, const ph_message *message) {   \
        return ph_dispatch_message(connection, message, ph_messages_);                      \
    }

#ifdef __cplusplus
}
#endif

#endif /* PLUGHOST_H */

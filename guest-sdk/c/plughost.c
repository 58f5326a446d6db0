/*
 * plughost.c: the C SDK over the bindings `host build` generates from the platform's WIT
 * (service.h / service.c, world `service`). See plughost.h for the API and its memory rules.
 *
 * Conventions here: every export copies what the host passed into the invocation's arena
 * and frees the generated values at once; the module works on arena data only; the result
 * is copied into malloc'd memory the canonical ABI's post-return frees; the arena is
 * released before the export returns. Imports are given borrowed views of arena or module
 * strings, and what they return is copied into the arena and freed.
 */
#include "plughost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service.h"

typedef service_string_t wit_string;

/* ---------------------------------------------------------------------------------------
 * Arena
 * ------------------------------------------------------------------------------------- */

typedef struct ph_block {
    struct ph_block *next;
    _Alignas(16) unsigned char data[];
} ph_block;

static ph_block *arena = NULL;

/* Storage uploads opened in this invocation, whose handles go when it ends. */
struct ph_upload {
    plughost_platform_storage_own_upload_t handle;
    struct ph_upload *next;
};

static struct ph_upload *uploads = NULL;

/* Set by the first upload, so that a module that never uploads does not import storage.
 * Not static: the compiler could then see its only value and call drop_all_uploads directly,
 * which would link the storage import into every module. */
void (*ph_internal_drop_uploads)(void) = NULL;

void *ph_alloc(size_t size) {
    ph_block *block = calloc(1, sizeof(ph_block) + size + 1);
    if (block == NULL) {
        abort(); /* out of memory: a trap, so the host answers 500 */
    }
    block->next = arena;
    arena = block;
    return block->data;
}

static void arena_release(void) {
    if (ph_internal_drop_uploads != NULL) {
        ph_internal_drop_uploads();
    }
    while (arena != NULL) {
        ph_block *next = arena->next;
        free(arena);
        arena = next;
    }
}

char *ph_strndup(const char *s, size_t len) {
    char *copy = ph_alloc(len + 1);
    if (len > 0) {
        memcpy(copy, s, len);
    }
    copy[len] = '\0';
    return copy;
}

char *ph_strdup(const char *s) { return s == NULL ? NULL : ph_strndup(s, strlen(s)); }

char *ph_vformat(const char *format, va_list args) {
    va_list again;
    va_copy(again, args);
    int len = vsnprintf(NULL, 0, format, args);
    if (len < 0) {
        va_end(again);
        return ph_strdup("");
    }
    char *out = ph_alloc((size_t)len + 1);
    vsnprintf(out, (size_t)len + 1, format, again);
    va_end(again);
    return out;
}

char *ph_format(const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *out = ph_vformat(format, args);
    va_end(args);
    return out;
}

/* Appends one element of `size` bytes to an arena array, growing it by doubling. */
static void *push(void *items, size_t *len, size_t *cap, size_t size) {
    if (*len == *cap) {
        size_t grown = *cap == 0 ? 4 : *cap * 2;
        void *bigger = ph_alloc(grown * size);
        if (*len > 0) {
            memcpy(bigger, items, *len * size);
        }
        items = bigger;
        *cap = grown;
    }
    *len += 1;
    return items;
}

/* ---------------------------------------------------------------------------------------
 * Between WIT values and SDK values
 * ------------------------------------------------------------------------------------- */

/* A borrowed view of `s` for an import call. */
static wit_string view(const char *s) {
    wit_string out = {(uint8_t *)s, s == NULL ? 0 : strlen(s)};
    return out;
}

/* An arena copy of a WIT string, which is then freed. */
static const char *take_string(wit_string *s) {
    const char *out = ph_strndup((const char *)s->ptr, s->len);
    service_string_free(s);
    return out;
}

/* A copy of a WIT string the host passed in (freed with its record afterwards). */
static const char *copy_string(const wit_string *s) {
    return ph_strndup((const char *)s->ptr, s->len);
}

static const char *take_option_string(service_option_string_t *s) {
    return s->is_some ? take_string(&s->val) : NULL;
}

/* A malloc'd copy for a result handed to the host (freed by the post-return). */
static wit_string owned(const void *data, size_t len) {
    wit_string out = {NULL, len};
    if (len > 0) {
        out.ptr = malloc(len);
        if (out.ptr == NULL) {
            abort();
        }
        memcpy(out.ptr, data, len);
    }
    return out;
}

static ph_error *take_error(plughost_platform_types_error_t *error) {
    ph_error *out = ph_alloc(sizeof(ph_error));
    out->kind = (ph_error_kind)error->tag;
    /* Every case holds a string at the same place. */
    out->message = ph_strndup((const char *)error->val.denied.ptr, error->val.denied.len);
    plughost_platform_types_error_free(error);
    return out;
}

static plughost_platform_types_error_t error_to_wit(const ph_error *error) {
    plughost_platform_types_error_t out;
    out.tag = (uint8_t)(error->kind <= PH_INTERNAL ? error->kind : PH_INTERNAL);
    const char *message = error->message == NULL ? "" : error->message;
    out.val.denied = owned(message, strlen(message));
    return out;
}

static void take_pairs(service_list_tuple2_string_string_t *list, const ph_pair **pairs, size_t *len) {
    ph_pair *out = ph_alloc(sizeof(ph_pair) * (list->len + 1));
    for (size_t i = 0; i < list->len; i++) {
        out[i].name = copy_string(&list->ptr[i].f0);
        out[i].value = copy_string(&list->ptr[i].f1);
    }
    *pairs = out;
    *len = list->len;
}

static service_list_tuple2_string_string_t view_pairs(const ph_pair *pairs, size_t len) {
    service_list_tuple2_string_string_t out = {NULL, len};
    if (len > 0) {
        out.ptr = ph_alloc(sizeof(service_tuple2_string_string_t) * len);
        for (size_t i = 0; i < len; i++) {
            out.ptr[i].f0 = view(pairs[i].name);
            out.ptr[i].f1 = view(pairs[i].value);
        }
    }
    return out;
}

static service_list_string_t view_strings(const ph_strings *strings) {
    service_list_string_t out = {NULL, strings->len};
    if (strings->len > 0) {
        out.ptr = ph_alloc(sizeof(wit_string) * strings->len);
        for (size_t i = 0; i < strings->len; i++) {
            out.ptr[i] = view(strings->items[i]);
        }
    }
    return out;
}

static void push_string(ph_strings *strings, size_t *cap, const char *s) {
    strings->items = push(strings->items, &strings->len, cap, sizeof(const char *));
    strings->items[strings->len - 1] = ph_strdup(s);
}

/* ---------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------- */

ph_error *ph_error_new(ph_error_kind kind, const char *format, ...) {
    ph_error *error = ph_alloc(sizeof(ph_error));
    error->kind = kind;
    va_list args;
    va_start(args, format);
    error->message = ph_vformat(format, args);
    va_end(args);
    return error;
}

const char *ph_error_kind_name(ph_error_kind kind) {
    switch (kind) {
    case PH_DENIED:
        return "denied";
    case PH_INVALID:
        return "invalid";
    case PH_NOT_FOUND:
        return "not-found";
    default:
        return "internal";
    }
}

/* ---------------------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------------------- */

char *ph_json_quote(const char *s) {
    if (s == NULL) {
        return ph_strdup("null");
    }
    size_t len = strlen(s);
    char *out = ph_alloc(len * 6 + 3);
    char *at = out;
    *at++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"':
            *at++ = '\\';
            *at++ = '"';
            break;
        case '\\':
            *at++ = '\\';
            *at++ = '\\';
            break;
        case '\n':
            *at++ = '\\';
            *at++ = 'n';
            break;
        case '\r':
            *at++ = '\\';
            *at++ = 'r';
            break;
        case '\t':
            *at++ = '\\';
            *at++ = 't';
            break;
        default:
            if (*c < 0x20) {
                at += sprintf(at, "\\u%04x", *c);
            } else {
                *at++ = (char)*c;
            }
        }
    }
    *at++ = '"';
    *at = '\0';
    return out;
}

char *ph_json_strings(const ph_strings *strings) {
    size_t total = 3;
    const char **quoted = ph_alloc(sizeof(char *) * (strings->len + 1));
    for (size_t i = 0; i < strings->len; i++) {
        quoted[i] = ph_json_quote(strings->items[i]);
        total += strlen(quoted[i]) + 1;
    }
    char *out = ph_alloc(total);
    char *at = out;
    *at++ = '[';
    for (size_t i = 0; i < strings->len; i++) {
        if (i > 0) {
            *at++ = ',';
        }
        size_t n = strlen(quoted[i]);
        memcpy(at, quoted[i], n);
        at += n;
    }
    *at++ = ']';
    *at = '\0';
    return out;
}

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

/* The end of the JSON string literal starting at p (on its opening quote), or NULL. */
static const char *skip_string(const char *p) {
    for (p++; *p; p++) {
        if (*p == '\\') {
            if (*++p == '\0') {
                return NULL;
            }
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* The end of the JSON value starting at p (no leading space), or NULL when malformed. */
static const char *skip_value(const char *p, int depth) {
    if (depth > 128) {
        return NULL;
    }
    switch (*p) {
    case '"':
        return skip_string(p);
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        p = skip_space(p + 1);
        if (*p == close) {
            return p + 1;
        }
        for (;;) {
            if (close == '}') {
                if (*p != '"' || (p = skip_string(p)) == NULL) {
                    return NULL;
                }
                p = skip_space(p);
                if (*p != ':') {
                    return NULL;
                }
                p = skip_space(p + 1);
            }
            if ((p = skip_value(p, depth + 1)) == NULL) {
                return NULL;
            }
            p = skip_space(p);
            if (*p == close) {
                return p + 1;
            }
            if (*p != ',') {
                return NULL;
            }
            p = skip_space(p + 1);
        }
    }
    default: {
        const char *start = p;
        while (*p && strchr(",}] \t\r\n", *p) == NULL) {
            p++;
        }
        return p == start ? NULL : p;
    }
    }
}

static void put_utf8(char **at, unsigned long code) {
    unsigned char *o = (unsigned char *)*at;
    if (code < 0x80) {
        *o++ = (unsigned char)code;
    } else if (code < 0x800) {
        *o++ = (unsigned char)(0xC0 | (code >> 6));
        *o++ = (unsigned char)(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        *o++ = (unsigned char)(0xE0 | (code >> 12));
        *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (code & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | (code >> 18));
        *o++ = (unsigned char)(0x80 | ((code >> 12) & 0x3F));
        *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (code & 0x3F));
    }
    *at = (char *)o;
}

static bool hex4(const char *p, unsigned long *code) {
    char digits[5] = {0};
    for (int i = 0; i < 4; i++) {
        if (!strchr("0123456789abcdefABCDEF", p[i]) || p[i] == '\0') {
            return false;
        }
        digits[i] = p[i];
    }
    *code = strtoul(digits, NULL, 16);
    return true;
}

/* The unescaped text of the string literal at p..end (quotes included), or NULL. */
static const char *unescape(const char *p, const char *end) {
    char *out = ph_alloc((size_t)(end - p) + 1);
    char *at = out;
    for (p++; p < end - 1; p++) {
        if (*p != '\\') {
            *at++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            *at++ = '\n';
            break;
        case 't':
            *at++ = '\t';
            break;
        case 'r':
            *at++ = '\r';
            break;
        case 'b':
            *at++ = '\b';
            break;
        case 'f':
            *at++ = '\f';
            break;
        case 'u': {
            unsigned long code;
            if (!hex4(p + 1, &code)) {
                return NULL;
            }
            p += 4;
            if (code >= 0xD800 && code < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned long low;
                if (hex4(p + 3, &low) && low >= 0xDC00 && low < 0xE000) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            put_utf8(&at, code);
            break;
        }
        default: /* \" \\ \/ */
            *at++ = *p;
        }
    }
    *at = '\0';
    return out;
}

const char *ph_json_string_value(const char *json) {
    if (json == NULL) {
        return NULL;
    }
    const char *p = skip_space(json);
    if (*p != '"') {
        return NULL;
    }
    const char *end = skip_string(p);
    return end == NULL ? NULL : unescape(p, end);
}

const char *ph_json_get(const char *json, const char *key) {
    if (json == NULL || key == NULL) {
        return NULL;
    }
    const char *p = skip_space(json);
    if (*p != '{') {
        return NULL;
    }
    p = skip_space(p + 1);
    while (*p == '"') {
        const char *key_end = skip_string(p);
        if (key_end == NULL) {
            return NULL;
        }
        const char *name = unescape(p, key_end);
        p = skip_space(key_end);
        if (*p != ':') {
            return NULL;
        }
        p = skip_space(p + 1);
        const char *value_end = skip_value(p, 0);
        if (value_end == NULL) {
            return NULL;
        }
        if (name != NULL && strcmp(name, key) == 0) {
            return ph_strndup(p, (size_t)(value_end - p));
        }
        p = skip_space(value_end);
        if (*p != ',') {
            return NULL;
        }
        p = skip_space(p + 1);
    }
    return NULL;
}

const char *ph_json_get_string(const char *json, const char *key) {
    return ph_json_string_value(ph_json_get(json, key));
}

bool ph_json_get_int(const char *json, const char *key, int64_t *value) {
    const char *raw = ph_json_get(json, key);
    if (raw == NULL || *raw == '\0' || strpbrk(raw, ".eE") != NULL) {
        return false;
    }
    char *end;
    long long parsed = strtoll(raw, &end, 10);
    if (*end != '\0' || end == raw) {
        return false;
    }
    *value = parsed;
    return true;
}

bool ph_json_get_bool(const char *json, const char *key, bool *value) {
    const char *raw = ph_json_get(json, key);
    if (raw != NULL && strcmp(raw, "true") == 0) {
        *value = true;
        return true;
    }
    if (raw != NULL && strcmp(raw, "false") == 0) {
        *value = false;
        return true;
    }
    return false;
}

/* The start of element `index` of the array `json` (or its count, with index SIZE_MAX). */
static const char *array_walk(const char *json, size_t index, size_t *count, const char **end) {
    *count = 0;
    if (json == NULL) {
        return NULL;
    }
    const char *p = skip_space(json);
    if (*p != '[') {
        return NULL;
    }
    p = skip_space(p + 1);
    if (*p == ']') {
        return NULL;
    }
    for (;;) {
        const char *value_end = skip_value(p, 0);
        if (value_end == NULL) {
            return NULL;
        }
        if (*count == index) {
            *end = value_end;
            return p;
        }
        *count += 1;
        p = skip_space(value_end);
        if (*p != ',') {
            return NULL;
        }
        p = skip_space(p + 1);
    }
}

size_t ph_json_length(const char *json) {
    size_t count;
    const char *end;
    array_walk(json, SIZE_MAX, &count, &end);
    return count;
}

const char *ph_json_at(const char *json, size_t index) {
    size_t count;
    const char *end = NULL;
    const char *start = array_walk(json, index, &count, &end);
    return start == NULL ? NULL : ph_strndup(start, (size_t)(end - start));
}

/* ---------------------------------------------------------------------------------------
 * Log and config
 * ------------------------------------------------------------------------------------- */

void ph_log(ph_log_level level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    wit_string message = view(ph_vformat(format, args));
    va_end(args);
    plughost_platform_log_write((plughost_platform_log_level_t)level, &message);
}

ph_error *ph_config_get(const char *key, const char **value) {
    wit_string k = view(key);
    service_option_string_t ret;
    plughost_platform_config_error_t err;
    if (!plughost_platform_config_get(&k, &ret, &err)) {
        return take_error(&err);
    }
    const char *got = take_option_string(&ret);
    if (value != NULL) {
        *value = got;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------
 * HTTP
 * ------------------------------------------------------------------------------------- */

struct ph_request {
    const char *method;
    const char *path;
    const char *route;
    const ph_pair *params;
    size_t params_len;
    const char *query;
    const ph_pair *headers;
    size_t headers_len;
    const uint8_t *body;
    size_t body_len;
    const char *request_id;
};

struct ph_response {
    uint16_t status;
    ph_pair *headers;
    size_t headers_len;
    size_t headers_cap;
    const uint8_t *body;
    size_t body_len;
    const ph_error *error;
};

const char *ph_request_method(const ph_request *r) { return r->method; }
const char *ph_request_path(const ph_request *r) { return r->path; }
const char *ph_request_route(const ph_request *r) { return r->route; }
const char *ph_request_query_string(const ph_request *r) { return r->query; }
const char *ph_request_id(const ph_request *r) { return r->request_id; }
const char *ph_request_text(const ph_request *r) { return (const char *)r->body; }

const uint8_t *ph_request_body(const ph_request *r, size_t *len) {
    if (len != NULL) {
        *len = r->body_len;
    }
    return r->body;
}

const char *ph_request_param(const ph_request *r, const char *name) {
    for (size_t i = 0; i < r->params_len; i++) {
        if (strcmp(r->params[i].name, name) == 0) {
            return r->params[i].value;
        }
    }
    return NULL;
}

const char *ph_request_header(const ph_request *r, const char *name) {
    for (size_t i = 0; i < r->headers_len; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes a form-encoded query component ('+' is a space). */
static char *form_decode(const char *s, size_t len) {
    char *out = ph_alloc(len + 1);
    char *at = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *at++ = ' ';
        } else if (s[i] == '%' && i + 2 < len && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            *at++ = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
            i += 2;
        } else {
            *at++ = s[i];
        }
    }
    *at = '\0';
    return out;
}

const char *ph_request_query(const ph_request *r, const char *name) {
    const char *p = r->query;
    while (*p) {
        const char *end = strchr(p, '&');
        if (end == NULL) {
            end = p + strlen(p);
        }
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *key_end = eq == NULL ? end : eq;
        if (strcmp(form_decode(p, (size_t)(key_end - p)), name) == 0) {
            return eq == NULL ? ph_strdup("") : form_decode(eq + 1, (size_t)(end - eq - 1));
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}

static ph_response *response_new(uint16_t status) {
    ph_response *response = ph_alloc(sizeof(ph_response));
    response->status = status;
    response->body = (const uint8_t *)"";
    return response;
}

ph_response *ph_response_header(ph_response *response, const char *name, const char *value) {
    response->headers =
        push(response->headers, &response->headers_len, &response->headers_cap, sizeof(ph_pair));
    response->headers[response->headers_len - 1].name = ph_strdup(name);
    response->headers[response->headers_len - 1].value = ph_strdup(value);
    return response;
}

ph_response *ph_response_status(ph_response *response, uint16_t status) {
    response->status = status;
    return response;
}

ph_response *ph_response_bytes(const char *content_type, const void *data, size_t len) {
    ph_response *response = response_new(200);
    if (content_type != NULL) {
        ph_response_header(response, "content-type", content_type);
    }
    uint8_t *body = ph_alloc(len + 1);
    if (len > 0) {
        memcpy(body, data, len);
    }
    response->body = body;
    response->body_len = len;
    return response;
}

ph_response *ph_response_text(const char *text) {
    return ph_response_bytes("text/plain; charset=utf-8", text, strlen(text));
}

ph_response *ph_response_json(const char *json) {
    return ph_response_bytes("application/json", json, strlen(json));
}

ph_response *ph_response_empty(uint16_t status) { return response_new(status); }

ph_response *ph_response_object(const char *key) {
    return ph_response_header(response_new(200), "x-plughost-object", key);
}

ph_response *ph_response_error(const ph_error *error) {
    ph_response *response = response_new(500);
    response->error = error != NULL ? error : ph_error_new(PH_INTERNAL, "a handler failed without an error");
    return response;
}

ph_response *ph_dispatch(const ph_request *request, const ph_route *routes) {
    for (const ph_route *route = routes; route->method != NULL; route++) {
        bool method = strcmp(route->method, request->method) == 0 || strcmp(route->method, "ANY") == 0;
        if (method && strcmp(route->pattern, request->route) == 0) {
            return route->handler(request);
        }
    }
    return ph_response_error(ph_error_new(PH_NOT_FOUND,
                                          "the module has no handler for %s %s; add it to PH_ROUTES",
                                          request->method, request->route));
}

bool exports_plughost_platform_http_handler_handle(exports_plughost_platform_http_handler_request_t *raw,
                                                   exports_plughost_platform_http_handler_response_t *ret,
                                                   exports_plughost_platform_http_handler_error_t *err) {
    ph_request *request = ph_alloc(sizeof(ph_request));
    request->method = copy_string(&raw->method);
    request->path = copy_string(&raw->path);
    request->route = copy_string(&raw->route);
    take_pairs(&raw->params, &request->params, &request->params_len);
    request->query = copy_string(&raw->query);
    take_pairs(&raw->headers, &request->headers, &request->headers_len);
    request->body = (const uint8_t *)ph_strndup((const char *)raw->body.ptr, raw->body.len);
    request->body_len = raw->body.len;
    request->request_id = copy_string(&raw->request_id);
    plughost_platform_http_types_request_free(raw);

    ph_response *response = ph_http(request);
    if (response == NULL) {
        response = ph_response_error(ph_error_new(
            PH_INTERNAL, "the handler of %s %s returned NULL", request->method, request->route));
    }
    bool ok = response->error == NULL;
    if (ok) {
        ret->status = response->status;
        ret->headers.len = response->headers_len;
        ret->headers.ptr = NULL;
        if (response->headers_len > 0) {
            ret->headers.ptr = malloc(sizeof(service_tuple2_string_string_t) * response->headers_len);
            if (ret->headers.ptr == NULL) {
                abort();
            }
            for (size_t i = 0; i < response->headers_len; i++) {
                const ph_pair *h = &response->headers[i];
                ret->headers.ptr[i].f0 = owned(h->name, strlen(h->name));
                ret->headers.ptr[i].f1 = owned(h->value, strlen(h->value));
            }
        }
        wit_string body = owned(response->body, response->body_len);
        ret->body.ptr = body.ptr;
        ret->body.len = body.len;
    } else {
        *err = error_to_wit(response->error);
    }
    arena_release();
    return ok;
}

/* ---------------------------------------------------------------------------------------
 * ORM
 * ------------------------------------------------------------------------------------- */

struct ph_query {
    plughost_platform_orm_tuple2_string_json_t *filters;
    size_t filters_len, filters_cap;
    plughost_platform_orm_sort_t *sorts;
    size_t sorts_len, sorts_cap;
    service_option_u64_t limit;
    service_option_u64_t offset;
    bool include_deleted;
};

ph_query *ph_query_new(void) { return ph_alloc(sizeof(ph_query)); }

ph_query *ph_query_filter(ph_query *q, const char *field, const char *json_value) {
    q->filters = push(q->filters, &q->filters_len, &q->filters_cap, sizeof(*q->filters));
    q->filters[q->filters_len - 1].f0 = view(ph_strdup(field));
    q->filters[q->filters_len - 1].f1 = view(ph_strdup(json_value == NULL ? "null" : json_value));
    return q;
}

ph_query *ph_query_order_by(ph_query *q, const char *field, bool descending) {
    q->sorts = push(q->sorts, &q->sorts_len, &q->sorts_cap, sizeof(*q->sorts));
    q->sorts[q->sorts_len - 1].field = view(ph_strdup(field));
    q->sorts[q->sorts_len - 1].direction =
        descending ? PLUGHOST_PLATFORM_ORM_DIRECTION_DESC : PLUGHOST_PLATFORM_ORM_DIRECTION_ASC;
    return q;
}

ph_query *ph_query_limit(ph_query *q, uint64_t limit) {
    q->limit.is_some = true;
    q->limit.val = limit;
    return q;
}

ph_query *ph_query_offset(ph_query *q, uint64_t offset) {
    q->offset.is_some = true;
    q->offset.val = offset;
    return q;
}

ph_query *ph_query_include_deleted(ph_query *q) {
    q->include_deleted = true;
    return q;
}

static plughost_platform_orm_query_t query_to_wit(const ph_query *q) {
    static const ph_query all = {0};
    if (q == NULL) {
        q = &all;
    }
    plughost_platform_orm_query_t out;
    out.filters.ptr = q->filters;
    out.filters.len = q->filters_len;
    out.order_by.ptr = q->sorts;
    out.order_by.len = q->sorts_len;
    out.limit = q->limit;
    out.offset = q->offset;
    out.include_deleted = q->include_deleted;
    return out;
}

static void set_row(const char **row, plughost_platform_orm_option_json_t *ret) {
    const char *got = ret->is_some ? take_string(&ret->val) : NULL;
    if (row != NULL) {
        *row = got;
    }
}

ph_error *ph_orm_find_many(const char *model, const ph_query *query, const char **rows) {
    wit_string m = view(model);
    plughost_platform_orm_query_t q = query_to_wit(query);
    plughost_platform_orm_json_t ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_find_many(&m, &q, &ret, &err)) {
        return take_error(&err);
    }
    const char *got = take_string(&ret);
    if (rows != NULL) {
        *rows = got;
    }
    return NULL;
}

ph_error *ph_orm_find_one(const char *model, const ph_query *query, const char **row) {
    wit_string m = view(model);
    plughost_platform_orm_query_t q = query_to_wit(query);
    plughost_platform_orm_option_json_t ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_find_one(&m, &q, &ret, &err)) {
        return take_error(&err);
    }
    set_row(row, &ret);
    return NULL;
}

ph_error *ph_orm_find_by_id(const char *model, int64_t id, const char **row) {
    wit_string m = view(model);
    plughost_platform_orm_option_json_t ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_find_by_id(&m, id, &ret, &err)) {
        return take_error(&err);
    }
    set_row(row, &ret);
    return NULL;
}

ph_error *ph_orm_create(const char *model, const char *values, const char **row) {
    wit_string m = view(model);
    plughost_platform_orm_json_t v = view(values);
    plughost_platform_orm_json_t ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_create(&m, &v, &ret, &err)) {
        return take_error(&err);
    }
    const char *got = take_string(&ret);
    if (row != NULL) {
        *row = got;
    }
    return NULL;
}

ph_error *ph_orm_update(const char *model, int64_t id, const char *values, const char **row) {
    wit_string m = view(model);
    plughost_platform_orm_json_t v = view(values);
    plughost_platform_orm_option_json_t ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_update(&m, id, &v, &ret, &err)) {
        return take_error(&err);
    }
    set_row(row, &ret);
    return NULL;
}

ph_error *ph_orm_delete(const char *model, int64_t id, bool *deleted) {
    wit_string m = view(model);
    bool ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_delete(&m, id, &ret, &err)) {
        return take_error(&err);
    }
    if (deleted != NULL) {
        *deleted = ret;
    }
    return NULL;
}

ph_error *ph_orm_count(const char *model, const ph_query *query, uint64_t *count) {
    wit_string m = view(model);
    plughost_platform_orm_query_t q = query_to_wit(query);
    uint64_t ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_count(&m, &q.filters, &ret, &err)) {
        return take_error(&err);
    }
    if (count != NULL) {
        *count = ret;
    }
    return NULL;
}

ph_error *ph_orm_paginate(const char *model, const ph_query *query, uint64_t page, uint64_t limit,
                          ph_page *result) {
    wit_string m = view(model);
    plughost_platform_orm_query_t q = query_to_wit(query);
    plughost_platform_orm_page_t ret;
    plughost_platform_orm_error_t err;
    if (!plughost_platform_orm_paginate(&m, &q, page, limit, &ret, &err)) {
        return take_error(&err);
    }
    const char *data = take_string(&ret.data);
    if (result != NULL) {
        result->data = data;
        result->total = ret.total;
        result->page = ret.page;
        result->limit = ret.limit;
        result->total_pages = ret.total_pages;
    }
    return NULL;
}

ph_error *ph_orm_begin(void) {
    plughost_platform_orm_error_t err;
    return plughost_platform_orm_begin(&err) ? NULL : take_error(&err);
}

ph_error *ph_orm_commit(void) {
    plughost_platform_orm_error_t err;
    return plughost_platform_orm_commit(&err) ? NULL : take_error(&err);
}

ph_error *ph_orm_rollback(void) {
    plughost_platform_orm_error_t err;
    return plughost_platform_orm_rollback(&err) ? NULL : take_error(&err);
}

/* ---------------------------------------------------------------------------------------
 * Events and queue
 * ------------------------------------------------------------------------------------- */

ph_error *ph_events_emit(const char *topic, const char *payload, const char **id) {
    wit_string t = view(topic);
    wit_string p = view(payload);
    wit_string ret;
    plughost_platform_events_error_t err;
    if (!plughost_platform_events_emit(&t, &p, &ret, &err)) {
        return take_error(&err);
    }
    const char *got = take_string(&ret);
    if (id != NULL) {
        *id = got;
    }
    return NULL;
}

/* Whether `text` matches `pattern`, where `*` is any run of characters. */
static bool glob(const char *pattern, const char *text) {
    const char *star = NULL;
    const char *resume = NULL;
    while (*text) {
        if (*pattern == '*') {
            star = pattern++;
            resume = text;
        } else if (*pattern == *text) {
            pattern++;
            text++;
        } else if (star != NULL) {
            pattern = star + 1;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*') {
        pattern++;
    }
    return *pattern == '\0';
}

ph_error *ph_dispatch_event(const ph_event *event, const ph_subscription *subscriptions) {
    for (const ph_subscription *s = subscriptions; s->pattern != NULL; s++) {
        if (glob(s->pattern, event->topic)) {
            return s->handler(event);
        }
    }
    return ph_error_new(PH_INVALID, "no handler for topic '%s'", event->topic);
}

bool exports_plughost_platform_event_handler_on_event(exports_plughost_platform_event_handler_event_t *raw,
                                                      exports_plughost_platform_event_handler_error_t *err) {
    ph_event *event = ph_alloc(sizeof(ph_event));
    event->id = copy_string(&raw->id);
    event->topic = copy_string(&raw->topic);
    event->payload = copy_string(&raw->payload);
    event->source = copy_string(&raw->source);
    event->time = copy_string(&raw->time);
    plughost_platform_event_types_event_free(raw);
    ph_error *error = ph_on_event(event);
    if (error != NULL) {
        *err = error_to_wit(error);
    }
    arena_release();
    return error == NULL;
}

ph_error *ph_queue_dispatch(const char *queue, const char *payload, uint64_t delay_ms,
                            uint32_t max_attempts, const char **id) {
    wit_string q = view(queue);
    wit_string p = view(payload);
    plughost_platform_queue_dispatch_options_t options = {delay_ms, {max_attempts > 0, max_attempts}};
    wit_string ret;
    plughost_platform_queue_error_t err;
    if (!plughost_platform_queue_dispatch(&q, &p, &options, &ret, &err)) {
        return take_error(&err);
    }
    const char *got = take_string(&ret);
    if (id != NULL) {
        *id = got;
    }
    return NULL;
}

ph_error *ph_dispatch_job(const ph_job *job, const ph_job_route *routes) {
    for (const ph_job_route *r = routes; r->queue != NULL; r++) {
        if (strcmp(r->queue, job->queue) == 0) {
            return r->handler(job);
        }
    }
    return ph_error_new(PH_INVALID, "no handler for queue '%s'", job->queue);
}

bool exports_plughost_platform_job_handler_handle_job(exports_plughost_platform_job_handler_job_t *raw,
                                                      exports_plughost_platform_job_handler_error_t *err) {
    ph_job *job = ph_alloc(sizeof(ph_job));
    job->id = copy_string(&raw->id);
    job->queue = copy_string(&raw->queue);
    job->payload = copy_string(&raw->payload);
    job->attempt = raw->attempt;
    job->max_attempts = raw->max_attempts;
    job->last_error = raw->last_error.is_some ? copy_string(&raw->last_error.val) : NULL;
    plughost_platform_job_types_job_free(raw);
    ph_error *error = ph_handle_job(job);
    if (error != NULL) {
        *err = error_to_wit(error);
    }
    arena_release();
    return error == NULL;
}

/* ---------------------------------------------------------------------------------------
 * WebSockets
 * ------------------------------------------------------------------------------------- */

static ph_error *ws_result(bool ok, plughost_platform_ws_error_t *err) {
    return ok ? NULL : take_error(err);
}

ph_error *ph_ws_reply(const char *event, const char *data) {
    wit_string e = view(event), d = view(data);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_reply(&e, &d, &err), &err);
}

ph_error *ph_ws_send_error(const char *code, const char *message) {
    wit_string c = view(code), m = view(message);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_send_error(&c, &m, &err), &err);
}

ph_error *ph_ws_to_socket(const char *socket_id, const char *event, const char *data) {
    wit_string s = view(socket_id), e = view(event), d = view(data);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_to_socket(&s, &e, &d, &err), &err);
}

ph_error *ph_ws_to_room(const char *room, const char *event, const char *data) {
    wit_string r = view(room), e = view(event), d = view(data);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_to_room(&r, &e, &d, &err), &err);
}

ph_error *ph_ws_to_user(const char *user_id, const char *event, const char *data) {
    wit_string u = view(user_id), e = view(event), d = view(data);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_to_user(&u, &e, &d, &err), &err);
}

ph_error *ph_ws_broadcast(const char *event, const char *data) {
    wit_string e = view(event), d = view(data);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_broadcast(&e, &d, &err), &err);
}

ph_error *ph_ws_join(const char *room) {
    wit_string r = view(room);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_join(&r, &err), &err);
}

ph_error *ph_ws_leave(const char *room) {
    wit_string r = view(room);
    plughost_platform_ws_error_t err;
    return ws_result(plughost_platform_ws_leave(&r, &err), &err);
}

ph_error *ph_ws_presence(const char *room, ph_strings *users) {
    wit_string r = view(room);
    service_list_string_t ret;
    plughost_platform_ws_error_t err;
    if (!plughost_platform_ws_presence(room == NULL ? NULL : &r, &ret, &err)) {
        return take_error(&err);
    }
    ph_strings out = {ph_alloc(sizeof(char *) * (ret.len + 1)), ret.len};
    for (size_t i = 0; i < ret.len; i++) {
        out.items[i] = copy_string(&ret.ptr[i]);
    }
    service_list_string_free(&ret);
    if (users != NULL) {
        *users = out;
    }
    return NULL;
}

ph_error *ph_dispatch_message(const ph_connection *connection, const ph_message *message,
                              const ph_ws_route *routes) {
    for (const ph_ws_route *r = routes; r->event != NULL; r++) {
        if (strcmp(r->event, message->event) == 0) {
            return r->handler(connection, message);
        }
    }
    return ph_error_new(PH_INVALID, "unknown event '%s'", message->event);
}

static ph_connection *connection_from(const plughost_platform_ws_types_connection_t *raw) {
    ph_connection *c = ph_alloc(sizeof(ph_connection));
    c->socket_id = copy_string(&raw->socket_id);
    c->ws_namespace = copy_string(&raw->namespace_);
    c->user_id = raw->user_id.is_some ? copy_string(&raw->user_id.val) : NULL;
    c->claims = raw->claims.len > 0 ? copy_string(&raw->claims) : "{}";
    return c;
}

bool exports_plughost_platform_ws_handler_on_connect(exports_plughost_platform_ws_handler_connection_t *raw,
                                                     exports_plughost_platform_ws_handler_error_t *err) {
    ph_connection *connection = connection_from(raw);
    plughost_platform_ws_types_connection_free(raw);
    ph_error *error = ph_ws_connect(connection);
    if (error != NULL) {
        *err = error_to_wit(error);
    }
    arena_release();
    return error == NULL;
}

bool exports_plughost_platform_ws_handler_on_message(exports_plughost_platform_ws_handler_connection_t *raw,
                                                     exports_plughost_platform_ws_handler_message_t *raw_message,
                                                     exports_plughost_platform_ws_handler_error_t *err) {
    ph_connection *connection = connection_from(raw);
    ph_message *message = ph_alloc(sizeof(ph_message));
    message->event = copy_string(&raw_message->event);
    message->data = raw_message->data.len > 0 ? copy_string(&raw_message->data) : "null";
    message->id = raw_message->id.is_some ? copy_string(&raw_message->id.val) : NULL;
    plughost_platform_ws_types_connection_free(raw);
    plughost_platform_ws_types_message_free(raw_message);
    ph_error *error = ph_ws_message(connection, message);
    if (error != NULL) {
        *err = error_to_wit(error);
    }
    arena_release();
    return error == NULL;
}

void exports_plughost_platform_ws_handler_on_disconnect(exports_plughost_platform_ws_handler_connection_t *raw) {
    ph_connection *connection = connection_from(raw);
    plughost_platform_ws_types_connection_free(raw);
    ph_ws_disconnect(connection);
    arena_release();
}

/* ---------------------------------------------------------------------------------------
 * Storage
 * ------------------------------------------------------------------------------------- */

static void take_info(plughost_platform_storage_object_info_t *raw, ph_object_info *info) {
    ph_object_info out;
    out.key = copy_string(&raw->key);
    out.size = raw->size;
    out.content_type = copy_string(&raw->content_type);
    out.etag = copy_string(&raw->etag);
    out.modified_ms = raw->modified_ms;
    take_pairs(&raw->metadata, &out.metadata, &out.metadata_len);
    plughost_platform_storage_object_info_free(raw);
    if (info != NULL) {
        *info = out;
    }
}

static void take_bytes(service_list_u8_t *raw, const uint8_t **data, size_t *len) {
    const uint8_t *copy = (const uint8_t *)ph_strndup((const char *)raw->ptr, raw->len);
    size_t n = raw->len;
    service_list_u8_free(raw);
    if (data != NULL) {
        *data = copy;
    }
    if (len != NULL) {
        *len = n;
    }
}

ph_error *ph_storage_put(const char *key, const void *data, size_t len, const char *content_type,
                         const ph_pair *metadata, size_t metadata_len, ph_object_info *info) {
    wit_string k = view(key);
    service_list_u8_t bytes = {(uint8_t *)data, len};
    plughost_platform_storage_put_options_t options;
    options.content_type.is_some = content_type != NULL;
    options.content_type.val = view(content_type);
    options.metadata = view_pairs(metadata, metadata_len);
    plughost_platform_storage_object_info_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_put(&k, &bytes, &options, &ret, &err)) {
        return take_error(&err);
    }
    take_info(&ret, info);
    return NULL;
}

ph_error *ph_storage_get_range(const char *key, uint64_t start, uint64_t end, const uint8_t **data,
                               size_t *len) {
    wit_string k = view(key);
    plughost_platform_storage_byte_range_t range = {start, {end != UINT64_MAX, end}};
    bool whole = start == 0 && end == UINT64_MAX;
    service_list_u8_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_get(&k, whole ? NULL : &range, &ret, &err)) {
        return take_error(&err);
    }
    take_bytes(&ret, data, len);
    return NULL;
}

ph_error *ph_storage_get(const char *key, const uint8_t **data, size_t *len) {
    return ph_storage_get_range(key, 0, UINT64_MAX, data, len);
}

ph_error *ph_storage_read(const char *key, const uint8_t **data, size_t *len, ph_object_info *info) {
    wit_string k = view(key);
    plughost_platform_storage_object_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_read(&k, NULL, &ret, &err)) {
        return take_error(&err);
    }
    take_bytes(&ret.bytes, data, len);
    take_info(&ret.info, info);
    return NULL;
}

ph_error *ph_storage_head(const char *key, ph_object_info *info) {
    wit_string k = view(key);
    plughost_platform_storage_object_info_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_head(&k, &ret, &err)) {
        return take_error(&err);
    }
    take_info(&ret, info);
    return NULL;
}

ph_error *ph_storage_exists(const char *key, bool *exists) {
    wit_string k = view(key);
    bool ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_exists(&k, &ret, &err)) {
        return take_error(&err);
    }
    if (exists != NULL) {
        *exists = ret;
    }
    return NULL;
}

ph_error *ph_storage_delete(const char *key, bool *deleted) {
    wit_string k = view(key);
    bool ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_delete(&k, &ret, &err)) {
        return take_error(&err);
    }
    if (deleted != NULL) {
        *deleted = ret;
    }
    return NULL;
}

ph_error *ph_storage_copy(const char *source, const char *target, ph_object_info *info) {
    wit_string s = view(source), t = view(target);
    plughost_platform_storage_object_info_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_copy(&s, &t, &ret, &err)) {
        return take_error(&err);
    }
    take_info(&ret, info);
    return NULL;
}

ph_error *ph_storage_list(const char *prefix, const char *cursor, uint32_t limit, ph_strings *keys,
                          const char **next_cursor) {
    wit_string p = view(prefix == NULL ? "" : prefix), c = view(cursor);
    plughost_platform_storage_listing_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_list(&p, cursor == NULL ? NULL : &c, limit, &ret, &err)) {
        return take_error(&err);
    }
    ph_strings out = {ph_alloc(sizeof(char *) * (ret.objects.len + 1)), ret.objects.len};
    for (size_t i = 0; i < ret.objects.len; i++) {
        out.items[i] = copy_string(&ret.objects.ptr[i].key);
    }
    const char *next = ret.next_cursor.is_some ? copy_string(&ret.next_cursor.val) : NULL;
    plughost_platform_storage_listing_free(&ret);
    if (keys != NULL) {
        *keys = out;
    }
    if (next_cursor != NULL) {
        *next_cursor = next;
    }
    return NULL;
}

ph_error *ph_storage_publish(const char *key, uint32_t expires_in_seconds, const char **url) {
    wit_string k = view(key);
    wit_string ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_publish(&k, expires_in_seconds, &ret, &err)) {
        return take_error(&err);
    }
    const char *got = take_string(&ret);
    if (url != NULL) {
        *url = got;
    }
    return NULL;
}

static void drop_all_uploads(void) {
    for (struct ph_upload *u = uploads; u != NULL; u = u->next) {
        plughost_platform_storage_upload_drop_own(u->handle);
    }
    uploads = NULL; /* the entries are in the arena */
}

ph_error *ph_storage_begin_upload(const char *key, const char *content_type, ph_upload **upload) {
    wit_string k = view(key);
    plughost_platform_storage_put_options_t options;
    options.content_type.is_some = content_type != NULL;
    options.content_type.val = view(content_type);
    options.metadata.ptr = NULL;
    options.metadata.len = 0;
    plughost_platform_storage_own_upload_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_begin_upload(&k, &options, &ret, &err)) {
        return take_error(&err);
    }
    ph_upload *opened = ph_alloc(sizeof(ph_upload));
    opened->handle = ret;
    opened->next = uploads;
    uploads = opened;
    ph_internal_drop_uploads = drop_all_uploads;
    if (upload != NULL) {
        *upload = opened;
    }
    return NULL;
}

ph_error *ph_upload_append(ph_upload *upload, const void *data, size_t len) {
    service_list_u8_t bytes = {(uint8_t *)data, len};
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_method_upload_append(plughost_platform_storage_borrow_upload(upload->handle),
                                                        &bytes, &err)) {
        return take_error(&err);
    }
    return NULL;
}

uint64_t ph_upload_written(const ph_upload *upload) {
    return plughost_platform_storage_method_upload_written(plughost_platform_storage_borrow_upload(upload->handle));
}

ph_error *ph_upload_commit(ph_upload *upload, ph_object_info *info) {
    plughost_platform_storage_object_info_t ret;
    plughost_platform_storage_error_t err;
    if (!plughost_platform_storage_method_upload_commit(plughost_platform_storage_borrow_upload(upload->handle),
                                                        &ret, &err)) {
        return take_error(&err);
    }
    take_info(&ret, info);
    return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Mail
 * ------------------------------------------------------------------------------------- */

struct ph_mail {
    const char *subject;
    ph_strings to, cc, bcc;
    size_t to_cap, cc_cap, bcc_cap;
    const char *from, *reply_to, *text, *html;
    plughost_platform_mail_attachment_t *attachments;
    size_t attachments_len, attachments_cap;
    ph_pair *headers;
    size_t headers_len, headers_cap;
};

ph_mail *ph_mail_new(const char *subject) {
    ph_mail *mail = ph_alloc(sizeof(ph_mail));
    mail->subject = ph_strdup(subject);
    return mail;
}

ph_mail *ph_mail_to(ph_mail *m, const char *address) {
    push_string(&m->to, &m->to_cap, address);
    return m;
}

ph_mail *ph_mail_cc(ph_mail *m, const char *address) {
    push_string(&m->cc, &m->cc_cap, address);
    return m;
}

ph_mail *ph_mail_bcc(ph_mail *m, const char *address) {
    push_string(&m->bcc, &m->bcc_cap, address);
    return m;
}

ph_mail *ph_mail_from(ph_mail *m, const char *address) {
    m->from = ph_strdup(address);
    return m;
}

ph_mail *ph_mail_reply_to(ph_mail *m, const char *address) {
    m->reply_to = ph_strdup(address);
    return m;
}

ph_mail *ph_mail_text(ph_mail *m, const char *text) {
    m->text = ph_strdup(text);
    return m;
}

ph_mail *ph_mail_html(ph_mail *m, const char *html) {
    m->html = ph_strdup(html);
    return m;
}

ph_mail *ph_mail_attach(ph_mail *m, const char *name, const char *content_type, const void *content,
                        size_t len) {
    m->attachments = push(m->attachments, &m->attachments_len, &m->attachments_cap,
                          sizeof(*m->attachments));
    plughost_platform_mail_attachment_t *a = &m->attachments[m->attachments_len - 1];
    a->name = view(ph_strdup(name));
    a->content_type = view(ph_strdup(content_type));
    a->content.ptr = (uint8_t *)ph_strndup(content, len);
    a->content.len = len;
    return m;
}

ph_mail *ph_mail_header(ph_mail *m, const char *name, const char *value) {
    m->headers = push(m->headers, &m->headers_len, &m->headers_cap, sizeof(ph_pair));
    m->headers[m->headers_len - 1].name = ph_strdup(name);
    m->headers[m->headers_len - 1].value = ph_strdup(value);
    return m;
}

static service_option_string_t view_option(const char *s) {
    service_option_string_t out = {s != NULL, view(s)};
    return out;
}

ph_error *ph_mail_send(const ph_mail *m, const char **message_id) {
    plughost_platform_mail_message_t message;
    message.to = view_strings(&m->to);
    message.cc = view_strings(&m->cc);
    message.bcc = view_strings(&m->bcc);
    message.from = view_option(m->from);
    message.reply_to = view_option(m->reply_to);
    message.subject = view(m->subject == NULL ? "" : m->subject);
    message.text = view_option(m->text);
    message.html = view_option(m->html);
    message.attachments.ptr = m->attachments;
    message.attachments.len = m->attachments_len;
    message.headers = view_pairs(m->headers, m->headers_len);
    wit_string ret;
    plughost_platform_mail_error_t err;
    if (!plughost_platform_mail_send(&message, &ret, &err)) {
        return take_error(&err);
    }
    const char *got = take_string(&ret);
    if (message_id != NULL) {
        *message_id = got;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Default handlers, for what the module leaves out (the host calls only what the manifest
 * declares, so these run only when a manifest declares something app.c does not define).
 * ------------------------------------------------------------------------------------- */

__attribute__((weak)) ph_response *ph_http(const ph_request *request) {
    return ph_response_error(ph_error_new(
        PH_INTERNAL, "the module defines no HTTP handler for %s %s; define ph_http or use PH_ROUTES in app.c",
        request->method, request->route));
}

__attribute__((weak)) ph_error *ph_on_event(const ph_event *event) {
    return ph_error_new(PH_INTERNAL,
                        "the module defines no event handler for '%s'; define ph_on_event or use "
                        "PH_SUBSCRIPTIONS in app.c",
                        event->topic);
}

__attribute__((weak)) ph_error *ph_handle_job(const ph_job *job) {
    return ph_error_new(PH_INTERNAL,
                        "the module defines no job handler for '%s'; define ph_handle_job or use "
                        "PH_JOBS in app.c",
                        job->queue);
}

__attribute__((weak)) ph_error *ph_ws_connect(const ph_connection *connection) {
    (void)connection;
    return NULL;
}

__attribute__((weak)) ph_error *ph_ws_message(const ph_connection *connection, const ph_message *message) {
    (void)connection;
    return ph_error_new(PH_INTERNAL,
                        "the module defines no WebSocket handler for '%s'; define ph_ws_message or use "
                        "PH_MESSAGES in app.c",
                        message->event);
}

__attribute__((weak)) void ph_ws_disconnect(const ph_connection *connection) { (void)connection; }

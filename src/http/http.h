/*
 * http: the HTTP server (libmicrohttpd, epoll with an internal thread pool), the route table, request
 * phases, responses and errors, metrics and the OpenAPI renderer. It knows nothing of Aegis: handlers,
 * phases and route documentation come from the application (src/api).
 *
 * Request life: headers arrive -> request id, route match, body-size check (413 before reading) ->
 * the body is read into a capped buffer -> JSON check for ROUTE_JSON routes (415 / 400 with position) ->
 * the application's phases in order (authentication, limits, ...) -> the handler -> the response gets
 * X-Request-Id and CORS headers -> access log line and metrics when the connection reports completion.
 *
 * Memory: a struct http_req and everything hanging off it (body, parsed JSON, response) live exactly as
 * long as the request; handlers never free them. Errors: a handler or phase returns AEG_OK after setting
 * a response, or an AEG_ code (with an optional message from http_fail); the server renders
 * {"error":{"type","code","message","request_id"}} from the one error table (core/err.h).
 */
#ifndef AEGIS_HTTP_HTTP_H
#define AEGIS_HTTP_HTTP_H

#include "core/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_req;
struct http_server;

enum route_flags {
    ROUTE_PUBLIC = 1 << 0,  /* no authentication */
    ROUTE_JSON = 1 << 1,    /* the body must be a JSON document */
    ROUTE_WRITE = 1 << 2,   /* changes state (audit, read-only keys refused) */
    ROUTE_ADMIN = 1 << 3,   /* admin or owner role */
    ROUTE_METERED = 1 << 4, /* counts toward plan usage */
    ROUTE_DIAG = 1 << 5,    /* diagnostics: not mounted in production */
    ROUTE_HIDDEN = 1 << 6,  /* left out of the OpenAPI document (static assets) */
};

typedef int (*http_handler)(struct http_req *req);

/* OpenAPI documentation of one route. Schemas are JSON text (JSON Schema, or {"$ref": ...}). */
struct route_doc {
    const char *summary;
    const char *tag;
    const char *description;
    const char *request_schema;  /* for ROUTE_JSON routes */
    int status;                  /* the success status (200 when 0) */
    const char *response_type;   /* media type of the success body ("application/json" when NULL) */
    const char *response_schema; /* schema of the success body */
    const char *errors;          /* extra error statuses, e.g. "404 409" */
};

struct route {
    const char *method;  /* "GET", "POST", ... (HEAD is answered by GET routes) */
    const char *pattern; /* "/api/v1/jobs/{id}": literal segments and {name} parameters */
    http_handler handler;
    unsigned flags;
    struct route_doc doc;
};

/* A phase runs before the handler; AEG_OK lets the request go on, anything else answers with it. */
struct http_phase {
    const char *name;
    int (*run)(struct http_req *req);
};

struct http_opts {
    const char *host;
    int port;                 /* 0: any free port (see http_server_port) */
    int threads;              /* >= 1 */
    size_t body_limit;
    int conn_timeout_s;       /* idle connection timeout */
    int request_timeout_s;    /* a body must arrive within this */
    int max_connections;
    int per_ip_connections;   /* 0: unlimited */
    const struct route *routes; /* borrowed; must outlive the server */
    size_t nroutes;
    const struct http_phase *phases;
    size_t nphases;
    bool (*cors_allows)(void *app, const char *origin); /* NULL: no CORS */
    void *app;
};

/* ---- server ------------------------------------------------------------------------------------- */

/* Starts listening. AEG_OK, or AEG_EIO/AEG_EINVAL with the reason in err. */
int http_server_start(const struct http_opts *o, struct http_server **out, char *err, size_t errlen);
int http_server_port(const struct http_server *s);
/* Stops accepting connections, waits up to timeout_s for requests in flight, then closes everything
 * and frees the server. Returns the number of requests that were cut off (0 on a clean drain). */
int http_server_stop(struct http_server *s, int timeout_s);
/* Requests currently being processed. */
int http_server_in_flight(const struct http_server *s);
/* Appends Prometheus text for requests by route and status, and latency histograms. */
void http_server_metrics(const struct http_server *s, struct buf *out);

/* ---- request accessors (valid during the handler) ------------------------------------------------ */

void *http_app(const struct http_req *r);
const char *http_method(const struct http_req *r);
const char *http_path(const struct http_req *r);
const struct route *http_route(const struct http_req *r);
const char *http_request_id(const struct http_req *r);
const char *http_param(const struct http_req *r, const char *name);  /* path parameter or NULL */
const char *http_query(const struct http_req *r, const char *name);  /* query argument or NULL */
const char *http_header(const struct http_req *r, const char *name); /* request header or NULL */
const char *http_cookie(const struct http_req *r, const char *name); /* request cookie or NULL */
json_t *http_json(const struct http_req *r); /* the parsed body of a ROUTE_JSON route (borrowed) */
const struct buf *http_body(const struct http_req *r);
const char *http_client_ip(struct http_req *r);
/* Per-request slot for phases to hand results (such as a tenant) to handlers; freed with `free_fn`. */
void http_set_ctx(struct http_req *r, void *ctx, void (*free_fn)(void *));
void *http_ctx(const struct http_req *r);

/* ---- responses ----------------------------------------------------------------------------------- */

/* Each sets the response and returns AEG_OK; a second reply replaces the first. */
int http_reply_json(struct http_req *r, int status, json_t *body); /* takes the reference */
int http_reply_data(struct http_req *r, int status, const char *content_type, const void *data,
                    size_t len); /* copies data */
int http_reply_buf(struct http_req *r, int status, const char *content_type, struct buf *b); /* takes b's bytes */
/* Serves a regular file (opened and streamed by the server); AEG_ENOTFOUND when it is not one. */
int http_reply_file(struct http_req *r, const char *path, const char *content_type,
                    const char *cache_control);
int http_reply_empty(struct http_req *r, int status);
/* Adds a header to the response that is (or will be) set. Copies both strings. */
void http_add_header(struct http_req *r, const char *name, const char *value);
/* Records the message for an error reply and returns `code`: `return http_fail(r, AEG_EINVAL, ...);` */
int http_fail(struct http_req *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- router (router.c; used by the server and by tests) ------------------------------------------ */

#define ROUTE_MAX_PARAMS 8
#define ROUTE_NO_MATCH (-1)
#define ROUTE_BAD_METHOD (-2)

struct route_match {
    int nparams;
    const char *names[ROUTE_MAX_PARAMS]; /* point into the pattern, not NUL-terminated at '}' */
    size_t name_len[ROUTE_MAX_PARAMS];
    char *values[ROUTE_MAX_PARAMS];      /* allocated; freed by route_match_release */
    char allow[96];                      /* for ROUTE_BAD_METHOD: "GET, HEAD, POST" */
};

/* Finds the route for method and path. Returns its index, ROUTE_NO_MATCH (no pattern matches the path)
 * or ROUTE_BAD_METHOD (some pattern matches, with other methods: m->allow lists them). */
int route_find(const struct route *routes, size_t n, const char *method, const char *path,
               struct route_match *m);
void route_match_release(struct route_match *m);
/* Checks a table: patterns well formed, no duplicate method+pattern. Returns AEG_OK or AEG_EINVAL with
 * the first problem in err. */
int route_table_check(const struct route *routes, size_t n, char *err, size_t errlen);

/* ---- OpenAPI (openapi.c) ------------------------------------------------------------------------- */

struct openapi_info {
    const char *title, *version, *description;
    const char *components; /* JSON text of extra components.schemas, or NULL */
};
/* Builds an OpenAPI 3.1 document of every route not flagged ROUTE_HIDDEN. New reference. */
json_t *http_openapi(const struct route *routes, size_t n, const struct openapi_info *info);

#endif

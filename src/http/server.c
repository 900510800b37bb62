/*
 * server: libmicrohttpd glue. One access-handler callback drives the request through its phases; the
 * completion callback writes the access log line, records metrics and frees the request.
 *
 * libmicrohttpd lets a response be queued only when the headers have been processed (first call) or
 * the whole body has arrived (last call). So: an over-long Content-Length is answered at the first call
 * (413, connection closed, body never read); every other answer, errors included, is queued at the last
 * call, which keeps the connection alive. A body without Content-Length that grows past the limit is
 * drained (not stored) and answered 413 at the end; a body still arriving after the request timeout
 * closes the connection.
 */
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct header {
    char *name, *value;
};

struct http_req {
    struct http_server *srv;
    struct MHD_Connection *conn;
    char method[16];
    char *path;
    int route_idx; /* >= 0, ROUTE_NO_MATCH or ROUTE_BAD_METHOD */
    struct route_match match;
    char request_id[ID_REQUEST_MAX + 1];
    uint64_t t0;
    struct buf body;
    bool body_overflow; /* stopped storing: the body passed the limit */
    json_t *json;
    int early_code; /* an error decided before the handler (413, ...) */
    /* the response */
    struct MHD_Response *resp;
    int status;
    size_t resp_bytes;
    struct header *headers;
    int nheaders;
    char err_msg[512];
    bool err_msg_set;
    char ip[INET6_ADDRSTRLEN];
    void *ctx;
    void (*ctx_free)(void *);
};

struct http_server {
    struct http_opts o;
    struct MHD_Daemon *d;
    int port;
    atomic_int in_flight;
    atomic_bool draining;
    struct http_metrics metrics;
};

/* ---- accessors ----------------------------------------------------------------------------------- */

void *http_app(const struct http_req *r)
{
    return r->srv->o.app;
}
const char *http_method(const struct http_req *r)
{
    return r->method;
}
const char *http_path(const struct http_req *r)
{
    return r->path;
}
const struct route *http_route(const struct http_req *r)
{
    return r->route_idx >= 0 ? &r->srv->o.routes[r->route_idx] : NULL;
}
const char *http_request_id(const struct http_req *r)
{
    return r->request_id;
}
const char *http_param(const struct http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < r->match.nparams; i++)
        if (r->match.name_len[i] == n && !memcmp(r->match.names[i], name, n))
            return r->match.values[i];
    return NULL;
}
const char *http_query(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}
const char *http_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
const char *http_cookie(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}
json_t *http_json(const struct http_req *r)
{
    return r->json;
}
const struct buf *http_body(const struct http_req *r)
{
    return &r->body;
}
const char *http_client_ip(struct http_req *r)
{
    if (r->ip[0])
        return r->ip;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(r->ip, sizeof r->ip, "unknown");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->ip, sizeof r->ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->ip, sizeof r->ip);
    }
    return r->ip;
}
void http_set_ctx(struct http_req *r, void *ctx, void (*free_fn)(void *))
{
    if (r->ctx && r->ctx_free)
        r->ctx_free(r->ctx);
    r->ctx = ctx;
    r->ctx_free = free_fn;
}
void *http_ctx(const struct http_req *r)
{
    return r->ctx;
}

/* ---- responses ----------------------------------------------------------------------------------- */

static void set_response(struct http_req *r, int status, struct MHD_Response *resp, size_t bytes)
{
    if (r->resp)
        MHD_destroy_response(r->resp);
    r->resp = resp;
    r->status = status;
    r->resp_bytes = bytes;
}

int http_reply_data(struct http_req *r, int status, const char *content_type, const void *data,
                    size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return AEG_EINTERNAL;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    set_response(r, status, resp, len);
    return AEG_OK;
}

int http_reply_buf(struct http_req *r, int status, const char *content_type, struct buf *b)
{
    size_t len = 0;
    char *data = buf_detach(b, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (!resp) {
        free(data);
        return AEG_EINTERNAL;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    set_response(r, status, resp, len);
    return AEG_OK;
}

int http_reply_json(struct http_req *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!text)
        return AEG_EINTERNAL;
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, text, free);
    if (!resp) {
        free(text);
        return AEG_EINTERNAL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    set_response(r, status, resp, len);
    return AEG_OK;
}

int http_reply_empty(struct http_req *r, int status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return AEG_EINTERNAL;
    set_response(r, status, resp, 0);
    return AEG_OK;
}

int http_reply_file(struct http_req *r, const char *path, const char *content_type,
                    const char *cache_control)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return AEG_ENOTFOUND;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return AEG_ENOTFOUND;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return AEG_EINTERNAL;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (cache_control)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control);
    set_response(r, 200, resp, (size_t)st.st_size);
    return AEG_OK;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
    r->headers = xrealloc(r->headers, (size_t)(r->nheaders + 1) * sizeof *r->headers);
    r->headers[r->nheaders].name = xstrdup(name);
    r->headers[r->nheaders].value = xstrdup(value);
    r->nheaders++;
}

int http_fail(struct http_req *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
    va_end(ap);
    r->err_msg_set = true;
    return code;
}

/* The one place an error becomes a response body. */
static void reply_error(struct http_req *r, int code)
{
    if (code <= AEG_OK || code >= AEG__COUNT)
        code = AEG_EINTERNAL;
    json_t *body = json_pack("{s:{s:s,s:s,s:s,s:s}}", "error", "type", aeg_code_type(code), "code",
                             aeg_code_name(code), "message",
                             r->err_msg_set ? r->err_msg : aeg_code_message(code), "request_id",
                             r->request_id);
    if (http_reply_json(r, aeg_code_status(code), body) != AEG_OK)
        http_reply_empty(r, 500);
}

/* ---- the request pipeline ------------------------------------------------------------------------ */

static bool json_media_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    if (n == 16 && !strncasecmp(ct, "application/json", 16))
        return true;
    return n > 5 && !strncasecmp(ct + n - 5, "+json", 5) && !strncasecmp(ct, "application/", 12);
}

static void add_cors(struct http_req *r, struct MHD_Response *resp, bool preflight)
{
    const struct http_opts *o = &r->srv->o;
    const char *origin = http_header(r, "Origin");
    if (!origin || !o->cors_allows || !o->cors_allows(o->app, origin))
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Vary", "Origin");
    MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
    if (preflight) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", r->match.allow);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, X-Request-Id");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    } else {
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "X-Request-Id, Retry-After");
    }
}

static enum MHD_Result finish(struct http_req *r, bool preflight)
{
    if (!r->resp)
        reply_error(r, AEG_EINTERNAL);
    struct MHD_Response *resp = r->resp;
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    add_cors(r, resp, preflight);
    if (atomic_load(&r->srv->draining) || r->early_code == AEG_ETOOLARGE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp); /* the connection holds its own reference */
    r->resp = NULL;
    return ok;
}

static void run_request(struct http_req *r)
{
    struct http_server *s = r->srv;
    int code = r->early_code;
    if (!code && r->body_overflow)
        code = http_fail(r, AEG_ETOOLARGE, "The request body is larger than the limit of %zu bytes.",
                         s->o.body_limit);
    if (code) {
        reply_error(r, code);
        return;
    }
    if (r->route_idx == ROUTE_NO_MATCH) {
        reply_error(r, http_fail(r, AEG_ENOROUTE, "No route for %s %s.", r->method, r->path));
        return;
    }
    if (r->route_idx == ROUTE_BAD_METHOD) {
        if (!strcmp(r->method, "OPTIONS")) { /* CORS preflight, or a plain capability probe */
            http_reply_empty(r, 204);
            http_add_header(r, "Allow", r->match.allow);
            return;
        }
        http_add_header(r, "Allow", r->match.allow);
        reply_error(r, http_fail(r, AEG_EMETHOD, "%s is not allowed on %s; allowed: %s.", r->method,
                                 r->path, r->match.allow));
        return;
    }
    const struct route *rt = &s->o.routes[r->route_idx];
    if (rt->flags & ROUTE_JSON) {
        const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!json_media_type(ct)) {
            reply_error(r, http_fail(r, AEG_EMEDIA,
                                     "The body must be JSON: send Content-Type: application/json "
                                     "(got %s).",
                                     ct ? "another media type" : "no Content-Type"));
            return;
        }
        if (r->body.len == 0) {
            reply_error(r, http_fail(r, AEG_EJSON, "A JSON body is required."));
            return;
        }
        char detail[300];
        if (json_parse(r->body.data, r->body.len, &r->json, detail, sizeof detail)) {
            reply_error(r, http_fail(r, AEG_EJSON, "%s", detail));
            return;
        }
    }
    for (size_t i = 0; i < s->o.nphases; i++) {
        code = s->o.phases[i].run(r);
        if (code) {
            reply_error(r, code);
            return;
        }
    }
    code = rt->handler(r);
    if (code || !r->resp)
        reply_error(r, code ? code : AEG_EINTERNAL);
}

static struct http_req *req_new(struct http_server *s, struct MHD_Connection *c, const char *url,
                                const char *method)
{
    struct http_req *r = xcalloc(1, sizeof *r);
    r->srv = s;
    r->conn = c;
    r->t0 = clock_mono_ns();
    snprintf(r->method, sizeof r->method, "%s", method);
    r->path = xstrdup(url);
    buf_init(&r->body, s->o.body_limit);
    const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && id_request_id_ok(rid))
        snprintf(r->request_id, sizeof r->request_id, "%s", rid);
    else
        id_uuid7(r->request_id);
    r->route_idx = route_find(s->o.routes, s->o.nroutes, method, url, &r->match);
    atomic_fetch_add(&s->in_flight, 1);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct http_req *r = *con_cls;
    if (!r) {
        r = req_new(s, c, url, method);
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || *end || n > s->o.body_limit) {
                r->early_code = http_fail(r, AEG_ETOOLARGE,
                                          "The request body is larger than the limit of %zu bytes.",
                                          s->o.body_limit);
                reply_error(r, r->early_code);
                return finish(r, false); /* before reading a byte of it */
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if ((clock_mono_ns() - r->t0) / 1000000000u > (uint64_t)s->o.request_timeout_s) {
            r->status = 408; /* for the access log: the connection is closed without a response */
            return MHD_NO;
        }
        if (!r->body_overflow && buf_add(&r->body, upload_data, *upload_data_size) != AEG_OK) {
            r->body_overflow = true;
            buf_release(&r->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->resp == NULL && r->status == 0) {
        bool preflight = !strcmp(r->method, "OPTIONS");
        run_request(r);
        return finish(r, preflight && r->route_idx == ROUTE_BAD_METHOD);
    }
    return MHD_YES;
}

static void access_log(struct http_req *r, int status)
{
    if (log_access_fd() < 0)
        return;
    /* Hot path (one line per request): no floating point, the timestamp from a per-thread cache,
     * and a buffered writer behind log_access_line. */
    char ts[CLOCK_ISO_LEN];
    char line[1024];
    const struct route *rt = http_route(r);
    unsigned long long us = (clock_mono_ns() - r->t0) / 1000;
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"type\":\"access\",\"request_id\":\"%s\",\"method\":\"%s\","
                     "\"path\":\"",
                     clock_now_iso(ts), r->request_id, r->method);
    /* The path comes from the client: escape it, and cut it short rather than overflow. */
    struct buf path;
    buf_init(&path, 512);
    buf_add_json_str(&path, r->path);
    n += snprintf(line + n, sizeof line - (size_t)n,
                  "%s\",\"route\":\"%s\",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%llu.%03llu,"
                  "\"ip\":\"%s\"}\n",
                  buf_str(&path), rt ? rt->pattern : "", status, r->resp_bytes, us / 1000, us % 1000,
                  http_client_ip(r));
    buf_release(&path);
    if (n > 0 && (size_t)n < sizeof line)
        log_access_line(line, (size_t)n);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    struct http_server *s = cls;
    struct http_req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    int status = r->status;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && status == 0)
        status = 499; /* the client went away before an answer */
    uint64_t ns = clock_mono_ns() - r->t0;
    http_metrics_record(&s->metrics, r->route_idx, status, ns);
    access_log(r, status);

    if (r->resp)
        MHD_destroy_response(r->resp);
    json_decref(r->json);
    buf_release(&r->body);
    route_match_release(&r->match);
    for (int i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    if (r->ctx && r->ctx_free)
        r->ctx_free(r->ctx);
    free(r->path);
    free(r);
    atomic_fetch_sub(&s->in_flight, 1);
}

/* Percent-decoding of the path and query, in place. A %00 stays encoded: a NUL inside a C string
 * would silently cut the path short ("index.html%00.js" must not become "index.html"). */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *p = s; *p; p++) {
        int hi, lo;
        if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 && (hi || lo)) {
            *w++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_msg(LOG_DEBUG, "http.mhd", "%s", msg);
}

/* ---- lifecycle ----------------------------------------------------------------------------------- */

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (!strcmp(host, "localhost"))
        host = "127.0.0.1";
    if (!*host || !strcmp(host, "*"))
        host = "0.0.0.0";
    char h[INET6_ADDRSTRLEN + 2];
    snprintf(h, sizeof h, "%s", host);
    size_t hl = strlen(h);
    if (hl > 2 && h[0] == '[' && h[hl - 1] == ']') {
        memmove(h, h + 1, hl - 2);
        h[hl - 2] = '\0';
    }
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

int http_server_start(const struct http_opts *o, struct http_server **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = route_table_check(o->routes, o->nroutes, err, errlen);
    if (rc)
        return rc;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (resolve(o->host, o->port, &ss, &sl)) {
        snprintf(err, errlen, "AEGIS_HOST \"%s\" is not an IPv4 or IPv6 address", o->host);
        return AEG_EINVAL;
    }
    struct http_server *s = xcalloc(1, sizeof *s);
    s->o = *o;
    http_metrics_init(&s->metrics, o->nroutes);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_THREAD_POOL_SIZE, o->threads > 1 ? o->threads : 1, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, o->conn_timeout_s, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
                            opts, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use, or not permitted)", o->host,
                 o->port);
        http_metrics_free(&s->metrics);
        free(s);
        return AEG_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return AEG_OK;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

int http_server_in_flight(const struct http_server *s)
{
    return atomic_load(&((struct http_server *)s)->in_flight);
}

int http_server_stop(struct http_server *s, int timeout_s)
{
    atomic_store(&s->draining, true);
    MHD_socket lsock = MHD_quiesce_daemon(s->d);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock); /* no new connections from here on */
    uint64_t deadline = clock_mono_ns() + (uint64_t)timeout_s * 1000000000u;
    while (atomic_load(&s->in_flight) > 0 && clock_mono_ns() < deadline)
        clock_sleep_ms(10);
    int cut = atomic_load(&s->in_flight);
    MHD_stop_daemon(s->d);
    http_metrics_free(&s->metrics);
    free(s);
    return cut;
}

void http_server_metrics(const struct http_server *s, struct buf *out)
{
    http_metrics_render(&s->metrics, s->o.routes, s->o.nroutes, out);
}

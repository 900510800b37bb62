/*
 * api: the application's HTTP surface. One file per resource: parse the request, call a service or
 * the store, render JSON. JSON shapes of the API live only here. The route table (routes.c) is the one
 * list of what the server answers; the OpenAPI document and the route listing are generated from it.
 */
#ifndef AEGIS_API_API_H
#define AEGIS_API_API_H

#include "core/cfg.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "store/store.h"

#include <stdint.h>

#ifndef AEGIS_VERSION
#define AEGIS_VERSION "0.0.0"
#endif
#ifndef AEGIS_COMMIT
#define AEGIS_COMMIT "unknown"
#endif

/* What handlers reach through http_app(req). Owned by `aegis serve`. */
struct app {
    const struct cfg *cfg;
    struct store *store;
    struct job_pool *jobs;
    struct http_server *http;
    const struct route *routes; /* the mounted table */
    size_t nroutes;
    char *openapi;              /* the document, rendered once at start */
    int64_t started_ms;
};

/* The routes mounted under this configuration (diagnostic routes only when cfg->diag_routes).
 * Returns a table owned by the caller (free()), *n set to its length. */
struct route *api_routes(const struct cfg *cfg, size_t *n);
/* Every route, mounted or not (for documentation and tests). */
const struct route *api_all_routes(size_t *n);
/* The OpenAPI document of a route table. New reference. */
json_t *api_openapi(const struct route *routes, size_t n);

/* handlers (ops.c, diag.c) */
int api_healthz(struct http_req *r);
int api_readyz(struct http_req *r);
int api_metrics(struct http_req *r);
int api_openapi_json(struct http_req *r);
int api_docs_page(struct http_req *r);
int api_docs_asset(struct http_req *r);
int api_diag_echo(struct http_req *r);

#endif

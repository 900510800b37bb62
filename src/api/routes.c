/*
 * routes: the one route table of the server. Add a route here with its flags and documentation; the
 * router, the OpenAPI document (/openapi.json), `aegis routes` and the tests all read this table.
 */
#include "api/api.h"

#include "core/alloc.h"

#include <string.h>

static const struct route all[] = {
    {"GET", "/healthz", api_healthz, ROUTE_PUBLIC,
     {.summary = "Liveness: the process is up and serving",
      .tag = "ops",
      .response_schema = "{\"type\":\"object\",\"properties\":{\"status\":{\"const\":\"ok\"}}}"}},
    {"GET", "/readyz", api_readyz, ROUTE_PUBLIC,
     {.summary = "Readiness: the database answers and every migration is applied",
      .tag = "ops",
      .description = "503 with the reason while the database is unreachable, a migration is "
                     "pending or an applied migration was changed.",
      .response_schema = "{\"$ref\":\"#/components/schemas/Ready\"}",
      .errors = "503"}},
    {"GET", "/metrics", api_metrics, ROUTE_PUBLIC,
     {.summary = "Prometheus metrics: requests by route and status, latency, jobs by state, build",
      .tag = "ops",
      .response_type = "text/plain",
      .response_schema = "{\"type\":\"string\"}"}},
    {"GET", "/openapi.json", api_openapi_json, ROUTE_PUBLIC,
     {.summary = "This OpenAPI 3.1 document", .tag = "ops", .response_schema = "{\"type\":\"object\"}"}},
    {"GET", "/docs", api_docs_page, ROUTE_PUBLIC,
     {.summary = "API reference page (Swagger UI, served locally)",
      .tag = "ops",
      .response_type = "text/html",
      .response_schema = "{\"type\":\"string\"}",
      .errors = "503"}},
    {"GET", "/docs/{file}", api_docs_asset, ROUTE_PUBLIC | ROUTE_HIDDEN,
     {.summary = "Assets of the API reference page", .tag = "ops"}},
    {"POST", "/api/v1/diag/echo", api_diag_echo, ROUTE_PUBLIC | ROUTE_JSON | ROUTE_DIAG,
     {.summary = "Echo a JSON body (diagnostics; not mounted in production)",
      .tag = "diagnostics",
      .description = "Answers the parsed body and the request id. `delay_ms` (0-10000) holds the "
                     "answer back, to observe timeouts and graceful shutdown.",
      .request_schema = "{\"type\":\"object\"}",
      .response_schema = "{\"type\":\"object\",\"properties\":{\"request_id\":{\"type\":\"string\"},"
                         "\"received\":{}}}"}},
};

static const char *components =
    "{\"Ready\":{\"type\":\"object\",\"properties\":{\"status\":{\"const\":\"ready\"},"
    "\"database\":{\"type\":\"string\"},\"migrations\":{\"type\":\"object\",\"properties\":{"
    "\"current\":{\"type\":\"integer\"},\"latest\":{\"type\":\"integer\"},"
    "\"pending\":{\"type\":\"integer\"}}}}}}";

const struct route *api_all_routes(size_t *n)
{
    *n = sizeof all / sizeof all[0];
    return all;
}

struct route *api_routes(const struct cfg *cfg, size_t *n)
{
    size_t total = sizeof all / sizeof all[0];
    struct route *out = xcalloc(total, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        if ((all[i].flags & ROUTE_DIAG) && !cfg->diag_routes)
            continue;
        out[k++] = all[i];
    }
    *n = k;
    return out;
}

json_t *api_openapi(const struct route *routes, size_t n)
{
    struct openapi_info info = {
        .title = "Aegis API",
        .version = AEGIS_VERSION,
        .description = "Risk-and-compliance platform: AI-output safety evaluation and cyber-risk "
                       "quantification. Errors share one shape: "
                       "{\"error\":{\"type\",\"code\",\"message\",\"request_id\"}}.",
        .components = components,
    };
    return http_openapi(routes, n, &info);
}

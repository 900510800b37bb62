/*
 * api: the application's HTTP surface. One file per resource: parse the request, call a service or
 * the store, render JSON. JSON shapes of the API live only here. The route table (routes.c) is the one
 * list of what the server answers; the OpenAPI document and the route listing are generated from it.
 */
#ifndef AEGIS_API_API_H
#define AEGIS_API_API_H

#include "auth/auth.h"
#include "core/cfg.h"
#include "core/rate.h"
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
    struct rate *signup_rate;   /* signups per client IP */
    struct rate *login_rate;    /* failed logins per client IP */
    struct job_kind *kinds;     /* the job kinds the workers run (owned) */
};

/* ---- helpers for handlers (common.c) ------------------------------------------------------------- */

/* The authentication phase: resolves the bearer secret (or the session cookie) of every route not
 * flagged ROUTE_PUBLIC to a principal, and checks the role the route's flags need. */
int api_phase_auth(struct http_req *r);
/* The caller, after api_phase_auth (NULL on public routes). */
const struct principal *api_principal(const struct http_req *r);
/* The tenant context of the caller: every store call of a handler takes it. */
struct tenant api_tenant(const struct http_req *r);
struct auth_req api_auth_req(struct http_req *r);
/* An ISO 8601 time, or JSON null for 0. */
json_t *api_time(int64_t ms);
/* A string member of the JSON body: AEG_OK with *out (borrowed; NULL when absent and optional), or
 * AEG_EINVAL with a message naming the field. */
int api_body_string(struct http_req *r, const char *field, bool required, size_t max_len,
                    const char **out);
/* Answers a store/service error as the API should: ENOTFOUND as 404 naming the object. */
int api_store_error(struct http_req *r, int rc, const char *what);

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
int api_signup(struct http_req *r);
int api_login(struct http_req *r);
int api_logout(struct http_req *r);
int api_accept_invite(struct http_req *r);
int api_me(struct http_req *r);
int api_org_get(struct http_req *r);
int api_users_list(struct http_req *r);
int api_users_create(struct http_req *r);
int api_users_get(struct http_req *r);
int api_users_update(struct http_req *r);
int api_users_delete(struct http_req *r);
int api_keys_list(struct http_req *r);
int api_keys_create(struct http_req *r);
int api_keys_get(struct http_req *r);
int api_keys_revoke(struct http_req *r);
int api_audit_list(struct http_req *r);
int api_scenarios_list(struct http_req *r);
int api_scenarios_create(struct http_req *r);
int api_scenarios_get(struct http_req *r);
int api_scenarios_update(struct http_req *r);
int api_scenarios_delete(struct http_req *r);
int api_simulations_list(struct http_req *r);
int api_simulations_create(struct http_req *r);
int api_simulations_get(struct http_req *r);
int api_controls_templates(struct http_req *r);
int api_optimize_create(struct http_req *r);
int api_optimization_get(struct http_req *r);
int api_optimization_list(struct http_req *r);
int api_traces_create(struct http_req *r);
int api_traces_list(struct http_req *r);
int api_traces_get(struct http_req *r);
int api_domains_list(struct http_req *r);
int api_domains_get(struct http_req *r);
int api_domains_save(struct http_req *r);
int api_domains_delete(struct http_req *r);
json_t *api_user_json(const struct user_row *u);
json_t *api_key_json(const struct key_row *k);

#endif

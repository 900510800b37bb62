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
    {"POST", "/api/v1/onboarding/signup", api_signup, ROUTE_PUBLIC | ROUTE_JSON | ROUTE_WRITE,
     {.summary = "Self-serve signup: a new organization, its owner and a first API key",
      .tag = "identity",
      .description = "One transaction. The API key is in this answer only. Rate limited per client "
                     "address (429 with Retry-After).",
      .request_schema = "{\"type\":\"object\",\"required\":[\"organization_name\",\"email\"],"
                        "\"properties\":{\"organization_name\":{\"type\":\"string\",\"minLength\":2,"
                        "\"maxLength\":100},\"email\":{\"type\":\"string\",\"format\":\"email\"},"
                        "\"password\":{\"type\":\"string\",\"minLength\":10},\"plan\":{\"enum\":["
                        "\"free\",\"starter\",\"pro\",\"enterprise\"]}}}",
      .status = 201,
      .response_schema = "{\"$ref\":\"#/components/schemas/Signup\"}",
      .errors = "409 429"}},
    {"POST", "/api/v1/auth/login", api_login, ROUTE_PUBLIC | ROUTE_JSON,
     {.summary = "Log in with email and password: a session token (also set as an HttpOnly cookie)",
      .tag = "identity",
      .request_schema = "{\"type\":\"object\",\"required\":[\"email\",\"password\"],"
                        "\"properties\":{\"email\":{\"type\":\"string\"},\"password\":{\"type\":"
                        "\"string\"}}}",
      .errors = "401 429"}},
    {"POST", "/api/v1/auth/accept-invite", api_accept_invite, ROUTE_PUBLIC | ROUTE_JSON | ROUTE_WRITE,
     {.summary = "Accept an invitation: set a password and start a session",
      .tag = "identity",
      .request_schema = "{\"type\":\"object\",\"required\":[\"token\",\"password\"],"
                        "\"properties\":{\"token\":{\"type\":\"string\"},\"password\":{\"type\":"
                        "\"string\",\"minLength\":10}}}",
      .errors = "401"}},
    {"POST", "/api/v1/auth/logout", api_logout, 0,
     {.summary = "End the current login session", .tag = "identity", .status = 204}},
    {"GET", "/api/v1/me", api_me, 0,
     {.summary = "The caller: organization, principal (user or key) and role", .tag = "identity"}},
    {"GET", "/api/v1/org", api_org_get, 0,
     {.summary = "The caller's organization", .tag = "identity"}},
    {"GET", "/api/v1/users", api_users_list, ROUTE_ADMIN,
     {.summary = "Members of the organization", .tag = "users"}},
    {"POST", "/api/v1/users", api_users_create, ROUTE_ADMIN | ROUTE_WRITE | ROUTE_JSON,
     {.summary = "Add a member: with a password, or invited (an invite token, shown once)",
      .tag = "users",
      .request_schema = "{\"type\":\"object\",\"required\":[\"email\",\"role\"],"
                        "\"properties\":{\"email\":{\"type\":\"string\"},\"role\":{\"enum\":["
                        "\"owner\",\"admin\",\"analyst\",\"viewer\"]},\"name\":{\"type\":\"string\"},"
                        "\"password\":{\"type\":\"string\",\"minLength\":10}}}",
      .status = 201,
      .errors = "409"}},
    {"GET", "/api/v1/users/{id}", api_users_get, ROUTE_ADMIN,
     {.summary = "One member", .tag = "users"}},
    {"PATCH", "/api/v1/users/{id}", api_users_update, ROUTE_ADMIN | ROUTE_WRITE | ROUTE_JSON,
     {.summary = "Change a member's role (the last owner cannot be demoted)",
      .tag = "users",
      .request_schema = "{\"type\":\"object\",\"required\":[\"role\"],\"properties\":{"
                        "\"role\":{\"enum\":[\"owner\",\"admin\",\"analyst\",\"viewer\"]}}}",
      .errors = "409"}},
    {"DELETE", "/api/v1/users/{id}", api_users_delete, ROUTE_ADMIN | ROUTE_WRITE,
     {.summary = "Remove a member (not the last owner)", .tag = "users", .status = 204,
      .errors = "409"}},
    {"GET", "/api/v1/keys", api_keys_list, ROUTE_ADMIN,
     {.summary = "API keys of the organization (display prefixes, never the keys)", .tag = "keys"}},
    {"POST", "/api/v1/keys", api_keys_create, ROUTE_ADMIN | ROUTE_WRITE | ROUTE_JSON,
     {.summary = "Create an API key: the key is in this answer only",
      .tag = "keys",
      .request_schema = "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{"
                        "\"name\":{\"type\":\"string\"},\"role\":{\"enum\":[\"owner\",\"admin\","
                        "\"analyst\",\"viewer\"]},\"expires_at\":{\"type\":\"string\","
                        "\"format\":\"date-time\"}}}",
      .status = 201}},
    {"GET", "/api/v1/keys/{id}", api_keys_get, ROUTE_ADMIN,
     {.summary = "One API key", .tag = "keys"}},
    {"DELETE", "/api/v1/keys/{id}", api_keys_revoke, ROUTE_ADMIN | ROUTE_WRITE,
     {.summary = "Revoke an API key (answers the revoked key)", .tag = "keys", .errors = "409"}},
    {"GET", "/api/v1/scenarios", api_scenarios_list, 0,
     {.summary = "The organization's scenario library", .tag = "risk"}},
    {"POST", "/api/v1/scenarios", api_scenarios_create, ROUTE_WRITE | ROUTE_JSON,
     {.summary = "Add a FAIR scenario to the library (schema: docs/scenarios.md)",
      .tag = "risk",
      .request_schema = "{\"$ref\":\"#/components/schemas/Scenario\"}",
      .status = 201,
      .errors = "409"}},
    {"GET", "/api/v1/scenarios/{id}", api_scenarios_get, 0,
     {.summary = "One scenario", .tag = "risk"}},
    {"PUT", "/api/v1/scenarios/{id}", api_scenarios_update, ROUTE_WRITE | ROUTE_JSON,
     {.summary = "Replace a scenario",
      .tag = "risk",
      .request_schema = "{\"$ref\":\"#/components/schemas/Scenario\"}",
      .errors = "409"}},
    {"DELETE", "/api/v1/scenarios/{id}", api_scenarios_delete, ROUTE_WRITE,
     {.summary = "Delete a scenario", .tag = "risk", .status = 204}},
    {"GET", "/api/v1/simulations", api_simulations_list, 0,
     {.summary = "Simulation runs, newest first (limit 1-500)", .tag = "risk"}},
    {"POST", "/api/v1/simulations", api_simulations_create, ROUTE_WRITE | ROUTE_JSON | ROUTE_METERED,
     {.summary = "Start a Monte Carlo simulation (runs as a job; answers 202 with the run id)",
      .tag = "risk",
      .description = "Body: scenarios (inline scenario objects) and/or scenario_ids, iterations "
                     "(default 100000, at most AEGIS_SIM_MAX_ITERATIONS: 422 above), seed, "
                     "semantics (compound or product), thresholds, correlation, name.",
      .request_schema = "{\"type\":\"object\",\"properties\":{\"scenarios\":{\"type\":\"array\","
                        "\"items\":{\"$ref\":\"#/components/schemas/Scenario\"}},\"scenario_ids\":"
                        "{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"iterations\":{"
                        "\"type\":\"integer\",\"minimum\":1},\"seed\":{\"type\":\"integer\"},"
                        "\"semantics\":{\"enum\":[\"compound\",\"product\"]},\"thresholds\":{"
                        "\"type\":\"array\",\"items\":{\"type\":\"number\"}},\"name\":{\"type\":"
                        "\"string\"}}}",
      .status = 202,
      .errors = "422"}},
    {"GET", "/api/v1/simulations/{id}", api_simulations_get, 0,
     {.summary = "A simulation run: status, parameters and results", .tag = "risk"}},
    {"GET", "/api/v1/controls/templates", api_controls_templates, 0,
     {.summary = "The shipped control catalog and quick-start optimisation templates",
      .tag = "risk",
      .description = "data: the templates (id, name, description, template: an optimisation input "
                     "of docs/controls.md); catalog: the standard control catalog."}},
    {"POST", "/api/v1/optimize", api_optimize_create, ROUTE_WRITE | ROUTE_JSON | ROUTE_METERED,
     {.summary = "Choose security controls under a budget (runs as a job; answers 202 with the run "
                 "id)",
      .tag = "risk",
      .description = "Body: an optimisation input (docs/controls.md: scenarios, controls, budget, "
                     "objective, target_loss, coverage), or template (an id of "
                     "/api/v1/controls/templates) with any of those fields over it; and iterations "
                     "(the re-check's, default 100000, at most AEGIS_SIM_MAX_ITERATIONS: 422 above), "
                     "seed, frontier (points, 0-50), frontier_iterations (default 100000). An "
                     "infeasible input fails the run with the constraint that cannot be met.",
      .request_schema = "{\"type\":\"object\",\"properties\":{\"template\":{\"type\":\"string\"},"
                        "\"scenarios\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/"
                        "schemas/Scenario\"}},\"controls\":{\"type\":\"object\"},\"budget\":{"
                        "\"type\":\"object\"},\"objective\":{\"enum\":[\"min_total_cost\","
                        "\"max_reduction\",\"min_spend\"]},\"iterations\":{\"type\":\"integer\","
                        "\"minimum\":1},\"frontier\":{\"type\":\"integer\",\"minimum\":0}}}",
      .status = 202,
      .errors = "422"}},
    {"GET", "/api/v1/optimization", api_optimization_list, 0,
     {.summary = "Optimisation runs, newest first (limit 1-500)", .tag = "risk"}},
    {"GET", "/api/v1/optimization/{id}", api_optimization_get, 0,
     {.summary = "An optimisation run: status, input and results (chosen controls, re-check, "
                 "frontier)",
      .tag = "risk"}},
    {"POST", "/api/v1/traces", api_traces_create, ROUTE_WRITE | ROUTE_JSON | ROUTE_METERED,
     {.summary = "Ingest AI-output traces for Tier-1 evaluation (one trace or a batch of up to "
                 "1000)",
      .tag = "evaluation",
      .description = "Body: a trace object (domain, input, output, metadata, model, latency_ms, "
                     "cost, external_id, tags) or {\"traces\": [...]}. Every trace is checked "
                     "first; one invalid trace refuses the whole batch (400 naming traces[i].field) "
                     "and nothing is stored. Answers 202 with the ids (one eval.tier1 job evaluates "
                     "the batch), or with ?wait=true 201 with each trace's verdict and results.",
      .request_schema = "{\"oneOf\":[{\"$ref\":\"#/components/schemas/Trace\"},{\"type\":"
                        "\"object\",\"required\":[\"traces\"],\"properties\":{\"traces\":{"
                        "\"type\":\"array\",\"minItems\":1,\"maxItems\":1000,\"items\":{"
                        "\"$ref\":\"#/components/schemas/Trace\"}}}}]}",
      .status = 202,
      .errors = "503"}},
    {"GET", "/api/v1/traces", api_traces_list, 0,
     {.summary = "Traces, newest first, with filters and cursor pagination",
      .tag = "evaluation",
      .description = "Query: domain, verdict (pass, uncertain, fail), status (queued, evaluated, "
                     "failed), constraint (traces with a fail or uncertain result of it; "
                     "constraint_verdict= to choose), tag, since and until (ISO 8601 or Unix "
                     "seconds; since inclusive, until exclusive), limit (1-500, default 50), cursor "
                     "(next_cursor of the previous page) or starting_after (a trace id)."}},
    {"GET", "/api/v1/traces/{id}", api_traces_get, 0,
     {.summary = "A trace with every evaluation result and its evidence", .tag = "evaluation"}},
    {"GET", "/api/v1/domains", api_domains_list, 0,
     {.summary = "The domain specs traces are evaluated against (built-in and the organization's): "
                 "name, version, constraints",
      .tag = "evaluation"}},
    {"GET", "/api/v1/domains/{name}", api_domains_get, 0,
     {.summary = "One domain spec, with its whole document (docs/domain-specs.md)",
      .tag = "evaluation"}},
    {"POST", "/api/v1/domains", api_domains_save, ROUTE_ADMIN | ROUTE_WRITE | ROUTE_JSON,
     {.summary = "Save an organization's own domain spec (created 201, or replaced 200)",
      .tag = "evaluation",
      .description = "Body: {\"spec\": YAML text or a JSON object} (docs/domain-specs.md). A spec "
                     "that does not compile is 400 naming the line and field (spec:LINE: "
                     "field.path: reason). For this organization it shadows a built-in spec of the "
                     "same name; traces ingested after the save are evaluated with it.",
      .request_schema = "{\"type\":\"object\",\"required\":[\"spec\"],\"properties\":{"
                        "\"spec\":{\"type\":[\"string\",\"object\"]}}}",
      .status = 201}},
    {"DELETE", "/api/v1/domains/{name}", api_domains_delete, ROUTE_ADMIN | ROUTE_WRITE,
     {.summary = "Delete an organization's own domain spec (a built-in it shadowed shows again)",
      .tag = "evaluation",
      .status = 204}},
    {"GET", "/api/v1/audit-log", api_audit_list, ROUTE_ADMIN,
     {.summary = "The organization's audit log, newest first",
      .tag = "audit",
      .description = "Query: from, to (ISO 8601), actor (user or key id), action (exact, or a "
                     "prefix ending in *), limit (1-500, default 50), cursor (next_cursor of the "
                     "previous page)."}},
};

static const char *components =
    "{\"Ready\":{\"type\":\"object\",\"properties\":{\"status\":{\"const\":\"ready\"},"
    "\"database\":{\"type\":\"string\"},\"migrations\":{\"type\":\"object\",\"properties\":{"
    "\"current\":{\"type\":\"integer\"},\"latest\":{\"type\":\"integer\"},"
    "\"pending\":{\"type\":\"integer\"}}}}},"
    "\"Signup\":{\"type\":\"object\",\"properties\":{\"organization\":{\"type\":\"object\"},"
    "\"user\":{\"type\":\"object\"},\"api_key\":{\"type\":\"object\",\"properties\":{"
    "\"key\":{\"type\":\"string\",\"description\":\"shown once\"}}},\"message\":{\"type\":"
    "\"string\"},\"next_steps\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"
    "\"Scenario\":{\"type\":\"object\",\"required\":[\"name\",\"primary_loss\"],\"description\":"
    "\"A FAIR scenario: lef, or tef with vulnerability; primary_loss; optional secondary_loss. See "
    "docs/scenarios.md.\",\"properties\":{\"name\":{\"type\":\"string\"},\"lef\":{},\"tef\":{},"
    "\"vulnerability\":{},\"primary_loss\":{},\"secondary_loss\":{}}},"
    "\"Trace\":{\"type\":\"object\",\"required\":[\"domain\",\"output\"],\"properties\":{"
    "\"domain\":{\"type\":\"string\"},\"input\":{\"type\":\"string\"},\"output\":{"
    "\"type\":[\"string\",\"object\",\"array\"]},\"metadata\":{\"type\":\"object\"},"
    "\"model\":{\"type\":\"string\"},\"latency_ms\":{\"type\":\"number\"},\"cost\":{"
    "\"type\":\"number\"},\"external_id\":{\"type\":\"string\"},\"tags\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"string\"}}}}}";

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

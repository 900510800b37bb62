/*
 * risk: the scenario library (/api/v1/scenarios), simulation runs (/api/v1/simulations), control
 * templates (/api/v1/controls/templates) and optimisation runs (/api/v1/optimize, /api/v1/optimization).
 * Runs go through the job queue: POST answers 202 with the run id, the result arrives in GET .../{id}.
 */
#include "api/api.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/yaml.h"
#include "risk/fair.h"
#include "risk/opt.h"
#include "services/simulations.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Validates one scenario object by parsing it as a one-scenario portfolio. */
static int check_scenario(struct http_req *r, const json_t *sc)
{
    json_t *doc = json_pack("{s:[O]}", "scenarios", sc);
    struct fair_portfolio p;
    char err[400];
    int rc = fair_parse(doc, &p, err, sizeof err);
    fair_free(&p);
    json_decref(doc);
    return rc ? http_fail(r, AEG_EINVAL, "%s", err) : AEG_OK;
}

static json_t *scenario_json(const struct scenario_row *s)
{
    json_error_t e;
    json_t *doc = json_loads(s->document, 0, &e);
    json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "id", s->id, "object", "scenario", "name", s->name,
                          "scenario", doc ? doc : json_null());
    json_object_set_new(o, "created_at", api_time(s->created_at));
    json_object_set_new(o, "updated_at", api_time(s->updated_at));
    return o;
}

struct sc_tx {
    struct app *app;
    const struct principal *who;
    struct tenant t;
    struct auth_req rq;
    struct scenario_row *row;
    const char *action;
    bool is_delete;
};

static int scenario_body(struct db *db, void *arg)
{
    struct sc_tx *x = arg;
    int rc;
    if (x->is_delete)
        rc = store_scenario_delete(db, &x->t, x->row->id);
    else if (!strcmp(x->action, "scenario.created"))
        rc = store_scenario_insert(db, &x->t, x->row);
    else
        rc = store_scenario_update(db, &x->t, x->row);
    if (!rc)
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq, x->action, "scenario",
                        x->row->id, "success", NULL);
    return rc;
}

static int save_scenario(struct http_req *r, const char *id, const char *action, int status)
{
    struct app *app = http_app(r);
    json_t *body = http_json(r);
    int rc = check_scenario(r, body);
    if (rc)
        return rc;
    int64_t now = clock_now_ms();
    struct scenario_row row = {.name = (char *)json_string_value(json_object_get(body, "name")),
                               .created_at = now, .updated_at = now};
    snprintf(row.id, sizeof row.id, "%s", id ? id : "");
    if (!id)
        id_uuid7(row.id);
    row.document = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17));
    struct sc_tx x = {.app = app, .who = api_principal(r), .t = api_tenant(r),
                      .rq = api_auth_req(r), .row = &row, .action = action};
    rc = store_tx(app->store, scenario_body, &x);
    if (rc) {
        free(row.document);
        if (rc == AEG_ECONFLICT)
            return http_fail(r, rc, "A scenario named \"%s\" already exists.", row.name);
        return api_store_error(r, rc, "scenario");
    }
    struct db *db = store_conn(app->store);
    struct scenario_row saved;
    rc = store_scenario_get(db, &x.t, row.id, &saved);
    store_release(app->store, db);
    free(row.document);
    if (rc)
        return rc;
    json_t *j = scenario_json(&saved);
    scenario_row_free(&saved);
    return http_reply_json(r, status, j);
}

int api_scenarios_create(struct http_req *r)
{
    return save_scenario(r, NULL, "scenario.created", 201);
}

int api_scenarios_update(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct scenario_row cur;
    struct db *db = store_conn(app->store);
    int rc = store_scenario_get(db, &t, http_param(r, "id"), &cur);
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "scenario");
    scenario_row_free(&cur);
    return save_scenario(r, http_param(r, "id"), "scenario.updated", 200);
}

int api_scenarios_delete(struct http_req *r)
{
    struct app *app = http_app(r);
    struct scenario_row row = {0};
    snprintf(row.id, sizeof row.id, "%s", http_param(r, "id"));
    struct sc_tx x = {.app = app, .who = api_principal(r), .t = api_tenant(r),
                      .rq = api_auth_req(r), .row = &row, .action = "scenario.deleted",
                      .is_delete = true};
    int rc = store_tx(app->store, scenario_body, &x);
    if (rc)
        return api_store_error(r, rc, "scenario");
    return http_reply_empty(r, 204);
}

int api_scenarios_get(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct scenario_row s;
    struct db *db = store_conn(app->store);
    int rc = store_scenario_get(db, &t, http_param(r, "id"), &s);
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "scenario");
    json_t *j = scenario_json(&s);
    scenario_row_free(&s);
    return http_reply_json(r, 200, j);
}

static void add_scenario(const struct scenario_row *s, void *arg)
{
    json_array_append_new(arg, scenario_json(s));
}

int api_scenarios_list(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    json_t *data = json_array();
    struct db *db = store_conn(app->store);
    int rc = store_scenario_list(db, &t, add_scenario, data);
    store_release(app->store, db);
    if (rc) {
        json_decref(data);
        return rc;
    }
    return http_reply_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

/* ---- runs: simulations and optimisations --------------------------------------------------------- */

/* The two kinds of run: the same row, table functions and job flow. */
struct runs {
    const char *object, *job_kind, *audit_action, *path;
    int (*insert)(struct db *, const struct tenant *, const struct simrun_row *);
    int (*get)(struct db *, const struct tenant *, const char *, struct simrun_row *);
    int (*list)(struct db *, const struct tenant *, int,
                void (*)(const struct simrun_row *, void *), void *);
    int (*finish)(struct db *, const struct tenant *, const char *, const char *, const char *,
                  const char *, int64_t);
};
static const struct runs SIMS = {"simulation", SIM_JOB_KIND, "simulation.created",
                                 "/api/v1/simulations/", store_simrun_insert, store_simrun_get,
                                 store_simrun_list, store_simrun_finish};
static const struct runs OPTS = {"optimization", OPT_JOB_KIND, "optimization.created",
                                 "/api/v1/optimization/", store_optrun_insert, store_optrun_get,
                                 store_optrun_list, store_optrun_finish};

static json_t *run_json(const struct runs *k, const struct simrun_row *s, bool with_results)
{
    json_error_t e;
    json_t *params = json_loads(s->parameters ? s->parameters : "{}", 0, &e);
    json_t *o = json_pack("{s:s,s:s,s:s}", "id", s->id, "object", k->object, "status", s->status);
    json_object_set_new(o, "name", s->name ? json_string(s->name) : json_null());
    if (params && k == &OPTS) {
        json_t *in = json_object_get(params, "input");
        json_t *names = json_array();
        size_t i;
        json_t *sc;
        json_array_foreach(json_object_get(in, "scenarios"), i, sc)
            json_array_append(names, json_object_get(sc, "name"));
        json_t *obj = json_object_get(in, "objective");
        json_object_set_new(o, "parameters",
                            json_pack("{s:O,s:O,s:O,s:O,s:o,s:o}", "iterations",
                                      json_object_get(params, "iterations"), "seed",
                                      json_object_get(params, "seed"), "frontier",
                                      json_object_get(params, "frontier"), "frontier_iterations",
                                      json_object_get(params, "frontier_iterations"), "objective",
                                      obj ? json_incref(obj) : json_string("min_total_cost"),
                                      "scenarios", names));
        if (with_results)
            json_object_set(o, "input", in);
        json_decref(params);
    } else if (params) {
        json_t *pf = json_object_get(params, "portfolio");
        json_t *names = json_array();
        size_t i;
        json_t *sc;
        json_array_foreach(json_object_get(pf, "scenarios"), i, sc)
            json_array_append(names, json_object_get(sc, "name"));
        json_object_set_new(o, "parameters",
                            json_pack("{s:O,s:O,s:O,s:o}", "iterations",
                                      json_object_get(params, "iterations"), "seed",
                                      json_object_get(params, "seed"), "semantics",
                                      json_object_get(params, "semantics"), "scenarios", names));
        if (with_results)
            json_object_set(o, "portfolio", pf);
        json_decref(params);
    }
    if (with_results) {
        json_t *res = s->results ? json_loads(s->results, 0, &e) : NULL;
        json_object_set_new(o, "results", res ? res : json_null());
    }
    json_object_set_new(o, "error", s->error ? json_string(s->error) : json_null());
    json_object_set_new(o, "created_at", api_time(s->created_at));
    json_object_set_new(o, "started_at", api_time(s->started_at));
    json_object_set_new(o, "completed_at", api_time(s->completed_at));
    return o;
}

struct sim_tx {
    const struct runs *k;
    struct app *app;
    const struct principal *who;
    struct tenant t;
    struct auth_req rq;
    struct simrun_row *run;
    int threads;
};

static int sim_body(struct db *db, void *arg)
{
    struct sim_tx *x = arg;
    json_t *payload = json_pack("{s:s,s:s,s:i}", "run_id", x->run->id, "org_id", x->t.org_id,
                                "threads", x->threads);
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    int rc = store_job_insert_db(db, &x->t, x->k->job_kind, text,
                                 (int)x->app->cfg->job_max_attempts, clock_now_ms(),
                                 x->run->job_id);
    free(text);
    if (!rc)
        rc = x->k->insert(db, &x->t, x->run);
    if (!rc)
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq, x->k->audit_action,
                        x->k->object, x->run->id, "success", NULL);
    return rc;
}

/* Queues a run (parameters already validated) and answers 202. Takes run->parameters. */
static int queue_run(struct http_req *r, const struct runs *k, struct simrun_row *run)
{
    struct app *app = http_app(r);
    id_uuid7(run->id);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct sim_tx x = {.k = k, .app = app, .who = api_principal(r), .t = api_tenant(r),
                       .rq = api_auth_req(r), .run = run,
                       .threads = app->cfg->sim_threads > 0 ? (int)app->cfg->sim_threads
                                                            : (int)(cpus > 0 ? cpus : 1)};
    int rc = store_tx(app->store, sim_body, &x);
    if (rc) {
        free(run->parameters);
        return rc;
    }
    job_pool_notify(app->jobs);
    json_t *j = run_json(k, run, false);
    free(run->parameters);
    char loc[128];
    snprintf(loc, sizeof loc, "%s%s", k->path, run->id);
    http_add_header(r, "Location", loc);
    return http_reply_json(r, 202, j);
}

/* iterations (default 100000, at most the server's ceiling: 422), seed (an integer or its decimal
 * string; random when absent). Answers the error itself and returns its code, or 0. */
static int run_options(struct http_req *r, const json_t *body, json_int_t *iterations,
                       uint64_t *seed)
{
    struct app *app = http_app(r);
    *iterations = 100000;
    const json_t *it = json_object_get(body, "iterations");
    if (it) {
        if (!json_is_integer(it) || json_integer_value(it) < 1)
            return http_fail(r, AEG_EINVAL, "iterations must be a positive integer.");
        *iterations = json_integer_value(it);
    }
    if (*iterations > app->cfg->sim_max_iterations)
        return http_fail(r, AEG_ELIMIT,
                         "iterations %lld is above this server's limit of %ld per run "
                         "(AEGIS_SIM_MAX_ITERATIONS).",
                         (long long)*iterations, app->cfg->sim_max_iterations);
    /* seeds: an integer, or the decimal string results show (seeds use all 64 bits, and JSON
     * integers here stop at 2^63 - 1) */
    const json_t *sj = json_object_get(body, "seed");
    if (sj) {
        const char *ss = json_string_value(sj);
        char *end = NULL;
        bool ok = json_is_integer(sj) ? json_integer_value(sj) >= 0
                                      : ss && *ss >= '0' && *ss <= '9' && strlen(ss) <= 20;
        if (ok && ss) {
            errno = 0;
            *seed = strtoull(ss, &end, 10);
            ok = !errno && end && !*end;
        } else if (ok) {
            *seed = (uint64_t)json_integer_value(sj);
        }
        if (!ok)
            return http_fail(r, AEG_EINVAL,
                             "seed must be a non-negative integer (or its decimal string).");
    } else {
        crypto_random(seed, sizeof *seed);
    }
    return 0;
}

int api_simulations_create(struct http_req *r)
{
    struct app *app = http_app(r);
    json_t *body = http_json(r);
    struct tenant t = api_tenant(r);
    if (!json_is_object(body))
        return http_fail(r, AEG_EINVAL, "The body must be a JSON object.");
    static const char *const fields[] = {"name", "scenarios", "scenario_ids", "iterations", "seed",
                                         "semantics", "thresholds", "correlation", NULL};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        bool known = false;
        for (int k = 0; fields[k] && !known; k++)
            known = !strcmp(key, fields[k]);
        if (!known)
            return http_fail(r, AEG_EINVAL,
                             "%s is not a field of a simulation (name, scenarios, scenario_ids, "
                             "iterations, seed, semantics, thresholds, correlation).",
                             key);
    }
    const json_t *inline_sc = json_object_get(body, "scenarios");
    const json_t *ids = json_object_get(body, "scenario_ids");
    if ((inline_sc && !json_is_array(inline_sc)) || (ids && !json_is_array(ids)))
        return http_fail(r, AEG_EINVAL, "scenarios and scenario_ids must be lists.");
    if (json_array_size(inline_sc) + json_array_size(ids) == 0)
        return http_fail(r, AEG_EINVAL,
                         "Give scenarios (inline scenario objects) or scenario_ids (from "
                         "/api/v1/scenarios), or both.");
    json_int_t iterations;
    uint64_t seed;
    int orc = run_options(r, body, &iterations, &seed);
    if (orc)
        return orc;
    const char *sem = json_string_value(json_object_get(body, "semantics"));
    if (json_object_get(body, "semantics") && (!sem || (strcmp(sem, "compound") && strcmp(sem, "product"))))
        return http_fail(r, AEG_EINVAL, "semantics must be compound or product.");
    const char *name = json_string_value(json_object_get(body, "name"));
    if (json_object_get(body, "name") && (!name || strlen(name) >= 128))
        return http_fail(r, AEG_EINVAL, "name must be a string shorter than 128 bytes.");

    /* the portfolio: inline scenarios, then the library's, in the order given */
    json_t *list = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(inline_sc, i, v) json_array_append(list, v);
    struct db *db = store_conn(app->store);
    int rc = AEG_OK;
    json_array_foreach(ids, i, v) {
        struct scenario_row s;
        const char *id = json_string_value(v);
        rc = id ? store_scenario_get(db, &t, id, &s) : AEG_ENOTFOUND;
        if (rc) {
            if (rc == AEG_ENOTFOUND)
                rc = http_fail(r, AEG_EINVAL, "scenario_ids[%zu]: no such scenario.", i);
            break;
        }
        json_error_t e;
        json_t *doc = json_loads(s.document, 0, &e);
        scenario_row_free(&s);
        if (doc)
            json_array_append_new(list, doc);
    }
    store_release(app->store, db);
    if (rc) {
        json_decref(list);
        return rc;
    }
    json_t *portfolio = json_pack("{s:s,s:o}", "name", name ? name : "simulation", "scenarios", list);
    if (json_object_get(body, "thresholds"))
        json_object_set(portfolio, "thresholds", json_object_get(body, "thresholds"));
    if (json_object_get(body, "correlation"))
        json_object_set(portfolio, "correlation", json_object_get(body, "correlation"));
    struct fair_portfolio p;
    char err[400];
    rc = fair_parse(portfolio, &p, err, sizeof err);
    fair_free(&p);
    if (rc) {
        json_decref(portfolio);
        return http_fail(r, AEG_EINVAL, "%s", err);
    }
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, seed);
    json_t *params = json_pack("{s:o,s:I,s:s,s:s}", "portfolio", portfolio, "iterations",
                               (json_int_t)iterations, "seed", seed_s, "semantics",
                               sem ? sem : "compound");
    struct simrun_row run = {.name = (char *)name, .created_at = clock_now_ms(),
                             .parameters = json_dumps(params, JSON_COMPACT | JSON_REAL_PRECISION(17)),
                             .created_by = (char *)api_principal(r)->actor_id,
                             .status = (char *)"queued"};
    json_decref(params);
    return queue_run(r, &SIMS, &run);
}

/* A run whose job died (attempts exhausted, or a worker lost on its last attempt) is failed, with the
 * job's last error: otherwise it would show queued or running for ever. */
static void reconcile(struct app *app, const struct runs *k, const struct tenant *t,
                      struct simrun_row *s)
{
    if (!s->job_id[0] || (strcmp(s->status, "queued") && strcmp(s->status, "running")))
        return;
    struct job_row j;
    if (store_job_get(app->store, t, s->job_id, &j) != AEG_OK)
        return;
    if (j.state == JOB_DEAD) {
        char msg[600];
        snprintf(msg, sizeof msg, "the %s job stopped after %d attempt(s): %s", k->object,
                 j.attempts, j.last_error ? j.last_error : "no error recorded");
        struct db *db = store_conn(app->store);
        if (k->finish(db, t, s->id, "failed", NULL, msg, clock_now_ms()) == AEG_OK) {
            free(s->status);
            s->status = xstrdup("failed");
            free(s->error);
            s->error = xstrdup(msg);
        }
        store_release(app->store, db);
    }
    job_row_free(&j);
}

static int run_get(struct http_req *r, const struct runs *k)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct simrun_row s;
    struct db *db = store_conn(app->store);
    int rc = k->get(db, &t, http_param(r, "id"), &s);
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, k->object);
    reconcile(app, k, &t, &s);
    json_t *j = run_json(k, &s, true);
    simrun_row_free(&s);
    return http_reply_json(r, 200, j);
}

struct run_list {
    struct app *app;
    const struct runs *k;
    const struct tenant *t;
    json_t *data;
};

static void add_run(const struct simrun_row *s, void *arg)
{
    struct run_list *l = arg;
    struct simrun_row copy = *s; /* reconcile may replace status and error */
    copy.status = xstrdup(s->status);
    copy.error = s->error ? xstrdup(s->error) : NULL;
    reconcile(l->app, l->k, l->t, &copy);
    json_array_append_new(l->data, run_json(l->k, &copy, false));
    free(copy.status);
    free(copy.error);
}

static int run_list(struct http_req *r, const struct runs *k)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    int limit = 50;
    const char *l = http_query(r, "limit");
    if (l) {
        char *end;
        long n = strtol(l, &end, 10);
        if (end == l || *end || n < 1 || n > 500)
            return http_fail(r, AEG_EINVAL, "limit must be an integer from 1 to 500.");
        limit = (int)n;
    }
    json_t *data = json_array();
    struct run_list list = {.app = app, .k = k, .t = &t, .data = data};
    struct db *db = store_conn(app->store);
    int rc = k->list(db, &t, limit, add_run, &list);
    store_release(app->store, db);
    if (rc) {
        json_decref(data);
        return rc;
    }
    return http_reply_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

int api_simulations_get(struct http_req *r)
{
    return run_get(r, &SIMS);
}

int api_simulations_list(struct http_req *r)
{
    return run_list(r, &SIMS);
}

int api_optimization_get(struct http_req *r)
{
    return run_get(r, &OPTS);
}

int api_optimization_list(struct http_req *r)
{
    return run_list(r, &OPTS);
}

/* ---- optimisation ---------------------------------------------------------------------------------- */

int api_controls_templates(struct http_req *r)
{
    json_t *data = json_array(), *catalog = NULL;
    char err[300];
    for (const struct opt_data *d = opt_data; d->name; d++) {
        json_t *doc = NULL;
        if (yaml_parse(d->yaml, strlen(d->yaml), &doc, err, sizeof err))
            return http_fail(r, AEG_EINTERNAL, "compiled-in %s does not parse: %s", d->name, err);
        if (!strncmp(d->name, "templates/", 10)) {
            json_array_append_new(
                data, json_pack("{s:s,s:O,s:O,s:o}", "id", d->name + 10, "name",
                                json_object_get(doc, "name"), "description",
                                json_object_get(doc, "description"), "template", doc));
        } else if (!strcmp(d->name, "controls/catalog")) {
            json_decref(catalog);
            catalog = doc;
        } else {
            json_decref(doc);
        }
    }
    return http_reply_json(r, 200,
                           json_pack("{s:s,s:o,s:o}", "object", "list", "data", data, "catalog",
                                     catalog ? catalog : json_null()));
}

int api_optimize_create(struct http_req *r)
{
    json_t *body = http_json(r);
    if (!json_is_object(body))
        return http_fail(r, AEG_EINVAL, "The body must be a JSON object.");
    /* the run's options beside the optimisation input's own fields (docs/controls.md) */
    json_t *input = json_deep_copy(body);
    static const char *const run_fields[] = {"iterations", "seed", "frontier",
                                             "frontier_iterations", "template"};
    for (size_t i = 0; i < sizeof run_fields / sizeof run_fields[0]; i++)
        json_object_del(input, run_fields[i]);
    const char *tpl = json_string_value(json_object_get(body, "template"));
    if (json_object_get(body, "template")) {
        /* a compiled-in template, with the body's fields over it */
        char name[96];
        snprintf(name, sizeof name, "templates/%s", tpl ? tpl : "");
        json_t *doc = NULL;
        char err[300];
        for (const struct opt_data *d = opt_data; d->name && !doc; d++)
            if (tpl && strlen(tpl) < 64 && !strcmp(d->name, name) &&
                yaml_parse(d->yaml, strlen(d->yaml), &doc, err, sizeof err))
                doc = NULL;
        if (!doc) {
            json_decref(input);
            return http_fail(r, AEG_EINVAL, "template must name a template of "
                                            "/api/v1/controls/templates.");
        }
        json_object_update(doc, input);
        json_decref(input);
        input = doc;
    }
    json_int_t iterations, frontier = 0, fit = 100000;
    uint64_t seed;
    int rc = run_options(r, body, &iterations, &seed);
    const json_t *fj = json_object_get(body, "frontier"), *fij = json_object_get(body, "frontier_iterations");
    if (!rc && fj && (!json_is_integer(fj) || json_integer_value(fj) < 0 || json_integer_value(fj) > 50))
        rc = http_fail(r, AEG_EINVAL, "frontier must be an integer from 0 to 50 (points).");
    if (!rc && fij && (!json_is_integer(fij) || json_integer_value(fij) < 100))
        rc = http_fail(r, AEG_EINVAL, "frontier_iterations must be an integer of at least 100.");
    if (!rc && fj)
        frontier = json_integer_value(fj);
    if (!rc && fij)
        fit = json_integer_value(fij);
    struct app *app = http_app(r);
    if (!rc && frontier > 0 && fit > app->cfg->sim_max_iterations)
        rc = http_fail(r, AEG_ELIMIT,
                       "frontier_iterations %lld is above this server's limit of %ld per run "
                       "(AEGIS_SIM_MAX_ITERATIONS).",
                       (long long)fit, app->cfg->sim_max_iterations);
    if (rc) {
        json_decref(input);
        return rc;
    }
    struct opt_problem pb;
    char err[512];
    rc = opt_parse(input, &pb, err, sizeof err);
    opt_free(&pb);
    if (rc) {
        json_decref(input);
        return http_fail(r, AEG_EINVAL, "%s", err);
    }
    const char *name = json_string_value(json_object_get(input, "name"));
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, seed);
    json_t *params = json_pack("{s:o,s:I,s:s,s:I,s:I}", "input", input, "iterations",
                               (json_int_t)iterations, "seed", seed_s, "frontier", frontier,
                               "frontier_iterations", fit);
    struct simrun_row run = {.name = (char *)name, .created_at = clock_now_ms(),
                             .parameters = json_dumps(params, JSON_COMPACT | JSON_REAL_PRECISION(17)),
                             .created_by = (char *)api_principal(r)->actor_id,
                             .status = (char *)"queued"};
    rc = queue_run(r, &OPTS, &run);
    json_decref(params); /* after queue_run: name points into it */
    return rc;
}

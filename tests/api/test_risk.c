/*
 * API tests of cyber-risk quantification against the real server: the scenario library
 * (/api/v1/scenarios: create, list, get, replace, delete, unique names per organisation, validation
 * errors naming the field path, roles), simulation runs (/api/v1/simulations: 202 and a job,
 * polling to the results, their shape, reproducibility by seed, replaying a seed the server picked,
 * semantics, library scenarios mixed with inline ones, limits and bad parameters, a correlation
 * matrix that is not positive semi-definite, newest-first lists, roles, long run names), runs
 * across a crash of the server (reclaimed and completed; or, with no attempt left, reported
 * failed), and `aegis simulate`, whose numbers must equal the API's for the same portfolio, seed,
 * iterations and semantics.
 *
 * One server (S) serves most cases, with the lowest Argon2 cost and
 * AEGIS_SIM_MAX_ITERATIONS=2000000 for the limit test. The server runs under the sanitizers, so
 * simulations stay small (1 to 20,000 years) except in the crash tests, which run their own server
 * (srv_own, cleaned up by own_teardown even when the test fails). Seeds are fixed and appear in every
 * failure message about numbers.
 */
#define _GNU_SOURCE /* memmem */
#include "harness.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/yaml.h"

#define SIM_LIMIT 2000000
#define EXAMPLE_YAML AEGIS_SOURCE_DIR "/data/scenarios/example.yaml"

static struct srv S;
static int counter; /* unique emails and names within this process */

static int setup(void **state)
{
    (void)state;
    srv_init(&S, (const char *[]){FAST_ARGON2, "AEGIS_SIGNUP_PER_HOUR=1000",
                                  "AEGIS_SIM_MAX_ITERATIONS=2000000", NULL});
    return srv_start(&S, NULL);
}

static int teardown(void **state)
{
    (void)state;
    srv_stop_group(&S);
    srv_cleanup(&S);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------
 */

/* One request: optional bearer secret, JSON body (Content-Type application/json unless `ctype`
 * says otherwise). */
static void call_ct(const struct srv *s, const char *method, const char *path, const char *bearer,
                    const char *body, const char *ctype, struct resp *r)
{
    char auth[300], cth[200];
    const char *h[4];
    int n = 0;
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        h[n++] = auth;
    }
    if (body) {
        snprintf(cth, sizeof cth, "Content-Type: %s", ctype ? ctype : "application/json");
        h[n++] = cth;
    }
    h[n] = NULL;
    if (req(s, method, path, h, body, r) != 0)
        fail_msg("%s %s: transport error", method, path);
}

static void call(const struct srv *s, const char *method, const char *path, const char *bearer,
                 const char *body, struct resp *r)
{
    call_ct(s, method, path, bearer, body, NULL, r);
}

static void expect_status(const struct resp *r, long status)
{
    if (r->status != status)
        fail_msg("expected status %ld, got %ld: %.1500s", status, r->status,
                 r->body ? r->body : "");
}

/* A number by path; fails the test when it is not one. */
static double jnum(json_t *o, const char *path)
{
    json_t *v = jget(o, path);
    if (!json_is_number(v))
        fail_msg("%s is not a number", path);
    return json_number_value(v);
}

/* Asserts the error shape, and that its message contains `part` (and `part2`, when not NULL). */
static void expect_error2(const struct resp *r, long status, const char *code, const char *part,
                          const char *part2)
{
    if (r->status != status)
        fail_msg("expected %ld %s, got %ld: %.1000s", status, code, r->status,
                 r->body ? r->body : "");
    assert_error(r, status, code);
    if (part && !strstr(err_message(r), part))
        fail_msg("the %ld message \"%s\" does not mention \"%s\"", status, err_message(r), part);
    if (part2 && !strstr(err_message(r), part2))
        fail_msg("the %ld message \"%s\" does not mention \"%s\"", status, err_message(r), part2);
}

static void expect_error(const struct resp *r, long status, const char *code, const char *part)
{
    expect_error2(r, status, code, part, NULL);
}

/* A request that must answer `status`; returns the parsed body (new reference, may be NULL). */
static json_t *call_ok(const struct srv *s, const char *method, const char *path,
                       const char *bearer, const char *body, long status)
{
    struct resp r;
    call(s, method, path, bearer, body, &r);
    if (r.status != status) {
        char msg[1600];
        snprintf(msg, sizeof msg, "%s %s: want %ld, got %ld: %.1300s", method, path, status,
                 r.status, r.body ? r.body : "");
        resp_free(&r);
        fail_msg("%s", msg);
    }
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

static long status_of(const struct srv *s, const char *method, const char *path, const char *bearer,
                      const char *body)
{
    struct resp r;
    call(s, method, path, bearer, body, &r);
    long st = r.status;
    resp_free(&r);
    return st;
}

struct acct {
    char org[64], key[64];
};

/* Signs up a fresh organisation and copies its id and owner key. */
static void signup(const struct srv *s, struct acct *a)
{
    memset(a, 0, sizeof *a);
    int n = ++counter;
    char body[400];
    snprintf(body, sizeof body,
             "{\"organization_name\":\"Risk Org %d\",\"email\":\"risk%d.%d@risk.test\"}", n, n,
             (int)getpid());
    json_t *j = call_ok(s, "POST", "/api/v1/onboarding/signup", NULL, body, 201);
    snprintf(a->org, sizeof a->org, "%s", jstr(j, "organization.id"));
    snprintf(a->key, sizeof a->key, "%s", jstr(j, "api_key.key"));
    json_decref(j);
}

/* Creates a key of that role with the bearer's credentials and copies it. */
static void make_key(const struct srv *s, const char *bearer, const char *role, char key[64])
{
    char body[200];
    snprintf(body, sizeof body, "{\"name\":\"%s key %d\",\"role\":\"%s\"}", role, ++counter, role);
    json_t *j = call_ok(s, "POST", "/api/v1/keys", bearer, body, 201);
    snprintf(key, 64, "%s", jstr(j, "key"));
    json_decref(j);
}

/* A simple valid scenario (new reference). */
static json_t *simple_scenario(const char *name, double lef_mode)
{
    return json_pack("{s:s,s:{s:s,s:f,s:f,s:f},s:{s:s,s:f,s:f}}", "name", name, "lef", "dist",
                     "pert", "min", 0.2, "mode", lef_mode, "max", 4.0, "primary_loss", "dist",
                     "lognormal", "p05", 20000.0, "p95", 600000.0);
}

/* Serialises (and releases) a JSON value into a body the caller frees. */
static char *body_of(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

/* POST /api/v1/scenarios; asserts 201 and copies the id. */
static void create_scenario(const struct srv *s, const char *bearer, json_t *sc, char id[64])
{
    char *body = body_of(sc);
    json_t *j = call_ok(s, "POST", "/api/v1/scenarios", bearer, body, 201);
    free(body);
    snprintf(id, 64, "%s", jstr(j, "id"));
    json_decref(j);
}

/* POST /api/v1/simulations with body (released); asserts 202 and copies the run id. Returns the 202
 * answer (new reference) when want_answer, else NULL. */
static json_t *start_run(const struct srv *s, const char *bearer, json_t *body, char id[64],
                         bool want_answer)
{
    char *text = body_of(body);
    struct resp r;
    call(s, "POST", "/api/v1/simulations", bearer, text, &r);
    free(text);
    if (r.status != 202) {
        char msg[1200];
        snprintf(msg, sizeof msg, "POST /api/v1/simulations: want 202, got %ld: %.1000s", r.status,
                 r.body ? r.body : "");
        resp_free(&r);
        fail_msg("%s", msg);
    }
    snprintf(id, 64, "%s", jstr(r.json, "id"));
    json_t *j = want_answer ? json_incref(r.json) : NULL;
    resp_free(&r);
    return j;
}

/* Polls GET /api/v1/simulations/{id} until the run is done or failed (new reference); fails the
 * test after timeout_ms. */
static json_t *wait_run(const struct srv *s, const char *bearer, const char *id, long timeout_ms)
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/simulations/%s", id);
    char last[32] = "";
    for (long waited = 0;; waited += 50) {
        json_t *run = call_ok(s, "GET", path, bearer, NULL, 200);
        const char *st = jstr(run, "status");
        assert_non_null(st);
        if (!strcmp(st, "done") || !strcmp(st, "failed"))
            return run;
        snprintf(last, sizeof last, "%s", st);
        json_decref(run);
        if (waited > timeout_ms)
            fail_msg("simulation %s still %s after %ld ms", id, last, timeout_ms);
        sleep_ms(50);
    }
}

/* Starts a run and waits for it; asserts it is done. Returns the run (new reference). */
static json_t *run_done(const struct srv *s, const char *bearer, json_t *body)
{
    char id[64];
    start_run(s, bearer, body, id, false);
    json_t *run = wait_run(s, bearer, id, 30000);
    if (strcmp(jstr(run, "status"), "done") != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "simulation %s ended %s: %s", id, jstr(run, "status"),
                 jstr(run, "error") ? jstr(run, "error") : "(no error)");
        json_decref(run);
        fail_msg("%s", msg);
    }
    return run;
}

/* A run request: scenarios (stolen), iterations, seed (< 0: none), semantics (NULL: none). */
static json_t *run_req(json_t *scenarios, long iterations, long long seed, const char *semantics)
{
    json_t *b =
        json_pack("{s:o,s:I}", "scenarios", scenarios, "iterations", (json_int_t)iterations);
    if (seed >= 0)
        json_object_set_new(b, "seed", json_integer(seed));
    if (semantics)
        json_object_set_new(b, "semantics", json_string(semantics));
    return b;
}

/* The results without what legitimately differs between two identical runs (the wall time). */
static json_t *results_of(json_t *run)
{
    json_t *res = json_deep_copy(json_object_get(run, "results"));
    assert_true(json_is_object(res));
    json_object_del(res, "seconds");
    return res;
}

static bool close_rel(double a, double b, double rel)
{
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + 1e-9;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- 1. the scenario library --------------------------------------------------------------------
 */

#define RANSOMWARE                                                                                 \
    "{\"name\":\"Ransomware on the file servers\",\"description\":\"encrypted shares\","           \
    "\"tef\":{\"contact_frequency\":{\"dist\":\"pert\",\"min\":2,\"mode\":8,\"max\":20},"          \
    "\"probability_of_action\":{\"dist\":\"pert\",\"min\":0.05,\"mode\":0.15,\"max\":0.4}},"       \
    "\"vulnerability\":{\"threat_capability\":{\"dist\":\"pert\",\"min\":0.3,\"mode\":0.6,"        \
    "\"max\":0.95},\"resistance_strength\":{\"dist\":\"pert\",\"min\":0.4,\"mode\":0.7,"           \
    "\"max\":0.9}},\"primary_loss\":{\"productivity\":{\"dist\":\"lognormal\",\"p05\":50000,"      \
    "\"p95\":900000},\"response\":{\"dist\":\"pert\",\"min\":20000,\"mode\":80000,"                \
    "\"max\":300000}},\"secondary_loss\":{\"frequency\":{\"dist\":\"pert\",\"min\":0.1,"           \
    "\"mode\":0.3,\"max\":0.6},\"magnitude\":{\"dist\":\"lognormal\",\"p05\":10000,"               \
    "\"p95\":2000000}}}"

/* Whether a list answer's data has an object with this id. */
static bool list_has(json_t *list, const char *id)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(list, "data"), i, x)
    {
        if (!strcmp(jstr(x, "id"), id))
            return true;
    }
    return false;
}

static void scenarios_create_list_get_replace_delete(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    json_t *posted = json_loads(RANSOMWARE, 0, NULL);
    assert_non_null(posted);

    /* create: 201, the scenario echoed under "scenario", an id */
    struct resp r;
    call(&S, "POST", "/api/v1/scenarios", a.key, RANSOMWARE, &r);
    expect_status(&r, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    assert_int_equal(strlen(id), 36);
    assert_string_equal(jstr(r.json, "object"), "scenario");
    assert_string_equal(jstr(r.json, "name"), "Ransomware on the file servers");
    if (!json_equal(json_object_get(r.json, "scenario"), posted))
        fail_msg("the created scenario is not the one posted: %s", r.body);
    assert_non_null(jstr(r.json, "created_at"));
    assert_non_null(jstr(r.json, "updated_at"));
    char created_at[64];
    snprintf(created_at, sizeof created_at, "%s", jstr(r.json, "created_at"));
    resp_free(&r);

    /* get */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/scenarios/%s", id);
    json_t *got = call_ok(&S, "GET", path, a.key, NULL, 200);
    assert_string_equal(jstr(got, "id"), id);
    assert_true(json_equal(json_object_get(got, "scenario"), posted));
    json_decref(got);

    /* list: this one and a second, nothing else (a fresh organisation) */
    char id2[64];
    create_scenario(&S, a.key, simple_scenario("Business email compromise", 1), id2);
    json_t *list = call_ok(&S, "GET", "/api/v1/scenarios", a.key, NULL, 200);
    assert_string_equal(jstr(list, "object"), "list");
    assert_int_equal(json_array_size(json_object_get(list, "data")), 2);
    assert_true(list_has(list, id));
    assert_true(list_has(list, id2));
    json_t *first = json_array_get(json_object_get(list, "data"), 0);
    assert_true(json_is_object(json_object_get(first, "scenario")));
    json_decref(list);

    /* PUT replaces the whole document: the secondary loss and description are gone */
    json_t *repl = simple_scenario("Ransomware (revised)", 3);
    char *rbody = json_dumps(repl, JSON_COMPACT);
    call(&S, "PUT", path, a.key, rbody, &r);
    free(rbody);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "id"), id);
    assert_string_equal(jstr(r.json, "name"), "Ransomware (revised)");
    assert_true(json_equal(json_object_get(r.json, "scenario"), repl));
    assert_string_equal(jstr(r.json, "created_at"), created_at);
    assert_true(strcmp(jstr(r.json, "updated_at"), created_at) >= 0);
    resp_free(&r);
    got = call_ok(&S, "GET", path, a.key, NULL, 200);
    assert_true(json_equal(json_object_get(got, "scenario"), repl));
    assert_null(jget(got, "scenario.secondary_loss"));
    assert_null(jget(got, "scenario.description"));
    json_decref(got);
    json_decref(repl);

    /* delete: 204 with no body, then 404 for GET, PUT and DELETE, and gone from the list */
    call(&S, "DELETE", path, a.key, NULL, &r);
    expect_status(&r, 204);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    call(&S, "GET", path, a.key, NULL, &r);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    call(&S, "DELETE", path, a.key, NULL, &r);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    call(&S, "PUT", path, a.key, RANSOMWARE, &r);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    list = call_ok(&S, "GET", "/api/v1/scenarios", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "data")), 1);
    assert_false(list_has(list, id));
    json_decref(list);

    /* every change is in the audit log */
    json_t *audit =
        call_ok(&S, "GET", "/api/v1/audit-log?action=scenario.*&limit=500", a.key, NULL, 200);
    const char *want[] = {"scenario.created", "scenario.updated", "scenario.deleted"};
    for (int k = 0; k < 3; k++) {
        bool seen = false;
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(audit, "data"), i, row)
        {
            seen |= !strcmp(jstr(row, "action"), want[k]) && jstr(row, "target.id") &&
                    !strcmp(jstr(row, "target.id"), id);
        }
        if (!seen)
            fail_msg("no audit row %s for scenario %s", want[k], id);
    }
    json_decref(audit);
    json_decref(posted);
}

static void scenario_names_are_unique_per_organization(void **state)
{
    (void)state;
    struct acct a, b;
    signup(&S, &a);
    signup(&S, &b);
    char x[64], y[64], bx[64];
    create_scenario(&S, a.key, simple_scenario("Insider fraud", 1), x);
    char *dup = body_of(simple_scenario("Insider fraud", 2));
    struct resp r;
    call(&S, "POST", "/api/v1/scenarios", a.key, dup, &r);
    expect_error(&r, 409, "conflict", "Insider fraud");
    resp_free(&r);
    json_t *list = call_ok(&S, "GET", "/api/v1/scenarios", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "data")), 1);
    json_decref(list);

    /* the same name in another organisation is fine */
    create_scenario(&S, b.key, simple_scenario("Insider fraud", 1), bx);
    assert_string_not_equal(bx, x);

    /* renaming another scenario onto the name conflicts too, and changes nothing */
    create_scenario(&S, a.key, simple_scenario("Lost laptop", 1), y);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/scenarios/%s", y);
    call(&S, "PUT", path, a.key, dup, &r);
    expect_error(&r, 409, "conflict", "Insider fraud");
    resp_free(&r);
    json_t *got = call_ok(&S, "GET", path, a.key, NULL, 200);
    assert_string_equal(jstr(got, "name"), "Lost laptop");
    json_decref(got);
    /* replacing a scenario under its own name is not a conflict */
    snprintf(path, sizeof path, "/api/v1/scenarios/%s", x);
    json_decref(call_ok(&S, "PUT", path, a.key, dup, 200));
    free(dup);
}

static void invalid_scenarios_name_the_field_path(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    static const struct {
        const char *body, *part1, *part2;
    } cases[] = {
        /* min > max */
        {"{\"name\":\"Bad range\",\"lef\":{\"dist\":\"uniform\",\"min\":5,\"max\":1},"
         "\"primary_loss\":1000}",
         "scenario \"Bad range\" (scenarios[0].lef", "min is greater than max"},
        {"{\"name\":\"Bad pert\",\"lef\":1,\"primary_loss\":{\"dist\":\"pert\",\"min\":900,"
         "\"mode\":500,\"max\":100}}",
         "(scenarios[0].primary_loss", "min"},
        /* an unknown distribution */
        {"{\"name\":\"Gamma\",\"lef\":1,\"primary_loss\":{\"dist\":\"gamma\",\"shape\":2}}",
         "(scenarios[0].primary_loss.dist)", "unknown distribution \"gamma\""},
        /* typos: a scenario field, a distribution parameter, a loss form */
        {"{\"name\":\"Typo\",\"lef\":1,\"primary_loss\":1000,\"secondary_los\":{}}",
         "(scenarios[0].secondary_los)", "is not a field here"},
        {"{\"name\":\"Typo 2\",\"lef\":{\"dist\":\"pert\",\"min\":1,\"mdoe\":2,\"max\":3},"
         "\"primary_loss\":1000}",
         "(scenarios[0].lef.mdoe)", "is not a field here"},
        {"{\"name\":\"Typo 3\",\"lef\":1,\"primary_loss\":{\"productivty\":1000}}",
         "(scenarios[0].primary_loss.productivty)", "loss form"},
        /* missing pieces */
        {"{\"name\":\"No loss\",\"lef\":1}", "(scenarios[0].primary_loss)", "is required"},
        {"{\"name\":\"No frequency\",\"primary_loss\":1000}", "(scenarios[0].lef)", "is required"},
        {"{\"name\":\"No vulnerability\",\"tef\":3,\"primary_loss\":1000}",
         "(scenarios[0].vulnerability)", "is required"},
        {"{\"lef\":1,\"primary_loss\":1000}", "scenarios[0].name", "is required"},
        {"{\"name\":\"\",\"lef\":1,\"primary_loss\":1000}", "scenarios[0].name", "is required"},
        /* a probability outside [0, 1]; a negative loss */
        {"{\"name\":\"Too likely\",\"tef\":2,\"vulnerability\":1.5,\"primary_loss\":1000}",
         "(scenarios[0].vulnerability)", "[0, 1]"},
        {"{\"name\":\"Negative\",\"lef\":1,\"primary_loss\":{\"dist\":\"normal\",\"mean\":10,"
         "\"sd\":5}}",
         "(scenarios[0].primary_loss)", "negative"},
        /* not a scenario at all */
        {"[1,2,3]", "scenarios[0]", "must be an object"},
    };
    char problems[4000] = "";
    size_t np = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r;
        call(&S, "POST", "/api/v1/scenarios", a.key, cases[i].body, &r);
        const char *code = jstr(r.json, "error.code");
        const char *msg = err_message(&r);
        if (r.status != 400 || !code || strcmp(code, "invalid_request") != 0 ||
            !strstr(msg, cases[i].part1) || !strstr(msg, cases[i].part2))
            np += (size_t)snprintf(
                problems + np, sizeof problems - np,
                "\n  %s -> %ld %s \"%s\" (want 400 mentioning \"%s\" and \"%s\")", cases[i].body,
                r.status, code ? code : "", msg, cases[i].part1, cases[i].part2);
        resp_free(&r);
        if (np >= sizeof problems - 1)
            break;
    }
    if (np)
        fail_msg("invalid scenarios:%s", problems);
    /* the same checks on PUT, and nothing was stored by any of them */
    char id[64], path[200];
    create_scenario(&S, a.key, simple_scenario("Valid one", 1), id);
    snprintf(path, sizeof path, "/api/v1/scenarios/%s", id);
    struct resp r;
    call(&S, "PUT", path, a.key, cases[0].body, &r);
    expect_error2(&r, 400, "invalid_request", cases[0].part1, cases[0].part2);
    resp_free(&r);
    json_t *list = call_ok(&S, "GET", "/api/v1/scenarios", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "data")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(list, "data"), 0), "name"),
                        "Valid one");
    json_decref(list);
}

/* 415 and 400 come from the framework before the handler: the same shape on every JSON route. */
static void non_json_bodies_are_refused(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char id[64], path[200];
    create_scenario(&S, a.key, simple_scenario("Framework check", 1), id);
    snprintf(path, sizeof path, "/api/v1/scenarios/%s", id);
    const char *routes[][2] = {
        {"POST", "/api/v1/scenarios"}, {"PUT", path}, {"POST", "/api/v1/simulations"}};
    for (int i = 0; i < 3; i++) {
        struct resp r;
        call_ct(&S, routes[i][0], routes[i][1], a.key, "name=x",
                "application/x-www-form-urlencoded", &r);
        expect_error(&r, 415, "unsupported_media_type", "application/json");
        resp_free(&r);
        call(&S, routes[i][0], routes[i][1], a.key, "{\"name\": \"x\",", &r);
        expect_error(&r, 400, "malformed_json", "line 1");
        resp_free(&r);
        call(&S, routes[i][0], routes[i][1], a.key, "{\"name\":\"a\",\"name\":\"b\"}", &r);
        assert_int_equal(r.status, 400);
        resp_free(&r);
    }
    json_t *got = call_ok(&S, "GET", path, a.key, NULL, 200);
    assert_string_equal(jstr(got, "name"), "Framework check");
    json_decref(got);
    json_t *runs = call_ok(&S, "GET", "/api/v1/simulations", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(runs, "data")), 0);
    json_decref(runs);
}

static void viewers_read_analysts_write(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char viewer[64], analyst[64];
    make_key(&S, a.key, "viewer", viewer);
    make_key(&S, a.key, "analyst", analyst);
    char id[64], path[200];
    create_scenario(&S, a.key, simple_scenario("Owned by the owner", 1), id);
    snprintf(path, sizeof path, "/api/v1/scenarios/%s", id);
    char *body = body_of(simple_scenario("Viewer's attempt", 2));

    /* a viewer reads, and cannot write */
    assert_int_equal(status_of(&S, "GET", "/api/v1/scenarios", viewer, NULL), 200);
    assert_int_equal(status_of(&S, "GET", path, viewer, NULL), 200);
    struct resp r;
    call(&S, "POST", "/api/v1/scenarios", viewer, body, &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    call(&S, "PUT", path, viewer, body, &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    call(&S, "DELETE", path, viewer, NULL, &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    json_t *got = call_ok(&S, "GET", path, a.key, NULL, 200);
    assert_string_equal(jstr(got, "name"), "Owned by the owner");
    json_decref(got);
    json_t *list = call_ok(&S, "GET", "/api/v1/scenarios", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "data")), 1);
    json_decref(list);

    /* an analyst writes */
    char aid[64], apath[200];
    create_scenario(&S, analyst, simple_scenario("Analyst's scenario", 1), aid);
    snprintf(apath, sizeof apath, "/api/v1/scenarios/%s", aid);
    json_decref(call_ok(&S, "PUT", path, analyst, body, 200));
    json_decref(call_ok(&S, "DELETE", apath, analyst, NULL, 204));
    free(body);

    /* no credentials: 401 */
    call(&S, "GET", "/api/v1/scenarios", NULL, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
}

/* ---- 2. simulation runs
 * ---------------------------------------------------------------------------- */

static void simulation_runs_as_a_job_and_reports(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    json_t *scs = json_pack("[o,o]", json_loads(RANSOMWARE, 0, NULL),
                            simple_scenario("Business email compromise", 1.5));
    json_t *body = run_req(scs, 20000, 42, NULL);
    json_object_set_new(body, "name", json_string("First quantification"));
    json_object_set_new(body, "thresholds", json_pack("[f,f]", 100000.0, 1000000.0));
    char *text = body_of(body);

    struct resp r;
    call(&S, "POST", "/api/v1/simulations", a.key, text, &r);
    free(text);
    expect_status(&r, 202);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    assert_int_equal(strlen(id), 36);
    assert_string_equal(jstr(r.json, "object"), "simulation");
    assert_string_equal(jstr(r.json, "status"), "queued");
    assert_string_equal(jstr(r.json, "name"), "First quantification");
    assert_int_equal(json_integer_value(jget(r.json, "parameters.iterations")), 20000);
    assert_string_equal(jstr(r.json, "parameters.seed"), "42");
    assert_string_equal(jstr(r.json, "parameters.semantics"), "compound");
    json_t *names = jget(r.json, "parameters.scenarios");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)),
                        "Ransomware on the file servers");
    assert_null(json_object_get(r.json, "results"));
    char loc[200], want_loc[200];
    assert_true(resp_header(&r, "Location", loc, sizeof loc));
    snprintf(want_loc, sizeof want_loc, "/api/v1/simulations/%s", id);
    assert_string_equal(loc, want_loc);
    resp_free(&r);

    json_t *run = wait_run(&S, a.key, id, 30000);
    if (strcmp(jstr(run, "status"), "done") != 0)
        fail_msg("seed 42: run ended %s: %s", jstr(run, "status"),
                 jstr(run, "error") ? jstr(run, "error") : "(no error)");
    assert_true(json_is_null(json_object_get(run, "error")));
    assert_non_null(jstr(run, "created_at"));
    assert_non_null(jstr(run, "started_at"));
    assert_non_null(jstr(run, "completed_at"));
    assert_true(strcmp(jstr(run, "completed_at"), jstr(run, "started_at")) >= 0);
    json_t *res = json_object_get(run, "results");
    assert_true(json_is_object(res));
    assert_int_equal(json_integer_value(json_object_get(res, "iterations")), 20000);
    assert_string_equal(jstr(res, "seed"),
                        "42"); /* a string: a 64-bit seed does not fit a double */
    assert_string_equal(jstr(res, "semantics"), "compound");
    assert_non_null(jstr(res, "engine"));
    assert_string_equal(jstr(res, "portfolio"), "First quantification");

    /* the portfolio summary */
    json_t *sum = json_object_get(res, "summary");
    double mean = jnum(sum, "mean");
    if (!(mean > 0))
        fail_msg("seed 42: mean %g", mean);
    assert_true(jnum(sum, "sd") > 0);
    assert_true(jnum(sum, "sem") > 0 && jnum(sum, "sem") < jnum(sum, "sd"));
    assert_true(jnum(sum, "min") >= 0 && jnum(sum, "min") <= mean && mean <= jnum(sum, "max"));
    json_t *pct = json_object_get(sum, "percentiles");
    static const char *pk[] = {"p1",  "p5",  "p10", "p25",   "p50",  "p75",
                               "p90", "p95", "p99", "p99.5", "p99.9"};
    assert_int_equal(json_object_size(pct), 11);
    double prev = -1;
    for (int i = 0; i < 11; i++) {
        json_t *v = json_object_get(pct, pk[i]);
        if (!json_is_number(v))
            fail_msg("percentile %s missing: %s", pk[i], json_dumps(pct, 0));
        assert_true(json_number_value(v) >= prev);
        prev = json_number_value(v);
    }
    assert_true(jnum(sum, "var.95") == json_number_value(json_object_get(pct, "p95")));
    assert_true(jnum(sum, "var.99") == json_number_value(json_object_get(pct, "p99")));
    assert_true(jnum(sum, "tvar.95") >= jnum(sum, "var.95"));
    assert_true(jnum(sum, "tvar.99") >= jnum(sum, "var.99"));
    assert_true(jnum(sum, "tvar.99") >= jnum(sum, "tvar.95"));
    double pz = jnum(sum, "p_zero_loss");
    assert_true(pz >= 0 && pz <= 1);
    json_t *exc = json_object_get(sum, "p_exceed");
    assert_int_equal(json_array_size(exc), 2);
    assert_true(jnum(json_array_get(exc, 0), "threshold") == 100000.0);
    assert_true(jnum(json_array_get(exc, 0), "probability") >=
                jnum(json_array_get(exc, 1), "probability"));
    assert_true(jnum(sum, "events.mean") > 0); /* compound: loss events are counted */

    /* the loss exceedance curve: 50 points, losses up, probabilities down */
    json_t *lec = json_object_get(res, "loss_exceedance");
    assert_int_equal(json_array_size(lec), 50);
    for (size_t i = 1; i < 50; i++) {
        assert_true(jnum(json_array_get(lec, i), "loss") >
                    jnum(json_array_get(lec, i - 1), "loss"));
        assert_true(jnum(json_array_get(lec, i), "p_exceed") <=
                    jnum(json_array_get(lec, i - 1), "p_exceed"));
    }
    assert_true(jnum(json_array_get(lec, 0), "p_exceed") <= 1 - pz + 1e-12);
    assert_true(jnum(json_array_get(lec, 49), "p_exceed") == 0); /* nothing above the largest */

    /* the histogram: 40 bins that hold every simulated year */
    json_t *hist = json_object_get(res, "histogram");
    assert_int_equal(json_array_size(hist), 40);
    json_int_t years = 0;
    for (size_t i = 0; i < 40; i++) {
        json_t *b = json_array_get(hist, i);
        assert_true(jnum(b, "to") > jnum(b, "from"));
        years += json_integer_value(json_object_get(b, "years"));
    }
    assert_int_equal(years, 20000);

    /* per scenario, with contributions adding up to the portfolio's mean and TVaR 99 */
    json_t *sc = json_object_get(res, "scenarios");
    assert_int_equal(json_array_size(sc), 2);
    assert_string_equal(jstr(json_array_get(sc, 0), "name"), "Ransomware on the file servers");
    assert_string_equal(jstr(json_array_get(sc, 1), "name"), "Business email compromise");
    double cmean = 0, ctail = 0, share = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *s = json_array_get(sc, i);
        assert_true(jnum(s, "mean") > 0);
        assert_true(jnum(s, "contribution.mean") == jnum(s, "mean"));
        assert_int_equal(json_object_size(json_object_get(s, "percentiles")), 11);
        cmean += jnum(s, "contribution.mean");
        ctail += jnum(s, "contribution.tvar99");
        share += jnum(s, "contribution.mean_share");
    }
    if (!close_rel(cmean, mean, 1e-9) || !close_rel(ctail, jnum(sum, "tvar.99"), 1e-9) ||
        !close_rel(share, 1, 1e-9))
        fail_msg("seed 42: contributions do not add up: means %.17g vs %.17g, TVaR 99 %.17g vs "
                 "%.17g, shares %.17g",
                 cmean, mean, ctail, jnum(sum, "tvar.99"), share);
    json_decref(run);
}

static void same_seed_same_results_and_semantics_matter(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    json_t *scs =
        json_pack("[o,o]", simple_scenario("Phishing", 2), json_loads(RANSOMWARE, 0, NULL));
    json_t *r1 = run_done(&S, a.key, run_req(json_deep_copy(scs), 20000, 1234567, "compound"));
    json_t *r2 = run_done(&S, a.key, run_req(json_deep_copy(scs), 20000, 1234567, "compound"));
    json_t *x1 = results_of(r1), *x2 = results_of(r2);
    if (!json_equal(x1, x2)) {
        char *a1 = json_dumps(jget(x1, "summary"), JSON_SORT_KEYS),
             *a2 = json_dumps(jget(x2, "summary"), JSON_SORT_KEYS);
        fail_msg("seed 1234567 twice gave different results:\n  %s\n  %s", a1, a2);
    }
    double mean = jnum(x1, "summary.mean");
    json_decref(x2);
    json_decref(r2);

    /* another seed: other numbers */
    json_t *r3 = run_done(&S, a.key, run_req(json_deep_copy(scs), 20000, 1234568, "compound"));
    if (jnum(r3, "results.summary.mean") == mean)
        fail_msg("seeds 1234567 and 1234568 gave the same mean %.17g", mean);
    json_decref(r3);

    /* product semantics: other numbers from the same seed, and no event counts */
    json_t *r4 = run_done(&S, a.key, run_req(json_deep_copy(scs), 20000, 1234567, "product"));
    assert_string_equal(jstr(r4, "results.semantics"), "product");
    assert_string_equal(jstr(r4, "parameters.semantics"), "product");
    double pmean = jnum(r4, "results.summary.mean");
    if (pmean == mean || !(pmean > 0))
        fail_msg("seed 1234567: product mean %.17g vs compound mean %.17g", pmean, mean);
    assert_null(jget(r4, "results.summary.events"));
    assert_non_null(jget(x1, "summary.events"));
    /* in product semantics a year's loss is one frequency draw times one magnitude draw, never zero
     * for Phishing; compound semantics draws a Poisson count of events, zero in some years */
    assert_true(jnum(x1, "summary.p_zero_loss") > jnum(r4, "results.summary.p_zero_loss"));
    json_t *r5 = run_done(&S, a.key, run_req(json_deep_copy(scs), 20000, 1234567, "product"));
    json_t *x4 = results_of(r4), *x5 = results_of(r5);
    assert_true(json_equal(x4, x5));
    json_decref(x4);
    json_decref(x5);
    json_decref(r5);
    json_decref(r4);
    json_decref(x1);
    json_decref(r1);
    json_decref(scs);
}

static void library_scenarios_mix_with_inline_ones(void **state)
{
    (void)state;
    struct acct a, b;
    signup(&S, &a);
    signup(&S, &b);
    char lib1[64], lib2[64], other[64];
    create_scenario(&S, a.key, simple_scenario("Library laptop theft", 0.8), lib1);
    create_scenario(&S, a.key, json_loads(RANSOMWARE, 0, NULL), lib2);
    create_scenario(&S, b.key, simple_scenario("Another org's scenario", 1), other);

    /* inline first, then the library's in the order given */
    json_t *body = run_req(json_pack("[o]", simple_scenario("Inline DDoS", 2)), 20000, 77, NULL);
    json_object_set_new(body, "scenario_ids", json_pack("[s,s]", lib2, lib1));
    json_t *run = run_done(&S, a.key, body);
    json_t *sc = jget(run, "results.scenarios");
    assert_int_equal(json_array_size(sc), 3);
    assert_string_equal(jstr(json_array_get(sc, 0), "name"), "Inline DDoS");
    assert_string_equal(jstr(json_array_get(sc, 1), "name"), "Ransomware on the file servers");
    assert_string_equal(jstr(json_array_get(sc, 2), "name"), "Library laptop theft");
    json_t *names = jget(run, "parameters.scenarios");
    assert_int_equal(json_array_size(names), 3);
    assert_string_equal(json_string_value(json_array_get(names, 2)), "Library laptop theft");

    /* a library scenario runs exactly as the same scenario given inline */
    json_t *by_id =
        json_pack("{s:[s],s:i,s:i}", "scenario_ids", lib1, "iterations", 5000, "seed", 5);
    json_t *inl =
        run_req(json_pack("[o]", simple_scenario("Library laptop theft", 0.8)), 5000, 5, NULL);
    json_t *r1 = run_done(&S, a.key, by_id), *r2 = run_done(&S, a.key, inl);
    json_t *x1 = results_of(r1), *x2 = results_of(r2);
    json_object_del(x1, "portfolio");
    json_object_del(x2, "portfolio");
    if (!json_equal(x1, x2))
        fail_msg(
            "seed 5: scenario_ids [%s] and the same scenario inline differ: means %.17g, %.17g",
            lib1, jnum(x1, "summary.mean"), jnum(x2, "summary.mean"));
    json_decref(x1);
    json_decref(x2);
    json_decref(r1);
    json_decref(r2);

    /* unknown ids, another organisation's id, a name used twice: 400, nothing started */
    char random_id[64];
    snprintf(random_id, sizeof random_id, "%s", "01890a5d-ac96-774b-bcce-b302099a8057");
    struct {
        json_t *ids;
        const char *part;
    } bad[] = {
        {json_pack("[s]", random_id), "scenario_ids[0]"},
        {json_pack("[s,s]", lib1, other), "scenario_ids[1]"}, /* B's: no such scenario for A */
        {json_pack("[s]", "not-a-uuid"), "scenario_ids[0]"},
        {json_pack("[i]", 12), "scenario_ids[0]"},
    };
    json_t *before = call_ok(&S, "GET", "/api/v1/simulations?limit=500", a.key, NULL, 200);
    size_t nbefore = json_array_size(json_object_get(before, "data"));
    json_decref(before);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *bd =
            json_pack("{s:o,s:i,s:i}", "scenario_ids", bad[i].ids, "iterations", 1000, "seed", 1);
        char *t = body_of(bd);
        struct resp r;
        call(&S, "POST", "/api/v1/simulations", a.key, t, &r);
        free(t);
        expect_error(&r, 400, "invalid_request", bad[i].part);
        if (strstr(r.body, "Another org's scenario"))
            fail_msg("the answer shows B's scenario: %s", r.body);
        resp_free(&r);
    }
    /* an inline scenario with a library scenario's name */
    json_t *clash =
        run_req(json_pack("[o]", simple_scenario("Library laptop theft", 1)), 1000, 1, NULL);
    json_object_set_new(clash, "scenario_ids", json_pack("[s]", lib1));
    char *t = body_of(clash);
    struct resp r;
    call(&S, "POST", "/api/v1/simulations", a.key, t, &r);
    free(t);
    expect_error(&r, 400, "invalid_request", "unique");
    resp_free(&r);
    json_t *after = call_ok(&S, "GET", "/api/v1/simulations?limit=500", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(after, "data")), nbefore);
    json_decref(after);

    /* the run keeps its copy of the library scenario: deleting it later changes nothing */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/scenarios/%s", lib1);
    json_decref(call_ok(&S, "DELETE", path, a.key, NULL, 204));
    snprintf(path, sizeof path, "/api/v1/simulations/%s", jstr(run, "id"));
    json_t *again = call_ok(&S, "GET", path, a.key, NULL, 200);
    assert_true(json_equal(json_object_get(again, "results"), json_object_get(run, "results")));
    json_decref(again);
    json_decref(run);
}

static void limits_and_bad_parameters(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char sc[300];
    char *scj = body_of(simple_scenario("Limits", 1));
    snprintf(sc, sizeof sc, "%s", scj);
    free(scj);

    /* above AEGIS_SIM_MAX_ITERATIONS: 422 limit_exceeded naming the limit */
    char body[1200];
    snprintf(body, sizeof body, "{\"scenarios\":[%s],\"iterations\":%d}", sc, SIM_LIMIT + 1);
    struct resp r;
    call(&S, "POST", "/api/v1/simulations", a.key, body, &r);
    expect_error2(&r, 422, "limit_exceeded", "2000000", "2000001");
    resp_free(&r);
    snprintf(body, sizeof body, "{\"scenarios\":[%s],\"iterations\":100000000000}", sc);
    call(&S, "POST", "/api/v1/simulations", a.key, body, &r);
    expect_error(&r, 422, "limit_exceeded", "2000000");
    resp_free(&r);

    static const struct {
        const char *fields, *part;
    } bad[] = {
        {"\"iterations\":0", "iterations"},
        {"\"iterations\":-5", "iterations"},
        {"\"iterations\":1.5", "iterations"},
        {"\"iterations\":\"1000\"", "iterations"},
        {"\"iterations\":true", "iterations"},
        {"\"iterations\":null", "iterations"},
        {"\"semantics\":\"x\"", "semantics"},
        {"\"semantics\":\"Compound\"", "semantics"},
        {"\"semantics\":1", "semantics"},
        {"\"semantics\":null", "semantics"},
        {"\"seed\":-1", "seed"},
        {"\"seed\":\"seven\"", "seed"},
        {"\"seed\":1.5", "seed"},
        {"\"seed\":null", "seed"},
        {"\"name\":42", "name"},
        {"\"thresholds\":[-1]", "thresholds"},
        {"\"thresholds\":\"high\"", "thresholds"},
        {"\"correlation\":[[1]]", "correlation"},            /* 1 x 1 for 2 scenarios */
        {"\"correlation\":[[1,0.5],[0.4,1]]", "symmetric"},  /* not symmetric */
        {"\"correlation\":[[1,2],[2,1]]", "[-1, 1]"},        /* out of range */
        {"\"correlation\":[[0.9,0.5],[0.5,1]]", "diagonal"}, /* not 1 on the diagonal */
    };
    char problems[4000] = "";
    size_t np = 0;
    char sc2[300];
    scj = body_of(simple_scenario("Limits two", 2));
    snprintf(sc2, sizeof sc2, "%s", scj);
    free(scj);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"scenarios\":[%s,%s],\"iterations\":1000,%s}", sc, sc2,
                 bad[i].fields);
        if (strstr(bad[i].fields, "\"iterations\""))
            snprintf(body, sizeof body, "{\"scenarios\":[%s,%s],%s}", sc, sc2, bad[i].fields);
        call(&S, "POST", "/api/v1/simulations", a.key, body, &r);
        const char *code = jstr(r.json, "error.code");
        if (r.status != 400 || !code || strcmp(code, "invalid_request") != 0 ||
            !strstr(err_message(&r), bad[i].part))
            np += (size_t)snprintf(problems + np, sizeof problems - np,
                                   "\n  {%s} -> %ld %s \"%s\" (want 400 mentioning \"%s\")",
                                   bad[i].fields, r.status, code ? code : "", err_message(&r),
                                   bad[i].part);
        resp_free(&r);
        if (np >= sizeof problems - 1)
            break;
    }
    /* no scenarios at all; wrong types; an invalid inline scenario names its path */
    static const struct {
        const char *body, *part;
    } bad2[] = {
        {"{\"iterations\":1000}", "scenarios"},
        {"{\"scenarios\":[],\"scenario_ids\":[]}", "scenarios"},
        {"{\"scenarios\":{\"name\":\"x\"}}", "scenarios"},
        {"{\"scenario_ids\":\"abc\"}", "scenario_ids"},
        {"[1,2]", "object"},
        {"{\"scenarios\":[{\"name\":\"Bad\",\"lef\":{\"dist\":\"uniform\",\"min\":3,\"max\":1},"
         "\"primary_loss\":1}]}",
         "scenario \"Bad\" (scenarios[0].lef"},
    };
    for (size_t i = 0; i < sizeof bad2 / sizeof bad2[0]; i++) {
        call(&S, "POST", "/api/v1/simulations", a.key, bad2[i].body, &r);
        const char *code = jstr(r.json, "error.code");
        if (r.status != 400 || !code || strcmp(code, "invalid_request") != 0 ||
            !strstr(err_message(&r), bad2[i].part))
            np += (size_t)snprintf(problems + np, sizeof problems - np,
                                   "\n  %s -> %ld %s \"%s\" (want 400 mentioning \"%s\")",
                                   bad2[i].body, r.status, code ? code : "", err_message(&r),
                                   bad2[i].part);
        resp_free(&r);
        if (np >= sizeof problems - 1)
            break;
    }
    if (np)
        fail_msg("bad simulation requests:%s", problems);
    /* none of them started a run */
    json_t *runs = call_ok(&S, "GET", "/api/v1/simulations", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(runs, "data")), 0);
    json_decref(runs);
}

/* The engine refuses a correlation matrix that is not positive semi-definite (it finds out in its
 * Cholesky factorisation, after the POST): the run ends failed with the reason, once, no retries.
 */
static void non_psd_correlation_fails_the_run(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    json_t *body = run_req(json_pack("[o,o,o]", simple_scenario("Corr A", 1),
                                     simple_scenario("Corr B", 1), simple_scenario("Corr C", 1)),
                           2000, 3, NULL);
    /* symmetric, ones on the diagonal, entries in [-1, 1], but A~B and B~C strongly while A~-C */
    json_object_set_new(
        body, "correlation",
        json_pack("[[f,f,f],[f,f,f],[f,f,f]]", 1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0));
    char id[64];
    json_t *accepted = start_run(&S, a.key, body, id, true);
    assert_string_equal(jstr(accepted, "status"), "queued");
    json_decref(accepted);
    json_t *run = wait_run(&S, a.key, id, 30000);
    assert_string_equal(jstr(run, "status"), "failed");
    const char *err = jstr(run, "error");
    if (!err || !strstr(err, "positive semi-definite"))
        fail_msg("run %s failed with \"%s\", not a word of positive semi-definite", id,
                 err ? err : "(null)");
    assert_true(json_is_null(json_object_get(run, "results")));
    assert_non_null(jstr(run, "completed_at"));
    json_decref(run);

    /* a valid correlation runs, and the tail contributions still add up */
    body = run_req(json_pack("[o,o]", simple_scenario("Corr D", 1), simple_scenario("Corr E", 2)),
                   20000, 3, NULL);
    json_object_set_new(body, "correlation", json_pack("[[f,f],[f,f]]", 1.0, 0.7, 0.7, 1.0));
    run = run_done(&S, a.key, body);
    double tail = 0;
    for (size_t i = 0; i < 2; i++)
        tail += jnum(json_array_get(jget(run, "results.scenarios"), i), "contribution.tvar99");
    if (!close_rel(tail, jnum(run, "results.summary.tvar.99"), 1e-9))
        fail_msg("seed 3, correlated: tail contributions %.17g vs TVaR 99 %.17g", tail,
                 jnum(run, "results.summary.tvar.99"));
    json_decref(run);
}

static void run_lists_are_newest_first_without_results(void **state)
{
    (void)state;
    struct acct a, b;
    signup(&S, &a);
    signup(&S, &b);
    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "Run %d", i);
        json_t *body = run_req(json_pack("[o]", simple_scenario("Listed", 1)), 2000, i, NULL);
        json_object_set_new(body, "name", json_string(name));
        start_run(&S, a.key, body, ids[i], false);
    }
    char other[64];
    start_run(&S, b.key, run_req(json_pack("[o]", simple_scenario("B's", 1)), 2000, 1, NULL), other,
              false);
    for (int i = 0; i < 3; i++)
        json_decref(wait_run(&S, a.key, ids[i], 30000));

    json_t *list = call_ok(&S, "GET", "/api/v1/simulations", a.key, NULL, 200);
    assert_string_equal(jstr(list, "object"), "list");
    json_t *data = json_object_get(list, "data");
    assert_int_equal(json_array_size(data), 3);
    for (int i = 0; i < 3; i++) {
        json_t *x = json_array_get(data, (size_t)i);
        assert_string_equal(jstr(x, "id"), ids[2 - i]);
        assert_string_equal(jstr(x, "status"), "done");
        assert_string_equal(jstr(x, "object"), "simulation");
        assert_non_null(jget(x, "parameters.iterations"));
        assert_null(json_object_get(x, "results"));
    }
    assert_false(list_has(list, other));
    json_decref(list);
    list = call_ok(&S, "GET", "/api/v1/simulations?limit=2", a.key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "data")), 2);
    assert_string_equal(jstr(json_array_get(json_object_get(list, "data"), 0), "id"), ids[2]);
    json_decref(list);
    const char *bad[] = {"0", "501", "abc", "-1", "2x"};
    for (int i = 0; i < 5; i++) {
        char path[100];
        snprintf(path, sizeof path, "/api/v1/simulations?limit=%s", bad[i]);
        struct resp r;
        call(&S, "GET", path, a.key, NULL, &r);
        expect_error(&r, 400, "invalid_request", "limit");
        resp_free(&r);
    }
}

static void viewers_read_runs_but_cannot_start_them(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char viewer[64], analyst[64];
    make_key(&S, a.key, "viewer", viewer);
    make_key(&S, a.key, "analyst", analyst);
    char *body = body_of(run_req(json_pack("[o]", simple_scenario("Roles", 1)), 2000, 9, NULL));
    struct resp r;
    call(&S, "POST", "/api/v1/simulations", viewer, body, &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    json_t *list = call_ok(&S, "GET", "/api/v1/simulations", viewer, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "data")), 0);
    json_decref(list);

    json_t *j = call_ok(&S, "POST", "/api/v1/simulations", analyst, body, 202);
    char id[64], path[200];
    snprintf(id, sizeof id, "%s", jstr(j, "id"));
    json_decref(j);
    free(body);
    json_decref(wait_run(&S, analyst, id, 30000));
    snprintf(path, sizeof path, "/api/v1/simulations/%s", id);
    j = call_ok(&S, "GET", path, viewer, NULL, 200);
    assert_string_equal(jstr(j, "status"), "done");
    assert_true(json_is_object(json_object_get(j, "results")));
    json_decref(j);
    list = call_ok(&S, "GET", "/api/v1/simulations", viewer, NULL, 200);
    assert_true(list_has(list, id));
    json_decref(list);
}

/* A seed the server picks is reported as a decimal string; a user must be able to give it back to
 * reproduce the run, either as the JSON integer or as that string. */
static void random_seeds_can_be_replayed(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char big[32] = "", small[32] = "";
    for (int i = 0; i < 24 && !(big[0] && small[0]); i++) {
        char id[64];
        json_t *acc = start_run(
            &S, a.key, run_req(json_pack("[o]", simple_scenario("Seedless", 1)), 1, -1, NULL), id,
            true);
        const char *seed = jstr(acc, "parameters.seed");
        assert_non_null(seed);
        for (const char *p = seed; *p; p++)
            assert_true(isdigit((unsigned char)*p));
        uint64_t v = strtoull(seed, NULL, 10);
        snprintf(v > (uint64_t)INT64_MAX ? big : small, 32, "%s", seed);
        json_decref(acc);
    }
    const char *seeds[2] = {small, big};
    char problems[1000] = "";
    size_t np = 0;
    for (int k = 0; k < 2; k++) {
        if (!seeds[k][0])
            continue; /* 24 draws without one of each: 2^-23 */
        char body[600], *sc = body_of(simple_scenario("Seedless", 1));
        long st[2];
        for (int form = 0; form < 2; form++) { /* 0: a JSON integer, 1: the string reported */
            snprintf(body, sizeof body, "{\"scenarios\":[%s],\"iterations\":1,\"seed\":%s%s%s}", sc,
                     form ? "\"" : "", seeds[k], form ? "\"" : "");
            struct resp r;
            call(&S, "POST", "/api/v1/simulations", a.key, body, &r);
            st[form] = r.status;
            if (r.status == 202 && strcmp(jstr(r.json, "parameters.seed"), seeds[k]) != 0)
                np += (size_t)snprintf(problems + np, sizeof problems - np,
                                       "\n  seed %s given back ran with seed %s", seeds[k],
                                       jstr(r.json, "parameters.seed"));
            resp_free(&r);
        }
        free(sc);
        if (st[0] != 202 && st[1] != 202)
            np += (size_t)snprintf(problems + np, sizeof problems - np,
                                   "\n  the server picked seed %s, and refuses it back: as an "
                                   "integer %ld, as a string %ld",
                                   seeds[k], st[0], st[1]);
    }
    if (np)
        fail_msg("random seeds cannot be replayed:%s", problems);
}

/* The API takes run names of up to 200 characters, and the name is the portfolio's name in the
 * results. A run that is done has its results, whatever its name. */
static void long_run_names_keep_their_results(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    /* names that would not fit the result (128 bytes and more) are refused up front, whole: a name
     * is never cut (a cut could split a UTF-8 character and lose the results) */
    char names[2][220];
    memset(names[0], 'x', 126); /* 126 + a 2-byte character: byte 128 is inside the character */
    snprintf(names[0] + 126, sizeof names[0] - 126, "%s", "\xc3\xa9 and more after it");
    memset(names[1], 'y', 199); /* long and plain ASCII */
    names[1][199] = '\0';
    for (int k = 0; k < 2; k++) {
        json_t *body = run_req(json_pack("[o]", simple_scenario("Named", 1)), 1000, 21, NULL);
        json_object_set_new(body, "name", json_string(names[k]));
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        struct resp r;
        char auth[200];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", a.key);
        assert_int_equal(req(&S, "POST", "/api/v1/simulations",
                             (const char *const[]){"Content-Type: application/json", auth, NULL},
                             text, &r),
                         0);
        free(text);
        assert_error(&r, 400, "invalid_request");
        assert_non_null(strstr(r.body, "shorter than 128 bytes"));
        resp_free(&r);
    }
    /* the longest accepted name (127 bytes) comes back whole, with its results */
    char name[128];
    memset(name, 'z', 127);
    name[127] = '\0';
    json_t *body = run_req(json_pack("[o]", simple_scenario("Named", 1)), 1000, 21, NULL);
    json_object_set_new(body, "name", json_string(name));
    json_t *run = run_done(&S, a.key, body);
    assert_string_equal(jstr(run, "name"), name);
    json_t *res = json_object_get(run, "results");
    assert_true(json_is_object(res));
    assert_string_equal(jstr(res, "portfolio"), name);
    json_decref(run);
}

/* ---- 3. a run survives a crash of the server
 * ------------------------------------------------------ */

/* Starts a run of 20 million years on srv_own (seconds under the sanitizers), waits until a worker
 * runs it, and kills the server (SIGKILL) in the middle; copies the run id. */
#define LONG_RUN 20000000
#define LONG_RUN_LIMIT "AEGIS_SIM_MAX_ITERATIONS=20000000"

static void start_run_and_crash(const struct acct *a, long long seed, char id[64])
{
    json_t *heavy = json_pack(
        "{s:s,s:{s:s,s:f,s:f,s:f},s:{s:{s:s,s:f,s:f,s:f},s:{s:s,s:f,s:f,s:f}},s:{s:{s:s,s:f,s:f},"
        "s:{s:s,s:f,s:f,s:f}}}",
        "name", "Long run", "tef", "dist", "pert", "min", 1.0, "mode", 4.0, "max", 10.0,
        "vulnerability", "threat_capability", "dist", "pert", "min", 0.3, "mode", 0.6, "max", 0.95,
        "resistance_strength", "dist", "pert", "min", 0.4, "mode", 0.7, "max", 0.9, "primary_loss",
        "productivity", "dist", "lognormal", "p05", 50000.0, "p95", 900000.0, "response", "dist",
        "pert", "min", 20000.0, "mode", 80000.0, "max", 300000.0);
    char path[200];
    start_run(&srv_own, a->key, run_req(json_pack("[o]", heavy), LONG_RUN, seed, NULL), id, false);
    snprintf(path, sizeof path, "/api/v1/simulations/%s", id);
    for (int i = 0;; i++) {
        json_t *run = call_ok(&srv_own, "GET", path, a->key, NULL, 200);
        bool running = !strcmp(jstr(run, "status"), "running");
        bool over = !strcmp(jstr(run, "status"), "done") || !strcmp(jstr(run, "status"), "failed");
        json_decref(run);
        if (running)
            break;
        if (over)
            fail_msg("the run finished before the crash: make it longer");
        if (i == 200)
            fail_msg("the run did not start within 10 s");
        sleep_ms(50);
    }
    sleep_ms(100);
    assert_int_equal(srv_stop(&srv_own, 9), 128 + 9);
    assert_int_equal(srv_start(&srv_own, NULL), 0);
    json_t *run = call_ok(&srv_own, "GET", path, a->key, NULL, 200);
    if (!strcmp(jstr(run, "status"), "done"))
        fail_msg("the run was done before the crash: make it longer");
    json_decref(run);
}

/* The id of the (only) risk.simulate job of srv_own, from `aegis jobs list`. */
static void sim_job_id(char job[64])
{
    char *out = NULL;
    assert_int_equal(srv_cli(&srv_own, &out, NULL, "jobs", "list", NULL), 0);
    job[0] = '\0';
    for (const char *line = out; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (memmem(line, len, "risk.simulate", 13))
            snprintf(job, 64, "%.36s", line);
        line = end ? end + 1 : line + len;
    }
    free(out);
    if (!job[0])
        fail_msg("no risk.simulate job in `aegis jobs list`");
}

static void run_survives_a_crash(void **state)
{
    (void)state;
    own_init((const char *[]){FAST_ARGON2, "AEGIS_JOB_LEASE_SECONDS=2", LONG_RUN_LIMIT, NULL});
    struct acct a;
    signup(&srv_own, &a);
    char id[64];
    start_run_and_crash(&a, 11, id);
    json_t *run = wait_run(&srv_own, a.key, id, 120000);
    if (strcmp(jstr(run, "status"), "done") != 0)
        fail_msg("after the restart the run ended %s: %s", jstr(run, "status"),
                 jstr(run, "error") ? jstr(run, "error") : "(no error)");
    assert_int_equal(json_integer_value(jget(run, "results.iterations")), LONG_RUN);
    assert_string_equal(jstr(run, "results.seed"), "11");
    assert_true(jnum(run, "results.summary.mean") > 0);
    assert_true(json_is_null(json_object_get(run, "error")));
    json_decref(run);

    /* its job was reclaimed after the lease: two attempts, done once */
    char job[64];
    sim_job_id(job);
    json_t *j = srv_job(&srv_own, job);
    assert_non_null(j);
    assert_string_equal(jstr(j, "state"), "done");
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
    assert_string_equal(jstr(j, "payload.run_id"), id);
    assert_string_equal(jstr(j, "result.status"), "done");
    json_decref(j);
    assert_int_equal(srv_stop(&srv_own, 15), 0);
}

/* With no attempt left, a crash kills the run's job (README: dead, with its last error). A client
 * polls the run until it is done or failed, so the run must say failed, not running for ever. */
static void run_whose_job_dies_is_failed(void **state)
{
    (void)state;
    own_init((const char *[]){FAST_ARGON2, "AEGIS_JOB_LEASE_SECONDS=2", "AEGIS_JOB_MAX_ATTEMPTS=1",
                              LONG_RUN_LIMIT, NULL});
    struct acct a;
    signup(&srv_own, &a);
    char id[64], job[64];
    start_run_and_crash(&a, 12, id);
    sim_job_id(job);
    struct jobcheck c = {&srv_own, job, "dead"};
    if (wait_until(srv_job_in_state, &c, 20000) < 0)
        fail_msg("job %s of run %s is not dead 20 s after the restart", job, id);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/simulations/%s", id);
    json_t *run = NULL;
    for (int i = 0; i < 40; i++) { /* 2 s for whatever would notice */
        json_decref(run);
        run = call_ok(&srv_own, "GET", path, a.key, NULL, 200);
        if (strcmp(jstr(run, "status"), "running") != 0)
            break;
        sleep_ms(50);
    }
    if (strcmp(jstr(run, "status"), "failed") != 0 || !jstr(run, "error")) {
        char msg[300];
        snprintf(msg, sizeof msg, "run %s: its job %s is dead, and the run is %s (error %s)", id,
                 job, jstr(run, "status"), jstr(run, "error") ? jstr(run, "error") : "null");
        json_decref(run);
        fail_msg("%s", msg);
    }
    json_decref(run);
    assert_int_equal(srv_stop(&srv_own, 15), 0);
}

/* ---- 4. aegis simulate
 * ---------------------------------------------------------------------------- */

/* The example file as a simulation request for the API. */
static json_t *example_request(long seed, long iterations, const char *semantics)
{
    json_t *doc = NULL;
    char err[300];
    if (yaml_parse_file(EXAMPLE_YAML, &doc, err, sizeof err))
        fail_msg("%s", err);
    json_t *b = json_pack("{s:O,s:O,s:O,s:i,s:i,s:s}", "name", json_object_get(doc, "name"),
                          "scenarios", json_object_get(doc, "scenarios"), "thresholds",
                          json_object_get(doc, "thresholds"), "seed", (int)seed, "iterations",
                          (int)iterations, "semantics", semantics);
    json_decref(doc);
    return b;
}

static void cli_json_equals_the_api(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    const char *sems[] = {"compound", "product"};
    for (int k = 0; k < 2; k++) {
        char *out = NULL, *err = NULL;
        int rc = srv_cli(&S, &out, &err, "simulate", EXAMPLE_YAML, "--seed", "7", "--iterations",
                         "20000", "--semantics", sems[k], "--format", "json", NULL);
        if (rc != 0)
            fail_msg("aegis simulate exited %d: %s", rc, err ? err : "");
        json_error_t je;
        json_t *cli = json_loads(out, 0, &je);
        if (!cli)
            fail_msg("aegis simulate --format json printed no JSON (%s): %.300s", je.text, out);
        free(out);
        free(err);
        json_t *run = run_done(&S, a.key, example_request(7, 20000, sems[k]));
        json_t *api = results_of(run);
        json_object_del(cli, "seconds");
        double cm = jnum(cli, "summary.mean"), am = jnum(api, "summary.mean");
        if (cm != am)
            fail_msg("seed 7, %s: the CLI's mean %.17g is not the API's %.17g", sems[k], cm, am);
        if (!json_equal(jget(cli, "summary"), jget(api, "summary"))) {
            char *x = json_dumps(jget(cli, "summary"), JSON_SORT_KEYS | JSON_REAL_PRECISION(17)),
                 *y = json_dumps(jget(api, "summary"), JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
            fail_msg("seed 7, %s: summaries differ\n  CLI %s\n  API %s", sems[k], x, y);
        }
        /* the rest too: per scenario, the curves, the seed and iteration count */
        if (!json_equal(cli, api))
            fail_msg("seed 7, %s: the CLI's JSON and the API's results differ beyond the summary",
                     sems[k]);
        assert_string_equal(jstr(cli, "seed"), "7");
        assert_int_equal(json_integer_value(json_object_get(cli, "iterations")), 20000);
        assert_string_equal(jstr(cli, "semantics"), sems[k]);
        json_decref(api);
        json_decref(run);
        json_decref(cli);
    }
}

static void cli_csv_and_lec(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    int rc = srv_cli(&S, &out, &err, "simulate", EXAMPLE_YAML, "--seed", "7", "--iterations",
                     "20000", "--format", "json", NULL);
    assert_int_equal(rc, 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    free(out);
    free(err);

    rc = srv_cli(&S, &out, &err, "simulate", EXAMPLE_YAML, "--seed", "7", "--iterations", "20000",
                 "--format", "csv", "--lec", "lec.csv", NULL);
    if (rc != 0)
        fail_msg("aegis simulate --format csv exited %d: %s", rc, err ? err : "");
    /* a header, one row per scenario, then (portfolio) */
    assert_int_equal(count_lines(out), 1 + 3 + 1);
    assert_int_equal(strncmp(out, "name,mean,sd,", 13), 0);
    const char *names[] = {"\"Ransomware on the file servers\",", "\"Customer data breach\",",
                           "\"Business email compromise\",", "\"(portfolio)\","};
    const char *line = strchr(out, '\n') + 1;
    for (int i = 0; i < 4; i++) {
        if (strncmp(line, names[i], strlen(names[i])) != 0)
            fail_msg("row %d of the CSV is not %s: %.80s", i + 1, names[i], line);
        double mean = strtod(line + strlen(names[i]), NULL);
        double want = i < 3
                          ? jnum(json_array_get(json_object_get(j, "scenarios"), (size_t)i), "mean")
                          : jnum(j, "summary.mean");
        if (fabs(mean - want) > 1e-6 + 1e-12 * want)
            fail_msg("seed 7: CSV row %d mean %.6f, JSON %.6f", i + 1, mean, want);
        line = strchr(line, '\n') + 1;
    }
    /* every row has as many fields as the header */
    int header_commas = 0;
    for (const char *p = out; *p != '\n'; p++)
        header_commas += *p == ',';
    line = strchr(out, '\n') + 1;
    for (int i = 0; i < 4; i++) {
        int commas = 0;
        bool quoted = false;
        for (const char *p = line; *p != '\n'; p++) {
            quoted ^= *p == '"';
            commas += *p == ',' && !quoted;
        }
        assert_int_equal(commas, header_commas);
        line = strchr(line, '\n') + 1;
    }
    free(out);
    free(err);

    /* the loss exceedance curve: a header and 50 rows, as in the JSON */
    char *lec = srv_read(&S, "lec.csv");
    assert_non_null(lec);
    assert_int_equal(count_lines(lec), 51);
    assert_int_equal(strncmp(lec, "loss,p_exceed\n", 14), 0);
    line = lec + 14;
    json_t *jl = json_object_get(j, "loss_exceedance");
    for (size_t i = 0; i < 50; i++) {
        char *end;
        double x = strtod(line, &end);
        assert_true(*end == ',');
        double p = strtod(end + 1, &end);
        assert_true(*end == '\n');
        double wx = jnum(json_array_get(jl, i), "loss"),
               wp = jnum(json_array_get(jl, i), "p_exceed");
        if (fabs(x - wx) > 1e-6 + 1e-12 * wx || fabs(p - wp) > 1e-8)
            fail_msg("seed 7: LEC row %zu is %.6f,%.8f; the JSON has %.6f,%.8f", i + 1, x, p, wx,
                     wp);
        line = end + 1;
    }
    free(lec);
    json_decref(j);

    /* the table (default) names the portfolio and the seed */
    rc = srv_cli(&S, &out, &err, "simulate", EXAMPLE_YAML, "--seed", "7", "--iterations", "2000",
                 NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Example mid-size company"));
    assert_non_null(strstr(out, "seed 7"));
    free(out);
    free(err);
}

/* Writes a file into the server's directory (the CLI's working directory). */
static void write_file(const struct srv *s, const char *name, const char *text)
{
    char path[400];
    srv_path(s, name, path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A portfolio name the engine cannot hold whole: either kept, or refused naming the field; never
 * output that is not JSON (the name is cut inside a UTF-8 character at 127 bytes). */
static void cli_long_portfolio_name(void **state)
{
    (void)state;
    char name[200], yaml[400];
    memset(name, 'x', 126);
    snprintf(name + 126, sizeof name - 126, "%s", "\xc3\xa9 and more after it");
    snprintf(yaml, sizeof yaml,
             "name: \"%s\"\nscenarios:\n  - {name: One, lef: 1, primary_loss: 1000}\n", name);
    write_file(&S, "long-name.yaml", yaml);
    char *out = NULL, *err = NULL;
    int rc = srv_cli(&S, &out, &err, "simulate", "long-name.yaml", "--iterations", "1000", "--seed",
                     "1", "--format", "json", NULL);
    json_t *j = json_loads(out, 0, NULL);
    bool kept = rc == 0 && j && jstr(j, "portfolio") && !strcmp(jstr(j, "portfolio"), name);
    bool refused = rc == 2 && err && strstr(err, "name");
    json_decref(j);
    if (!kept && !refused) {
        char msg[700];
        snprintf(msg, sizeof msg,
                 "simulate with a %zu-byte portfolio name: exit %d, stdout \"%.100s\", stderr "
                 "\"%.300s\"",
                 strlen(name), rc, out ? out : "", err ? err : "");
        free(out);
        free(err);
        fail_msg("%s", msg);
    }
    free(out);
    free(err);
}

static void cli_errors_exit_2(void **state)
{
    (void)state;
    /* a YAML syntax error: file:line:column */
    write_file(&S, "broken.yaml",
               "name: Broken\n"
               "scenarios:\n"
               "  - name: One\n"
               "    lef: [1, 2\n"
               "    primary_loss: 1000\n");
    char *out = NULL, *err = NULL;
    int rc = srv_cli(&S, &out, &err, "simulate", "broken.yaml", "--iterations", "1000", NULL);
    assert_int_equal(rc, 2);
    assert_int_equal(strlen(out), 0);
    const char *at = strstr(err, "broken.yaml:");
    if (!at)
        fail_msg("the error does not name the file: %s", err);
    int line = 0, col = 0;
    if (sscanf(at, "broken.yaml:%d:%d:", &line, &col) != 2 || line < 4 || line > 5 || col < 1)
        fail_msg("the error has no plausible file:line:column: %s", err);
    free(out);
    free(err);

    /* an invalid scenario: the field path, and the file */
    write_file(&S, "invalid.yaml",
               "scenarios:\n"
               "  - name: Fine\n"
               "    lef: 1\n"
               "    primary_loss: 1000\n"
               "  - name: Inverted\n"
               "    lef: {dist: uniform, min: 4, max: 2}\n"
               "    primary_loss: 1000\n");
    rc = srv_cli(&S, &out, &err, "simulate", "invalid.yaml", "--iterations", "1000", NULL);
    assert_int_equal(rc, 2);
    assert_int_equal(strlen(out), 0);
    if (!strstr(err, "invalid.yaml") || !strstr(err, "scenario \"Inverted\" (scenarios[1].lef") ||
        !strstr(err, "min is greater than max"))
        fail_msg("the error does not name the file and the field path: %s", err);
    free(out);
    free(err);
    write_file(&S, "typo.yaml",
               "scenarios:\n"
               "  - name: Typo\n"
               "    lef: 1\n"
               "    primary_loss: {dist: pert, min: 1, mode: 2, max: 3, lamda: 4}\n");
    rc = srv_cli(&S, &out, &err, "simulate", "typo.yaml", "--iterations", "1000", NULL);
    assert_int_equal(rc, 2);
    if (!strstr(err, "scenarios[0].primary_loss.lamda"))
        fail_msg("the typo is not named: %s", err);
    free(out);
    free(err);

    /* a missing file */
    rc = srv_cli(&S, &out, &err, "simulate", "no-such-file.yaml", NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "no-such-file.yaml"));
    free(out);
    free(err);

    /* bad options */
    const char *const bad[][3] = {
        {"--iterations", "0", NULL},  {"--iterations", "abc", NULL},
        {"--iterations", "-5", NULL}, {"--semantics", "x", NULL},
        {"--format", "x", NULL},      {"--format", "XML", NULL},
        {"--seed", "-1", NULL},       {"--seed", "seven", NULL},
        {"--threads", "0", NULL},     {"--no-such-option", NULL, NULL},
        {"--iterations", NULL, NULL},
    };
    char problems[1500] = "";
    size_t np = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = srv_cli(&S, &out, &err, "simulate", EXAMPLE_YAML, bad[i][0], bad[i][1], NULL);
        if (rc != 2 || strlen(out) != 0 || !err || !*err)
            np += (size_t)snprintf(problems + np, sizeof problems - np,
                                   "\n  simulate FILE %s %s -> exit %d, stdout %zu bytes, stderr "
                                   "\"%.80s\"",
                                   bad[i][0], bad[i][1] ? bad[i][1] : "", rc, strlen(out),
                                   err ? err : "");
        free(out);
        free(err);
    }
    rc = srv_cli(&S, &out, &err, "simulate", NULL);
    if (rc != 2)
        np += (size_t)snprintf(problems + np, sizeof problems - np,
                               "\n  simulate (no file) -> exit %d", rc);
    free(out);
    free(err);
    if (np)
        fail_msg("bad usage of aegis simulate:%s", problems);
}

/* ---- control optimisation ------------------------------------------------------------------------ */

/* Waits for an optimisation run to finish (done or failed); returns it (new reference). */
static json_t *wait_opt(const struct srv *s, const char *bearer, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/optimization/%s", id);
    for (long waited = 0;; waited += 50) {
        json_t *run = call_ok(s, "GET", path, bearer, NULL, 200);
        const char *st = jstr(run, "status");
        assert_non_null(st);
        if (!strcmp(st, "done") || !strcmp(st, "failed"))
            return run;
        json_decref(run);
        if (waited > 60000)
            fail_msg("optimisation %s still %s after 60 s", id, st);
        sleep_ms(50);
    }
}

static void templates_are_listed_with_the_catalog(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    json_t *j = call_ok(&S, "GET", "/api/v1/controls/templates", a.key, NULL, 200);
    json_t *data = jget(j, "data");
    assert_int_equal(json_array_size(data), 4);
    static const char *ids[] = {"healthcare-provider", "nis2-essential", "saas-data-breach",
                                "sme-ransomware"};
    for (size_t i = 0; i < 4; i++) {
        json_t *t = json_array_get(data, i);
        if (strcmp(jstr(t, "id"), ids[i]))
            fail_msg("template %zu is %s, want %s", i, jstr(t, "id"), ids[i]);
        assert_non_null(jstr(t, "name"));
        assert_true(json_array_size(jget(t, "template.scenarios")) >= 3);
    }
    assert_true(json_array_size(jget(j, "catalog.controls")) >= 30);
    json_decref(j);
}

static void optimization_runs_as_a_job_on_a_template(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    json_t *j = call_ok(&S, "POST", "/api/v1/optimize", a.key,
                        "{\"template\":\"sme-ransomware\",\"iterations\":20000,\"seed\":7,"
                        "\"frontier\":3,\"frontier_iterations\":5000}",
                        202);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(j, "id"));
    assert_string_equal(jstr(j, "object"), "optimization");
    assert_string_equal(jstr(j, "parameters.objective"), "min_total_cost");
    json_decref(j);
    json_t *run = wait_opt(&S, a.key, id);
    if (strcmp(jstr(run, "status"), "done"))
        fail_msg("optimisation %s: %s", jstr(run, "status"), jstr(run, "error"));
    json_t *res = jget(run, "results");
    assert_true(json_array_size(jget(res, "solution.controls")) >= 1);
    double base = jnum(res, "recheck.baseline.mean"), chosen = jnum(res, "recheck.chosen.mean");
    double model = jnum(res, "solution.expected_loss"), sem = jnum(res, "recheck.chosen.sem");
    if (!(chosen < base))
        fail_msg("the chosen controls do not reduce the simulated loss: %g -> %g", base, chosen);
    if (fabs(chosen - model) > 5 * sem)
        fail_msg("re-check %g against the model's %g (5 standard errors %g)", chosen, model,
                 5 * sem);
    assert_true(jnum(res, "solution.optimality_gap") <= jnum(res, "solution.gap_asked"));
    assert_true(jnum(res, "solution.gap_asked") == 1e-4);
    assert_false(json_is_true(jget(res, "solution.time_limited")));
    assert_string_equal(jstr(res, "recheck.seed"), "7");
    assert_int_equal(json_array_size(jget(res, "frontier")), 3);
    assert_string_equal(jstr(run, "input.name"), "SME ransomware baseline");
    json_decref(run);
    /* listed, without results */
    json_t *list = call_ok(&S, "GET", "/api/v1/optimization", a.key, NULL, 200);
    json_t *first = json_array_get(jget(list, "data"), 0);
    assert_string_equal(jstr(first, "id"), id);
    assert_null(jget(first, "results"));
    json_decref(list);
}

static void optimization_inputs_are_checked(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char viewer[64];
    make_key(&S, a.key, "viewer", viewer);
    struct resp r;
    call(&S, "POST", "/api/v1/optimize", viewer, "{\"template\":\"sme-ransomware\"}", &r);
    expect_status(&r, 403);
    resp_free(&r);
    call(&S, "POST", "/api/v1/optimize", a.key,
         "{\"template\":\"sme-ransomware\",\"objective\":\"cheapest\"}", &r);
    expect_error(&r, 400, "invalid_request", "objective must be");
    resp_free(&r);
    call(&S, "POST", "/api/v1/optimize", a.key, "{\"template\":\"no-such-template\"}", &r);
    expect_error(&r, 400, "invalid_request", "template");
    resp_free(&r);
    call(&S, "POST", "/api/v1/optimize", a.key,
         "{\"template\":\"sme-ransomware\",\"controls\":{\"catalog\":\"standard\","
         "\"candidates\":[\"mfa\",\"quantum-firewall\"]}}",
         &r);
    expect_error(&r, 400, "invalid_request", "quantum-firewall");
    resp_free(&r);
    call(&S, "POST", "/api/v1/optimize", a.key,
         "{\"template\":\"sme-ransomware\",\"iterations\":5000000}", &r);
    expect_error(&r, 422, "limit_exceeded", "AEGIS_SIM_MAX_ITERATIONS");
    resp_free(&r);
    /* infeasible: the run fails with the constraint that cannot be met */
    json_t *j = call_ok(&S, "POST", "/api/v1/optimize", a.key,
                        "{\"template\":\"nis2-essential\",\"budget\":{\"one_off\":150000,"
                        "\"yearly\":20000},\"iterations\":1000}",
                        202);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(j, "id"));
    json_decref(j);
    json_t *run = wait_opt(&S, a.key, id);
    assert_string_equal(jstr(run, "status"), "failed");
    if (!strstr(jstr(run, "error"), "covering Art. 21(2)(") ||
        !strstr(jstr(run, "error"), "the yearly budget is 20,000"))
        fail_msg("infeasible run's error: %s", jstr(run, "error"));
    json_decref(run);
    /* another organisation does not see it */
    struct acct b;
    signup(&S, &b);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/optimization/%s", id);
    assert_int_equal(status_of(&S, "GET", path, b.key, NULL), 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scenarios_create_list_get_replace_delete),
        cmocka_unit_test(scenario_names_are_unique_per_organization),
        cmocka_unit_test(invalid_scenarios_name_the_field_path),
        cmocka_unit_test(non_json_bodies_are_refused),
        cmocka_unit_test(viewers_read_analysts_write),
        cmocka_unit_test(simulation_runs_as_a_job_and_reports),
        cmocka_unit_test(same_seed_same_results_and_semantics_matter),
        cmocka_unit_test(library_scenarios_mix_with_inline_ones),
        cmocka_unit_test(limits_and_bad_parameters),
        cmocka_unit_test(non_psd_correlation_fails_the_run),
        cmocka_unit_test(run_lists_are_newest_first_without_results),
        cmocka_unit_test(viewers_read_runs_but_cannot_start_them),
        cmocka_unit_test(random_seeds_can_be_replayed),
        cmocka_unit_test(long_run_names_keep_their_results),
        cmocka_unit_test_teardown(run_survives_a_crash, own_teardown),
        cmocka_unit_test_teardown(run_whose_job_dies_is_failed, own_teardown),
        cmocka_unit_test(cli_json_equals_the_api),
        cmocka_unit_test(cli_csv_and_lec),
        cmocka_unit_test(cli_errors_exit_2),
        cmocka_unit_test(cli_long_portfolio_name),
        cmocka_unit_test(templates_are_listed_with_the_catalog),
        cmocka_unit_test(optimization_runs_as_a_job_on_a_template),
        cmocka_unit_test(optimization_inputs_are_checked),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + srv_exit_failures;
}

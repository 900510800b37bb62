/*
 * API tests of trace ingestion and Tier-1 evaluation against the real server: one trace and a
 * batch answered 202 and evaluated by the eval.tier1 job (polled until evaluated), ?wait=true
 * answering 201 with verdicts and results (trading: a personalised recommendation without a risk
 * disclosure fails unregistered_advice and risk_disclosure; a news sentence passes), a batch with
 * one bad trace storing nothing (naming traces[i].field), 1001 traces refused, unknown and missing
 * domains, malformed JSON, list filters (domain, verdict, status, constraint, constraint_verdict,
 * tag, since/until) and cursor pagination without duplicates or gaps, another organisation's trace
 * a 404, a second job for the same batch adding no results, roles, /api/v1/domains, and an
 * organisation's own specs (400 naming line and field, saved and replaced, used inline and by the
 * job, invisible to other organisations, shadowing a built-in for its owner only, deleted).
 *
 * One server (S); every test signs up its own organisation so counts are its own.
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "store/db.h"

static struct srv S;
static struct srv *cur = &S; /* the server requests go to */
static int counter;

#define FAILING "I recommend you buy shares of Apple given your age. This is not financial advice."
#define PASSING "Apple reported earnings today."

static int setup(void **state)
{
    (void)state;
    srv_init(&S, (const char *[]){FAST_ARGON2, "AEGIS_SIGNUP_PER_HOUR=1000", NULL});
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

static void call(const char *method, const char *path, const char *bearer, const char *body,
                 struct resp *r)
{
    char auth[300];
    const char *h[3];
    int n = 0;
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        h[n++] = auth;
    }
    if (body)
        h[n++] = "Content-Type: application/json";
    h[n] = NULL;
    if (req(cur, method, path, h, body, r) != 0)
        fail_msg("%s %s: transport error", method, path);
}

/* A request that must answer `status`; returns the parsed body (new reference). */
static json_t *call_ok(const char *method, const char *path, const char *bearer, const char *body,
                       long status)
{
    struct resp r;
    call(method, path, bearer, body, &r);
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

/* Asserts an error answer of that status and code whose message contains part. */
static void expect_error(const char *method, const char *path, const char *bearer, const char *body,
                         long status, const char *code, const char *part)
{
    struct resp r;
    call(method, path, bearer, body, &r);
    if (r.status != status)
        fail_msg("%s %s: want %ld %s, got %ld: %.1000s", method, path, status, code, r.status,
                 r.body ? r.body : "");
    assert_error(&r, status, code);
    if (part && !strstr(err_message(&r), part))
        fail_msg("the message \"%s\" does not mention \"%s\"", err_message(&r), part);
    resp_free(&r);
}

/* Signs up a fresh organisation; copies its owner key. */
static void signup(char key[64])
{
    int n = ++counter;
    char body[300];
    snprintf(body, sizeof body,
             "{\"organization_name\":\"Traces Org %d\",\"email\":\"traces%d.%d@traces.test\"}", n,
             n, (int)getpid());
    json_t *j = call_ok("POST", "/api/v1/onboarding/signup", NULL, body, 201);
    snprintf(key, 64, "%s", jstr(j, "api_key.key"));
    json_decref(j);
}

static void make_key(const char *bearer, const char *role, char key[64])
{
    char body[200];
    snprintf(body, sizeof body, "{\"name\":\"%s key %d\",\"role\":\"%s\"}", role, ++counter, role);
    json_t *j = call_ok("POST", "/api/v1/keys", bearer, body, 201);
    snprintf(key, 64, "%s", jstr(j, "key"));
    json_decref(j);
}

/* A trading trace as JSON text (the caller frees); extra: more members ("\"tags\":[...]") or "". */
static char *trading(const char *output, const char *extra)
{
    char *s = NULL;
    json_t *j = json_pack("{s:s,s:s,s:s}", "domain", "trading", "input", "Should I buy Apple?",
                          "output", output);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (extra && *extra) {
        struct buf b;
        buf_init(&b, BUF_CAP_LINE);
        buf_add(&b, s, strlen(s) - 1);
        buf_printf(&b, ",%s}", extra);
        free(s);
        s = buf_detach(&b, NULL);
    }
    return s;
}

/* The number of traces the organisation has (all pages). */
static size_t count_traces(const char *key, const char *query)
{
    size_t n = 0;
    char path[600], cursor[200] = "";
    for (;;) {
        snprintf(path, sizeof path, "/api/v1/traces?limit=500%s%s%s", query ? query : "",
                 cursor[0] ? "&cursor=" : "", cursor);
        json_t *j = call_ok("GET", path, key, NULL, 200);
        n += json_array_size(json_object_get(j, "data"));
        bool more = json_is_true(json_object_get(j, "has_more"));
        if (more)
            snprintf(cursor, sizeof cursor, "%s", jstr(j, "next_cursor"));
        json_decref(j);
        if (!more)
            return n;
    }
}

struct traced {
    const char *key;
    const char *id;
};

static bool evaluated(void *arg)
{
    struct traced *t = arg;
    char path[200];
    snprintf(path, sizeof path, "/api/v1/traces/%s", t->id);
    json_t *j = call_ok("GET", path, t->key, NULL, 200);
    const char *st = jstr(j, "status");
    bool done = st && strcmp(st, "queued") != 0;
    json_decref(j);
    return done;
}

/* Polls GET /api/v1/traces/{id} until it is no longer queued; returns the trace (new reference). */
static json_t *wait_evaluated(const char *key, const char *id)
{
    struct traced t = {key, id};
    if (wait_until(evaluated, &t, 30000) < 0)
        fail_msg("trace %s is still queued after 30 s", id);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/traces/%s", id);
    return call_ok("GET", path, key, NULL, 200);
}

/* The result of one constraint in a trace or a 201 item, or NULL. */
static json_t *result_of(json_t *trace, const char *constraint)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(trace, "results"), i, x)
    {
        const char *c = jstr(x, "constraint");
        if (c && !strcmp(c, constraint))
            return x;
    }
    return NULL;
}

static void expect_verdict(json_t *trace, const char *constraint, const char *verdict)
{
    json_t *x = result_of(trace, constraint);
    if (!x)
        fail_msg("no result for %s", constraint);
    if (strcmp(jstr(x, "verdict"), verdict) != 0) {
        char *d = json_dumps(x, JSON_COMPACT);
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: want %s, got %.1000s", constraint, verdict, d);
        free(d);
        fail_msg("%s", msg);
    }
}

/* ---- tests
 * ---------------------------------------------------------------------------------------- */

static void one_trace_is_queued_then_evaluated_by_the_job(void **state)
{
    (void)state;
    char key[64];
    signup(key);
    char *t = trading(FAILING, "\"external_id\":\"conv-1\",\"model\":\"gpt-x\",\"latency_ms\":"
                               "812.5,\"cost\":0.0042,\"tags\":[\"prod\",\"eu\"],\"metadata\":{"
                               "\"user_age\":34}");
    struct resp r;
    call("POST", "/api/v1/traces", key, t, &r);
    free(t);
    if (r.status != 202)
        fail_msg("want 202, got %ld: %s", r.status, r.body);
    assert_string_equal(jstr(r.json, "object"), "list");
    json_t *data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 1);
    assert_string_equal(jstr(json_array_get(data, 0), "status"), "queued");
    assert_non_null(jstr(r.json, "job_id"));
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(json_array_get(data, 0), "id"));
    resp_free(&r);

    json_t *tr = wait_evaluated(key, id);
    assert_string_equal(jstr(tr, "status"), "evaluated");
    assert_string_equal(jstr(tr, "verdict"), "fail");
    assert_string_equal(jstr(tr, "external_id"), "conv-1");
    assert_string_equal(jstr(tr, "model"), "gpt-x");
    assert_string_equal(jstr(tr, "output"), FAILING);
    assert_true(json_number_value(json_object_get(tr, "latency_ms")) == 812.5);
    assert_int_equal(json_array_size(json_object_get(tr, "tags")), 2);
    assert_int_equal(json_integer_value(jget(tr, "metadata.user_age")), 34);
    assert_string_equal(jstr(tr, "spec_version"), "1.0");
    assert_non_null(jstr(tr, "evaluated_at"));
    expect_verdict(tr, "unregistered_advice", "fail");
    expect_verdict(tr, "risk_disclosure", "fail");
    expect_verdict(tr, "mnpi_insider", "pass");
    /* the evidence of a failed constraint is kept */
    json_t *rd = result_of(tr, "risk_disclosure");
    assert_true(json_array_size(json_object_get(rd, "evidence")) > 0);
    assert_string_equal(jstr(rd, "severity"), "high");
    json_decref(tr);
}

static void batch_is_queued_and_every_trace_evaluated(void **state)
{
    (void)state;
    char key[64];
    signup(key);
    char *a = trading(FAILING, ""), *b = trading(PASSING, ""), *c = trading(PASSING, "");
    char body[2000];
    snprintf(body, sizeof body, "{\"traces\":[%s,%s,%s]}", a, b, c);
    free(a);
    free(b);
    free(c);
    json_t *j = call_ok("POST", "/api/v1/traces", key, body, 202);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 3);
    const char *want[] = {"fail", "pass", "pass"};
    for (size_t i = 0; i < 3; i++) {
        json_t *tr = wait_evaluated(key, jstr(json_array_get(data, i), "id"));
        assert_string_equal(jstr(tr, "verdict"), want[i]);
        /* one batch, one job */
        assert_string_equal(jstr(tr, "batch_id"), jstr(j, "batch_id"));
        json_decref(tr);
    }
    json_decref(j);
    assert_int_equal(count_traces(key, NULL), 3);
}

static void wait_true_answers_201_with_verdicts(void **state)
{
    (void)state;
    char key[64];
    signup(key);
    char *a = trading(FAILING, ""), *b = trading(PASSING, "");
    char body[2000];
    snprintf(body, sizeof body, "{\"traces\":[%s,%s]}", a, b);
    free(a);
    free(b);
    json_t *j = call_ok("POST", "/api/v1/traces?wait=true", key, body, 201);
    assert_true(json_is_null(json_object_get(j, "job_id")));
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 2);
    json_t *f = json_array_get(data, 0), *p = json_array_get(data, 1);
    assert_string_equal(jstr(f, "status"), "evaluated");
    assert_string_equal(jstr(f, "verdict"), "fail");
    expect_verdict(f, "unregistered_advice", "fail");
    expect_verdict(f, "risk_disclosure", "fail");
    assert_string_equal(jstr(p, "verdict"), "pass");
    json_t *pr;
    size_t i;
    json_array_foreach(json_object_get(p, "results"), i, pr)
        assert_string_equal(jstr(pr, "verdict"), "pass");
    assert_true(json_array_size(json_object_get(p, "results")) >= 4);
    /* stored as answered */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/traces/%s", jstr(f, "id"));
    json_t *g = call_ok("GET", path, key, NULL, 200);
    assert_string_equal(jstr(g, "status"), "evaluated");
    assert_true(json_equal(json_object_get(g, "results"), json_object_get(f, "results")));
    json_decref(g);
    /* a single trace, inline */
    char *one = trading(PASSING, "");
    json_t *k = call_ok("POST", "/api/v1/traces?wait=1", key, one, 201);
    free(one);
    assert_string_equal(jstr(json_array_get(json_object_get(k, "data"), 0), "verdict"), "pass");
    json_decref(k);
    json_decref(j);
    expect_error("POST", "/api/v1/traces?wait=maybe", key,
                 "{\"domain\":\"trading\",\"output\":\"x\"}", 400, "invalid_request", "wait");
}

static void a_bad_trace_stores_nothing(void **state)
{
    (void)state;
    char key[64];
    signup(key);
    char *good = trading(PASSING, "");
    json_decref(call_ok("POST", "/api/v1/traces?wait=true", key, good, 201));
    size_t before = count_traces(key, NULL);
    assert_int_equal(before, 1);
    char body[4000];
    snprintf(body, sizeof body, "{\"traces\":[%s,%s,%s,{\"domain\":\"trading\",\"output\":42}]}",
             good, good, good);
    expect_error("POST", "/api/v1/traces", key, body, 400, "invalid_request", "traces[3].output");
    snprintf(body, sizeof body,
             "{\"traces\":[%s,{\"domain\":\"trading\",\"output\":\"x\","
             "\"latency_ms\":-1}]}",
             good);
    expect_error("POST", "/api/v1/traces?wait=true", key, body, 400, "invalid_request",
                 "traces[1].latency_ms");
    snprintf(body, sizeof body, "{\"traces\":[%s,{\"output\":\"no domain\"}]}", good);
    expect_error("POST", "/api/v1/traces", key, body, 400, "invalid_request", "traces[1].domain");
    snprintf(body, sizeof body, "{\"traces\":[%s,\"not an object\"]}", good);
    expect_error("POST", "/api/v1/traces", key, body, 400, "invalid_request", "traces[1]");
    snprintf(body, sizeof body,
             "{\"traces\":[%s,{\"domain\":\"trading\",\"output\":\"x\","
             "\"colour\":\"red\"}]}",
             good);
    expect_error("POST", "/api/v1/traces", key, body, 400, "invalid_request", "traces[1].colour");
    free(good);
    assert_int_equal(count_traces(key, NULL), before);
}

static void batch_limits_and_domains(void **state)
{
    (void)state;
    char key[64];
    signup(key);
    const char *t = "{\"domain\":\"trading\",\"output\":\"ok\"}";
    struct buf b;
    buf_init(&b, 1u << 20);
    buf_adds(&b, "{\"traces\":[");
    for (int i = 0; i < 1001; i++)
        buf_printf(&b, "%s%s", i ? "," : "", t);
    buf_adds(&b, "]}");
    expect_error("POST", "/api/v1/traces", key, buf_str(&b), 400, "invalid_request", "1000");
    /* exactly 1000 are accepted */
    buf_reset(&b);
    buf_adds(&b, "{\"traces\":[");
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%s%s", i ? "," : "", t);
    buf_adds(&b, "]}");
    json_t *j = call_ok("POST", "/api/v1/traces", key, buf_str(&b), 202);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1000);
    json_decref(j);
    buf_release(&b);
    assert_int_equal(count_traces(key, NULL), 1000);
    expect_error("POST", "/api/v1/traces", key, "{\"traces\":[]}", 400, "invalid_request",
                 "at least one");
    expect_error("POST", "/api/v1/traces", key, "{\"traces\":{}}", 400, "invalid_request", "list");
    expect_error("POST", "/api/v1/traces", key, "{\"domain\":\"cooking\",\"output\":\"x\"}", 400,
                 "invalid_request", "unknown domain \"cooking\"");
    expect_error("POST", "/api/v1/traces", key, "{\"domain\":\"cooking\",\"output\":\"x\"}", 400,
                 "invalid_request", "trading");
    expect_error("POST", "/api/v1/traces", key, "{\"output\":\"x\"}", 400, "invalid_request",
                 "domain: is required");
    expect_error("POST", "/api/v1/traces", key, "[1,2]", 400, "invalid_request", NULL);
    /* malformed JSON */
    struct resp r;
    call("POST", "/api/v1/traces", key, "{\"traces\":[{\"domain\":", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.code"), "malformed_json");
    resp_free(&r);
}

/* Seven traces of different shapes, made inline so verdicts are known. Returns their ids, oldest
 * first. */
static void seven(const char *key, char ids[7][64])
{
    static const struct {
        const char *output, *extra;
    } def[7] = {
        {FAILING, "\"tags\":[\"red\"]"},
        {PASSING, "\"tags\":[\"blue\"]"},
        {FAILING, "\"tags\":[\"red\",\"blue\"]"},
        {PASSING, ""},
        {FAILING, ""},
        {PASSING, "\"tags\":[\"red\"]"},
        {PASSING, ""},
    };
    for (int i = 0; i < 7; i++) {
        char *t = trading(def[i].output, def[i].extra);
        json_t *j = call_ok("POST", "/api/v1/traces?wait=true", key, t, 201);
        free(t);
        snprintf(ids[i], 64, "%s", jstr(json_array_get(json_object_get(j, "data"), 0), "id"));
        json_decref(j);
    }
}

static void pages_of_three_have_no_duplicates_or_gaps(void **state)
{
    (void)state;
    char key[64], ids[7][64];
    signup(key);
    seven(key, ids);
    char seen[7][64];
    int n = 0, pages = 0;
    char path[300], cursor[200] = "";
    for (;;) {
        snprintf(path, sizeof path, "/api/v1/traces?limit=3%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        json_t *j = call_ok("GET", path, key, NULL, 200);
        pages++;
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(j, "data"), i, x)
        {
            assert_true(n < 7);
            snprintf(seen[n++], 64, "%s", jstr(x, "id"));
            /* a trace appended while paging does not shift the pages */
            if (pages == 1 && i == 0) {
                char *t = trading(PASSING, "");
                json_decref(call_ok("POST", "/api/v1/traces?wait=true", key, t, 201));
                free(t);
            }
        }
        bool more = json_is_true(json_object_get(j, "has_more"));
        if (more)
            snprintf(cursor, sizeof cursor, "%s", jstr(j, "next_cursor"));
        else
            assert_true(json_is_null(json_object_get(j, "next_cursor")));
        json_decref(j);
        if (!more)
            break;
    }
    assert_int_equal(pages, 3);
    assert_int_equal(n, 7);
    for (int i = 0; i < 7; i++) /* newest first: exactly the seven, in reverse */
        assert_string_equal(seen[i], ids[6 - i]);
    /* starting_after: a trace id */
    snprintf(path, sizeof path, "/api/v1/traces?limit=2&starting_after=%s", ids[4]);
    json_t *j = call_ok("GET", path, key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 2);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "data"), 0), "id"), ids[3]);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "data"), 1), "id"), ids[2]);
    assert_true(json_is_true(json_object_get(j, "has_more")));
    json_decref(j);
    expect_error("GET", "/api/v1/traces?cursor=garbage", key, NULL, 400, "invalid_request",
                 "cursor");
    expect_error("GET", "/api/v1/traces?limit=0", key, NULL, 400, "invalid_request", "limit");
    expect_error("GET", "/api/v1/traces?limit=501", key, NULL, 400, "invalid_request", "limit");
    expect_error("GET", "/api/v1/traces?starting_after=01a202f0-1ceb-7416-a178-0b5008ebe1e9", key,
                 NULL, 400, "invalid_request", "starting_after");
}

static void filters_select_what_they_say(void **state)
{
    (void)state;
    char key[64], ids[7][64];
    signup(key);
    seven(key, ids);
    char *h = NULL;
    json_t *doc = json_pack("{s:s,s:s}", "domain", "healthcare", "output",
                            "Drink water and rest; see your doctor if it gets worse.");
    h = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    json_decref(call_ok("POST", "/api/v1/traces?wait=true", key, h, 201));
    free(h);
    assert_int_equal(count_traces(key, NULL), 8);
    assert_int_equal(count_traces(key, "&domain=trading"), 7);
    assert_int_equal(count_traces(key, "&domain=healthcare"), 1);
    assert_int_equal(count_traces(key, "&domain=legal"), 0);
    assert_true(count_traces(key, "&verdict=fail") >= 3);
    assert_int_equal(count_traces(key, "&verdict=pass&domain=trading"), 4);
    assert_int_equal(count_traces(key, "&verdict=fail&domain=trading"), 3);
    assert_int_equal(count_traces(key, "&status=evaluated"), 8);
    assert_int_equal(count_traces(key, "&status=queued"), 0);
    assert_int_equal(count_traces(key, "&constraint=risk_disclosure"), 3);
    assert_int_equal(count_traces(key, "&constraint=unregistered_advice"), 3);
    assert_int_equal(count_traces(key, "&constraint=mnpi_insider"), 0);
    assert_int_equal(count_traces(key, "&constraint=risk_disclosure&constraint_verdict=pass"), 4);
    assert_int_equal(count_traces(key, "&tag=red"), 3);
    assert_int_equal(count_traces(key, "&tag=blue"), 2);
    assert_int_equal(count_traces(key, "&tag=red&verdict=fail"), 2);
    assert_int_equal(count_traces(key, "&tag=green"), 0);
    /* times: everything is after 2000 and before 2100; nothing the other way round */
    assert_int_equal(count_traces(key, "&since=2000-01-01T00:00:00Z"), 8);
    assert_int_equal(count_traces(key, "&since=946684800&until=4102444800"), 8);
    assert_int_equal(count_traces(key, "&until=2000-01-01"), 0);
    assert_int_equal(count_traces(key, "&since=4102444800"), 0);
    expect_error("GET", "/api/v1/traces?verdict=bad", key, NULL, 400, "invalid_request", "verdict");
    expect_error("GET", "/api/v1/traces?status=done", key, NULL, 400, "invalid_request", "status");
    expect_error("GET", "/api/v1/traces?since=yesterday", key, NULL, 400, "invalid_request",
                 "since");
    expect_error("GET", "/api/v1/traces?constraint_verdict=fail", key, NULL, 400, "invalid_request",
                 "constraint");
}

static void other_organizations_traces_are_not_found(void **state)
{
    (void)state;
    char a[64], b[64];
    signup(a);
    signup(b);
    char *t = trading(FAILING, "\"external_id\":\"secret-of-a\"");
    json_t *j = call_ok("POST", "/api/v1/traces?wait=true", a, t, 201);
    free(t);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/traces/%s",
             jstr(json_array_get(json_object_get(j, "data"), 0), "id"));
    expect_error("GET", path, b, NULL, 404, "not_found", "trace");
    json_decref(call_ok("GET", path, a, NULL, 200));
    assert_int_equal(count_traces(b, NULL), 0);
    struct resp r;
    call("GET", "/api/v1/traces?verdict=fail", b, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "secret-of-a"));
    resp_free(&r);
    /* starting_after another organisation's id is not a way in */
    snprintf(path, sizeof path, "/api/v1/traces?starting_after=%s",
             jstr(json_array_get(json_object_get(j, "data"), 0), "id"));
    expect_error("GET", path, b, NULL, 400, "invalid_request", "starting_after");
    json_decref(j);
    expect_error("GET", "/api/v1/traces/not-a-uuid", a, NULL, 404, "not_found", NULL);
}

static void a_second_job_for_the_batch_adds_nothing(void **state)
{
    (void)state;
    char key[64];
    signup(key);
    char *t = trading(FAILING, "");
    json_t *j = call_ok("POST", "/api/v1/traces", key, t, 202);
    free(t);
    char id[64], path[200];
    snprintf(id, sizeof id, "%s", jstr(json_array_get(json_object_get(j, "data"), 0), "id"));
    json_t *first = wait_evaluated(key, id);
    /* what a crash between storing the outcome and completing the job would do: the job again */
    json_t *me = call_ok("GET", "/api/v1/me", key, NULL, 200);
    char payload[300], job[64];
    snprintf(payload, sizeof payload, "{\"org_id\":\"%s\",\"batch_id\":\"%s\"}",
             jstr(me, "organization.id"), jstr(j, "batch_id"));
    json_decref(me);
    srv_enqueue(&S, job, "eval.tier1", payload, NULL);
    struct jobcheck jc = {&S, job, "done"};
    if (wait_until(srv_job_in_state, &jc, 30000) < 0)
        fail_msg("the second eval.tier1 job is not done");
    snprintf(path, sizeof path, "/api/v1/traces/%s", id);
    json_t *again = call_ok("GET", path, key, NULL, 200);
    assert_true(json_equal(first, again));
    json_decref(first);
    json_decref(again);
    json_decref(j);
}

static void viewers_read_analysts_write(void **state)
{
    (void)state;
    char owner[64], viewer[64], analyst[64];
    signup(owner);
    make_key(owner, "viewer", viewer);
    make_key(owner, "analyst", analyst);
    char *t = trading(PASSING, "");
    expect_error("POST", "/api/v1/traces", viewer, t, 403, "forbidden", NULL);
    json_decref(call_ok("POST", "/api/v1/traces?wait=true", analyst, t, 201));
    free(t);
    assert_int_equal(count_traces(viewer, NULL), 1);
    expect_error("GET", "/api/v1/traces", NULL, NULL, 401, "unauthenticated", NULL);
    json_decref(call_ok("GET", "/api/v1/domains", viewer, NULL, 200));
}

static void domains_are_listed_with_their_constraints(void **state)
{
    (void)state;
    char key[64];
    signup(key);
    json_t *j = call_ok("GET", "/api/v1/domains", key, NULL, 200);
    assert_string_equal(jstr(j, "object"), "list");
    json_t *trading_d = NULL, *d;
    size_t i;
    json_array_foreach(json_object_get(j, "data"), i, d) if (!strcmp(jstr(d, "name"), "trading"))
        trading_d = d;
    assert_non_null(trading_d);
    assert_string_equal(jstr(trading_d, "version"), "1.0");
    assert_non_null(jstr(trading_d, "description"));
    bool found = false;
    json_t *c;
    json_array_foreach(json_object_get(trading_d, "constraints"), i, c)
    {
        if (!strcmp(jstr(c, "id"), "risk_disclosure")) {
            found = true;
            assert_string_equal(jstr(c, "severity"), "high");
        }
    }
    assert_true(found);
    assert_null(json_object_get(trading_d, "spec"));
    json_decref(j);
    j = call_ok("GET", "/api/v1/domains/trading", key, NULL, 200);
    assert_string_equal(jstr(j, "spec.name"), "trading");
    assert_true(json_is_array(jget(j, "spec.constraints")));
    json_decref(j);
    expect_error("GET", "/api/v1/domains/cooking", key, NULL, 404, "not_found", "domain");
}

/* An organisation's own spec: a refund promise fails it. */
#define ACME_YAML                                                                                  \
    "name: acme-support\n"                                                                         \
    "version: \"%d\"\n"                                                                            \
    "description: Customer support answers of ACME\n"                                              \
    "constraints:\n"                                                                               \
    "  - id: no_refund_promise\n"                                                                  \
    "    description: Support must not promise refunds\n"                                          \
    "    severity: %s\n"                                                                           \
    "    rules:\n"                                                                                 \
    "      - kind: keywords\n"                                                                     \
    "        field: output\n"                                                                      \
    "        any: [refund]\n"

static char *acme_body(int version, const char *severity)
{
    char yaml[1000];
    snprintf(yaml, sizeof yaml, ACME_YAML, version, severity);
    json_t *j = json_pack("{s:s}", "spec", yaml);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static void organizations_upload_their_own_specs(void **state)
{
    (void)state;
    char key[64], other[64], analyst[64];
    signup(key);
    signup(other);
    make_key(key, "analyst", analyst);
    /* a spec that does not compile: 400 naming the line and the field */
    char *bad = acme_body(1, "extreme");
    expect_error("POST", "/api/v1/domains", key, bad, 400, "invalid_request", "spec:7:");
    expect_error("POST", "/api/v1/domains", key, bad, 400, "invalid_request", "severity");
    free(bad);
    expect_error("POST", "/api/v1/domains", key, "{\"yaml\":\"x\"}", 400, "invalid_request",
                 "spec");
    char *good = acme_body(1, "high");
    expect_error("POST", "/api/v1/domains", analyst, good, 403, "forbidden", NULL);
    json_t *j = call_ok("POST", "/api/v1/domains", key, good, 201);
    free(good);
    assert_string_equal(jstr(j, "name"), "acme-support");
    assert_string_equal(jstr(j, "source"), "organization");
    assert_string_equal(jstr(j, "version"), "1");
    json_decref(j);
    good = acme_body(2, "critical"); /* saved again: replaced */
    j = call_ok("POST", "/api/v1/domains", key, good, 200);
    free(good);
    assert_string_equal(jstr(j, "version"), "2");
    json_decref(j);
    j = call_ok("GET", "/api/v1/domains/acme-support", key, NULL, 200);
    assert_string_equal(jstr(j, "spec.version"), "2");
    json_decref(j);
    expect_error("GET", "/api/v1/domains/acme-support", other, NULL, 404, "not_found", NULL);

    /* traces of the domain: inline and through the job, with the saved version */
    const char *t = "{\"domain\":\"acme-support\",\"output\":\"We will refund you today.\"}";
    j = call_ok("POST", "/api/v1/traces?wait=true", key, t, 201);
    json_t *item = json_array_get(json_object_get(j, "data"), 0);
    assert_string_equal(jstr(item, "verdict"), "fail");
    assert_string_equal(jstr(item, "spec_version"), "2");
    expect_verdict(item, "no_refund_promise", "fail");
    assert_string_equal(jstr(result_of(item, "no_refund_promise"), "severity"), "critical");
    json_decref(j);
    j = call_ok("POST", "/api/v1/traces", key, t, 202);
    json_t *tr = wait_evaluated(key, jstr(json_array_get(json_object_get(j, "data"), 0), "id"));
    assert_string_equal(jstr(tr, "status"), "evaluated");
    assert_string_equal(jstr(tr, "verdict"), "fail");
    assert_string_equal(jstr(result_of(tr, "no_refund_promise"), "description"),
                        "Support must not promise refunds");
    json_decref(tr);
    json_decref(j);
    /* another organisation has no such domain */
    expect_error("POST", "/api/v1/traces", other, t, 400, "invalid_request",
                 "unknown domain \"acme-support\"");

    /* listed with the built-ins */
    j = call_ok("GET", "/api/v1/domains", key, NULL, 200);
    bool listed = false;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "data"), i, d) listed |=
        !strcmp(jstr(d, "name"), "acme-support") && !strcmp(jstr(d, "source"), "organization");
    assert_true(listed);
    json_decref(j);

    /* deleted: its queued traces would fail; new ones are refused */
    expect_error("DELETE", "/api/v1/domains/acme-support", analyst, NULL, 403, "forbidden", NULL);
    struct resp r;
    call("DELETE", "/api/v1/domains/acme-support", key, NULL, &r);
    assert_int_equal(r.status, 204);
    resp_free(&r);
    expect_error("DELETE", "/api/v1/domains/acme-support", key, NULL, 404, "not_found", NULL);
    expect_error("DELETE", "/api/v1/domains/trading", key, NULL, 404, "not_found", NULL);
    expect_error("POST", "/api/v1/traces", key, t, 400, "invalid_request", "unknown domain");
}

static void an_organization_spec_shadows_the_built_in(void **state)
{
    (void)state;
    char key[64], other[64];
    signup(key);
    signup(other);
    const char *spec = "{\"spec\":{\"name\":\"trading\",\"version\":\"house-1\","
                       "\"description\":\"Our own trading rules\",\"constraints\":[{\"id\":"
                       "\"no_apple\",\"description\":\"Never mention Apple\",\"severity\":"
                       "\"medium\",\"rules\":[{\"kind\":\"keywords\",\"field\":\"output\","
                       "\"any\":[\"Apple\"]}]}]}}";
    json_decref(call_ok("POST", "/api/v1/domains", key, spec, 201));
    char *t = trading(PASSING, "");
    json_t *mine = call_ok("POST", "/api/v1/traces?wait=true", key, t, 201);
    json_t *theirs = call_ok("POST", "/api/v1/traces?wait=true", other, t, 201);
    free(t);
    json_t *m = json_array_get(json_object_get(mine, "data"), 0);
    json_t *o = json_array_get(json_object_get(theirs, "data"), 0);
    assert_string_equal(jstr(m, "spec_version"), "house-1");
    assert_string_equal(jstr(m, "verdict"), "fail");
    assert_int_equal(json_array_size(json_object_get(m, "results")), 1);
    assert_string_equal(jstr(o, "spec_version"), "1.0");
    assert_string_equal(jstr(o, "verdict"), "pass");
    json_decref(mine);
    json_decref(theirs);
    json_t *d = call_ok("GET", "/api/v1/domains/trading", key, NULL, 200);
    assert_string_equal(jstr(d, "source"), "organization");
    json_decref(d);
    d = call_ok("GET", "/api/v1/domains/trading", other, NULL, 200);
    assert_string_equal(jstr(d, "source"), "builtin");
    json_decref(d);
    struct resp r;
    call("DELETE", "/api/v1/domains/trading", key, NULL, &r);
    assert_int_equal(r.status, 204);
    resp_free(&r);
    d = call_ok("GET", "/api/v1/domains/trading", key, NULL, 200);
    assert_string_equal(jstr(d, "source"), "builtin");
    json_decref(d);
}

/* Runs sql on the database of the server requests go to (settings that have no API yet, and
 * states the tests cannot otherwise reach). */
static void db_write(const char *sql)
{
    char path[600], url[700], err[200];
    srv_path(cur, "aegis.db", path, sizeof path);
    snprintf(url, sizeof url, "sqlite://%s", path);
    struct db *db = NULL;
    if (db_open(url, &db, err, sizeof err))
        fail_msg("db_open: %s", err);
    if (db_exec(db, sql))
        fail_msg("%s: %s", sql, db_errmsg(db));
    db_close(db);
}

/* A trace whose job is dead (here: no workers, and the job marked dead as the queue would after
 * its last attempt) reads as failed with the job's error instead of queued for ever. */
static void a_dead_job_fails_its_traces(void **state)
{
    (void)state;
    own_init((const char *[]){FAST_ARGON2, "AEGIS_JOB_WORKERS=0", NULL});
    cur = &srv_own;
    char key[64];
    signup(key);
    char *t = trading(PASSING, "");
    json_t *j = call_ok("POST", "/api/v1/traces", key, t, 202);
    free(t);
    char sql[300], path[200];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET state = 'dead', attempts = 5, last_error = 'disk on fire' WHERE id = "
             "'%s'",
             jstr(j, "job_id"));
    snprintf(path, sizeof path, "/api/v1/traces/%s",
             jstr(json_array_get(json_object_get(j, "data"), 0), "id"));
    json_t *before = call_ok("GET", "/api/v1/traces?status=queued", key, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(before, "data")), 1);
    json_decref(before);
    db_write(sql);
    json_t *tr = call_ok("GET", path, key, NULL, 200);
    assert_string_equal(jstr(tr, "status"), "failed");
    assert_non_null(strstr(jstr(tr, "error"), "disk on fire"));
    assert_true(json_is_null(json_object_get(tr, "verdict")));
    json_decref(tr);
    assert_int_equal(count_traces(key, "&status=failed"), 1);
    json_decref(j);
}

/* An organisation that stores traces only anonymised: until the anonymiser is wired, its traces
 * are refused and no raw text reaches the database. The setting has no API yet: written directly.
 */
static void anonymized_storage_fails_closed(void **state)
{
    (void)state;
    char key[64], sql[300];
    signup(key);
    json_t *me = call_ok("GET", "/api/v1/me", key, NULL, 200);
    snprintf(sql, sizeof sql,
             "INSERT INTO org_eval_settings (org_id, store_anonymized, updated_at) VALUES ('%s', "
             "1, 0)",
             jstr(me, "organization.id"));
    json_decref(me);
    db_write(sql);
    char *t = trading("Patient John Smith, SSN 123-45-6789, should buy Apple.", "");
    expect_error("POST", "/api/v1/traces", key, t, 503, "unavailable", "anonymized");
    expect_error("POST", "/api/v1/traces?wait=true", key, t, 503, "unavailable",
                 "nothing was stored");
    free(t);
    assert_int_equal(count_traces(key, NULL), 0);
}

static int own_server_teardown(void **state)
{
    cur = &S;
    return own_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_trace_is_queued_then_evaluated_by_the_job),
        cmocka_unit_test(batch_is_queued_and_every_trace_evaluated),
        cmocka_unit_test(wait_true_answers_201_with_verdicts),
        cmocka_unit_test(a_bad_trace_stores_nothing),
        cmocka_unit_test(batch_limits_and_domains),
        cmocka_unit_test(pages_of_three_have_no_duplicates_or_gaps),
        cmocka_unit_test(filters_select_what_they_say),
        cmocka_unit_test(other_organizations_traces_are_not_found),
        cmocka_unit_test(a_second_job_for_the_batch_adds_nothing),
        cmocka_unit_test(viewers_read_analysts_write),
        cmocka_unit_test(domains_are_listed_with_their_constraints),
        cmocka_unit_test(organizations_upload_their_own_specs),
        cmocka_unit_test(an_organization_spec_shadows_the_built_in),
        cmocka_unit_test(anonymized_storage_fails_closed),
        cmocka_unit_test_teardown(a_dead_job_fails_its_traces, own_server_teardown),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + srv_exit_failures;
}

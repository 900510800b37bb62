/* Tests src/http/router.c: matching, parameters, 405 with Allow, HEAD, and route_table_check. */
#include "../unit.h"

#include "api/api.h"
#include "core/cfg.h"
#include "core/err.h"
#include "http/http.h"

static int h(struct http_req *r)
{
    return AEG_OK;
}

#define R(m, p)                                                                                    \
    {                                                                                              \
        .method = (m), .pattern = (p), .handler = h                                                \
    }

static const struct route table[] = {
    R("GET", "/"),                                 /* 0 */
    R("GET", "/healthz"),                          /* 1 */
    R("GET", "/api/v1/jobs"),                      /* 2 */
    R("POST", "/api/v1/jobs"),                     /* 3 */
    R("GET", "/api/v1/jobs/{id}"),                 /* 4 */
    R("DELETE", "/api/v1/jobs/{id}"),              /* 5 */
    R("GET", "/api/v1/orgs/{org}/members/{user}"), /* 6 */
    R("PUT", "/api/v1/items/{id}"),                /* 7 */
    R("GET", "/files/special"),                    /* 8 */
    R("GET", "/files/{name}"),                     /* 9 */
    R("POST", "/files/special"),                   /* 10 */
    R("PATCH", "/api/v1/jobs/{id}/cancel"),        /* 11 */
};
#define NT (sizeof table / sizeof table[0])

static int find(const char *method, const char *path, struct route_match *m)
{
    return route_find(table, NT, method, path, m);
}

static void expect_route(const char *method, const char *path, int want)
{
    struct route_match m;
    int got = find(method, path, &m);
    if (got != want)
        fail_msg("%s %s -> %d, want %d", method, path, got, want);
    route_match_release(&m);
}

static void expect_param(const struct route_match *m, int i, const char *name, const char *value)
{
    assert_true(i < m->nparams);
    if (m->name_len[i] != strlen(name) || strncmp(m->names[i], name, m->name_len[i]) != 0)
        fail_msg("parameter %d is named %.*s, want %s", i, (int)m->name_len[i], m->names[i], name);
    assert_string_equal(m->values[i], value);
}

static void test_literal_matches(void **state)
{
    struct route_match m;
    assert_int_equal(find("GET", "/healthz", &m), 1);
    assert_int_equal(m.nparams, 0);
    route_match_release(&m);
    expect_route("GET", "/", 0);
    expect_route("GET", "/api/v1/jobs", 2);
    expect_route("POST", "/api/v1/jobs", 3);
    expect_route("GET", "/files/special", 8); /* table order: the literal comes first */
    expect_route("POST", "/files/special", 10);
}

static void test_parameters(void **state)
{
    struct route_match m;
    assert_int_equal(find("GET", "/api/v1/jobs/0189-abc", &m), 4);
    assert_int_equal(m.nparams, 1);
    expect_param(&m, 0, "id", "0189-abc");
    route_match_release(&m);
    assert_int_equal(m.nparams, 0);

    assert_int_equal(find("DELETE", "/api/v1/jobs/x", &m), 5);
    expect_param(&m, 0, "id", "x");
    route_match_release(&m);

    assert_int_equal(find("GET", "/api/v1/orgs/acme/members/u%20x", &m), 6);
    assert_int_equal(m.nparams, 2);
    expect_param(&m, 0, "org", "acme");
    expect_param(&m, 1, "user", "u%20x"); /* values are raw segments */
    route_match_release(&m);

    assert_int_equal(find("GET", "/files/report.pdf", &m), 9);
    expect_param(&m, 0, "name", "report.pdf");
    route_match_release(&m);

    assert_int_equal(find("PATCH", "/api/v1/jobs/j1/cancel", &m), 11);
    expect_param(&m, 0, "id", "j1");
    route_match_release(&m);
}

static void test_no_match(void **state)
{
    const char *paths[] = {
        "/healthz/",     /* trailing slash is another path */
        "/api/v1/jobs/", /* and a parameter never matches an empty segment */
        "/api/v1/jobs/x/",
        "/api/v1/jobs/x/y",
        "/api/v1/job",
        "/api/v1",
        "/HEALTHZ",
        "/healthzz",
        "/api//v1/jobs",
        "//",
        "",
        "healthz",
        "/api/v1/orgs/a/members",
        "/api/v1/orgs//members/u",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct route_match m;
        int rc = find("GET", paths[i], &m);
        if (rc != ROUTE_NO_MATCH)
            fail_msg("GET \"%s\" -> %d, want no match", paths[i], rc);
        assert_int_equal(m.nparams, 0);
        route_match_release(&m);
    }
}

static void expect_405(const char *method, const char *path, const char *allow)
{
    struct route_match m;
    int rc = find(method, path, &m);
    if (rc != ROUTE_BAD_METHOD)
        fail_msg("%s %s -> %d, want 405", method, path, rc);
    assert_int_equal(m.nparams, 0);
    if (strcmp(m.allow, allow) != 0)
        fail_msg("%s %s: Allow \"%s\", want \"%s\"", method, path, m.allow, allow);
    route_match_release(&m);
}

static void test_method_not_allowed(void **state)
{
    expect_405("PATCH", "/api/v1/jobs/abc", "GET, HEAD, DELETE, OPTIONS");
    expect_405("DELETE", "/api/v1/jobs", "GET, HEAD, POST, OPTIONS");
    expect_405("POST", "/healthz", "GET, HEAD, OPTIONS");
    expect_405("GET", "/api/v1/items/1", "PUT, OPTIONS"); /* no GET route: no HEAD either */
    expect_405("HEAD", "/api/v1/items/1", "PUT, OPTIONS");
    expect_405("get", "/healthz", "GET, HEAD, OPTIONS"); /* methods are case-sensitive */
    /* two GET routes match /files/special: GET and HEAD listed once */
    expect_405("DELETE", "/files/special", "GET, HEAD, POST, OPTIONS");
    expect_405("OPTIONS", "/api/v1/jobs/abc/cancel", "PATCH, OPTIONS");
}

static void test_head_matches_get(void **state)
{
    struct route_match m;
    assert_int_equal(find("HEAD", "/healthz", &m), 1);
    route_match_release(&m);
    assert_int_equal(find("HEAD", "/api/v1/jobs/j9", &m), 4);
    expect_param(&m, 0, "id", "j9");
    route_match_release(&m);
    assert_int_equal(find("HEAD", "/api/v1/jobs", &m), 2); /* the GET route, not POST */
    route_match_release(&m);
    expect_route("HEAD", "/nothing/here", ROUTE_NO_MATCH);
}

static void test_too_many_params_do_not_overflow(void **state)
{
    static const struct route deep[] = {
        R("GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}"),
    };
    struct route_match m;
    int rc = route_find(deep, 1, "GET", "/1/2/3/4/5/6/7/8/9/10", &m);
    assert_int_equal(rc, 0);
    assert_true(m.nparams <= ROUTE_MAX_PARAMS);
    expect_param(&m, 0, "a", "1");
    route_match_release(&m);
    char err[256];
    assert_int_equal(route_table_check(deep, 1, err, sizeof err), AEG_EINVAL);
    assert_non_null(strstr(err, "too many"));
}

static void expect_bad_table(const struct route *t, size_t n, const char *fragment)
{
    char err[256] = "";
    int rc = route_table_check(t, n, err, sizeof err);
    if (rc != AEG_EINVAL)
        fail_msg("table with %s %s accepted", t[n - 1].method, t[n - 1].pattern);
    if (!strstr(err, fragment))
        fail_msg("error \"%s\" does not contain \"%s\"", err, fragment);
}

static void test_table_check(void **state)
{
    char err[256] = "";
    assert_int_equal(route_table_check(table, NT, err, sizeof err), AEG_OK);
    assert_int_equal(route_table_check(table, 0, err, sizeof err), AEG_OK);

    static const struct route dup[] = {R("GET", "/a/{id}"), R("POST", "/a/{id}"),
                                       R("GET", "/a/{id}")};
    expect_bad_table(dup, 3, "listed twice");
    expect_bad_table(dup, 3, "/a/{id}");

    struct {
        struct route r;
        const char *fragment;
    } bad[] = {
        {R("GET", ""), "bad method, handler or pattern"},
        {R("GET", "nope"), "bad method, handler or pattern"},
        {R("GET", "/a//b"), "malformed"},
        {R("GET", "/a/"), "malformed"},
        {R("GET", "/a/{id"), "malformed"},
        {R("GET", "/a/x{id}"), "malformed"},
        {R("GET", "/a/{id}x"), "malformed"},
        {R("GET", "/a/{}"), "malformed"},
        {R("FETCH", "/a"), "bad method"},
        {R("get", "/a"), "bad method"},
        {R("HEAD", "/a"), "bad method"}, /* HEAD is answered by GET routes */
        {{.method = "GET", .pattern = "/a", .handler = NULL}, "handler"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct route t[2] = {R("GET", "/ok"), bad[i].r};
        expect_bad_table(t, 2, bad[i].fragment);
    }
}

static void test_real_table(void **state)
{
    size_t n = 0;
    const struct route *all = api_all_routes(&n);
    assert_true(n > 0);
    char err[256] = "";
    if (route_table_check(all, n, err, sizeof err) != AEG_OK)
        fail_msg("api_all_routes: %s", err);

    /* every route is found by its own pattern (parameters filled with a sample value) */
    for (size_t i = 0; i < n; i++) {
        char path[256];
        size_t o = 0;
        for (const char *p = all[i].pattern; *p && o + 8 < sizeof path;) {
            if (*p == '{') {
                o += (size_t)snprintf(path + o, sizeof path - o, "v1");
                p = strchr(p, '}') + 1;
            } else {
                path[o++] = *p++;
            }
        }
        path[o] = '\0';
        struct route_match m;
        int rc = route_find(all, n, all[i].method, path, &m);
        if (rc < 0 || strcmp(all[rc].pattern, all[i].pattern) != 0 ||
            strcmp(all[rc].method, all[i].method) != 0)
            fail_msg("%s %s (as %s) -> %d", all[i].method, all[i].pattern, path, rc);
        route_match_release(&m);
    }

    struct route_match m;
    assert_true(route_find(all, n, "GET", "/healthz", &m) >= 0);
    route_match_release(&m);
    assert_int_equal(route_find(all, n, "POST", "/healthz", &m), ROUTE_BAD_METHOD);
    assert_string_equal(m.allow, "GET, HEAD, OPTIONS");
    route_match_release(&m);
    assert_int_equal(route_find(all, n, "GET", "/no/such/route", &m), ROUTE_NO_MATCH);
    route_match_release(&m);

    /* the mounted tables pass too */
    for (int diag = 0; diag < 2; diag++) {
        struct cfg c;
        memset(&c, 0, sizeof c);
        c.diag_routes = diag;
        size_t k = 0;
        struct route *mounted = api_routes(&c, &k);
        assert_int_equal(route_table_check(mounted, k, err, sizeof err), AEG_OK);
        free(mounted);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_matches),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_head_matches_get),
        cmocka_unit_test(test_too_many_params_do_not_overflow),
        cmocka_unit_test(test_table_check),
        cmocka_unit_test(test_real_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

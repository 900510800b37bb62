/*
 * API tests of the ops endpoints against the real server: /healthz, /readyz (200, and 503 until
 * `aegis migrate` runs), /metrics, /openapi.json against the route table, /docs, and the production
 * refusals of insecure configuration.
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

static void healthz_and_readyz(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, NULL);
    assert_int_equal(srv_start(&s, NULL), 0);
    struct resp r;
    assert_int_equal(req(&s, "GET", "/healthz", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    resp_free(&r);
    assert_int_equal(req(&s, "GET", "/readyz", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ready");
    json_t *m = json_object_get(r.json, "migrations");
    assert_int_equal(json_integer_value(json_object_get(m, "pending")), 0);
    assert_true(json_integer_value(json_object_get(m, "current")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(m, "current")),
                     json_integer_value(json_object_get(m, "latest")));
    resp_free(&r);
    assert_int_equal(srv_stop(&s, 15), 0);
    srv_cleanup(&s);
}

static void readyz_is_503_until_migrated(void **state)
{
    (void)state;
    struct srv s;
    const char *env[] = {"AEGIS_MIGRATE_ON_START=false", "AEGIS_JOB_WORKERS=0", NULL};
    srv_init(&s, env);
    assert_int_equal(srv_start(&s, NULL), 0);
    struct resp r;
    assert_int_equal(req(&s, "GET", "/healthz", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200); /* alive, just not ready */
    resp_free(&r);
    assert_int_equal(req(&s, "GET", "/readyz", NULL, NULL, &r), 0);
    assert_error(&r, 503, "unavailable");
    const char *msg = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
    assert_non_null(strstr(msg, "pending"));
    assert_non_null(strstr(msg, "aegis migrate"));
    resp_free(&r);

    char *out = NULL;
    assert_int_equal(srv_cli(&s, &out, NULL, "migrate", "--status", NULL), 0);
    assert_non_null(strstr(out, "pending"));
    free(out);
    assert_int_equal(srv_cli(&s, &out, NULL, "migrate", NULL), 0);
    assert_non_null(strstr(out, "applied"));
    free(out);
    /* the running server sees the migrated schema without a restart */
    assert_int_equal(req(&s, "GET", "/readyz", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* migrating again applies nothing */
    assert_int_equal(srv_cli(&s, &out, NULL, "migrate", NULL), 0);
    assert_non_null(strstr(out, "applied 0"));
    free(out);
    assert_int_equal(srv_stop(&s, 15), 0);
    srv_cleanup(&s);
}

/* The value of a metric line that starts with `prefix`, or -1. */
static long metric(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    if (!p)
        return -1;
    p += strlen(prefix);
    while (*p == ' ')
        p++;
    return strtol(p, NULL, 10);
}

static void metrics_count_requests_and_jobs(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, NULL);
    assert_int_equal(srv_start(&s, NULL), 0);
    struct resp r;
    for (int i = 0; i < 7; i++) {
        assert_int_equal(req(&s, "GET", "/readyz", NULL, NULL, &r), 0);
        resp_free(&r);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(req(&s, "GET", "/nothing-here", NULL, NULL, &r), 0);
        resp_free(&r);
    }
    char *id = NULL;
    assert_int_equal(srv_cli(&s, &id, NULL, "jobs", "enqueue", "diag.sleep", "{\"ms\":0}", NULL), 0);
    free(id);
    sleep_ms(500);
    assert_int_equal(req(&s, "GET", "/metrics", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    char ct[100];
    assert_true(resp_header(&r, "Content-Type", ct, sizeof ct));
    assert_non_null(strstr(ct, "text/plain"));
    assert_int_equal(metric(r.body, "aegis_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"}"), 7);
    assert_int_equal(metric(r.body, "aegis_http_requests_total{route=\"unmatched\",method=\"\",status=\"404\"}"), 3);
    assert_int_equal(metric(r.body, "aegis_http_request_duration_seconds_count{route=\"/readyz\",method=\"GET\"}"), 7);
    assert_int_equal(metric(r.body, "aegis_http_request_duration_seconds_bucket{route=\"/readyz\",method=\"GET\",le=\"+Inf\"}"), 7);
    assert_int_equal(metric(r.body, "aegis_jobs{state=\"done\"}"), 1);
    assert_int_equal(metric(r.body, "aegis_jobs{state=\"queued\"}"), 0);
    assert_non_null(strstr(r.body, "aegis_build_info{version=\""));
    assert_non_null(strstr(r.body, "# TYPE aegis_http_request_duration_seconds histogram"));
    resp_free(&r);
    assert_int_equal(srv_stop(&s, 15), 0);
    srv_cleanup(&s);
}

/* Replaces {param} segments with a value so the path can be requested. */
static void fill_params(const char *pattern, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 8 < outlen; p++) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            o += (size_t)snprintf(out + o, outlen - o, "x");
            p = e ? e : p;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static void openapi_matches_route_table(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, NULL);
    assert_int_equal(srv_start(&s, NULL), 0);
    struct resp r;
    assert_int_equal(req(&s, "GET", "/openapi.json", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    json_t *paths = json_object_get(r.json, "paths");
    assert_true(json_is_object(paths));

    /* the route table as the binary mounts it, from the CLI */
    char *out = NULL;
    assert_int_equal(srv_cli(&s, &out, NULL, "routes", "--json", NULL), 0);
    json_t *routes = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_is_array(routes));
    assert_true(json_array_size(routes) >= 6);

    size_t documented_routes = 0, i;
    json_t *rt;
    json_array_foreach(routes, i, rt) {
        const char *method = json_string_value(json_object_get(rt, "method"));
        const char *pattern = json_string_value(json_object_get(rt, "pattern"));
        bool hidden = false;
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(rt, "flags"), k, f) hidden |= !strcmp(json_string_value(f), "hidden");
        char lower[16];
        size_t n = 0;
        for (; method[n] && n < 15; n++)
            lower[n] = (char)(method[n] | 0x20);
        lower[n] = '\0';
        json_t *op = json_object_get(json_object_get(paths, pattern), lower);
        if (hidden) {
            assert_null(op);
            continue;
        }
        if (!op)
            fail_msg("route %s %s is missing from /openapi.json", method, pattern);
        assert_true(json_is_object(json_object_get(op, "responses")));
        documented_routes++;
    }
    /* and nothing documented that the table does not have */
    size_t documented_ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op) {
            documented_ops++;
            bool found = false;
            json_array_foreach(routes, i, rt) {
                const char *rm = json_string_value(json_object_get(rt, "method"));
                char lower[16];
                size_t n = 0;
                for (; rm[n] && n < 15; n++)
                    lower[n] = (char)(rm[n] | 0x20);
                lower[n] = '\0';
                found |= !strcmp(json_string_value(json_object_get(rt, "pattern")), path) &&
                         !strcmp(lower, m);
            }
            if (!found)
                fail_msg("/openapi.json documents %s %s, which the route table lacks", m, path);
            /* and the server really answers it: neither 404-no-route nor 405 */
            char url[300], upper[16];
            fill_params(path, url, sizeof url);
            size_t n = 0;
            for (; m[n] && n < 15; n++)
                upper[n] = (char)(m[n] & ~0x20);
            upper[n] = '\0';
            struct resp probe;
            assert_int_equal(req(&s, upper, url, (const char *const[]){"Content-Type: application/json", NULL},
                                 json_object_get(op, "requestBody") ? "{}" : NULL, &probe),
                             0);
            assert_true(probe.status != 405);
            if (probe.status == 404) {
                const char *code = json_string_value(
                    json_object_get(json_object_get(probe.json, "error"), "code"));
                assert_true(code == NULL || strcmp(code, "route_not_found") != 0);
            }
            resp_free(&probe);
        }
    }
    assert_int_equal(documented_ops, documented_routes);
    json_decref(routes);
    resp_free(&r);
    assert_int_equal(srv_stop(&s, 15), 0);
    srv_cleanup(&s);
}

static void docs_page_is_served_locally(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, NULL);
    assert_int_equal(srv_start(&s, NULL), 0);
    struct resp r;
    char ct[100];
    assert_int_equal(req(&s, "GET", "/docs", NULL, NULL, &r), 0);
    if (r.status == 503)
        fail_msg("web/node_modules/swagger-ui-dist is missing: run scripts/install-deps.sh (%s)", r.body);
    assert_int_equal(r.status, 200);
    assert_true(resp_header(&r, "Content-Type", ct, sizeof ct));
    assert_non_null(strstr(ct, "text/html"));
    assert_non_null(strstr(r.body, "/docs/swagger-ui-bundle.js"));
    assert_null(strstr(r.body, "https://")); /* no CDN */
    resp_free(&r);
    const char *assets[] = {"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/aegis-docs.js"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(req(&s, "GET", assets[i], NULL, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_true(r.len > 100);
        resp_free(&r);
    }
    const char *bad[] = {"/docs/..%2F..%2Fpackage.json", "/docs/.hidden.js", "/docs/package.json",
                         "/docs/nope.js", "/docs/index.html%00.js"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(req(&s, "GET", bad[i], NULL, NULL, &r), 0);
        assert_int_equal(r.status, 404);
        resp_free(&r);
    }
    assert_int_equal(srv_stop(&s, 15), 0);
    srv_cleanup(&s);
}

static void production_refuses_insecure_settings(void **state)
{
    (void)state;
    struct srv s;
    const char *env[] = {"AEGIS_ENV=production", "AEGIS_CORS_ORIGINS=*", "AEGIS_HOST=0.0.0.0",
                         "STRIPE_SECRET_KEY=sk_live_abcdefghijklmnopqrstuvwxyz", NULL};
    srv_init(&s, env);
    char *out = NULL, *err = NULL;
    assert_int_not_equal(srv_cli(&s, &out, &err, "config", "check", NULL), 0);
    assert_non_null(strstr(err, "AEGIS_KEY_PEPPER"));
    assert_non_null(strstr(err, "AEGIS_CORS_ORIGINS"));
    assert_non_null(strstr(err, "AEGIS_HOST"));
    assert_non_null(strstr(err, "STRIPE_WEBHOOK_SECRET"));
    /* the secret itself is masked in the printed configuration */
    assert_null(strstr(out, "sk_live_abcdefghijklmnopqrstuvwxyz"));
    assert_non_null(strstr(out, "STRIPE_SECRET_KEY=sk_l****"));
    free(out);
    free(err);
    int status = 0;
    assert_int_equal(srv_start(&s, &status), -1);
    assert_int_equal(status, 2);
    char *log = srv_read(&s, "app.1.log");
    assert_non_null(strstr(log, "AEGIS_KEY_PEPPER"));
    free(log);

    /* with secure settings production starts, and diagnostic routes are not mounted */
    srv_setenv(&s, "AEGIS_CORS_ORIGINS=https://app.example.com");
    srv_setenv(&s, "AEGIS_HOST=127.0.0.1");
    srv_setenv(&s, "AEGIS_KEY_PEPPER=0123456789abcdef0123456789abcdef-pepper");
    srv_setenv(&s, "STRIPE_WEBHOOK_SECRET=whsec_0123456789abcdef");
    assert_int_equal(srv_cli(&s, NULL, NULL, "config", "check", NULL), 0);
    assert_int_equal(srv_start(&s, NULL), 0);
    struct resp r;
    assert_int_equal(req(&s, "POST", "/api/v1/diag/echo", (const char *const[]){"Content-Type: application/json", NULL},
                         "{}", &r),
                     0);
    assert_error(&r, 404, "route_not_found");
    resp_free(&r);
    assert_int_equal(srv_stop(&s, 15), 0);
    srv_cleanup(&s);
}

static void cli_reports_bad_input(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, (const char *const[]){"AEGIS_PORT=notaport", NULL});
    char *err = NULL;
    assert_int_equal(srv_cli(&s, NULL, &err, "config", "check", NULL), 2);
    assert_non_null(strstr(err, "AEGIS_PORT"));
    free(err);
    srv_setenv(&s, "AEGIS_PORT=8080");
    assert_int_equal(srv_cli(&s, NULL, &err, "no-such-command", NULL), 2);
    assert_non_null(strstr(err, "unknown command"));
    free(err);
    assert_int_equal(srv_cli(&s, NULL, &err, "jobs", "enqueue", "diag.sleep", "{not json", NULL), 2);
    assert_non_null(strstr(err, "JSON"));
    free(err);
    /* operator commands on a database nobody migrated say what to do */
    assert_int_equal(srv_cli(&s, NULL, &err, "jobs", "list", NULL), 1);
    assert_non_null(strstr(err, "aegis migrate"));
    free(err);
    assert_int_equal(srv_cli(&s, NULL, NULL, "migrate", NULL), 0);
    assert_int_equal(srv_cli(&s, NULL, &err, "jobs", "show", "01234567-89ab-7def-8123-456789abcdef", NULL), 1);
    assert_non_null(strstr(err, "no such job"));
    free(err);
    srv_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthz_and_readyz),
        cmocka_unit_test(readyz_is_503_until_migrated),
        cmocka_unit_test(metrics_count_requests_and_jobs),
        cmocka_unit_test(openapi_matches_route_table),
        cmocka_unit_test(docs_page_is_served_locally),
        cmocka_unit_test(production_refuses_insecure_settings),
        cmocka_unit_test(cli_reports_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * API tests of the HTTP error model against the real server: 404, 405 with Allow, 413 before the body
 * is read, 413 for an over-long chunked body, 415, 400 with the JSON position, request ids, CORS,
 * slow clients, HEAD, and the access log.
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static struct srv S;
static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};

static int setup(void **state)
{
    (void)state;
    const char *env[] = {"AEGIS_BODY_LIMIT=4KiB", "AEGIS_CORS_ORIGINS=https://app.example.com",
                         "AEGIS_REQUEST_TIMEOUT=2", "AEGIS_CONN_TIMEOUT=2", NULL};
    srv_init(&S, env);
    return srv_start(&S, NULL);
}

static int teardown(void **state)
{
    (void)state;
    srv_stop_group(&S);
    srv_cleanup(&S);
    return 0;
}

static void not_found_is_json(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(req(&S, "GET", "/no/such/route", NULL, NULL, &r), 0);
    assert_error(&r, 404, "route_not_found");
    char ct[100];
    assert_true(resp_header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/json");
    resp_free(&r);
    /* a trailing slash is another path */
    assert_int_equal(req(&S, "GET", "/healthz/", NULL, NULL, &r), 0);
    assert_error(&r, 404, "route_not_found");
    resp_free(&r);
}

static void wrong_method_is_405_with_allow(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(req(&S, "DELETE", "/healthz", NULL, NULL, &r), 0);
    assert_error(&r, 405, "method_not_allowed");
    char allow[100];
    assert_true(resp_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "GET, HEAD, OPTIONS");
    resp_free(&r);
    assert_int_equal(req(&S, "GET", "/api/v1/diag/echo", NULL, NULL, &r), 0);
    assert_error(&r, 405, "method_not_allowed");
    assert_true(resp_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "POST, OPTIONS");
    resp_free(&r);
}

static void head_answers_without_body(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(req(&S, "HEAD", "/healthz", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    resp_free(&r);
}

static void json_echo_round_trip(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(req(&S, "POST", "/api/v1/diag/echo",
                         (const char *const[]){"Content-Type: application/json; charset=utf-8", NULL},
                         "{\"a\":[1,2,{\"b\":\"\\u00e9\"}]}", &r),
                     0);
    assert_int_equal(r.status, 200);
    json_t *got = json_object_get(r.json, "received");
    json_t *want = json_loads("{\"a\":[1,2,{\"b\":\"\\u00e9\"}]}", 0, NULL);
    assert_true(json_equal(got, want));
    json_decref(want);
    resp_free(&r);
}

static void non_json_body_is_415(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(req(&S, "POST", "/api/v1/diag/echo",
                         (const char *const[]){"Content-Type: text/plain", NULL}, "{\"a\":1}", &r),
                     0);
    assert_error(&r, 415, "unsupported_media_type");
    resp_free(&r);
    /* no Content-Type at all */
    assert_int_equal(req(&S, "POST", "/api/v1/diag/echo",
                         (const char *const[]){"Content-Type:", NULL}, "{\"a\":1}", &r),
                     0);
    assert_error(&r, 415, "unsupported_media_type");
    resp_free(&r);
}

static void malformed_json_is_400_with_position(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(req(&S, "POST", "/api/v1/diag/echo", JSON_CT, "{\"a\": 1,\n \"b\": }", &r), 0);
    assert_error(&r, 400, "malformed_json");
    const char *msg = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
    assert_non_null(strstr(msg, "line 2"));
    assert_non_null(strstr(msg, "column"));
    assert_non_null(strstr(msg, "byte"));
    resp_free(&r);
    /* empty body, duplicate keys, trailing garbage */
    const char *bad[] = {"", "{\"a\":1,\"a\":2}", "{} {}", "[1,2", "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(req(&S, "POST", "/api/v1/diag/echo", JSON_CT, bad[i], &r), 0);
        assert_error(&r, 400, "malformed_json");
        resp_free(&r);
    }
}

static void deep_nesting_is_rejected_not_a_crash(void **state)
{
    (void)state;
    char body[4001];
    memset(body, '[', 4000);
    body[4000] = '\0';
    struct resp r;
    assert_int_equal(req(&S, "POST", "/api/v1/diag/echo", JSON_CT, body, &r), 0);
    assert_error(&r, 400, "malformed_json");
    resp_free(&r);
    assert_int_equal(req(&S, "GET", "/healthz", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void oversized_content_length_is_413_before_reading(void **state)
{
    (void)state;
    int fd = raw_connect(&S);
    assert_true(fd >= 0);
    /* Announce 100 MB and send none of it: the answer must come anyway, at once. */
    assert_int_equal(raw_send(fd, "POST /api/v1/diag/echo HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Type: application/json\r\n"
                                  "Content-Length: 104857600\r\n\r\n"),
                     0);
    char *out = NULL;
    raw_recv_all(fd, 1500, &out);
    close(fd);
    assert_non_null(strstr(out, "HTTP/1.1 413"));
    assert_non_null(strstr(out, "\"code\":\"body_too_large\""));
    assert_non_null(strstr(out, "4096 bytes"));
    free(out);
}

static void oversized_chunked_body_is_413(void **state)
{
    (void)state;
    int fd = raw_connect(&S);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, "POST /api/v1/diag/echo HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Type: application/json\r\nConnection: close\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n"),
                     0);
    char chunk[1100];
    for (int i = 0; i < 6; i++) { /* 6 x 1000 bytes > 4 KiB */
        int n = snprintf(chunk, sizeof chunk, "3e8\r\n");
        memset(chunk + n, ' ', 1000);
        memcpy(chunk + n + 1000, "\r\n", 3);
        assert_int_equal(raw_send(fd, chunk), 0);
    }
    assert_int_equal(raw_send(fd, "0\r\n\r\n"), 0);
    char *out = NULL;
    raw_recv_all(fd, 3000, &out);
    close(fd);
    assert_non_null(strstr(out, "HTTP/1.1 413"));
    free(out);
}

static void body_at_the_limit_is_accepted(void **state)
{
    (void)state;
    char body[4097];
    memset(body, ' ', sizeof body - 1);
    body[0] = '{';
    body[4094] = '}';
    body[4095] = ' ';
    body[4096] = '\0';
    struct resp r;
    assert_int_equal(req(&S, "POST", "/api/v1/diag/echo", JSON_CT, body, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void request_ids_are_echoed_or_generated(void **state)
{
    (void)state;
    struct resp r;
    char rid[200];
    assert_int_equal(req(&S, "GET", "/healthz", (const char *const[]){"X-Request-Id: trace-42.a:b_c", NULL},
                         NULL, &r),
                     0);
    assert_true(resp_header(&r, "X-Request-Id", rid, sizeof rid));
    assert_string_equal(rid, "trace-42.a:b_c");
    resp_free(&r);
    /* unsafe ids are replaced by a generated UUIDv7 */
    char longid[200] = "X-Request-Id: ";
    memset(longid + 14, 'a', 150);
    longid[164] = '\0';
    const char *bad[] = {"X-Request-Id: has space", "X-Request-Id: quote\"d", longid};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(req(&S, "GET", "/no-route", (const char *const[]){bad[i], NULL}, NULL, &r), 0);
        assert_true(resp_header(&r, "X-Request-Id", rid, sizeof rid));
        assert_int_equal(strlen(rid), 36);
        assert_int_equal(rid[14], '7');
        assert_error(&r, 404, "route_not_found");
        resp_free(&r);
    }
    /* two requests without an id get different ones */
    char a[64], b[64];
    assert_int_equal(req(&S, "GET", "/healthz", NULL, NULL, &r), 0);
    resp_header(&r, "X-Request-Id", a, sizeof a);
    resp_free(&r);
    assert_int_equal(req(&S, "GET", "/healthz", NULL, NULL, &r), 0);
    resp_header(&r, "X-Request-Id", b, sizeof b);
    resp_free(&r);
    assert_string_not_equal(a, b);
}

static void cors_follows_configuration(void **state)
{
    (void)state;
    struct resp r;
    char v[200];
    assert_int_equal(req(&S, "OPTIONS", "/api/v1/diag/echo",
                         (const char *const[]){"Origin: https://app.example.com",
                                               "Access-Control-Request-Method: POST", NULL},
                         NULL, &r),
                     0);
    assert_int_equal(r.status, 204);
    assert_true(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    assert_string_equal(v, "https://app.example.com");
    assert_true(resp_header(&r, "Access-Control-Allow-Methods", v, sizeof v));
    assert_non_null(strstr(v, "POST"));
    assert_true(resp_header(&r, "Access-Control-Allow-Headers", v, sizeof v));
    assert_non_null(strstr(v, "Authorization"));
    resp_free(&r);

    assert_int_equal(req(&S, "GET", "/healthz", (const char *const[]){"Origin: https://app.example.com", NULL},
                         NULL, &r),
                     0);
    assert_true(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    assert_true(resp_header(&r, "Vary", v, sizeof v));
    resp_free(&r);

    /* another origin gets no CORS headers */
    assert_int_equal(req(&S, "OPTIONS", "/api/v1/diag/echo",
                         (const char *const[]){"Origin: https://evil.example.net",
                                               "Access-Control-Request-Method: POST", NULL},
                         NULL, &r),
                     0);
    assert_false(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    resp_free(&r);
    assert_int_equal(req(&S, "GET", "/healthz", (const char *const[]){"Origin: https://evil.example.net", NULL},
                         NULL, &r),
                     0);
    assert_false(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    resp_free(&r);
}

static void slow_body_is_cut_off(void **state)
{
    (void)state;
    int fd = raw_connect(&S);
    assert_true(fd >= 0);
    /* An 8-byte body trickled a byte every 0.7 s: never idle long enough for the idle timeout, and
     * complete after ~5 s; with the 2 s request timeout the server drops it instead of answering. */
    assert_int_equal(raw_send(fd, "POST /api/v1/diag/echo HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Type: application/json\r\nContent-Length: 8\r\n"
                                  "Connection: close\r\n\r\n{"),
                     0);
    for (int i = 0; i < 7; i++) {
        sleep_ms(700);
        if (raw_send(fd, i == 6 ? "}" : " ") != 0)
            break;
    }
    char *out = NULL;
    raw_recv_all(fd, 3000, &out);
    close(fd);
    assert_null(strstr(out, "HTTP/1.1 200"));
    free(out);
    struct resp r;
    assert_int_equal(req(&S, "GET", "/healthz", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void idle_connection_is_closed(void **state)
{
    (void)state;
    int fd = raw_connect(&S);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n"), 0); /* headers never end */
    long t0 = mono_ms();
    char *out = NULL;
    raw_recv_all(fd, 10000, &out); /* returns early only when the server closes */
    long waited = mono_ms() - t0;
    close(fd);
    assert_null(strstr(out, "200 OK"));
    free(out);
    if (waited > 6000)
        fail_msg("the idle connection stayed open %ld ms (timeout is 2 s)", waited);
}

static void keep_alive_survives_error_answers(void **state)
{
    (void)state;
    int fd = raw_connect(&S);
    assert_true(fd >= 0);
    /* A 415 and then a normal request on the same connection: the error must not close it. */
    assert_int_equal(raw_send(fd, "POST /api/v1/diag/echo HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
                                  "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                     0);
    char *out = NULL;
    raw_recv_all(fd, 3000, &out);
    close(fd);
    char *first = strstr(out, "HTTP/1.1 415");
    assert_non_null(first);
    assert_non_null(strstr(first, "HTTP/1.1 200"));
    free(out);
}

static void access_log_is_json_lines(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(req(&S, "GET", "/healthz", (const char *const[]){"X-Request-Id: access-log-probe", NULL},
                         NULL, &r),
                     0);
    resp_free(&r);
    sleep_ms(200);
    char *log = srv_read(&S, "access.1.log");
    assert_non_null(log);
    int lines = 0;
    bool found = false;
    for (char *line = log, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl); /* every line complete */
        json_error_t e;
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, &e);
        if (!j)
            fail_msg("access log line is not JSON: %.*s", (int)(nl - line), line);
        assert_true(json_is_integer(json_object_get(j, "status")));
        assert_true(json_is_string(json_object_get(j, "request_id")));
        assert_true(json_is_number(json_object_get(j, "duration_ms")));
        if (!strcmp(json_string_value(json_object_get(j, "request_id")), "access-log-probe")) {
            found = true;
            assert_string_equal(json_string_value(json_object_get(j, "route")), "/healthz");
            assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
            assert_string_equal(json_string_value(json_object_get(j, "ip")), "127.0.0.1");
        }
        json_decref(j);
        lines++;
    }
    assert_true(found);
    assert_true(lines > 5);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(not_found_is_json),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(head_answers_without_body),
        cmocka_unit_test(json_echo_round_trip),
        cmocka_unit_test(non_json_body_is_415),
        cmocka_unit_test(malformed_json_is_400_with_position),
        cmocka_unit_test(deep_nesting_is_rejected_not_a_crash),
        cmocka_unit_test(oversized_content_length_is_413_before_reading),
        cmocka_unit_test(oversized_chunked_body_is_413),
        cmocka_unit_test(body_at_the_limit_is_accepted),
        cmocka_unit_test(request_ids_are_echoed_or_generated),
        cmocka_unit_test(cors_follows_configuration),
        cmocka_unit_test(slow_body_is_cut_off),
        cmocka_unit_test(idle_connection_is_closed),
        cmocka_unit_test(keep_alive_survives_error_answers),
        cmocka_unit_test(access_log_is_json_lines),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + srv_exit_failures;
}

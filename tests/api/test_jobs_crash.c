/*
 * The job queue survives a crash: the server is killed (SIGKILL) while a job runs; after a restart the
 * job is reclaimed once its lease expires and completes exactly once. Also: a failing job is retried
 * with backoff and ends dead with its last error.
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

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; hay && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void killed_job_completes_exactly_once_after_restart(void **state)
{
    (void)state;
    struct srv s;
    const char *env[] = {"AEGIS_JOB_LEASE_SECONDS=2", "AEGIS_JOB_WORKERS=2", NULL};
    srv_init(&s, env);
    assert_int_equal(srv_start(&s, NULL), 0);
    char id[64];
    srv_enqueue(&s, id, "diag.sleep", "{\"ms\":4000}", NULL);
    struct jobcheck c = {&s, id, "running"};
    assert_true(wait_until(srv_job_in_state, &c, 10000) >= 0);
    sleep_ms(2500); /* past one lease: the heartbeat must have kept it */
    json_t *j = srv_job(&s, id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "running");
    json_decref(j);

    assert_int_equal(srv_stop(&s, 9), 128 + 9); /* crash mid-job */
    j = srv_job(&s, id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "running");
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
    json_decref(j);

    assert_int_equal(srv_start(&s, NULL), 0);
    c.want = "done";
    long waited = wait_until(srv_job_in_state, &c, 30000);
    assert_true(waited >= 0);
    j = srv_job(&s, id);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
    json_t *result = json_object_get(j, "result");
    assert_int_equal(json_integer_value(json_object_get(result, "attempt")), 2);
    assert_int_equal(json_integer_value(json_object_get(result, "slept_ms")), 4000);
    json_decref(j);
    assert_int_equal(srv_stop(&s, 15), 0);

    /* across both lives of the server, the job started twice and completed once */
    char *log1 = srv_read(&s, "app.1.log"), *log2 = srv_read(&s, "app.2.log");
    char started[120], completed[120];
    snprintf(started, sizeof started, "\"event\":\"job.started\",\"job_id\":\"%s\"", id);
    snprintf(completed, sizeof completed, "\"event\":\"job.completed\",\"job_id\":\"%s\"", id);
    assert_int_equal(count(log1, started) + count(log2, started), 2);
    assert_int_equal(count(log1, completed), 0);
    assert_int_equal(count(log2, completed), 1);
    assert_int_equal(count(log2, "job.lease_lost"), 0);
    free(log1);
    free(log2);
    srv_cleanup(&s);
}

static void failing_job_retries_then_dies_with_its_error(void **state)
{
    (void)state;
    struct srv s;
    const char *env[] = {"AEGIS_JOB_BACKOFF_BASE_MS=200", "AEGIS_JOB_BACKOFF_MAX_MS=400", NULL};
    srv_init(&s, env);
    assert_int_equal(srv_start(&s, NULL), 0);
    char dead_id[64];
    srv_enqueue(&s, dead_id, "diag.fail", "{}", "3");
    char ok_id[64];
    srv_enqueue(&s, ok_id, "diag.fail", "{\"succeed_on_attempt\":2}", NULL);
    char unknown_id[64];
    srv_enqueue(&s, unknown_id, "no.such.kind", "{}", NULL);

    struct jobcheck c = {&s, dead_id, "dead"};
    assert_true(wait_until(srv_job_in_state, &c, 15000) >= 0);
    json_t *j = srv_job(&s, dead_id);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 3);
    assert_string_equal(json_string_value(json_object_get(j, "last_error")),
                        "diag.fail: failing attempt 3 on purpose");
    json_decref(j);

    c.id = ok_id;
    c.want = "done";
    assert_true(wait_until(srv_job_in_state, &c, 15000) >= 0);
    j = srv_job(&s, ok_id);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
    json_decref(j);

    c.id = unknown_id;
    c.want = "dead";
    assert_true(wait_until(srv_job_in_state, &c, 15000) >= 0);
    j = srv_job(&s, unknown_id);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1); /* not retried */
    assert_non_null(strstr(json_string_value(json_object_get(j, "last_error")), "unknown job kind"));
    json_decref(j);

    /* the retries were spaced by the backoff: 200 ms, then 400 ms */
    assert_int_equal(srv_stop(&s, 15), 0);
    char *log = srv_read(&s, "app.1.log");
    char retry[120];
    snprintf(retry, sizeof retry, "\"event\":\"job.retry\",\"job_id\":\"%s\"", dead_id);
    assert_int_equal(count(log, retry), 2);
    const char *first = strstr(log, retry);
    assert_non_null(strstr(first, "\"ms\":200}"));
    const char *second = strstr(first + 1, retry);
    assert_non_null(strstr(second, "\"ms\":400}"));
    free(log);
    srv_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_job_completes_exactly_once_after_restart),
        cmocka_unit_test(failing_job_retries_then_dies_with_its_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

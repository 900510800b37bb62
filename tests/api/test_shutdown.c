/*
 * API tests of graceful shutdown: on SIGTERM or SIGINT the server stops accepting connections,
 * finishes the requests in flight and the running jobs, and exits 0.
 */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct slow {
    const struct srv *s;
    struct resp r;
    int rc;
};

static void *slow_request(void *arg)
{
    struct slow *w = arg;
    w->rc = req(w->s, "POST", "/api/v1/diag/echo?delay_ms=1500",
                (const char *const[]){"Content-Type: application/json",
                                      "X-Request-Id: shutdown-probe", NULL},
                "{\"n\":1}", &w->r);
    return NULL;
}

/* The slow request is inside its handler: the server logged that it holds it (a count of requests in
 * flight could also be two overlapping probes while the slow one has not connected yet). */
static bool in_flight(void *arg)
{
    const struct srv *s = arg;
    char *log = srv_read(s, "app.1.log");
    bool yes = log && strstr(log, "holding request shutdown-probe");
    free(log);
    return yes;
}

static void sigterm_finishes_in_flight_requests(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, NULL);
    assert_int_equal(srv_start(&s, NULL), 0);
    struct slow w = {.s = &s};
    pthread_t t;
    pthread_create(&t, NULL, slow_request, &w);
    assert_true(wait_until(in_flight, &s, 5000) >= 0);

    kill(s.pid, 15);
    sleep_ms(300);
    /* draining: no new connections */
    int fd = raw_connect(&s);
    if (fd >= 0) {
        /* the listening socket may still complete a handshake queued before it closed; the
         * connection must then be closed without an answer */
        raw_send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        char *out = NULL;
        raw_recv_all(fd, 2000, &out);
        assert_null(strstr(out, "200 OK"));
        free(out);
        close(fd);
    }
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(w.r.json, "received"), "n")), 1);
    resp_free(&w.r);
    assert_int_equal(srv_stop(&s, 0), 0); /* already exiting: wait for it */

    char *log = srv_read(&s, "app.1.log");
    assert_non_null(strstr(log, "\"event\":\"server.stopped\",\"requests_cut\":0"));
    free(log);
    srv_cleanup(&s);
}

static void sigint_lets_running_jobs_finish(void **state)
{
    (void)state;
    struct srv s;
    srv_init(&s, NULL);
    assert_int_equal(srv_start(&s, NULL), 0);
    char id[64];
    srv_enqueue(&s, id, "diag.sleep", "{\"ms\":2000}", NULL);
    struct jobcheck c = {&s, id, "running"};
    assert_true(wait_until(srv_job_in_state, &c, 10000) >= 0);

    assert_int_equal(srv_stop(&s, 2), 0); /* SIGINT: waits for the job, then exits 0 */
    c.want = "done";
    assert_true(srv_job_in_state(&c)); /* done before the process exited, not after a restart */
    json_t *j = srv_job(&s, id);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "result"), "slept_ms")), 2000);
    json_decref(j);
    srv_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigterm_finishes_in_flight_requests),
        cmocka_unit_test(sigint_lets_running_jobs_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

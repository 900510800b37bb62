/*
 * Tests src/jobs/queue.c and worker.c: the backoff schedule and real worker pools on a temporary
 * SQLite database (completion, retries, dead jobs, unknown kinds, two pools sharing one database,
 * the heartbeat, and a stop that waits for running jobs). Polls are 20 ms so the whole file runs in
 * a few seconds.
 */
#include "../unit.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define POLL_MS 20
#define WAIT_MS 15000 /* generous: sanitizers make everything slower */
/* Tests that are not about lease expiry use a lease no stall of a loaded machine can outlast: a
 * reclaimed job legitimately runs twice, which would make them flaky. Nothing waits for it to pass.
 * Expiry itself is tested with explicit clocks in store/test_jobs.c and, for the heartbeat, below.
 */
#define LEASE_MS 10000

static char tmpdir[512];
static char url[700];
static int counter;

/* ---- test job kinds -------------------------------------------------------------------------- */

static atomic_int ok_runs;

/* {"n": N} -> {"echo": N, "attempt": A} */
static int kind_ok(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    atomic_fetch_add(&ok_runs, 1);
    *result = json_pack("{s:I,s:i}", "echo", json_integer_value(json_object_get(payload, "n")),
                        "attempt", ctx->job->attempts);
    return AEG_OK;
}

/* Always fails; remembers when each attempt started. */
static atomic_int fail_runs;
static int64_t fail_started[16];

static int kind_fail(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    int n = atomic_fetch_add(&fail_runs, 1);
    if (n < 16)
        fail_started[n] = clock_now_ms();
    buf_printf(err, "nope, attempt %d", ctx->job->attempts);
    return AEG_EINTERNAL;
}

/* Fails without a message: the error's default message is kept instead. */
static int kind_fail_silent(struct job_ctx *ctx, const json_t *payload, json_t **result,
                            struct buf *err)
{
    return AEG_EUNAVAIL;
}

/* For the two-pool test: counts runs per job index and per pool ("node"). */
enum { MANY = 120 };
static atomic_int many_runs[MANY];
struct node {
    atomic_int handled;
};
static struct node node_a, node_b;

/* Until both nodes have started a job, a node's workers hold their job, so the other node's workers
 * are sure to claim some: both nodes take part however the threads happen to be scheduled. */
static void wait_for_both_nodes(void)
{
    int64_t give_up = clock_now_ms() + 5000;
    while ((atomic_load(&node_a.handled) == 0 || atomic_load(&node_b.handled) == 0) &&
           clock_now_ms() < give_up)
        clock_sleep_ms(1);
}

static int kind_count(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    json_int_t i = json_integer_value(json_object_get(payload, "i"));
    if (i < 0 || i >= MANY) {
        buf_adds(err, "bad index");
        return AEG_EINVAL;
    }
    atomic_fetch_add(&many_runs[i], 1);
    struct node *nd = ctx->app;
    if (nd) {
        atomic_fetch_add(&nd->handled, 1);
        wait_for_both_nodes();
    }
    clock_sleep_ms(1 + i % 3);
    *result = json_pack("{s:I}", "i", i);
    return AEG_OK;
}

/* Runs until the pool says it is stopping. */
static atomic_int polite_started;

static int kind_polite(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    atomic_fetch_add(&polite_started, 1);
    int64_t give_up = clock_now_ms() + WAIT_MS;
    while (!*ctx->stopping && clock_now_ms() < give_up)
        clock_sleep_ms(5);
    *result = json_pack("{s:b}", "saw_stopping", *ctx->stopping);
    return AEG_OK;
}

/* Holds until the test opens the gate (or WAIT_MS passes). */
static atomic_int gate_started, gate_finished, gate_open;

static int kind_gate(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    atomic_fetch_add(&gate_started, 1);
    int64_t give_up = clock_now_ms() + WAIT_MS;
    while (!atomic_load(&gate_open) && clock_now_ms() < give_up)
        clock_sleep_ms(2);
    atomic_fetch_add(&gate_finished, 1);
    *result = json_string("released");
    return AEG_OK;
}

static struct job_kind kinds[16];
static size_t nkinds;

static void add_kind(const char *name, job_fn fn)
{
    assert_true(nkinds < sizeof kinds / sizeof kinds[0]);
    kinds[nkinds++] = (struct job_kind){name, fn};
}

/* ---- fixture --------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    /* The workers log every job; keep test output readable unless asked (AEGIS_TEST_LOG=1). */
    const char *show = getenv("AEGIS_TEST_LOG");
    log_setup(show && *show == '1' ? LOG_INFO : LOG_OFF, 2, -1);
    unit_tmpdir(tmpdir, sizeof tmpdir, "queue");
    add_kind("t.ok", kind_ok);
    add_kind("t.fail", kind_fail);
    add_kind("t.fail_silent", kind_fail_silent);
    add_kind("t.count", kind_count);
    add_kind("t.polite", kind_polite);
    add_kind("t.gate", kind_gate);
    for (size_t i = 0; i < job_builtin_nkinds; i++)
        add_kind(job_builtin_kinds[i].kind, job_builtin_kinds[i].fn);
    return 0;
}

static int group_teardown(void **state)
{
    unit_rmtree(tmpdir);
    log_setup(LOG_INFO, 2, 1);
    return 0;
}

static struct store *open_store(int pool_size)
{
    char err[256] = "";
    struct store *s = NULL;
    if (store_open(url, pool_size, &s, err, sizeof err))
        fail_msg("store_open(%s): %s", url, err);
    return s;
}

static int setup(void **state)
{
    snprintf(url, sizeof url, "sqlite://%s/q%d.db", tmpdir, ++counter);
    struct store *s = open_store(4);
    char err[256] = "";
    int applied = 0;
    if (store_migrate(s, &applied, err, sizeof err))
        fail_msg("store_migrate: %s", err);
    atomic_store(&ok_runs, 0);
    atomic_store(&fail_runs, 0);
    atomic_store(&polite_started, 0);
    atomic_store(&gate_started, 0);
    atomic_store(&gate_finished, 0);
    atomic_store(&gate_open, 0);
    for (int i = 0; i < MANY; i++)
        atomic_store(&many_runs[i], 0);
    *state = s;
    return 0;
}

/* Pools and extra stores a test left running (it failed half-way) are stopped here, so a failure
 * cannot turn into a use-after-free in the next test. */
static struct job_pool *live_pools[4];
static struct store *extra_store;

static int teardown(void **state)
{
    for (size_t i = 0; i < sizeof live_pools / sizeof live_pools[0]; i++) {
        if (live_pools[i])
            job_pool_stop(live_pools[i], 10);
        live_pools[i] = NULL;
    }
    store_close(extra_store);
    extra_store = NULL;
    store_close(*state);
    return 0;
}

static struct job_pool_opts opts(int workers, int64_t lease_ms, void *app)
{
    return (struct job_pool_opts){
        .workers = workers,
        .lease_ms = lease_ms,
        .poll_ms = POLL_MS,
        .backoff_base_ms = 50,
        .backoff_max_ms = 200,
        .kinds = kinds,
        .nkinds = nkinds,
        .app = app,
    };
}

static struct job_pool *start(struct store *s, const struct job_pool_opts *o)
{
    struct job_pool *p = NULL;
    assert_int_equal(job_pool_start(s, o, &p), AEG_OK);
    assert_non_null(p);
    for (size_t i = 0; i < sizeof live_pools / sizeof live_pools[0]; i++) {
        if (!live_pools[i]) {
            live_pools[i] = p;
            return p;
        }
    }
    fail_msg("too many pools");
    return NULL;
}

static void forget(struct job_pool *p)
{
    for (size_t i = 0; i < sizeof live_pools / sizeof live_pools[0]; i++)
        if (live_pools[i] == p)
            live_pools[i] = NULL;
}

static void stop(struct job_pool *p)
{
    forget(p);
    assert_true(job_pool_stop(p, 10));
}

static void enqueue(struct store *s, const char *kind, const char *payload_json, int max_attempts,
                    char id[ID_UUID_LEN])
{
    json_error_t e;
    json_t *payload = payload_json ? json_loads(payload_json, 0, &e) : NULL;
    assert_int_equal(job_enqueue(s, NULL, kind, payload, max_attempts, id), AEG_OK);
    json_decref(payload);
}

/* Polls (every POLL_MS) until the job reaches `want`; fills r with the final row. */
static void wait_state(struct store *s, const char *id, enum job_state want, struct job_row *r)
{
    int64_t deadline = clock_now_ms() + WAIT_MS;
    for (;;) {
        memset(r, 0, sizeof *r);
        assert_int_equal(store_job_get(s, NULL, id, r), AEG_OK);
        if (r->state == want)
            return;
        if (clock_now_ms() > deadline) {
            fail_msg("job %s is %s after %d ms, want %s (attempts %d, last_error %s)", id,
                     job_state_name(r->state), WAIT_MS, job_state_name(want), r->attempts,
                     r->last_error ? r->last_error : "-");
        }
        job_row_free(r);
        clock_sleep_ms(POLL_MS);
    }
}

/* ---- backoff --------------------------------------------------------------------------------- */

static void test_backoff(void **state)
{
    assert_int_equal(job_backoff_ms(1, 1000, 600000), 1000);
    assert_int_equal(job_backoff_ms(2, 1000, 600000), 2000);
    assert_int_equal(job_backoff_ms(3, 1000, 600000), 4000);
    assert_int_equal(job_backoff_ms(4, 1000, 600000), 8000);
    assert_int_equal(job_backoff_ms(10, 1000, 600000), 512000);
    assert_int_equal(job_backoff_ms(11, 1000, 600000), 600000);  /* 1024000 capped */
    assert_int_equal(job_backoff_ms(100, 1000, 600000), 600000); /* no overflow */
    assert_int_equal(job_backoff_ms(1000000, 1, 86400000), 86400000);
    assert_int_equal(job_backoff_ms(3, 50, 200), 200);
    assert_int_equal(job_backoff_ms(2, 50, 200), 100);
    assert_int_equal(job_backoff_ms(1, 5000, 1000), 1000); /* base above the cap */
    assert_int_equal(job_backoff_ms(200, 3, INT64_MAX), INT64_MAX); /* doubling cannot overflow */
    for (int n = 1; n < 40; n++) {
        int64_t want = 250;
        for (int k = 1; k < n && want < 60000; k++)
            want *= 2;
        if (want > 60000)
            want = 60000;
        assert_int_equal(job_backoff_ms(n, 250, 60000), want);
        if (n > 1)
            assert_true(job_backoff_ms(n, 250, 60000) >= job_backoff_ms(n - 1, 250, 60000));
    }
}

/* ---- pool ------------------------------------------------------------------------------------ */

static void test_bad_options(void **state)
{
    struct store *s = *state;
    struct job_pool *p = (struct job_pool *)0x1;
    struct job_pool_opts o = opts(1, LEASE_MS, NULL);
    o.lease_ms = 0;
    assert_int_equal(job_pool_start(s, &o, &p), AEG_EINVAL);
    assert_null(p);
    o = opts(-1, 500, NULL);
    assert_int_equal(job_pool_start(s, &o, &p), AEG_EINVAL);
    o = opts(1, LEASE_MS, NULL);
    o.poll_ms = 0;
    assert_int_equal(job_pool_start(s, &o, &p), AEG_EINVAL);
    o = opts(1, LEASE_MS, NULL);
    o.backoff_base_ms = 0;
    assert_int_equal(job_pool_start(s, &o, &p), AEG_EINVAL);
    assert_true(job_pool_stop(NULL, 1));
    job_pool_notify(NULL);
}

static void test_enqueue_defaults(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    int64_t before = clock_now_ms();
    assert_int_equal(job_enqueue(s, NULL, "t.ok", NULL, 0, id), AEG_OK);
    struct job_row r;
    memset(&r, 0, sizeof r);
    assert_int_equal(store_job_get(s, NULL, id, &r), AEG_OK);
    assert_string_equal(r.payload, "{}");
    assert_int_equal(r.max_attempts, 5);
    assert_int_equal(r.state, JOB_QUEUED);
    assert_true(r.run_at >= before && r.run_at <= clock_now_ms());
    assert_null(r.org_id);
    job_row_free(&r);

    const struct tenant t = {"org_x", "user_x"};
    json_t *pl = json_pack("{s:s,s:i}", "q", "a\"b", "n", 3);
    assert_int_equal(job_enqueue(s, &t, "t.ok", pl, 2, id), AEG_OK);
    json_decref(pl);
    assert_int_equal(store_job_get(s, &t, id, &r), AEG_OK);
    assert_int_equal(r.max_attempts, 2);
    assert_string_equal(r.org_id, "org_x");
    json_error_t e;
    json_t *back = json_loads(r.payload, 0, &e);
    assert_non_null(back);
    assert_string_equal(json_string_value(json_object_get(back, "q")), "a\"b");
    json_decref(back);
    job_row_free(&r);
}

static void test_job_completes_with_result(void **state)
{
    struct store *s = *state;
    struct job_pool_opts o = opts(2, LEASE_MS, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN];
    enqueue(s, "t.ok", "{\"n\":7}", 3, id);
    job_pool_notify(p);
    struct job_row r;
    wait_state(s, id, JOB_DONE, &r);
    assert_int_equal(r.attempts, 1);
    assert_null(r.last_error);
    assert_true(r.completed_at > 0);
    json_error_t e;
    json_t *res = json_loads(r.result, 0, &e);
    assert_non_null(res);
    assert_int_equal(json_integer_value(json_object_get(res, "echo")), 7);
    assert_int_equal(json_integer_value(json_object_get(res, "attempt")), 1);
    json_decref(res);
    job_row_free(&r);
    stop(p);
    assert_int_equal(atomic_load(&ok_runs), 1);
}

static void test_failing_kind_retries_then_dead(void **state)
{
    struct store *s = *state;
    struct job_pool_opts o = opts(2, LEASE_MS, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN];
    enqueue(s, "t.fail", "{}", 3, id);
    job_pool_notify(p);
    struct job_row r;
    wait_state(s, id, JOB_DEAD, &r);
    assert_int_equal(r.attempts, 3);
    assert_string_equal(r.last_error, "nope, attempt 3");
    assert_null(r.result);
    job_row_free(&r);
    stop(p);
    assert_int_equal(atomic_load(&fail_runs), 3);
    /* retries waited for their backoff: 50 ms after the first failure, 100 ms after the second */
    assert_true(fail_started[1] - fail_started[0] >= job_backoff_ms(1, 50, 200));
    assert_true(fail_started[2] - fail_started[1] >= job_backoff_ms(2, 50, 200));
}

static void test_retry_then_success(void **state)
{
    struct store *s = *state;
    struct job_pool_opts o = opts(1, LEASE_MS, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN];
    enqueue(s, "diag.fail", "{\"succeed_on_attempt\":3}", 5, id);
    job_pool_notify(p);
    struct job_row r;
    wait_state(s, id, JOB_DONE, &r);
    assert_int_equal(r.attempts, 3);
    assert_string_equal(r.last_error, "diag.fail: failing attempt 2 on purpose");
    assert_string_equal(r.result, "{\"attempt\":3}");
    job_row_free(&r);

    /* an error without a message keeps the code's default message */
    enqueue(s, "t.fail_silent", "{}", 1, id);
    job_pool_notify(p);
    wait_state(s, id, JOB_DEAD, &r);
    assert_string_equal(r.last_error, aeg_code_message(AEG_EUNAVAIL));
    job_row_free(&r);
    stop(p);
}

static void test_unknown_kind_dead_at_once(void **state)
{
    struct store *s = *state;
    struct job_pool_opts o = opts(1, LEASE_MS, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN], bad[ID_UUID_LEN];
    enqueue(s, "no.such.kind", "{}", 5, id);
    /* a payload that is not JSON cannot get better by retrying either */
    assert_int_equal(store_job_insert(s, NULL, "t.ok", "{not json", 5, clock_now_ms(), bad),
                     AEG_OK);
    job_pool_notify(p);
    struct job_row r;
    wait_state(s, id, JOB_DEAD, &r);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.last_error, "unknown job kind"));
    assert_non_null(strstr(r.last_error, "no.such.kind"));
    job_row_free(&r);
    wait_state(s, bad, JOB_DEAD, &r);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.last_error, "not JSON"));
    job_row_free(&r);
    stop(p);
    assert_int_equal(atomic_load(&ok_runs), 0);
}

static void test_two_nodes_exactly_once(void **state)
{
    struct store *s = *state;
    /* two "nodes": separate stores (connection pools) and worker pools on the same database file */
    struct store *s2 = extra_store = open_store(4);
    struct node *na = &node_a, *nb = &node_b;
    atomic_store(&na->handled, 0);
    atomic_store(&nb->handled, 0);
    char ids[MANY][ID_UUID_LEN];
    for (int i = 0; i < MANY; i++) {
        char pl[32];
        snprintf(pl, sizeof pl, "{\"i\":%d}", i);
        enqueue(i % 2 ? s : s2, "t.count", pl, 3, ids[i]);
    }
    /* claim atomicity is under test, not lease expiry (see LEASE_MS) */
    struct job_pool_opts oa = opts(3, LEASE_MS, na), ob = opts(3, LEASE_MS, nb);
    struct job_pool *pa = start(s, &oa), *pb = start(s2, &ob);

    int64_t deadline = clock_now_ms() + WAIT_MS;
    int64_t c[JOB__NSTATES];
    for (;;) {
        assert_int_equal(store_job_counts(s, c), AEG_OK);
        if (c[JOB_DONE] + c[JOB_DEAD] == MANY)
            break;
        if (clock_now_ms() > deadline)
            fail_msg("after %d ms: queued %lld running %lld done %lld dead %lld", WAIT_MS,
                     (long long)c[JOB_QUEUED], (long long)c[JOB_RUNNING], (long long)c[JOB_DONE],
                     (long long)c[JOB_DEAD]);
        clock_sleep_ms(POLL_MS);
    }
    stop(pa);
    stop(pb);

    assert_int_equal(c[JOB_DONE], MANY);
    int total = 0;
    for (int i = 0; i < MANY; i++) {
        int n = atomic_load(&many_runs[i]);
        struct job_row r;
        memset(&r, 0, sizeof r);
        assert_int_equal(store_job_get(s2, NULL, ids[i], &r), AEG_OK);
        if (n != 1)
            fail_msg("job %d (%s) ran %d times: attempts %d, state %s, started_at %lld, "
                     "completed_at %lld, last_error %s",
                     i, ids[i], n, r.attempts, job_state_name(r.state), (long long)r.started_at,
                     (long long)r.completed_at, r.last_error ? r.last_error : "-");
        total += n;
        assert_int_equal(r.state, JOB_DONE);
        assert_int_equal(r.attempts, 1);
        char want[32];
        snprintf(want, sizeof want, "{\"i\":%d}", i);
        assert_string_equal(r.result, want);
        job_row_free(&r);
    }
    assert_int_equal(total, MANY);
    assert_int_equal(atomic_load(&na->handled) + atomic_load(&nb->handled), MANY);
    /* both nodes took part */
    assert_true(atomic_load(&na->handled) > 0);
    assert_true(atomic_load(&nb->handled) > 0);
    extra_store = NULL;
    store_close(s2);
}

static void test_heartbeat_extends_lease(void **state)
{
    struct store *s = *state;
    /* One worker, so nothing can reclaim the job: the test watches the lease itself move forward
     * while the handler runs past its first lease (a fixed sleep against a short lease would
     * measure the machine's load, not the heartbeat). */
    const int64_t lease = 300; /* heartbeat every 100 ms */
    struct job_pool_opts o = opts(1, lease, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN];
    enqueue(s, "t.gate", "{}", 3, id);
    job_pool_notify(p);
    struct job_row r;
    wait_state(s, id, JOB_RUNNING, &r);
    const int64_t first_until = r.started_at + lease;
    assert_true(r.lease_until >= first_until); /* the heartbeat may already have run */
    char token[ID_UUID_LEN];
    memcpy(token, r.lease_token, sizeof token);
    job_row_free(&r);

    /* wait until the lease has been pushed out past the first one's end, twice over */
    int64_t deadline = clock_now_ms() + WAIT_MS;
    for (;;) {
        memset(&r, 0, sizeof r);
        assert_int_equal(store_job_get(s, NULL, id, &r), AEG_OK);
        int64_t until = r.lease_until;
        assert_string_equal(r.lease_token, token); /* extended, never re-issued */
        job_row_free(&r);
        if (until >= first_until + lease)
            break;
        if (clock_now_ms() > deadline)
            fail_msg("lease_until stayed at +%lld ms after %d ms", (long long)(until - first_until),
                     WAIT_MS);
        clock_sleep_ms(POLL_MS);
    }
    atomic_store(&gate_open, 1);
    wait_state(s, id, JOB_DONE, &r);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.result, "\"released\"");
    job_row_free(&r);
    stop(p);
    assert_int_equal(atomic_load(&gate_started), 1);
    assert_int_equal(atomic_load(&gate_finished), 1);
}

static atomic_llong gate_opened_ns;

static void *open_gate_later(void *arg)
{
    clock_sleep_ms(150);
    atomic_store(&gate_opened_ns, (long long)clock_mono_ns());
    atomic_store(&gate_open, 1);
    return NULL;
}

static void test_stop_waits_for_running_job(void **state)
{
    struct store *s = *state;
    struct job_pool_opts o = opts(2, LEASE_MS, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN];
    enqueue(s, "t.gate", "{}", 3, id);
    job_pool_notify(p);
    int64_t deadline = clock_now_ms() + WAIT_MS;
    while (atomic_load(&gate_started) == 0) {
        assert_true(clock_now_ms() < deadline);
        clock_sleep_ms(5);
    }
    assert_int_equal(job_pool_running(p), 1);
    assert_int_equal(atomic_load(&gate_finished), 0);

    /* the handler is held until another thread opens the gate, while this one is inside stop */
    pthread_t opener;
    pthread_create(&opener, NULL, open_gate_later, NULL);
    forget(p);
    bool clean = job_pool_stop(p, 10);
    long long returned_ns = (long long)clock_mono_ns();
    pthread_join(opener, NULL);
    assert_true(clean);
    assert_int_equal(atomic_load(&gate_finished), 1);
    assert_true(returned_ns >= atomic_load(&gate_opened_ns)); /* it waited for the release */
    /* and the outcome was recorded before the worker exited */
    struct job_row r;
    memset(&r, 0, sizeof r);
    assert_int_equal(store_job_get(s, NULL, id, &r), AEG_OK);
    assert_int_equal(r.state, JOB_DONE);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.result, "\"released\"");
    job_row_free(&r);
}

static void test_stopping_visible_to_handlers(void **state)
{
    struct store *s = *state;
    struct job_pool_opts o = opts(1, LEASE_MS, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN];
    enqueue(s, "t.polite", "{}", 3, id);
    job_pool_notify(p);
    int64_t deadline = clock_now_ms() + WAIT_MS;
    while (atomic_load(&polite_started) == 0) {
        assert_true(clock_now_ms() < deadline);
        clock_sleep_ms(5);
    }
    uint64_t t0 = clock_mono_ns();
    forget(p);
    assert_true(job_pool_stop(p, 10));
    assert_true((clock_mono_ns() - t0) / 1000000 < 5000); /* the handler noticed and returned */
    struct job_row r;
    memset(&r, 0, sizeof r);
    assert_int_equal(store_job_get(s, NULL, id, &r), AEG_OK);
    assert_int_equal(r.state, JOB_DONE);
    assert_string_equal(r.result, "{\"saw_stopping\":true}");
    job_row_free(&r);
}

static void test_zero_workers_runs_nothing(void **state)
{
    struct store *s = *state;
    struct job_pool_opts o = opts(0, LEASE_MS, NULL);
    struct job_pool *p = start(s, &o);
    char id[ID_UUID_LEN];
    enqueue(s, "t.ok", "{}", 3, id);
    job_pool_notify(p);
    clock_sleep_ms(3 * POLL_MS);
    assert_int_equal(job_pool_running(p), 0);
    stop(p);
    struct job_row r;
    memset(&r, 0, sizeof r);
    assert_int_equal(store_job_get(s, NULL, id, &r), AEG_OK);
    assert_int_equal(r.state, JOB_QUEUED);
    job_row_free(&r);
    assert_int_equal(atomic_load(&ok_runs), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),
        T(test_bad_options),
        T(test_enqueue_defaults),
        T(test_job_completes_with_result),
        T(test_failing_kind_retries_then_dead),
        T(test_retry_then_success),
        T(test_unknown_kind_dead_at_once),
        T(test_two_nodes_exactly_once),
        T(test_heartbeat_extends_lease),
        T(test_stop_waits_for_running_job),
        T(test_stopping_visible_to_handlers),
        T(test_zero_workers_runs_nothing),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Tests src/store/jobs.c through store.h: the job repository (insert, claim with leases, complete,
 * fail/retry/dead, lease expiry, tenant scoping, counts, listing). Time is passed in explicitly, so
 * the tests move the clock instead of sleeping.
 */
#include "../unit.h"

#include "core/err.h"
#include "core/ids.h"
#include "store/store.h"

#include <stdint.h>
#include <sys/wait.h>

#define T0 1700000000000LL
#define LEASE 500

static char tmpdir[512];
static char url[700];
static int counter;

static int group_setup(void **state)
{
    unit_tmpdir(tmpdir, sizeof tmpdir, "jobs");
    return 0;
}

static int group_teardown(void **state)
{
    unit_rmtree(tmpdir);
    return 0;
}

static int setup(void **state)
{
    char err[256] = "";
    snprintf(url, sizeof url, "sqlite://%s/j%d.db", tmpdir, ++counter);
    struct store *s = NULL;
    if (store_open(url, 2, &s, err, sizeof err))
        fail_msg("store_open: %s", err);
    int applied = 0;
    if (store_migrate(s, &applied, err, sizeof err))
        fail_msg("store_migrate: %s", err);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    return 0;
}

static const struct tenant org_a = {"org_a", "user_1"};
static const struct tenant org_b = {"org_b", "user_2"};

static void insert(struct store *s, const struct tenant *t, int max_attempts, int64_t run_at,
                   char id[ID_UUID_LEN])
{
    assert_int_equal(store_job_insert(s, t, "test.kind", "{\"n\":1}", max_attempts, run_at, id),
                     AEG_OK);
    assert_true(id_is_uuid(id));
}

static void claim_ok(struct store *s, const char *owner, int64_t now, struct job_row *r)
{
    memset(r, 0, sizeof *r);
    int rc = store_job_claim(s, owner, now, LEASE, r);
    if (rc != AEG_OK)
        fail_msg("claim at %lld: %s", (long long)(now - T0), aeg_code_name(rc));
}

static void claim_none(struct store *s, int64_t now)
{
    struct job_row r;
    memset(&r, 0, sizeof r);
    int rc = store_job_claim(s, "nobody", now, LEASE, &r);
    if (rc != AEG_ENOTFOUND) {
        if (rc == AEG_OK)
            fail_msg("claim at %lld found job %s", (long long)(now - T0), r.id);
        fail_msg("claim at %lld: %s", (long long)(now - T0), aeg_code_name(rc));
    }
}

static void get(struct store *s, const char *id, struct job_row *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(store_job_get(s, NULL, id, r), AEG_OK);
}

static void test_state_names(void **state)
{
    assert_string_equal(job_state_name(JOB_QUEUED), "queued");
    assert_string_equal(job_state_name(JOB_RUNNING), "running");
    assert_string_equal(job_state_name(JOB_DONE), "done");
    assert_string_equal(job_state_name(JOB_DEAD), "dead");
    assert_string_equal(job_state_name((enum job_state)42), "unknown");
    for (int i = 0; i < JOB__NSTATES; i++)
        assert_int_equal(job_state_parse(job_state_name((enum job_state)i)), i);
    assert_int_equal(job_state_parse("Queued"), -1);
    assert_int_equal(job_state_parse(""), -1);
    assert_int_equal(job_state_parse(NULL), -1);
}

static void test_insert_and_claim(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 3, T0, id);

    struct job_row q;
    get(s, id, &q);
    assert_int_equal(q.state, JOB_QUEUED);
    assert_int_equal(q.attempts, 0);
    assert_int_equal(q.max_attempts, 3);
    assert_string_equal(q.lease_token, "");
    assert_null(q.lease_owner);
    job_row_free(&q);

    struct job_row r;
    claim_ok(s, "worker-1", T0 + 5, &r);
    assert_string_equal(r.id, id);
    assert_int_equal(r.state, JOB_RUNNING);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.max_attempts, 3);
    assert_true(id_is_uuid(r.lease_token));
    assert_string_equal(r.lease_owner, "worker-1");
    assert_int_equal(r.lease_until, T0 + 5 + LEASE);
    assert_int_equal(r.started_at, T0 + 5);
    assert_int_equal(r.run_at, T0);
    assert_string_equal(r.kind, "test.kind");
    assert_string_equal(r.payload, "{\"n\":1}");
    assert_string_equal(r.org_id, "org_a");
    assert_null(r.last_error);
    assert_null(r.result);

    /* nothing else is runnable */
    claim_none(s, T0 + 10);
    claim_none(s, T0 + 5 + LEASE - 1);

    /* the stored row says the same */
    get(s, id, &q);
    assert_int_equal(q.state, JOB_RUNNING);
    assert_string_equal(q.lease_token, r.lease_token);
    assert_int_equal(q.attempts, 1);
    job_row_free(&q);
    job_row_free(&r);
}

static void test_not_before_run_at_and_order(void **state)
{
    struct store *s = *state;
    char later[ID_UUID_LEN], sooner[ID_UUID_LEN];
    insert(s, NULL, 3, T0 + 1000, later);
    insert(s, NULL, 3, T0 + 500, sooner);
    claim_none(s, T0);
    claim_none(s, T0 + 499);
    struct job_row r;
    claim_ok(s, "w", T0 + 2000, &r);
    assert_string_equal(r.id, sooner); /* the one due first */
    assert_null(r.org_id);             /* a system job */
    job_row_free(&r);
    claim_ok(s, "w", T0 + 2000, &r);
    assert_string_equal(r.id, later);
    job_row_free(&r);
    claim_none(s, T0 + 2000);
}

static void test_complete_needs_the_token(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 3, T0, id);
    struct job_row r;
    claim_ok(s, "w", T0, &r);

    char wrong[ID_UUID_LEN];
    id_uuid7(wrong);
    assert_int_equal(store_job_complete(s, id, wrong, "{\"x\":1}", T0 + 10), AEG_ELEASE);
    assert_int_equal(store_job_fail(s, id, wrong, "err", T0 + 100, T0 + 10), AEG_ELEASE);
    assert_int_equal(store_job_extend(s, id, wrong, T0 + 9999), AEG_ELEASE);
    assert_int_equal(store_job_complete(s, "no-such-id", r.lease_token, NULL, T0 + 10), AEG_ELEASE);

    struct job_row g;
    get(s, id, &g);
    assert_int_equal(g.state, JOB_RUNNING);
    assert_null(g.result);
    job_row_free(&g);

    assert_int_equal(store_job_complete(s, id, r.lease_token, "{\"answer\":42}", T0 + 20), AEG_OK);
    get(s, id, &g);
    assert_int_equal(g.state, JOB_DONE);
    assert_string_equal(g.result, "{\"answer\":42}");
    assert_int_equal(g.completed_at, T0 + 20);
    assert_int_equal(g.updated_at, T0 + 20);
    assert_int_equal(g.attempts, 1);
    assert_string_equal(g.lease_token, "");
    assert_null(g.lease_owner);
    assert_int_equal(g.lease_until, 0);
    job_row_free(&g);

    /* done is final: the same token cannot complete or fail it again */
    assert_int_equal(store_job_complete(s, id, r.lease_token, "{}", T0 + 30), AEG_ELEASE);
    assert_int_equal(store_job_fail(s, id, r.lease_token, "late", -1, T0 + 30), AEG_ELEASE);
    claim_none(s, T0 + 100000);
    job_row_free(&r);

    /* a NULL result is stored as JSON null */
    insert(s, NULL, 3, T0, id);
    claim_ok(s, "w", T0, &r);
    assert_int_equal(store_job_complete(s, id, r.lease_token, NULL, T0 + 1), AEG_OK);
    get(s, id, &g);
    assert_string_equal(g.result, "null");
    job_row_free(&g);
    job_row_free(&r);
}

static void test_lease_expiry_reclaims(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 3, T0, id);
    struct job_row first, second;
    claim_ok(s, "node-a", T0, &first);
    claim_none(s, T0 + LEASE - 1);

    /* node-a stopped answering: once the lease has run out, another worker takes the job */
    claim_ok(s, "node-b", T0 + LEASE, &second);
    assert_string_equal(second.id, id);
    assert_int_equal(second.attempts, 2);
    assert_string_not_equal(second.lease_token, first.lease_token);
    assert_string_equal(second.lease_owner, "node-b");
    assert_int_equal(second.lease_until, T0 + 2 * LEASE);

    /* the old token is worthless now */
    assert_int_equal(
        store_job_complete(s, id, first.lease_token, "{\"from\":\"a\"}", T0 + LEASE + 1),
        AEG_ELEASE);
    assert_int_equal(store_job_fail(s, id, first.lease_token, "a failed", -1, T0 + LEASE + 1),
                     AEG_ELEASE);
    assert_int_equal(store_job_extend(s, id, first.lease_token, T0 + 99999), AEG_ELEASE);

    assert_int_equal(
        store_job_complete(s, id, second.lease_token, "{\"from\":\"b\"}", T0 + LEASE + 2), AEG_OK);
    struct job_row g;
    get(s, id, &g);
    assert_int_equal(g.state, JOB_DONE);
    assert_string_equal(g.result, "{\"from\":\"b\"}");
    assert_int_equal(g.attempts, 2);
    job_row_free(&g);
    job_row_free(&first);
    job_row_free(&second);
}

static void test_extend_keeps_the_lease(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, NULL, 3, T0, id);
    struct job_row r;
    claim_ok(s, "w", T0, &r);
    assert_int_equal(store_job_extend(s, id, r.lease_token, T0 + 5000), AEG_OK);
    claim_none(s, T0 + LEASE + 1);
    claim_none(s, T0 + 4999);
    struct job_row g;
    get(s, id, &g);
    assert_int_equal(g.lease_until, T0 + 5000);
    assert_string_equal(g.lease_token, r.lease_token);
    job_row_free(&g);
    assert_int_equal(store_job_complete(s, id, r.lease_token, "1", T0 + 4000), AEG_OK);
    job_row_free(&r);
}

static void test_fail_with_retry_requeues(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 3, T0, id);
    struct job_row r;
    claim_ok(s, "w", T0, &r);
    assert_int_equal(store_job_fail(s, id, r.lease_token, "boom 1", T0 + 1000, T0 + 10), AEG_OK);
    job_row_free(&r);

    struct job_row g;
    get(s, id, &g);
    assert_int_equal(g.state, JOB_QUEUED);
    assert_string_equal(g.last_error, "boom 1");
    assert_int_equal(g.run_at, T0 + 1000);
    assert_int_equal(g.attempts, 1);
    assert_string_equal(g.lease_token, "");
    assert_null(g.lease_owner);
    assert_int_equal(g.updated_at, T0 + 10);
    job_row_free(&g);

    claim_none(s, T0 + 11);
    claim_none(s, T0 + 999);
    claim_ok(s, "w", T0 + 1000, &r);
    assert_string_equal(r.id, id);
    assert_int_equal(r.attempts, 2);
    assert_string_equal(r.last_error, "boom 1"); /* kept while retrying */
    assert_int_equal(store_job_complete(s, id, r.lease_token, "{}", T0 + 1001), AEG_OK);
    job_row_free(&r);
    get(s, id, &g);
    assert_int_equal(g.state, JOB_DONE);
    job_row_free(&g);
}

static void test_fail_dead(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 5, T0, id);
    struct job_row r;
    claim_ok(s, "w", T0, &r);
    assert_int_equal(store_job_fail(s, id, r.lease_token, "permanent: bad input", -1, T0 + 7),
                     AEG_OK);
    job_row_free(&r);
    struct job_row g;
    get(s, id, &g);
    assert_int_equal(g.state, JOB_DEAD);
    assert_string_equal(g.last_error, "permanent: bad input");
    assert_int_equal(g.completed_at, T0 + 7);
    assert_int_equal(g.attempts, 1);
    assert_string_equal(g.lease_token, "");
    job_row_free(&g);
    claim_none(s, T0 + 1000000);
}

static void test_expired_last_attempt_turns_dead(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 2, T0, id);
    struct job_row r;
    claim_ok(s, "w", T0, &r);
    assert_int_equal(store_job_fail(s, id, r.lease_token, "first error", T0 + 100, T0 + 1), AEG_OK);
    job_row_free(&r);
    claim_ok(s, "w", T0 + 100, &r); /* attempt 2 of 2 */
    assert_int_equal(r.attempts, 2);

    /* the worker dies holding the last attempt; its lease runs out */
    claim_none(s, T0 + 100 + LEASE);
    struct job_row g;
    get(s, id, &g);
    assert_int_equal(g.state, JOB_DEAD);
    assert_non_null(g.last_error);
    assert_non_null(strstr(g.last_error, "lease expired on the last attempt"));
    assert_non_null(strstr(g.last_error, "first error")); /* the earlier error is kept */
    assert_int_equal(g.completed_at, T0 + 100 + LEASE);
    assert_int_equal(g.attempts, 2);
    assert_string_equal(g.lease_token, "");
    job_row_free(&g);
    /* and the late worker cannot resurrect it */
    assert_int_equal(store_job_complete(s, id, r.lease_token, "{}", T0 + 100 + LEASE + 1),
                     AEG_ELEASE);
    job_row_free(&r);

    /* with no error recorded, the reason still says what happened */
    insert(s, NULL, 1, T0, id);
    claim_ok(s, "w", T0, &r);
    job_row_free(&r);
    claim_none(s, T0 + LEASE);
    get(s, id, &g);
    assert_int_equal(g.state, JOB_DEAD);
    assert_non_null(strstr(g.last_error, "no error recorded"));
    job_row_free(&g);
}

static void test_get_is_tenant_scoped(void **state)
{
    struct store *s = *state;
    char a[ID_UUID_LEN], sys[ID_UUID_LEN];
    insert(s, &org_a, 3, T0, a);
    insert(s, NULL, 3, T0, sys);
    struct job_row g;
    memset(&g, 0, sizeof g);

    assert_int_equal(store_job_get(s, &org_b, a, &g), AEG_ENOTFOUND);
    assert_int_equal(store_job_get(s, &org_a, a, &g), AEG_OK);
    assert_string_equal(g.id, a);
    assert_string_equal(g.org_id, "org_a");
    job_row_free(&g);
    assert_int_equal(store_job_get(s, NULL, a, &g), AEG_OK); /* the operator sees everything */
    job_row_free(&g);

    assert_int_equal(store_job_get(s, &org_a, sys, &g),
                     AEG_ENOTFOUND); /* system jobs are nobody's */
    assert_int_equal(store_job_get(s, NULL, sys, &g), AEG_OK);
    assert_null(g.org_id);
    job_row_free(&g);

    char nope[ID_UUID_LEN];
    id_uuid7(nope);
    assert_int_equal(store_job_get(s, NULL, nope, &g), AEG_ENOTFOUND);
    assert_int_equal(store_job_get(s, &org_a, nope, &g), AEG_ENOTFOUND);
}

static void test_counts(void **state)
{
    struct store *s = *state;
    int64_t c[JOB__NSTATES];
    assert_int_equal(store_job_counts(s, c), AEG_OK);
    for (int i = 0; i < JOB__NSTATES; i++)
        assert_int_equal(c[i], 0);

    char ids[6][ID_UUID_LEN];
    for (int i = 0; i < 6; i++)
        insert(s, i % 2 ? &org_a : &org_b, 3, T0 + i, ids[i]);
    struct job_row r;
    claim_ok(s, "w", T0 + 10, &r); /* ids[0] -> done */
    assert_string_equal(r.id, ids[0]);
    assert_int_equal(store_job_complete(s, r.id, r.lease_token, "{}", T0 + 11), AEG_OK);
    job_row_free(&r);
    claim_ok(s, "w", T0 + 10, &r); /* ids[1] -> dead */
    assert_int_equal(store_job_fail(s, r.id, r.lease_token, "x", -1, T0 + 11), AEG_OK);
    job_row_free(&r);
    claim_ok(s, "w", T0 + 10, &r); /* ids[2] -> running */
    job_row_free(&r);

    assert_int_equal(store_job_counts(s, c), AEG_OK);
    assert_int_equal(c[JOB_QUEUED], 3);
    assert_int_equal(c[JOB_RUNNING], 1);
    assert_int_equal(c[JOB_DONE], 1);
    assert_int_equal(c[JOB_DEAD], 1);
}

struct listed {
    char ids[8][ID_UUID_LEN];
    enum job_state states[8];
    int n;
};

static void on_row(const struct job_row *r, void *arg)
{
    struct listed *l = arg;
    assert_true(l->n < 8);
    memcpy(l->ids[l->n], r->id, ID_UUID_LEN);
    l->states[l->n] = r->state;
    l->n++;
}

static void test_list(void **state)
{
    struct store *s = *state;
    char ids[4][ID_UUID_LEN];
    for (int i = 0; i < 4; i++)
        insert(s, NULL, 3, T0 + i, ids[i]);
    struct job_row r;
    claim_ok(s, "w", T0 + 10, &r); /* ids[0] */
    assert_int_equal(store_job_complete(s, r.id, r.lease_token, "{}", T0 + 11), AEG_OK);
    job_row_free(&r);

    struct listed l = {.n = 0};
    assert_int_equal(store_job_list(s, -1, 10, on_row, &l), AEG_OK);
    assert_int_equal(l.n, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(l.ids[i], ids[3 - i]); /* newest first */

    l.n = 0;
    assert_int_equal(store_job_list(s, -1, 2, on_row, &l), AEG_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.ids[0], ids[3]);

    l.n = 0;
    assert_int_equal(store_job_list(s, JOB_DONE, 10, on_row, &l), AEG_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.ids[0], ids[0]);
    assert_int_equal(l.states[0], JOB_DONE);

    l.n = 0;
    assert_int_equal(store_job_list(s, JOB_DEAD, 10, on_row, &l), AEG_OK);
    assert_int_equal(l.n, 0);
}

/* Makes every claim fail inside its UPDATE (a trigger aborts it), as a full disk or an I/O error
 * would. */
static void break_claims(struct store *s, bool on)
{
    struct db *db = store_conn(s);
    int rc = db_exec(
        db, on ? "CREATE TRIGGER no_claims BEFORE UPDATE ON jobs"
                 " WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'claims are broken'); END"
               : "DROP TRIGGER no_claims");
    store_release(s, db);
    assert_int_equal(rc, AEG_OK);
}

static void test_claim_error_rolls_back(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 3, T0, id);
    break_claims(s, true);
    struct job_row r;
    memset(&r, 0, sizeof r);
    int rc = store_job_claim(s, "w", T0, LEASE, &r);
    assert_true(rc != AEG_OK && rc != AEG_ENOTFOUND);
    struct job_row g;
    get(s, id, &g);
    assert_int_equal(g.state, JOB_QUEUED);
    assert_int_equal(g.attempts, 0);
    job_row_free(&g);
    /* the connections went back to the pool usable (no transaction left open) */
    break_claims(s, false);
    claim_ok(s, "w", T0, &r);
    assert_string_equal(r.id, id);
    assert_int_equal(r.attempts, 1);
    job_row_free(&r);
}

/* store_job_claim must not touch *out when it fails: the worker (jobs/worker.c) passes an
 * uninitialised struct job_row. Run in a child so a bad free() cannot take the test binary down. */
static void test_claim_error_leaves_out_alone(void **state)
{
    struct store *s = *state;
    char id[ID_UUID_LEN];
    insert(s, &org_a, 3, T0, id);
    break_claims(s, true);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct store *cs = NULL;
        if (store_open(url, 1, &cs, err, sizeof err))
            _exit(3);
        /* what an uninitialised stack variable may hold: pointers that are not the heap's */
        static char not_heap[] = "not from malloc";
        struct job_row r;
        memset(&r, 0, sizeof r);
        r.kind = r.payload = r.org_id = not_heap;
        int rc = store_job_claim(cs, "w", T0, LEASE, &r);
        store_close(cs);
        _exit(rc != AEG_OK && rc != AEG_ENOTFOUND && r.kind == not_heap ? 0 : 4);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    break_claims(s, false);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("store_job_claim freed or changed the caller's job_row on a failed claim "
                 "(child %s %d)",
                 WIFEXITED(status) ? "exited with" : "killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names),
        T(test_insert_and_claim),
        T(test_not_before_run_at_and_order),
        T(test_complete_needs_the_token),
        T(test_lease_expiry_reclaims),
        T(test_extend_keeps_the_lease),
        T(test_fail_with_retry_requeues),
        T(test_fail_dead),
        T(test_expired_last_attempt_turns_dead),
        T(test_get_is_tenant_scoped),
        T(test_counts),
        T(test_list),
        T(test_claim_error_rolls_back),
        T(test_claim_error_leaves_out_alone),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Tests src/store/traces.c on a fresh migrated SQLite file per test: the batch writer (inserts,
 * tags, outcomes that replace rather than add), tenant scoping of every read, the list filters and
 * the (created_at, id) cursor, and the queued-batch read the eval.tier1 job uses. */
#include "../unit.h"

#include "core/err.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

static char tmpdir[512];
static int counter;

struct fx {
    struct store *s;
    struct db *db;
};

static const struct tenant A = {.org_id = "org-a"}, B = {.org_id = "org-b"};

static int group_setup(void **state)
{
    unit_tmpdir(tmpdir, sizeof tmpdir, "traces");
    return 0;
}

static int group_teardown(void **state)
{
    unit_rmtree(tmpdir);
    return 0;
}

static void exec_ok(struct db *db, const char *sql)
{
    if (db_exec(db, sql))
        fail_msg("%s: %s", sql, db_errmsg(db));
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof *f);
    char url[700], err[256];
    snprintf(url, sizeof url, "sqlite://%s/t%d.db", tmpdir, ++counter);
    if (store_open(url, 1, &f->s, err, sizeof err))
        fail_msg("store_open: %s", err);
    int applied;
    if (store_migrate(f->s, &applied, err, sizeof err))
        fail_msg("store_migrate: %s", err);
    f->db = store_conn(f->s);
    exec_ok(f->db,
            "INSERT INTO orgs (id, name, plan, status, created_at, updated_at) VALUES "
            "('org-a', 'A', 'free', 'active', 1, 1), ('org-b', 'B', 'free', 'active', 1, 1)");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_release(f->s, f->db);
    store_close(f->s);
    free(f);
    return 0;
}

static int64_t count(struct db *db, const char *sql)
{
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, sql, &q), AEG_OK);
    assert_int_equal(db_step(q), DB_ROW);
    int64_t n = db_col_int64(q, 0);
    db_finalize(q);
    return n;
}

/* Inserts n traces for t in one writer, created at base, base+1, ...; ids copied into ids. */
static void insert(struct db *db, const struct tenant *t, int n, int64_t base,
                   char ids[][ID_UUID_LEN], const char *tag)
{
    struct trace_writer *w;
    assert_int_equal(db_begin_write(db), AEG_OK);
    assert_int_equal(trace_writer_open(db, t, &w), AEG_OK);
    char batch[ID_UUID_LEN];
    id_uuid7(batch);
    for (int i = 0; i < n; i++) {
        struct trace_row r = {.domain = (char *)"trading",
                              .input = (char *)"in",
                              .output = (char *)"out",
                              .status = (char *)"queued",
                              .created_at = base + i};
        id_uuid7(r.id);
        memcpy(r.batch_id, batch, sizeof batch);
        const char *tags[] = {tag, tag}; /* the same tag twice is stored once */
        assert_int_equal(trace_writer_insert(w, &r, tags, tag ? 2 : 0), AEG_OK);
        memcpy(ids[i], r.id, ID_UUID_LEN);
    }
    trace_writer_close(w);
    assert_int_equal(db_commit(db), AEG_OK);
}

static int outcome(struct db *db, const struct tenant *t, const char *id, const char *verdict)
{
    struct trace_result_row rows[2] = {
        {.constraint_id = "c1",
         .verdict = verdict,
         .severity = "high",
         .evidence = "[{\"x\":1}]",
         .tier = 1,
         .applicable = true,
         .time_us = 3},
        {.constraint_id = "c2", .verdict = "pass", .severity = "low", .tier = 1, .time_us = 1},
    };
    struct trace_outcome o = {.status = "evaluated",
                              .verdict = verdict,
                              .spec_version = "1.0",
                              .time_us = 4,
                              .evaluated_at = 99,
                              .results = rows,
                              .nresults = 2};
    struct trace_writer *w;
    assert_int_equal(db_begin_write(db), AEG_OK);
    assert_int_equal(trace_writer_open(db, t, &w), AEG_OK);
    int rc = trace_writer_outcome(w, id, &o);
    trace_writer_close(w);
    assert_int_equal(db_commit(db), AEG_OK);
    return rc;
}

static void collect_id(const struct trace_row *r, void *arg)
{
    json_array_append_new(arg, json_string(r->id));
}

static size_t list(struct db *db, const struct tenant *t, struct trace_filter *f, json_t **ids)
{
    *ids = json_array();
    if (!f->limit)
        f->limit = 100;
    assert_int_equal(store_trace_list(db, t, f, collect_id, *ids), AEG_OK);
    return json_array_size(*ids);
}

static void outcomes_replace_results(void **state)
{
    struct fx *f = *state;
    char ids[1][ID_UUID_LEN];
    insert(f->db, &A, 1, 1000, ids, "t");
    assert_int_equal(outcome(f->db, &A, ids[0], "fail"), AEG_OK);
    assert_int_equal(outcome(f->db, &A, ids[0], "uncertain"), AEG_OK); /* a rerun */
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM trace_results"), 2);
    struct trace_row r;
    assert_int_equal(store_trace_get(f->db, &A, ids[0], &r), AEG_OK);
    assert_string_equal(r.verdict, "uncertain");
    assert_string_equal(r.status, "evaluated");
    assert_int_equal(r.evaluated_at, 99);
    trace_row_free(&r);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM trace_tags"), 1);
    /* another organisation can neither read nor record it */
    assert_int_equal(store_trace_get(f->db, &B, ids[0], &r), AEG_ENOTFOUND);
    assert_int_equal(outcome(f->db, &B, ids[0], "pass"), AEG_ENOTFOUND);
    assert_int_equal(count(f->db, "SELECT COUNT(*) FROM trace_results WHERE verdict = 'uncertain'"),
                     1);
}

static void lists_filter_and_page(void **state)
{
    struct fx *f = *state;
    char a[5][ID_UUID_LEN], b[2][ID_UUID_LEN];
    insert(f->db, &A, 5, 1000, a, "red");
    insert(f->db, &B, 2, 1000, b, "red");
    assert_int_equal(outcome(f->db, &A, a[1], "fail"), AEG_OK);
    assert_int_equal(outcome(f->db, &A, a[3], "pass"), AEG_OK);
    json_t *ids;
    struct trace_filter fl = {0};
    assert_int_equal(list(f->db, &A, &fl, &ids), 5);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), a[4]); /* newest first */
    json_decref(ids);
    fl = (struct trace_filter){.verdict = "fail"};
    assert_int_equal(list(f->db, &A, &fl, &ids), 1);
    json_decref(ids);
    fl = (struct trace_filter){.constraint = "c1"};
    assert_int_equal(list(f->db, &A, &fl, &ids), 1); /* fail or uncertain only */
    assert_string_equal(json_string_value(json_array_get(ids, 0)), a[1]);
    json_decref(ids);
    fl = (struct trace_filter){.constraint = "c2", .constraint_verdict = "pass"};
    assert_int_equal(list(f->db, &A, &fl, &ids), 2);
    json_decref(ids);
    fl = (struct trace_filter){.tag = "red", .since_ms = 1001, .until_ms = 1004};
    assert_int_equal(list(f->db, &A, &fl, &ids), 3);
    json_decref(ids);
    fl = (struct trace_filter){.status = "queued"};
    assert_int_equal(list(f->db, &A, &fl, &ids), 3);
    json_decref(ids);
    /* the cursor: strictly before (created_at, id) */
    fl = (struct trace_filter){.after_created_at = 1003, .after_id = a[3]};
    assert_int_equal(list(f->db, &A, &fl, &ids), 3);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), a[2]);
    json_decref(ids);
    fl = (struct trace_filter){.tag = "red"};
    assert_int_equal(list(f->db, &B, &fl, &ids), 2);
    json_decref(ids);
}

static void count_row(const struct trace_row *r, void *arg)
{
    (void)r;
    ++*(int *)arg;
}

static void the_job_reads_only_what_is_queued(void **state)
{
    struct fx *f = *state;
    char a[3][ID_UUID_LEN];
    insert(f->db, &A, 3, 1000, a, NULL);
    struct trace_row r;
    assert_int_equal(store_trace_get(f->db, &A, a[0], &r), AEG_OK);
    char batch[ID_UUID_LEN];
    memcpy(batch, r.batch_id, sizeof batch);
    trace_row_free(&r);
    assert_int_equal(outcome(f->db, &A, a[0], "pass"), AEG_OK);
    int n = 0;
    assert_int_equal(store_trace_batch_queued(f->db, &A, batch, 100, count_row, &n), AEG_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(store_trace_batch_queued(f->db, &B, batch, 100, count_row, &n), AEG_OK);
    assert_int_equal(n, 0);
    bool anon = true;
    assert_int_equal(store_eval_settings_get(f->db, &A, &anon), AEG_OK);
    assert_false(anon);
    exec_ok(f->db, "INSERT INTO org_eval_settings (org_id, store_anonymized, updated_at) VALUES "
                   "('org-a', 1, 5)");
    assert_int_equal(store_eval_settings_get(f->db, &A, &anon), AEG_OK);
    assert_true(anon);
    assert_int_equal(store_eval_settings_get(f->db, &B, &anon), AEG_OK);
    assert_false(anon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(outcomes_replace_results, setup, teardown),
        cmocka_unit_test_setup_teardown(lists_filter_and_page, setup, teardown),
        cmocka_unit_test_setup_teardown(the_job_reads_only_what_is_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

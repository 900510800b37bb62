/* Tests src/store/migrate.c (and the store.c wrappers) on a fresh SQLite file per test. */
#include "../unit.h"

#include "core/crypto.h"
#include "core/err.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/store.h"

#include <stdint.h>

static char tmpdir[512];
static char url[640];
static int counter;

static int group_setup(void **state)
{
    unit_tmpdir(tmpdir, sizeof tmpdir, "migrate");
    return 0;
}

static int group_teardown(void **state)
{
    unit_rmtree(tmpdir);
    return 0;
}

static int setup(void **state)
{
    snprintf(url, sizeof url, "sqlite://%s/m%d.db", tmpdir, ++counter);
    char err[256];
    struct db *db = NULL;
    if (db_open(url, &db, err, sizeof err))
        fail_msg("db_open: %s", err);
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    db_close(*state);
    return 0;
}

static int latest_version(void)
{
    int v = 0;
    for (int i = 0; i < store_migrations_n; i++)
        if (store_migrations[i].version > v)
            v = store_migrations[i].version;
    return v;
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

static void test_embedded_migrations(void **state)
{
    assert_true(store_migrations_n >= 1);
    for (int i = 0; i < store_migrations_n; i++) {
        assert_true(store_migrations[i].version > 0);
        assert_non_null(store_migrations[i].name);
        assert_true(strlen(store_migrations[i].name) > 0);
        assert_non_null(store_migrations[i].sql);
        assert_true(strlen(store_migrations[i].sql) > 0);
        if (i > 0)
            assert_true(store_migrations[i].version > store_migrations[i - 1].version);
    }
    assert_int_equal(store_migrations[0].version, 1);
}

static void test_fresh_database_all_pending(void **state)
{
    struct db *db = *state;
    struct migrate_status st;
    char err[256] = "";
    assert_int_equal(migrate_status(db, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.pending, store_migrations_n);
    assert_int_equal(st.current, 0);
    assert_int_equal(st.latest, latest_version());
    assert_int_equal(st.unknown, 0);
    assert_int_equal(st.mismatched, 0);
    /* status changes nothing but creating its own bookkeeping table */
    assert_int_equal(count(db, "SELECT COUNT(*) FROM schema_migrations"), 0);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'jobs'"), 0);
}

static void test_apply_then_noop(void **state)
{
    struct db *db = *state;
    char err[256] = "";
    int applied = -1;
    assert_int_equal(migrate_apply(db, &applied, err, sizeof err), AEG_OK);
    assert_int_equal(applied, store_migrations_n);

    struct migrate_status st;
    assert_int_equal(migrate_status(db, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.current, latest_version());
    assert_int_equal(st.mismatched, 0);
    assert_int_equal(st.unknown, 0);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM schema_migrations"), store_migrations_n);
    assert_int_equal(
        count(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'jobs'"), 1);

    /* the recorded checksum is the SHA-256 of the migration text */
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db,
                                "SELECT name, checksum, applied_at FROM schema_migrations"
                                " WHERE version = $1",
                                &q),
                     AEG_OK);
    db_bind_int64(q, 1, store_migrations[0].version);
    assert_int_equal(db_step(q), DB_ROW);
    char want[CRYPTO_SHA256_HEX];
    crypto_sha256_hex(store_migrations[0].sql, strlen(store_migrations[0].sql), want);
    assert_string_equal(db_col_text(q, 0), store_migrations[0].name);
    assert_string_equal(db_col_text(q, 1), want);
    assert_true(db_col_int64(q, 2) > 1600000000000LL);
    db_finalize(q);

    /* applying again is a no-op */
    applied = -1;
    assert_int_equal(migrate_apply(db, &applied, err, sizeof err), AEG_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM schema_migrations"), store_migrations_n);
}

static void test_tampered_checksum_refused(void **state)
{
    struct db *db = *state;
    char err[256] = "";
    int applied = 0;
    assert_int_equal(migrate_apply(db, &applied, err, sizeof err), AEG_OK);
    assert_int_equal(
        db_exec(db, "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1"),
        AEG_OK);

    struct migrate_status st;
    err[0] = '\0';
    assert_int_equal(migrate_status(db, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.mismatched, 1);
    assert_int_equal(st.pending, 0);
    assert_non_null(strstr(err, "0001_"));
    assert_non_null(strstr(err, "changed"));

    err[0] = '\0';
    applied = -1;
    assert_int_equal(migrate_apply(db, &applied, err, sizeof err), AEG_ECONFLICT);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "changed"));

    /* a NULL checksum counts as a mismatch as well */
    assert_int_equal(db_exec(db, "CREATE TABLE sm2 AS SELECT * FROM schema_migrations;"
                                 "DROP TABLE schema_migrations;"
                                 "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                                 " name TEXT, checksum TEXT, applied_at BIGINT);"
                                 "INSERT INTO schema_migrations SELECT version, name, NULL,"
                                 " applied_at FROM sm2"),
                     AEG_OK);
    assert_int_equal(migrate_status(db, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.mismatched, store_migrations_n); /* every row lost its checksum */
}

static void test_unknown_future_version(void **state)
{
    struct db *db = *state;
    char err[256] = "";
    int applied = 0;
    assert_int_equal(migrate_apply(db, &applied, err, sizeof err), AEG_OK);
    assert_int_equal(db_exec(db,
                             "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                             " VALUES (9999, 'from_the_future', 'abc', 0)"),
                     AEG_OK);
    struct migrate_status st;
    assert_int_equal(migrate_status(db, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.unknown, 1);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.mismatched, 0);
    assert_int_equal(st.latest, latest_version());
    assert_int_equal(st.current, 9999);
}

static void test_failing_migration_rolls_back(void **state)
{
    struct db *db = *state;
    /* a table in the way makes migration 0001 (CREATE TABLE jobs) fail */
    assert_int_equal(db_exec(db, "CREATE TABLE jobs (x INTEGER)"), AEG_OK);
    char err[256] = "";
    int applied = -1;
    int rc = migrate_apply(db, &applied, err, sizeof err);
    assert_int_equal(rc, AEG_EDB);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "0001_"));
    assert_non_null(strstr(err, "failed"));
    assert_int_equal(count(db, "SELECT COUNT(*) FROM schema_migrations"), 0);
    /* nothing of the failed migration stayed (its indexes would be created after the table) */
    assert_int_equal(count(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                               " AND name LIKE 'jobs_%'"),
                     0);
    /* and the connection is usable, not stuck in a transaction */
    assert_int_equal(db_begin(db), AEG_OK);
    assert_int_equal(db_rollback(db), AEG_OK);
    struct migrate_status st;
    assert_int_equal(migrate_status(db, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.pending, store_migrations_n);
}

static void test_store_wrappers(void **state)
{
    struct db *db = *state;
    char err[256] = "";
    struct store *s = NULL;
    assert_int_equal(store_open(url, 2, &s, err, sizeof err), AEG_OK);
    assert_int_equal(store_ping(s, err, sizeof err), AEG_OK);
    struct migrate_status st;
    assert_int_equal(store_migrate_status(s, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.pending, store_migrations_n);
    int applied = 0;
    assert_int_equal(store_migrate(s, &applied, err, sizeof err), AEG_OK);
    assert_int_equal(applied, store_migrations_n);
    assert_int_equal(store_migrate_status(s, &st, err, sizeof err), AEG_OK);
    assert_int_equal(st.pending, 0);
    /* the other connection sees the result */
    assert_int_equal(count(db, "SELECT COUNT(*) FROM schema_migrations"), store_migrations_n);
    store_close(s);
    store_close(NULL);

    s = (struct store *)0x1;
    err[0] = '\0';
    assert_int_equal(store_open("nosuch://x", 1, &s, err, sizeof err), AEG_ECONFIG);
    assert_null(s);
    assert_true(strlen(err) > 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_migrations),
        T(test_fresh_database_all_pending),
        T(test_apply_then_noop),
        T(test_tampered_checksum_refused),
        T(test_unknown_future_version),
        T(test_failing_migration_rolls_back),
        T(test_store_wrappers),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

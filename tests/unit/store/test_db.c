/* Tests src/store/db.c and db_sqlite.c against a real SQLite file in a temporary directory. */
#include "../unit.h"

#include "core/err.h"
#include "store/db.h"

#include <pthread.h>
#include <stdint.h>

static char tmpdir[512];
static char url[640];

static int group_setup(void **state)
{
    unit_tmpdir(tmpdir, sizeof tmpdir, "db");
    snprintf(url, sizeof url, "sqlite://%s/test.db", tmpdir);
    return 0;
}

static int group_teardown(void **state)
{
    unit_rmtree(tmpdir);
    return 0;
}

/* Each test gets a fresh database file. */
static int setup(void **state)
{
    char err[256] = "";
    char path[600];
    snprintf(path, sizeof path, "%s/test.db", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/test.db-wal", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/test.db-shm", tmpdir);
    unlink(path);
    struct db *db = NULL;
    int rc = db_open(url, &db, err, sizeof err);
    if (rc)
        fail_msg("db_open(%s): %s", url, err);
    assert_int_equal(db_backend(db), DB_SQLITE);
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    db_close(*state);
    return 0;
}

/* The single text value of a one-row query. */
static char *query_text(struct db *db, const char *sql)
{
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, sql, &q), AEG_OK);
    assert_int_equal(db_step(q), DB_ROW);
    const char *t = db_col_text(q, 0);
    char *copy = xstrdup(t ? t : "(null)");
    db_finalize(q);
    return copy;
}

static int64_t query_int(struct db *db, const char *sql)
{
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, sql, &q), AEG_OK);
    assert_int_equal(db_step(q), DB_ROW);
    int64_t v = db_col_int64(q, 0);
    db_finalize(q);
    return v;
}

static const char *ddl = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                         " n BIGINT, x REAL, note TEXT)";

static void test_open_and_exec(void **state)
{
    struct db *db = *state;
    assert_int_equal(db_exec(db, ddl), AEG_OK);
    assert_int_equal(
        db_exec(db, "INSERT INTO t (name) VALUES ('a'); INSERT INTO t (name) VALUES ('b')"),
        AEG_OK);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 2);
    /* a bad statement is AEG_EDB with the backend's message */
    assert_int_equal(db_exec(db, "CREATE TABLE"), AEG_EDB);
    assert_true(strlen(db_errmsg(db)) > 0);
    assert_int_equal(db_exec(db, "SELECT * FROM no_such_table"), AEG_EDB);
    assert_non_null(strstr(db_errmsg(db), "no_such_table"));
}

static void test_pragmas(void **state)
{
    struct db *db = *state;
    char *mode = query_text(db, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);

    /* foreign keys are enforced, not just recorded */
    assert_int_equal(db_exec(db, "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                                 "CREATE TABLE child (id INTEGER PRIMARY KEY,"
                                 " parent_id INTEGER NOT NULL REFERENCES parent(id))"),
                     AEG_OK);
    assert_int_equal(db_exec(db, "INSERT INTO child (parent_id) VALUES (42)"), AEG_ECONFLICT);
    assert_int_equal(db_exec(db, "INSERT INTO parent (id) VALUES (42);"
                                 "INSERT INTO child (parent_id) VALUES (42)"),
                     AEG_OK);
}

static void test_bind_out_of_order_and_round_trip(void **state)
{
    struct db *db = *state;
    assert_int_equal(db_exec(db, ddl), AEG_OK);
    struct db_stmt *ins = NULL;
    /* $2 comes before $1 in the text; binding is by number, not position */
    assert_int_equal(
        db_prepare(db, "INSERT INTO t (n, name, x, note) VALUES ($2, $1, $3, $4)", &ins), AEG_OK);
    assert_non_null(ins);
    assert_int_equal(db_bind_int64(ins, 2, INT64_MAX), AEG_OK);
    assert_int_equal(db_bind_text(ins, 1, "caf\xc3\xa9 'quoted' \"x\""), AEG_OK);
    assert_int_equal(db_bind_double(ins, 3, -2.5e-3), AEG_OK);
    assert_int_equal(db_bind_null(ins, 4), AEG_OK);
    assert_int_equal(db_step(ins), DB_DONE);
    assert_int_equal(db_changes(ins), 1);

    /* reuse with reset: bindings are cleared, text is copied at bind time */
    assert_int_equal(db_reset(ins), AEG_OK);
    char name[16];
    snprintf(name, sizeof name, "second");
    assert_int_equal(db_bind_text(ins, 1, name), AEG_OK);
    memset(name, 'X', sizeof name - 1); /* the bound copy must not change */
    assert_int_equal(db_bind_int64(ins, 2, INT64_MIN), AEG_OK);
    assert_int_equal(db_bind_double(ins, 3, 1e300), AEG_OK);
    assert_int_equal(db_bind_text(ins, 4, NULL), AEG_OK); /* NULL text binds SQL NULL */
    assert_int_equal(db_step(ins), DB_DONE);
    db_finalize(ins);

    struct db_stmt *q = NULL;
    assert_int_equal(
        db_prepare(db, "SELECT name, n, x, note FROM t WHERE n = $1 OR name = $2 ORDER BY id", &q),
        AEG_OK);
    assert_int_equal(db_bind_text(q, 2, "second"), AEG_OK);
    assert_int_equal(db_bind_int64(q, 1, INT64_MAX), AEG_OK);
    assert_int_equal(db_step(q), DB_ROW);
    assert_string_equal(db_col_text(q, 0), "caf\xc3\xa9 'quoted' \"x\"");
    assert_true(db_col_int64(q, 1) == INT64_MAX);
    assert_true(db_col_double(q, 2) == -2.5e-3);
    assert_true(db_col_is_null(q, 3));
    assert_null(db_col_text(q, 3));
    assert_int_equal(db_col_int64(q, 3), 0);
    assert_false(db_col_is_null(q, 0));
    assert_int_equal(db_step(q), DB_ROW);
    assert_string_equal(db_col_text(q, 0), "second");
    assert_true(db_col_int64(q, 1) == INT64_MIN);
    assert_true(db_col_double(q, 2) == 1e300);
    assert_true(db_col_is_null(q, 3));
    assert_int_equal(db_step(q), DB_DONE);
    db_finalize(q);

    /* the same parameter used twice */
    assert_int_equal(db_prepare(db, "SELECT $1 || '-' || $1", &q), AEG_OK);
    assert_int_equal(db_bind_text(q, 1, "ab"), AEG_OK);
    assert_int_equal(db_step(q), DB_ROW);
    assert_string_equal(db_col_text(q, 0), "ab-ab");
    db_finalize(q);
}

static void test_bind_missing_parameter(void **state)
{
    struct db *db = *state;
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, "SELECT $1", &q), AEG_OK);
    assert_int_equal(db_bind_int64(q, 2, 1), AEG_EDB);
    assert_non_null(strstr(db_errmsg(db), "$2"));
    assert_int_equal(db_bind_text(q, 3, "x"), AEG_EDB);
    db_finalize(q);
    db_finalize(NULL); /* allowed */

    q = (struct db_stmt *)0x1;
    assert_int_equal(db_prepare(db, "SELEC nonsense", &q), AEG_EDB);
    assert_null(q);
    assert_true(strlen(db_errmsg(db)) > 0);
}

static void test_constraint_violation_is_conflict(void **state)
{
    struct db *db = *state;
    assert_int_equal(db_exec(db, ddl), AEG_OK);
    struct db_stmt *ins = NULL;
    assert_int_equal(db_prepare(db, "INSERT INTO t (name) VALUES ($1)", &ins), AEG_OK);
    db_bind_text(ins, 1, "dup");
    assert_int_equal(db_step(ins), DB_DONE);
    db_reset(ins);
    db_bind_text(ins, 1, "dup");
    int rc = db_step(ins);
    assert_true(db_step_failed(rc));
    assert_int_equal(rc, AEG_ECONFLICT);
    assert_non_null(strstr(db_errmsg(db), "UNIQUE"));
    /* NOT NULL is a constraint too */
    db_reset(ins);
    db_bind_null(ins, 1);
    assert_int_equal(db_step(ins), AEG_ECONFLICT);
    db_finalize(ins);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 1);
}

static void test_transactions(void **state)
{
    struct db *db = *state;
    assert_int_equal(db_exec(db, ddl), AEG_OK);

    assert_int_equal(db_begin(db), AEG_OK);
    assert_int_equal(db_exec(db, "INSERT INTO t (name) VALUES ('kept')"), AEG_OK);
    assert_int_equal(db_commit(db), AEG_OK);

    assert_int_equal(db_begin_write(db), AEG_OK);
    assert_int_equal(db_exec(db, "INSERT INTO t (name) VALUES ('dropped')"), AEG_OK);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 2); /* visible inside */
    assert_int_equal(db_rollback(db), AEG_OK);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 1);
    char *name = query_text(db, "SELECT name FROM t");
    assert_string_equal(name, "kept");
    free(name);

    /* committing with no transaction open is an error, not a crash */
    assert_int_equal(db_commit(db), AEG_EDB);

    /* another connection does not see uncommitted rows, then sees committed ones */
    char err[256];
    struct db *other = NULL;
    assert_int_equal(db_open(url, &other, err, sizeof err), AEG_OK);
    assert_int_equal(db_begin_write(db), AEG_OK);
    assert_int_equal(db_exec(db, "INSERT INTO t (name) VALUES ('later')"), AEG_OK);
    assert_int_equal(query_int(other, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(db_commit(db), AEG_OK);
    assert_int_equal(query_int(other, "SELECT COUNT(*) FROM t"), 2);
    db_close(other);
}

static void test_changes(void **state)
{
    struct db *db = *state;
    assert_int_equal(db_exec(db, ddl), AEG_OK);
    assert_int_equal(db_exec(db, "INSERT INTO t (name, n) VALUES ('a', 1), ('b', 1), ('c', 2)"),
                     AEG_OK);
    struct db_stmt *up = NULL;
    assert_int_equal(db_prepare(db, "UPDATE t SET note = 'x' WHERE n = $1", &up), AEG_OK);
    db_bind_int64(up, 1, 1);
    assert_int_equal(db_step(up), DB_DONE);
    assert_int_equal(db_changes(up), 2);
    db_reset(up);
    db_bind_int64(up, 1, 99);
    assert_int_equal(db_step(up), DB_DONE);
    assert_int_equal(db_changes(up), 0);
    db_finalize(up);

    struct db_stmt *del = NULL;
    assert_int_equal(db_prepare(db, "DELETE FROM t", &del), AEG_OK);
    assert_int_equal(db_step(del), DB_DONE);
    assert_int_equal(db_changes(del), 3);
    db_finalize(del);

    /* a SELECT changes nothing, whatever the connection's last write did */
    struct db_stmt *sel = NULL;
    assert_int_equal(db_prepare(db, "SELECT COUNT(*) FROM t", &sel), AEG_OK);
    assert_int_equal(db_step(sel), DB_ROW);
    assert_int_equal(db_step(sel), DB_DONE);
    assert_int_equal(db_changes(sel), 0);
    db_finalize(sel);
}

static void test_bad_urls(void **state)
{
    char err[256];
    struct db *db = (struct db *)0x1;

    err[0] = '\0';
    assert_int_equal(db_open("mysql://localhost/db", &db, err, sizeof err), AEG_ECONFIG);
    assert_null(db);
    assert_non_null(strstr(err, "scheme"));

    err[0] = '\0';
    db = (struct db *)0x1;
    assert_int_equal(db_open("postgres://u:p@localhost/db", &db, err, sizeof err), AEG_ECONFIG);
    assert_null(db);
    assert_non_null(strstr(err, "PostgreSQL"));

    err[0] = '\0';
    assert_int_equal(db_open("postgresql://localhost/db", &db, err, sizeof err), AEG_ECONFIG);
    assert_null(db);
    assert_true(strlen(err) > 0);

    err[0] = '\0';
    assert_int_equal(db_open("sqlite://", &db, err, sizeof err), AEG_ECONFIG);
    assert_null(db);
    assert_true(strlen(err) > 0);

    /* a path whose parent is a regular file cannot be created */
    char file[600], bad[700];
    unit_write_file(tmpdir, "plainfile", "x", file, sizeof file);
    snprintf(bad, sizeof bad, "sqlite://%s/sub/x.db", file);
    err[0] = '\0';
    int rc = db_open(bad, &db, err, sizeof err);
    assert_true(rc == AEG_EIO || rc == AEG_EDB);
    assert_null(db);
    assert_true(strlen(err) > 0);
    unlink(file);

    /* the pool reports the same errors and leaves nothing open */
    struct db_pool *p = (struct db_pool *)0x1;
    err[0] = '\0';
    assert_int_equal(db_pool_open("mysql://x", 3, &p, err, sizeof err), AEG_ECONFIG);
    assert_null(p);
    assert_non_null(strstr(err, "scheme"));
}

static void test_parent_dirs_created(void **state)
{
    char u[700], err[256];
    snprintf(u, sizeof u, "sqlite://%s/a/b/c/nested.db", tmpdir);
    struct db *db = NULL;
    assert_int_equal(db_open(u, &db, err, sizeof err), AEG_OK);
    assert_int_equal(db_exec(db, "CREATE TABLE x (a)"), AEG_OK);
    db_close(db);
    char path[700];
    snprintf(path, sizeof path, "%s/a/b/c/nested.db", tmpdir);
    assert_int_equal(access(path, F_OK), 0);
}

static void test_memory_database(void **state)
{
    char err[256];
    struct db *db = NULL;
    assert_int_equal(db_open("sqlite://:memory:", &db, err, sizeof err), AEG_OK);
    assert_int_equal(db_exec(db, "CREATE TABLE m (a); INSERT INTO m VALUES (7)"), AEG_OK);
    assert_int_equal(query_int(db, "SELECT a FROM m"), 7);
    db_close(db);
}

struct pool_arg {
    struct db_pool *p;
    int loops;
};

static void *pool_user(void *arg)
{
    struct pool_arg *a = arg;
    for (int i = 0; i < a->loops; i++) {
        struct db *db = db_pool_get(a->p);
        struct db_stmt *q = NULL;
        if (db_prepare(db, "INSERT INTO t (name) VALUES ($1)", &q) == AEG_OK) {
            char name[64];
            snprintf(name, sizeof name, "%p-%d", (void *)a, i);
            db_bind_text(q, 1, name);
            db_step(q);
        }
        db_finalize(q);
        db_pool_put(a->p, db);
    }
    return NULL;
}

static void test_pool(void **state)
{
    struct db *db = *state;
    assert_int_equal(db_exec(db, ddl), AEG_OK);
    char err[256];
    struct db_pool *p = NULL;
    assert_int_equal(db_pool_open(url, 2, &p, err, sizeof err), AEG_OK);
    assert_non_null(p);

    /* two distinct connections; both usable */
    struct db *a = db_pool_get(p), *b = db_pool_get(p);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(query_int(a, "SELECT 1"), 1);
    assert_int_equal(query_int(b, "SELECT 2"), 2);
    db_pool_put(p, a);
    struct db *c = db_pool_get(p);
    assert_ptr_equal(c, a); /* the one given back */
    db_pool_put(p, c);
    db_pool_put(p, b);

    /* more threads than connections: get blocks until a put, nothing is lost */
    enum { THREADS = 4, LOOPS = 25 };
    pthread_t th[THREADS];
    struct pool_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct pool_arg){p, LOOPS};
        pthread_create(&th[i], NULL, pool_user, &args[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), THREADS * LOOPS);
    db_pool_close(p);

    /* size < 1 means one connection */
    assert_int_equal(db_pool_open(url, 0, &p, err, sizeof err), AEG_OK);
    a = db_pool_get(p);
    assert_non_null(a);
    db_pool_put(p, a);
    db_pool_close(p);
    db_pool_close(NULL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_and_exec),
        T(test_pragmas),
        T(test_bind_out_of_order_and_round_trip),
        T(test_bind_missing_parameter),
        T(test_constraint_violation_is_conflict),
        T(test_transactions),
        T(test_changes),
        T(test_bad_urls),
        T(test_parent_dirs_created),
        T(test_memory_database),
        T(test_pool),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

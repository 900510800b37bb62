/*
 * db_sqlite: the SQLite backend of store/db.h. Each connection runs in WAL mode with a busy timeout and
 * foreign keys on. Parameters written $1..$N are bound by name, so their order in the SQL does not matter.
 */
#include "store/db_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 10000

struct sq_db {
    struct db base;
    sqlite3 *h;
    char msg[256];
};

struct sq_stmt {
    struct db_stmt base;
    struct sq_db *db;
    sqlite3_stmt *h;
    int64_t changes;
};

static int map_rc(struct sq_db *db, int rc)
{
    snprintf(db->msg, sizeof db->msg, "%s", sqlite3_errmsg(db->h));
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return AEG_ECONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return AEG_EUNAVAIL;
    default:
        return AEG_EDB;
    }
}

/* mkdir -p for the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
    char *copy = xstrdup(path);
    int rc = 0;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0750) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory %s: %s", copy, strerror(errno));
            rc = AEG_EIO;
            break;
        }
        *p = '/';
    }
    free(copy);
    return rc;
}

static int sq_open(const char *url, struct db **out, char *err, size_t errlen)
{
    const char *path = url + strlen("sqlite://");
    if (!*path) {
        snprintf(err, errlen, "sqlite:// URL without a path");
        return AEG_ECONFIG;
    }
    if (strcmp(path, ":memory:") != 0) {
        int rc = make_parent_dirs(path, err, errlen);
        if (rc)
            return rc;
    }
    struct sq_db *db = xcalloc(1, sizeof *db);
    db->base.ops = &db_sqlite_ops;
    db->base.backend = DB_SQLITE;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &db->h, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open SQLite database %s: %s", path,
                 db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        sqlite3_close(db->h);
        free(db);
        return AEG_EDB;
    }
    sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db->h, 1);
    static const char *pragmas = "PRAGMA journal_mode=WAL;"
                                 "PRAGMA synchronous=NORMAL;"
                                 "PRAGMA foreign_keys=ON;";
    char *emsg = NULL;
    if (sqlite3_exec(db->h, pragmas, NULL, NULL, &emsg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure SQLite database %s: %s", path,
                 emsg ? emsg : "unknown error");
        sqlite3_free(emsg);
        sqlite3_close(db->h);
        free(db);
        return AEG_EDB;
    }
    *out = &db->base;
    return AEG_OK;
}

static void sq_close(struct db *d)
{
    struct sq_db *db = (struct sq_db *)d;
    sqlite3_close(db->h);
    free(db);
}

static const char *sq_errmsg(struct db *d)
{
    return ((struct sq_db *)d)->msg;
}

static int sq_exec(struct db *d, const char *sql)
{
    struct sq_db *db = (struct sq_db *)d;
    char *emsg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &emsg);
    if (rc == SQLITE_OK)
        return AEG_OK;
    int code = map_rc(db, rc);
    if (emsg)
        snprintf(db->msg, sizeof db->msg, "%s", emsg);
    sqlite3_free(emsg);
    return code;
}

static int sq_prepare(struct db *d, const char *sql, struct db_stmt **out)
{
    struct sq_db *db = (struct sq_db *)d;
    *out = NULL;
    sqlite3_stmt *h = NULL;
    int rc = sqlite3_prepare_v2(db->h, sql, -1, &h, NULL);
    if (rc != SQLITE_OK)
        return map_rc(db, rc);
    struct sq_stmt *st = xcalloc(1, sizeof *st);
    st->base.ops = &db_sqlite_ops;
    st->db = db;
    st->h = h;
    *out = &st->base;
    return AEG_OK;
}

static int param(struct sq_stmt *st, int idx)
{
    char name[16];
    snprintf(name, sizeof name, "$%d", idx);
    int i = sqlite3_bind_parameter_index(st->h, name);
    if (i == 0)
        snprintf(st->db->msg, sizeof st->db->msg, "statement has no parameter %s", name);
    return i;
}

static int bound(struct sq_stmt *st, int rc)
{
    return rc == SQLITE_OK ? AEG_OK : map_rc(st->db, rc);
}

static int sq_bind_text(struct db_stmt *s, int idx, const char *v)
{
    struct sq_stmt *st = (struct sq_stmt *)s;
    int i = param(st, idx);
    return i ? bound(st, sqlite3_bind_text(st->h, i, v, -1, SQLITE_TRANSIENT)) : AEG_EDB;
}

static int sq_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
    struct sq_stmt *st = (struct sq_stmt *)s;
    int i = param(st, idx);
    return i ? bound(st, sqlite3_bind_int64(st->h, i, v)) : AEG_EDB;
}

static int sq_bind_double(struct db_stmt *s, int idx, double v)
{
    struct sq_stmt *st = (struct sq_stmt *)s;
    int i = param(st, idx);
    return i ? bound(st, sqlite3_bind_double(st->h, i, v)) : AEG_EDB;
}

static int sq_bind_null(struct db_stmt *s, int idx)
{
    struct sq_stmt *st = (struct sq_stmt *)s;
    int i = param(st, idx);
    return i ? bound(st, sqlite3_bind_null(st->h, i)) : AEG_EDB;
}

static int sq_step(struct db_stmt *s)
{
    struct sq_stmt *st = (struct sq_stmt *)s;
    int rc = sqlite3_step(st->h);
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE) {
        /* the connection's count belongs to its last write, which may not be this statement */
        st->changes = sqlite3_stmt_readonly(st->h) ? 0 : sqlite3_changes64(st->db->h);
        return DB_DONE;
    }
    return map_rc(st->db, rc);
}

static const char *sq_col_text(struct db_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(((struct sq_stmt *)s)->h, col);
}

static int64_t sq_col_int64(struct db_stmt *s, int col)
{
    return sqlite3_column_int64(((struct sq_stmt *)s)->h, col);
}

static double sq_col_double(struct db_stmt *s, int col)
{
    return sqlite3_column_double(((struct sq_stmt *)s)->h, col);
}

static bool sq_col_is_null(struct db_stmt *s, int col)
{
    return sqlite3_column_type(((struct sq_stmt *)s)->h, col) == SQLITE_NULL;
}

static int64_t sq_changes(struct db_stmt *s)
{
    return ((struct sq_stmt *)s)->changes;
}

static int sq_reset(struct db_stmt *s)
{
    struct sq_stmt *st = (struct sq_stmt *)s;
    sqlite3_reset(st->h);
    sqlite3_clear_bindings(st->h);
    return AEG_OK;
}

static void sq_finalize(struct db_stmt *s)
{
    struct sq_stmt *st = (struct sq_stmt *)s;
    sqlite3_finalize(st->h);
    free(st);
}

const struct db_ops db_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .errmsg = sq_errmsg,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_text = sq_col_text,
    .col_int64 = sq_col_int64,
    .col_double = sq_col_double,
    .col_is_null = sq_col_is_null,
    .changes = sq_changes,
    .reset = sq_reset,
    .finalize = sq_finalize,
    .begin_write_sql = "BEGIN IMMEDIATE",
};

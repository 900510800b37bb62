/*
 * db: the portable SQL layer. Callers open a database by URL, prepare statements with $1..$N parameters,
 * bind, step and read columns; they never see which backend runs underneath. Backends implement
 * struct db_ops (db_int.h): sqlite:// today (db_sqlite.c), postgres:// later, without touching callers.
 *
 * Only prepared statements: SQL text is never built from user data. db_exec() runs constant SQL only
 * (migrations, pragmas). A struct db is one connection and is used by one thread at a time; struct
 * db_pool hands connections to threads. Errors: functions return AEG_OK or AEG_EDB (AEG_ECONFLICT for
 * a constraint violation, AEG_EUNAVAIL when the database is busy past its timeout); db_errmsg() has the
 * backend's text. Never sees HTTP types.
 */
#ifndef AEGIS_STORE_DB_H
#define AEGIS_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;

enum db_step { DB_ROW = 100, DB_DONE = 101 }; /* outside the AEG_ code range */
enum db_backend { DB_SQLITE, DB_POSTGRES };

/* Opens a connection. On failure returns AEG_ECONFIG/AEG_EDB with the reason in err and *out NULL. */
int db_open(const char *url, struct db **out, char *err, size_t errlen);
void db_close(struct db *db);
enum db_backend db_backend(const struct db *db);
const char *db_errmsg(struct db *db);

/* Runs constant SQL, possibly several statements; no parameters. */
int db_exec(struct db *db, const char *sql);
/* Transactions. db_begin_write takes the write lock up front (SQLite BEGIN IMMEDIATE), so a
 * read-then-write transaction cannot deadlock with another writer. */
int db_begin(struct db *db);
int db_begin_write(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);

/* Prepares one statement with $1..$N parameters. *out is NULL on failure. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
/* Binding: idx is 1-based, matching $idx. Text is copied. */
int db_bind_text(struct db_stmt *st, int idx, const char *s);
int db_bind_int64(struct db_stmt *st, int idx, int64_t v);
int db_bind_double(struct db_stmt *st, int idx, double v);
int db_bind_null(struct db_stmt *st, int idx);
/* Returns DB_ROW, DB_DONE, or an AEG_ error code (> 0 and not DB_ROW/DB_DONE: see db_step_failed). */
int db_step(struct db_stmt *st);
static inline bool db_step_failed(int rc)
{
    return rc != DB_ROW && rc != DB_DONE;
}
/* Column getters for the current row; col is 0-based. Text is valid until the next step/reset/finalize;
 * NULL columns read as NULL text / 0. */
const char *db_col_text(struct db_stmt *st, int col);
int64_t db_col_int64(struct db_stmt *st, int col);
double db_col_double(struct db_stmt *st, int col);
bool db_col_is_null(struct db_stmt *st, int col);
/* Rows changed by the last completed INSERT/UPDATE/DELETE of this statement. */
int64_t db_changes(struct db_stmt *st);
int db_reset(struct db_stmt *st);
void db_finalize(struct db_stmt *st);

/* ---- pool ---------------------------------------------------------------------------------------- */

struct db_pool;
/* Opens `size` connections up front (so a bad URL fails at start). */
int db_pool_open(const char *url, int size, struct db_pool **out, char *err, size_t errlen);
void db_pool_close(struct db_pool *p);
/* Blocks until a connection is free. Every get is paired with a put. */
struct db *db_pool_get(struct db_pool *p);
void db_pool_put(struct db_pool *p, struct db *db);

#endif

#include "store/db_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_open(const char *url, struct db **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!strncmp(url, "sqlite://", 9))
        return db_sqlite_ops.open(url, out, err, errlen);
    if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13)) {
        snprintf(err, errlen, "the PostgreSQL backend is not built yet; use a sqlite:// URL");
        return AEG_ECONFIG;
    }
    snprintf(err, errlen, "unknown database URL scheme (expected sqlite:// or postgres://)");
    return AEG_ECONFIG;
}

void db_close(struct db *db)
{
    if (db)
        db->ops->close(db);
}

enum db_backend db_backend(const struct db *db)
{
    return db->backend;
}

const char *db_errmsg(struct db *db)
{
    return db->ops->errmsg(db);
}

int db_exec(struct db *db, const char *sql)
{
    return db->ops->exec(db, sql);
}

int db_begin(struct db *db)
{
    return db->ops->exec(db, "BEGIN");
}

int db_begin_write(struct db *db)
{
    return db->ops->exec(db, db->ops->begin_write_sql);
}

int db_commit(struct db *db)
{
    return db->ops->exec(db, "COMMIT");
}

int db_rollback(struct db *db)
{
    return db->ops->exec(db, "ROLLBACK");
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    return db->ops->prepare(db, sql, out);
}

int db_bind_text(struct db_stmt *st, int idx, const char *s)
{
    return s ? st->ops->bind_text(st, idx, s) : st->ops->bind_null(st, idx);
}

int db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
    return st->ops->bind_int64(st, idx, v);
}

int db_bind_double(struct db_stmt *st, int idx, double v)
{
    return st->ops->bind_double(st, idx, v);
}

int db_bind_null(struct db_stmt *st, int idx)
{
    return st->ops->bind_null(st, idx);
}

int db_step(struct db_stmt *st)
{
    return st->ops->step(st);
}

const char *db_col_text(struct db_stmt *st, int col)
{
    return st->ops->col_text(st, col);
}

int64_t db_col_int64(struct db_stmt *st, int col)
{
    return st->ops->col_int64(st, col);
}

double db_col_double(struct db_stmt *st, int col)
{
    return st->ops->col_double(st, col);
}

bool db_col_is_null(struct db_stmt *st, int col)
{
    return st->ops->col_is_null(st, col);
}

int64_t db_changes(struct db_stmt *st)
{
    return st->ops->changes(st);
}

int db_reset(struct db_stmt *st)
{
    return st->ops->reset(st);
}

void db_finalize(struct db_stmt *st)
{
    if (st)
        st->ops->finalize(st);
}

/* ---- pool ---------------------------------------------------------------------------------------- */

struct db_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct db **free_list;
    int nfree, size;
};

int db_pool_open(const char *url, int size, struct db_pool **out, char *err, size_t errlen)
{
    *out = NULL;
    if (size < 1)
        size = 1;
    struct db_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->free_list = xcalloc((size_t)size, sizeof *p->free_list);
    for (int i = 0; i < size; i++) {
        int rc = db_open(url, &p->free_list[i], err, errlen);
        if (rc) {
            p->nfree = i;
            p->size = i;
            db_pool_close(p);
            return rc;
        }
    }
    p->nfree = p->size = size;
    *out = p;
    return AEG_OK;
}

void db_pool_close(struct db_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nfree; i++)
        db_close(p->free_list[i]);
    free(p->free_list);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

struct db *db_pool_get(struct db_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    struct db *db = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return db;
}

void db_pool_put(struct db_pool *p, struct db *db)
{
    pthread_mutex_lock(&p->mu);
    p->free_list[p->nfree++] = db;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

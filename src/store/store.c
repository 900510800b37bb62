#include "store/store.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>

struct store {
    struct db_pool *pool;
};

int store_open(const char *url, int pool_size, struct store **out, char *err, size_t errlen)
{
    *out = NULL;
    struct db_pool *pool = NULL;
    int rc = db_pool_open(url, pool_size, &pool, err, errlen);
    if (rc)
        return rc;
    struct store *s = xcalloc(1, sizeof *s);
    s->pool = pool;
    *out = s;
    return AEG_OK;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    db_pool_close(s->pool);
    free(s);
}

struct db *store_conn(struct store *s)
{
    return db_pool_get(s->pool);
}

void store_release(struct store *s, struct db *db)
{
    db_pool_put(s->pool, db);
}

int store_ping(struct store *s, char *err, size_t errlen)
{
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, "SELECT 1", &q);
    if (!rc) {
        int st = db_step(q);
        rc = st == DB_ROW ? AEG_OK : db_step_failed(st) ? st : AEG_EDB;
    }
    if (rc)
        snprintf(err, errlen, "database does not answer: %s", db_errmsg(db));
    db_finalize(q);
    store_release(s, db);
    return rc;
}

int store_migrate(struct store *s, int *applied, char *err, size_t errlen)
{
    struct db *db = store_conn(s);
    int rc = migrate_apply(db, applied, err, errlen);
    store_release(s, db);
    return rc;
}

int store_migrate_status(struct store *s, struct migrate_status *st, char *err, size_t errlen)
{
    struct db *db = store_conn(s);
    int rc = migrate_status(db, st, err, errlen);
    store_release(s, db);
    return rc;
}

int store_tx(struct store *s, int (*body)(struct db *, void *), void *arg)
{
    struct db *db = store_conn(s);
    int rc = db_begin_write(db);
    if (!rc) {
        rc = body(db, arg);
        if (!rc)
            rc = db_commit(db);
        if (rc)
            db_rollback(db);
    }
    store_release(s, db);
    return rc;
}

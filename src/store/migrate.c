#include "store/migrate.h"

#include "core/clock.h"
#include "core/crypto.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const char *create_table = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                  " version INTEGER PRIMARY KEY,"
                                  " name TEXT NOT NULL,"
                                  " checksum TEXT NOT NULL,"
                                  " applied_at BIGINT NOT NULL)";

static const struct migration *find(int version)
{
    for (int i = 0; i < store_migrations_n; i++)
        if (store_migrations[i].version == version)
            return &store_migrations[i];
    return NULL;
}

int migrate_status(struct db *db, struct migrate_status *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    for (int i = 0; i < store_migrations_n; i++)
        if (store_migrations[i].version > st->latest)
            st->latest = store_migrations[i].version;

    int rc = db_exec(db, create_table);
    if (rc) {
        snprintf(err, errlen, "schema_migrations: %s", db_errmsg(db));
        return rc;
    }
    struct db_stmt *q = NULL;
    rc = db_prepare(db, "SELECT version, checksum FROM schema_migrations ORDER BY version", &q);
    if (rc) {
        snprintf(err, errlen, "schema_migrations: %s", db_errmsg(db));
        return rc;
    }
    int seen = 0;
    while ((rc = db_step(q)) == DB_ROW) {
        int v = (int)db_col_int64(q, 0);
        const char *sum = db_col_text(q, 1);
        const struct migration *m = find(v);
        if (v > st->current)
            st->current = v;
        if (!m) {
            st->unknown++;
            continue;
        }
        seen++;
        char want[CRYPTO_SHA256_HEX];
        crypto_sha256_hex(m->sql, strlen(m->sql), want);
        if (!sum || strcmp(sum, want) != 0) {
            st->mismatched++;
            snprintf(err, errlen, "migration %04d_%s was changed after it was applied", v, m->name);
        }
    }
    db_finalize(q);
    if (db_step_failed(rc)) {
        snprintf(err, errlen, "schema_migrations: %s", db_errmsg(db));
        return rc;
    }
    st->pending = store_migrations_n - seen;
    return AEG_OK;
}

static bool applied_already(struct db *db, int version, int *rc)
{
    struct db_stmt *q = NULL;
    *rc = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE version = $1", &q);
    if (*rc)
        return false;
    db_bind_int64(q, 1, version);
    int s = db_step(q);
    db_finalize(q);
    if (db_step_failed(s)) {
        *rc = s;
        return false;
    }
    return s == DB_ROW;
}

int migrate_apply(struct db *db, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    struct migrate_status st;
    int rc = migrate_status(db, &st, err, errlen);
    if (rc)
        return rc;
    if (st.mismatched)
        return AEG_ECONFLICT; /* err already says which */
    for (int i = 0; i < store_migrations_n; i++) {
        const struct migration *m = &store_migrations[i];
        /* The write lock comes first, so two processes migrating at once apply each version once. */
        rc = db_begin_write(db);
        if (rc) {
            snprintf(err, errlen, "migration %04d_%s: %s", m->version, m->name, db_errmsg(db));
            return rc;
        }
        bool done = applied_already(db, m->version, &rc);
        if (!rc && !done) {
            rc = db_exec(db, m->sql);
            if (!rc) {
                char sum[CRYPTO_SHA256_HEX];
                struct db_stmt *ins = NULL;
                rc = db_prepare(db,
                                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                                "VALUES ($1, $2, $3, $4)",
                                &ins);
                if (!rc) {
                    db_bind_int64(ins, 1, m->version);
                    db_bind_text(ins, 2, m->name);
                    db_bind_text(ins, 3, crypto_sha256_hex(m->sql, strlen(m->sql), sum));
                    db_bind_int64(ins, 4, clock_now_ms());
                    int s = db_step(ins);
                    rc = db_step_failed(s) ? s : AEG_OK;
                    db_finalize(ins);
                }
            }
        }
        if (rc) {
            snprintf(err, errlen, "migration %04d_%s failed: %s", m->version, m->name,
                     db_errmsg(db));
            db_rollback(db);
            return rc;
        }
        rc = db_commit(db);
        if (rc) {
            snprintf(err, errlen, "migration %04d_%s: commit failed: %s", m->version, m->name,
                     db_errmsg(db));
            db_rollback(db);
            return rc;
        }
        if (!done)
            (*applied)++;
    }
    return AEG_OK;
}

/*
 * identity: repositories of orgs, users, sessions and api_keys (migrations/0002_identity.sql).
 * Every tenant-scoped statement filters by org_id = tenant->org_id.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

void org_row_free(struct org_row *r)
{
    free(r->name);
    free(r->plan);
    free(r->status);
    memset(r, 0, sizeof *r);
}

void user_row_free(struct user_row *r)
{
    free(r->email);
    free(r->name);
    free(r->role);
    free(r->password_hash);
    memset(r, 0, sizeof *r);
}

void key_row_free(struct key_row *r)
{
    free(r->name);
    free(r->prefix);
    free(r->role);
    free(r->created_by);
    memset(r, 0, sizeof *r);
}

/* Prepares sql, lets `bind` fill parameters, and runs it to completion. */
#define EXEC(db, sql, BINDS)                                                                       \
    do {                                                                                           \
        struct db_stmt *q_ = NULL;                                                                 \
        rc = db_prepare(db, sql, &q_);                                                             \
        if (!rc) {                                                                                 \
            struct db_stmt *q = q_;                                                                \
            BINDS;                                                                                 \
            rc = store_run(q);                                                                     \
            if (!rc)                                                                               \
                changes = db_changes(q);                                                           \
        }                                                                                          \
        db_finalize(q_);                                                                           \
    } while (0)

/* ---- orgs ---------------------------------------------------------------------------------------- */

int store_org_insert(struct db *db, const struct org_row *o)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "INSERT INTO orgs (id, name, plan, status, created_at, updated_at)"
         " VALUES ($1, $2, $3, $4, $5, $5)",
         {
             db_bind_text(q, 1, o->id);
             db_bind_text(q, 2, o->name);
             db_bind_text(q, 3, o->plan ? o->plan : "free");
             db_bind_text(q, 4, o->status ? o->status : "active");
             db_bind_int64(q, 5, o->created_at);
         });
    (void)changes;
    return rc;
}

int store_org_get(struct db *db, const struct tenant *t, struct org_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT id, name, plan, status, created_at, updated_at FROM orgs WHERE id = $1",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        if (!(rc = store_one(q))) {
            memset(out, 0, sizeof *out);
            store_copy_id(out->id, db_col_text(q, 0));
            out->name = store_dup(db_col_text(q, 1));
            out->plan = store_dup(db_col_text(q, 2));
            out->status = store_dup(db_col_text(q, 3));
            out->created_at = db_col_int64(q, 4);
            out->updated_at = db_col_int64(q, 5);
        }
    }
    db_finalize(q);
    return rc;
}

/* ---- users --------------------------------------------------------------------------------------- */

#define USER_COLS "id, org_id, email, name, role, password_hash, created_at, updated_at, last_login_at"

static void read_user(struct db_stmt *q, int c, struct user_row *u)
{
    memset(u, 0, sizeof *u);
    store_copy_id(u->id, db_col_text(q, c + 0));
    store_copy_id(u->org_id, db_col_text(q, c + 1));
    u->email = store_dup(db_col_text(q, c + 2));
    u->name = store_dup(db_col_text(q, c + 3));
    u->role = store_dup(db_col_text(q, c + 4));
    u->password_hash = store_dup(db_col_text(q, c + 5));
    u->created_at = db_col_int64(q, c + 6);
    u->updated_at = db_col_int64(q, c + 7);
    u->last_login_at = db_col_int64(q, c + 8);
}

int store_user_insert(struct db *db, const struct tenant *t, const struct user_row *u)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "INSERT INTO users (id, org_id, email, name, role, password_hash, created_at, updated_at)"
         " VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
         {
             db_bind_text(q, 1, u->id);
             db_bind_text(q, 2, t->org_id);
             db_bind_text(q, 3, u->email);
             db_bind_text(q, 4, u->name);
             db_bind_text(q, 5, u->role);
             db_bind_text(q, 6, u->password_hash);
             db_bind_int64(q, 7, u->created_at);
         });
    (void)changes;
    return rc;
}

static int user_query(struct db *db, const char *sql, const char *a, const char *b,
                      struct user_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, sql, &q);
    if (!rc) {
        db_bind_text(q, 1, a);
        if (b)
            db_bind_text(q, 2, b);
        if (!(rc = store_one(q)))
            read_user(q, 0, out);
    }
    db_finalize(q);
    return rc;
}

int store_user_get(struct db *db, const struct tenant *t, const char *id, struct user_row *out)
{
    return user_query(db, "SELECT " USER_COLS " FROM users WHERE id = $1 AND org_id = $2", id,
                      t->org_id, out);
}

int store_user_by_email(struct db *db, const char *email, struct user_row *out)
{
    return user_query(db, "SELECT " USER_COLS " FROM users WHERE email = $1", email, NULL, out);
}

int store_user_list(struct db *db, const struct tenant *t,
                    void (*fn)(const struct user_row *, void *), void *arg)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT " USER_COLS " FROM users WHERE org_id = $1 ORDER BY created_at, id",
                        &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        while ((st = db_step(q)) == DB_ROW) {
            struct user_row u;
            read_user(q, 0, &u);
            fn(&u, arg);
            user_row_free(&u);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    return rc;
}

int store_user_set_role(struct db *db, const struct tenant *t, const char *id, const char *role,
                        int64_t now)
{
    int rc;
    int64_t changes = 0;
    EXEC(db, "UPDATE users SET role = $3, updated_at = $4 WHERE id = $1 AND org_id = $2", {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        db_bind_text(q, 3, role);
        db_bind_int64(q, 4, now);
    });
    return rc ? rc : changes ? AEG_OK : AEG_ENOTFOUND;
}

int store_user_delete(struct db *db, const struct tenant *t, const char *id)
{
    int rc;
    int64_t changes = 0;
    EXEC(db, "DELETE FROM users WHERE id = $1 AND org_id = $2", {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
    });
    return rc ? rc : changes ? AEG_OK : AEG_ENOTFOUND;
}

int store_user_count_role(struct db *db, const struct tenant *t, const char *role, int64_t *n)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = $2", &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        db_bind_text(q, 2, role);
        if (!(rc = store_one(q)))
            *n = db_col_int64(q, 0);
    }
    db_finalize(q);
    return rc;
}

int store_user_touch_login(struct db *db, const struct tenant *t, const char *id, int64_t now)
{
    int rc;
    int64_t changes = 0;
    EXEC(db, "UPDATE users SET last_login_at = $3 WHERE id = $1 AND org_id = $2", {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        db_bind_int64(q, 3, now);
    });
    (void)changes;
    return rc;
}

int store_user_set_invite(struct db *db, const struct tenant *t, const char *id,
                          const char *invite_hash, int64_t expires_at)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "UPDATE users SET invite_hash = $3, invite_expires_at = $4 WHERE id = $1 AND org_id = $2",
         {
             db_bind_text(q, 1, id);
             db_bind_text(q, 2, t->org_id);
             db_bind_text(q, 3, invite_hash);
             db_bind_int64(q, 4, expires_at);
         });
    return rc ? rc : changes ? AEG_OK : AEG_ENOTFOUND;
}

int store_user_by_invite(struct db *db, const char *invite_hash, int64_t now, struct user_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT " USER_COLS " FROM users WHERE invite_hash = $1"
                        " AND invite_expires_at > $2",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, invite_hash);
        db_bind_int64(q, 2, now);
        if (!(rc = store_one(q)))
            read_user(q, 0, out);
    }
    db_finalize(q);
    return rc;
}

int store_user_accept_invite(struct db *db, const struct tenant *t, const char *id,
                             const char *password_hash, int64_t now)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "UPDATE users SET password_hash = $3, invite_hash = NULL, invite_expires_at = NULL,"
         " updated_at = $4 WHERE id = $1 AND org_id = $2 AND invite_hash IS NOT NULL",
         {
             db_bind_text(q, 1, id);
             db_bind_text(q, 2, t->org_id);
             db_bind_text(q, 3, password_hash);
             db_bind_int64(q, 4, now);
         });
    return rc ? rc : changes ? AEG_OK : AEG_ENOTFOUND;
}

/* ---- sessions ------------------------------------------------------------------------------------ */

int store_session_insert(struct db *db, const struct tenant *t, const struct session_row *r,
                         const char *token_hash)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "INSERT INTO sessions (id, token_hash, org_id, user_id, created_at, expires_at)"
         " VALUES ($1, $2, $3, $4, $5, $6)",
         {
             db_bind_text(q, 1, r->id);
             db_bind_text(q, 2, token_hash);
             db_bind_text(q, 3, t->org_id);
             db_bind_text(q, 4, r->user_id);
             db_bind_int64(q, 5, r->created_at);
             db_bind_int64(q, 6, r->expires_at);
         });
    (void)changes;
    return rc;
}

int store_session_lookup(struct db *db, const char *token_hash, int64_t now,
                         struct session_row *out, struct user_row *user)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT s.id, s.org_id, s.user_id, s.created_at, s.expires_at,"
                        " u.id, u.org_id, u.email, u.name, u.role, u.password_hash, u.created_at,"
                        " u.updated_at, u.last_login_at"
                        " FROM sessions s JOIN users u ON u.id = s.user_id AND u.org_id = s.org_id"
                        " JOIN orgs o ON o.id = s.org_id AND o.status = 'active'"
                        " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, token_hash);
        db_bind_int64(q, 2, now);
        if (!(rc = store_one(q))) {
            memset(out, 0, sizeof *out);
            store_copy_id(out->id, db_col_text(q, 0));
            store_copy_id(out->org_id, db_col_text(q, 1));
            store_copy_id(out->user_id, db_col_text(q, 2));
            out->created_at = db_col_int64(q, 3);
            out->expires_at = db_col_int64(q, 4);
            read_user(q, 5, user);
        }
    }
    db_finalize(q);
    return rc;
}

int store_session_revoke(struct db *db, const struct tenant *t, const char *id, int64_t now)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL",
         {
             db_bind_text(q, 1, id);
             db_bind_text(q, 2, t->org_id);
             db_bind_int64(q, 3, now);
         });
    return rc ? rc : changes ? AEG_OK : AEG_ENOTFOUND;
}

int store_session_revoke_user(struct db *db, const struct tenant *t, const char *user_id,
                              int64_t now)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND org_id = $2"
         " AND revoked_at IS NULL",
         {
             db_bind_text(q, 1, user_id);
             db_bind_text(q, 2, t->org_id);
             db_bind_int64(q, 3, now);
         });
    (void)changes;
    return rc;
}

/* ---- API keys ------------------------------------------------------------------------------------ */

#define KEY_COLS                                                                                   \
    "id, org_id, name, prefix, role, created_by, created_at, expires_at, revoked_at, last_used_at"

static void read_key(struct db_stmt *q, struct key_row *k)
{
    memset(k, 0, sizeof *k);
    store_copy_id(k->id, db_col_text(q, 0));
    store_copy_id(k->org_id, db_col_text(q, 1));
    k->name = store_dup(db_col_text(q, 2));
    k->prefix = store_dup(db_col_text(q, 3));
    k->role = store_dup(db_col_text(q, 4));
    k->created_by = store_dup(db_col_text(q, 5));
    k->created_at = db_col_int64(q, 6);
    k->expires_at = db_col_int64(q, 7);
    k->revoked_at = db_col_int64(q, 8);
    k->last_used_at = db_col_int64(q, 9);
}

int store_key_insert(struct db *db, const struct tenant *t, const struct key_row *k,
                     const char *key_hash)
{
    int rc;
    int64_t changes = 0;
    EXEC(db,
         "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, role, created_by, created_at,"
         " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
         {
             db_bind_text(q, 1, k->id);
             db_bind_text(q, 2, t->org_id);
             db_bind_text(q, 3, k->name);
             db_bind_text(q, 4, k->prefix);
             db_bind_text(q, 5, key_hash);
             db_bind_text(q, 6, k->role);
             db_bind_text(q, 7, k->created_by);
             db_bind_int64(q, 8, k->created_at);
             if (k->expires_at)
                 db_bind_int64(q, 9, k->expires_at);
             else
                 db_bind_null(q, 9);
         });
    (void)changes;
    return rc;
}

int store_key_lookup(struct db *db, const char *key_hash, int64_t now, struct key_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT k.id, k.org_id, k.name, k.prefix, k.role, k.created_by, k.created_at,"
                        " k.expires_at, k.revoked_at, k.last_used_at FROM api_keys k"
                        " JOIN orgs o ON o.id = k.org_id AND o.status = 'active'"
                        " WHERE k.key_hash = $1 AND k.revoked_at IS NULL"
                        " AND (k.expires_at IS NULL OR k.expires_at > $2)",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, key_hash);
        db_bind_int64(q, 2, now);
        if (!(rc = store_one(q)))
            read_key(q, out);
    }
    db_finalize(q);
    return rc;
}

int store_key_get(struct db *db, const struct tenant *t, const char *id, struct key_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, "SELECT " KEY_COLS " FROM api_keys WHERE id = $1 AND org_id = $2", &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        if (!(rc = store_one(q)))
            read_key(q, out);
    }
    db_finalize(q);
    return rc;
}

int store_key_list(struct db *db, const struct tenant *t,
                   void (*fn)(const struct key_row *, void *), void *arg)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT " KEY_COLS " FROM api_keys WHERE org_id = $1 ORDER BY created_at, id",
                        &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        while ((st = db_step(q)) == DB_ROW) {
            struct key_row k;
            read_key(q, &k);
            fn(&k, arg);
            key_row_free(&k);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    return rc;
}

int store_key_revoke(struct db *db, const struct tenant *t, const char *id, int64_t now)
{
    struct key_row k;
    int rc = store_key_get(db, t, id, &k);
    if (rc)
        return rc;
    bool revoked = k.revoked_at != 0;
    key_row_free(&k);
    if (revoked)
        return AEG_ECONFLICT;
    int64_t changes = 0;
    EXEC(db, "UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND org_id = $2", {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        db_bind_int64(q, 3, now);
    });
    return rc ? rc : changes ? AEG_OK : AEG_ENOTFOUND;
}

int store_key_touch(struct db *db, const char *id, int64_t now)
{
    int rc;
    int64_t changes = 0;
    EXEC(db, "UPDATE api_keys SET last_used_at = $2 WHERE id = $1", {
        db_bind_text(q, 1, id);
        db_bind_int64(q, 2, now);
    });
    (void)changes;
    return rc;
}

/*
 * jobs: the repository of the persistent job queue (table `jobs`, migrations/0001_jobs.sql).
 * Claiming runs in one write transaction: on SQLite BEGIN IMMEDIATE serialises claimers; the statement
 * shape (UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING) also works on PostgreSQL, where the
 * sub-select gains FOR UPDATE SKIP LOCKED.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_names[JOB__NSTATES] = {"queued", "running", "done", "dead"};

const char *job_state_name(enum job_state s)
{
    return (unsigned)s < JOB__NSTATES ? state_names[s] : "unknown";
}

int job_state_parse(const char *s)
{
    for (int i = 0; i < JOB__NSTATES; i++)
        if (s && !strcmp(s, state_names[i]))
            return i;
    return -1;
}

void job_row_free(struct job_row *r)
{
    free(r->org_id);
    free(r->kind);
    free(r->payload);
    free(r->lease_owner);
    free(r->last_error);
    free(r->result);
    memset(r, 0, sizeof *r);
}

#define JOB_COLS                                                                                   \
    "id, org_id, kind, payload, state, attempts, max_attempts, run_at, lease_until, lease_token,"  \
    " lease_owner, last_error, result, created_at, updated_at, started_at, completed_at"

static void read_row(struct db_stmt *q, struct job_row *r)
{
    memset(r, 0, sizeof *r);
    store_copy_id(r->id, db_col_text(q, 0));
    r->org_id = store_dup(db_col_text(q, 1));
    r->kind = store_dup(db_col_text(q, 2));
    r->payload = store_dup(db_col_text(q, 3));
    int st = job_state_parse(db_col_text(q, 4));
    r->state = st < 0 ? JOB_DEAD : (enum job_state)st;
    r->attempts = (int)db_col_int64(q, 5);
    r->max_attempts = (int)db_col_int64(q, 6);
    r->run_at = db_col_int64(q, 7);
    r->lease_until = db_col_int64(q, 8);
    store_copy_id(r->lease_token, db_col_text(q, 9));
    r->lease_owner = store_dup(db_col_text(q, 10));
    r->last_error = store_dup(db_col_text(q, 11));
    r->result = store_dup(db_col_text(q, 12));
    r->created_at = db_col_int64(q, 13);
    r->updated_at = db_col_int64(q, 14);
    r->started_at = db_col_int64(q, 15);
    r->completed_at = db_col_int64(q, 16);
}

int store_job_insert_db(struct db *db, const struct tenant *t, const char *kind, const char *payload,
                        int max_attempts, int64_t run_at, char id_out[ID_UUID_LEN])
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "INSERT INTO jobs (id, org_id, kind, payload, state, max_attempts, run_at,"
                        " created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, $6, $6, $6)",
                        &q);
    if (!rc) {
        id_uuid7(id_out);
        db_bind_text(q, 1, id_out);
        db_bind_text(q, 2, t ? t->org_id : NULL);
        db_bind_text(q, 3, kind);
        db_bind_text(q, 4, payload ? payload : "{}");
        db_bind_int64(q, 5, max_attempts);
        db_bind_int64(q, 6, run_at);
        rc = store_run(q);
    }
    db_finalize(q);
    return rc;
}

int store_job_insert(struct store *s, const struct tenant *t, const char *kind, const char *payload,
                     int max_attempts, int64_t run_at, char id_out[ID_UUID_LEN])
{
    struct db *db = store_conn(s);
    int rc = store_job_insert_db(db, t, kind, payload, max_attempts, run_at, id_out);
    store_release(s, db);
    return rc;
}

int store_job_claim(struct store *s, const char *owner, int64_t now, int64_t lease_ms,
                    struct job_row *out)
{
    struct db *db = store_conn(s);
    struct db_stmt *dead = NULL, *claim = NULL;
    int rc = db_begin_write(db);
    if (rc)
        goto out;
    /* A worker died holding the lease of a job's last attempt: the job is dead, error kept. */
    rc = db_prepare(db,
                    "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_token = NULL,"
                    " lease_until = NULL, completed_at = $1, updated_at = $1,"
                    " last_error = 'lease expired on the last attempt (the worker stopped): '"
                    " || COALESCE(last_error, 'no error recorded')"
                    " WHERE state = 'running' AND lease_until <= $1 AND attempts >= max_attempts",
                    &dead);
    if (rc)
        goto rollback;
    db_bind_int64(dead, 1, now);
    if ((rc = store_run(dead)))
        goto rollback;
    const char *sql = db_backend(db) == DB_POSTGRES
                          ? "UPDATE jobs SET state = 'running', attempts = attempts + 1,"
                            " lease_owner = $2, lease_token = $3, lease_until = $4, started_at = $1,"
                            " updated_at = $1 WHERE id = (SELECT id FROM jobs WHERE"
                            " (state = 'queued' AND run_at <= $1) OR (state = 'running' AND"
                            " lease_until <= $1) ORDER BY priority DESC, run_at, id LIMIT 1"
                            " FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS
                          : "UPDATE jobs SET state = 'running', attempts = attempts + 1,"
                            " lease_owner = $2, lease_token = $3, lease_until = $4, started_at = $1,"
                            " updated_at = $1 WHERE id = (SELECT id FROM jobs WHERE"
                            " (state = 'queued' AND run_at <= $1) OR (state = 'running' AND"
                            " lease_until <= $1) ORDER BY priority DESC, run_at, id LIMIT 1)"
                            " RETURNING " JOB_COLS;
    rc = db_prepare(db, sql, &claim);
    if (rc)
        goto rollback;
    char token[ID_UUID_LEN];
    db_bind_int64(claim, 1, now);
    db_bind_text(claim, 2, owner);
    db_bind_text(claim, 3, id_uuid7(token));
    db_bind_int64(claim, 4, now + lease_ms);
    int st = db_step(claim);
    bool filled = false;
    if (st == DB_ROW) {
        read_row(claim, out);
        filled = true;
        st = db_step(claim); /* finish the statement before committing */
    } else if (st == DB_DONE) {
        rc = AEG_ENOTFOUND;
    }
    if (db_step_failed(st)) {
        rc = st;
        if (filled) /* *out is the caller's until we filled it */
            job_row_free(out);
        goto rollback;
    }
    db_finalize(claim);
    claim = NULL;
    int crc = db_commit(db);
    if (crc) {
        if (rc == AEG_OK)
            job_row_free(out);
        rc = crc;
        goto rollback;
    }
    goto out;
rollback:
    db_finalize(claim);
    claim = NULL;
    db_rollback(db);
out:
    db_finalize(dead);
    db_finalize(claim);
    store_release(s, db);
    return rc;
}

/* Runs an UPDATE guarded by the lease token; AEG_ELEASE when it matched no row. */
static int guarded(struct store *s, const char *sql, const char *id, const char *token,
                   const char *text, int64_t t1, int64_t t2)
{
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, sql, &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, token);
        if (text)
            db_bind_text(q, 3, text);
        db_bind_int64(q, 4, t1);
        if (t2 >= 0)
            db_bind_int64(q, 5, t2);
        rc = store_run(q);
        if (!rc && db_changes(q) == 0)
            rc = AEG_ELEASE;
    }
    db_finalize(q);
    store_release(s, db);
    return rc;
}

int store_job_complete(struct store *s, const char *id, const char *token, const char *result,
                       int64_t now)
{
    return guarded(s,
                   "UPDATE jobs SET state = 'done', result = $3, completed_at = $4, updated_at = $4,"
                   " lease_owner = NULL, lease_token = NULL, lease_until = NULL"
                   " WHERE id = $1 AND lease_token = $2 AND state = 'running'",
                   id, token, result ? result : "null", now, -1);
}

int store_job_fail(struct store *s, const char *id, const char *token, const char *error,
                   int64_t retry_at, int64_t now)
{
    if (retry_at < 0)
        return guarded(s,
                       "UPDATE jobs SET state = 'dead', last_error = $3, completed_at = $4,"
                       " updated_at = $4, lease_owner = NULL, lease_token = NULL, lease_until = NULL"
                       " WHERE id = $1 AND lease_token = $2 AND state = 'running'",
                       id, token, error, now, -1);
    return guarded(s,
                   "UPDATE jobs SET state = 'queued', last_error = $3, updated_at = $4, run_at = $5,"
                   " lease_owner = NULL, lease_token = NULL, lease_until = NULL"
                   " WHERE id = $1 AND lease_token = $2 AND state = 'running'",
                   id, token, error, now, retry_at);
}

int store_job_extend(struct store *s, const char *id, const char *token, int64_t lease_until)
{
    return guarded(s,
                   "UPDATE jobs SET lease_until = $4 WHERE id = $1 AND lease_token = $2"
                   " AND state = 'running'",
                   id, token, NULL, lease_until, -1);
}

int store_job_get(struct store *s, const struct tenant *t, const char *id, struct job_row *out)
{
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        t ? "SELECT " JOB_COLS " FROM jobs WHERE id = $1 AND org_id = $2"
                          : "SELECT " JOB_COLS " FROM jobs WHERE id = $1",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        if (t)
            db_bind_text(q, 2, t->org_id);
        int st = db_step(q);
        if (st == DB_ROW)
            read_row(q, out);
        else
            rc = st == DB_DONE ? AEG_ENOTFOUND : st;
    }
    db_finalize(q);
    store_release(s, db);
    return rc;
}

int store_job_counts(struct store *s, int64_t counts[JOB__NSTATES])
{
    memset(counts, 0, sizeof(int64_t) * JOB__NSTATES);
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, "SELECT state, COUNT(*) FROM jobs GROUP BY state", &q);
    int st = DB_DONE;
    while (!rc && (st = db_step(q)) == DB_ROW) {
        int i = job_state_parse(db_col_text(q, 0));
        if (i >= 0)
            counts[i] = db_col_int64(q, 1);
    }
    if (!rc && db_step_failed(st))
        rc = st;
    db_finalize(q);
    store_release(s, db);
    return rc;
}

int store_job_list(struct store *s, int state, int limit, void (*fn)(const struct job_row *, void *),
                   void *arg)
{
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        state >= 0 ? "SELECT " JOB_COLS " FROM jobs WHERE state = $2"
                                     " ORDER BY created_at DESC, id DESC LIMIT $1"
                                   : "SELECT " JOB_COLS " FROM jobs"
                                     " ORDER BY created_at DESC, id DESC LIMIT $1",
                        &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_int64(q, 1, limit);
        if (state >= 0)
            db_bind_text(q, 2, job_state_name((enum job_state)state));
        while ((st = db_step(q)) == DB_ROW) {
            struct job_row r;
            read_row(q, &r);
            fn(&r, arg);
            job_row_free(&r);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    store_release(s, db);
    return rc;
}

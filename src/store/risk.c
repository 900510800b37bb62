/*
 * risk: repositories of the scenario library and simulation runs (migrations/0003_risk.sql).
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void scenario_row_free(struct scenario_row *r)
{
    free(r->name);
    free(r->document);
    memset(r, 0, sizeof *r);
}

void simrun_row_free(struct simrun_row *r)
{
    free(r->name);
    free(r->status);
    free(r->parameters);
    free(r->results);
    free(r->error);
    free(r->created_by);
    memset(r, 0, sizeof *r);
}

static int changed(struct db_stmt *q, int rc)
{
    if (rc)
        return rc;
    return db_changes(q) ? AEG_OK : AEG_ENOTFOUND;
}

int store_scenario_insert(struct db *db, const struct tenant *t, const struct scenario_row *r)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "INSERT INTO scenarios (id, org_id, name, document, created_at, updated_at)"
                        " VALUES ($1, $2, $3, $4, $5, $5)",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, r->id);
        db_bind_text(q, 2, t->org_id);
        db_bind_text(q, 3, r->name);
        db_bind_text(q, 4, r->document);
        db_bind_int64(q, 5, r->created_at);
        rc = store_run(q);
    }
    db_finalize(q);
    return rc;
}

static void read_scenario(struct db_stmt *q, struct scenario_row *r)
{
    memset(r, 0, sizeof *r);
    store_copy_id(r->id, db_col_text(q, 0));
    r->name = store_dup(db_col_text(q, 1));
    r->document = store_dup(db_col_text(q, 2));
    r->created_at = db_col_int64(q, 3);
    r->updated_at = db_col_int64(q, 4);
}

int store_scenario_get(struct db *db, const struct tenant *t, const char *id, struct scenario_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT id, name, document, created_at, updated_at FROM scenarios"
                        " WHERE id = $1 AND org_id = $2",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        if (!(rc = store_one(q)))
            read_scenario(q, out);
    }
    db_finalize(q);
    return rc;
}

int store_scenario_list(struct db *db, const struct tenant *t,
                        void (*fn)(const struct scenario_row *, void *), void *arg)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT id, name, document, created_at, updated_at FROM scenarios"
                        " WHERE org_id = $1 ORDER BY name",
                        &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        while ((st = db_step(q)) == DB_ROW) {
            struct scenario_row r;
            read_scenario(q, &r);
            fn(&r, arg);
            scenario_row_free(&r);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    return rc;
}

int store_scenario_update(struct db *db, const struct tenant *t, const struct scenario_row *r)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "UPDATE scenarios SET name = $3, document = $4, updated_at = $5"
                        " WHERE id = $1 AND org_id = $2",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, r->id);
        db_bind_text(q, 2, t->org_id);
        db_bind_text(q, 3, r->name);
        db_bind_text(q, 4, r->document);
        db_bind_int64(q, 5, r->updated_at);
        rc = changed(q, store_run(q));
    }
    db_finalize(q);
    return rc;
}

int store_scenario_delete(struct db *db, const struct tenant *t, const char *id)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, "DELETE FROM scenarios WHERE id = $1 AND org_id = $2", &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        rc = changed(q, store_run(q));
    }
    db_finalize(q);
    return rc;
}

#define RUN_COLS                                                                                   \
    "id, org_id, name, status, parameters, results, error, created_by, created_at, started_at,"    \
    " completed_at, job_id"

static void read_run(struct db_stmt *q, struct simrun_row *r)
{
    memset(r, 0, sizeof *r);
    store_copy_id(r->id, db_col_text(q, 0));
    store_copy_id(r->org_id, db_col_text(q, 1));
    r->name = store_dup(db_col_text(q, 2));
    r->status = store_dup(db_col_text(q, 3));
    r->parameters = store_dup(db_col_text(q, 4));
    r->results = store_dup(db_col_text(q, 5));
    r->error = store_dup(db_col_text(q, 6));
    r->created_by = store_dup(db_col_text(q, 7));
    r->created_at = db_col_int64(q, 8);
    r->started_at = db_col_int64(q, 9);
    r->completed_at = db_col_int64(q, 10);
    store_copy_id(r->job_id, db_col_text(q, 11));
}

static int run_insert(struct db *db, const char *table, const struct tenant *t,
                      const struct simrun_row *r)
{
    struct db_stmt *q = NULL;
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (id, org_id, name, status, parameters, created_by, created_at, job_id)"
             " VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7)",
             table);
    int rc = db_prepare(db, sql, &q);
    if (!rc) {
        db_bind_text(q, 1, r->id);
        db_bind_text(q, 2, t->org_id);
        db_bind_text(q, 3, r->name);
        db_bind_text(q, 4, r->parameters);
        db_bind_text(q, 5, r->created_by);
        db_bind_int64(q, 6, r->created_at);
        db_bind_text(q, 7, r->job_id[0] ? r->job_id : NULL);
        rc = store_run(q);
    }
    db_finalize(q);
    return rc;
}

static int run_get(struct db *db, const char *table, const struct tenant *t, const char *id,
                   struct simrun_row *out)
{
    struct db_stmt *q = NULL;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT " RUN_COLS " FROM %s WHERE id = $1 AND org_id = $2", table);
    int rc = db_prepare(db, sql, &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        if (!(rc = store_one(q)))
            read_run(q, out);
    }
    db_finalize(q);
    return rc;
}

static int run_list(struct db *db, const char *table, const struct tenant *t, int limit,
                    void (*fn)(const struct simrun_row *, void *), void *arg)
{
    struct db_stmt *q = NULL;
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT id, org_id, name, status, parameters, NULL, error, created_by, created_at,"
             " started_at, completed_at, job_id FROM %s WHERE org_id = $1"
             " ORDER BY created_at DESC, id DESC LIMIT $2",
             table);
    int rc = db_prepare(db, sql, &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        db_bind_int64(q, 2, limit);
        while ((st = db_step(q)) == DB_ROW) {
            struct simrun_row r;
            read_run(q, &r);
            fn(&r, arg);
            simrun_row_free(&r);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    return rc;
}

static int run_start(struct db *db, const char *table, const struct tenant *t, const char *id,
                     int64_t now)
{
    struct db_stmt *q = NULL;
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE %s SET status = 'running', started_at = $3 WHERE id = $1 AND org_id = $2",
             table);
    int rc = db_prepare(db, sql, &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        db_bind_int64(q, 3, now);
        rc = changed(q, store_run(q));
    }
    db_finalize(q);
    return rc;
}

static int run_finish(struct db *db, const char *table, const struct tenant *t, const char *id,
                      const char *status, const char *results, const char *error, int64_t now)
{
    struct db_stmt *q = NULL;
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE %s SET status = $3, results = $4, error = $5, completed_at = $6"
             " WHERE id = $1 AND org_id = $2",
             table);
    int rc = db_prepare(db, sql, &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        db_bind_text(q, 3, status);
        db_bind_text(q, 4, results);
        db_bind_text(q, 5, error);
        db_bind_int64(q, 6, now);
        rc = changed(q, store_run(q));
    }
    db_finalize(q);
    return rc;
}

/* The two kinds of run share one shape; the table names are constants, never input. */
#define RUN_API(prefix, table)                                                                     \
    int store_##prefix##_insert(struct db *db, const struct tenant *t, const struct simrun_row *r) \
    {                                                                                              \
        return run_insert(db, table, t, r);                                                        \
    }                                                                                              \
    int store_##prefix##_get(struct db *db, const struct tenant *t, const char *id,                \
                             struct simrun_row *out)                                               \
    {                                                                                              \
        return run_get(db, table, t, id, out);                                                     \
    }                                                                                              \
    int store_##prefix##_list(struct db *db, const struct tenant *t, int limit,                    \
                              void (*fn)(const struct simrun_row *, void *), void *arg)            \
    {                                                                                              \
        return run_list(db, table, t, limit, fn, arg);                                             \
    }                                                                                              \
    int store_##prefix##_start(struct db *db, const struct tenant *t, const char *id, int64_t now) \
    {                                                                                              \
        return run_start(db, table, t, id, now);                                                   \
    }                                                                                              \
    int store_##prefix##_finish(struct db *db, const struct tenant *t, const char *id,             \
                                const char *status, const char *results, const char *error,        \
                                int64_t now)                                                       \
    {                                                                                              \
        return run_finish(db, table, t, id, status, results, error, now);                          \
    }

RUN_API(simrun, "simulation_runs")
RUN_API(optrun, "optimization_runs")

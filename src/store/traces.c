/*
 * traces: repositories of AI-output traces, their per-constraint results and tags, and the
 * organisation's evaluation settings (migrations/0005_traces.sql). Every statement is scoped by the
 * tenant's org_id. The list query is assembled from constant fragments chosen by which filters are
 * set; values are always bound parameters.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void trace_row_free(struct trace_row *r)
{
    free(r->domain);
    free(r->external_id);
    free(r->model);
    free(r->tags);
    free(r->input);
    free(r->output);
    free(r->metadata);
    free(r->verdict);
    free(r->status);
    free(r->error);
    free(r->spec_version);
    memset(r, 0, sizeof *r);
}

struct trace_writer {
    const struct tenant *t;
    struct db_stmt *ins, *tag, *del, *res, *upd;
};

void trace_writer_close(struct trace_writer *w)
{
    if (!w)
        return;
    db_finalize(w->ins);
    db_finalize(w->tag);
    db_finalize(w->del);
    db_finalize(w->res);
    db_finalize(w->upd);
    free(w);
}

int trace_writer_open(struct db *db, const struct tenant *t, struct trace_writer **out)
{
    struct trace_writer *w = xcalloc(1, sizeof *w);
    w->t = t;
    int rc = db_prepare(db,
                        "INSERT INTO traces (id, org_id, batch_id, domain, external_id, model,"
                        " latency_ms, cost, tags, input, output, output_json, metadata, verdict,"
                        " status, error, spec_version, time_us, anonymized, job_id, created_at,"
                        " evaluated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
                        " $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
                        &w->ins);
    if (!rc)
        rc = db_prepare(db, "INSERT INTO trace_tags (trace_id, org_id, tag) VALUES ($1, $2, $3)",
                        &w->tag);
    if (!rc)
        rc = db_prepare(db, "DELETE FROM trace_results WHERE trace_id = $1 AND org_id = $2",
                        &w->del);
    if (!rc)
        rc = db_prepare(db,
                        "INSERT INTO trace_results (trace_id, org_id, constraint_id, verdict,"
                        " severity, tier, applicable, evidence, time_us, constraint_index)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        &w->res);
    if (!rc)
        rc =
            db_prepare(db,
                       "UPDATE traces SET status = $3, verdict = $4, error = $5, spec_version = $6,"
                       " time_us = $7, evaluated_at = $8 WHERE id = $1 AND org_id = $2",
                       &w->upd);
    if (rc) {
        trace_writer_close(w);
        w = NULL;
    }
    *out = w;
    return rc;
}

static void bind_opt_double(struct db_stmt *q, int idx, bool has, double v)
{
    if (has)
        db_bind_double(q, idx, v);
    else
        db_bind_null(q, idx);
}

int trace_writer_insert(struct trace_writer *w, const struct trace_row *r, const char *const *tags,
                        size_t ntags)
{
    struct db_stmt *q = w->ins;
    db_reset(q);
    db_bind_text(q, 1, r->id);
    db_bind_text(q, 2, w->t->org_id);
    db_bind_text(q, 3, r->batch_id);
    db_bind_text(q, 4, r->domain);
    db_bind_text(q, 5, r->external_id);
    db_bind_text(q, 6, r->model);
    bind_opt_double(q, 7, r->has_latency, r->latency_ms);
    bind_opt_double(q, 8, r->has_cost, r->cost);
    db_bind_text(q, 9, r->tags);
    db_bind_text(q, 10, r->input);
    db_bind_text(q, 11, r->output);
    db_bind_int64(q, 12, r->output_json);
    db_bind_text(q, 13, r->metadata);
    db_bind_text(q, 14, r->verdict);
    db_bind_text(q, 15, r->status);
    db_bind_text(q, 16, r->error);
    db_bind_text(q, 17, r->spec_version);
    if (r->evaluated_at)
        db_bind_int64(q, 18, r->time_us);
    else
        db_bind_null(q, 18);
    db_bind_int64(q, 19, r->anonymized);
    db_bind_text(q, 20, r->job_id[0] ? r->job_id : NULL);
    db_bind_int64(q, 21, r->created_at);
    if (r->evaluated_at)
        db_bind_int64(q, 22, r->evaluated_at);
    else
        db_bind_null(q, 22);
    int rc = store_run(q);
    for (size_t i = 0; !rc && i < ntags; i++) {
        /* a tag given twice is one tag */
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp(tags[i], tags[j]);
        if (dup)
            continue;
        db_reset(w->tag);
        db_bind_text(w->tag, 1, r->id);
        db_bind_text(w->tag, 2, w->t->org_id);
        db_bind_text(w->tag, 3, tags[i]);
        rc = store_run(w->tag);
    }
    return rc;
}

int trace_writer_outcome(struct trace_writer *w, const char *trace_id,
                         const struct trace_outcome *o)
{
    db_reset(w->upd);
    db_bind_text(w->upd, 1, trace_id);
    db_bind_text(w->upd, 2, w->t->org_id);
    db_bind_text(w->upd, 3, o->status);
    db_bind_text(w->upd, 4, o->verdict);
    db_bind_text(w->upd, 5, o->error);
    db_bind_text(w->upd, 6, o->spec_version);
    db_bind_int64(w->upd, 7, o->time_us);
    db_bind_int64(w->upd, 8, o->evaluated_at);
    int rc = store_run(w->upd);
    if (!rc && !db_changes(w->upd))
        rc = AEG_ENOTFOUND;
    if (!rc) {
        db_reset(w->del);
        db_bind_text(w->del, 1, trace_id);
        db_bind_text(w->del, 2, w->t->org_id);
        rc = store_run(w->del);
    }
    for (size_t i = 0; !rc && i < o->nresults; i++) {
        const struct trace_result_row *x = &o->results[i];
        struct db_stmt *q = w->res;
        db_reset(q);
        db_bind_text(q, 1, trace_id);
        db_bind_text(q, 2, w->t->org_id);
        db_bind_text(q, 3, x->constraint_id);
        db_bind_text(q, 4, x->verdict);
        db_bind_text(q, 5, x->severity);
        db_bind_int64(q, 6, x->tier);
        db_bind_int64(q, 7, x->applicable);
        db_bind_text(q, 8, x->evidence ? x->evidence : "[]");
        db_bind_int64(q, 9, x->time_us);
        db_bind_int64(q, 10, (int64_t)i);
        rc = store_run(q);
    }
    return rc;
}

#define TRACE_COLS                                                                                 \
    "tr.id, tr.batch_id, tr.domain, tr.external_id, tr.model, tr.latency_ms, tr.cost, tr.tags,"    \
    " tr.input, tr.output, tr.output_json, tr.metadata, tr.verdict, tr.status, tr.error,"          \
    " tr.spec_version, tr.time_us, tr.anonymized, tr.job_id, tr.created_at, tr.evaluated_at"

static void read_trace(struct db_stmt *q, struct trace_row *r)
{
    memset(r, 0, sizeof *r);
    store_copy_id(r->id, db_col_text(q, 0));
    store_copy_id(r->batch_id, db_col_text(q, 1));
    r->domain = store_dup(db_col_text(q, 2));
    r->external_id = store_dup(db_col_text(q, 3));
    r->model = store_dup(db_col_text(q, 4));
    r->has_latency = !db_col_is_null(q, 5);
    r->latency_ms = db_col_double(q, 5);
    r->has_cost = !db_col_is_null(q, 6);
    r->cost = db_col_double(q, 6);
    r->tags = store_dup(db_col_text(q, 7));
    r->input = store_dup(db_col_text(q, 8));
    r->output = store_dup(db_col_text(q, 9));
    r->output_json = db_col_int64(q, 10) != 0;
    r->metadata = store_dup(db_col_text(q, 11));
    r->verdict = store_dup(db_col_text(q, 12));
    r->status = store_dup(db_col_text(q, 13));
    r->error = store_dup(db_col_text(q, 14));
    r->spec_version = store_dup(db_col_text(q, 15));
    r->time_us = db_col_int64(q, 16);
    r->anonymized = db_col_int64(q, 17) != 0;
    store_copy_id(r->job_id, db_col_text(q, 18));
    r->created_at = db_col_int64(q, 19);
    r->evaluated_at = db_col_int64(q, 20);
}

static int each_trace(struct db_stmt *q, void (*fn)(const struct trace_row *, void *), void *arg)
{
    int st;
    while ((st = db_step(q)) == DB_ROW) {
        struct trace_row r;
        read_trace(q, &r);
        fn(&r, arg);
        trace_row_free(&r);
    }
    return db_step_failed(st) ? st : AEG_OK;
}

int store_trace_get(struct db *db, const struct tenant *t, const char *id, struct trace_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(
        db, "SELECT " TRACE_COLS " FROM traces tr WHERE tr.id = $1 AND tr.org_id = $2", &q);
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        if (!(rc = store_one(q)))
            read_trace(q, out);
    }
    db_finalize(q);
    return rc;
}

int store_trace_results(struct db *db, const struct tenant *t, const char *id,
                        void (*fn)(const struct trace_result_row *, void *), void *arg)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(
        db,
        "SELECT constraint_id, verdict, severity, tier, applicable, evidence, time_us"
        " FROM trace_results WHERE trace_id = $1 AND org_id = $2 ORDER BY constraint_index",
        &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_text(q, 1, id);
        db_bind_text(q, 2, t->org_id);
        while ((st = db_step(q)) == DB_ROW) {
            struct trace_result_row r = {
                .constraint_id = db_col_text(q, 0),
                .verdict = db_col_text(q, 1),
                .severity = db_col_text(q, 2),
                .tier = (int)db_col_int64(q, 3),
                .applicable = db_col_int64(q, 4) != 0,
                .evidence = db_col_text(q, 5),
                .time_us = db_col_int64(q, 6),
            };
            fn(&r, arg);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    return rc;
}

static void add_sql(char *sql, size_t cap, const char *fragment)
{
    size_t len = strlen(sql);
    snprintf(sql + len, cap - len, "%s", fragment);
}

/* Appends a constant fragment with the next parameter number substituted for its one "%d". */
static void add_cond(char *sql, size_t cap, const char *fragment, int *n)
{
    size_t len = strlen(sql);
    snprintf(sql + len, cap - len, fragment, ++*n);
}

int store_trace_list(struct db *db, const struct tenant *t, const struct trace_filter *f,
                     void (*fn)(const struct trace_row *, void *), void *arg)
{
    char sql[2048];
    int n = 1; /* $1 is the org */
    snprintf(sql, sizeof sql, "SELECT " TRACE_COLS " FROM traces tr WHERE tr.org_id = $1");
    int p_domain = 0, p_verdict = 0, p_status = 0, p_since = 0, p_until = 0, p_cons = 0,
        p_cverdict = 0, p_tag = 0, p_after = 0, p_limit;
    if (f->domain)
        add_cond(sql, sizeof sql, " AND tr.domain = $%d", &n), p_domain = n;
    if (f->verdict)
        add_cond(sql, sizeof sql, " AND tr.verdict = $%d", &n), p_verdict = n;
    if (f->status)
        add_cond(sql, sizeof sql, " AND tr.status = $%d", &n), p_status = n;
    if (f->since_ms)
        add_cond(sql, sizeof sql, " AND tr.created_at >= $%d", &n), p_since = n;
    if (f->until_ms)
        add_cond(sql, sizeof sql, " AND tr.created_at < $%d", &n), p_until = n;
    if (f->constraint) {
        add_cond(sql, sizeof sql,
                 " AND EXISTS (SELECT 1 FROM trace_results r WHERE r.trace_id = tr.id"
                 " AND r.org_id = $1 AND r.constraint_id = $%d",
                 &n);
        p_cons = n;
        if (f->constraint_verdict)
            add_cond(sql, sizeof sql, " AND r.verdict = $%d)", &n), p_cverdict = n;
        else
            add_sql(sql, sizeof sql, " AND r.verdict IN ('fail', 'uncertain'))");
    }
    if (f->tag)
        add_cond(sql, sizeof sql,
                 " AND EXISTS (SELECT 1 FROM trace_tags g WHERE g.trace_id = tr.id"
                 " AND g.org_id = $1 AND g.tag = $%d)",
                 &n),
            p_tag = n;
    if (f->after_id) {
        p_after = n + 1;
        size_t len = strlen(sql);
        snprintf(sql + len, sizeof sql - len,
                 " AND (tr.created_at < $%d OR (tr.created_at = $%d AND tr.id < $%d))", n + 1,
                 n + 1, n + 2);
        n += 2;
    }
    add_cond(sql, sizeof sql, " ORDER BY tr.created_at DESC, tr.id DESC LIMIT $%d", &n);
    p_limit = n;

    struct db_stmt *q = NULL;
    int rc = db_prepare(db, sql, &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        if (p_domain)
            db_bind_text(q, p_domain, f->domain);
        if (p_verdict)
            db_bind_text(q, p_verdict, f->verdict);
        if (p_status)
            db_bind_text(q, p_status, f->status);
        if (p_since)
            db_bind_int64(q, p_since, f->since_ms);
        if (p_until)
            db_bind_int64(q, p_until, f->until_ms);
        if (p_cons)
            db_bind_text(q, p_cons, f->constraint);
        if (p_cverdict)
            db_bind_text(q, p_cverdict, f->constraint_verdict);
        if (p_tag)
            db_bind_text(q, p_tag, f->tag);
        if (p_after) {
            db_bind_int64(q, p_after, f->after_created_at);
            db_bind_text(q, p_after + 1, f->after_id);
        }
        db_bind_int64(q, p_limit, f->limit);
        rc = each_trace(q, fn, arg);
    }
    db_finalize(q);
    return rc;
}

int store_trace_batch_queued(struct db *db, const struct tenant *t, const char *batch_id, int limit,
                             void (*fn)(const struct trace_row *, void *), void *arg)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT " TRACE_COLS " FROM traces tr WHERE tr.org_id = $1"
                        " AND tr.batch_id = $2 AND tr.status = 'queued' ORDER BY tr.id LIMIT $3",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        db_bind_text(q, 2, batch_id);
        db_bind_int64(q, 3, limit);
        rc = each_trace(q, fn, arg);
    }
    db_finalize(q);
    return rc;
}

int store_eval_settings_get(struct db *db, const struct tenant *t, bool *store_anonymized)
{
    struct db_stmt *q = NULL;
    *store_anonymized = false;
    int rc = db_prepare(db, "SELECT store_anonymized FROM org_eval_settings WHERE org_id = $1", &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        rc = store_one(q);
        if (!rc)
            *store_anonymized = db_col_int64(q, 0) != 0;
        if (rc == AEG_ENOTFOUND)
            rc = AEG_OK;
    }
    db_finalize(q);
    return rc;
}

/* ---- domain specs of an organisation --------------------------------------------------------- */

void domain_spec_row_free(struct domain_spec_row *r)
{
    free(r->name);
    free(r->version);
    free(r->yaml);
    free(r->created_by);
    memset(r, 0, sizeof *r);
}

int store_domain_spec_put(struct db *db, const struct tenant *t, const struct domain_spec_row *r,
                          bool *created)
{
    struct db_stmt *q = NULL;
    *created = false;
    int rc = db_prepare(db,
                        "UPDATE domain_specs SET id = $3, version = $4, yaml = $5, updated_at = $6"
                        " WHERE org_id = $1 AND name = $2",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        db_bind_text(q, 2, r->name);
        db_bind_text(q, 3, r->id);
        db_bind_text(q, 4, r->version);
        db_bind_text(q, 5, r->yaml);
        db_bind_int64(q, 6, r->updated_at);
        rc = store_run(q);
        if (!rc && db_changes(q))
            goto out;
    }
    db_finalize(q);
    q = NULL;
    if (!rc)
        rc = db_prepare(db,
                        "INSERT INTO domain_specs (id, org_id, name, version, yaml, created_by,"
                        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                        &q);
    if (!rc) {
        db_bind_text(q, 1, r->id);
        db_bind_text(q, 2, t->org_id);
        db_bind_text(q, 3, r->name);
        db_bind_text(q, 4, r->version);
        db_bind_text(q, 5, r->yaml);
        db_bind_text(q, 6, r->created_by);
        db_bind_int64(q, 7, r->created_at);
        rc = store_run(q);
        *created = !rc;
    }
out:
    db_finalize(q);
    return rc;
}

#define SPEC_COLS "id, name, version, yaml, created_by, created_at, updated_at"

static void read_spec(struct db_stmt *q, struct domain_spec_row *r)
{
    memset(r, 0, sizeof *r);
    store_copy_id(r->id, db_col_text(q, 0));
    r->name = store_dup(db_col_text(q, 1));
    r->version = store_dup(db_col_text(q, 2));
    r->yaml = store_dup(db_col_text(q, 3));
    r->created_by = store_dup(db_col_text(q, 4));
    r->created_at = db_col_int64(q, 5);
    r->updated_at = db_col_int64(q, 6);
}

int store_domain_spec_get(struct db *db, const struct tenant *t, const char *name,
                          struct domain_spec_row *out)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(
        db, "SELECT " SPEC_COLS " FROM domain_specs WHERE org_id = $1 AND name = $2", &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        db_bind_text(q, 2, name);
        if (!(rc = store_one(q)))
            read_spec(q, out);
    }
    db_finalize(q);
    return rc;
}

int store_domain_spec_list(struct db *db, const struct tenant *t,
                           void (*fn)(const struct domain_spec_row *, void *), void *arg)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT id, name, version, NULL, created_by, created_at, updated_at"
                        " FROM domain_specs WHERE org_id = $1 ORDER BY name",
                        &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        while ((st = db_step(q)) == DB_ROW) {
            struct domain_spec_row r;
            read_spec(q, &r);
            fn(&r, arg);
            domain_spec_row_free(&r);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    return rc;
}

int store_domain_spec_delete(struct db *db, const struct tenant *t, const char *name)
{
    struct db_stmt *q = NULL;
    int rc = db_prepare(db, "DELETE FROM domain_specs WHERE org_id = $1 AND name = $2", &q);
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        db_bind_text(q, 2, name);
        rc = store_run(q);
        if (!rc && !db_changes(q))
            rc = AEG_ENOTFOUND;
    }
    db_finalize(q);
    return rc;
}

#include "services/traces.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the spec cache ----------------------------------------------------------------------------
 */

/* Only built-in names are ever cached (an unknown name is not), so the table is bounded by the
 * number of compiled-in domains. Compiling under the lock is what makes "compiled once" hold. */
#define CACHE_MAX 64

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[64];
    struct eval_spec *spec;
} cache[CACHE_MAX];
static size_t ncache;

int trace_spec(const char *domain, const struct eval_spec **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!domain || !*domain || strlen(domain) >= sizeof cache[0].name) {
        snprintf(err, errlen, "no such domain");
        return AEG_ENOTFOUND;
    }
    int rc = AEG_OK;
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < ncache && !*out; i++)
        if (!strcmp(cache[i].name, domain))
            *out = cache[i].spec;
    if (!*out) {
        struct eval_spec *s = NULL;
        rc = eval_spec_builtin(domain, &s, err, errlen);
        if (!rc && ncache < CACHE_MAX) {
            snprintf(cache[ncache].name, sizeof cache[ncache].name, "%s", domain);
            cache[ncache++].spec = s;
            *out = s;
        } else if (!rc) { /* more built-in domains than slots: a build problem, not the caller's */
            eval_spec_free(s);
            snprintf(err, errlen, "the spec cache is full");
            rc = AEG_EINTERNAL;
        }
    }
    pthread_mutex_unlock(&cache_mu);
    return rc;
}

const char *trace_constraint_description(const struct eval_spec *s, const char *constraint_id)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(eval_spec_doc(s), "constraints"), i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        if (id && !strcmp(id, constraint_id))
            return json_string_value(json_object_get(c, "description"));
    }
    return NULL;
}

/* ---- one evaluation -----------------------------------------------------------------------------
 */

void trace_eval_run(const struct eval_spec *spec, const struct t1_trace *t, struct eval_ctx *ctx,
                    bool with_text, int64_t now, struct trace_eval *e)
{
    memset(e, 0, sizeof *e);
    eval_run(spec, t, ctx);
    e->result = eval_result_json(spec, t, ctx, with_text);
    const json_t *results = json_object_get(e->result, "results");
    size_t n = json_array_size(results);
    e->rows = xcalloc(n ? n : 1, sizeof *e->rows);
    e->evidence = xcalloc(n ? n : 1, sizeof *e->evidence);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(results, i);
        struct trace_result_row *x = &e->rows[i];
        x->constraint_id = json_string_value(json_object_get(r, "constraint"));
        x->verdict = json_string_value(json_object_get(r, "verdict"));
        x->severity = json_string_value(json_object_get(r, "severity"));
        x->tier = (int)json_integer_value(json_object_get(r, "tier"));
        x->applicable = json_is_true(json_object_get(r, "applicable"));
        x->time_us = (int64_t)llround(json_number_value(json_object_get(r, "time_us")));
        e->evidence[i] = json_dumps(json_object_get(r, "evidence"), JSON_COMPACT);
        x->evidence = e->evidence[i];
    }
    e->o = (struct trace_outcome){
        .status = "evaluated",
        .verdict = json_string_value(json_object_get(e->result, "verdict")),
        .spec_version = eval_spec_version(spec),
        .time_us = (int64_t)llround(json_number_value(json_object_get(e->result, "time_us"))),
        .evaluated_at = now,
        .results = e->rows,
        .nresults = n,
    };
}

void trace_eval_release(struct trace_eval *e)
{
    for (size_t i = 0; e->evidence && i < e->o.nresults; i++)
        free(e->evidence[i]);
    free(e->evidence);
    free(e->rows);
    json_decref(e->result);
    memset(e, 0, sizeof *e);
}

json_t *trace_row_doc(const struct trace_row *r)
{
    json_error_t je;
    json_t *d = json_pack("{s:s,s:s}", "domain", r->domain ? r->domain : "", "input",
                          r->input ? r->input : "");
    json_t *out = r->output_json ? json_loads(r->output ? r->output : "", 0, &je) : NULL;
    json_object_set_new(d, "output", out ? out : json_string(r->output ? r->output : ""));
    json_t *md = r->metadata ? json_loads(r->metadata, 0, &je) : NULL;
    if (md)
        json_object_set_new(d, "metadata", md);
    json_t *tags = r->tags ? json_loads(r->tags, 0, &je) : NULL;
    if (tags)
        json_object_set_new(d, "tags", tags);
    if (r->model)
        json_object_set_new(d, "model", json_string(r->model));
    if (r->external_id)
        json_object_set_new(d, "external_id", json_string(r->external_id));
    if (r->has_latency)
        json_object_set_new(d, "latency_ms", json_real(r->latency_ms));
    if (r->has_cost)
        json_object_set_new(d, "cost", json_real(r->cost));
    return d;
}

/* ---- the eval.tier1 job
 * --------------------------------------------------------------------------- */

#define JOB_CHUNK 100

struct queued {
    char id[ID_UUID_LEN];
    json_t *doc;
    bool anonymized;
};

struct chunk {
    struct queued q[JOB_CHUNK];
    size_t n;
};

static void collect(const struct trace_row *r, void *arg)
{
    struct chunk *c = arg;
    if (c->n == JOB_CHUNK)
        return;
    struct queued *q = &c->q[c->n++];
    snprintf(q->id, sizeof q->id, "%s", r->id);
    q->doc = trace_row_doc(r);
    q->anonymized = r->anonymized;
}

struct chunk_out {
    const struct tenant *t;
    struct chunk *c;
    struct trace_eval *ev;
    char (*errors)[300];
    int64_t now;
};

static int write_chunk(struct db *db, void *arg)
{
    struct chunk_out *x = arg;
    struct trace_writer *w;
    int rc = trace_writer_open(db, x->t, &w);
    for (size_t i = 0; !rc && i < x->c->n; i++) {
        struct trace_outcome failed = {
            .status = "failed", .error = x->errors[i], .evaluated_at = x->now};
        rc = trace_writer_outcome(w, x->c->q[i].id, x->ev[i].result ? &x->ev[i].o : &failed);
        if (rc == AEG_ENOTFOUND)
            rc = AEG_OK; /* deleted meanwhile: nothing to record */
    }
    trace_writer_close(w);
    return rc;
}

int trace_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    const char *org = json_string_value(json_object_get(payload, "org_id"));
    const char *batch = json_string_value(json_object_get(payload, "batch_id"));
    if (!org || !batch) {
        buf_adds(err, "payload needs org_id and batch_id");
        return AEG_EINVAL;
    }
    struct tenant t = {.org_id = org};
    struct eval_ctx *ectx = eval_ctx_new();
    struct chunk *c = xcalloc(1, sizeof *c);
    struct trace_eval *ev = xcalloc(JOB_CHUNK, sizeof *ev);
    char(*errors)[300] = xcalloc(JOB_CHUNK, sizeof *errors);
    long evaluated = 0, failed = 0;
    int rc = AEG_OK;
    for (;;) {
        if (atomic_load(ctx->stopping)) {
            buf_adds(err, "cancelled by shutdown");
            rc = AEG_EUNAVAIL; /* retried: what is still queued runs then */
            break;
        }
        c->n = 0;
        struct db *db = store_conn(ctx->store);
        rc = store_trace_batch_queued(db, &t, batch, JOB_CHUNK, collect, c);
        store_release(ctx->store, db);
        if (rc) {
            for (size_t i = 0; i < c->n; i++)
                json_decref(c->q[i].doc);
            buf_printf(err, "batch %s: cannot read its traces: %s", batch, aeg_code_message(rc));
            break;
        }
        if (!c->n)
            break;
        int64_t now = clock_now_ms();
        for (size_t i = 0; i < c->n; i++) {
            errors[i][0] = '\0';
            const struct eval_spec *spec = NULL;
            const char *domain = json_string_value(json_object_get(c->q[i].doc, "domain"));
            struct eval_trace et;
            char msg[256];
            if (trace_spec(domain, &spec, msg, sizeof msg)) {
                snprintf(errors[i], sizeof errors[i], "domain %s: %s", domain ? domain : "", msg);
            } else if (eval_trace_parse(c->q[i].doc, &et, msg, sizeof msg)) {
                snprintf(errors[i], sizeof errors[i], "the stored trace does not parse: %s", msg);
            } else {
                trace_eval_run(spec, &et.t, ectx, !c->q[i].anonymized, now, &ev[i]);
                eval_trace_release(&et);
            }
            if (ev[i].result)
                evaluated++;
            else
                failed++;
        }
        struct chunk_out x = {.t = &t, .c = c, .ev = ev, .errors = errors, .now = now};
        rc = store_tx(ctx->store, write_chunk, &x);
        for (size_t i = 0; i < c->n; i++) {
            trace_eval_release(&ev[i]);
            json_decref(c->q[i].doc);
        }
        if (rc) {
            buf_printf(err, "batch %s: cannot store the outcomes: %s", batch, aeg_code_message(rc));
            break;
        }
    }
    free(errors);
    free(ev);
    free(c);
    eval_ctx_free(ectx);
    if (!rc)
        *result = json_pack("{s:s,s:I,s:I}", "batch_id", batch, "evaluated", (json_int_t)evaluated,
                            "failed", (json_int_t)failed);
    return rc;
}

const struct job_kind trace_job_kinds[] = {{TRACE_JOB_KIND, trace_job}};
const size_t trace_job_nkinds = sizeof trace_job_kinds / sizeof trace_job_kinds[0];

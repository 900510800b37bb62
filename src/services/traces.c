#include "services/traces.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the spec cache -------------------------------------------------------------------------- */

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

/* Organisations' specs, by the id of the saved version. An entry in use (refs > 0) is never
 * evicted; when every slot is in use, a spec is compiled for the caller alone and freed on release.
 */
#define ORG_CACHE_MAX 64

struct org_cached {
    char id[ID_UUID_LEN];
    struct eval_spec *spec;
    int refs;
    uint64_t used;
};
static struct org_cached ocache[ORG_CACHE_MAX];
static uint64_t otick;

struct trace_spec_ent {
    char name[64];
    const struct eval_spec *spec;
    struct org_cached *slot; /* an org spec held in the cache */
    struct eval_spec *owned; /* an org spec compiled for this set alone */
};

int trace_spec_compile(const char *yaml, size_t len, struct eval_spec **out, char *err,
                       size_t errlen)
{
    return eval_spec_load(yaml, len, "spec", out, err, errlen);
}

/* The compiled spec of a saved version, from the cache or compiled now. */
static int org_spec(const struct domain_spec_row *row, struct trace_spec_ent *e, char *err,
                    size_t errlen)
{
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < ORG_CACHE_MAX && !e->spec; i++)
        if (ocache[i].spec && !strcmp(ocache[i].id, row->id)) {
            ocache[i].refs++;
            ocache[i].used = ++otick;
            e->slot = &ocache[i];
            e->spec = ocache[i].spec;
        }
    pthread_mutex_unlock(&cache_mu);
    if (e->spec)
        return AEG_OK;
    struct eval_spec *s = NULL; /* compiled outside the lock: it may take milliseconds */
    int rc = trace_spec_compile(row->yaml, strlen(row->yaml), &s, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&cache_mu);
    struct org_cached *victim = NULL; /* an empty slot, else the least recently used idle one */
    for (size_t i = 0; i < ORG_CACHE_MAX; i++) {
        struct org_cached *c = &ocache[i];
        if (c->spec && !strcmp(c->id, row->id)) { /* another thread compiled it meanwhile */
            c->refs++;
            c->used = ++otick;
            e->slot = c;
            e->spec = c->spec;
            break;
        }
        if (!c->spec) {
            if (!victim || victim->spec)
                victim = c;
        } else if (!c->refs && (!victim || (victim->spec && c->used < victim->used))) {
            victim = c;
        }
    }
    struct eval_spec *evicted = NULL;
    if (!e->spec && victim) {
        evicted = victim->spec;
        snprintf(victim->id, sizeof victim->id, "%s", row->id);
        victim->spec = s;
        victim->refs = 1;
        victim->used = ++otick;
        e->slot = victim;
        e->spec = s;
        s = NULL;
    }
    pthread_mutex_unlock(&cache_mu);
    if (s && e->spec) { /* lost the race: ours is not needed */
        eval_spec_free(s);
    } else if (s) { /* every slot in use */
        e->owned = s;
        e->spec = s;
    }
    eval_spec_free(evicted);
    return AEG_OK;
}

void trace_specs_init(struct trace_specs *s, struct db *db, const struct tenant *t)
{
    memset(s, 0, sizeof *s);
    s->db = db;
    s->t = t;
}

static struct trace_spec_ent *find_ent(const struct trace_specs *s, const char *domain)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].name, domain))
            return &s->e[i];
    return NULL;
}

int trace_specs_get(struct trace_specs *s, const char *domain, const struct eval_spec **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    if (!domain || !*domain || strlen(domain) >= sizeof s->e[0].name) {
        snprintf(err, errlen, "no such domain");
        return AEG_ENOTFOUND;
    }
    struct trace_spec_ent *e = find_ent(s, domain);
    if (e) {
        *out = e->spec;
        return AEG_OK;
    }
    struct trace_spec_ent x = {0};
    snprintf(x.name, sizeof x.name, "%s", domain);
    struct domain_spec_row row;
    int rc = store_domain_spec_get(s->db, s->t, domain, &row);
    if (!rc) {
        rc = org_spec(&row, &x, err, errlen);
        domain_spec_row_free(&row);
    } else if (rc == AEG_ENOTFOUND) {
        rc = trace_spec(domain, &x.spec, err, errlen);
    } else {
        snprintf(err, errlen, "cannot read the organization's specs: %s", aeg_code_message(rc));
    }
    if (rc)
        return rc;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->e = xrealloc(s->e, s->cap * sizeof *s->e);
    }
    s->e[s->n++] = x;
    *out = x.spec;
    return AEG_OK;
}

bool trace_specs_is_org(const struct trace_specs *s, const char *domain)
{
    const struct trace_spec_ent *e = find_ent(s, domain);
    return e && (e->slot || e->owned);
}

void trace_specs_release(struct trace_specs *s)
{
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].slot)
            s->e[i].slot->refs--;
    pthread_mutex_unlock(&cache_mu);
    for (size_t i = 0; i < s->n; i++)
        eval_spec_free(s->e[i].owned);
    free(s->e);
    memset(s, 0, sizeof *s);
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

/* ---- one evaluation -------------------------------------------------------------------------- */

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

/* ---- the eval.tier1 job ---------------------------------------------------------------------- */

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
        db = store_conn(ctx->store);
        struct trace_specs specs;
        trace_specs_init(&specs, db, &t);
        for (size_t i = 0; i < c->n; i++) {
            errors[i][0] = '\0';
            const struct eval_spec *spec = NULL;
            const char *domain = json_string_value(json_object_get(c->q[i].doc, "domain"));
            struct eval_trace et;
            char msg[256];
            int src = trace_specs_get(&specs, domain, &spec, msg, sizeof msg);
            if (src && src != AEG_ENOTFOUND && src != AEG_EINVAL) {
                /* the database, not the trace: the job is retried */
                buf_printf(err, "batch %s: %s", batch, msg);
                rc = src;
                break;
            }
            if (src) {
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
        trace_specs_release(&specs);
        store_release(ctx->store, db);
        if (rc) {
            for (size_t i = 0; i < c->n; i++) {
                trace_eval_release(&ev[i]);
                json_decref(c->q[i].doc);
            }
            break;
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

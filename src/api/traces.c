/*
 * traces: ingesting AI-output traces (/api/v1/traces), reading them with their Tier-1 results, and
 * the domain specs they are evaluated against (/api/v1/domains). A batch is validated whole before
 * anything is stored: one bad trace refuses the batch with its index and field. Stored batches are
 * evaluated by one eval.tier1 job each (202), or inline with ?wait=true (201). docs/api-traces.md.
 */
#include "api/api.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "services/traces.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rendering ------------------------------------------------------------------------------- */

static json_t *parse_or_null(const char *text)
{
    json_error_t je;
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, &je) : NULL;
    return j ? j : json_null();
}

static json_t *opt_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* One constraint's result as GET and POST ?wait=true show it. */
static json_t *result_json(const struct trace_result_row *x, const struct eval_spec *spec)
{
    const char *desc = spec ? trace_constraint_description(spec, x->constraint_id) : NULL;
    json_t *o =
        json_pack("{s:s,s:o,s:o,s:s,s:b,s:i,s:I,s:o}", "constraint", x->constraint_id,
                  "description", opt_string(desc), "severity", opt_string(x->severity), "verdict",
                  x->verdict, "applicable", x->applicable, "tier", x->tier, "time_us",
                  (json_int_t)x->time_us, "evidence", parse_or_null(x->evidence));
    return o;
}

static json_t *trace_json(const struct trace_row *t)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", t->id, "object", "trace", "batch_id",
                          t->batch_id, "domain", t->domain);
    json_object_set_new(o, "external_id", opt_string(t->external_id));
    json_object_set_new(o, "model", opt_string(t->model));
    json_object_set_new(o, "latency_ms", t->has_latency ? json_real(t->latency_ms) : json_null());
    json_object_set_new(o, "cost", t->has_cost ? json_real(t->cost) : json_null());
    json_t *tags = parse_or_null(t->tags);
    json_object_set_new(o, "tags", json_is_array(tags) ? tags : json_array());
    if (!json_is_array(tags))
        json_decref(tags);
    json_object_set_new(o, "input", json_string(t->input ? t->input : ""));
    json_object_set_new(o, "output",
                        t->output_json ? parse_or_null(t->output)
                                       : json_string(t->output ? t->output : ""));
    json_object_set_new(o, "metadata", parse_or_null(t->metadata));
    json_object_set_new(o, "status", json_string(t->status));
    json_object_set_new(o, "verdict", opt_string(t->verdict));
    json_object_set_new(o, "error", opt_string(t->error));
    json_object_set_new(o, "spec_version", opt_string(t->spec_version));
    json_object_set_new(
        o, "time_us", t->evaluated_at && t->spec_version ? json_integer(t->time_us) : json_null());
    json_object_set_new(o, "anonymized", json_boolean(t->anonymized));
    json_object_set_new(o, "created_at", api_time(t->created_at));
    json_object_set_new(o, "evaluated_at", api_time(t->evaluated_at));
    return o;
}

/* ---- POST /api/v1/traces --------------------------------------------------------------------- */

/*
 * The anonymised-storage hook. An organisation whose settings say store_anonymized (table
 * org_eval_settings) must never have raw trace text reach the database. The anonymiser is being
 * written elsewhere; until it is wired here, this fails closed: such an organisation's traces are
 * refused (503) and nothing is stored. Wiring it: rewrite row->input, row->output (and the metadata
 * values it treats as PHI) with the anonymiser under the domain spec's policy, set
 * row->anonymized = true, and return AEG_OK. Evaluation must then run on the raw text before this
 * (inline), since the job only sees what was stored.
 */
static int text_for_storage(struct http_req *r, bool store_anonymized, const struct eval_spec *spec,
                            struct trace_row *row)
{
    (void)spec;
    (void)row;
    if (!store_anonymized)
        return AEG_OK;
    return http_fail(r, AEG_EUNAVAIL,
                     "This organization stores traces only anonymized, and anonymized storage is "
                     "not available on this server yet: nothing was stored.");
}

struct ingest {
    struct app *app;
    const struct principal *who;
    struct tenant t;
    struct auth_req rq;
    size_t n;
    struct trace_row *rows;
    json_t **tags;         /* borrowed: each trace's tags array or NULL */
    struct trace_eval *ev; /* when wait */
    bool wait;
    char batch_id[ID_UUID_LEN];
    char job_id[ID_UUID_LEN];
};

static int ingest_body(struct db *db, void *arg)
{
    struct ingest *x = arg;
    int rc = AEG_OK;
    if (!x->wait) {
        json_t *payload = json_pack("{s:s,s:s}", "org_id", x->t.org_id, "batch_id", x->batch_id);
        char *text = json_dumps(payload, JSON_COMPACT);
        json_decref(payload);
        rc = store_job_insert_db(db, &x->t, TRACE_JOB_KIND, text,
                                 (int)x->app->cfg->job_max_attempts, clock_now_ms(), x->job_id);
        free(text);
        for (size_t i = 0; i < x->n; i++)
            memcpy(x->rows[i].job_id, x->job_id, sizeof x->job_id);
    }
    struct trace_writer *w = NULL;
    if (!rc)
        rc = trace_writer_open(db, &x->t, &w);
    const char *tagv[32];
    for (size_t i = 0; !rc && i < x->n; i++) {
        size_t nt = 0;
        for (; x->tags[i] && nt < json_array_size(x->tags[i]) && nt < 32; nt++)
            tagv[nt] = json_string_value(json_array_get(x->tags[i], nt));
        rc = trace_writer_insert(w, &x->rows[i], tagv, nt);
        if (!rc && x->wait)
            rc = trace_writer_outcome(w, x->rows[i].id, &x->ev[i].o);
    }
    trace_writer_close(w);
    if (!rc) {
        char detail[160];
        snprintf(detail, sizeof detail, "{\"count\":%zu,\"wait\":%s}", x->n,
                 x->wait ? "true" : "false");
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq, "traces.ingested",
                        "trace_batch", x->batch_id, "success", detail);
    }
    return rc;
}

/* "traces[3]." before a field error of a batch; nothing for a single trace. */
static void where(char *out, size_t n, bool batch, size_t i)
{
    if (batch)
        snprintf(out, n, "traces[%zu].", i);
    else
        out[0] = '\0';
}

static void known_domains(char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; eval_domains[i].name && o + 2 < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? ", " : "", eval_domains[i].name);
}

int api_traces_create(struct http_req *r)
{
    struct app *app = http_app(r);
    json_t *body = http_json(r);
    if (!json_is_object(body))
        return http_fail(r, AEG_EINVAL,
                         "The body must be a trace object or {\"traces\": [trace, ...]}.");
    bool wait = false;
    const char *wq = http_query(r, "wait");
    if (wq) {
        if (!strcmp(wq, "true") || !strcmp(wq, "1"))
            wait = true;
        else if (strcmp(wq, "false") && strcmp(wq, "0"))
            return http_fail(r, AEG_EINVAL, "wait must be true or false.");
    }
    json_t *list = json_object_get(body, "traces");
    bool batch = list != NULL;
    if (batch) {
        if (!json_is_array(list))
            return http_fail(r, AEG_EINVAL, "traces must be a list of trace objects.");
        if (json_object_size(body) != 1)
            return http_fail(r, AEG_EINVAL, "A batch is {\"traces\": [...]} with no other field.");
        if (json_array_size(list) == 0)
            return http_fail(r, AEG_EINVAL, "traces must hold at least one trace.");
        if (json_array_size(list) > TRACE_MAX_BATCH)
            return http_fail(r, AEG_EINVAL,
                             "traces holds %zu traces: at most %d per request; send several "
                             "batches.",
                             json_array_size(list), TRACE_MAX_BATCH);
    }
    size_t n = batch ? json_array_size(list) : 1;
    struct tenant t = api_tenant(r);
    bool anon = false;
    struct db *db = store_conn(app->store);
    int rc = store_eval_settings_get(db, &t, &anon);
    if (rc) {
        store_release(app->store, db);
        return rc;
    }
    struct trace_specs sp; /* held until the answer is rendered */
    trace_specs_init(&sp, db, &t);

    struct ingest x = {
        .app = app, .who = api_principal(r), .t = t, .rq = api_auth_req(r), .n = 0, .wait = wait};
    struct eval_trace *et = xcalloc(n, sizeof *et);
    const struct eval_spec **specs = xcalloc(n, sizeof *specs);
    x.rows = xcalloc(n, sizeof *x.rows);
    x.tags = xcalloc(n, sizeof *x.tags);
    x.ev = wait ? xcalloc(n, sizeof *x.ev) : NULL;
    size_t parsed = 0;
    char err[400], at[32];
    /* every trace is checked before anything is stored */
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *doc = batch ? json_array_get(list, i) : body;
        where(at, sizeof at, batch, i);
        if (!json_is_object(doc)) {
            rc = http_fail(r, AEG_EINVAL, "traces[%zu]: must be a trace object.", i);
            break;
        }
        if (eval_trace_parse(doc, &et[i], err, sizeof err)) {
            rc = http_fail(r, AEG_EINVAL, "%s%s", at, err);
            break;
        }
        parsed = i + 1;
        if (!et[i].t.domain) {
            rc = http_fail(r, AEG_EINVAL, "%sdomain: is required (one of /api/v1/domains).", at);
            break;
        }
        int src = trace_specs_get(&sp, et[i].t.domain, &specs[i], err, sizeof err);
        if (src == AEG_ENOTFOUND) {
            char known[200];
            known_domains(known, sizeof known);
            rc = http_fail(r, AEG_EINVAL,
                           "%sdomain: unknown domain \"%s\" (built-in: %s; or one of your "
                           "organization's specs).",
                           at, et[i].t.domain, known);
            break;
        }
        if (src) {
            rc = http_fail(r, src, "domain %s: %s", et[i].t.domain, err);
            break;
        }
    }
    store_release(app->store, db); /* sp is not asked for more specs after this */
    int64_t now = clock_now_ms();
    if (!rc)
        id_uuid7(x.batch_id);
    struct eval_ctx *ctx = wait && !rc ? eval_ctx_new() : NULL;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *doc = et[i].doc;
        struct trace_row *row = &x.rows[i];
        id_uuid7(row->id);
        memcpy(row->batch_id, x.batch_id, sizeof x.batch_id);
        row->domain = (char *)et[i].t.domain;
        row->external_id = (char *)json_string_value(json_object_get(doc, "external_id"));
        row->model = (char *)json_string_value(json_object_get(doc, "model"));
        const json_t *v;
        if ((v = json_object_get(doc, "latency_ms")))
            row->has_latency = true, row->latency_ms = json_number_value(v);
        if ((v = json_object_get(doc, "cost")))
            row->has_cost = true, row->cost = json_number_value(v);
        x.tags[i] = json_object_get(doc, "tags");
        row->tags = x.tags[i] ? json_dumps(x.tags[i], JSON_COMPACT) : NULL;
        row->input = (char *)et[i].t.input;
        const json_t *out = json_object_get(doc, "output");
        row->output_json = !json_is_string(out);
        row->output = row->output_json ? json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY)
                                       : (char *)json_string_value(out);
        const json_t *md = json_object_get(doc, "metadata");
        row->metadata = json_is_object(md) ? json_dumps(md, JSON_COMPACT) : NULL;
        row->status = (char *)"queued";
        row->created_at = now;
        if (wait) {
            /* evaluated on the text as given, before any anonymisation for storage */
            trace_eval_run(specs[i], &et[i].t, ctx, !anon, now, &x.ev[i]);
            row->status = (char *)"evaluated";
            row->verdict = (char *)x.ev[i].o.verdict;
            row->spec_version = (char *)x.ev[i].o.spec_version;
            row->time_us = x.ev[i].o.time_us;
            row->evaluated_at = now;
        }
        x.n = i + 1;
        rc = text_for_storage(r, anon, specs[i], row);
    }
    eval_ctx_free(ctx);
    if (!rc)
        rc = store_tx(app->store, ingest_body, &x);
    json_t *data = rc ? NULL : json_array();
    for (size_t i = 0; i < x.n && data; i++) {
        const struct trace_row *row = &x.rows[i];
        json_t *item = json_pack("{s:s,s:s,s:s,s:s}", "id", row->id, "object", "trace", "domain",
                                 row->domain, "status", row->status);
        json_object_set_new(item, "external_id", opt_string(row->external_id));
        if (wait) {
            json_object_set_new(item, "verdict", json_string(row->verdict));
            json_object_set_new(item, "spec_version", opt_string(row->spec_version));
            json_object_set_new(item, "time_us", json_integer(row->time_us));
            json_t *res = json_array();
            for (size_t k = 0; k < x.ev[i].o.nresults; k++)
                json_array_append_new(res, result_json(&x.ev[i].rows[k], specs[i]));
            json_object_set_new(item, "results", res);
        }
        json_array_append_new(data, item);
    }
    for (size_t i = 0; i < x.n; i++) {
        free(x.rows[i].tags);
        if (x.rows[i].output_json)
            free(x.rows[i].output);
        free(x.rows[i].metadata);
        if (wait)
            trace_eval_release(&x.ev[i]);
    }
    for (size_t i = 0; i < parsed; i++)
        eval_trace_release(&et[i]);
    trace_specs_release(&sp);
    free(et);
    free(specs);
    free(x.rows);
    free(x.tags);
    free(x.ev);
    if (rc)
        return rc;
    if (!wait)
        job_pool_notify(app->jobs);
    json_t *resp =
        json_pack("{s:s,s:o,s:s}", "object", "list", "data", data, "batch_id", x.batch_id);
    json_object_set_new(resp, "job_id", wait ? json_null() : json_string(x.job_id));
    return http_reply_json(r, wait ? 201 : 202, resp);
}

/* ---- GET /api/v1/traces ---------------------------------------------------------------------- */

/* since/until: an ISO 8601 time (as elsewhere in the API) or Unix seconds. */
static int time_arg(struct http_req *r, const char *name, int64_t *out)
{
    const char *v = http_query(r, name);
    *out = 0;
    if (!v)
        return AEG_OK;
    bool digits = *v != '\0' && strspn(v, "0123456789") == strlen(v);
    if (digits && strlen(v) <= 12) {
        *out = strtoll(v, NULL, 10) * 1000;
        if (*out > 0)
            return AEG_OK;
    } else if (!clock_parse_iso(v, out)) {
        return AEG_OK;
    }
    return http_fail(r, AEG_EINVAL,
                     "%s must be an ISO 8601 time such as 2026-11-22T10:00:00Z, or Unix seconds.",
                     name);
}

static bool is_verdict(const char *v)
{
    return !strcmp(v, "pass") || !strcmp(v, "uncertain") || !strcmp(v, "fail");
}

/* A short text filter: at most max bytes. */
static int text_arg(struct http_req *r, const char *name, size_t max, const char **out)
{
    *out = http_query(r, name);
    if (*out && (!**out || strlen(*out) > max))
        return http_fail(r, AEG_EINVAL, "%s must be 1 to %zu characters.", name, max);
    return AEG_OK;
}

struct page {
    json_t *data;
};

static void add_trace(const struct trace_row *t, void *arg)
{
    struct page *p = arg;
    json_array_append_new(p->data, trace_json(t));
}

/* The cursor: "<created_at ms>.<id>" of the last item of the page (opaque to clients). */
static bool parse_cursor(const char *c, int64_t *created_at, char id[ID_UUID_LEN])
{
    const char *dot = strchr(c, '.');
    if (!dot || dot == c || dot - c > 15 || strspn(c, "0123456789") != (size_t)(dot - c))
        return false;
    *created_at = strtoll(c, NULL, 10);
    if (strlen(dot + 1) != ID_UUID_LEN - 1 || !id_is_uuid(dot + 1))
        return false;
    snprintf(id, ID_UUID_LEN, "%s", dot + 1);
    return true;
}

int api_traces_list(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct trace_filter f = {.limit = 50};
    int rc;
    if ((rc = time_arg(r, "since", &f.since_ms)) || (rc = time_arg(r, "until", &f.until_ms)) ||
        (rc = text_arg(r, "domain", 63, &f.domain)) ||
        (rc = text_arg(r, "constraint", 64, &f.constraint)) ||
        (rc = text_arg(r, "tag", 64, &f.tag)))
        return rc;
    f.verdict = http_query(r, "verdict");
    if (f.verdict && !is_verdict(f.verdict))
        return http_fail(r, AEG_EINVAL, "verdict must be pass, uncertain or fail.");
    f.constraint_verdict = http_query(r, "constraint_verdict");
    if (f.constraint_verdict && !is_verdict(f.constraint_verdict))
        return http_fail(r, AEG_EINVAL, "constraint_verdict must be pass, uncertain or fail.");
    if (f.constraint_verdict && !f.constraint)
        return http_fail(r, AEG_EINVAL, "constraint_verdict needs constraint.");
    f.status = http_query(r, "status");
    if (f.status && strcmp(f.status, "queued") && strcmp(f.status, "evaluated") &&
        strcmp(f.status, "failed"))
        return http_fail(r, AEG_EINVAL, "status must be queued, evaluated or failed.");
    const char *limit = http_query(r, "limit");
    if (limit) {
        char *end;
        errno = 0;
        long v = strtol(limit, &end, 10);
        if (errno || end == limit || *end || v < 1 || v > 500)
            return http_fail(r, AEG_EINVAL, "limit must be an integer from 1 to 500.");
        f.limit = (int)v;
    }
    const char *cursor = http_query(r, "cursor"), *after = http_query(r, "starting_after");
    char after_id[ID_UUID_LEN];
    if (cursor && after)
        return http_fail(r, AEG_EINVAL, "Give cursor or starting_after, not both.");
    if (cursor) {
        if (!parse_cursor(cursor, &f.after_created_at, after_id))
            return http_fail(r, AEG_EINVAL,
                             "cursor must be a next_cursor value from a previous page.");
        f.after_id = after_id;
    }
    struct db *db = store_conn(app->store);
    if (after) {
        struct trace_row a;
        rc = id_is_uuid(after) ? store_trace_get(db, &t, after, &a) : AEG_ENOTFOUND;
        if (!rc) {
            f.after_created_at = a.created_at;
            snprintf(after_id, sizeof after_id, "%s", a.id);
            f.after_id = after_id;
            trace_row_free(&a);
        }
    }
    /* one row more than asked tells whether there is a next page */
    struct page p = {.data = json_array()};
    int want = f.limit;
    f.limit = want + 1;
    if (!rc)
        rc = store_trace_list(db, &t, &f, add_trace, &p);
    store_release(app->store, db);
    if (rc) {
        json_decref(p.data);
        if (rc == AEG_ENOTFOUND)
            return http_fail(r, AEG_EINVAL, "starting_after must be the id of one of your traces.");
        return rc;
    }
    bool more = json_array_size(p.data) > (size_t)want;
    json_t *next = json_null();
    if (more) {
        json_array_remove(p.data, (size_t)want);
        json_t *last = json_array_get(p.data, (size_t)want - 1);
        int64_t ms = 0;
        clock_parse_iso(json_string_value(json_object_get(last, "created_at")), &ms);
        char c[96];
        snprintf(c, sizeof c, "%" PRId64 ".%s", ms, json_string_value(json_object_get(last, "id")));
        next = json_string(c);
    }
    return http_reply_json(r, 200,
                           json_pack("{s:s,s:o,s:b,s:o}", "object", "list", "data", p.data,
                                     "has_more", more, "next_cursor", next));
}

/* ---- GET /api/v1/traces/{id} ----------------------------------------------------------------- */

struct results {
    json_t *list;
    const struct eval_spec *spec;
};

static void add_result(const struct trace_result_row *x, void *arg)
{
    struct results *rs = arg;
    json_array_append_new(rs->list, result_json(x, rs->spec));
}

struct dead_tx {
    const struct tenant *t;
    const char *id;
    struct trace_outcome o;
};

static int dead_body(struct db *db, void *arg)
{
    struct dead_tx *x = arg;
    struct trace_writer *w;
    int rc = trace_writer_open(db, x->t, &w);
    if (!rc)
        rc = trace_writer_outcome(w, x->id, &x->o);
    trace_writer_close(w);
    return rc;
}

/* A trace whose job died (attempts exhausted) is failed with the job's last error: otherwise it
 * would show queued for ever. Like the runs of /api/v1/simulations. */
static void reconcile(struct app *app, const struct tenant *t, struct trace_row *tr)
{
    if (strcmp(tr->status, "queued") || !tr->job_id[0])
        return;
    struct job_row j;
    if (store_job_get(app->store, t, tr->job_id, &j) != AEG_OK)
        return;
    if (j.state == JOB_DEAD) {
        char msg[600];
        snprintf(msg, sizeof msg, "the evaluation job stopped after %d attempt(s): %s", j.attempts,
                 j.last_error ? j.last_error : "no error recorded");
        struct dead_tx x = {
            .t = t,
            .id = tr->id,
            .o = {.status = "failed", .error = msg, .evaluated_at = clock_now_ms()}};
        if (store_tx(app->store, dead_body, &x) == AEG_OK) {
            free(tr->status);
            tr->status = xstrdup("failed");
            free(tr->error);
            tr->error = xstrdup(msg);
            tr->evaluated_at = x.o.evaluated_at;
        }
    }
    job_row_free(&j);
}

int api_traces_get(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    const char *id = http_param(r, "id");
    struct trace_row tr;
    struct db *db = store_conn(app->store);
    int rc = id_is_uuid(id) ? store_trace_get(db, &t, id, &tr) : AEG_ENOTFOUND;
    struct results rs = {.list = json_array()};
    struct trace_specs sp;
    trace_specs_init(&sp, db, &t);
    if (!rc) {
        char err[200];
        if (trace_specs_get(&sp, tr.domain, &rs.spec, err, sizeof err))
            rs.spec = NULL; /* results are shown without descriptions */
        rc = store_trace_results(db, &t, id, add_result, &rs);
        if (rc)
            trace_row_free(&tr);
    }
    trace_specs_release(&sp);
    store_release(app->store, db);
    if (rc) {
        json_decref(rs.list);
        return api_store_error(r, rc, "trace");
    }
    reconcile(app, &t, &tr);
    json_t *o = trace_json(&tr);
    json_object_set_new(o, "results", rs.list);
    trace_row_free(&tr);
    return http_reply_json(r, 200, o);
}

/* ---- domains: built-in specs and the organization's own -------------------------------------- */

/* A spec as the API shows it. row: the organisation's saved spec, or NULL for a built-in. */
static json_t *domain_json(const struct eval_spec *s, const struct domain_spec_row *row, bool full)
{
    const json_t *doc = eval_spec_doc(s);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", eval_spec_name(s), "object", "domain", "name",
                          eval_spec_name(s), "version", eval_spec_version(s));
    json_object_set_new(o, "description",
                        opt_string(json_string_value(json_object_get(doc, "description"))));
    json_t *cs = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(doc, "constraints"), i, c)
    {
        json_t *x = json_pack(
            "{s:o,s:o,s:o}", "id", opt_string(json_string_value(json_object_get(c, "id"))),
            "severity", opt_string(json_string_value(json_object_get(c, "severity"))),
            "description", opt_string(json_string_value(json_object_get(c, "description"))));
        json_array_append_new(cs, x);
    }
    json_object_set_new(o, "constraints", cs);
    json_object_set_new(o, "source", json_string(row ? "organization" : "builtin"));
    json_object_set_new(o, "created_at", api_time(row ? row->created_at : 0));
    json_object_set_new(o, "updated_at", api_time(row ? row->updated_at : 0));
    if (full)
        json_object_set_new(o, "spec", json_deep_copy(doc));
    return o;
}

struct spec_names {
    char (*name)[64];
    size_t n, cap;
};

static void add_spec_name(const struct domain_spec_row *row, void *arg)
{
    struct spec_names *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->name = xrealloc(l->name, l->cap * sizeof *l->name);
    }
    snprintf(l->name[l->n++], sizeof l->name[0], "%s", row->name);
}

/* One domain for the caller: the organisation's spec of that name, else the built-in. *out is
 * valid until trace_specs_release(sp); *org tells whether row was filled (free it then). */
static int domain_for(struct trace_specs *sp, const char *name, const struct eval_spec **out,
                      struct domain_spec_row *row, bool *org, char *err, size_t errlen)
{
    int rc = trace_specs_get(sp, name, out, err, errlen);
    *org = !rc && trace_specs_is_org(sp, name);
    if (*org && store_domain_spec_get(sp->db, sp->t, name, row) != AEG_OK)
        *org = false;
    return rc;
}

/* A spec that no longer compiles is our problem (the engine changed under a saved spec), not the
 * caller's. */
static int spec_error(struct http_req *r, int rc, const char *err)
{
    if (rc == AEG_ENOTFOUND)
        return http_fail(r, AEG_ENOTFOUND, "No such domain.");
    return http_fail(r, rc == AEG_EINVAL ? AEG_EINTERNAL : rc, "a domain spec does not compile: %s",
                     err);
}

int api_domains_list(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct spec_names own = {0};
    struct db *db = store_conn(app->store);
    int rc = store_domain_spec_list(db, &t, add_spec_name, &own);
    struct trace_specs sp;
    trace_specs_init(&sp, db, &t);
    json_t *data = json_array();
    char err[400] = "";
    /* the built-ins (or the organisation's spec that shadows one), then the organisation's others
     */
    size_t nb = 0;
    while (eval_domains[nb].name)
        nb++;
    for (size_t i = 0; !rc && i < nb + own.n; i++) {
        const char *name = i < nb ? eval_domains[i].name : own.name[i - nb];
        bool shadowing = false;
        for (size_t k = 0; i >= nb && k < nb && !shadowing; k++)
            shadowing = !strcmp(eval_domains[k].name, name);
        if (shadowing)
            continue; /* listed in its built-in's place */
        const struct eval_spec *s;
        struct domain_spec_row row;
        bool org;
        rc = domain_for(&sp, name, &s, &row, &org, err, sizeof err);
        if (rc == AEG_ENOTFOUND && i >= nb) { /* deleted meanwhile */
            rc = AEG_OK;
            continue;
        }
        if (!rc)
            json_array_append_new(data, domain_json(s, org ? &row : NULL, false));
        if (org)
            domain_spec_row_free(&row);
    }
    trace_specs_release(&sp);
    store_release(app->store, db);
    free(own.name);
    if (rc) {
        json_decref(data);
        return spec_error(r, rc == AEG_ENOTFOUND ? AEG_EINTERNAL : rc, err);
    }
    return http_reply_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

int api_domains_get(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    const struct eval_spec *s;
    struct domain_spec_row row;
    bool org;
    char err[400] = "";
    struct db *db = store_conn(app->store);
    struct trace_specs sp;
    trace_specs_init(&sp, db, &t);
    int rc = domain_for(&sp, http_param(r, "name"), &s, &row, &org, err, sizeof err);
    json_t *j = rc ? NULL : domain_json(s, org ? &row : NULL, true);
    if (org)
        domain_spec_row_free(&row);
    trace_specs_release(&sp);
    store_release(app->store, db);
    if (rc)
        return spec_error(r, rc, err);
    return http_reply_json(r, 200, j);
}

struct spec_tx {
    struct app *app;
    const struct principal *who;
    struct tenant t;
    struct auth_req rq;
    struct domain_spec_row *row;
    bool created, is_delete;
};

static int spec_body(struct db *db, void *arg)
{
    struct spec_tx *x = arg;
    int rc = x->is_delete ? store_domain_spec_delete(db, &x->t, x->row->name)
                          : store_domain_spec_put(db, &x->t, x->row, &x->created);
    if (!rc)
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq,
                        x->is_delete ? "domain_spec.deleted" : "domain_spec.saved", "domain_spec",
                        x->row->name, "success", NULL);
    return rc;
}

int api_domains_save(struct http_req *r)
{
    struct app *app = http_app(r);
    json_t *body = http_json(r);
    const json_t *spec = json_object_get(body, "spec");
    if (!json_is_object(body) || json_object_size(body) != 1 ||
        !(json_is_string(spec) || json_is_object(spec)))
        return http_fail(r, AEG_EINVAL,
                         "The body is {\"spec\": ...}: the domain spec as YAML text, or as a JSON "
                         "object (docs/domain-specs.md).");
    if (json_is_string(spec) && strlen(json_string_value(spec)) != json_string_length(spec))
        return http_fail(r, AEG_EINVAL, "spec must not contain NUL characters.");
    /* JSON is YAML too: an object is stored as its JSON text */
    char *yaml = json_is_string(spec) ? xstrdup(json_string_value(spec))
                                      : json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    struct eval_spec *s = NULL;
    char err[400];
    if (trace_spec_compile(yaml, strlen(yaml), &s, err, sizeof err)) {
        free(yaml);
        return http_fail(r, AEG_EINVAL, "%s", err);
    }
    int64_t now = clock_now_ms();
    struct domain_spec_row row = {.name = xstrdup(eval_spec_name(s)),
                                  .version = xstrdup(eval_spec_version(s)),
                                  .yaml = yaml,
                                  .created_at = now,
                                  .updated_at = now};
    id_uuid7(row.id);
    struct spec_tx x = {.app = app,
                        .who = api_principal(r),
                        .t = api_tenant(r),
                        .rq = api_auth_req(r),
                        .row = &row};
    row.created_by = xstrdup(x.t.actor_id ? x.t.actor_id : "");
    int rc = store_tx(app->store, spec_body, &x);
    json_t *j = NULL;
    if (!rc) {
        struct db *db = store_conn(app->store);
        struct domain_spec_row saved;
        rc = store_domain_spec_get(db, &x.t, row.name, &saved);
        store_release(app->store, db);
        if (!rc) {
            j = domain_json(s, &saved, true);
            domain_spec_row_free(&saved);
        }
    }
    eval_spec_free(s);
    domain_spec_row_free(&row);
    if (rc)
        return rc;
    return http_reply_json(r, x.created ? 201 : 200, j);
}

int api_domains_delete(struct http_req *r)
{
    struct app *app = http_app(r);
    struct domain_spec_row row = {.name = (char *)http_param(r, "name")};
    struct spec_tx x = {.app = app,
                        .who = api_principal(r),
                        .t = api_tenant(r),
                        .rq = api_auth_req(r),
                        .row = &row,
                        .is_delete = true};
    int rc = store_tx(app->store, spec_body, &x);
    if (rc == AEG_ENOTFOUND)
        return http_fail(r, AEG_ENOTFOUND, "No such domain spec of your organization.");
    if (rc)
        return rc;
    return http_reply_empty(r, 204);
}

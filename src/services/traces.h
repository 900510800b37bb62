/*
 * traces (service): between the traces API, the job queue and the Tier-1 engine (eval/). It keeps
 * the process-wide cache of compiled domain specs, turns one evaluation into the rows the store
 * keeps (struct trace_eval), rebuilds a stored trace into the JSON document eval_trace_parse reads,
 * and runs the "eval.tier1" job that evaluates a queued batch. Never sees HTTP types.
 *
 * Memory: specs returned by trace_spec are owned by the cache and live until the process exits
 * (immutable, shared by every thread). A struct trace_eval owns everything its rows point into.
 */
#ifndef AEGIS_SERVICES_TRACES_H
#define AEGIS_SERVICES_TRACES_H

#include "eval/eval.h"
#include "jobs/jobs.h"

#include <stdbool.h>

#define TRACE_JOB_KIND "eval.tier1"
#define TRACE_MAX_BATCH 1000

/* The compiled spec of a built-in domain, compiled once per process (thread-safe). AEG_OK with
 * *out, AEG_ENOTFOUND when there is no such domain, or AEG_EINVAL with err when a compiled-in spec
 * does not compile (a bug in the shipped YAML). */
int trace_spec(const char *domain, const struct eval_spec **out, char *err, size_t errlen);
/* The specs one request or one job chunk uses, resolved for one organisation: its own uploaded
 * spec of a name first (compiled once per saved version, cached process-wide, held by reference
 * until trace_specs_release), else the built-in. Each name is looked up once per set. */
struct trace_specs {
    struct db *db; /* borrowed: used by trace_specs_get */
    const struct tenant *t;
    struct trace_spec_ent *e;
    size_t n, cap;
};
void trace_specs_init(struct trace_specs *s, struct db *db, const struct tenant *t);
/* AEG_OK with *out (valid until trace_specs_release), AEG_ENOTFOUND when the organisation has no
 * spec of that name and there is no built-in one, or another error with err. */
int trace_specs_get(struct trace_specs *s, const char *domain, const struct eval_spec **out,
                    char *err, size_t errlen);
/* Whether the spec of that name was the organisation's own (after a successful get). */
bool trace_specs_is_org(const struct trace_specs *s, const char *domain);
void trace_specs_release(struct trace_specs *s);
/* Compiles an uploaded spec (YAML, or JSON, which is YAML too) as trace_specs would: AEG_OK with
 * *out (eval_spec_free it), or AEG_EINVAL with err "spec:LINE: field.path: reason". */
int trace_spec_compile(const char *yaml, size_t len, struct eval_spec **out, char *err,
                       size_t errlen);

/* The "description" of a constraint in the spec's document, or NULL. */
const char *trace_constraint_description(const struct eval_spec *s, const char *constraint_id);

/* One evaluated trace: the outcome to store and its result rows. */
struct trace_eval {
    struct trace_outcome o;
    struct trace_result_row *rows;
    char **evidence; /* the rows' evidence texts (owned) */
    json_t *result;  /* eval_result_json (owned); rows' strings point into it */
};
/* Evaluates t with spec on ctx and fills *e (release with trace_eval_release). with_text: evidence
 * carries the matched text (false for traces stored anonymised). */
void trace_eval_run(const struct eval_spec *spec, const struct t1_trace *t, struct eval_ctx *ctx,
                    bool with_text, int64_t now, struct trace_eval *e);
void trace_eval_release(struct trace_eval *e);

/* The trace document of a stored row (domain, input, output, metadata, model, latency_ms, cost,
 * external_id, tags), for eval_trace_parse. New reference. */
json_t *trace_row_doc(const struct trace_row *r);

/* The job: payload {"org_id", "batch_id"}. Evaluates the batch's traces that are still queued, in
 * chunks, each chunk's outcomes written in one transaction; a trace that cannot be evaluated is
 * marked failed with the reason. Idempotent: a rerun finds only what is still queued, and writing
 * an outcome replaces a trace's results. */
int trace_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err);

extern const struct job_kind trace_job_kinds[];
extern const size_t trace_job_nkinds;

#endif

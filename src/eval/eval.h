/*
 * eval: domain specs and Tier-1 evaluation of traces.
 *
 * A domain spec (YAML, schema in docs/domain-specs.md) declares safety constraints, each checked by
 * rules: PCRE2 patterns, keyword and phrase lists with negation and scope handling, required
 * phrases (a negated or contradicted one does not count), checks on JSON paths (ranges, equality,
 * presence) and built-in detectors (eval/tier1: PHI, dosage, citations, trajectory, orders, ...),
 * combined per constraint. eval_spec_load compiles it once (patterns JIT-compiled, detectors'
 * parameters checked) into an immutable struct eval_spec that any number of threads evaluate at
 * once, each with its own struct eval_ctx (scratch space: match data, findings) reused from trace
 * to trace.
 *
 * A trace is a JSON object (domain, input, output, metadata, and optional model, latency_ms, cost,
 * external_id, tags): eval_trace_parse checks it and makes the struct t1_trace the rules see.
 *
 * Pure: no database, no HTTP. eval_spec_load_file reads the spec file; nothing else does I/O.
 */
#ifndef AEGIS_EVAL_EVAL_H
#define AEGIS_EVAL_EVAL_H

#include "eval/tier1/t1.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVAL_MAX_TEXT (1024u * 1024) /* input and output each: larger traces are refused */
#define EVAL_MAX_RULES 64            /* per constraint */
#define EVAL_MAX_CONSTRAINTS 128

struct eval_spec;
struct eval_ctx;

/* The specs compiled into the binary (domains/<name>/domain_spec.yaml): name and YAML text; the
 * list ends with {NULL, NULL}. */
struct eval_domain_src {
    const char *name, *yaml;
};
extern const struct eval_domain_src eval_domains[];

/* Compiles a spec from YAML text. `origin` names it in errors (a file path, or "domain NAME").
 * AEG_OK with *out (free with eval_spec_free), or AEG_EINVAL with *out NULL and err reading
 * "origin:LINE: field.path: reason" (the line where the offending value was written). */
int eval_spec_load(const char *yaml, size_t n, const char *origin, struct eval_spec **out,
                   char *err, size_t errlen);
/* The same from a file (AEG_EIO when it cannot be read). */
int eval_spec_load_file(const char *path, struct eval_spec **out, char *err, size_t errlen);
/* A compiled-in spec by name: AEG_ENOTFOUND when there is none of that name. */
int eval_spec_builtin(const char *name, struct eval_spec **out, char *err, size_t errlen);
void eval_spec_free(struct eval_spec *s);

const char *eval_spec_name(const struct eval_spec *s);
const char *eval_spec_version(const struct eval_spec *s);
size_t eval_spec_nconstraints(const struct eval_spec *s);
const char *eval_spec_constraint_id(const struct eval_spec *s, size_t i);
/* The spec as written (a JSON copy of the YAML document), for GET /api/v1/domains/{name}. */
const json_t *eval_spec_doc(const struct eval_spec *s);
/* The spec's PHI policy object (phi: in the YAML), or NULL when it declares none. */
const json_t *eval_spec_phi(const struct eval_spec *s);

/* Rewrites text by the spec's PHI policy (phi.detect finds, phi.anonymize's operator per label
 * rewrites; a spec without phi: every label, replaced by <LABEL>), with metadata's patient values
 * as certain PHI. Returns a new string (length in *out_len when not NULL), or NULL when the policy
 * hashes and keylen is 0. */
char *eval_anonymize(const struct eval_spec *s, const char *text, size_t len,
                     const json_t *metadata, const void *key, size_t keylen, size_t *out_len);

/* A trace as parsed: the JSON it came from (a reference is held) and the view the rules see. */
struct eval_trace {
    json_t *doc;
    char *output_text;     /* owned when the output was JSON (serialised), else NULL */
    json_t *parsed_output; /* a string output that held JSON, parsed; or NULL */
    json_t *empty_meta;
    struct t1_trace t;
};
/* Checks a trace object (fields and types; input and output at most EVAL_MAX_TEXT bytes) and fills
 * *t. AEG_OK, or AEG_EINVAL with err naming the field ("output: must be a string or an object").
 * On failure *t needs no release; on success eval_trace_release it. */
int eval_trace_parse(json_t *doc, struct eval_trace *t, char *err, size_t errlen);
void eval_trace_release(struct eval_trace *t);

/* The outcome of one constraint on one trace. */
struct eval_outcome {
    enum t1_verdict verdict;
    bool applicable;      /* false when its `when` conditions did not hold (verdict is then pass) */
    size_t ev_from, ev_n; /* its evidence: ctx's evidence [ev_from, ev_from + ev_n) */
    uint64_t ns;          /* time spent on it */
};
struct eval_evidence {
    size_t rule; /* index of the rule in its constraint (conditions first, then rules) */
    struct t1_finding f;
};

struct eval_ctx *eval_ctx_new(void);
void eval_ctx_free(struct eval_ctx *c);

/* Evaluates every constraint of spec on the trace, into ctx (valid until the next eval_run on that
 * ctx). Never fails: unreadable parts of the trace are findings. Returns the worst verdict. */
enum t1_verdict eval_run(const struct eval_spec *spec, const struct t1_trace *t,
                         struct eval_ctx *ctx);
const struct eval_outcome *eval_outcome(const struct eval_ctx *ctx, size_t constraint);
const struct eval_evidence *eval_evidence(const struct eval_ctx *ctx, size_t i);

/* The last eval_run as JSON: {"domain","spec_version","verdict","tier":1,"time_us","results":[{
 * "constraint","description","severity","verdict","applicable","tier","time_us","evidence":[{
 * "rule","label","verdict","field","span":[s,e],"text","path","detail"}]}]}. "text" (the span's
 * text) only when with_text: callers that must not echo raw text (PHI) leave it out. New
 * reference. */
json_t *eval_result_json(const struct eval_spec *spec, const struct t1_trace *t,
                         const struct eval_ctx *ctx, bool with_text);

#endif

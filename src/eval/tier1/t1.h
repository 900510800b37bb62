/*
 * t1: what every Tier-1 check shares: the trace as the checks see it, the findings they report, and
 * the table entry of a built-in detector (PHI, dosage, citations, trajectory, orders, ...).
 *
 * A detector is compiled once from the parameters a domain spec gives it (compile: validates them
 * and builds whatever makes run fast: PCRE2 JIT code, tables, sorted lists), then run on many
 * traces, from many threads at once (run must not modify the compiled state). run appends findings;
 * it never fails: a trace it cannot read (a plan that is not a list of waypoints, say) is itself a
 * finding, usually `uncertain` or `fail` with a detail saying what is wrong. Spans are byte offsets
 * into the text the finding names (T1_INPUT or T1_OUTPUT), end exclusive; structured findings give
 * a JSON path instead.
 *
 * Pure: no I/O, no database, no HTTP, no global mutable state. The findings list owns its details;
 * t1_findings_release frees them.
 */
#ifndef AEGIS_EVAL_T1_H
#define AEGIS_EVAL_T1_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum t1_verdict { T1_PASS, T1_UNCERTAIN, T1_FAIL }; /* ordered: the worse is the larger */

enum t1_field { T1_NONE, T1_INPUT, T1_OUTPUT, T1_METADATA };

/* The trace as Tier-1 sees it. Texts are UTF-8, not necessarily NUL-terminated at len. */
struct t1_trace {
    const char *domain;
    const char *input;
    size_t input_len;
    const char *output; /* the output as text (a JSON output serialised compactly) */
    size_t output_len;
    const json_t
        *output_json;       /* the output when it was JSON (a robot plan, an order list), or NULL */
    const json_t *metadata; /* an object, never NULL (empty when the trace had none) */
};

#define T1_LABEL_MAX 40
#define T1_PATH_MAX 128
#define T1_DETAIL_MAX 240

struct t1_finding {
    enum t1_verdict verdict;  /* T1_FAIL or T1_UNCERTAIN (a detector reports no passes) */
    char label[T1_LABEL_MAX]; /* what was found, short and stable: "SSN", "DATE", "dose_above_max",
                                 "segment_collision", "spoofing", "reporter_unknown" */
    enum t1_field field;    /* where: T1_INPUT or T1_OUTPUT with a span, or T1_METADATA / T1_OUTPUT
                               with a path; T1_NONE when neither applies */
    size_t start, end;      /* the byte span in that text (end > start), or 0, 0 */
    char path[T1_PATH_MAX]; /* a JSON path such as "$.waypoints[3]" or "$.orders[12]", or "" */
    char detail[T1_DETAIL_MAX]; /* one sentence with the values found: "segment 3-4 passes 0.02 m
                                   from obstacle \"table\" (radius 0.30 m); clearance 0.10 m" */
};

struct t1_findings {
    struct t1_finding *v;
    size_t n, cap;
};

/* Appends a finding (growing the list) and returns it, zeroed but for verdict and label; the
 * caller fills span, path and detail (t1_detail formats the detail). Never fails (allocation
 * failure aborts). */
struct t1_finding *t1_add(struct t1_findings *f, enum t1_verdict verdict, const char *label);
void t1_detail(struct t1_finding *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void t1_findings_release(struct t1_findings *f); /* frees the list; *f is empty after, reusable */
void t1_findings_clear(struct t1_findings *f);   /* n = 0, keeps the memory */
/* The worst verdict among findings [from, f->n): T1_PASS when there are none. */
enum t1_verdict t1_worst(const struct t1_findings *f, size_t from);
const char *t1_verdict_name(enum t1_verdict v); /* "pass", "uncertain", "fail" */

/* A built-in detector. compile validates params (an object, possibly empty; never NULL) and returns
 * the compiled state, or NULL with err naming the parameter ("max_speed must be a positive
 * number"). run appends its findings for one trace; free releases what compile made (NULL is
 * allowed). */
struct t1_detector {
    const char *name; /* as written in specs: "phi", "dosage", "citations", ... */
    const char *summary;
    void *(*compile)(const json_t *params, char *err, size_t errlen);
    void (*run)(const void *state, const struct t1_trace *t, struct t1_findings *out);
    void (*free)(void *state);
};

/* The registry (detectors.c): NULL when no detector has that name. */
const struct t1_detector *t1_detector_find(const char *name);
/* All of them, ending with NULL. */
extern const struct t1_detector *const t1_detectors[];

#endif

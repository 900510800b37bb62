/*
 * eval_int: the compiled form of a domain spec, shared by spec.c (which builds it) and run.c (which
 * walks it). Not for use outside src/eval.
 */
#ifndef AEGIS_EVAL_EVAL_INT_H
#define AEGIS_EVAL_EVAL_INT_H

#include "eval/eval.h"
#include "eval/phrases.h"
#include "eval/tier1/anonymize.h"

#include <pcre2.h>

enum rule_kind { RULE_REGEX, RULE_KEYWORDS, RULE_REQUIRED, RULE_PATH, RULE_DETECTOR };

enum { FIELD_INPUT = 1, FIELD_OUTPUT = 2 }; /* a rule's fields: a bit set */

struct rule {
    enum rule_kind kind;
    char name[64];           /* for evidence: the spec's `name`, or "<kind> <n>" */
    unsigned fields;         /* regex, keywords, required */
    enum t1_verdict verdict; /* what the rule gives when it triggers (fail unless said) */
    /* regex, keywords, required: phrases (case-insensitive) go to the spec's phrase index as list
     * `list`; patterns, and phrases of a case-sensitive rule, to one PCRE2 alternation `re` */
    int list, contra_list; /* -1: none */
    pcre2_code **re;       /* one per pattern: each keeps PCRE2's start-of-match optimisation,
                              which one alternation of them all loses (measured: 33 us a KB against
                              22 for the patterns apart) */
    bool *re_lead_b;       /* the pattern began with \b, stripped: check it on a match */
    size_t nre;
    pcre2_code *contra; /* required: phrases that contradict it (then it does not count) */
    bool negation;      /* a match negated within `scope` words before it does not count */
    int scope;
    int min_matches; /* keywords and regex: matches needed to trigger (default 1) */
    /* path */
    char path[128];
    bool has_min, has_max, want_exists, want_absent;
    double min, max;
    json_t *equals;          /* or NULL */
    json_t *one_of;          /* an array, or NULL */
    enum t1_verdict missing; /* what an absent value gives */
    /* detector */
    const struct t1_detector *det;
    json_t *params;   /* as given (compared to share runs) */
    void *state;      /* owned unless shared_with >= 0 */
    long shared_with; /* the rule (flat index in the spec) whose detector run this one reuses */
    long run_slot;    /* which detector run of the trace holds its findings */
    char **labels;    /* findings kept: labels starting with one of these; NULL = all */
    size_t nlabels;
};

enum combine { COMBINE_ANY, COMBINE_ALL };

struct constraint {
    char id[64];
    char *description;
    int severity; /* index into eval_severities */
    enum combine combine;
    enum combine when_combine;
    struct rule *when; /* conditions: the constraint applies when they trigger */
    size_t nwhen;
    struct rule *rules;
    size_t nrules;
};

struct eval_spec {
    char name[64], version[32];
    char *description;
    struct constraint *c;
    size_t nc;
    size_t nslots; /* distinct detector runs per trace */
    struct phr_index *phr;
    unsigned phr_fields;  /* the fields some phrase list looks at */
    json_t *doc;          /* the document as written */
    json_t *phi;          /* borrowed from doc, or NULL */
    struct phi *phi_scan; /* the PHI policy's detector: phi.detect (all when absent) */
    struct anon_policy anon;
};

extern const char *const eval_severities[]; /* "low", "medium", "high", "critical", NULL */

struct pm {
    uint32_t s, e;
};
struct pm_list {
    struct pm *v;
    size_t n, cap;
};

struct eval_ctx {
    pcre2_match_data *md;
    struct phr_tokens tok;
    struct pm_list *pm; /* phrase matches: list * 2 + (0 input, 1 output) */
    size_t npm;
    struct t1_findings scratch; /* findings of the rule being run */
    struct t1_findings *slots;  /* per detector run */
    bool *slot_done;
    size_t nslots;
    struct eval_evidence *ev;
    size_t nev, capev;
    struct eval_outcome *out;
    size_t nout, capout;
    uint64_t total_ns;
};

/* Runs one rule on the trace: its verdict (T1_PASS when it did not trigger), evidence appended to
 * ctx->scratch. */
enum t1_verdict rule_run(const struct eval_spec *spec, const struct rule *r,
                         const struct t1_trace *t, struct eval_ctx *ctx);

#endif

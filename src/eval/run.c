/* Tier-1 evaluation: rules on a trace, constraints combined, results as JSON. */
#include "eval/eval_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EVIDENCE_PER_RULE 16

/* ---- traces --------------------------------------------------------------------------------- */

int eval_trace_parse(json_t *doc, struct eval_trace *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "a trace is an object with domain, input, output and metadata");
        return AEG_EINVAL;
    }
    static const char *const allowed[] = {"domain",     "input", "output",      "metadata", "model",
                                          "latency_ms", "cost",  "external_id", "tags",     "id",
                                          "expected",   "note",  NULL};
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(k, allowed[i]);
        if (!ok) {
            snprintf(err, errlen,
                     "%s: not a field of a trace (domain, input, output, metadata, model, "
                     "latency_ms, cost, external_id, tags)",
                     k);
            return AEG_EINVAL;
        }
    }
    const json_t *d = json_object_get(doc, "domain");
    if (d && (!json_is_string(d) || !*json_string_value(d) || json_string_length(d) > 63)) {
        snprintf(err, errlen, "domain: must be a domain name");
        return AEG_EINVAL;
    }
    const json_t *in = json_object_get(doc, "input");
    if (in && !json_is_string(in)) {
        snprintf(err, errlen, "input: must be a string");
        return AEG_EINVAL;
    }
    if (in && json_string_length(in) > EVAL_MAX_TEXT) {
        snprintf(err, errlen, "input: longer than %u bytes", EVAL_MAX_TEXT);
        return AEG_EINVAL;
    }
    const json_t *out = json_object_get(doc, "output");
    if (!out || !(json_is_string(out) || json_is_object(out) || json_is_array(out))) {
        snprintf(err, errlen, "output: is required: a string, or a JSON object or list");
        return AEG_EINVAL;
    }
    const json_t *md = json_object_get(doc, "metadata");
    if (md && !json_is_object(md) && !json_is_null(md)) {
        snprintf(err, errlen, "metadata: must be an object");
        return AEG_EINVAL;
    }
    const json_t *x;
    if ((x = json_object_get(doc, "model")) && !json_is_string(x)) {
        snprintf(err, errlen, "model: must be a string");
        return AEG_EINVAL;
    }
    if ((x = json_object_get(doc, "latency_ms")) &&
        !(json_is_number(x) && json_number_value(x) >= 0 && isfinite(json_number_value(x)))) {
        snprintf(err, errlen, "latency_ms: must be a non-negative number");
        return AEG_EINVAL;
    }
    if ((x = json_object_get(doc, "cost")) &&
        !(json_is_number(x) && json_number_value(x) >= 0 && isfinite(json_number_value(x)))) {
        snprintf(err, errlen, "cost: must be a non-negative number");
        return AEG_EINVAL;
    }
    if ((x = json_object_get(doc, "external_id")) &&
        !(json_is_string(x) && json_string_length(x) <= 200)) {
        snprintf(err, errlen, "external_id: must be a string of at most 200 bytes");
        return AEG_EINVAL;
    }
    if ((x = json_object_get(doc, "tags"))) {
        bool ok = json_is_array(x) && json_array_size(x) <= 32;
        for (size_t i = 0; ok && i < json_array_size(x); i++) {
            const json_t *tg = json_array_get(x, i);
            ok = json_is_string(tg) && json_string_length(tg) > 0 && json_string_length(tg) <= 64;
        }
        if (!ok) {
            snprintf(err, errlen, "tags: must be a list of at most 32 strings of 1 to 64 bytes");
            return AEG_EINVAL;
        }
    }
    t->doc = json_incref(doc);
    t->t.domain = d ? json_string_value(d) : NULL;
    t->t.input = in ? json_string_value(in) : "";
    t->t.input_len = in ? json_string_length(in) : 0;
    if (json_is_string(out)) {
        t->t.output = json_string_value(out);
        t->t.output_len = json_string_length(out);
        if (t->t.output_len > EVAL_MAX_TEXT) {
            snprintf(err, errlen, "output: longer than %u bytes", EVAL_MAX_TEXT);
            eval_trace_release(t);
            return AEG_EINVAL;
        }
        /* a plan or an order list may come as JSON text */
        const char *s = t->t.output;
        size_t i = 0;
        while (i < t->t.output_len && isspace((unsigned char)s[i]))
            i++;
        if (i < t->t.output_len && (s[i] == '{' || s[i] == '[')) {
            json_t *parsed = json_loadb(s, t->t.output_len, JSON_REJECT_DUPLICATES, NULL);
            if (parsed) {
                t->parsed_output = parsed;
                t->t.output_json = parsed;
            }
        }
    } else {
        t->output_text = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!t->output_text || strlen(t->output_text) > EVAL_MAX_TEXT) {
            snprintf(err, errlen, "output: larger than %u bytes", EVAL_MAX_TEXT);
            eval_trace_release(t);
            return AEG_EINVAL;
        }
        t->t.output = t->output_text;
        t->t.output_len = strlen(t->output_text);
        t->t.output_json = out;
    }
    if (md && json_is_object(md)) {
        t->t.metadata = md;
    } else {
        t->empty_meta = json_object();
        t->t.metadata = t->empty_meta;
    }
    return AEG_OK;
}

void eval_trace_release(struct eval_trace *t)
{
    free(t->output_text);
    json_decref(t->parsed_output);
    json_decref(t->empty_meta);
    json_decref(t->doc);
    memset(t, 0, sizeof *t);
}

/* ---- context -------------------------------------------------------------------------------- */

struct eval_ctx *eval_ctx_new(void)
{
    struct eval_ctx *c = xcalloc(1, sizeof *c);
    c->md = pcre2_match_data_create(8, NULL);
    if (!c->md)
        abort(); /* out of memory, as the alloc wrappers decide */
    return c;
}

void eval_ctx_free(struct eval_ctx *c)
{
    if (!c)
        return;
    pcre2_match_data_free(c->md);
    free(c->tok.v);
    for (size_t i = 0; i < c->npm; i++)
        free(c->pm[i].v);
    free(c->pm);
    t1_findings_release(&c->scratch);
    for (size_t i = 0; i < c->nslots; i++)
        t1_findings_release(&c->slots[i]);
    free(c->slots);
    free(c->slot_done);
    free(c->ev);
    free(c->out);
    free(c);
}

/* ---- text rules ----------------------------------------------------------------------------- */

static const char *const negations[] = {
    "not",     "no",      "never",   "without", "nor",      "neither",   "none",   "nobody",
    "nothing", "cannot",  "avoid",   "refrain", "don't",    "doesn't",   "didn't", "isn't",
    "aren't",  "wasn't",  "weren't", "won't",   "wouldn't", "shouldn't", "can't",  "couldn't",
    "mustn't", "needn't", "dont",    "doesnt",  "didnt",    "isnt",      "cant",   "wont",
    "hardly",  "stop",    "against", "denies",  "denied",   "denying",   NULL};
static const char *const clause_breaks[] = {"but", "however", "although", "though",
                                            "yet", "except",  "unless",   NULL};

static bool in_list(const char *w, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(w, list[i]))
            return true;
    return false;
}

static bool wch(unsigned char c)
{
    return isalnum(c) || c == '\'' || c >= 0x80;
}

/* Whether a negation cue stands within `scope` words before byte s of text, in the same clause.
 * The curly apostrophe (U+2019) counts as an apostrophe. */
static bool negated(const char *text, size_t s, int scope)
{
    size_t i = s;
    for (int words = 0; words < scope && i > 0;) {
        /* skip to the end of the previous word, stopping at a clause boundary */
        while (i > 0 && !wch((unsigned char)text[i - 1])) {
            char c = text[i - 1];
            if (c == '.' || c == ';' || c == ':' || c == '!' || c == '?' || c == '\n')
                return false;
            i--;
        }
        if (i == 0)
            break;
        size_t e = i;
        while (i > 0 && wch((unsigned char)text[i - 1]))
            i--;
        char w[32];
        size_t n = 0;
        for (size_t k = i; k < e && n + 1 < sizeof w; k++) {
            unsigned char c = (unsigned char)text[k];
            if (c == 0xE2 && k + 2 < e && (unsigned char)text[k + 1] == 0x80 &&
                (unsigned char)text[k + 2] == 0x99) {
                w[n++] = '\'';
                k += 2;
            } else {
                w[n++] = (char)tolower(c);
            }
        }
        w[n] = 0;
        if (e - i >= sizeof w)
            continue; /* a very long token is no cue */
        if (in_list(w, clause_breaks))
            return false;
        if (in_list(w, negations) || (n > 3 && !strcmp(w + n - 3, "n't")))
            return true;
        words++;
    }
    return false;
}

/* PCRE2's \b (without UCP): a change between ASCII word characters and the rest. */
static bool boundary(const char *s, size_t n, size_t a)
{
    bool before = a > 0 && (isalnum((unsigned char)s[a - 1]) || s[a - 1] == '_');
    bool after = a < n && (isalnum((unsigned char)s[a]) || s[a] == '_');
    return before != after;
}

static void field_text(const struct t1_trace *t, unsigned f, const char **s, size_t *n,
                       enum t1_field *which)
{
    if (f == FIELD_INPUT) {
        *s = t->input;
        *n = t->input_len;
        *which = T1_INPUT;
    } else {
        *s = t->output;
        *n = t->output_len;
        *which = T1_OUTPUT;
    }
}

/* Where the first negated match was seen (for a required rule's evidence). */
struct negseen {
    int *seen;
    size_t *at;
    enum t1_field *field;
};

/* One match of rule r at [a, b) of text s (field which): 1 when it counts, 0 when negated (the
 * first negated one recorded in *ns); evidence added when ev. */
static int take_match(const struct rule *r, struct eval_ctx *ctx, const char *s, size_t a, size_t b,
                      enum t1_field which, bool ev, const char *label, const struct negseen *ns)
{
    if (r->negation && negated(s, a, r->scope)) {
        if (ns->seen && !*ns->seen) {
            *ns->seen = 1;
            *ns->at = a;
            *ns->field = which;
        }
        return 0;
    }
    if (ev && ctx->scratch.n < MAX_EVIDENCE_PER_RULE) {
        struct t1_finding *x = t1_add(&ctx->scratch, r->verdict, label);
        x->field = which;
        x->start = a;
        x->end = b;
        t1_detail(x, "%s found", r->name);
    }
    return 1;
}

/* Counts the matches of re in the rule's fields that are not negated (when the rule honours
 * negation), adding evidence (up to MAX_EVIDENCE_PER_RULE) when ev is set. */
static int count_matches(const struct rule *r, const pcre2_code *re, bool lead_b,
                         const struct t1_trace *t, struct eval_ctx *ctx, bool ev, const char *label,
                         int *negated_seen, size_t *neg_at, enum t1_field *neg_field)
{
    int count = 0;
    const struct negseen seen = {negated_seen, neg_at, neg_field};
    for (unsigned f = FIELD_INPUT; f <= FIELD_OUTPUT; f <<= 1) {
        if (!(r->fields & f))
            continue;
        const char *s;
        size_t n;
        enum t1_field which;
        field_text(t, f, &s, &n, &which);
        PCRE2_SIZE off = 0;
        while (off <= n) {
            int m = pcre2_match(re, (PCRE2_SPTR)s, n, off, 0, ctx->md, NULL);
            if (m < 0)
                break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ctx->md);
            size_t a = ov[0], b = ov[1];
            off = b > a ? b : b + 1;
            if (b == a)
                continue; /* an empty match is no evidence */
            if (lead_b && !boundary(s, n, a)) {
                off = a + 1; /* not at a word boundary: look again from the next byte */
                continue;
            }
            count += take_match(r, ctx, s, a, b, which, ev, label, &seen);
        }
    }
    return count;
}

/* The same for the rule's phrase list `list` (matched by eval_run's one pass). */
static int count_list(const struct rule *r, int list, const struct t1_trace *t,
                      struct eval_ctx *ctx, bool ev, const char *label, int *negated_seen,
                      size_t *neg_at, enum t1_field *neg_field)
{
    int count = 0;
    const struct negseen seen = {negated_seen, neg_at, neg_field};
    for (unsigned f = FIELD_INPUT; f <= FIELD_OUTPUT; f <<= 1) {
        if (!(r->fields & f))
            continue;
        const char *s;
        size_t n;
        enum t1_field which;
        field_text(t, f, &s, &n, &which);
        const struct pm_list *l = &ctx->pm[(size_t)list * 2 + (f == FIELD_OUTPUT)];
        for (size_t i = 0; i < l->n; i++) {
            size_t a = l->v[i].s, b = l->v[i].e;
            count += take_match(r, ctx, s, a, b, which, ev, label, &seen);
        }
    }
    return count;
}

struct scan_arg {
    struct eval_ctx *ctx;
    int out; /* 0 input, 1 output */
};

static void phrase_found(void *arg, int list, size_t start, size_t end)
{
    struct scan_arg *a = arg;
    struct pm_list *l = &a->ctx->pm[(size_t)list * 2 + (size_t)a->out];
    if (l->n >= 256)
        return; /* enough to decide and to show */
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (struct pm){(uint32_t)start, (uint32_t)end};
}

/* Tokenises the fields some phrase list reads and finds every list's phrases in one pass each. */
static void scan_phrases(const struct eval_spec *spec, const struct t1_trace *t,
                         struct eval_ctx *ctx)
{
    size_t need = (size_t)phr_nlists(spec->phr) * 2;
    if (ctx->npm < need) {
        ctx->pm = xrealloc(ctx->pm, need * sizeof *ctx->pm);
        memset(ctx->pm + ctx->npm, 0, (need - ctx->npm) * sizeof *ctx->pm);
        ctx->npm = need;
    }
    for (size_t i = 0; i < need; i++)
        ctx->pm[i].n = 0;
    for (unsigned f = FIELD_INPUT; f <= FIELD_OUTPUT; f <<= 1) {
        if (!(spec->phr_fields & f))
            continue;
        const char *s;
        size_t n;
        enum t1_field which;
        field_text(t, f, &s, &n, &which);
        phr_tokenize(s, n, &ctx->tok);
        struct scan_arg a = {ctx, f == FIELD_OUTPUT};
        phr_scan(spec->phr, &ctx->tok, phrase_found, &a);
    }
}

/* ---- paths ---------------------------------------------------------------------------------- */

/* Resolves "metadata.a.b[2].c" against the trace; NULL when absent. A string input or output is a
 * JSON string made for the occasion (in *hold). */
static const json_t *resolve(const struct t1_trace *t, const char *path, json_t **hold)
{
    const json_t *cur;
    const char *p;
    *hold = NULL;
    if (!strncmp(path, "metadata", 8)) {
        cur = t->metadata;
        p = path + 8;
    } else if (!strncmp(path, "output", 6)) {
        if (t->output_json)
            cur = t->output_json;
        else
            cur = *hold = json_stringn_nocheck(t->output, t->output_len);
        p = path + 6;
    } else {
        cur = *hold = json_stringn_nocheck(t->input, t->input_len);
        p = path + 5;
    }
    while (cur && *p) {
        if (*p == '.') {
            p++;
            char key[128];
            size_t n = 0;
            while (*p && *p != '.' && *p != '[' && n + 1 < sizeof key)
                key[n++] = *p++;
            key[n] = 0;
            cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
        } else if (*p == '[') {
            char *end;
            long i = strtol(p + 1, &end, 10);
            if (*end != ']' || i < 0)
                return NULL;
            p = end + 1;
            cur = json_is_array(cur) ? json_array_get(cur, (size_t)i) : NULL;
        } else {
            return NULL;
        }
    }
    return cur;
}

static enum t1_verdict path_rule(const struct rule *r, const struct t1_trace *t,
                                 struct eval_ctx *ctx)
{
    json_t *hold;
    const json_t *v = resolve(t, r->path, &hold);
    enum t1_verdict out = T1_PASS;
    char why[400] = "";
    if (!v || json_is_null(v)) {
        if (r->want_absent) {
            json_decref(hold);
            return T1_PASS;
        }
        out = r->missing;
        snprintf(why, sizeof why, "%s is absent", r->path);
    } else if (r->want_absent) {
        out = r->verdict;
        snprintf(why, sizeof why, "%s is present", r->path);
    } else if (r->equals && !json_equal((json_t *)v, r->equals)) {
        out = r->verdict;
        char *a = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT),
             *b = json_dumps(r->equals, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(why, sizeof why, "%s is %.60s, not %.60s", r->path, a ? a : "?", b ? b : "?");
        free(a);
        free(b);
    } else if (r->one_of) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(r->one_of) && !found; i++)
            found = json_equal((json_t *)v, json_array_get(r->one_of, i));
        if (!found) {
            out = r->verdict;
            snprintf(why, sizeof why, "%s is none of the values allowed", r->path);
        }
    }
    if (out == T1_PASS && v && !json_is_null(v) && (r->has_min || r->has_max)) {
        if (!json_is_number(v)) {
            out = r->verdict;
            snprintf(why, sizeof why, "%s is not a number", r->path);
        } else {
            double x = json_number_value(v);
            if (r->has_min && x < r->min) {
                out = r->verdict;
                snprintf(why, sizeof why, "%s is %g, below the minimum %g", r->path, x, r->min);
            } else if (r->has_max && x > r->max) {
                out = r->verdict;
                snprintf(why, sizeof why, "%s is %g, above the maximum %g", r->path, x, r->max);
            }
        }
    }
    json_decref(hold);
    if (out != T1_PASS) {
        struct t1_finding *x = t1_add(&ctx->scratch, out, "path");
        x->field = !strncmp(r->path, "metadata", 8) ? T1_METADATA
                   : !strncmp(r->path, "output", 6) ? T1_OUTPUT
                                                    : T1_INPUT;
        snprintf(x->path, sizeof x->path, "$.%.120s", r->path);
        t1_detail(x, "%s", why);
    }
    return out;
}

/* ---- rules ---------------------------------------------------------------------------------- */

enum t1_verdict rule_run(const struct eval_spec *spec, const struct rule *r,
                         const struct t1_trace *t, struct eval_ctx *ctx)
{
    (void)spec;
    switch (r->kind) {
    case RULE_REGEX:
    case RULE_KEYWORDS: {
        size_t from = ctx->scratch.n;
        const char *label = r->kind == RULE_REGEX ? "pattern" : "keyword";
        int n = r->list >= 0 ? count_list(r, r->list, t, ctx, true, label, NULL, NULL, NULL) : 0;
        for (size_t i = 0; i < r->nre; i++)
            n += count_matches(r, r->re[i], r->re_lead_b[i], t, ctx, true, label, NULL, NULL, NULL);
        if (n >= r->min_matches)
            return r->verdict;
        ctx->scratch.n = from;
        return T1_PASS;
    }
    case RULE_REQUIRED: {
        int neg = 0;
        size_t neg_at = 0;
        enum t1_field neg_field = T1_NONE;
        if (r->contra || r->contra_list >= 0) {
            size_t from = ctx->scratch.n;
            int n = r->contra ? count_matches(r, r->contra, false, t, ctx, true, "contradicted",
                                              NULL, NULL, NULL)
                              : count_list(r, r->contra_list, t, ctx, true, "contradicted", NULL,
                                           NULL, NULL);
            if (n > 0) {
                for (size_t i = from; i < ctx->scratch.n; i++)
                    t1_detail(&ctx->scratch.v[i], "%s is contradicted", r->name);
                return r->verdict;
            }
        }
        int n = r->list >= 0
                    ? count_list(r, r->list, t, ctx, false, "required", &neg, &neg_at, &neg_field)
                    : 0;
        for (size_t i = 0; n == 0 && i < r->nre; i++)
            n = count_matches(r, r->re[i], r->re_lead_b[i], t, ctx, false, "required", &neg,
                              &neg_at, &neg_field);
        if (n > 0)
            return T1_PASS;
        struct t1_finding *x = t1_add(&ctx->scratch, r->verdict, neg ? "negated" : "missing");
        if (neg) {
            x->field = neg_field;
            x->start = neg_at;
            const char *s = neg_field == T1_INPUT ? t->input : t->output;
            size_t len = neg_field == T1_INPUT ? t->input_len : t->output_len;
            size_t e = neg_at;
            while (e < len && s[e] != '.' && s[e] != '\n' && e - neg_at < 120)
                e++;
            x->end = e > neg_at ? e : neg_at + 1 <= len ? neg_at + 1 : neg_at;
            if (x->end == x->start)
                x->field = T1_NONE;
            t1_detail(x, "%s is present only negated", r->name);
        } else {
            t1_detail(x, "%s is missing", r->name);
        }
        return r->verdict;
    }
    case RULE_PATH:
        return path_rule(r, t, ctx);
    case RULE_DETECTOR: {
        struct t1_findings *slot = &ctx->slots[r->run_slot];
        if (!ctx->slot_done[r->run_slot]) {
            t1_findings_clear(slot);
            r->det->run(r->state, t, slot);
            ctx->slot_done[r->run_slot] = true;
        }
        enum t1_verdict worst = T1_PASS;
        for (size_t i = 0; i < slot->n; i++) {
            const struct t1_finding *f = &slot->v[i];
            bool keep = !r->labels;
            for (size_t k = 0; k < r->nlabels && !keep; k++)
                keep = !strncmp(f->label, r->labels[k], strlen(r->labels[k]));
            if (!keep)
                continue;
            enum t1_verdict v = f->verdict < r->verdict ? f->verdict : r->verdict;
            if (v > worst)
                worst = v;
            if (ctx->scratch.n < 4 * MAX_EVIDENCE_PER_RULE) {
                struct t1_finding *x = t1_add(&ctx->scratch, v, f->label);
                *x = *f;
                x->verdict = v;
            }
        }
        return worst;
    }
    }
    return T1_PASS;
}

/* ---- constraints ---------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Moves ctx->scratch into the evidence list as rule `rule`'s. */
static void keep_evidence(struct eval_ctx *ctx, size_t rule)
{
    for (size_t i = 0; i < ctx->scratch.n; i++) {
        if (ctx->nev == ctx->capev) {
            ctx->capev = ctx->capev ? ctx->capev * 2 : 32;
            ctx->ev = xrealloc(ctx->ev, ctx->capev * sizeof *ctx->ev);
        }
        ctx->ev[ctx->nev].rule = rule;
        ctx->ev[ctx->nev].f = ctx->scratch.v[i];
        ctx->nev++;
    }
    t1_findings_clear(&ctx->scratch);
}

enum t1_verdict eval_run(const struct eval_spec *spec, const struct t1_trace *t,
                         struct eval_ctx *ctx)
{
    uint64_t t0 = now_ns();
    if (ctx->nslots < spec->nslots) {
        ctx->slots = xrealloc(ctx->slots, spec->nslots * sizeof *ctx->slots);
        memset(ctx->slots + ctx->nslots, 0, (spec->nslots - ctx->nslots) * sizeof *ctx->slots);
        ctx->slot_done = xrealloc(ctx->slot_done, spec->nslots * sizeof *ctx->slot_done);
        ctx->nslots = spec->nslots;
    }
    if (ctx->nslots)
        memset(ctx->slot_done, 0, ctx->nslots * sizeof *ctx->slot_done);
    if (ctx->capout < spec->nc) {
        ctx->capout = spec->nc;
        ctx->out = xrealloc(ctx->out, ctx->capout * sizeof *ctx->out);
    }
    ctx->nout = spec->nc;
    ctx->nev = 0;
    scan_phrases(spec, t, ctx);
    enum t1_verdict worst = T1_PASS;
    for (size_t i = 0; i < spec->nc; i++) {
        const struct constraint *c = &spec->c[i];
        struct eval_outcome *o = &ctx->out[i];
        uint64_t c0 = now_ns();
        o->ev_from = ctx->nev;
        o->applicable = true;
        t1_findings_clear(&ctx->scratch);
        if (c->nwhen) {
            size_t hits = 0;
            for (size_t k = 0; k < c->nwhen; k++) {
                bool hit = rule_run(spec, &c->when[k], t, ctx) != T1_PASS;
                hits += hit;
                keep_evidence(ctx, k);
                if (c->when_combine == COMBINE_ALL ? !hit : hit)
                    break; /* decided: all failed at one, or any held at one */
            }
            o->applicable = c->when_combine == COMBINE_ANY ? hits > 0 : hits == c->nwhen;
            /* (with `all`, a miss broke the loop early, so hits < nwhen) */
            if (!o->applicable)
                ctx->nev = o->ev_from;
        }
        enum t1_verdict v = T1_PASS;
        if (o->applicable) {
            size_t nfail = 0, npass = 0, cond_ev = ctx->nev;
            for (size_t k = 0; k < c->nrules; k++) {
                enum t1_verdict rv = rule_run(spec, &c->rules[k], t, ctx);
                keep_evidence(ctx, c->nwhen + k);
                nfail += rv == T1_FAIL;
                npass += rv == T1_PASS;
                if (rv > v)
                    v = rv;
                if (c->combine == COMBINE_ALL && rv == T1_PASS)
                    break; /* all: one pass decides; the rest need not run */
            }
            if (c->combine == COMBINE_ALL) {
                v = nfail == c->nrules ? T1_FAIL : npass ? T1_PASS : T1_UNCERTAIN;
                if (v == T1_PASS)
                    ctx->nev = cond_ev;
            }
            if (v == T1_PASS) /* a passing constraint's conditions are no evidence of a fault */
                ctx->nev = o->ev_from;
        }
        o->verdict = v;
        o->ev_n = ctx->nev - o->ev_from;
        o->ns = now_ns() - c0;
        if (v > worst)
            worst = v;
    }
    ctx->total_ns = now_ns() - t0;
    return worst;
}

const struct eval_outcome *eval_outcome(const struct eval_ctx *ctx, size_t constraint)
{
    return constraint < ctx->nout ? &ctx->out[constraint] : NULL;
}

const struct eval_evidence *eval_evidence(const struct eval_ctx *ctx, size_t i)
{
    return i < ctx->nev ? &ctx->ev[i] : NULL;
}

/* ---- results -------------------------------------------------------------------------------- */

static const char *field_name(enum t1_field f)
{
    return f == T1_INPUT      ? "input"
           : f == T1_OUTPUT   ? "output"
           : f == T1_METADATA ? "metadata"
                              : NULL;
}

/* The span's text, cut to at most 200 bytes at a UTF-8 boundary. */
static json_t *span_text(const struct t1_trace *t, const struct t1_finding *f)
{
    const char *s = f->field == T1_INPUT ? t->input : t->output;
    size_t len = f->field == T1_INPUT ? t->input_len : t->output_len;
    if (f->end <= f->start || f->end > len)
        return NULL;
    size_t n = f->end - f->start;
    if (n > 200) {
        n = 200;
        while (n > 0 && ((unsigned char)s[f->start + n] & 0xC0) == 0x80)
            n--;
    }
    return json_stringn(s + f->start, n); /* NULL when not valid UTF-8 */
}

json_t *eval_result_json(const struct eval_spec *spec, const struct t1_trace *t,
                         const struct eval_ctx *ctx, bool with_text)
{
    enum t1_verdict worst = T1_PASS;
    json_t *results = json_array();
    for (size_t i = 0; i < ctx->nout && i < spec->nc; i++) {
        const struct constraint *c = &spec->c[i];
        const struct eval_outcome *o = &ctx->out[i];
        if (o->verdict > worst)
            worst = o->verdict;
        json_t *ev = json_array();
        for (size_t k = o->ev_from; k < o->ev_from + o->ev_n; k++) {
            const struct eval_evidence *e = &ctx->ev[k];
            const struct rule *r =
                e->rule < c->nwhen ? &c->when[e->rule] : &c->rules[e->rule - c->nwhen];
            json_t *x = json_pack("{s:s,s:s,s:s}", "rule", r->name, "label", e->f.label, "verdict",
                                  t1_verdict_name(e->f.verdict));
            if (e->rule < c->nwhen)
                json_object_set_new(x, "condition", json_true());
            const char *fn = field_name(e->f.field);
            if (fn)
                json_object_set_new(x, "field", json_string(fn));
            if (e->f.end > e->f.start) {
                json_object_set_new(
                    x, "span", json_pack("[I,I]", (json_int_t)e->f.start, (json_int_t)e->f.end));
                json_t *tx = with_text ? span_text(t, &e->f) : NULL;
                if (tx)
                    json_object_set_new(x, "text", tx);
            }
            if (*e->f.path)
                json_object_set_new(x, "path", json_string(e->f.path));
            if (*e->f.detail) {
                json_t *d = json_string(e->f.detail);
                json_object_set_new(x, "detail", d ? d : json_string("(detail not UTF-8)"));
            }
            json_array_append_new(ev, x);
        }
        json_array_append_new(results, json_pack("{s:s,s:s,s:s,s:s,s:b,s:i,s:f,s:o}", "constraint",
                                                 c->id, "description", c->description, "severity",
                                                 eval_severities[c->severity], "verdict",
                                                 t1_verdict_name(o->verdict), "applicable",
                                                 o->applicable, "tier", 1, "time_us",
                                                 (double)o->ns / 1000.0, "evidence", ev));
    }
    return json_pack("{s:s,s:s,s:s,s:i,s:f,s:o}", "domain", spec->name, "spec_version",
                     spec->version, "verdict", t1_verdict_name(worst), "tier", 1, "time_us",
                     (double)ctx->total_ns / 1000.0, "results", results);
}

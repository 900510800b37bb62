/* The domain spec loader: YAML -> struct eval_spec (eval_int.h). Schema: docs/domain-specs.md. */
#include "eval/eval_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/yaml.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const eval_severities[] = {"low", "medium", "high", "critical", NULL};

/* The loader's state: where errors point. */
struct ld {
    const char *origin;
    struct yaml_locs *locs;
    char *err;
    size_t errlen;
    long nflat; /* detector rules seen so far, for slot sharing */
    const struct rule **flat;
    size_t nflat_cap;
    size_t nslots;
    struct phr_index *phr;
    int nlists;
    unsigned phr_fields;
};

/* Sets err to "origin:LINE: field: reason", the line being where `at` (or, failing that, the key
 * `key` of `obj`) was written. Returns AEG_EINVAL. */
static __attribute__((format(printf, 6, 7))) int bad(struct ld *L, const json_t *at,
                                                     const json_t *obj, const char *key,
                                                     const char *field, const char *fmt, ...)
{
    int line = 0, col = 0;
    if (!(at && yaml_where(L->locs, at, &line, &col)) &&
        !(obj && key && yaml_where_key(L->locs, obj, key, &line, &col)) &&
        !(obj && yaml_where(L->locs, obj, &line, &col)))
        line = 0;
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(L->err, L->errlen, "%s:%d: %s: %s", L->origin, line, field, reason);
    else
        snprintf(L->err, L->errlen, "%s: %s: %s", L->origin, field, reason);
    return AEG_EINVAL;
}

/* The first key of obj not in allowed (NULL-terminated), or NULL. */
static const char *unknown_key(const json_t *obj, const char *const *allowed)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        (void)v;
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(k, allowed[i]);
        if (!ok)
            return k;
    }
    return NULL;
}

static bool ident_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

static int verdict_of(const char *s, enum t1_verdict *v)
{
    if (!s)
        return -1;
    if (!strcmp(s, "fail"))
        *v = T1_FAIL;
    else if (!strcmp(s, "uncertain"))
        *v = T1_UNCERTAIN;
    else if (!strcmp(s, "pass"))
        *v = T1_PASS;
    else
        return -1;
    return 0;
}

/* ---- patterns ------------------------------------------------------------------------------- */

struct sbuf {
    char *p;
    size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static bool wordch(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

static void phrase_to_pattern(struct sbuf *b, const char *ph)
{
    size_t n = strlen(ph);
    while (n && isspace((unsigned char)ph[n - 1]))
        n--;
    while (n && isspace((unsigned char)*ph)) {
        ph++;
        n--;
    }
    if (n && wordch((unsigned char)ph[0]))
        sb_str(b, "\\b");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ph[i];
        if (isspace(c)) {
            while (i + 1 < n && isspace((unsigned char)ph[i + 1]))
                i++;
            sb_str(b, "\\s+");
        } else if (c == '\'') {
            sb_str(b, "(?:'|\xe2\x80\x99)");
        } else if (strchr("\\^$.|?*+()[]{}-/#", c)) {
            char e[3] = {'\\', (char)c, 0};
            sb_str(b, e);
        } else {
            sb_put(b, ph + i, 1);
        }
    }
    if (n && wordch((unsigned char)ph[n - 1]))
        sb_str(b, "\\b");
}

/* Compiles an alternation of the strings in list (phrases, or patterns when `raw`). NULL with an
 * error in L (naming field) when a pattern does not compile. */
static pcre2_code *compile_list(struct ld *L, const json_t *list, bool raw, bool caseless,
                                const char *field, int *rc, bool *lead_b)
{
    struct sbuf b = {0};
    /* when every alternative starts with \b, PCRE2 loses its start-of-match optimisation (4-12 us
     * a kilobyte instead of ~1): strip it and let the matcher check the boundary itself */
    bool strip = raw && lead_b;
    for (size_t i = 0; strip && i < json_array_size(list); i++)
        strip = !strncmp(json_string_value(json_array_get(list, i)), "\\b", 2);
    if (lead_b)
        *lead_b = strip;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (raw) { /* each alone first, so an error names the pattern */
            int ec;
            PCRE2_SIZE off;
            pcre2_code *one =
                pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (caseless ? PCRE2_CASELESS : 0),
                              &ec, &off, NULL);
            if (!one) {
                PCRE2_UCHAR msg[200];
                pcre2_get_error_message(ec, msg, sizeof msg);
                char f[224];
                if (json_array_size(list) == 1) /* the caller named the pattern itself */
                    snprintf(f, sizeof f, "%s", field);
                else
                    snprintf(f, sizeof f, "%s[%zu]", field, i);
                *rc = bad(L, v, NULL, NULL, f, "the pattern does not compile at offset %zu: %s",
                          (size_t)off, (const char *)msg);
                free(b.p);
                return NULL;
            }
            pcre2_code_free(one);
        }
        sb_str(&b, i ? "|(?:" : "(?:");
        if (raw)
            sb_str(&b, strip ? s + 2 : s);
        else
            phrase_to_pattern(&b, s);
        sb_str(&b, ")");
    }
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile(
        (PCRE2_SPTR)b.p, b.n, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (caseless ? PCRE2_CASELESS : 0),
        &ec, &off, NULL);
    free(b.p);
    if (!re) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(ec, msg, sizeof msg);
        *rc = bad(L, list, NULL, NULL, field, "the patterns do not compile together: %s",
                  (const char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT (unsupported CPU) it still matches */
    return re;
}

/* A non-empty list of non-empty strings. */
static int string_list(struct ld *L, const json_t *obj, const char *key, const char *field,
                       bool required, const json_t **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required)
            return bad(L, NULL, obj, NULL, field, "is required (a list of strings)");
        return AEG_OK;
    }
    if (json_is_string(v)) { /* one string is a list of one: callers re-read it as a list */
        if (!*json_string_value(v))
            return bad(L, v, obj, key, field, "must not be empty");
        *out = v;
        return AEG_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 5000)
        return bad(L, v, obj, key, field, "must be a list of 1 to 5000 strings");
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x) if (!json_is_string(x) || !*json_string_value(x) ||
                                    json_string_length(x) > 2000)
    {
        char f[224];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        return bad(L, x, v, NULL, f,
                   json_is_number(x) ? "must be a string (quote numbers: \"988\")"
                                     : "must be a non-empty string of at most 2000 bytes");
    }
    *out = v;
    return AEG_OK;
}

/* Lists given as one string become arrays of one (a new reference in *hold). */
static const json_t *as_list(const json_t *v, json_t **hold)
{
    if (json_is_string(v)) {
        *hold = json_pack("[O]", v);
        return *hold;
    }
    return v;
}

/* ---- rules ---------------------------------------------------------------------------------- */

static int int_in(struct ld *L, const json_t *obj, const char *key, const char *field, long lo,
                  long hi, long dflt, int *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = (int)dflt;
        return AEG_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(L, v, obj, key, field, "must be a whole number from %ld to %ld", lo, hi);
    *out = (int)json_integer_value(v);
    return AEG_OK;
}

static int bool_of(struct ld *L, const json_t *obj, const char *key, const char *field, bool dflt,
                   bool *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return AEG_OK;
    }
    if (!json_is_boolean(v))
        return bad(L, v, obj, key, field, "must be true or false");
    *out = json_is_true(v);
    return AEG_OK;
}

static int parse_fields(struct ld *L, const json_t *r, const char *where, unsigned *out)
{
    const json_t *v = json_object_get(r, "field");
    const char *key = "field";
    if (!v) {
        v = json_object_get(r, "fields");
        key = "fields";
    }
    *out = FIELD_OUTPUT;
    if (!v)
        return AEG_OK;
    char f[192];
    snprintf(f, sizeof f, "%s.%s", where, key);
    json_t *hold = NULL;
    const json_t *list = as_list(v, &hold);
    if (!json_is_array(list) || !json_array_size(list)) {
        json_decref(hold);
        return bad(L, v, r, key, f, "must be input, output, both, or a list of input and output");
    }
    *out = 0;
    size_t i;
    const json_t *x;
    json_array_foreach(list, i, x)
    {
        const char *s = json_string_value(x);
        if (s && !strcmp(s, "input"))
            *out |= FIELD_INPUT;
        else if (s && !strcmp(s, "output"))
            *out |= FIELD_OUTPUT;
        else if (s && !strcmp(s, "both"))
            *out |= FIELD_INPUT | FIELD_OUTPUT;
        else {
            json_decref(hold);
            return bad(L, v, r, key, f, "must be input, output, both, or a list of them");
        }
    }
    json_decref(hold);
    return AEG_OK;
}

/* Puts a list of phrases into the spec's phrase index as a new list; returns its number. A
 * phrase with no tokens cannot occur (string_list refused empty strings; one of spaces only is
 * simply never found). */
static int phrase_list(struct ld *L, const json_t *list, unsigned fields)
{
    int id = L->nlists++;
    size_t i;
    const json_t *x;
    json_array_foreach(list, i, x) phr_add(L->phr, json_string_value(x), id);
    L->phr_fields |= fields;
    return id;
}

static const char *const kinds[] = {"regex", "keywords", "required", "path", "detector", NULL};

static int parse_rule(struct ld *L, const json_t *r, const char *where, size_t idx,
                      struct rule *out)
{
    memset(out, 0, sizeof *out);
    out->shared_with = -1;
    out->run_slot = -1;
    out->list = out->contra_list = -1;
    out->verdict = T1_FAIL;
    out->min_matches = 1;
    out->scope = 5;
    if (!json_is_object(r))
        return bad(L, r, NULL, NULL, where, "a rule is an object with a kind");
    const char *kind = json_string_value(json_object_get(r, "kind"));
    char f[192];
    snprintf(f, sizeof f, "%s.kind", where);
    int k = -1;
    for (int i = 0; kind && kinds[i]; i++)
        if (!strcmp(kind, kinds[i]))
            k = i;
    if (k < 0)
        return bad(L, json_object_get(r, "kind"), r, "kind", f,
                   "must be one of regex, keywords, required, path, detector");
    out->kind = (enum rule_kind)k;
    static const char *const allowed[][16] = {
        {"kind", "name", "verdict", "field", "fields", "patterns", "pattern", "case_sensitive",
         "negation", "scope", "min_matches", "description", NULL},
        {"kind", "name", "verdict", "field", "fields", "any", "case_sensitive", "negation", "scope",
         "min_matches", "description", NULL},
        {"kind", "name", "verdict", "field", "fields", "any", "patterns", "contradicted_by",
         "case_sensitive", "negation", "scope", "description", NULL},
        {"kind", "name", "verdict", "path", "min", "max", "equals", "one_of", "exists", "missing",
         "description", NULL},
        {"kind", "name", "verdict", "detector", "params", "labels", "description", NULL},
    };
    const char *uk = unknown_key(r, allowed[k]);
    if (uk) {
        snprintf(f, sizeof f, "%s.%s", where, uk);
        return bad(L, json_object_get(r, uk), r, uk, f, "is not a field of a %s rule", kind);
    }
    const json_t *nm = json_object_get(r, "name");
    if (nm && (!json_is_string(nm) || !*json_string_value(nm) || json_string_length(nm) >= 64)) {
        snprintf(f, sizeof f, "%s.name", where);
        return bad(L, nm, r, "name", f, "must be a string of 1 to 63 bytes");
    }
    if (nm)
        snprintf(out->name, sizeof out->name, "%s", json_string_value(nm));
    else
        snprintf(out->name, sizeof out->name, "%s %zu", kind, idx + 1);
    const json_t *vd = json_object_get(r, "verdict");
    if (vd && (verdict_of(json_string_value(vd), &out->verdict) || out->verdict == T1_PASS)) {
        snprintf(f, sizeof f, "%s.verdict", where);
        return bad(L, vd, r, "verdict", f, "must be fail or uncertain (what a trigger means)");
    }
    int rc;
    if (k == RULE_REGEX || k == RULE_KEYWORDS || k == RULE_REQUIRED) {
        if ((rc = parse_fields(L, r, where, &out->fields)))
            return rc;
        bool cs = false;
        snprintf(f, sizeof f, "%s.case_sensitive", where);
        if ((rc = bool_of(L, r, "case_sensitive", f, false, &cs)))
            return rc;
        snprintf(f, sizeof f, "%s.negation", where);
        if ((rc = bool_of(L, r, "negation", f, k != RULE_REGEX, &out->negation)))
            return rc;
        snprintf(f, sizeof f, "%s.scope", where);
        if ((rc = int_in(L, r, "scope", f, 1, 30, 5, &out->scope)))
            return rc;
        if (k != RULE_REQUIRED) {
            snprintf(f, sizeof f, "%s.min_matches", where);
            if ((rc = int_in(L, r, "min_matches", f, 1, 1000, 1, &out->min_matches)))
                return rc;
        }
        const json_t *phrases = NULL, *pats = NULL;
        if (k != RULE_REGEX) {
            snprintf(f, sizeof f, "%s.any", where);
            if ((rc = string_list(L, r, "any", f, k == RULE_KEYWORDS, &phrases)))
                return rc;
        }
        if (k != RULE_KEYWORDS) {
            const char *pk = json_object_get(r, "pattern") ? "pattern" : "patterns";
            snprintf(f, sizeof f, "%s.%s", where, pk);
            if ((rc = string_list(L, r, pk, f, k == RULE_REGEX, &pats)))
                return rc;
        }
        if (k == RULE_REQUIRED && !phrases && !pats) {
            snprintf(f, sizeof f, "%s.any", where);
            return bad(L, NULL, r, NULL, f, "a required rule needs phrases (any) or patterns");
        }
        /* phrases go to the spec's phrase index (case-insensitive), or, in a case-sensitive rule,
         * become patterns; patterns as written make one PCRE2 alternation */
        json_t *h1 = NULL, *h2 = NULL, *all = NULL;
        const json_t *pl = phrases ? as_list(phrases, &h1) : NULL;
        const json_t *rl = pats ? as_list(pats, &h2) : NULL;
        rc = AEG_OK;
        if (pl && !cs) {
            out->list = phrase_list(L, pl, out->fields);
        } else if (pl) {
            all = json_array();
            size_t i;
            const json_t *x;
            struct sbuf sb = {0};
            json_array_foreach(pl, i, x)
            {
                sb.n = 0;
                phrase_to_pattern(&sb, json_string_value(x));
                json_array_append_new(all, json_stringn(sb.p, sb.n));
            }
            free(sb.p);
        }
        if (rl) {
            if (!all)
                all = json_array();
            json_array_extend(all, (json_t *)rl);
        }
        if (all) {
            snprintf(f, sizeof f, "%s.%s", where, rl ? "patterns" : "any");
            size_t na = json_array_size(all);
            out->re = xcalloc(na, sizeof *out->re);
            out->re_lead_b = xcalloc(na, sizeof *out->re_lead_b);
            for (size_t i = 0; i < na && !rc; i++) {
                json_t *one = json_pack("[O]", json_array_get(all, i));
                char fi[224];
                snprintf(fi, sizeof fi, "%s[%zu]", f, i);
                out->re[i] = compile_list(L, one, true, !cs, fi, &rc, &out->re_lead_b[i]);
                json_decref(one);
                if (out->re[i])
                    out->nre++;
            }
        }
        json_decref(all);
        json_decref(h1);
        json_decref(h2);
        if (rc)
            return rc;
        if (k == RULE_REQUIRED) {
            const json_t *cb;
            snprintf(f, sizeof f, "%s.contradicted_by", where);
            if ((rc = string_list(L, r, "contradicted_by", f, false, &cb)))
                return rc;
            if (cb) {
                json_t *h = NULL;
                if (!cs)
                    out->contra_list = phrase_list(L, as_list(cb, &h), out->fields);
                else
                    out->contra = compile_list(L, as_list(cb, &h), false, true, f, &rc, NULL);
                json_decref(h);
                if (rc)
                    return rc;
            }
        }
        return AEG_OK;
    }
    if (k == RULE_PATH) {
        const json_t *p = json_object_get(r, "path");
        snprintf(f, sizeof f, "%s.path", where);
        const char *ps = json_string_value(p);
        if (!ps || !*ps || strlen(ps) >= sizeof out->path)
            return bad(L, p, r, "path", f,
                       "is required: a path such as metadata.adviser.registered");
        const char *q = ps[0] == '$' && ps[1] == '.' ? ps + 2 : ps;
        if (strncmp(q, "metadata", 8) && strncmp(q, "output", 6) && strncmp(q, "input", 5))
            return bad(L, p, r, "path", f, "must start with metadata, output or input");
        snprintf(out->path, sizeof out->path, "%s", q);
        const json_t *v;
        if ((v = json_object_get(r, "min"))) {
            snprintf(f, sizeof f, "%s.min", where);
            if (!json_is_number(v) || !isfinite(json_number_value(v)))
                return bad(L, v, r, "min", f, "must be a number");
            out->has_min = true;
            out->min = json_number_value(v);
        }
        if ((v = json_object_get(r, "max"))) {
            snprintf(f, sizeof f, "%s.max", where);
            if (!json_is_number(v) || !isfinite(json_number_value(v)))
                return bad(L, v, r, "max", f, "must be a number");
            out->has_max = true;
            out->max = json_number_value(v);
        }
        if (out->has_min && out->has_max && out->min > out->max) {
            snprintf(f, sizeof f, "%s.min", where);
            return bad(L, NULL, r, "min", f, "is above max");
        }
        if ((v = json_object_get(r, "equals")))
            out->equals = json_incref((json_t *)v);
        if ((v = json_object_get(r, "one_of"))) {
            snprintf(f, sizeof f, "%s.one_of", where);
            if (!json_is_array(v) || !json_array_size(v))
                return bad(L, v, r, "one_of", f, "must be a non-empty list of values");
            out->one_of = json_incref((json_t *)v);
        }
        if ((v = json_object_get(r, "exists"))) {
            snprintf(f, sizeof f, "%s.exists", where);
            if (!json_is_boolean(v))
                return bad(L, v, r, "exists", f, "must be true or false");
            out->want_exists = json_is_true(v);
            out->want_absent = !json_is_true(v);
        }
        if (!out->has_min && !out->has_max && !out->equals && !out->one_of && !out->want_exists &&
            !out->want_absent) {
            snprintf(f, sizeof f, "%s", where);
            return bad(L, NULL, r, NULL, f,
                       "a path rule needs a check: min, max, equals, one_of or exists");
        }
        /* an absent value: a violation when presence or a value is demanded, else no check */
        out->missing = out->want_exists || out->equals || out->one_of ? out->verdict : T1_PASS;
        if ((v = json_object_get(r, "missing"))) {
            snprintf(f, sizeof f, "%s.missing", where);
            if (verdict_of(json_string_value(v), &out->missing))
                return bad(L, v, r, "missing", f, "must be pass, fail or uncertain");
        }
        return AEG_OK;
    }
    /* detector */
    const json_t *d = json_object_get(r, "detector");
    snprintf(f, sizeof f, "%s.detector", where);
    if (!json_is_string(d))
        return bad(L, d, r, "detector", f, "is required: the name of a built-in detector");
    out->det = t1_detector_find(json_string_value(d));
    if (!out->det) {
        char names[400] = "";
        size_t n = 0;
        for (size_t i = 0; t1_detectors[i]; i++)
            n += (size_t)snprintf(names + n, n < sizeof names ? sizeof names - n : 0, "%s%s",
                                  i ? ", " : "", t1_detectors[i]->name);
        return bad(L, d, r, "detector", f, "no detector \"%s\" (there are: %s)",
                   json_string_value(d), names);
    }
    const json_t *params = json_object_get(r, "params");
    json_t *empty = NULL;
    if (!params)
        params = empty = json_object();
    snprintf(f, sizeof f, "%s.params", where);
    if (!json_is_object(params))
        return bad(L, params, r, "params", f, "must be an object");
    const json_t *labels;
    snprintf(f, sizeof f, "%s.labels", where);
    if ((rc = string_list(L, r, "labels", f, false, &labels))) {
        json_decref(empty);
        return rc;
    }
    if (labels) {
        json_t *h = NULL;
        const json_t *ll = as_list(labels, &h);
        out->nlabels = json_array_size(ll);
        out->labels = xcalloc(out->nlabels, sizeof *out->labels);
        for (size_t i = 0; i < out->nlabels; i++)
            out->labels[i] = xstrdup(json_string_value(json_array_get(ll, i)));
        json_decref(h);
    }
    /* a detector with the same parameters as an earlier rule's runs once per trace */
    for (long i = 0; i < L->nflat; i++) {
        const struct rule *o = L->flat[i];
        if (o->det == out->det && json_equal(o->params, (json_t *)params)) {
            out->shared_with = i;
            out->run_slot = o->run_slot;
            out->state = o->state;
            break;
        }
    }
    if (out->shared_with < 0) {
        char derr[300] = "";
        out->state = out->det->compile(params, derr, sizeof derr);
        if (!out->state) {
            int e = bad(L, params, r, "params", f, "%s", *derr ? derr : "rejected");
            json_decref(empty);
            return e;
        }
        out->run_slot = (long)L->nslots++;
    }
    out->params = json_deep_copy(params);
    json_decref(empty);
    return AEG_OK;
}

static void rule_release(struct rule *r)
{
    for (size_t i = 0; i < r->nre; i++)
        pcre2_code_free(r->re[i]);
    free(r->re);
    free(r->re_lead_b);
    if (r->contra)
        pcre2_code_free(r->contra);
    json_decref(r->equals);
    json_decref(r->one_of);
    json_decref(r->params);
    if (r->det && r->shared_with < 0 && r->det->free)
        r->det->free(r->state);
    for (size_t i = 0; i < r->nlabels; i++)
        free(r->labels[i]);
    free(r->labels);
}

static int parse_rules(struct ld *L, const json_t *c, const char *key, const char *cwhere,
                       bool required, struct rule **out, size_t *n)
{
    const json_t *list = json_object_get(c, key);
    char f[128];
    snprintf(f, sizeof f, "%s.%s", cwhere, key);
    *out = NULL;
    *n = 0;
    if (!list) {
        if (required)
            return bad(L, NULL, c, NULL, f, "is required: a list of rules");
        return AEG_OK;
    }
    if (!json_is_array(list) || !json_array_size(list) || json_array_size(list) > EVAL_MAX_RULES)
        return bad(L, list, c, key, f, "must be a list of 1 to %d rules", EVAL_MAX_RULES);
    *out = xcalloc(json_array_size(list), sizeof **out);
    for (size_t i = 0; i < json_array_size(list); i++) {
        char w[150];
        snprintf(w, sizeof w, "%s[%zu]", f, i);
        int rc = parse_rule(L, json_array_get(list, i), w, i, &(*out)[i]);
        (*n)++; /* released on failure too */
        if (rc)
            return rc;
        if ((*out)[i].kind == RULE_DETECTOR) {
            if ((size_t)L->nflat == L->nflat_cap) {
                L->nflat_cap = L->nflat_cap ? L->nflat_cap * 2 : 16;
                L->flat = xrealloc(L->flat, L->nflat_cap * sizeof *L->flat);
            }
            L->flat[L->nflat++] = &(*out)[i];
        }
    }
    return AEG_OK;
}

static int parse_combine(struct ld *L, const json_t *c, const char *key, const char *cwhere,
                         enum combine *out)
{
    const json_t *v = json_object_get(c, key);
    *out = COMBINE_ANY;
    if (!v)
        return AEG_OK;
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "any"))
        return AEG_OK;
    if (s && !strcmp(s, "all")) {
        *out = COMBINE_ALL;
        return AEG_OK;
    }
    char f[128];
    snprintf(f, sizeof f, "%s.%s", cwhere, key);
    return bad(L, v, c, key, f, "must be any or all");
}

static int parse_constraint(struct ld *L, const json_t *c, size_t i, struct constraint *out)
{
    char w[112], f[160];
    snprintf(w, sizeof w, "constraints[%zu]", i);
    if (!json_is_object(c))
        return bad(L, c, NULL, NULL, w,
                   "a constraint is an object with id, description, "
                   "severity and rules");
    static const char *const allowed[] = {"id",   "description",  "severity", "combine",
                                          "when", "when_combine", "rules",    NULL};
    const char *uk = unknown_key(c, allowed);
    if (uk) {
        snprintf(f, sizeof f, "%s.%s", w, uk);
        return bad(L, json_object_get(c, uk), c, uk, f,
                   "is not a field of a constraint (id, description, severity, combine, when, "
                   "when_combine, rules)");
    }
    const json_t *id = json_object_get(c, "id");
    snprintf(f, sizeof f, "%s.id", w);
    if (!json_is_string(id) || !ident_ok(json_string_value(id), sizeof out->id))
        return bad(L, id, c, "id", f,
                   "is required: lower-case letters, digits, _ and -, at most 63 bytes");
    snprintf(out->id, sizeof out->id, "%s", json_string_value(id));
    snprintf(w, sizeof w, "constraints[%zu] (%s)", i, out->id);
    const json_t *d = json_object_get(c, "description");
    snprintf(f, sizeof f, "%s.description", w);
    if (!json_is_string(d) || !*json_string_value(d))
        return bad(L, d, c, "description", f, "is required: a sentence saying what it forbids");
    out->description = xstrdup(json_string_value(d));
    const json_t *sv = json_object_get(c, "severity");
    out->severity = -1;
    for (int k = 0; eval_severities[k] && json_is_string(sv); k++)
        if (!strcmp(json_string_value(sv), eval_severities[k]))
            out->severity = k;
    snprintf(f, sizeof f, "%s.severity", w);
    if (out->severity < 0)
        return bad(L, sv, c, "severity", f, "must be low, medium, high or critical");
    int rc;
    if ((rc = parse_combine(L, c, "combine", w, &out->combine)) ||
        (rc = parse_combine(L, c, "when_combine", w, &out->when_combine)) ||
        (rc = parse_rules(L, c, "when", w, false, &out->when, &out->nwhen)) ||
        (rc = parse_rules(L, c, "rules", w, true, &out->rules, &out->nrules)))
        return rc;
    return AEG_OK;
}

static void constraint_release(struct constraint *c)
{
    free(c->description);
    for (size_t i = 0; i < c->nwhen; i++)
        rule_release(&c->when[i]);
    for (size_t i = 0; i < c->nrules; i++)
        rule_release(&c->rules[i]);
    free(c->when);
    free(c->rules);
}

void eval_spec_free(struct eval_spec *s)
{
    if (!s)
        return;
    /* shared detector states belong to the first rule: release later rules first */
    for (size_t i = s->nc; i-- > 0;)
        constraint_release(&s->c[i]);
    free(s->c);
    free(s->description);
    phr_free(s->phr);
    phi_free(s->phi_scan);
    json_decref(s->doc);
    free(s);
}

/* tier2, tier3 and phi are declared now and run by later tiers; their shape is checked here. */
static int check_tiers(struct ld *L, const json_t *doc)
{
    const json_t *t2 = json_object_get(doc, "tier2");
    if (t2) {
        if (!json_is_array(t2))
            return bad(L, t2, doc, "tier2", "tier2", "must be a list of models");
        size_t i;
        const json_t *m;
        json_array_foreach(t2, i, m)
        {
            char f[64];
            snprintf(f, sizeof f, "tier2[%zu]", i);
            if (!json_is_object(m) || !json_is_string(json_object_get(m, "name")))
                return bad(L, m, t2, NULL, f, "a model is an object with at least a name");
            const json_t *th = json_object_get(m, "uncertain_between");
            if (th &&
                !(json_is_array(th) && json_array_size(th) == 2 &&
                  json_is_number(json_array_get(th, 0)) && json_is_number(json_array_get(th, 1)) &&
                  json_number_value(json_array_get(th, 0)) <=
                      json_number_value(json_array_get(th, 1))))
                return bad(L, th, m, "uncertain_between", f,
                           "uncertain_between must be [low, high] with low <= high");
        }
    }
    const json_t *t3 = json_object_get(doc, "tier3");
    if (t3) {
        const char *p = json_string_value(json_object_get(t3, "provider"));
        if (!json_is_object(t3) || !p || (strcmp(p, "openai") && strcmp(p, "anthropic")))
            return bad(L, t3, doc, "tier3", "tier3.provider",
                       "tier3 is an object whose provider is openai or anthropic");
        if (!json_is_string(json_object_get(t3, "model")))
            return bad(L, t3, doc, "tier3", "tier3.model", "is required (a model name)");
    }
    return AEG_OK;
}

/* phi: {detect: all | [labels], anonymize: {default: op, LABEL: op}}: what anonymisation finds
 * and how it rewrites it (before storage when the organisation asks, and before any text leaves
 * the server). Absent: every label, replaced by <LABEL>. */
static int parse_phi(struct ld *L, const json_t *doc, struct eval_spec *s)
{
    const json_t *phi = json_object_get(doc, "phi");
    anon_policy_init(&s->anon, ANON_REPLACE);
    json_t *params = json_pack("{s:[s,s]}", "fields", "output", "input");
    int rc = AEG_OK;
    char err[300] = "";
    if (phi) {
        static const char *const allowed[] = {"detect", "anonymize", NULL};
        const char *uk;
        if (!json_is_object(phi)) {
            rc = bad(L, phi, doc, "phi", "phi", "must be an object (detect, anonymize)");
            goto out;
        }
        if ((uk = unknown_key(phi, allowed))) {
            char f[80];
            snprintf(f, sizeof f, "phi.%.60s", uk);
            rc = bad(L, json_object_get(phi, uk), phi, uk, f,
                     "is not a field of phi (detect, anonymize)");
            goto out;
        }
        const json_t *d = json_object_get(phi, "detect");
        if (d && !(json_is_string(d) && !strcmp(json_string_value(d), "all"))) {
            if (!json_is_array(d)) {
                rc = bad(L, d, phi, "detect", "phi.detect", "must be all or a list of labels");
                goto out;
            }
            json_object_set(params, "entities", (json_t *)d);
        }
        const json_t *a = json_object_get(phi, "anonymize");
        if (a && anon_policy_parse(a, &s->anon, err, sizeof err)) {
            rc = bad(L, a, phi, "anonymize", "phi.anonymize", "%s", err);
            goto out;
        }
    }
    s->phi_scan = phi_compile(params, err, sizeof err);
    if (!s->phi_scan)
        rc = bad(L, json_object_get(phi, "detect"), phi, "detect", "phi.detect", "%s", err);
out:
    json_decref(params);
    return rc;
}

int eval_spec_load(const char *yaml, size_t n, const char *origin, struct eval_spec **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    json_t *doc = NULL;
    char perr[300];
    struct ld L = {.origin = origin, .err = err, .errlen = errlen, .phr = phr_new()};
    if (yaml_parse_locs(yaml, n, &doc, &L.locs, perr, sizeof perr)) {
        snprintf(err, errlen, "%s:%s", origin, perr + (strncmp(perr, "line ", 5) ? 0 : 5));
        phr_free(L.phr);
        return AEG_EINVAL;
    }
    struct eval_spec *s = xcalloc(1, sizeof *s);
    s->doc = doc;
    s->phr = L.phr;
    int rc = AEG_OK;
    static const char *const top[] = {"name",  "version", "description", "constraints",
                                      "tier2", "tier3",   "phi",         NULL};
    const char *uk;
    if (!json_is_object(doc)) {
        rc = bad(&L, doc, NULL, NULL, "(document)",
                 "a domain spec is a mapping with name, version, description and constraints");
        goto out;
    }
    if ((uk = unknown_key(doc, top))) {
        rc = bad(&L, json_object_get(doc, uk), doc, uk, uk,
                 "is not a field of a domain spec (name, version, description, constraints, "
                 "tier2, tier3, phi)");
        goto out;
    }
    const json_t *v = json_object_get(doc, "name");
    if (!json_is_string(v) || !ident_ok(json_string_value(v), sizeof s->name)) {
        rc = bad(&L, v, doc, "name", "name",
                 "is required: lower-case letters, digits, _ and -, at most 63 bytes");
        goto out;
    }
    snprintf(s->name, sizeof s->name, "%s", json_string_value(v));
    v = json_object_get(doc, "version");
    if (json_is_integer(v) || json_is_real(v)) {
        rc = bad(&L, v, doc, "version", "version", "must be a string (quote it: \"1.0\")");
        goto out;
    }
    if (!json_is_string(v) || !*json_string_value(v) ||
        json_string_length(v) >= sizeof s->version) {
        rc = bad(&L, v, doc, "version", "version", "is required: a string of at most 31 bytes");
        goto out;
    }
    snprintf(s->version, sizeof s->version, "%s", json_string_value(v));
    v = json_object_get(doc, "description");
    if (!json_is_string(v) || !*json_string_value(v)) {
        rc = bad(&L, v, doc, "description", "description", "is required: what the domain covers");
        goto out;
    }
    s->description = xstrdup(json_string_value(v));
    if ((rc = check_tiers(&L, doc)) || (rc = parse_phi(&L, doc, s)))
        goto out;
    s->phi = json_object_get(doc, "phi");
    const json_t *cs = json_object_get(doc, "constraints");
    if (!json_is_array(cs) || !json_array_size(cs) || json_array_size(cs) > EVAL_MAX_CONSTRAINTS) {
        rc = bad(&L, cs, doc, "constraints", "constraints", "is required: a list of 1 to %d",
                 EVAL_MAX_CONSTRAINTS);
        goto out;
    }
    s->c = xcalloc(json_array_size(cs), sizeof *s->c);
    for (size_t i = 0; i < json_array_size(cs); i++) {
        rc = parse_constraint(&L, json_array_get(cs, i), i, &s->c[i]);
        s->nc++;
        if (rc)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->c[j].id, s->c[i].id)) {
                char f[64];
                snprintf(f, sizeof f, "constraints[%zu].id", i);
                rc = bad(&L, json_object_get(json_array_get(cs, i), "id"), NULL, NULL, f,
                         "\"%s\" is already the id of constraints[%zu]", s->c[i].id, j);
                goto out;
            }
    }
    s->nslots = L.nslots;
    phr_build(s->phr);
    s->phr_fields = L.phr_fields;
out:
    free(L.flat);
    yaml_locs_free(L.locs);
    if (rc) {
        eval_spec_free(s);
        return rc;
    }
    *out = s;
    return AEG_OK;
}

int eval_spec_load_file(const char *path, struct eval_spec **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot be read", path);
        return AEG_EIO;
    }
    struct sbuf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.n + n > YAML_MAX_FILE) {
            fclose(f);
            free(b.p);
            snprintf(err, errlen, "%s: larger than 16 MiB", path);
            return AEG_EINVAL;
        }
        sb_put(&b, chunk, n);
    }
    bool ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        free(b.p);
        snprintf(err, errlen, "%s: cannot be read", path);
        return AEG_EIO;
    }
    int rc = eval_spec_load(b.p ? b.p : "", b.n, path, out, err, errlen);
    free(b.p);
    return rc;
}

int eval_spec_builtin(const char *name, struct eval_spec **out, char *err, size_t errlen)
{
    *out = NULL;
    for (size_t i = 0; eval_domains[i].name; i++)
        if (!strcmp(eval_domains[i].name, name)) {
            char origin[128];
            snprintf(origin, sizeof origin, "domains/%s/domain_spec.yaml", name);
            return eval_spec_load(eval_domains[i].yaml, strlen(eval_domains[i].yaml), origin, out,
                                  err, errlen);
        }
    char names[300] = "";
    size_t n = 0;
    for (size_t i = 0; eval_domains[i].name; i++)
        n += (size_t)snprintf(names + n, n < sizeof names ? sizeof names - n : 0, "%s%s",
                              i ? ", " : "", eval_domains[i].name);
    snprintf(err, errlen, "no domain \"%s\" (there are: %s)", name, names);
    return AEG_ENOTFOUND;
}

const char *eval_spec_name(const struct eval_spec *s)
{
    return s->name;
}
const char *eval_spec_version(const struct eval_spec *s)
{
    return s->version;
}
size_t eval_spec_nconstraints(const struct eval_spec *s)
{
    return s->nc;
}
const char *eval_spec_constraint_id(const struct eval_spec *s, size_t i)
{
    return i < s->nc ? s->c[i].id : NULL;
}
const json_t *eval_spec_doc(const struct eval_spec *s)
{
    return s->doc;
}
const json_t *eval_spec_phi(const struct eval_spec *s)
{
    return s->phi;
}

char *eval_anonymize(const struct eval_spec *s, const char *text, size_t len,
                     const json_t *metadata, const void *key, size_t keylen, size_t *out_len)
{
    return anon_text(s->phi_scan, &s->anon, key, keylen, text, len, metadata, out_len);
}

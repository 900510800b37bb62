/*
 * aegis eval [--domain NAME | --spec FILE.yaml] FILE.jsonl|- [--format table|json]
 *            [--fail-on fail|uncertain] [--quality] [--baseline FILE.json]
 * Evaluates traces offline (no server, no database) with Tier-1 of a domain spec: the compiled-in
 * spec of --domain, a spec file (--spec), or, with neither, each trace's own `domain`. Exits 0 when
 * every trace passes, 1 when one fails (or, with --fail-on uncertain, is uncertain), 2 on bad
 * usage, an unreadable spec or file, or a line that is not a valid trace (every other line is still
 * evaluated and reported).
 *
 * --anonymize writes each trace back (JSONL) with its input, text output and every string of its
 * metadata rewritten by the spec's PHI policy (phi.detect, phi.anonymize), instead of evaluating;
 * the hash operator's key comes from the AEGIS_ANON_KEY environment variable.
 *
 * --quality compares the verdicts with each line's `expected` ({"constraint": "pass"|"fail"}) and
 * prints precision and recall of `fail` per constraint; with --baseline it exits 1 when any falls
 * below the figures recorded there ({"domain": {"constraint": {"precision": p, "recall": r}}}).
 */
#include "cli/cli.h"

#include "core/alloc.h"
#include "core/err.h"
#include "eval/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void)
{
    fprintf(stderr, "usage: aegis eval [--domain NAME | --spec FILE.yaml] FILE.jsonl|- "
                    "[--format table|json]\n"
                    "                  [--fail-on fail|uncertain] [--quality] [--baseline "
                    "FILE.json] [--anonymize]\ndomains:");
    for (size_t i = 0; eval_domains[i].name; i++)
        fprintf(stderr, " %s", eval_domains[i].name);
    fprintf(stderr, "\n");
    return CLI_USAGE;
}

#define MAX_SPECS 32

struct specs {
    struct eval_spec *s[MAX_SPECS];
    size_t n;
};

/* The spec for a trace's domain: --spec/--domain's when given, else loaded by name once. */
static struct eval_spec *spec_for(struct specs *sp, struct eval_spec *fixed, const char *domain,
                                  char *err, size_t errlen)
{
    if (fixed)
        return fixed;
    if (!domain) {
        snprintf(err, errlen, "the trace has no domain and no --domain was given");
        return NULL;
    }
    for (size_t i = 0; i < sp->n; i++)
        if (!strcmp(eval_spec_name(sp->s[i]), domain))
            return sp->s[i];
    if (sp->n == MAX_SPECS) {
        snprintf(err, errlen, "too many domains in one file");
        return NULL;
    }
    struct eval_spec *s;
    if (eval_spec_builtin(domain, &s, err, errlen))
        return NULL;
    sp->s[sp->n++] = s;
    return s;
}

/* Per constraint of one domain: the confusion counts against `expected`. */
struct qrow {
    char domain[64], constraint[64];
    long tp, fp, fn, tn, unc;
};

struct quality {
    struct qrow *r;
    size_t n, cap;
};

static struct qrow *qrow_of(struct quality *q, const char *domain, const char *constraint)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->r[i].domain, domain) && !strcmp(q->r[i].constraint, constraint))
            return &q->r[i];
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 32;
        q->r = xrealloc(q->r, q->cap * sizeof *q->r);
    }
    struct qrow *r = &q->r[q->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->domain, sizeof r->domain, "%s", domain);
    snprintf(r->constraint, sizeof r->constraint, "%s", constraint);
    return r;
}

static double ratio(long a, long b)
{
    return b ? (double)a / (double)b : 1.0;
}

/* Prints the quality table; returns CLI_FAIL when a figure is below the baseline's. */
static int quality_report(const struct quality *q, const char *baseline_path, bool json)
{
    json_t *base = NULL;
    if (baseline_path) {
        json_error_t je;
        base = json_load_file(baseline_path, 0, &je);
        if (!json_is_object(base)) {
            fprintf(stderr, "aegis eval: %s:%d: %s\n", baseline_path, je.line,
                    base ? "the baseline must be an object" : je.text);
            json_decref(base);
            return CLI_USAGE;
        }
    }
    int rc = CLI_OK;
    json_t *out = json ? json_object() : NULL;
    if (!json)
        printf("\n%-12s %-28s %4s %4s %4s %4s %4s %9s %7s %s\n", "domain", "constraint", "tp", "fp",
               "fn", "tn", "unc", "precision", "recall", "baseline");
    for (size_t i = 0; i < q->n; i++) {
        const struct qrow *r = &q->r[i];
        double p = ratio(r->tp, r->tp + r->fp), rec = ratio(r->tp, r->tp + r->fn);
        const json_t *b =
            base ? json_object_get(json_object_get(base, r->domain), r->constraint) : NULL;
        double bp = json_number_value(json_object_get(b, "precision")),
               br = json_number_value(json_object_get(b, "recall"));
        bool below = b && (p + 1e-9 < bp || rec + 1e-9 < br);
        if (below)
            rc = CLI_FAIL;
        if (json) {
            json_t *d = json_object_get(out, r->domain);
            if (!d)
                json_object_set_new(out, r->domain, d = json_object());
            json_object_set_new(d, r->constraint,
                                json_pack("{s:f,s:f,s:I,s:I,s:I,s:I,s:I}", "precision", p, "recall",
                                          rec, "tp", (json_int_t)r->tp, "fp", (json_int_t)r->fp,
                                          "fn", (json_int_t)r->fn, "tn", (json_int_t)r->tn,
                                          "uncertain", (json_int_t)r->unc));
        } else {
            char bs[64] = "-";
            if (b)
                snprintf(bs, sizeof bs, "%.2f / %.2f%s", bp, br, below ? "  BELOW" : "");
            printf("%-12s %-28s %4ld %4ld %4ld %4ld %4ld %9.2f %7.2f %s\n", r->domain,
                   r->constraint, r->tp, r->fp, r->fn, r->tn, r->unc, p, rec, bs);
        }
    }
    if (base) { /* a constraint the baseline records but the file no longer exercises */
        const char *dn, *cn;
        json_t *dv, *cv;
        json_object_foreach(base, dn, dv)
        {
            json_object_foreach(dv, cn, cv)
            {
                (void)cv;
                bool seen = false, domain_seen = false;
                for (size_t i = 0; i < q->n && !seen; i++) {
                    domain_seen |= !strcmp(q->r[i].domain, dn);
                    seen = !strcmp(q->r[i].domain, dn) && !strcmp(q->r[i].constraint, cn);
                }
                if (domain_seen && !seen) {
                    fprintf(stderr,
                            "aegis eval: %s/%s is in the baseline but no trace has it "
                            "expected\n",
                            dn, cn);
                    rc = CLI_FAIL;
                }
            }
        }
    }
    if (json) {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(out);
    } else {
        printf("(precision and recall of \"fail\"; an uncertain verdict counts as not failing and "
               "is counted in unc)\n");
    }
    json_decref(base);
    return rc;
}

/* Anonymises every string inside v (metadata carries patient context: PHI too). 0, or -1 as
 * eval_anonymize fails. */
static int anonymize_strings(const struct eval_spec *spec, json_t *v, const json_t *meta,
                             const char *key, size_t keylen, int depth)
{
    if (depth > 64)
        return 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (json_is_string(x)) {
                size_t n = 0;
                char *a = eval_anonymize(spec, json_string_value(x), json_string_length(x), meta,
                                         key, keylen, &n);
                if (!a)
                    return -1;
                json_t *s = json_stringn(a, n);
                json_object_set_new(v, k, s ? s : json_string(""));
                free(a);
            } else if (anonymize_strings(spec, x, meta, key, keylen, depth + 1)) {
                return -1;
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            if (json_is_string(x)) {
                size_t n = 0;
                char *a = eval_anonymize(spec, json_string_value(x), json_string_length(x), meta,
                                         key, keylen, &n);
                if (!a)
                    return -1;
                json_t *s = json_stringn(a, n);
                json_array_set_new(v, i, s ? s : json_string(""));
                free(a);
            } else if (anonymize_strings(spec, x, meta, key, keylen, depth + 1)) {
                return -1;
            }
        }
    }
    return 0;
}

/* Prints doc with its input and (text) output anonymised by the spec's PHI policy. -1 when the
 * policy needs a key and there is none. */
static int anonymize_line(const struct eval_spec *spec, json_t *doc, const struct eval_trace *tr,
                          const char *key, size_t keylen)
{
    json_t *copy = json_deep_copy(doc);
    for (int f = 0; f < 2; f++) {
        const char *text = f ? tr->t.output : tr->t.input;
        size_t len = f ? tr->t.output_len : tr->t.input_len;
        if (f && !json_is_string(json_object_get(doc, "output")))
            continue; /* a JSON output (a plan, orders) is left as it is */
        if (!f && !json_object_get(doc, "input"))
            continue;
        size_t n = 0;
        char *a = eval_anonymize(spec, text, len, tr->t.metadata, key, keylen, &n);
        if (!a) {
            json_decref(copy);
            return -1;
        }
        json_t *s = json_stringn(a, n);
        json_object_set_new(copy, f ? "output" : "input", s ? s : json_string(""));
        free(a);
    }
    json_t *meta = json_object_get(copy, "metadata");
    if (meta && anonymize_strings(spec, meta, tr->t.metadata, key, keylen, 0)) {
        json_decref(copy);
        return -1;
    }
    char *out = json_dumps(copy, JSON_COMPACT);
    printf("%s\n", out ? out : "{}");
    free(out);
    json_decref(copy);
    return 0;
}

int cli_eval(int argc, char **argv)
{
    const char *domain = NULL, *spec_path = NULL, *file = NULL, *baseline = NULL;
    bool json = false, fail_uncertain = false, quality = false, anonymize = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--domain") && i + 1 < argc)
            domain = argv[++i];
        else if (!strcmp(a, "--spec") && i + 1 < argc)
            spec_path = argv[++i];
        else if (!strcmp(a, "--baseline") && i + 1 < argc)
            baseline = argv[++i];
        else if (!strcmp(a, "--quality"))
            quality = true;
        else if (!strcmp(a, "--anonymize"))
            anonymize = true;
        else if (!strcmp(a, "--format") && i + 1 < argc) {
            const char *f = argv[++i];
            if (!strcmp(f, "json"))
                json = true;
            else if (strcmp(f, "table")) {
                fprintf(stderr, "aegis eval: --format must be table or json\n");
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--fail-on") && i + 1 < argc) {
            const char *f = argv[++i];
            if (!strcmp(f, "uncertain"))
                fail_uncertain = true;
            else if (strcmp(f, "fail")) {
                fprintf(stderr, "aegis eval: --fail-on must be fail or uncertain\n");
                return CLI_USAGE;
            }
        } else if (cli_is(a, "-h", "--help")) {
            return usage();
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "aegis eval: unknown option %s\n", a);
            return usage();
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "aegis eval: one file at a time (%s, then %s)\n", file, a);
            return CLI_USAGE;
        }
    }
    if (!file)
        return usage();
    if (domain && spec_path) {
        fprintf(stderr, "aegis eval: give --domain or --spec, not both\n");
        return CLI_USAGE;
    }
    if (anonymize && quality) {
        fprintf(stderr, "aegis eval: --anonymize and --quality do not go together\n");
        return CLI_USAGE;
    }
    if (baseline && !quality) {
        fprintf(stderr, "aegis eval: --baseline goes with --quality\n");
        return CLI_USAGE;
    }
    char err[600];
    struct eval_spec *fixed = NULL;
    if (spec_path && eval_spec_load_file(spec_path, &fixed, err, sizeof err)) {
        fprintf(stderr, "aegis eval: %s\n", err);
        return CLI_USAGE;
    }
    if (domain && eval_spec_builtin(domain, &fixed, err, sizeof err)) {
        fprintf(stderr, "aegis eval: %s\n", err);
        return CLI_USAGE;
    }
    FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "aegis eval: %s: cannot be read\n", file);
        eval_spec_free(fixed);
        return CLI_USAGE;
    }
    struct specs sp = {0};
    struct quality q = {0};
    struct eval_ctx *ctx = eval_ctx_new();
    long lineno = 0, n = 0, bad = 0, counts[3] = {0};
    double us = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    const char *key = getenv("AEGIS_ANON_KEY");
    if (!json && !anonymize)
        printf("%-6s %-28s %-9s %s\n", "line", "trace", "verdict", "constraints not passed");
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t k = 0;
        while (k < (size_t)len &&
               (line[k] == ' ' || line[k] == '\t' || line[k] == '\r' || line[k] == '\n'))
            k++;
        if (k == (size_t)len)
            continue;
        json_error_t je;
        json_t *doc = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &je);
        struct eval_trace tr;
        if (!doc) {
            fprintf(stderr, "aegis eval: %s:%ld: not JSON: %s\n", file, lineno, je.text);
            bad++;
            continue;
        }
        if (eval_trace_parse(doc, &tr, err, sizeof err)) {
            fprintf(stderr, "aegis eval: %s:%ld: %s\n", file, lineno, err);
            json_decref(doc);
            bad++;
            continue;
        }
        const char *d = tr.t.domain;
        struct eval_spec *spec = spec_for(&sp, fixed, d, err, sizeof err);
        if (!spec) {
            fprintf(stderr, "aegis eval: %s:%ld: %s\n", file, lineno, err);
            eval_trace_release(&tr);
            json_decref(doc);
            bad++;
            continue;
        }
        if (fixed && d && strcmp(d, eval_spec_name(fixed))) {
            fprintf(stderr, "aegis eval: %s:%ld: the trace's domain is \"%s\", the spec's \"%s\"\n",
                    file, lineno, d, eval_spec_name(fixed));
            eval_trace_release(&tr);
            json_decref(doc);
            bad++;
            continue;
        }
        if (anonymize) {
            int arc = anonymize_line(spec, doc, &tr, key, key ? strlen(key) : 0);
            eval_trace_release(&tr);
            json_decref(doc);
            if (arc) {
                fprintf(stderr,
                        "aegis eval: %s:%ld: the spec's PHI policy hashes: set AEGIS_ANON_KEY to "
                        "the key\n",
                        file, lineno);
                bad++;
                break;
            }
            n++;
            continue;
        }
        enum t1_verdict v = eval_run(spec, &tr.t, ctx);
        n++;
        counts[v]++;
        json_t *res = eval_result_json(spec, &tr.t, ctx, true);
        us += json_number_value(json_object_get(res, "time_us"));
        const json_t *idv = json_object_get(doc, "external_id");
        if (!idv)
            idv = json_object_get(doc, "id");
        const char *id = json_string_value(idv);
        if (json) {
            json_object_set_new(res, "line", json_integer(lineno));
            if (id)
                json_object_set_new(res, "trace", json_string(id));
            char *s = json_dumps(res, JSON_COMPACT);
            printf("%s\n", s ? s : "{}");
            free(s);
        } else {
            char why[400] = "";
            size_t w = 0;
            size_t i;
            const json_t *r;
            json_array_foreach(json_object_get(res, "results"), i, r)
            {
                const char *rv = json_string_value(json_object_get(r, "verdict"));
                if (!strcmp(rv, "pass"))
                    continue;
                const json_t *e0 = NULL, *e;
                size_t j;
                json_array_foreach(json_object_get(r, "evidence"), j,
                                   e) if (!e0 && !json_is_true(json_object_get(e, "condition")))
                    e0 = e;
                const char *det = json_string_value(json_object_get(e0, "detail"));
                w += (size_t)snprintf(why + w, w < sizeof why ? sizeof why - w : 0, "%s%s %s%s%s%s",
                                      w ? "; " : "",
                                      json_string_value(json_object_get(r, "constraint")), rv,
                                      det ? " (" : "", det ? det : "", det ? ")" : "");
            }
            printf("%-6ld %-28.28s %-9s %s\n", lineno, id ? id : "-", t1_verdict_name(v), why);
        }
        if (quality) {
            const json_t *exp = json_object_get(doc, "expected");
            const char *cid;
            const json_t *ev;
            json_object_foreach((json_t *)exp, cid, ev)
            {
                const char *want = json_string_value(ev);
                size_t ci = 0;
                while (ci < eval_spec_nconstraints(spec) &&
                       strcmp(eval_spec_constraint_id(spec, ci), cid))
                    ci++;
                if (ci == eval_spec_nconstraints(spec) || !want) {
                    fprintf(stderr,
                            "aegis eval: %s:%ld: expected names \"%s\", not a constraint of %s\n",
                            file, lineno, cid, eval_spec_name(spec));
                    bad++;
                    continue;
                }
                enum t1_verdict got = eval_outcome(ctx, ci)->verdict;
                struct qrow *qr = qrow_of(&q, eval_spec_name(spec), cid);
                bool want_fail = !strcmp(want, "fail");
                if (got == T1_UNCERTAIN)
                    qr->unc++;
                if (got == T1_FAIL)
                    want_fail ? qr->tp++ : qr->fp++;
                else
                    want_fail ? qr->fn++ : qr->tn++;
            }
        }
        json_decref(res);
        eval_trace_release(&tr);
        json_decref(doc);
    }
    free(line);
    if (in != stdin)
        fclose(in);
    if (!json && !anonymize)
        printf("\n%ld traces: %ld pass, %ld uncertain, %ld fail; %ld bad lines; Tier-1 %.1f us a "
               "trace on average\n",
               n, counts[T1_PASS], counts[T1_UNCERTAIN], counts[T1_FAIL], bad, n ? us / n : 0.0);
    int rc = bad                                                           ? CLI_USAGE
             : counts[T1_FAIL] || (fail_uncertain && counts[T1_UNCERTAIN]) ? CLI_FAIL
                                                                           : CLI_OK;
    if (quality) {
        int qrc = quality_report(&q, baseline, json);
        if (bad)
            rc = CLI_USAGE;
        else
            rc = qrc; /* in quality mode the exit code is about the figures */
    }
    free(q.r);
    eval_ctx_free(ctx);
    for (size_t i = 0; i < sp.n; i++)
        eval_spec_free(sp.s[i]);
    eval_spec_free(fixed);
    return rc;
}

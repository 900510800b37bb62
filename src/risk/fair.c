#include "risk/fair.h"

#include "core/alloc.h"
#include "core/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fair_form_names[FORM__N] = {
    "productivity", "response", "replacement", "fines_and_judgements", "competitive_advantage",
    "reputation"};

/* Parsing context: where we are, for messages. */
struct ctx {
    const char *scenario; /* NULL at portfolio level */
    char path[256];
    char *err;
    size_t errlen;
};

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (c->scenario)
        snprintf(c->err, c->errlen, "scenario \"%s\" (%s%s%s): %s", c->scenario, c->path,
                 field ? "." : "", field ? field : "", why);
    else if (!*c->path && !field)
        snprintf(c->err, c->errlen, "%s", why); /* the document as a whole */
    else
        snprintf(c->err, c->errlen, "%s%s%s: %s", c->path, field && *c->path ? "." : "",
                 field ? field : "", why);
    return AEG_EINVAL;
}

/* Appends ".field" to the path for a nested call; returns the old length to restore. */
static size_t push(struct ctx *c, const char *field)
{
    size_t old = strlen(c->path);
    snprintf(c->path + old, sizeof c->path - old, "%s%s", old ? "." : "", field);
    return old;
}

static void pop(struct ctx *c, size_t old)
{
    c->path[old] = '\0';
}

static int number(struct ctx *c, const json_t *obj, const char *key, bool required, double dflt,
                  double *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return fail(c, key, "is required");
        *out = dflt;
        return AEG_OK;
    }
    if (!json_is_number(v))
        return fail(c, key, "must be a number");
    *out = json_number_value(v);
    if (!isfinite(*out))
        return fail(c, key, "must be finite");
    return AEG_OK;
}

static const struct {
    const char *name;
    enum dist_kind kind;
} kinds[] = {
    {"constant", DIST_CONSTANT},     {"pert", DIST_PERT},         {"lognormal", DIST_LOGNORMAL},
    {"poisson", DIST_POISSON},       {"normal", DIST_NORMAL},     {"uniform", DIST_UNIFORM},
    {"triangular", DIST_TRIANGULAR}, {"beta", DIST_BETA},
};

/* Checks that obj has no member outside `allowed` (NULL-ended): a typo must not pass silently. */
static int only(struct ctx *c, const json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(k, allowed[i]);
        if (!ok)
            return fail(c, k, "is not a field here");
    }
    return AEG_OK;
}

/* A distribution node: {dist: NAME, parameters...}, or a bare number (a constant). The path of the
 * node is already in c->path. kind_hint restricts probabilities to [0, 1]. */
static int parse_dist(struct ctx *c, const json_t *node, bool probability, struct dist *d)
{
    char why[200];
    double p[4] = {0, 0, 0, 0};
    if (json_is_number(node)) {
        p[0] = json_number_value(node);
        if (dist_make(d, DIST_CONSTANT, p, false, why, sizeof why))
            return fail(c, NULL, "%s", why);
    } else if (!json_is_object(node)) {
        return fail(c, NULL, "must be a number or a distribution such as {dist: pert, min: 1, mode: 2, "
                             "max: 5}");
    } else {
        const char *name = json_string_value(json_object_get(node, "dist"));
        if (!name)
            return fail(c, "dist", "is required (constant, pert, lognormal, poisson, normal, "
                                   "uniform, triangular or beta)");
        int k = -1;
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (!strcmp(name, kinds[i].name))
                k = (int)i;
        if (k < 0)
            return fail(c, "dist", "unknown distribution \"%s\" (constant, pert, lognormal, poisson, "
                                   "normal, uniform, triangular or beta)",
                        name);
        enum dist_kind kind = kinds[k].kind;
        int rc = 0;
        bool trunc = false;
        switch (kind) {
        case DIST_CONSTANT:
            rc = only(c, node, (const char *[]){"dist", "value", NULL}) ||
                 number(c, node, "value", true, 0, &p[0]);
            break;
        case DIST_PERT: {
            rc = only(c, node, (const char *[]){"dist", "min", "mode", "max", "lambda", "form", NULL}) ||
                 number(c, node, "min", true, 0, &p[0]) || number(c, node, "mode", true, 0, &p[1]) ||
                 number(c, node, "max", true, 0, &p[2]) || number(c, node, "lambda", false, 4, &p[3]);
            const json_t *fj = json_object_get(node, "form");
            const char *form = json_string_value(fj);
            if (!rc && fj && (!form || (strcmp(form, "standard") && strcmp(form, "pyfair"))))
                return fail(c, "form", "must be standard or pyfair");
            if (form && !strcmp(form, "pyfair"))
                kind = DIST_PERT_MOMENT;
            break;
        }
        case DIST_LOGNORMAL: {
            bool ci = json_object_get(node, "p05") || json_object_get(node, "p95");
            rc = only(c, node, (const char *[]){"dist", "p05", "p95", "mu", "sigma", NULL});
            if (!rc && ci && (json_object_get(node, "mu") || json_object_get(node, "sigma")))
                return fail(c, NULL, "give a lognormal either by p05 and p95 or by mu and sigma, "
                                     "not both");
            if (!rc && ci) {
                double lo, hi;
                if ((rc = number(c, node, "p05", true, 0, &lo)) ||
                    (rc = number(c, node, "p95", true, 0, &hi)))
                    return rc;
                if (dist_lognormal_90(d, lo, hi, why, sizeof why))
                    return fail(c, NULL, "%s", why);
                goto check_probability;
            }
            rc = rc || number(c, node, "mu", true, 0, &p[0]) ||
                 number(c, node, "sigma", true, 0, &p[1]);
            break;
        }
        case DIST_POISSON:
            rc = only(c, node, (const char *[]){"dist", "rate", NULL}) ||
                 number(c, node, "rate", true, 0, &p[0]);
            break;
        case DIST_NORMAL: {
            rc = only(c, node, (const char *[]){"dist", "mean", "sd", "truncate_at_zero", NULL}) ||
                 number(c, node, "mean", true, 0, &p[0]) || number(c, node, "sd", true, 0, &p[1]);
            const json_t *t = json_object_get(node, "truncate_at_zero");
            if (!rc && t && !json_is_boolean(t))
                return fail(c, "truncate_at_zero", "must be true or false");
            trunc = json_is_true(t);
            break;
        }
        case DIST_UNIFORM:
            rc = only(c, node, (const char *[]){"dist", "min", "max", NULL}) ||
                 number(c, node, "min", true, 0, &p[0]) || number(c, node, "max", true, 0, &p[1]);
            break;
        case DIST_TRIANGULAR:
            rc = only(c, node, (const char *[]){"dist", "min", "mode", "max", NULL}) ||
                 number(c, node, "min", true, 0, &p[0]) || number(c, node, "mode", true, 0, &p[1]) ||
                 number(c, node, "max", true, 0, &p[2]);
            break;
        case DIST_BETA:
            rc = only(c, node, (const char *[]){"dist", "alpha", "beta", "min", "max", NULL}) ||
                 number(c, node, "alpha", true, 0, &p[0]) || number(c, node, "beta", true, 0, &p[1]) ||
                 number(c, node, "min", false, 0, &p[2]) || number(c, node, "max", false, 1, &p[3]);
            break;
        default:
            break;
        }
        if (rc)
            return AEG_EINVAL; /* the message is already written */
        if (dist_make(d, kind, p, trunc, why, sizeof why))
            return fail(c, NULL, "%s", why);
    }
check_probability:
    if (probability && (dist_min(d) < 0 || dist_max(d) > 1))
        return fail(c, NULL, "is a probability: its values must lie in [0, 1]");
    if (!probability && dist_min(d) < 0)
        return fail(c, NULL, "can take negative values; frequencies and losses cannot be negative "
                             "(truncate a normal with truncate_at_zero: true)");
    return AEG_OK;
}

/* Parses member `key` of obj as a distribution. */
static int member_dist(struct ctx *c, const json_t *obj, const char *key, bool probability,
                       struct dist *d)
{
    size_t old = push(c, key);
    int rc = parse_dist(c, json_object_get(obj, key), probability, d);
    pop(c, old);
    return rc;
}

static int parse_magnitude(struct ctx *c, const json_t *node, struct fair_magnitude *m)
{
    memset(m, 0, sizeof *m);
    bool forms = json_is_object(node) && !json_object_get(node, "dist");
    if (!forms)
        return parse_dist(c, node, false, &m->total);
    m->by_forms = true;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)node, k, v) {
        int f = -1;
        for (int i = 0; i < FORM__N; i++)
            if (!strcmp(k, fair_form_names[i]))
                f = i;
        if (f < 0)
            return fail(c, k, "is not a FAIR loss form (productivity, response, replacement, "
                              "fines_and_judgements, competitive_advantage, reputation)");
        size_t old = push(c, k);
        int rc = parse_dist(c, v, false, &m->forms[m->nforms]);
        pop(c, old);
        if (rc)
            return rc;
        m->form_of[m->nforms++] = (enum fair_form)f;
    }
    if (!m->nforms)
        return fail(c, NULL, "needs a distribution or at least one loss form");
    return AEG_OK;
}

static int parse_scenario(struct ctx *c, const json_t *node, struct fair_scenario *s)
{
    static const char *const fields[] = {"name", "lef", "tef", "vulnerability", "primary_loss",
                                         "secondary_loss", "description", "tags", NULL};
    if (!json_is_object(node))
        return fail(c, NULL, "must be an object with name, a frequency and primary_loss");
    const json_t *nm = json_object_get(node, "name");
    const char *name = json_string_value(nm);
    if (!name || !*name)
        return fail(c, "name", "is required (a non-empty string)");
    if (strlen(name) != json_string_length(nm))
        return fail(c, "name", "must not contain a NUL character");
    if (strlen(name) >= sizeof s->name)
        return fail(c, "name", "must be shorter than %zu characters", sizeof s->name);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->m_freq = s->m_vuln = s->m_primary = s->m_secondary = 1;
    const json_t *tags = json_object_get(node, "tags");
    if (tags) {
        if (!json_is_array(tags) || json_array_size(tags) > FAIR_MAX_TAGS)
            return fail(c, "tags", "must be a list of at most %d tags", FAIR_MAX_TAGS);
        for (size_t i = 0; i < json_array_size(tags); i++) {
            const json_t *t = json_array_get(tags, i);
            const char *v = json_string_value(t);
            if (!v || !*v || strlen(v) != json_string_length(t) || strlen(v) >= sizeof s->tags[0])
                return fail(c, "tags", "item %zu must be a tag of 1 to %zu characters", i,
                            sizeof s->tags[0] - 1);
            snprintf(s->tags[s->ntags++], sizeof s->tags[0], "%s", v);
        }
    }
    c->scenario = s->name;
    int rc = only(c, node, fields);
    if (rc)
        return rc;
    const json_t *lef = json_object_get(node, "lef"), *tef = json_object_get(node, "tef"),
                 *vuln = json_object_get(node, "vulnerability");
    if (lef && (tef || vuln))
        return fail(c, "lef", "give either lef, or tef with vulnerability, not both");
    if (lef) {
        s->freq = FREQ_LEF;
        if ((rc = member_dist(c, node, "lef", false, &s->lef)))
            return rc;
    } else {
        if (!tef)
            return fail(c, "lef", "is required (or tef with vulnerability)");
        if (!vuln)
            return fail(c, "vulnerability", "is required with tef");
        size_t old = push(c, "tef");
        if (json_is_object(tef) && !json_object_get(tef, "dist")) {
            s->tef_by_parts = true;
            rc = only(c, tef, (const char *[]){"contact_frequency", "probability_of_action", NULL});
            if (!rc)
                rc = member_dist(c, tef, "contact_frequency", false, &s->cf);
            if (!rc)
                rc = member_dist(c, tef, "probability_of_action", true, &s->poa);
        } else {
            rc = parse_dist(c, tef, false, &s->tef);
        }
        pop(c, old);
        if (rc)
            return rc;
        old = push(c, "vulnerability");
        if (json_is_object(vuln) && !json_object_get(vuln, "dist")) {
            s->freq = FREQ_TEF_TCRS;
            rc = only(c, vuln, (const char *[]){"threat_capability", "resistance_strength", NULL});
            if (!rc)
                rc = member_dist(c, vuln, "threat_capability", false, &s->tc);
            if (!rc)
                rc = member_dist(c, vuln, "resistance_strength", false, &s->rs);
            if (!rc)
                s->p_tcrs = dist_p_greater(&s->tc, &s->rs);
        } else {
            s->freq = FREQ_TEF_VULN;
            rc = parse_dist(c, vuln, true, &s->vuln);
        }
        pop(c, old);
        if (rc)
            return rc;
    }
    const json_t *pl = json_object_get(node, "primary_loss");
    if (!pl)
        return fail(c, "primary_loss", "is required");
    size_t old = push(c, "primary_loss");
    rc = parse_magnitude(c, pl, &s->primary);
    pop(c, old);
    if (rc)
        return rc;
    const json_t *sl = json_object_get(node, "secondary_loss");
    if (sl) {
        old = push(c, "secondary_loss");
        s->has_secondary = true;
        if (!json_is_object(sl))
            rc = fail(c, NULL, "must be an object with frequency and magnitude");
        if (!rc)
            rc = only(c, sl, (const char *[]){"frequency", "magnitude", NULL});
        if (!rc)
            rc = member_dist(c, sl, "frequency", true, &s->slef);
        if (!rc)
            s->p_secondary = dist_mean(&s->slef); /* exact: validated to lie in [0, 1] */
        if (!rc) {
            const json_t *mag = json_object_get(sl, "magnitude");
            if (!mag) {
                rc = fail(c, "magnitude", "is required");
            } else {
                size_t o2 = push(c, "magnitude");
                rc = parse_magnitude(c, mag, &s->secondary);
                pop(c, o2);
            }
        }
        pop(c, old);
    }
    return rc;
}

int fair_parse(const json_t *doc, struct fair_portfolio *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct ctx c = {.err = err, .errlen = errlen};
    if (!json_is_object(doc))
        return fail(&c, NULL, "a scenario file is an object with a scenarios list");
    int rc = only(&c, doc, (const char *[]){"name", "description", "scenarios", "correlation",
                                            "thresholds", NULL});
    if (rc)
        return rc;
    const json_t *nm = json_object_get(doc, "name");
    if (nm && (!json_is_string(nm) || json_string_length(nm) >= sizeof out->name ||
               strlen(json_string_value(nm)) != json_string_length(nm)))
        return fail(&c, "name", "must be a string shorter than %zu bytes", sizeof out->name);
    snprintf(out->name, sizeof out->name, "%s", nm ? json_string_value(nm) : "portfolio");
    const json_t *list = json_object_get(doc, "scenarios");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail(&c, "scenarios", "is required: a non-empty list of scenarios");
    if (json_array_size(list) > 1000)
        return fail(&c, "scenarios", "has more than 1000 scenarios");
    out->n = json_array_size(list);
    out->s = xcalloc(out->n, sizeof *out->s);
    for (size_t i = 0; i < out->n; i++) {
        snprintf(c.path, sizeof c.path, "scenarios[%zu]", i);
        c.scenario = NULL;
        if ((rc = parse_scenario(&c, json_array_get(list, i), &out->s[i])))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(out->s[j].name, out->s[i].name))
                return fail(&c, "name", "is used by scenarios[%zu] too: names must be unique", j);
    }
    c.scenario = NULL;
    c.path[0] = '\0';
    const json_t *th = json_object_get(doc, "thresholds");
    if (th) {
        if (!json_is_array(th) || json_array_size(th) > 100)
            return fail(&c, "thresholds", "must be a list of at most 100 loss amounts");
        out->nthresholds = json_array_size(th);
        out->thresholds = xcalloc(out->nthresholds + 1, sizeof *out->thresholds);
        for (size_t i = 0; i < out->nthresholds; i++) {
            const json_t *v = json_array_get(th, i);
            if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
                return fail(&c, "thresholds", "item %zu must be a non-negative number", i);
            out->thresholds[i] = json_number_value(v);
        }
    }
    const json_t *corr = json_object_get(doc, "correlation");
    if (corr && !json_is_null(corr)) {
        /* validated here; the engine applies it (see mc.h) */
        size_t n = out->n;
        if (!json_is_array(corr) || json_array_size(corr) != n)
            return fail(&c, "correlation", "must be a %zu x %zu matrix (one row per scenario)", n, n);
        out->correlation = xcalloc(n * n, sizeof *out->correlation);
        for (size_t i = 0; i < n; i++) {
            const json_t *row = json_array_get(corr, i);
            if (!json_is_array(row) || json_array_size(row) != n)
                return fail(&c, "correlation", "row %zu must have %zu numbers", i, n);
            for (size_t j = 0; j < n; j++) {
                const json_t *v = json_array_get(row, j);
                double x = json_is_number(v) ? json_number_value(v) : NAN;
                if (!isfinite(x) || x < -1 || x > 1)
                    return fail(&c, "correlation", "[%zu][%zu] must be a number in [-1, 1]", i, j);
                out->correlation[i * n + j] = x;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (out->correlation[i * n + i] != 1)
                return fail(&c, "correlation", "[%zu][%zu] must be 1 (the diagonal)", i, i);
            for (size_t j = 0; j < i; j++)
                if (out->correlation[i * n + j] != out->correlation[j * n + i])
                    return fail(&c, "correlation", "must be symmetric ([%zu][%zu] differs from "
                                                   "[%zu][%zu])",
                                i, j, j, i);
        }
    }
    return AEG_OK;
}

static void magnitude_free(struct fair_magnitude *m)
{
    dist_free(&m->total);
    for (unsigned i = 0; i < FORM__N; i++)
        dist_free(&m->forms[i]);
}

void fair_free(struct fair_portfolio *p)
{
    for (size_t i = 0; p->s && i < p->n; i++) {
        struct fair_scenario *s = &p->s[i];
        struct dist *d[] = {&s->lef, &s->tef, &s->cf, &s->poa, &s->vuln, &s->tc, &s->rs, &s->slef};
        for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
            dist_free(d[k]);
        magnitude_free(&s->primary);
        magnitude_free(&s->secondary);
    }
    free(p->s);
    free(p->correlation);
    free(p->thresholds);
    memset(p, 0, sizeof *p);
}

void fair_expectations(const struct fair_scenario *s, double *events, double *primary,
                       double *secondary)
{
    double rate, vuln = 1;
    if (s->freq == FREQ_LEF)
        rate = dist_mean(&s->lef);
    else if (s->tef_by_parts)
        rate = dist_mean(&s->cf) * dist_mean(&s->poa); /* independent; poa lies in [0, 1] */
    else
        rate = dist_mean(&s->tef);
    if (s->freq == FREQ_TEF_VULN)
        vuln = dist_mean(&s->vuln);
    else if (s->freq == FREQ_TEF_TCRS)
        vuln = s->p_tcrs >= 0 ? s->p_tcrs : NAN; /* a Poisson TC or RS: no closed form here */
    *events = rate * s->m_freq * vuln * s->m_vuln;
    *primary = fair_magnitude_mean(&s->primary) * s->m_primary;
    *secondary = s->has_secondary
                     ? s->p_secondary * fair_magnitude_mean(&s->secondary) * s->m_secondary
                     : 0;
}

double fair_magnitude_sample(const struct fair_magnitude *m, struct rng *r)
{
    if (!m->by_forms)
        return dist_sample(&m->total, r);
    double sum = 0;
    for (unsigned i = 0; i < m->nforms; i++)
        sum += dist_sample(&m->forms[i], r);
    return sum;
}

double fair_magnitude_mean(const struct fair_magnitude *m)
{
    if (!m->by_forms)
        return dist_mean(&m->total);
    double sum = 0;
    for (unsigned i = 0; i < m->nforms; i++)
        sum += dist_mean(&m->forms[i]);
    return sum;
}

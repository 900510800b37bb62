#include "risk/opt.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/fmt.h"
#include "core/yaml.h"

#include <glpk.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OA_ROUNDS 200 /* outer approximation gives up (reporting its gap) after this many rounds   \
                       */
#define INIT_CUTS 16  /* tangent points per term before the first round */
#define OA_STALL 3    /* ... or after this many rounds in which neither bound moved */

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return AEG_EINVAL;
}

/* ---- parsing
 * ------------------------------------------------------------------------------------- */

static const char *const objectives[] = {"min_total_cost", "max_reduction", "min_spend"};
static const char *const factor_key[OPT__NF] = {"tef", "vulnerability", "primary_loss",
                                                "secondary_loss"};

static bool number_in(const json_t *v, double lo, double hi, double *out)
{
    if (!json_is_number(v))
        return false;
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return false;
    *out = x;
    return true;
}

static bool only(const json_t *obj, const char *const *allowed, const char **bad)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(k, allowed[i]);
        if (!ok) {
            *bad = k;
            return false;
        }
    }
    return true;
}

static int letters(const json_t *list, unsigned *out, const char *where, char *err, size_t errlen)
{
    *out = 0;
    if (!json_is_array(list))
        return fail(err, errlen, "%s must be a list of NIS2 Article 21(2) letters a to j", where);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *l = json_string_value(json_array_get(list, i));
        if (!l || strlen(l) != 1 || l[0] < 'a' || l[0] > 'j')
            return fail(err, errlen, "%s[%zu] must be one of the letters a to j", where, i);
        *out |= 1u << (l[0] - 'a');
    }
    return AEG_OK;
}

static bool copy_str(const json_t *v, char *dst, size_t n, bool allow_empty)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v) || strlen(s) >= n || (!allow_empty && !*s))
        return false;
    snprintf(dst, n, "%s", s);
    return true;
}

static bool has_tag(const struct fair_scenario *s, const char *tag)
{
    for (unsigned i = 0; i < s->ntags; i++)
        if (!strcmp(s->tags[i], tag))
            return true;
    return false;
}

/* One catalog control (controls[i]) into c, its keep factors for the portfolio's scenarios. */
static int parse_control(const json_t *j, size_t i, const struct fair_portfolio *p,
                         struct opt_control *c, char *err, size_t errlen)
{
    static const char *const fields[] = {"id",     "name",      "category",    "nis2", "cis",
                                         "group",  "requires",  "implemented", "cost", "effects",
                                         "ranges", "reasoning", NULL};
    const char *bad;
    if (!json_is_object(j))
        return fail(err, errlen, "catalog controls[%zu] must be an object", i);
    if (!only(j, fields, &bad))
        return fail(err, errlen, "catalog controls[%zu]: unknown field \"%s\"", i, bad);
    if (!copy_str(json_object_get(j, "id"), c->id, sizeof c->id, false) ||
        strspn(c->id, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->id))
        return fail(err, errlen,
                    "catalog controls[%zu].id must be 1 to 63 characters of a-z, 0-9 "
                    "and -",
                    i);
    if (!copy_str(json_object_get(j, "name"), c->name, sizeof c->name, false))
        return fail(err, errlen, "control \"%s\": name must be a string of 1 to %zu characters",
                    c->id, sizeof c->name - 1);
    const json_t *cat = json_object_get(j, "category");
    if (cat && !copy_str(cat, c->category, sizeof c->category, false))
        return fail(err, errlen, "control \"%s\": category must be a short string", c->id);
    const json_t *n2 = json_object_get(j, "nis2");
    char where[128];
    snprintf(where, sizeof where, "control \"%s\": nis2", c->id);
    if (n2 && letters(n2, &c->nis2, where, err, errlen))
        return AEG_EINVAL;
    const json_t *g = json_object_get(j, "group");
    if (g && !json_is_null(g) && !copy_str(g, c->group, sizeof c->group, false))
        return fail(err, errlen, "control \"%s\": group must be null or a short string", c->id);
    const json_t *cost = json_object_get(j, "cost");
    double amort = 1;
    if (!json_is_object(cost) ||
        !number_in(json_object_get(cost, "one_off"), 0, 1e12, &c->one_off) ||
        !number_in(json_object_get(cost, "yearly"), 0, 1e12, &c->yearly) ||
        (json_object_get(cost, "amortisation_years") &&
         !number_in(json_object_get(cost, "amortisation_years"), 1, 100, &amort)))
        return fail(err, errlen,
                    "control \"%s\": cost must be {one_off, yearly, amortisation_years} with "
                    "amounts from 0 to 1e12 and 1 to 100 years",
                    c->id);
    c->annual = c->yearly + c->one_off / amort;
    const json_t *eff = json_object_get(j, "effects");
    if (!json_is_array(eff) || json_array_size(eff) == 0)
        return fail(err, errlen, "control \"%s\": effects must be a non-empty list", c->id);
    c->keep = xcalloc(p->n * OPT__NF + 1, sizeof *c->keep);
    for (size_t k = 0; k < p->n * OPT__NF; k++)
        c->keep[k] = 1;
    for (size_t e = 0; e < json_array_size(eff); e++) {
        const json_t *ef = json_array_get(eff, e);
        static const char *const ef_fields[] = {
            "tags", "all", "tef", "vulnerability", "primary_loss", "secondary_loss", NULL};
        if (!json_is_object(ef) || !only(ef, ef_fields, &bad))
            return fail(err, errlen,
                        "control \"%s\": effects[%zu] must be an object of tags or "
                        "all, tef, vulnerability, primary_loss, secondary_loss",
                        c->id, e);
        const json_t *tags = json_object_get(ef, "tags");
        bool all = json_is_true(json_object_get(ef, "all"));
        if (all == (tags != NULL) || (tags && (!json_is_array(tags) || !json_array_size(tags))))
            return fail(err, errlen,
                        "control \"%s\": effects[%zu] needs either tags (a non-empty "
                        "list) or all: true",
                        c->id, e);
        double r[OPT__NF];
        for (int f = 0; f < OPT__NF; f++) {
            const json_t *v = json_object_get(ef, factor_key[f]);
            r[f] = 0;
            if (v && (!number_in(v, 0, 100, &r[f]) || r[f] >= 100))
                return fail(err, errlen,
                            "control \"%s\": effects[%zu].%s must be a percentage in [0, 100)",
                            c->id, e, factor_key[f]);
        }
        for (size_t t = 0; t < json_array_size(tags); t++)
            if (!json_is_string(json_array_get(tags, t)))
                return fail(err, errlen, "control \"%s\": effects[%zu].tags[%zu] must be a string",
                            c->id, e, t);
        for (size_t s = 0; s < p->n; s++) {
            bool match = all;
            for (size_t t = 0; !match && t < json_array_size(tags); t++)
                match = has_tag(&p->s[s], json_string_value(json_array_get(tags, t)));
            if (!match)
                continue;
            /* one control reduces a factor once: the largest of its matching effects */
            for (int f = 0; f < OPT__NF; f++)
                if (1 - r[f] / 100 < c->keep[s * OPT__NF + f])
                    c->keep[s * OPT__NF + f] = 1 - r[f] / 100;
        }
    }
    c->source = json_incref((json_t *)j);
    return AEG_OK;
}

static long find_control(const struct opt_problem *pb, const char *id)
{
    for (size_t i = 0; i < pb->nc; i++)
        if (!strcmp(pb->c[i].id, id))
            return (long)i;
    return -1;
}

static int parse_catalog(const json_t *cat, struct opt_problem *pb, char *err, size_t errlen)
{
    const json_t *list = json_object_get(cat, "controls");
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 10000)
        return fail(err, errlen, "the catalog must have a list of 1 to 10000 controls");
    pb->nc = json_array_size(list);
    pb->c = xcalloc(pb->nc, sizeof *pb->c);
    for (size_t i = 0; i < pb->nc; i++) {
        int rc = parse_control(json_array_get(list, i), i, &pb->p, &pb->c[i], err, errlen);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(pb->c[j].id, pb->c[i].id))
                return fail(err, errlen, "control id \"%s\" is used twice", pb->c[i].id);
    }
    for (size_t i = 0; i < pb->nc; i++) {
        const json_t *req = json_object_get(pb->c[i].source, "requires");
        if (!req)
            continue;
        if (!json_is_array(req))
            return fail(err, errlen, "control \"%s\": requires must be a list of ids", pb->c[i].id);
        pb->c[i].req = xcalloc(json_array_size(req) + 1, sizeof *pb->c[i].req);
        for (size_t k = 0; k < json_array_size(req); k++) {
            const char *id = json_string_value(json_array_get(req, k));
            long r = id ? find_control(pb, id) : -1;
            if (r < 0 || (size_t)r == i)
                return fail(err, errlen,
                            "control \"%s\": requires \"%s\", which is not another "
                            "control of the catalog",
                            pb->c[i].id, id ? id : "?");
            pb->c[i].req[pb->c[i].nreq++] = (size_t)r;
        }
    }
    return AEG_OK;
}

static json_t *embedded(const char *name, char *err, size_t errlen)
{
    for (const struct opt_data *d = opt_data; d->name; d++) {
        if (strcmp(d->name, name))
            continue;
        json_t *doc = NULL;
        if (yaml_parse(d->yaml, strlen(d->yaml), &doc, err, errlen))
            return NULL;
        return doc;
    }
    fail(err, errlen, "no compiled-in data named %s", name);
    return NULL;
}

int opt_parse(const json_t *doc, struct opt_problem *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->budget_one_off = out->budget_yearly = INFINITY;
    out->gap = OPT_DEFAULT_GAP;
    out->time_limit = OPT_DEFAULT_TIME_LIMIT;
    if (!json_is_object(doc))
        return fail(err, errlen,
                    "an optimisation input is an object with scenarios, controls, "
                    "budget and objective");
    static const char *const fields[] = {"name",        "description", "thresholds", "correlation",
                                         "scenarios",   "controls",    "budget",     "objective",
                                         "target_loss", "coverage",    "solver",     NULL};
    const char *bad;
    if (!only(doc, fields, &bad))
        return fail(err, errlen,
                    "unknown field \"%s\" (name, description, thresholds, "
                    "correlation, scenarios, controls, budget, objective, "
                    "target_loss, coverage, solver)",
                    bad);
    json_t *port = json_object();
    static const char *const pf[] = {"name", "description", "thresholds", "correlation",
                                     "scenarios"};
    for (size_t i = 0; i < sizeof pf / sizeof pf[0]; i++)
        if (json_object_get(doc, pf[i]))
            json_object_set(port, pf[i], json_object_get(doc, pf[i]));
    int rc = fair_parse(port, &out->p, err, errlen);
    json_decref(port);
    if (rc)
        return rc;
    snprintf(out->name, sizeof out->name, "%s", out->p.name);

    const json_t *ctl = json_object_get(doc, "controls");
    static const char *const cf[] = {"catalog", "candidates", "implemented", NULL};
    if (!json_is_object(ctl) || !only(ctl, cf, &bad))
        return fail(err, errlen,
                    "controls must be an object with catalog, candidates and "
                    "implemented");
    const json_t *cat = json_object_get(ctl, "catalog");
    json_t *catdoc = NULL;
    if (!cat || (json_is_string(cat) && !strcmp(json_string_value(cat), "standard"))) {
        if (!(catdoc = embedded("controls/catalog", err, errlen)))
            return AEG_EINVAL;
    } else if (json_is_object(cat)) {
        catdoc = json_incref((json_t *)cat);
    } else {
        return fail(err, errlen,
                    "controls.catalog must be \"standard\" or a catalog object with "
                    "a controls list");
    }
    rc = parse_catalog(catdoc, out, err, errlen);
    json_decref(catdoc);
    if (rc)
        return rc;
    const json_t *imp = json_object_get(ctl, "implemented");
    if (imp && !json_is_array(imp))
        return fail(err, errlen, "controls.implemented must be a list of control ids");
    for (size_t i = 0; imp && i < json_array_size(imp); i++) {
        const char *id = json_string_value(json_array_get(imp, i));
        long c = id ? find_control(out, id) : -1;
        if (c < 0)
            return fail(err, errlen, "controls.implemented[%zu]: \"%s\" is not in the catalog", i,
                        id ? id : "?");
        out->c[c].implemented = true;
    }
    const json_t *cand = json_object_get(ctl, "candidates");
    if (!cand || (json_is_string(cand) && !strcmp(json_string_value(cand), "all"))) {
        for (size_t i = 0; i < out->nc; i++)
            out->c[i].candidate = !out->c[i].implemented;
    } else if (json_is_array(cand)) {
        for (size_t i = 0; i < json_array_size(cand); i++) {
            const char *id = json_string_value(json_array_get(cand, i));
            long c = id ? find_control(out, id) : -1;
            if (c < 0)
                return fail(err, errlen, "controls.candidates[%zu]: \"%s\" is not in the catalog",
                            i, id ? id : "?");
            out->c[c].candidate = !out->c[c].implemented;
        }
    } else {
        return fail(err, errlen, "controls.candidates must be \"all\" or a list of control ids");
    }
    for (size_t i = 0; i < out->nc; i++) /* two implemented members of one group contradict it */
        for (size_t j = 0; j < i; j++)
            if (out->c[i].implemented && out->c[j].implemented && *out->c[i].group &&
                !strcmp(out->c[i].group, out->c[j].group))
                return fail(err, errlen,
                            "controls.implemented: \"%s\" and \"%s\" are mutually "
                            "exclusive (group %s)",
                            out->c[j].id, out->c[i].id, out->c[i].group);

    const json_t *b = json_object_get(doc, "budget");
    if (b) {
        static const char *const bf[] = {"one_off", "yearly", NULL};
        if (!json_is_object(b) || !only(b, bf, &bad))
            return fail(err, errlen, "budget must be an object with one_off and yearly amounts");
        const json_t *v = json_object_get(b, "one_off");
        if (v && !json_is_null(v) && !number_in(v, 0, 1e15, &out->budget_one_off))
            return fail(err, errlen, "budget.one_off must be a non-negative amount");
        v = json_object_get(b, "yearly");
        if (v && !json_is_null(v) && !number_in(v, 0, 1e15, &out->budget_yearly))
            return fail(err, errlen, "budget.yearly must be a non-negative amount");
    }
    const json_t *ob = json_object_get(doc, "objective");
    out->objective = OPT_MIN_TOTAL_COST;
    if (ob) {
        const char *o = json_string_value(ob);
        int k = -1;
        for (int i = 0; o && i < 3; i++)
            if (!strcmp(o, objectives[i]))
                k = i;
        if (k < 0)
            return fail(err, errlen,
                        "objective must be min_total_cost, max_reduction or "
                        "min_spend");
        out->objective = (enum opt_objective)k;
    }
    const json_t *tl = json_object_get(doc, "target_loss");
    if (out->objective == OPT_MIN_SPEND) {
        if (!number_in(tl, 0, 1e15, &out->target_loss))
            return fail(err, errlen,
                        "target_loss (a non-negative amount a year) is required "
                        "with objective min_spend");
    } else if (tl) {
        return fail(err, errlen, "target_loss is only used with objective min_spend");
    }
    const json_t *cov = json_object_get(doc, "coverage");
    if (cov) {
        static const char *const covf[] = {"nis2", NULL};
        if (!json_is_object(cov) || !only(cov, covf, &bad))
            return fail(err, errlen, "coverage must be an object with a nis2 list");
        const json_t *n2 = json_object_get(cov, "nis2");
        if (n2 && letters(n2, &out->coverage, "coverage.nis2", err, errlen))
            return AEG_EINVAL;
    }
    const json_t *sv = json_object_get(doc, "solver");
    if (sv) {
        static const char *const sf[] = {"gap", "time_limit", NULL};
        if (!json_is_object(sv) || !only(sv, sf, &bad))
            return fail(err, errlen, "solver must be an object with gap and time_limit");
        const json_t *v = json_object_get(sv, "gap");
        if (v && !number_in(v, 0, 0.5, &out->gap))
            return fail(err, errlen, "solver.gap must be a relative gap from 0 to 0.5");
        v = json_object_get(sv, "time_limit");
        if (v && !(number_in(v, 0, 86400, &out->time_limit) && out->time_limit > 0))
            return fail(err, errlen,
                        "solver.time_limit must be a number of seconds, above 0 and "
                        "at most 86400");
    }
    for (size_t s = 0; s < out->p.n; s++) {
        double ev, pr, se;
        fair_expectations(&out->p.s[s], &ev, &pr, &se);
        if (!isfinite(ev) || !isfinite(pr) || !isfinite(se))
            return fail(err, errlen,
                        "scenario \"%s\": its expected loss has no closed form here "
                        "(a Poisson threat capability or resistance strength, or "
                        "an overflowing magnitude)",
                        out->p.s[s].name);
    }
    return AEG_OK;
}

void opt_free(struct opt_problem *pb)
{
    for (size_t i = 0; pb->c && i < pb->nc; i++) {
        free(pb->c[i].req);
        free(pb->c[i].keep);
        json_decref(pb->c[i].source);
    }
    free(pb->c);
    fair_free(&pb->p);
    memset(pb, 0, sizeof *pb);
}

/* ---- the model
 * ----------------------------------------------------------------------------------- */

/* Scenario s's two loss terms with the implemented controls applied: A (primary) and B (secondary),
 * and control c's log-factors on them. */
static void terms(const struct opt_problem *pb, size_t s, double *A, double *B)
{
    double ev, pr, se;
    fair_expectations(&pb->p.s[s], &ev, &pr, &se);
    /* fair_expectations includes the multipliers: take the scenario as parsed */
    const struct fair_scenario *sc = &pb->p.s[s];
    double m = sc->m_freq * sc->m_vuln;
    ev = m > 0 ? ev / m : 0;
    pr = sc->m_primary > 0 ? pr / sc->m_primary : 0;
    se = sc->m_secondary > 0 ? se / sc->m_secondary : 0;
    double a = ev * pr, b = ev * se;
    for (size_t c = 0; c < pb->nc; c++) {
        if (!pb->c[c].implemented)
            continue;
        const double *k = pb->c[c].keep + s * OPT__NF;
        a *= k[OPT_TEF] * k[OPT_VULN] * k[OPT_PRIMARY];
        b *= k[OPT_TEF] * k[OPT_VULN] * k[OPT_SECONDARY];
    }
    *A = a;
    *B = b;
}

static double log_factor(const struct opt_control *c, size_t s, int term)
{
    const double *k = c->keep + s * OPT__NF;
    return log(k[OPT_TEF] * k[OPT_VULN] * (term ? k[OPT_SECONDARY] : k[OPT_PRIMARY]));
}

double opt_expected_loss(const struct opt_problem *pb, const bool *on)
{
    double total = 0;
    for (size_t s = 0; s < pb->p.n; s++) {
        double A, B, za = 0, zb = 0;
        terms(pb, s, &A, &B);
        for (size_t c = 0; on && c < pb->nc; c++) {
            if (!on[c] || pb->c[c].implemented)
                continue;
            za += log_factor(&pb->c[c], s, 0);
            zb += log_factor(&pb->c[c], s, 1);
        }
        total += A * exp(za) + B * exp(zb);
    }
    return total;
}

void opt_apply(struct opt_problem *pb, const bool *on)
{
    for (size_t s = 0; s < pb->p.n; s++) {
        struct fair_scenario *sc = &pb->p.s[s];
        sc->m_freq = sc->m_vuln = sc->m_primary = sc->m_secondary = 1;
        for (size_t c = 0; c < pb->nc; c++) {
            if (!pb->c[c].implemented && !(on && on[c]))
                continue;
            const double *k = pb->c[c].keep + s * OPT__NF;
            sc->m_freq *= k[OPT_TEF];
            sc->m_vuln *= k[OPT_VULN];
            sc->m_primary *= k[OPT_PRIMARY];
            sc->m_secondary *= k[OPT_SECONDARY];
        }
    }
}

/* ---- the MILP
 * ------------------------------------------------------------------------------------ */

struct milp {
    glp_prob *lp;
    double scale; /* amounts in the MILP are divided by it, so its numbers are near 1 */
    double w;     /* and the objective is multiplied by this (milp_objective) */
    size_t nfree;
    size_t *var_of; /* control -> column (1-based), 0 when not free */
    size_t nterm;
    size_t *term_s;   /* term -> scenario */
    int *term_k;      /* term -> 0 (primary) or 1 (secondary) */
    double *term_c;   /* its coefficient (A or B) */
    int *zcol, *tcol; /* its z and t columns */
    int *ind;         /* scratch for rows, 1-based */
    double *val;
};

/* Which controls may be chosen: candidates, not implemented, whose group no implemented control
 * occupies, whose requirements are implemented or themselves choosable (to a fixed point). */
static bool *choosable(const struct opt_problem *pb)
{
    bool *ok = xcalloc(pb->nc + 1, sizeof *ok);
    for (size_t c = 0; c < pb->nc; c++) {
        ok[c] = pb->c[c].candidate && !pb->c[c].implemented;
        for (size_t d = 0; ok[c] && d < pb->nc; d++)
            if (pb->c[d].implemented && *pb->c[c].group && !strcmp(pb->c[c].group, pb->c[d].group))
                ok[c] = false;
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t c = 0; c < pb->nc; c++)
            for (size_t r = 0; ok[c] && r < pb->c[c].nreq; r++) {
                size_t q = pb->c[c].req[r];
                if (!pb->c[q].implemented && !ok[q]) {
                    ok[c] = false;
                    changed = true;
                }
            }
    }
    return ok;
}

static void add_cut(struct milp *M, size_t k, double z0)
{
    /* t >= C e^z0 (1 + z - z0): the tangent of C e^z at z0, divided through by C e^z0 so the
     * row's numbers are near 1 wherever t is (a term cut to a millionth of its size would
     * otherwise sit below GLPK's feasibility tolerance, and its cuts would not bind) */
    double e = M->term_c[k] * exp(z0);
    if (!(e > 1e-14))
        return; /* a term below 1e-14 of the scale: t >= 0 is as good (and keeps 1/e sane) */
    int row = glp_add_rows(M->lp, 1);
    int ind[3] = {0, M->tcol[k], M->zcol[k]};
    double val[3] = {0, 1 / e, -1};
    glp_set_mat_row(M->lp, row, 2, ind, val);
    glp_set_row_bnds(M->lp, row, GLP_LO, 1 - z0, 0);
}

static void milp_free(struct milp *M)
{
    if (M->lp)
        glp_delete_prob(M->lp);
    free(M->var_of);
    free(M->term_s);
    free(M->term_k);
    free(M->term_c);
    free(M->zcol);
    free(M->tcol);
    free(M->ind);
    free(M->val);
}

static void milp_objective(struct milp *M, const struct opt_problem *pb, enum opt_objective obj);

/* Builds the MILP for objective obj (coverage, groups, requirements, the budgets given; with
 * OPT_MIN_SPEND the target on the loss). */
static void milp_build(const struct opt_problem *pb, const bool *ok, enum opt_objective obj,
                       double budget_yearly, double budget_one_off, struct milp *M)
{
    memset(M, 0, sizeof *M);
    glp_term_out(GLP_OFF);
    M->lp = glp_create_prob();
    glp_set_obj_dir(M->lp, GLP_MIN);
    M->var_of = xcalloc(pb->nc + 1, sizeof *M->var_of);
    size_t ncap = pb->nc + 2 * pb->p.n + 8;
    M->ind = xcalloc(ncap + 1, sizeof *M->ind);
    M->val = xcalloc(ncap + 1, sizeof *M->val);
    /* amounts are divided by the larger of the baseline loss and the candidates' total cost:
     * with raw amounts (1e9 and more) GLPK's tolerances made it miss feasible solutions */
    double total_cost = 0;
    for (size_t c = 0; c < pb->nc; c++)
        if (ok[c])
            total_cost += pb->c[c].annual;
    M->scale = fmax(1, fmax(opt_expected_loss(pb, NULL), total_cost));
    M->w = 1;
    for (size_t c = 0; c < pb->nc; c++) {
        if (!ok[c])
            continue;
        int col = glp_add_cols(M->lp, 1);
        M->var_of[c] = (size_t)col;
        M->nfree++;
        glp_set_col_kind(M->lp, col, GLP_BV);
    }
    M->term_s = xcalloc(2 * pb->p.n + 1, sizeof *M->term_s);
    M->term_k = xcalloc(2 * pb->p.n + 1, sizeof *M->term_k);
    M->term_c = xcalloc(2 * pb->p.n + 1, sizeof *M->term_c);
    M->zcol = xcalloc(2 * pb->p.n + 1, sizeof *M->zcol);
    M->tcol = xcalloc(2 * pb->p.n + 1, sizeof *M->tcol);
    int trow = 0;
    if (obj == OPT_MIN_SPEND && isfinite(pb->target_loss)) {
        trow = glp_add_rows(M->lp, 1);
        glp_set_row_bnds(M->lp, trow, GLP_UP, 0, pb->target_loss / M->scale);
    }
    int nt = 0;
    for (size_t s = 0; s < pb->p.n; s++) {
        double AB[2];
        terms(pb, s, &AB[0], &AB[1]);
        for (int k = 0; k < 2; k++) {
            if (!(AB[k] > 0))
                continue;
            size_t t = M->nterm++;
            M->term_s[t] = s;
            M->term_k[t] = k;
            M->term_c[t] = AB[k] / M->scale;
            /* z = sum of x_c ln(factor): z's range is [sum of the negative logs, 0] */
            int n = 0;
            double zmin = 0;
            for (size_t c = 0; c < pb->nc; c++) {
                if (!M->var_of[c])
                    continue;
                double l = log_factor(&pb->c[c], s, k);
                if (l == 0)
                    continue;
                M->ind[++n] = (int)M->var_of[c];
                M->val[n] = -l;
                zmin += l;
            }
            M->zcol[t] = glp_add_cols(M->lp, 1);
            glp_set_col_bnds(M->lp, M->zcol[t], zmin < 0 ? GLP_DB : GLP_FX, zmin, 0);
            M->tcol[t] = glp_add_cols(M->lp, 1);
            glp_set_col_bnds(M->lp, M->tcol[t], GLP_LO, 0, 0);
            M->ind[++n] = M->zcol[t];
            M->val[n] = 1;
            int row = glp_add_rows(M->lp, 1);
            glp_set_mat_row(M->lp, row, n, M->ind, M->val);
            glp_set_row_bnds(M->lp, row, GLP_FX, 0, 0);
            /* tangents spread over where the term can go, down to a millionth of its size */
            double zlo = fmax(zmin, -14);
            for (int i = 0; i < INIT_CUTS; i++)
                add_cut(M, t, zlo * i / (INIT_CUTS - 1));
            nt++;
        }
    }
    if (trow) {
        int n = 0;
        for (size_t t = 0; t < M->nterm; t++) {
            M->ind[++n] = M->tcol[t];
            M->val[n] = 1;
        }
        glp_set_mat_row(M->lp, trow, n, M->ind, M->val);
    }
    /* budgets */
    for (int which = 0; which < 2; which++) {
        double cap = which ? budget_one_off : budget_yearly;
        if (!isfinite(cap))
            continue;
        int n = 0;
        for (size_t c = 0; c < pb->nc; c++)
            if (M->var_of[c]) {
                M->ind[++n] = (int)M->var_of[c];
                M->val[n] = (which ? pb->c[c].one_off : pb->c[c].annual) / M->scale;
            }
        int row = glp_add_rows(M->lp, 1);
        glp_set_mat_row(M->lp, row, n, M->ind, M->val);
        glp_set_row_bnds(M->lp, row, GLP_UP, 0, cap / M->scale);
    }
    /* groups: at most one member */
    for (size_t c = 0; c < pb->nc; c++) {
        if (!M->var_of[c] || !*pb->c[c].group)
            continue;
        bool first = true;
        for (size_t d = 0; d < c && first; d++)
            if (M->var_of[d] && !strcmp(pb->c[d].group, pb->c[c].group))
                first = false;
        if (!first)
            continue;
        int n = 0;
        for (size_t d = c; d < pb->nc; d++)
            if (M->var_of[d] && !strcmp(pb->c[d].group, pb->c[c].group)) {
                M->ind[++n] = (int)M->var_of[d];
                M->val[n] = 1;
            }
        if (n > 1) {
            int row = glp_add_rows(M->lp, 1);
            glp_set_mat_row(M->lp, row, n, M->ind, M->val);
            glp_set_row_bnds(M->lp, row, GLP_UP, 0, 1);
        }
    }
    /* requirements: x_c <= x_r */
    for (size_t c = 0; c < pb->nc; c++)
        for (size_t r = 0; M->var_of[c] && r < pb->c[c].nreq; r++) {
            size_t q = pb->c[c].req[r];
            if (!M->var_of[q])
                continue; /* implemented (choosable() excluded the rest) */
            int ind[3] = {0, (int)M->var_of[c], (int)M->var_of[q]};
            double val[3] = {0, 1, -1};
            int row = glp_add_rows(M->lp, 1);
            glp_set_mat_row(M->lp, row, 2, ind, val);
            glp_set_row_bnds(M->lp, row, GLP_UP, 0, 0);
        }
    /* coverage of each letter the implemented controls leave open */
    unsigned have = 0;
    for (size_t c = 0; c < pb->nc; c++)
        if (pb->c[c].implemented)
            have |= pb->c[c].nis2;
    for (int l = 0; l < 10; l++) {
        if (!(pb->coverage >> l & 1) || (have >> l & 1))
            continue;
        int n = 0;
        for (size_t c = 0; c < pb->nc; c++)
            if (M->var_of[c] && (pb->c[c].nis2 >> l & 1)) {
                M->ind[++n] = (int)M->var_of[c];
                M->val[n] = 1;
            }
        int row = glp_add_rows(M->lp, 1);
        glp_set_mat_row(M->lp, row, n, M->ind, M->val);
        glp_set_row_bnds(M->lp, row, GLP_LO, 1, 0);
    }
    (void)nt;
    milp_objective(M, pb, obj);
}

/* Sets the objective: the loss's weight and the cost's (a tiny weight breaks ties), times M->w. */
static void milp_objective(struct milp *M, const struct opt_problem *pb, enum opt_objective obj)
{
    double wl = obj == OPT_MIN_SPEND ? 1e-9 : 1, wc = obj == OPT_MAX_REDUCTION ? 1e-9 : 1;
    for (size_t c = 0; c < pb->nc; c++)
        if (M->var_of[c])
            glp_set_obj_coef(M->lp, (int)M->var_of[c], M->w * wc * pb->c[c].annual / M->scale);
    for (size_t t = 0; t < M->nterm; t++)
        glp_set_obj_coef(M->lp, M->tcol[t], M->w * wl);
}

/* What one MILP solve gave. */
enum { SOLVED = 0, INFEASIBLE = -1, STOPPED = -2, CANCELLED = -3, FAILED = -4 };

struct solve_ctx {
    struct milp *M;
    const struct opt_problem *pb;
    const bool *start; /* a feasible choice handed to GLPK as its first incumbent, or NULL */
    bool offered, have_bound;
    double bound; /* the best bound the tree has shown, in the MILP's units */
};

static void ios_callback(glp_tree *T, void *info)
{
    struct solve_ctx *c = info;
    if (c->pb->cancel && atomic_load(c->pb->cancel)) {
        glp_ios_terminate(T);
        return;
    }
    int node = glp_ios_best_node(T);
    if (node) {
        double b = glp_ios_node_bound(T, node);
        if (!c->have_bound || b > c->bound)
            c->bound = b;
        c->have_bound = true;
    }
    if (glp_ios_reason(T) != GLP_IHEUR || !c->start || c->offered)
        return;
    /* the previous round's best choice still meets every constraint (cuts only bound t from
     * below, and t at the true loss satisfies them all): start from it */
    c->offered = true;
    const struct milp *M = c->M;
    int n = glp_get_num_cols(M->lp);
    double *x = xcalloc((size_t)n + 1, sizeof *x);
    for (size_t k = 0; k < c->pb->nc; k++)
        if (M->var_of[k])
            x[M->var_of[k]] = c->start[k];
    for (size_t t = 0; t < M->nterm; t++) {
        double z = 0;
        for (size_t k = 0; k < c->pb->nc; k++)
            if (M->var_of[k] && c->start[k])
                z += log_factor(&c->pb->c[k], M->term_s[t], M->term_k[t]);
        x[M->zcol[t]] = z;
        x[M->tcol[t]] = M->term_c[t] * exp(z);
    }
    glp_ios_heur_sol(T, x);
    free(x);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Solves the MILP as it stands, stopping at `deadline` (now_s() units): SOLVED with the solution's
 * x in on[], its objective and a proven lower bound on the MILP's optimum (both in currency units;
 * *limited when the deadline cut the search short), or INFEASIBLE, STOPPED (the deadline, with no
 * solution), CANCELLED or FAILED. */
static int milp_solve(struct milp *M, const struct opt_problem *pb, const bool *start,
                      double deadline, bool *on, double *obj, double *bound, bool *limited)
{
    *limited = false;
    if (pb->cancel && atomic_load(pb->cancel))
        return CANCELLED;
    /* the relaxation first, from the previous round's basis (the new cuts are a few rows) */
    glp_smcp sp;
    glp_init_smcp(&sp);
    sp.msg_lev = GLP_MSG_OFF;
    sp.meth = GLP_DUALP;
    glp_scale_prob(M->lp, GLP_SF_AUTO); /* the cuts' coefficients span many orders of magnitude */
    int ret = glp_simplex(M->lp, &sp);
    if (ret != 0) { /* a basis gone singular: start again from a fresh one */
        glp_adv_basis(M->lp, 0);
        ret = glp_simplex(M->lp, &sp);
    }
    if (ret != 0)
        return FAILED;
    if (glp_get_status(M->lp) == GLP_NOFEAS)
        return INFEASIBLE;
    if (glp_get_status(M->lp) != GLP_OPT)
        return FAILED;
    double left = deadline - now_s();
    if (left <= 0)
        return STOPPED;
    struct solve_ctx ctx = {.M = M, .pb = pb, .start = start};
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.presolve = GLP_OFF; /* the callback must see the MILP's own columns */
    parm.msg_lev = GLP_MSG_OFF;
    parm.mip_gap = pb->gap / 2;
    parm.tm_lim = (int)fmin(left * 1000 + 1, 1e9);
    parm.cb_func = ios_callback;
    parm.cb_info = &ctx;
    ret = glp_intopt(M->lp, &parm);
    if (ret == GLP_EMIPGAP)
        ret = 0; /* stopped at the gap asked for: a solution */
    int st = glp_mip_status(M->lp);
    if (ret == GLP_ESTOP)
        return CANCELLED;
    if (st == GLP_NOFEAS || (ret == 0 && st != GLP_OPT && st != GLP_FEAS))
        return INFEASIBLE;
    if (st != GLP_OPT && st != GLP_FEAS)
        return ret == GLP_ETMLIM ? STOPPED : FAILED;
    if (ret != 0 && ret != GLP_ETMLIM)
        return FAILED;
    *limited = ret == GLP_ETMLIM;
    double v = glp_mip_obj_val(M->lp);
    /* a bound: the tree's, or the one GLPK stopped at (within mip_gap of its incumbent) */
    double b = ret == 0 ? v - parm.mip_gap * (fabs(v) + 1e-300) : -INFINITY;
    if (ctx.have_bound)
        b = fmax(b, ctx.bound);
    *obj = v * M->scale / M->w;
    *bound = fmin(b, v) * M->scale / M->w;
    for (size_t c = 0; c < pb->nc; c++)
        on[c] = M->var_of[c] && glp_mip_col_val(M->lp, (int)M->var_of[c]) > 0.5;
    return SOLVED;
}

static double cost_of(const struct opt_problem *pb, const bool *on, bool one_off)
{
    double sum = 0;
    for (size_t c = 0; c < pb->nc; c++)
        if (on[c] && !pb->c[c].implemented)
            sum += one_off ? pb->c[c].one_off : pb->c[c].annual;
    return sum;
}

/* The outer-approximation loop for obj, until `deadline`. Returns SOLVED with on, *lb (a proven
 * lower bound on the objective) and *rounds (*limited when the deadline or the round limit ended it
 * before the bounds met), or INFEASIBLE, STOPPED (no feasible choice found in time), CANCELLED or
 * FAILED. */
static int oa(const struct opt_problem *pb, const bool *ok, enum opt_objective obj,
              double budget_yearly, double budget_one_off, double deadline, bool *on, double *lb,
              int *rounds, bool *limited)
{
    struct milp M;
    milp_build(pb, ok, obj, budget_yearly, budget_one_off, &M);
    bool *x = xcalloc(pb->nc + 1, sizeof *x), *prev = xcalloc(pb->nc + 1, sizeof *prev);
    double best = INFINITY;
    int rc = INFEASIBLE, still = 0;
    *lb = -INFINITY;
    *limited = false;
    for (*rounds = 1;; (*rounds)++) {
        double mobj, bound;
        bool cut_short;
        int r =
            milp_solve(&M, pb, best < INFINITY ? on : NULL, deadline, x, &mobj, &bound, &cut_short);
        if (r != SOLVED) {
            if (best < INFINITY && r != CANCELLED) {
                *limited = r != INFEASIBLE; /* INFEASIBLE cannot happen here: cuts only raise t */
                rc = SOLVED;
            } else {
                rc = r;
            }
            break;
        }
        double before_lb = *lb, before_best = best;
        *lb = fmax(*lb, bound);
        double loss = opt_expected_loss(pb, x), cost = cost_of(pb, x, false);
        bool feasible = obj != OPT_MIN_SPEND || loss <= pb->target_loss * (1 + 1e-12);
        double val = obj == OPT_MIN_TOTAL_COST  ? loss + cost
                     : obj == OPT_MAX_REDUCTION ? loss + 1e-9 * cost
                                                : cost + 1e-9 * loss;
        if (feasible && val < best) {
            best = val;
            memcpy(on, x, pb->nc * sizeof *on);
            rc = SOLVED;
            /* weigh the objective so the incumbent's is near 1: GLPK's tolerances are absolute
             * near zero, and a loss cut to a millionth of the baseline would fall below them */
            M.w = M.scale / fmax(best, M.scale * 1e-12);
            milp_objective(&M, pb, obj);
        }
        if (rc == SOLVED && best - *lb <= pb->gap * fmax(fabs(best), 1))
            break;
        if (cut_short || *rounds >= OA_ROUNDS) {
            *limited = rc == SOLVED;
            break;
        }
        still = *lb > before_lb || best < before_best ? 0 : still + 1;
        bool same = *rounds > 1 && !memcmp(x, prev, pb->nc * sizeof *x);
        memcpy(prev, x, pb->nc * sizeof *x);
        if (rc == SOLVED && (still >= OA_STALL || same)) {
            *limited = true; /* GLPK's tolerances stop short of the gap asked for */
            break;
        }
        /* tangents at this solution wherever the MILP's t underestimates the term */
        bool added = false;
        for (size_t t = 0; t < M.nterm; t++) {
            double z = 0;
            for (size_t c = 0; c < pb->nc; c++)
                if (x[c])
                    z += log_factor(&pb->c[c], M.term_s[t], M.term_k[t]);
            double tv = glp_mip_col_val(M.lp, M.tcol[t]), truth = M.term_c[t] * exp(z);
            if (tv < truth * (1 - 1e-12)) {
                add_cut(&M, t, z);
                added = true;
            }
        }
        if (!added)
            break; /* the MILP is exact at its solution: it is optimal within GLPK's gap */
    }
    if (rc == SOLVED && *lb > best)
        *lb = best;
    free(x);
    free(prev);
    milp_free(&M);
    return rc;
}

/* Why no choice satisfies the constraints, in one sentence. */
static void diagnose(const struct opt_problem *pb, const bool *ok, double budget_yearly,
                     double budget_one_off, double deadline, char *err, size_t errlen)
{
    unsigned have = 0;
    for (size_t c = 0; c < pb->nc; c++)
        if (pb->c[c].implemented)
            have |= pb->c[c].nis2;
    char a[64], b[64];
    /* a letter no choosable control covers, or whose cheapest cover alone exceeds a budget */
    for (int l = 0; l < 10; l++) {
        if (!(pb->coverage >> l & 1) || (have >> l & 1))
            continue;
        double best[2] = {INFINITY, INFINITY};
        for (size_t c = 0; c < pb->nc; c++) {
            if (!ok[c] || !(pb->c[c].nis2 >> l & 1))
                continue;
            /* the control with its requirements (those not implemented) */
            double cost[2] = {pb->c[c].annual, pb->c[c].one_off};
            for (size_t r = 0; r < pb->c[c].nreq; r++) {
                const struct opt_control *q = &pb->c[pb->c[c].req[r]];
                if (!q->implemented) {
                    cost[0] += q->annual;
                    cost[1] += q->one_off;
                }
            }
            for (int i = 0; i < 2; i++)
                best[i] = fmin(best[i], cost[i]);
        }
        if (!isfinite(best[0])) {
            snprintf(err, errlen,
                     "no candidate control covers Art. 21(2)(%c), which coverage "
                     "requires",
                     'a' + l);
            return;
        }
        if (best[0] > budget_yearly) {
            fmt_money(best[0], a, sizeof a);
            fmt_money(budget_yearly, b, sizeof b);
            snprintf(err, errlen,
                     "covering Art. 21(2)(%c) needs at least %s a year; the yearly "
                     "budget is %s",
                     'a' + l, a, b);
            return;
        }
        if (best[1] > budget_one_off) {
            fmt_money(best[1], a, sizeof a);
            fmt_money(budget_one_off, b, sizeof b);
            snprintf(err, errlen,
                     "covering Art. 21(2)(%c) needs at least %s one-off; the one-off "
                     "budget is %s",
                     'a' + l, a, b);
            return;
        }
    }
    /* together: the least yearly spend meeting every requirement, without the budgets */
    bool *x = xcalloc(pb->nc + 1, sizeof *x);
    double lb;
    int rounds;
    bool limited;
    struct opt_problem q = *pb;
    q.objective = OPT_MIN_SPEND;
    q.target_loss = INFINITY;
    if (oa(&q, ok, OPT_MIN_SPEND, INFINITY, budget_one_off, deadline, x, &lb, &rounds, &limited) ==
            SOLVED &&
        cost_of(pb, x, false) > budget_yearly) {
        fmt_money(cost_of(pb, x, false), a, sizeof a);
        fmt_money(budget_yearly, b, sizeof b);
        snprintf(err, errlen,
                 "meeting the coverage, group and prerequisite constraints together "
                 "needs at least %s a year; the yearly budget is %s",
                 a, b);
    } else if (oa(&q, ok, OPT_MIN_SPEND, budget_yearly, INFINITY, deadline, x, &lb, &rounds,
                  &limited) == SOLVED &&
               cost_of(pb, x, true) > budget_one_off) {
        snprintf(err, errlen,
                 "within the yearly budget, meeting the constraints needs more one-off "
                 "spend than the one-off budget allows");
    } else {
        snprintf(err, errlen,
                 "the coverage requirements cannot be met together within both "
                 "budgets, or the group and prerequisite constraints contradict them");
    }
    free(x);
}

int opt_solve(const struct opt_problem *pb, double yearly_budget, struct opt_solution *sol,
              char *err, size_t errlen)
{
    memset(sol, 0, sizeof *sol);
    double by = yearly_budget >= 0 ? yearly_budget : pb->budget_yearly;
    double deadline = now_s() + pb->time_limit;
    bool *ok = choosable(pb);
    sol->on = xcalloc(pb->nc + 1, sizeof *sol->on);
    double lb;
    int rc = oa(pb, ok, pb->objective, by, pb->budget_one_off, deadline, sol->on, &lb, &sol->rounds,
                &sol->limited);
    if (rc == INFEASIBLE && pb->objective == OPT_MIN_SPEND) {
        /* is it the target? the least loss reachable within the constraints */
        bool *x = xcalloc(pb->nc + 1, sizeof *x);
        int r2;
        double lb2;
        bool lim2;
        int rc2 =
            oa(pb, ok, OPT_MAX_REDUCTION, by, pb->budget_one_off, deadline, x, &lb2, &r2, &lim2);
        if (rc2 == SOLVED) {
            char a[64], b[64];
            fmt_money(opt_expected_loss(pb, x), a, sizeof a);
            fmt_money(pb->target_loss, b, sizeof b);
            snprintf(err, errlen,
                     "the lowest expected annual loss reachable within the constraints is "
                     "%s%s; the target is %s",
                     lim2 ? "about " : "", a, b);
        } else if (rc2 == INFEASIBLE) {
            diagnose(pb, ok, by, pb->budget_one_off, deadline, err, errlen);
        } else {
            rc = rc2;
        }
        free(x);
    } else if (rc == INFEASIBLE) {
        diagnose(pb, ok, by, pb->budget_one_off, deadline, err, errlen);
    }
    free(ok);
    glp_free_env(); /* GLPK keeps an environment per thread: a job worker would leak it */
    if (rc != SOLVED) {
        opt_solution_free(sol);
        if (rc == INFEASIBLE)
            return AEG_EINVAL;
        if (rc == CANCELLED) {
            snprintf(err, errlen, "cancelled");
            return AEG_EUNAVAIL;
        }
        if (rc == STOPPED) {
            snprintf(err, errlen,
                     "the solver found no choice meeting the constraints within its time "
                     "limit of %g s (solver.time_limit)",
                     pb->time_limit);
            return AEG_EUNAVAIL;
        }
        snprintf(err, errlen, "the MILP solver (GLPK) failed on this problem");
        return AEG_EUNAVAIL;
    }
    sol->loss = opt_expected_loss(pb, sol->on);
    sol->baseline_loss = opt_expected_loss(pb, NULL);
    sol->annual = cost_of(pb, sol->on, false);
    sol->one_off = cost_of(pb, sol->on, true);
    double val = pb->objective == OPT_MIN_TOTAL_COST  ? sol->loss + sol->annual
                 : pb->objective == OPT_MAX_REDUCTION ? sol->loss
                                                      : sol->annual;
    double wlb = lb; /* the MILP's bound carries the tie-breaking terms: take them off */
    if (pb->objective == OPT_MAX_REDUCTION)
        wlb = lb - 1e-9 * sol->annual;
    else if (pb->objective == OPT_MIN_SPEND)
        wlb = lb - 1e-9 * sol->loss;
    sol->lower_bound = fmin(wlb, val);
    sol->gap = val > 0 ? (val - sol->lower_bound) / val : 0;
    return AEG_OK;
}

void opt_solution_free(struct opt_solution *sol)
{
    free(sol->on);
    memset(sol, 0, sizeof *sol);
}

/* ---- the run: solve, re-check, frontier
 * ---------------------------------------------------------- */

static json_t *chosen_json(const struct opt_problem *pb, const bool *on)
{
    json_t *a = json_array();
    for (size_t c = 0; c < pb->nc; c++) {
        if (!on[c] || pb->c[c].implemented)
            continue;
        json_t *letters = json_array();
        for (int l = 0; l < 10; l++)
            if (pb->c[c].nis2 >> l & 1)
                json_array_append_new(letters, json_sprintf("%c", 'a' + l));
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:o}", "id", pb->c[c].id,
                                           "name", pb->c[c].name, "category", pb->c[c].category,
                                           "one_off", pb->c[c].one_off, "yearly", pb->c[c].yearly,
                                           "annual_cost", pb->c[c].annual, "nis2", letters));
    }
    return a;
}

static json_t *sim_json(const struct mc_result *r)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f}", "mean", r->portfolio.mean, "sem", r->portfolio.sem,
                     "var95", r->portfolio.var95, "var99", r->portfolio.var99, "tvar99",
                     r->portfolio.tvar99);
}

/* Simulates pb's portfolio with `on` applied (NULL: implemented only). */
static int simulate(struct opt_problem *pb, const bool *on, const struct opt_run_opts *o,
                    uint64_t iterations, struct mc_result *res, char *err, size_t errlen)
{
    opt_apply(pb, on);
    struct mc_opts mo = {.iterations = iterations,
                         .seed = o->seed,
                         .semantics = MC_COMPOUND,
                         .threads = o->threads,
                         .cancel = o->cancel};
    int rc = mc_run(&pb->p, &mo, res, err, errlen);
    for (size_t s = 0; s < pb->p.n; s++) { /* back to the parsed scenarios */
        struct fair_scenario *sc = &pb->p.s[s];
        sc->m_freq = sc->m_vuln = sc->m_primary = sc->m_secondary = 1;
    }
    return rc;
}

json_t *opt_run(struct opt_problem *pb, const struct opt_run_opts *o, int *rc, char *err,
                size_t errlen)
{
    struct opt_solution sol;
    pb->cancel = o->cancel;
    if ((*rc = opt_solve(pb, o->yearly_budget, &sol, err, errlen)))
        return NULL;
    struct mc_result base, chosen;
    if ((*rc = simulate(pb, NULL, o, o->iterations, &base, err, errlen))) {
        opt_solution_free(&sol);
        return NULL;
    }
    if ((*rc = simulate(pb, sol.on, o, o->iterations, &chosen, err, errlen))) {
        mc_result_free(&base);
        opt_solution_free(&sol);
        return NULL;
    }
    double reduction = base.portfolio.mean - chosen.portfolio.mean;
    double running = 0; /* the chosen controls' yearly (not amortised) costs */
    for (size_t c = 0; c < pb->nc; c++)
        if (sol.on[c] && !pb->c[c].implemented)
            running += pb->c[c].yearly;
    json_t *rosi = sol.annual > 0 ? json_real((reduction - sol.annual) / sol.annual) : json_null();
    json_t *payback =
        reduction - running > 0 && sol.one_off > 0
            ? json_real(sol.one_off / (reduction - running))
            : (sol.one_off == 0 && reduction - running > 0 ? json_real(0) : json_null());
    /* Gordon-Loeb: spending more than 1/e of the expected loss a measure protects is rarely
     * justified; the protected loss is the baseline loss of the scenarios the chosen set touches */
    double protected_loss = 0;
    for (size_t s = 0; s < pb->p.n; s++) {
        bool touched = false;
        for (size_t c = 0; c < pb->nc && !touched; c++)
            if (sol.on[c] && !pb->c[c].implemented)
                for (int f = 0; f < OPT__NF; f++)
                    touched |= pb->c[c].keep[s * OPT__NF + f] < 1;
        if (touched)
            protected_loss += base.scenario[s].mean;
    }
    bool gl = sol.annual > protected_loss / M_E;
    json_t *result = json_pack(
        "{s:s,s:s,s:{s:o,s:o},s:o}", "name", pb->name, "objective", objectives[pb->objective],
        "budget", "one_off",
        isfinite(pb->budget_one_off) ? json_real(pb->budget_one_off) : json_null(), "yearly",
        o->yearly_budget >= 0
            ? json_real(o->yearly_budget)
            : (isfinite(pb->budget_yearly) ? json_real(pb->budget_yearly) : json_null()),
        "target_loss", pb->objective == OPT_MIN_SPEND ? json_real(pb->target_loss) : json_null());
    json_object_set_new(
        result, "solution",
        json_pack("{s:o,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:b,s:i,s:s}", "controls",
                  chosen_json(pb, sol.on), "annual_cost", sol.annual, "one_off", sol.one_off,
                  "expected_loss", sol.loss, "baseline_expected_loss", sol.baseline_loss,
                  "lower_bound", sol.lower_bound, "optimality_gap", sol.gap, "gap_asked", pb->gap,
                  "time_limited", sol.limited, "rounds", sol.rounds, "method",
                  "GLPK branch-and-cut on the exact expected loss by outer approximation"));
    json_object_set_new(result, "recheck",
                        json_pack("{s:I,s:s,s:o,s:o,s:f,s:o,s:o,s:{s:b,s:f,s:f}}", "iterations",
                                  (json_int_t)o->iterations, "seed", "", "baseline",
                                  sim_json(&base), "chosen", sim_json(&chosen), "risk_reduction",
                                  reduction, "rosi", rosi, "payback_years", payback, "gordon_loeb",
                                  "exceeded", gl, "spend", sol.annual, "limit",
                                  protected_loss / M_E));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    json_object_set_new(json_object_get(result, "recheck"), "seed", json_string(seed));
    mc_result_free(&base);
    mc_result_free(&chosen);

    if (o->frontier > 0) {
        /* budgets from the least yearly spend that meets the constraints (0 without coverage) to
         * the spend of the least-loss choice without a yearly budget */
        struct opt_problem q = *pb;
        q.objective = OPT_MIN_SPEND;
        q.target_loss = INFINITY;
        struct opt_solution top;
        double lo = 0, hi = 0;
        char e2[256];
        if (opt_solve(&q, INFINITY, &top, e2, sizeof e2) == 0) {
            lo = top.annual;
            opt_solution_free(&top);
        }
        q.objective = OPT_MAX_REDUCTION;
        if (opt_solve(&q, INFINITY, &top, e2, sizeof e2) == 0) {
            hi = fmax(lo, top.annual);
            opt_solution_free(&top);
        }
        json_t *pts = json_array();
        for (int k = 0; k < o->frontier; k++) {
            double b = o->frontier > 1 ? lo + (hi - lo) * k / (o->frontier - 1) : hi;
            struct opt_solution ps;
            if (pb->cancel && atomic_load(pb->cancel)) {
                *rc = AEG_EUNAVAIL;
                snprintf(err, errlen, "cancelled");
                opt_solution_free(&sol);
                json_decref(pts);
                json_decref(result);
                return NULL;
            }
            if (opt_solve(&q, b, &ps, e2, sizeof e2)) {
                json_array_append_new(
                    pts, json_pack("{s:f,s:b,s:s}", "budget", b, "feasible", 0, "reason", e2));
                continue;
            }
            struct mc_result r;
            if ((*rc = simulate(pb, ps.on, o, o->frontier_iterations, &r, err, errlen))) {
                opt_solution_free(&ps);
                opt_solution_free(&sol);
                json_decref(pts);
                json_decref(result);
                return NULL;
            }
            json_array_append_new(pts, json_pack("{s:f,s:b,s:f,s:f,s:f,s:o,s:o}", "budget", b,
                                                 "feasible", 1, "annual_cost", ps.annual, "one_off",
                                                 ps.one_off, "expected_loss", ps.loss, "simulated",
                                                 sim_json(&r), "controls", chosen_json(pb, ps.on)));
            mc_result_free(&r);
            opt_solution_free(&ps);
        }
        json_object_set_new(result, "frontier", pts);
    }
    opt_solution_free(&sol);
    *rc = AEG_OK;
    return result;
}

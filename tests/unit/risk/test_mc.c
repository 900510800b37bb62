/*
 * Tests src/risk/mc.c, the Monte Carlo engine, on portfolios built from JSON text by fair_parse.
 *
 * Statistical checks use fixed seeds and tolerances of 5 Monte Carlo standard errors (of a mean,
 * of a binomial share, or 5/sqrt(n) for a sample correlation); every failure names the seed.
 * Exact checks: a constant-rate, constant-magnitude scenario's years are reproduced from the
 * documented streams (seed, scenario << 40 | year), so every summary field, the loss exceedance
 * curve and the histogram are compared with the years themselves; results are bit-identical on
 * 1, 2, 3 and 7 threads; a scenario's summary in a portfolio equals its summary alone at the same
 * index; contributions add up. Also: the Gaussian copula (more and less portfolio variance,
 * unchanged marginals, non-PSD matrices refused), mc_select and mc_quantile against a sorted copy,
 * the JSON result's fields, non-finite losses, bad options, the progress callback and cancelling.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "../unit.h"

#include "core/err.h"
#include "risk/mc.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define SE5 5.0 /* tolerances are this many standard errors */

/* ---- helpers --------------------------------------------------------------------------------- */

/* JSON text written with single quotes (readable in C), turned into a document. */
static json_t *jdoc(const char *text)
{
    char *s = xstrdup(text);
    for (char *c = s; *c; c++)
        if (*c == '\'')
            *c = '"';
    json_error_t je;
    json_t *doc = json_loads(s, 0, &je);
    if (!doc)
        fail_msg("test JSON does not parse: %s (line %d): %s", je.text, je.line, s);
    free(s);
    return doc;
}

static void parse_doc(struct fair_portfolio *p, const json_t *doc)
{
    char err[512] = "";
    int rc = fair_parse(doc, p, err, sizeof err);
    if (rc)
        fail_msg("fair_parse refused a valid portfolio: %s", err);
}

static void parse_ok(struct fair_portfolio *p, const char *text)
{
    json_t *doc = jdoc(text);
    parse_doc(p, doc);
    json_decref(doc);
}

static void run_ok(const struct fair_portfolio *p, uint64_t iterations, uint64_t seed,
                   enum mc_semantics sem, int threads, struct mc_result *r)
{
    struct mc_opts o = {
        .iterations = iterations, .seed = seed, .semantics = sem, .threads = threads};
    char err[512] = "";
    int rc = mc_run(p, &o, r, err, sizeof err);
    if (rc)
        fail_msg("mc_run (seed %llu) failed: %s", (unsigned long long)seed, err);
}

/* |got - want| <= tol, else a failure naming what and the seed. */
static void check_near(const char *what, uint64_t seed, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s (seed %llu): got %.17g, want %.17g (tolerance %.3g, off by %.3g)", what,
                 (unsigned long long)seed, got, want, tol, fabs(got - want));
}

/* A sample mean against its expectation: SE5 standard errors of the mean (the sample's own). */
static void check_mean(const char *what, uint64_t seed, const struct mc_summary *s, double want)
{
    check_near(what, seed, s->mean, want, SE5 * s->sem + 1e-12 * fabs(want));
}

/* A share of n years against its probability: SE5 binomial standard errors, plus 3 years of
 * slack where the normal approximation fails (probabilities near 0 or 1). */
static void check_share(const char *what, uint64_t seed, double share, double p, uint64_t n)
{
    check_near(what, seed, share, p, SE5 * sqrt(p * (1 - p) / (double)n) + 3.0 / (double)n);
}

static void check_rel(const char *what, uint64_t seed, double got, double want, double rel)
{
    check_near(what, seed, got, want, rel * fabs(want));
}

/* E[exp(-rate)] over a distribution, estimated by m draws from its own stream; *se gets the
 * standard error of the estimate. */
static double mean_exp_neg(const struct dist *d, uint64_t seed, long m, double *se)
{
    struct rng r;
    rng_init(&r, seed, 0x7e57);
    double s1 = 0, s2 = 0;
    for (long i = 0; i < m; i++) {
        double v = exp(-dist_sample(d, &r));
        s1 += v;
        s2 += v * v;
    }
    double mean = s1 / m;
    *se = sqrt(fmax(s2 / m - mean * mean, 0) / m);
    return mean;
}

/* The first difference between two summaries, or NULL. p_exceed is compared by content. */
static const char *summary_diff(const struct mc_summary *a, const struct mc_summary *b,
                                size_t nthresholds)
{
    struct mc_summary x = *a, y = *b;
    x.p_exceed = y.p_exceed = NULL;
#define FIELD(f)                                                                                   \
    do {                                                                                           \
        if (memcmp(&x.f, &y.f, sizeof x.f))                                                        \
            return #f;                                                                             \
    } while (0)
    FIELD(mean);
    FIELD(sd);
    FIELD(sem);
    FIELD(min);
    FIELD(max);
    FIELD(pct);
    FIELD(var95);
    FIELD(var99);
    FIELD(tvar95);
    FIELD(tvar99);
    FIELD(p_zero);
    FIELD(events_mean);
    FIELD(events_sd);
    FIELD(events_p_zero);
    FIELD(events_max);
#undef FIELD
    if (memcmp(&x, &y, sizeof x))
        return "(some field)";
    if (nthresholds && memcmp(a->p_exceed, b->p_exceed, nthresholds * sizeof *a->p_exceed))
        return "p_exceed";
    return NULL;
}

/* The first difference between two results (all but threads and seconds), or NULL. */
static const char *result_diff(const struct mc_result *a, const struct mc_result *b)
{
    static char what[64];
    if (a->iterations != b->iterations || a->seed != b->seed || a->semantics != b->semantics ||
        a->n != b->n || a->nthresholds != b->nthresholds || a->nlec != b->nlec ||
        a->nhist != b->nhist)
        return "iterations, seed, semantics or a count";
    const char *d = summary_diff(&a->portfolio, &b->portfolio, a->nthresholds);
    if (d) {
        snprintf(what, sizeof what, "portfolio.%s", d);
        return what;
    }
    for (size_t s = 0; s < a->n; s++) {
        if ((d = summary_diff(&a->scenario[s], &b->scenario[s], a->nthresholds))) {
            snprintf(what, sizeof what, "scenario[%zu].%s", s, d);
            return what;
        }
    }
    if (memcmp(a->contrib_mean, b->contrib_mean, a->n * sizeof(double)))
        return "contrib_mean";
    if (memcmp(a->contrib_tvar99, b->contrib_tvar99, a->n * sizeof(double)))
        return "contrib_tvar99";
    if (a->nthresholds && memcmp(a->thresholds, b->thresholds, a->nthresholds * sizeof(double)))
        return "thresholds";
    if (memcmp(a->lec_x, b->lec_x, a->nlec * sizeof(double)))
        return "lec_x";
    if (memcmp(a->lec_p, b->lec_p, a->nlec * sizeof(double)))
        return "lec_p";
    if (memcmp(a->hist_edge, b->hist_edge, (a->nhist + 1) * sizeof(double)))
        return "hist_edge";
    if (memcmp(a->hist_count, b->hist_count, a->nhist * sizeof(uint64_t)))
        return "hist_count";
    return NULL;
}

/* The invariants every summary must satisfy, whatever the model. */
static void check_summary_invariants(const char *what, uint64_t seed, const struct mc_summary *s,
                                     uint64_t n)
{
    unsigned long long sd = (unsigned long long)seed;
    for (int i = 1; i < MC_NPCT; i++)
        if (!(s->pct[i] >= s->pct[i - 1]))
            fail_msg("%s (seed %llu): percentile %g (%.17g) below percentile %g (%.17g)", what, sd,
                     mc_percentiles[i], s->pct[i], mc_percentiles[i - 1], s->pct[i - 1]);
    if (!(s->pct[0] >= s->min && s->pct[MC_NPCT - 1] <= s->max))
        fail_msg("%s (seed %llu): percentiles [%.17g, %.17g] outside [min %.17g, max %.17g]", what,
                 sd, s->pct[0], s->pct[MC_NPCT - 1], s->min, s->max);
    if (memcmp(&s->var95, &s->pct[7], sizeof(double)) ||
        memcmp(&s->var99, &s->pct[8], sizeof(double)))
        fail_msg("%s (seed %llu): VaR95 %.17g / VaR99 %.17g are not p95 %.17g / p99 %.17g", what,
                 sd, s->var95, s->var99, s->pct[7], s->pct[8]);
    if (!(s->tvar95 >= s->var95 && s->tvar99 >= s->var99 && s->tvar99 >= s->tvar95 &&
          s->tvar99 <= s->max))
        fail_msg("%s (seed %llu): TVaR95 %.17g, TVaR99 %.17g against VaR95 %.17g, VaR99 %.17g, "
                 "max %.17g",
                 what, sd, s->tvar95, s->tvar99, s->var95, s->var99, s->max);
    if (!(s->mean >= s->min && s->mean <= s->max && s->min >= 0))
        fail_msg("%s (seed %llu): mean %.17g outside [min %.17g, max %.17g]", what, sd, s->mean,
                 s->min, s->max);
    check_near("sem = sd / sqrt(n)", seed, s->sem, s->sd / sqrt((double)n),
               1e-15 * s->sd / sqrt((double)n));
    if (!(s->p_zero >= 0 && s->p_zero <= 1))
        fail_msg("%s (seed %llu): p_zero %.17g", what, sd, s->p_zero);
    if (s->p_zero > 0 && s->min != 0)
        fail_msg("%s (seed %llu): p_zero %.17g but min %.17g", what, sd, s->p_zero, s->min);
}

static void check_curves(const char *what, uint64_t seed, const struct mc_result *r)
{
    unsigned long long sd = (unsigned long long)seed;
    assert_int_equal(r->nlec, 50);
    assert_int_equal(r->nhist, 40);
    for (size_t k = 0; k < r->nlec; k++) {
        if (!(r->lec_p[k] >= 0 && r->lec_p[k] <= 1))
            fail_msg("%s (seed %llu): lec_p[%zu] = %.17g", what, sd, k, r->lec_p[k]);
        if (k && !(r->lec_x[k] > r->lec_x[k - 1]))
            fail_msg("%s (seed %llu): lec_x not increasing at %zu", what, sd, k);
        if (k && !(r->lec_p[k] <= r->lec_p[k - 1]))
            fail_msg("%s (seed %llu): lec_p increases at %zu: %.17g after %.17g", what, sd, k,
                     r->lec_p[k], r->lec_p[k - 1]);
    }
    /* every year above lec_x[0] > 0 has a loss */
    if (!(r->lec_x[0] > 0 && r->lec_p[0] <= 1 - r->portfolio.p_zero + 1e-15))
        fail_msg("%s (seed %llu): lec_p[0] %.17g at %.17g, but P(zero) is %.17g", what, sd,
                 r->lec_p[0], r->lec_x[0], r->portfolio.p_zero);
    uint64_t sum = 0;
    for (size_t k = 0; k < r->nhist; k++) {
        sum += r->hist_count[k];
        if (!(r->hist_edge[k + 1] > r->hist_edge[k]))
            fail_msg("%s (seed %llu): histogram edges not increasing at %zu", what, sd, k);
    }
    if (sum != r->iterations)
        fail_msg("%s (seed %llu): histogram counts sum to %llu, not %llu years", what, sd,
                 (unsigned long long)sum, (unsigned long long)r->iterations);
    if (r->hist_edge[0] != 0)
        fail_msg("%s (seed %llu): the histogram starts at %.17g", what, sd, r->hist_edge[0]);
}

/* Poisson(rate) pmf 0..kmax into pmf[]. */
static void poisson_pmf(double rate, int kmax, double *pmf)
{
    pmf[0] = exp(-rate);
    for (int k = 1; k <= kmax; k++)
        pmf[k] = pmf[k - 1] * rate / k;
}

/* ---- compound semantics ---------------------------------------------------------------------- */

static void test_compound_constant(void **state)
{
    (void)state;
    const uint64_t seed = 20240601, n = 300000;
    const double rate = 2.5, m = 1000;
    struct fair_portfolio p;
    parse_ok(&p, "{'thresholds': [0, 2500], 'scenarios': [{'name': 'C', 'lef': 2.5, "
                 "'primary_loss': 1000}]}");
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    const struct mc_summary *s = &r.portfolio;
    check_mean("mean = rate x magnitude", seed, s, rate * m);
    check_near("P(loss > 0) = 1 - P(zero)", seed, s->p_exceed[0], 1 - s->p_zero, 1e-15);
    /* loss > 2500 is 3 events or more */
    check_share("P(loss > 2500) = P(N >= 3)", seed, s->p_exceed[1],
                1 - exp(-rate) * (1 + rate + rate * rate / 2), n);
    check_near("sd = magnitude sqrt(rate)", seed, s->sd, m * sqrt(rate),
               SE5 * m * sqrt((rate + 2 * rate * rate) / n) / (2 * sqrt(rate)));
    check_share("P(zero-loss year) = exp(-rate)", seed, s->p_zero, exp(-rate), n);
    check_near("events mean = rate", seed, s->events_mean, rate, SE5 * sqrt(rate / n));
    /* Var(sample variance) of a Poisson: (mu4 - sigma^4)/n = (rate + 2 rate^2)/n */
    check_near("events variance = rate", seed, s->events_sd * s->events_sd, rate,
               SE5 * sqrt((rate + 2 * rate * rate) / n));
    check_near("P(no event) = P(zero loss)", seed, s->events_p_zero, s->p_zero, 0);
    check_near("max = most events x magnitude", seed, s->max, (double)s->events_max * m, 0);
    check_summary_invariants("constant compound", seed, s, n);
    check_curves("constant compound", seed, &r);
    /* one scenario: its summary is the portfolio's */
    const char *d = summary_diff(&r.scenario[0], &r.portfolio, 2);
    if (d)
        fail_msg("seed %llu: the only scenario's %s differs from the portfolio's",
                 (unsigned long long)seed, d);
    assert_true(r.scenario[0].p_exceed != r.portfolio.p_exceed); /* each its own array */
    check_near("contribution to the mean", seed, r.contrib_mean[0], s->mean, 0);
    check_near("contribution to TVaR99", seed, r.contrib_tvar99[0], s->tvar99, 1e-12 * s->tvar99);
    mc_result_free(&r);
    fair_free(&p);
}

static void test_compound_random(void **state)
{
    (void)state;
    const uint64_t seed = 77, n = 300000;
    struct fair_portfolio p;
    parse_ok(&p, "{'scenarios': [{'name': 'R', 'lef': {'dist': 'pert', 'min': 0.5, 'mode': 2, "
                 "'max': 6}, 'primary_loss': {'dist': 'lognormal', 'p05': 1000, 'p95': 50000}}]}");
    const struct fair_scenario *sc = &p.s[0];
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    const struct mc_summary *s = &r.portfolio;
    double er = dist_mean(&sc->lef), vr = dist_variance(&sc->lef);
    check_mean("mean = E[rate] E[magnitude]", seed, s, er * fair_magnitude_mean(&sc->primary));
    double se;
    double pz = mean_exp_neg(&sc->lef, seed, 200000, &se);
    check_near("P(zero) = E[exp(-rate)]", seed, s->p_zero, pz,
               SE5 * (sqrt(pz * (1 - pz) / n) + se));
    check_near("events mean = E[rate]", seed, s->events_mean, er, SE5 * sqrt((er + vr) / n));
    /* a mixed Poisson's variance: E[rate] + Var(rate); 2% is > 5 standard errors here */
    check_rel("events variance = E[rate] + Var(rate)", seed, s->events_sd * s->events_sd, er + vr,
              0.02);
    check_near("P(no event) = P(zero loss)", seed, s->events_p_zero, s->p_zero, 0);
    check_summary_invariants("random compound", seed, s, n);
    check_curves("random compound", seed, &r);
    mc_result_free(&r);
    fair_free(&p);
}

static void test_fair_decomposition(void **state)
{
    (void)state;
    const uint64_t seed = 4242, n = 200000;
    struct fair_portfolio p;
    parse_ok(&p,
             "{'scenarios': [{'name': 'D', 'tef': {"
             "  'contact_frequency': {'dist': 'pert', 'min': 2, 'mode': 8, 'max': 20},"
             "  'probability_of_action': {'dist': 'pert', 'min': 0.05, 'mode': 0.15, 'max': 0.4}},"
             " 'vulnerability': {'dist': 'pert', 'min': 0.05, 'mode': 0.2, 'max': 0.5},"
             " 'primary_loss': {'dist': 'pert', 'min': 10000, 'mode': 60000, 'max': 400000}}]}");
    const struct fair_scenario *sc = &p.s[0];
    assert_int_equal(sc->freq, FREQ_TEF_VULN);
    assert_true(sc->tef_by_parts);
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    double elef = dist_mean(&sc->cf) * dist_mean(&sc->poa) * dist_mean(&sc->vuln);
    check_mean("mean = E[cf] E[poa] E[v] E[magnitude]", seed, &r.portfolio,
               elef * dist_mean(&sc->primary.total));
    check_near("events mean = E[cf] E[poa] E[v]", seed, r.portfolio.events_mean, elef,
               SE5 * r.portfolio.events_sd / sqrt((double)n));
    /* P(zero) = E[exp(-cf poa v)], the three drawn independently on a stream of our own */
    struct rng g;
    rng_init(&g, seed, 0x7e57);
    double s1 = 0, s2 = 0;
    const long m = 200000;
    for (long i = 0; i < m; i++) {
        double cf = dist_sample(&sc->cf, &g), poa = dist_sample(&sc->poa, &g);
        double v = exp(-cf * poa * dist_sample(&sc->vuln, &g));
        s1 += v;
        s2 += v * v;
    }
    double pz = s1 / m, se = sqrt((s2 / m - pz * pz) / m);
    check_near("P(zero) = E[exp(-cf poa v)]", seed, r.portfolio.p_zero, pz,
               SE5 * (sqrt(pz * (1 - pz) / n) + se));
    check_summary_invariants("decomposition", seed, &r.portfolio, n);
    mc_result_free(&r);
    fair_free(&p);

    /* tef as one distribution, vulnerability a constant */
    parse_ok(&p, "{'scenarios': [{'name': 'D2', 'tef': {'dist': 'uniform', 'min': 1, 'max': 5},"
                 " 'vulnerability': 0.25, 'primary_loss': {'dist': 'triangular', 'min': 100,"
                 " 'mode': 200, 'max': 900}}]}");
    assert_false(p.s[0].tef_by_parts);
    run_ok(&p, n, seed, MC_COMPOUND, 1, &r);
    check_mean("mean = E[tef] v E[magnitude]", seed, &r.portfolio, 3 * 0.25 * 400);
    mc_result_free(&r);
    fair_free(&p);
}

static void test_tc_rs(void **state)
{
    (void)state;
    const uint64_t seed = 31337, n = 200000;
    struct fair_portfolio p;
    struct mc_result r;
    /* TC > RS always: every threat event is a loss event */
    parse_ok(&p, "{'scenarios': [{'name': 'always', 'tef': 3, 'vulnerability': "
                 "{'threat_capability': 0.8, 'resistance_strength': 0.5}, 'primary_loss': 1000}]}");
    assert_int_equal(p.s[0].freq, FREQ_TEF_TCRS);
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    check_mean("TC > RS: mean = tef x magnitude", seed, &r.portfolio, 3000);
    check_share("TC > RS: P(zero) = exp(-tef)", seed, r.portfolio.p_zero, exp(-3), n);
    check_near("TC > RS: events mean = tef", seed, r.portfolio.events_mean, 3, SE5 * sqrt(3.0 / n));
    mc_result_free(&r);
    run_ok(&p, n, seed, MC_PRODUCT, 2, &r);
    check_near("product, TC > RS: every year tef x magnitude", seed, r.portfolio.min, 3000, 0);
    check_near("product, TC > RS: max", seed, r.portfolio.max, 3000, 0);
    check_near("product, TC > RS: P(zero)", seed, r.portfolio.p_zero, 0, 0);
    mc_result_free(&r);
    fair_free(&p);

    /* TC < RS always: never a loss */
    parse_ok(&p, "{'scenarios': [{'name': 'never', 'tef': 3, 'vulnerability': "
                 "{'threat_capability': 0.4, 'resistance_strength': 0.5}, 'primary_loss': 1000}]}");
    for (int sem = MC_COMPOUND; sem <= MC_PRODUCT; sem++) {
        run_ok(&p, n, seed, (enum mc_semantics)sem, 2, &r);
        const struct mc_summary *s = &r.portfolio;
        check_near("TC < RS: mean", seed, s->mean, 0, 0);
        check_near("TC < RS: max", seed, s->max, 0, 0);
        check_near("TC < RS: P(zero)", seed, s->p_zero, 1, 0);
        check_near("TC < RS: p99.9", seed, s->pct[MC_NPCT - 1], 0, 0);
        check_near("TC < RS: TVaR99", seed, s->tvar99, 0, 0);
        check_near("TC < RS: loss events", seed, s->events_mean, 0, 0);
        check_curves("TC < RS", seed, &r);
        mc_result_free(&r);
    }
    fair_free(&p);

    /* TC uniform on (0, 1) against RS 0.25: P(TC > RS) = 0.75, so loss events are Poisson(3) */
    parse_ok(&p, "{'scenarios': [{'name': 'some', 'tef': 4, 'vulnerability': "
                 "{'threat_capability': {'dist': 'uniform', 'min': 0, 'max': 1}, "
                 "'resistance_strength': 0.25}, 'primary_loss': 1000}]}");
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    check_mean("TC ~ U(0,1) > 0.25: mean", seed, &r.portfolio, 4 * 0.75 * 1000);
    check_share("TC ~ U(0,1) > 0.25: P(zero) = exp(-3)", seed, r.portfolio.p_zero, exp(-3), n);
    check_near("TC ~ U(0,1) > 0.25: loss events", seed, r.portfolio.events_mean, 3,
               SE5 * sqrt(3.0 / n));
    mc_result_free(&r);
    /* product: each year is tef x magnitude with probability 0.75, else 0 */
    run_ok(&p, n, seed, MC_PRODUCT, 2, &r);
    check_share("product, TC ~ U(0,1) > 0.25: P(zero)", seed, r.portfolio.p_zero, 0.25, n);
    mc_result_free(&r);
    fair_free(&p);
}

static void test_secondary_and_forms(void **state)
{
    (void)state;
    const uint64_t seed = 99, n = 150000;
    struct fair_portfolio p;
    struct mc_result r;
    parse_ok(
        &p,
        "{'scenarios': [{'name': 'S', 'lef': {'dist': 'pert', 'min': 0.5, 'mode': 2, 'max': 6},"
        " 'primary_loss': {'dist': 'pert', 'min': 10000, 'mode': 50000, 'max': 200000},"
        " 'secondary_loss': {'frequency': {'dist': 'pert', 'min': 0.1, 'mode': 0.3, 'max': 0.6},"
        "   'magnitude': {'fines_and_judgements': {'dist': 'lognormal', 'p05': 10000, "
        "'p95': 1000000}, 'reputation': {'dist': 'pert', 'min': 0, 'mode': 50000, "
        "'max': 1000000}}}}]}");
    const struct fair_scenario *sc = &p.s[0];
    assert_true(sc->has_secondary);
    assert_true(sc->secondary.by_forms);
    assert_int_equal(sc->secondary.nforms, 2);
    double esec = dist_mean(&sc->secondary.forms[0]) + dist_mean(&sc->secondary.forms[1]);
    check_rel("fair_magnitude_mean sums the forms", seed, fair_magnitude_mean(&sc->secondary), esec,
              1e-15);
    double er = dist_mean(&sc->lef), eprim = dist_mean(&sc->primary.total),
           eslef = dist_mean(&sc->slef);
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    check_mean("compound: E[rate] (E[primary] + E[slef] E[secondary])", seed, &r.portfolio,
               er * (eprim + eslef * esec));
    check_summary_invariants("secondary", seed, &r.portfolio, n);
    mc_result_free(&r);
    run_ok(&p, n, seed, MC_PRODUCT, 2, &r);
    check_mean("product: E[LEF] (E[primary] + E[slef] E[secondary])", seed, &r.portfolio,
               er * (eprim + eslef * esec));
    mc_result_free(&r);
    fair_free(&p);

    /* constant loss forms add up: every loss event costs 3500 */
    parse_ok(&p, "{'scenarios': [{'name': 'F', 'lef': 2, 'primary_loss': {'productivity': 1000,"
                 " 'response': 2000, 'replacement': 500}}]}");
    assert_int_equal(p.s[0].primary.nforms, 3);
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    check_mean("forms: mean = rate x sum of forms", seed, &r.portfolio, 7000);
    check_near("forms: max = events x 3500", seed, r.portfolio.max,
               3500.0 * (double)r.portfolio.events_max, 0);
    check_share("forms: P(zero) = exp(-2)", seed, r.portfolio.p_zero, exp(-2), n);
    mc_result_free(&r);
    fair_free(&p);

    /* a secondary loss that always happens, with a constant magnitude: each event costs 1500 */
    parse_ok(&p, "{'scenarios': [{'name': 'S1', 'lef': 1.5, 'primary_loss': 1000,"
                 " 'secondary_loss': {'frequency': 1, 'magnitude': 500}}]}");
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    check_mean("secondary always: mean", seed, &r.portfolio, 1.5 * 1500);
    check_near("secondary always: max", seed, r.portfolio.max,
               1500.0 * (double)r.portfolio.events_max, 0);
    mc_result_free(&r);
    fair_free(&p);
}

static void test_product(void **state)
{
    (void)state;
    const uint64_t seed = 8675309, n = 300000;
    struct fair_portfolio p;
    struct mc_result r;
    parse_ok(&p, "{'scenarios': [{'name': 'P', 'lef': {'dist': 'pert', 'min': 0.5, 'mode': 2, "
                 "'max': 6}, 'primary_loss': {'dist': 'pert', 'min': 10000, 'mode': 50000, "
                 "'max': 200000}}]}");
    const struct fair_scenario *sc = &p.s[0];
    run_ok(&p, n, seed, MC_PRODUCT, 2, &r);
    check_mean("product: mean = E[LEF] E[LM]", seed, &r.portfolio,
               dist_mean(&sc->lef) * dist_mean(&sc->primary.total));
    /* Var(XY) = E[X^2] E[Y^2] - E[X]^2 E[Y]^2 for independent X, Y; 3% is > 5 SE here */
    double ex2 = dist_variance(&sc->lef) + pow(dist_mean(&sc->lef), 2);
    double ey2 = dist_variance(&sc->primary.total) + pow(dist_mean(&sc->primary.total), 2);
    double var = ex2 * ey2 - pow(dist_mean(&sc->lef) * dist_mean(&sc->primary.total), 2);
    check_rel("product: variance", seed, r.portfolio.sd * r.portfolio.sd, var, 0.03);
    check_near("product: P(zero) is 0 for a positive LEF", seed, r.portfolio.p_zero, 0, 0);
    check_near("product: min >= 0.5 x 10000", seed, r.portfolio.min >= 5000, 1, 0);
    check_near("product: no event counts", seed, r.portfolio.events_mean, 0, 0);
    check_summary_invariants("product", seed, &r.portfolio, n);
    check_curves("product", seed, &r);
    mc_result_free(&r);
    /* the same model in compound semantics has zero-loss years */
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    if (!(r.portfolio.p_zero > 0.05))
        fail_msg("compound (seed %llu): P(zero) %g, expected well above 0",
                 (unsigned long long)seed, r.portfolio.p_zero);
    mc_result_free(&r);
    fair_free(&p);

    /* a constant LEF times a uniform magnitude: the percentiles are LEF x the magnitude's */
    parse_ok(&p, "{'scenarios': [{'name': 'U', 'lef': 2, 'primary_loss': {'dist': 'uniform', "
                 "'min': 0, 'max': 1000}}]}");
    run_ok(&p, n, seed, MC_PRODUCT, 1, &r);
    for (int i = 0; i < MC_NPCT; i++) {
        double q = mc_percentiles[i] / 100;
        check_near("product, 2 x U(0, 1000): percentile", seed, r.portfolio.pct[i], 2000 * q,
                   2000 * SE5 * sqrt(q * (1 - q) / n) + 1e-9);
    }
    mc_result_free(&r);
    fair_free(&p);
}

/* ---- reproducibility ------------------------------------------------------------------------- */

/* Every frequency and magnitude path (lef, tef by parts with a vulnerability distribution and a
 * secondary loss, TC/RS with loss forms), with cheap distributions: this runs 15 times. */
static const char *const MIXED =
    "{'thresholds': [10000, 100000, 1000000], 'scenarios': ["
    " {'name': 'R', 'lef': {'dist': 'triangular', 'min': 0.5, 'mode': 2, 'max': 6},"
    "  'primary_loss': {'dist': 'lognormal', 'p05': 1000, 'p95': 50000}},"
    " {'name': 'D', 'tef': {'contact_frequency': {'dist': 'uniform', 'min': 2, 'max': 20},"
    "  'probability_of_action': {'dist': 'triangular', 'min': 0.05, 'mode': 0.15, 'max': 0.4}},"
    "  'vulnerability': {'dist': 'uniform', 'min': 0.05, 'max': 0.5},"
    "  'primary_loss': {'dist': 'lognormal', 'p05': 100000, 'p95': 3000000},"
    "  'secondary_loss': {'frequency': {'dist': 'uniform', 'min': 0.2, 'max': 0.8}, 'magnitude':"
    "  {'dist': 'lognormal', 'p05': 200000, 'p95': 8000000}}},"
    " {'name': 'T', 'tef': 1.5,"
    "  'vulnerability': {'threat_capability': {'dist': 'uniform', 'min': 0.3, 'max': 0.95},"
    "  'resistance_strength': {'dist': 'triangular', 'min': 0.4, 'mode': 0.7, 'max': 0.9}},"
    "  'primary_loss': {'productivity': {'dist': 'lognormal', 'p05': 50000, 'p95': 900000},"
    "  'response': {'dist': 'uniform', 'min': 20000, 'max': 300000}}}]";

static void check_threads(const char *what, const char *text, enum mc_semantics sem, uint64_t n,
                          const int *threads, size_t nthreads)
{
    const uint64_t seed = 0xDEADBEEFCAFEull;
    struct fair_portfolio p;
    parse_ok(&p, text);
    struct mc_result base;
    run_ok(&p, n, seed, sem, 1, &base);
    for (size_t t = 0; t < nthreads; t++) {
        struct mc_result r;
        run_ok(&p, n, seed, sem, threads[t], &r);
        const char *d = result_diff(&base, &r);
        if (d)
            fail_msg("%s (seed %llu, %llu iterations): %s differs between 1 and %d threads", what,
                     (unsigned long long)seed, (unsigned long long)n, d, threads[t]);
        mc_result_free(&r);
    }
    check_summary_invariants(what, seed, &base.portfolio, n);
    check_curves(what, seed, &base);
    for (size_t s = 0; s < base.n; s++)
        check_summary_invariants(what, seed, &base.scenario[s], n);
    mc_result_free(&base);
    /* another seed gives other numbers */
    struct mc_result a, b;
    run_ok(&p, 5000, seed, sem, 2, &a);
    run_ok(&p, 5000, seed + 1, sem, 2, &b);
    for (size_t s = 0; s < a.n; s++)
        if (a.scenario[s].mean == b.scenario[s].mean || a.scenario[s].sd == b.scenario[s].sd)
            fail_msg("%s: seeds %llu and %llu give scenario %zu the same mean or sd", what,
                     (unsigned long long)seed, (unsigned long long)seed + 1, s);
    mc_result_free(&a);
    mc_result_free(&b);
    fair_free(&p);
}

static void test_threads_compound(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s}", MIXED);
    static const int threads[] = {2, 3, 7};
    check_threads("compound", text, MC_COMPOUND, 200003, threads,
                  3); /* 4 blocks, the last of 3 years */
}

static void test_threads_product(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s}", MIXED);
    static const int threads[] = {3};
    check_threads("product", text, MC_PRODUCT, 2 * MC_BLOCK + 3, threads, 1);
}

static void test_threads_correlated(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s, 'correlation': [[1, 0.5, 0.2], [0.5, 1, 0.3], [0.2, 0.3, 1]]}",
             MIXED);
    static const int threads[] = {2}; /* 3 blocks: one thread takes two */
    check_threads("correlated", text, MC_COMPOUND, 2 * MC_BLOCK + 3, threads, 1);
}

/* ---- exactness against reproduced years ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The k-th percentile of a sorted array, numpy's linear interpolation, computed as the engine
 * documents it. */
static double sorted_quantile(const double *a, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t k = (size_t)h;
    if (k + 1 >= n || h == (double)k)
        return a[k];
    return a[k] + (h - (double)k) * (a[k + 1] - a[k]);
}

/* A constant rate and a constant magnitude: year i of scenario 0 draws from the stream (seed, i)
 * (mc.h), a constant consumes no draw, so year i is magnitude x the first Poisson draw of that
 * stream. Writes the years and their counts. */
static void reproduce_years(uint64_t seed, uint64_t n, double rate, double m, double *years,
                            unsigned long *counts)
{
    for (uint64_t start = 0; start < n; start += MC_BLOCK) {
        for (uint64_t i = start; i < n && i < start + MC_BLOCK; i++) {
            struct rng r;
            rng_init(&r, seed, i);
            unsigned long c = rng_poisson(&r, rate);
            double loss = 0;
            for (unsigned long e = 0; e < c; e++)
                loss += m;
            years[i] = loss;
            counts[i] = c;
        }
    }
}

#define N_EXACT 150001 /* 3 blocks, the last of 7 years */
static double exact_years[N_EXACT], exact_sorted[N_EXACT];
static unsigned long exact_counts[N_EXACT];

/* Every summary field, the curve and the histogram of a constant-rate, constant-magnitude
 * scenario against its reproduced years. */
static void check_exact_years(uint64_t seed, double rate, double m)
{
    const uint64_t n = N_EXACT;
    char text[256];
    snprintf(text, sizeof text,
             "{'scenarios': [{'name': 'E', 'lef': %.17g, 'primary_loss': %.17g}]}", rate, m);
    struct fair_portfolio p;
    parse_ok(&p, text);
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 3, &r);
    double *years = exact_years, *sorted = exact_sorted;
    unsigned long *counts = exact_counts;
    reproduce_years(seed, n, rate, m, years, counts);
    const struct mc_summary *s = &r.portfolio;

    long double sum = 0; /* more precise than the engine's doubles, so the tolerance is its */
    double ev = 0, ev2 = 0;
    uint64_t zero = 0;
    unsigned long evmax = 0;
    for (uint64_t i = 0; i < n; i++) {
        sum += years[i];
        zero += years[i] == 0;
        ev += (double)counts[i];
        ev2 += (double)counts[i] * (double)counts[i];
        if (counts[i] > evmax)
            evmax = counts[i];
    }
    double mean = (double)(sum / (long double)n), ss = 0;
    for (uint64_t i = 0; i < n; i++)
        ss += (years[i] - mean) * (years[i] - mean);
    check_rel("mean of the reproduced years", seed, s->mean, mean, 1e-13);
    check_rel("sd of the reproduced years", seed, s->sd, sqrt(ss / (double)(n - 1)), 1e-12);
    check_near("P(zero) of the reproduced years", seed, s->p_zero, (double)zero / (double)n, 0);
    check_near("events mean", seed, s->events_mean, ev / (double)n, 1e-12);
    check_near("events sd", seed, s->events_sd, sqrt((ev2 - ev * ev / (double)n) / (double)(n - 1)),
               1e-9);
    check_near("events max", seed, (double)s->events_max, (double)evmax, 0);

    memcpy(sorted, years, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    check_near("min", seed, s->min, sorted[0], 0);
    check_near("max", seed, s->max, sorted[n - 1], 0);
    for (int i = 0; i < MC_NPCT; i++) {
        char what[64];
        snprintf(what, sizeof what, "percentile %g of the reproduced years", mc_percentiles[i]);
        check_near(what, seed, s->pct[i], sorted_quantile(sorted, n, mc_percentiles[i] / 100.0), 0);
    }
    double t95 = 0, t99 = 0;
    uint64_t c95 = 0, c99 = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (sorted[i] >= s->var95) {
            t95 += sorted[i];
            c95++;
        }
        if (sorted[i] >= s->var99) {
            t99 += sorted[i];
            c99++;
        }
    }
    check_rel("TVaR95 = mean of the years at or above VaR95", seed, s->tvar95, t95 / (double)c95,
              1e-12);
    check_rel("TVaR99 = mean of the years at or above VaR99", seed, s->tvar99, t99 / (double)c99,
              1e-12);

    /* the loss exceedance curve: the exact share of the years above each point, and the Poisson
     * tail within Monte Carlo error */
    enum { KMAX = 60 };
    double pmf[KMAX + 1];
    poisson_pmf(rate, KMAX, pmf);
    for (size_t k = 0; k < r.nlec; k++) {
        uint64_t above = 0;
        for (uint64_t i = 0; i < n; i++)
            above += years[i] > r.lec_x[k];
        char what[96];
        snprintf(what, sizeof what, "lec_p[%zu] = share of years above %.17g", k, r.lec_x[k]);
        check_near(what, seed, r.lec_p[k], (double)above / (double)n, 0);
        /* N m > x  <=>  N > floor(x / m) */
        int c = (int)floor(r.lec_x[k] / m);
        double tail = 0;
        for (int j = c + 1; j <= KMAX; j++)
            tail += pmf[j];
        snprintf(what, sizeof what, "lec_p[%zu] = Poisson tail P(N > %d)", k, c);
        check_share(what, seed, r.lec_p[k], tail, n);
    }
    check_curves("exact years", seed, &r);
    /* a year is above every percentile it ... exceeds; P(L > pct_q) <= 1 - q + 1/n */
    for (int i = 0; i < MC_NPCT; i++) {
        uint64_t above = 0;
        for (uint64_t y = 0; y < n; y++)
            above += years[y] > s->pct[i];
        double q = mc_percentiles[i] / 100;
        if (!((double)above / (double)n <= 1 - q + 1.0 / (double)n))
            fail_msg("seed %llu: P(L > p%g) = %g", (unsigned long long)seed, mc_percentiles[i],
                     (double)above / (double)n);
    }

    check_near("the histogram ends at p99.9", seed, r.hist_edge[r.nhist], s->pct[MC_NPCT - 1],
               1e-15 * s->pct[MC_NPCT - 1]);
    /* the histogram: [edge k, edge k+1), the last bin holding everything above */
    uint64_t by_edges[64] = {0};
    assert_true(r.nhist <= 64);
    for (uint64_t i = 0; i < n; i++) {
        size_t k = r.nhist - 1;
        while (k > 0 && years[i] < r.hist_edge[k])
            k--;
        by_edges[k]++;
    }
    char msg[512] = "";
    for (size_t k = 0; k < r.nhist && !*msg; k++) {
        if (by_edges[k] == r.hist_count[k])
            continue;
        /* a loss that is not where the edges put it: the bin as loss / top x 40 computes it */
        double v = NAN;
        size_t vk = 0;
        for (uint64_t i = 0; i < n && isnan(v); i++) {
            size_t kk = 0;
            while (kk + 1 < r.nhist && years[i] >= r.hist_edge[kk + 1])
                kk++;
            long ke = (long)(years[i] / s->pct[MC_NPCT - 1] * (double)r.nhist);
            ke = ke < 0 ? 0 : ke >= (long)r.nhist ? (long)r.nhist - 1 : ke;
            if ((size_t)ke != kk) {
                v = years[i];
                vk = kk;
            }
        }
        snprintf(msg, sizeof msg,
                 "histogram bin %zu [%.17g, %.17g) holds %llu years, the reproduced years put "
                 "%llu there (e.g. a loss of %.17g, which the edges put in bin %zu)",
                 k, r.hist_edge[k], r.hist_edge[k + 1], (unsigned long long)r.hist_count[k],
                 (unsigned long long)by_edges[k], v, vk);
    }
    mc_result_free(&r);
    fair_free(&p);
    if (*msg)
        fail_msg("rate %g, magnitude %.17g (seed %llu): %s", rate, m, (unsigned long long)seed,
                 msg);
}

static void test_exact_years(void **state)
{
    (void)state;
    check_exact_years(5150, 3, 1000);
}

/* Magnitudes whose multiples are not exact in binary: the histogram's bins must still be the
 * intervals it reports. With rate 1, p99.9 is 5 events, so the top edge is 5 x magnitude, and
 * years of 1, 2 or 4 events (389.017) or 1 to 4 events (0.3) sit within rounding of an edge. */
static void test_exact_years_inexact(void **state)
{
    (void)state;
    check_exact_years(5151, 1, 389.017);
    check_exact_years(5152, 1, 0.3);
    check_exact_years(5153, 10, 123.456);
}

/* docs/scenarios.md: "50 log-spaced losses from the smallest positive loss to the largest". */
static void test_lec_endpoints(void **state)
{
    (void)state;
    const uint64_t seed = 5150, n = 150001;
    struct fair_portfolio p;
    parse_ok(&p, "{'scenarios': [{'name': 'E', 'lef': 3, 'primary_loss': 389.017}]}");
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    double *years = xmalloc(n * sizeof *years);
    unsigned long *counts = xmalloc(n * sizeof *counts);
    reproduce_years(seed, n, 3, 389.017, years, counts);
    double minpos = INFINITY;
    for (uint64_t i = 0; i < n; i++)
        if (years[i] > 0 && years[i] < minpos)
            minpos = years[i];
    char msg[512] = "";
    if (r.lec_x[0] != minpos)
        snprintf(msg, sizeof msg, "lec_x[0] is %.17g, the smallest positive loss %.17g", r.lec_x[0],
                 minpos);
    else if (r.lec_x[r.nlec - 1] != r.portfolio.max)
        snprintf(msg, sizeof msg, "lec_x[%zu] is %.17g, the largest loss %.17g", r.nlec - 1,
                 r.lec_x[r.nlec - 1], r.portfolio.max);
    else if (r.lec_p[r.nlec - 1] != 0)
        snprintf(msg, sizeof msg, "lec_p[%zu] is %.17g: years above the largest loss", r.nlec - 1,
                 r.lec_p[r.nlec - 1]);
    free(counts);
    free(years);
    mc_result_free(&r);
    fair_free(&p);
    if (*msg)
        fail_msg("loss exceedance curve (seed %llu): %s", (unsigned long long)seed, msg);
}

/* P(loss > t) for thresholds taken on the curve: the same share as the curve, non-increasing. */
static void test_thresholds(void **state)
{
    (void)state;
    const uint64_t seed = 2718, n = 100000;
    json_t *doc = jdoc("{'scenarios': [{'name': 'R', 'lef': {'dist': 'pert', 'min': 0.5, 'mode': 2,"
                       " 'max': 6}, 'primary_loss': {'dist': 'lognormal', 'p05': 1000, "
                       "'p95': 50000}}, {'name': 'C', 'lef': 0.5, 'primary_loss': 20000}]}");
    struct fair_portfolio p;
    parse_doc(&p, doc);
    struct mc_result first;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &first);
    fair_free(&p);
    /* thresholds: every fifth curve point, 0, and the percentiles */
    json_t *th = json_array();
    json_array_append_new(th, json_real(0));
    for (size_t k = 0; k < first.nlec; k += 5)
        json_array_append_new(th, json_real(first.lec_x[k]));
    for (int i = 0; i < MC_NPCT; i++)
        json_array_append_new(th, json_real(first.portfolio.pct[i]));
    json_object_set_new(doc, "thresholds", th);
    parse_doc(&p, doc);
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    assert_int_equal(r.nthresholds, p.nthresholds);
    const char *d = summary_diff(&first.portfolio, &r.portfolio, 0);
    if (d || memcmp(first.lec_p, r.lec_p, r.nlec * sizeof *r.lec_p))
        fail_msg("seed %llu: thresholds changed the results (%s)", (unsigned long long)seed,
                 d ? d : "lec_p");
    const double *pe = r.portfolio.p_exceed;
    check_near("P(loss > 0) = 1 - P(zero)", seed, pe[0], 1 - r.portfolio.p_zero, 1e-15);
    size_t t = 1;
    for (size_t k = 0; k < first.nlec; k += 5, t++) {
        check_near("P(loss > lec_x[k]) = lec_p[k]", seed, pe[t], r.lec_p[k], 0);
        if (!(pe[t] <= pe[t - 1]))
            fail_msg("seed %llu: P(loss > t) increases with t at threshold %zu",
                     (unsigned long long)seed, t);
    }
    for (int i = 0; i < MC_NPCT; i++, t++) {
        double q = mc_percentiles[i] / 100;
        if (!(pe[t] <= 1 - q + 1.0 / n))
            fail_msg("seed %llu: P(loss > p%g) = %g exceeds %g", (unsigned long long)seed,
                     mc_percentiles[i], pe[t], 1 - q + 1.0 / n);
        if (i && !(pe[t] <= pe[t - 1]))
            fail_msg("seed %llu: P(loss > p%g) above P(loss > p%g)", (unsigned long long)seed,
                     mc_percentiles[i], mc_percentiles[i - 1]);
    }
    /* a scenario's shares are its own: the constant scenario C exceeds 0 in 1 - exp(-0.5) of years
     */
    check_share("scenario C: P(loss > 0)", seed, r.scenario[1].p_exceed[0], 1 - exp(-0.5), n);
    check_near("scenario C: P(loss > 0) = 1 - its P(zero)", seed, r.scenario[1].p_exceed[0],
               1 - r.scenario[1].p_zero, 1e-15);
    mc_result_free(&r);
    mc_result_free(&first);
    fair_free(&p);
    json_decref(doc);
}

/* ---- portfolios ------------------------------------------------------------------------------ */

static const char *const SCEN_A =
    "{'name': 'A', 'lef': {'dist': 'pert', 'min': 0.5, 'mode': 2, 'max': 6},"
    " 'primary_loss': {'dist': 'lognormal', 'p05': 1000, 'p95': 50000}}";
static const char *const SCEN_B =
    "{'name': 'B', 'tef': {'dist': 'uniform', 'min': 1, 'max': 9}, 'vulnerability': "
    "{'dist': 'beta', 'alpha': 2, 'beta': 5}, 'primary_loss': {'dist': 'pert', 'min': 5000, "
    "'mode': 20000, 'max': 150000}, 'secondary_loss': {'frequency': 0.2, 'magnitude': "
    "{'dist': 'lognormal', 'p05': 10000, 'p95': 500000}}}";
static const char *const SCEN_Z = "{'name': 'Z', 'lef': 1, 'primary_loss': 7}";

static void test_portfolio(void **state)
{
    (void)state;
    const uint64_t seed = 1234567, n = 100000;
    char text[2048];
    struct fair_portfolio p, pa, pb;
    snprintf(text, sizeof text, "{'thresholds': [50000, 200000], 'scenarios': [%s, %s]}", SCEN_A,
             SCEN_B);
    parse_ok(&p, text);
    snprintf(text, sizeof text, "{'thresholds': [50000, 200000], 'scenarios': [%s]}", SCEN_A);
    parse_ok(&pa, text);
    /* B at the same index (1), behind another scenario */
    snprintf(text, sizeof text, "{'thresholds': [50000, 200000], 'scenarios': [%s, %s]}", SCEN_Z,
             SCEN_B);
    parse_ok(&pb, text);
    struct mc_result r, ra, rb;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    run_ok(&pa, n, seed, MC_COMPOUND, 3, &ra);
    run_ok(&pb, n, seed, MC_COMPOUND, 1, &rb);

    const struct mc_summary *P = &r.portfolio;
    double msum = r.scenario[0].mean + r.scenario[1].mean;
    check_rel("portfolio mean = sum of the scenario means", seed, P->mean, msum, 1e-12);
    check_near("contribution to the mean of A = its mean", seed, r.contrib_mean[0],
               r.scenario[0].mean, 0);
    check_near("contribution to the mean of B = its mean", seed, r.contrib_mean[1],
               r.scenario[1].mean, 0);
    check_rel("contributions to TVaR99 add up to TVaR99", seed,
              r.contrib_tvar99[0] + r.contrib_tvar99[1], P->tvar99, 1e-9);
    for (size_t s = 0; s < 2; s++)
        if (!(r.contrib_tvar99[s] >= 0 && r.contrib_tvar99[s] <= P->tvar99))
            fail_msg("seed %llu: contribution %zu to TVaR99 %.17g outside [0, %.17g]",
                     (unsigned long long)seed, s, r.contrib_tvar99[s], P->tvar99);
    /* the events of the portfolio are the sum of the scenarios' */
    check_rel("events mean adds up", seed, P->events_mean,
              r.scenario[0].events_mean + r.scenario[1].events_mean, 1e-12);
    check_summary_invariants("portfolio", seed, P, n);
    check_curves("portfolio", seed, &r);
    for (size_t s = 0; s < 2; s++)
        check_summary_invariants("scenario", seed, &r.scenario[s], n);
    if (!(P->max <= r.scenario[0].max + r.scenario[1].max &&
          P->max >= fmax(r.scenario[0].max, r.scenario[1].max)))
        fail_msg("seed %llu: portfolio max %.17g against the scenarios' %.17g and %.17g",
                 (unsigned long long)seed, P->max, r.scenario[0].max, r.scenario[1].max);

    /* streams are per (scenario index, block): a scenario's results do not depend on the others */
    const char *d = summary_diff(&r.scenario[0], &ra.scenario[0], 2);
    if (d)
        fail_msg("seed %llu: scenario A's %s differs between the portfolio and A alone",
                 (unsigned long long)seed, d);
    d = summary_diff(&r.scenario[0], &ra.portfolio, 2);
    if (d)
        fail_msg("seed %llu: scenario A's %s differs from the portfolio of A alone",
                 (unsigned long long)seed, d);
    d = summary_diff(&r.scenario[1], &rb.scenario[1], 2);
    if (d)
        fail_msg("seed %llu: scenario B's %s differs between [A, B] and [Z, B]",
                 (unsigned long long)seed, d);
    mc_result_free(&r);
    mc_result_free(&ra);
    mc_result_free(&rb);
    fair_free(&p);
    fair_free(&pa);
    fair_free(&pb);
}

/* The sample correlation of two scenarios' annual losses, from the variances: S2(X + Y) =
 * S2(X) + S2(Y) + 2 cov exactly. */
static double implied_correlation(const struct mc_result *r)
{
    double vp = r->portfolio.sd * r->portfolio.sd, v0 = r->scenario[0].sd * r->scenario[0].sd,
           v1 = r->scenario[1].sd * r->scenario[1].sd;
    return (vp - v0 - v1) / (2 * sqrt(v0 * v1));
}

static void test_independent_streams(void **state)
{
    (void)state;
    const uint64_t seed = 1001, n = 200000;
    char text[2048];
    snprintf(text, sizeof text, "{'scenarios': [%s, %s]}", SCEN_A, SCEN_A);
    /* the same scenario twice: names must be unique */
    char *second = strstr(strstr(text, "'A'") + 3, "'A'");
    second[1] = 'X';
    struct fair_portfolio p;
    parse_ok(&p, text);
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    if (r.scenario[0].mean == r.scenario[1].mean || r.scenario[0].pct[8] == r.scenario[1].pct[8])
        fail_msg("seed %llu: two identical scenarios give identical results: their streams are not "
                 "independent",
                 (unsigned long long)seed);
    check_near("two identical scenarios: their means agree", seed, r.scenario[0].mean,
               r.scenario[1].mean, SE5 * hypot(r.scenario[0].sem, r.scenario[1].sem));
    check_near("two identical independent scenarios: correlation", seed, implied_correlation(&r), 0,
               SE5 / sqrt((double)n));
    mc_result_free(&r);
    fair_free(&p);
}

/* The loss count of a year with a rate uniform on [0, 20]: P(N <= k) = (1/20) sum_{j <= k}
 * P(Poisson(20) > j), from the integral of the Poisson pmf over the rate. */
static double mixed_cdf(int k)
{
    enum { KMAX = 200 };
    double pmf[KMAX + 1];
    poisson_pmf(20, KMAX, pmf);
    if (k < 0)
        return 0;
    double cdf = 0, sum = 0;
    for (int j = 0; j <= k && j < KMAX; j++) {
        cdf += pmf[j];
        sum += 1 - cdf;
    }
    return sum / 20;
}

/* A percentile v (of losses 1000 x N) of n years against the exact distribution of N. */
static void check_percentiles_exact(const char *what, uint64_t seed, const struct mc_summary *s,
                                    uint64_t n)
{
    for (int i = 0; i < MC_NPCT; i++) {
        double q = mc_percentiles[i] / 100, c = s->pct[i] / 1000,
               tol = SE5 * sqrt(q * (1 - q) / (double)n) + 3.0 / (double)n;
        double above = mixed_cdf((int)ceil(c)), below = mixed_cdf((int)floor(c) - 1);
        if (!(above >= q - tol && below <= q + tol))
            fail_msg("%s (seed %llu): percentile %g is %.17g, but P(N <= %d) = %g and "
                     "P(N <= %d) = %g (tolerance %g)",
                     what, (unsigned long long)seed, mc_percentiles[i], s->pct[i], (int)ceil(c),
                     above, (int)floor(c) - 1, below, tol);
    }
}

static void test_correlation(void **state)
{
    (void)state;
    const uint64_t seed = 424242, n = 100000;
    static const char *const scen =
        "'thresholds': [5000, 10000, 20000], 'scenarios': ["
        "{'name': 'U1', 'lef': {'dist': 'uniform', 'min': 0, 'max': 20}, 'primary_loss': 1000},"
        "{'name': 'U2', 'lef': {'dist': 'uniform', 'min': 0, 'max': 20}, 'primary_loss': 1000}]";
    static const double rho[3] = {0, 0.9, -0.9};
    struct mc_result r[3];
    for (int c = 0; c < 3; c++) {
        char text[1024];
        if (c == 0)
            snprintf(text, sizeof text, "{%s}", scen);
        else
            snprintf(text, sizeof text, "{%s, 'correlation': [[1, %g], [%g, 1]]}", scen, rho[c],
                     rho[c]);
        struct fair_portfolio p;
        parse_ok(&p, text);
        assert_true(c == 0 ? p.correlation == NULL : p.correlation != NULL);
        run_ok(&p, n, seed, MC_COMPOUND, 2, &r[c]);
        fair_free(&p);
    }
    /* Var(L) = E[rate] + Var(rate) in events; Cov = Cov(rates), and for uniform marginals of a
     * Gaussian copula Pearson = Spearman = (6/pi) asin(rho/2) */
    double vr = 400.0 / 12, vl = 10 + vr;
    for (int c = 0; c < 3; c++) {
        double want = 6 / M_PI * asin(rho[c] / 2) * vr / vl;
        char what[80];
        snprintf(what, sizeof what, "correlation of the annual losses at rho %g", rho[c]);
        /* 5 standard errors of a sample correlation, and 0.01 for Iman-Conover's blocks */
        check_near(what, seed, implied_correlation(&r[c]), want,
                   SE5 * (1 - want * want) / sqrt((double)n) + 0.01);
    }
    double v0 = r[0].portfolio.sd * r[0].portfolio.sd;
    if (!(r[1].portfolio.sd * r[1].portfolio.sd > 1.4 * v0))
        fail_msg("seed %llu: correlation 0.9 gives portfolio variance %g, independent %g",
                 (unsigned long long)seed, r[1].portfolio.sd * r[1].portfolio.sd, v0);
    if (!(r[2].portfolio.sd * r[2].portfolio.sd < 0.6 * v0))
        fail_msg("seed %llu: correlation -0.9 gives portfolio variance %g, independent %g",
                 (unsigned long long)seed, r[2].portfolio.sd * r[2].portfolio.sd, v0);
    if (!(r[1].portfolio.pct[8] > r[0].portfolio.pct[8] &&
          r[2].portfolio.pct[8] < r[0].portfolio.pct[8]))
        fail_msg("seed %llu: p99 %g (0.9), %g (independent), %g (-0.9)", (unsigned long long)seed,
                 r[1].portfolio.pct[8], r[0].portfolio.pct[8], r[2].portfolio.pct[8]);
    /* the marginals are kept: each scenario against the exact distribution and the independent run
     */
    for (int c = 0; c < 3; c++) {
        check_rel("portfolio mean = sum of scenario means", seed, r[c].portfolio.mean,
                  r[c].scenario[0].mean + r[c].scenario[1].mean, 1e-12);
        check_rel("contributions add up to TVaR99", seed,
                  r[c].contrib_tvar99[0] + r[c].contrib_tvar99[1], r[c].portfolio.tvar99, 1e-9);
        for (int s = 0; s < 2; s++) {
            const struct mc_summary *m = &r[c].scenario[s], *ind = &r[0].scenario[s];
            check_mean("scenario mean = 10 x 1000", seed, m, 10000);
            check_near("scenario mean against the independent run", seed, m->mean, ind->mean,
                       SE5 * hypot(m->sem, ind->sem));
            check_near("scenario events against the independent run", seed, m->events_mean,
                       ind->events_mean, SE5 * sqrt(2 * vl / n));
            check_share("scenario P(zero) = (1 - exp(-20)) / 20", seed, m->p_zero,
                        (1 - exp(-20)) / 20, n);
            check_percentiles_exact(c == 0 ? "independent" : "correlated", seed, m, n);
            for (int t = 0; t < 3; t++) {
                double pt = ind->p_exceed[t];
                check_near("scenario P(loss > t) against the independent run", seed, m->p_exceed[t],
                           pt, SE5 * sqrt(2 * pt * (1 - pt) / n) + 3.0 / n);
            }
        }
    }
    for (int c = 0; c < 3; c++)
        mc_result_free(&r[c]);
}

static void test_correlation_refused(void **state)
{
    (void)state;
    struct fair_portfolio p;
    struct mc_result r;
    char err[512] = "";
    struct mc_opts o = {.iterations = 1000, .seed = 1, .threads = 2};
    parse_ok(&p,
             "{'correlation': [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]], 'scenarios': ["
             "{'name': 'a', 'lef': {'dist': 'uniform', 'min': 0, 'max': 2}, 'primary_loss': 1},"
             "{'name': 'b', 'lef': {'dist': 'uniform', 'min': 0, 'max': 2}, 'primary_loss': 1},"
             "{'name': 'c', 'lef': {'dist': 'uniform', 'min': 0, 'max': 2}, 'primary_loss': 1}]}");
    assert_int_equal(mc_run(&p, &o, &r, err, sizeof err), AEG_EINVAL);
    if (!strstr(err, "positive semi-definite"))
        fail_msg("non-PSD correlation: message \"%s\" does not say positive semi-definite", err);
    mc_result_free(&r); /* initialised even on failure */
    fair_free(&p);
    /* semi-definite (perfect correlation) is allowed, and then both scenarios get the same rate in
     * every year: the implied correlation of their rates is 1 */
    parse_ok(
        &p,
        "{'correlation': [[1, 1], [1, 1]], 'scenarios': ["
        "{'name': 'a', 'lef': {'dist': 'uniform', 'min': 0, 'max': 20}, 'primary_loss': 1000},"
        "{'name': 'b', 'lef': {'dist': 'uniform', 'min': 0, 'max': 20}, 'primary_loss': 1000}]}");
    err[0] = '\0';
    o.iterations = 50000;
    if (mc_run(&p, &o, &r, err, sizeof err))
        fail_msg("a semi-definite correlation was refused: %s", err);
    double want = (400.0 / 12) / (10 + 400.0 / 12);
    check_near("perfect correlation of the rates", 1, implied_correlation(&r), want,
               SE5 / sqrt(50000.0) + 0.01);
    mc_result_free(&r);
    fair_free(&p);
}

/* ---- building blocks ------------------------------------------------------------------------- */

static void test_select_quantile(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 10, 31, 100, 1000, 10007};
    const uint64_t seed = 606;
    struct rng g;
    rng_init(&g, seed, 1);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        double *a = xmalloc(n * sizeof *a), *sorted = xmalloc(n * sizeof *sorted),
               *w = xmalloc(n * sizeof *w);
        for (int shape = 0; shape < 6; shape++) {
            for (size_t i = 0; i < n; i++) {
                double u = rng_uniform(&g);
                switch (shape) {
                case 0: /* distinct */
                    a[i] = u * 1e6;
                    break;
                case 1: /* many duplicates */
                    a[i] = floor(u * 4);
                    break;
                case 2: /* all equal */
                    a[i] = 42;
                    break;
                case 3: /* sorted */
                    a[i] = (double)i;
                    break;
                case 4: /* reversed */
                    a[i] = (double)(n - i);
                    break;
                default: /* zeros and a tail */
                    a[i] = u < 0.7 ? 0 : exp(10 * u);
                    break;
                }
            }
            memcpy(sorted, a, n * sizeof *a);
            qsort(sorted, n, sizeof *sorted, cmp_double);
            size_t step = n > 100 ? n / 37 + 1 : 1;
            for (size_t k = 0;; k = k + step < n - 1 ? k + step : n - 1) {
                memcpy(w, a, n * sizeof *a);
                double v = mc_select(w, n, k);
                if (v != sorted[k])
                    fail_msg("mc_select (seed %llu, n %zu, shape %d, k %zu): %.17g, sorted %.17g",
                             (unsigned long long)seed, n, shape, k, v, sorted[k]);
                for (size_t i = 0; i < n; i++)
                    if ((i < k && w[i] > v) || (i > k && w[i] < v) || (i == k && w[i] != v))
                        fail_msg("mc_select (seed %llu, n %zu, shape %d, k %zu): not partitioned "
                                 "at %zu",
                                 (unsigned long long)seed, n, shape, k, i);
                qsort(w, n, sizeof *w, cmp_double);
                if (memcmp(w, sorted, n * sizeof *w))
                    fail_msg("mc_select (seed %llu, n %zu, shape %d): not a permutation",
                             (unsigned long long)seed, n, shape);
                if (k == n - 1)
                    break;
            }
            static const double qs[] = {0,    0.01, 0.05, 0.1,  0.25,  1.0 / 3, 0.5,
                                        0.75, 0.9,  0.95, 0.99, 0.995, 0.999,   1};
            for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
                memcpy(w, a, n * sizeof *a);
                double v = mc_quantile(w, n, qs[qi]), want = sorted_quantile(sorted, n, qs[qi]);
                if (v != want)
                    fail_msg("mc_quantile (seed %llu, n %zu, shape %d, q %g): %.17g, sorted %.17g",
                             (unsigned long long)seed, n, shape, qs[qi], v, want);
            }
        }
        free(w);
        free(sorted);
        free(a);
    }
    /* numpy.percentile's default (linear): known values */
    double x[] = {10, 1, 4, 2, 3};
    static const struct {
        double q, want;
    } np[] = {{0, 1}, {0.25, 2}, {0.5, 3}, {0.9, 7.6}, {0.95, 8.8}, {1, 10}, {0.1, 1.4}};
    for (size_t i = 0; i < sizeof np / sizeof np[0]; i++) {
        double w[5];
        memcpy(w, x, sizeof w);
        check_near("mc_quantile of {10, 1, 4, 2, 3} like numpy", 0, mc_quantile(w, 5, np[i].q),
                   np[i].want, 1e-12);
    }
    double y[] = {4, 1, 3, 2}; /* numpy.percentile([1, 2, 3, 4], [25, 50, 99]) = 1.75, 2.5, 3.97 */
    double w[4];
    memcpy(w, y, sizeof w);
    check_near("mc_quantile of {1..4} at 0.25", 0, mc_quantile(w, 4, 0.25), 1.75, 1e-12);
    memcpy(w, y, sizeof w);
    check_near("mc_quantile of {1..4} at 0.5", 0, mc_quantile(w, 4, 0.5), 2.5, 1e-12);
    memcpy(w, y, sizeof w);
    check_near("mc_quantile of {1..4} at 0.99", 0, mc_quantile(w, 4, 0.99), 3.97, 1e-12);
    double one = 5;
    check_near("mc_quantile of one value", 0, mc_quantile(&one, 1, 0.7), 5, 0);
    double two[] = {3, 1};
    check_near("mc_quantile of two values", 0, mc_quantile(two, 2, 0.5), 2, 0);
}

/* ---- the result as JSON ---------------------------------------------------------------------- */

static const json_t *jget(const json_t *j, ...)
{
    va_list ap;
    va_start(ap, j);
    const char *k;
    while (j && (k = va_arg(ap, const char *)))
        j = json_object_get(j, k);
    va_end(ap);
    return j;
}

static double jnum(const json_t *j, const char *what)
{
    if (!json_is_number(j))
        fail_msg("result JSON: %s is missing or not a number", what);
    return json_number_value(j);
}

static void test_result_json(void **state)
{
    (void)state;
    const uint64_t seed = UINT64_MAX, n = 20000;
    char text[2048];
    snprintf(text, sizeof text,
             "{'name': 'Acme', 'thresholds': [50000, 200000], 'scenarios': "
             "[%s, %s]}",
             SCEN_A, SCEN_B);
    struct fair_portfolio p;
    parse_ok(&p, text);
    struct mc_result r;
    run_ok(&p, n, seed, MC_COMPOUND, 2, &r);
    json_t *j = mc_result_json(&r, &p);
    assert_non_null(j);
    assert_string_equal(json_string_value(jget(j, "seed", NULL)), "18446744073709551615");
    assert_string_equal(json_string_value(jget(j, "engine", NULL)), MC_ENGINE_VERSION);
    assert_string_equal(json_string_value(jget(j, "portfolio", NULL)), "Acme");
    assert_string_equal(json_string_value(jget(j, "semantics", NULL)), "compound");
    assert_int_equal(json_integer_value(jget(j, "iterations", NULL)), n);
    const json_t *sum = jget(j, "summary", NULL);
    assert_true(json_is_object(sum));
    assert_true(jnum(jget(sum, "percentiles", "p99", NULL), "summary.percentiles.p99") ==
                r.portfolio.pct[8]);
    static const char *const pk[MC_NPCT] = {"p1",  "p5",  "p10", "p25",   "p50",  "p75",
                                            "p90", "p95", "p99", "p99.5", "p99.9"};
    for (int i = 0; i < MC_NPCT; i++)
        assert_true(jnum(jget(sum, "percentiles", pk[i], NULL), pk[i]) == r.portfolio.pct[i]);
    assert_true(jnum(jget(sum, "var", "95", NULL), "var.95") == r.portfolio.var95);
    assert_true(jnum(jget(sum, "var", "99", NULL), "var.99") == r.portfolio.var99);
    assert_true(jnum(jget(sum, "tvar", "95", NULL), "tvar.95") == r.portfolio.tvar95);
    assert_true(jnum(jget(sum, "tvar", "99", NULL), "tvar.99") == r.portfolio.tvar99);
    assert_true(jnum(jget(sum, "p_zero_loss", NULL), "p_zero_loss") == r.portfolio.p_zero);
    assert_true(jnum(jget(sum, "mean", NULL), "mean") == r.portfolio.mean);
    assert_true(jnum(jget(sum, "sd", NULL), "sd") == r.portfolio.sd);
    assert_true(jnum(jget(sum, "sem", NULL), "sem") == r.portfolio.sem);
    assert_true(jnum(jget(sum, "min", NULL), "min") == r.portfolio.min);
    assert_true(jnum(jget(sum, "max", NULL), "max") == r.portfolio.max);
    assert_true(jnum(jget(sum, "events", "mean", NULL), "events.mean") == r.portfolio.events_mean);
    const json_t *pe = jget(sum, "p_exceed", NULL);
    assert_int_equal(json_array_size(pe), 2);
    assert_true(jnum(jget(json_array_get(pe, 1), "threshold", NULL), "threshold") == 200000);
    assert_true(jnum(jget(json_array_get(pe, 1), "probability", NULL), "probability") ==
                r.portfolio.p_exceed[1]);
    const json_t *lec = jget(j, "loss_exceedance", NULL);
    assert_int_equal(json_array_size(lec), r.nlec);
    for (size_t k = 0; k < r.nlec; k++) {
        assert_true(jnum(jget(json_array_get(lec, k), "loss", NULL), "loss") == r.lec_x[k]);
        assert_true(jnum(jget(json_array_get(lec, k), "p_exceed", NULL), "p_exceed") == r.lec_p[k]);
    }
    const json_t *hist = jget(j, "histogram", NULL);
    assert_int_equal(json_array_size(hist), r.nhist);
    json_int_t years = 0;
    for (size_t k = 0; k < r.nhist; k++) {
        const json_t *b = json_array_get(hist, k);
        assert_true(jnum(jget(b, "from", NULL), "from") == r.hist_edge[k]);
        assert_true(jnum(jget(b, "to", NULL), "to") == r.hist_edge[k + 1]);
        years += json_integer_value(jget(b, "years", NULL));
    }
    assert_int_equal(years, n);
    const json_t *sc = jget(j, "scenarios", NULL);
    assert_int_equal(json_array_size(sc), 2);
    double share = 0;
    for (size_t s = 0; s < 2; s++) {
        const json_t *o = json_array_get(sc, s);
        assert_string_equal(json_string_value(jget(o, "name", NULL)), p.s[s].name);
        assert_true(jnum(jget(o, "mean", NULL), "scenario mean") == r.scenario[s].mean);
        assert_true(jnum(jget(o, "percentiles", "p99", NULL), "scenario p99") ==
                    r.scenario[s].pct[8]);
        assert_true(jnum(jget(o, "contribution", "mean", NULL), "contribution.mean") ==
                    r.contrib_mean[s]);
        assert_true(jnum(jget(o, "contribution", "tvar99", NULL), "contribution.tvar99") ==
                    r.contrib_tvar99[s]);
        share += jnum(jget(o, "contribution", "tvar99_share", NULL), "contribution.tvar99_share");
        jnum(jget(o, "contribution", "mean_share", NULL), "contribution.mean_share");
    }
    check_near("TVaR99 shares add up to 1", seed, share, 1, 1e-9);
    /* what goes to the API and the CLI: dumps and loads back */
    char *dump = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    assert_non_null(dump);
    json_t *back = json_loads(dump, 0, NULL);
    assert_non_null(back);
    assert_true(jnum(jget(back, "summary", "tvar", "99", NULL), "tvar.99") == r.portfolio.tvar99);
    json_decref(back);
    free(dump);
    json_decref(j);
    mc_result_free(&r);
    /* product semantics: no event counts */
    run_ok(&p, n, seed, MC_PRODUCT, 2, &r);
    j = mc_result_json(&r, &p);
    assert_non_null(j);
    assert_string_equal(json_string_value(jget(j, "semantics", NULL)), "product");
    assert_null(jget(j, "summary", "events", NULL));
    json_decref(j);
    mc_result_free(&r);
    fair_free(&p);
}

/* Losses too large for a double must not make the result's JSON vanish (json_real refuses inf and
 * NaN, so mc_result_json returns NULL: the CLI then prints "(null)" and the API stores no result
 * for a run marked done). Either mc_run refuses the run (AEG_EINVAL) or its JSON exists. Cases: a
 * year's loss overflows (1e308 a loss, 5 a year); 0 x inf = NaN (product semantics, a zero
 * frequency and a lognormal of sigma 1000); every year finite (1.5e308) but their sum, the mean,
 * overflows. */
static void test_result_json_nonfinite(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        enum mc_semantics sem;
    } cases[] = {
        {"{'scenarios': [{'name': 'huge', 'lef': 5, 'primary_loss': 1e308}]}", MC_COMPOUND},
        {"{'scenarios': [{'name': 'nan', 'lef': 0, 'primary_loss': {'dist': 'lognormal', 'mu': 0,"
         " 'sigma': 1000}}]}",
         MC_PRODUCT},
        {"{'scenarios': [{'name': 'sum', 'lef': 1, 'primary_loss': 1.5e308}]}", MC_PRODUCT},
    };
    char msg[1024] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fair_portfolio p;
        parse_ok(&p, cases[i].doc);
        struct mc_opts o = {.iterations = 1000, .seed = 3, .semantics = cases[i].sem, .threads = 1};
        struct mc_result r;
        char err[256] = "";
        int rc = mc_run(&p, &o, &r, err, sizeof err);
        size_t len = strlen(msg);
        if (rc == AEG_OK) {
            json_t *j = mc_result_json(&r, &p);
            if (!j)
                snprintf(msg + len, sizeof msg - len,
                         "\n  %s: mc_result_json returned NULL for a run mc_run accepted (mean %g, "
                         "sd %g)",
                         p.s[0].name, r.portfolio.mean, r.portfolio.sd);
            json_decref(j);
        } else if (rc != AEG_EINVAL) {
            snprintf(msg + len, sizeof msg - len, "\n  %s: mc_run gave %d", p.s[0].name, rc);
        }
        mc_result_free(&r);
        fair_free(&p);
    }
    if (*msg)
        fail_msg("seed 3:%s", msg);
}

/* ---- options and progress -------------------------------------------------------------------- */

static void test_bad_options(void **state)
{
    (void)state;
    struct fair_portfolio p;
    parse_ok(&p, "{'scenarios': [{'name': 'C', 'lef': 1, 'primary_loss': 10}]}");
    static const struct {
        uint64_t iterations;
        int threads;
    } bad[] = {{0, 1}, {1000, 0}, {1000, -1}, {0, 0}, {((uint64_t)1 << 36) + 1, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mc_opts o = {.iterations = bad[i].iterations, .seed = 1, .threads = bad[i].threads};
        struct mc_result r;
        char err[256] = "";
        int rc = mc_run(&p, &o, &r, err, sizeof err);
        if (rc != AEG_EINVAL)
            fail_msg("mc_run(iterations %llu, threads %d) gave %d, not AEG_EINVAL",
                     (unsigned long long)bad[i].iterations, bad[i].threads, rc);
        if (!*err)
            fail_msg("mc_run(iterations %llu, threads %d): no message",
                     (unsigned long long)bad[i].iterations, bad[i].threads);
        assert_null(r.scenario);
        mc_result_free(&r);
    }
    /* a portfolio without scenarios (fair_parse never makes one) */
    {
        struct fair_portfolio empty;
        memset(&empty, 0, sizeof empty);
        struct mc_opts o = {.iterations = 10, .seed = 1, .threads = 1};
        struct mc_result r;
        char err[256] = "";
        assert_int_equal(mc_run(&empty, &o, &r, err, sizeof err), AEG_EINVAL);
        mc_result_free(&r);
    }
    /* one iteration is fine; more threads than blocks too */
    struct mc_result r;
    run_ok(&p, 1, 9, MC_COMPOUND, 16, &r);
    assert_int_equal(r.iterations, 1);
    assert_true(r.threads >= 1 && r.threads <= 16);
    check_summary_invariants("one year", 9, &r.portfolio, 1);
    assert_true(r.portfolio.sd == 0 && r.portfolio.min == r.portfolio.max);
    uint64_t sum = 0;
    for (size_t k = 0; k < r.nhist; k++)
        sum += r.hist_count[k];
    assert_int_equal(sum, 1);
    mc_result_free(&r);
    fair_free(&p);
}

/* A seam for the progress test: while create_delay_ms is set, pthread_create (the engine's, linked
 * into this executable) returns only after that pause, as when the scheduler runs the new worker
 * before the thread that created it. The real pthread_create (or the sanitizer's) is the next one.
 */
static atomic_int create_delay_ms;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
    int rc = real(t, attr, fn, arg);
    int ms = atomic_load(&create_delay_ms);
    if (ms > 0) {
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    return rc;
}

/* mc_run runs on a thread of its own so that a hang is reported as a failure, not a timeout. The
 * state is static: a hung run keeps using it after the test has failed. */
struct progress_job {
    struct fair_portfolio p;
    struct mc_opts o;
    struct mc_result r;
    pthread_t caller;
    uint64_t last_done, last_total, calls;
    int bad, rc;
    atomic_int finished;
};

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
    struct progress_job *j = arg;
    if (!pthread_equal(pthread_self(), j->caller) || done > total || done < j->last_done ||
        (j->last_total && total != j->last_total))
        j->bad = 1;
    j->last_done = done;
    j->last_total = total;
    j->calls++;
}

static void *progress_thread(void *arg)
{
    struct progress_job *j = arg;
    char err[256];
    j->caller = pthread_self();
    j->rc = mc_run(&j->p, &j->o, &j->r, err, sizeof err);
    atomic_store(&j->finished, 1);
    return NULL;
}

static void test_progress(void **state)
{
    (void)state;
    static struct progress_job jobs[6];
    static const struct {
        uint64_t iterations;
        int scenarios, threads, delay_ms;
    } runs[] = {
        {2 * MC_BLOCK + 7, 2, 2, 0}, /* two passes, several blocks and threads */
        {1000, 1, 1, 0},
        /* the workers finish a small block before mc_run is back from creating them */
        {100, 1, 1, 50},
        {100, 2, 1, 50},
        {MC_BLOCK + 1, 1, 2, 50},
        {100, 1, 3, 50},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        struct progress_job *j = &jobs[i];
        parse_ok(&j->p, runs[i].scenarios == 1
                            ? "{'scenarios': [{'name': 'a', 'lef': 3, 'primary_loss': 10}]}"
                            : "{'scenarios': [{'name': 'a', 'lef': 3, 'primary_loss': 10},"
                              " {'name': 'b', 'lef': 1, 'primary_loss': 5}]}");
        j->o = (struct mc_opts){.iterations = runs[i].iterations,
                                .seed = i,
                                .threads = runs[i].threads,
                                .progress = on_progress,
                                .progress_arg = j};
        pthread_t t;
        atomic_store(&create_delay_ms, runs[i].delay_ms);
        assert_int_equal(pthread_create(&t, NULL, progress_thread, j), 0);
        int waited = 0;
        while (!atomic_load(&j->finished) && waited < 5000) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
            waited += 10;
        }
        atomic_store(&create_delay_ms, 0);
        if (!atomic_load(&j->finished)) {
            pthread_detach(t);
            fail_msg("mc_run with a progress callback did not return within 5 s (run %zu: %llu "
                     "iterations, %d scenarios, %d threads, workers done before pthread_create "
                     "returns: %s): progress stuck at %llu of %llu after %llu calls",
                     i, (unsigned long long)runs[i].iterations, runs[i].scenarios, runs[i].threads,
                     runs[i].delay_ms ? "yes" : "no", (unsigned long long)j->last_done,
                     (unsigned long long)j->last_total, (unsigned long long)j->calls);
        }
        pthread_join(t, NULL);
        assert_int_equal(j->rc, AEG_OK);
        if (j->bad)
            fail_msg("run %zu: progress called off the calling thread, or going backwards, or past "
                     "its total (%llu of %llu)",
                     i, (unsigned long long)j->last_done, (unsigned long long)j->last_total);
        if (j->calls && j->last_total != runs[i].iterations * (uint64_t)runs[i].scenarios)
            fail_msg("run %zu: progress total %llu", i, (unsigned long long)j->last_total);
        mc_result_free(&j->r);
        fair_free(&j->p);
    }
}

static void cancel_on_progress(uint64_t done, uint64_t total, void *arg)
{
    (void)done;
    (void)total;
    atomic_store((atomic_bool *)arg, true);
}

static void test_cancel(void **state)
{
    (void)state;
    const uint64_t seed = 77;
    struct fair_portfolio p;
    parse_ok(&p, "{'thresholds': [100], 'scenarios': [{'name': 'R', 'lef': {'dist': 'pert', "
                 "'min': 0.5, 'mode': 2, 'max': 6}, 'primary_loss': {'dist': 'lognormal', "
                 "'p05': 1000, 'p95': 50000}}, {'name': 'C', 'lef': 1, 'primary_loss': 5}]}");
    char err[256] = "";
    struct mc_result r, plain;
    /* a cancel flag that stays false changes nothing */
    atomic_bool no = false;
    struct mc_opts o = {.iterations = MC_BLOCK + 11, .seed = seed, .threads = 2, .cancel = &no};
    assert_int_equal(mc_run(&p, &o, &r, err, sizeof err), AEG_OK);
    run_ok(&p, MC_BLOCK + 11, seed, MC_COMPOUND, 2, &plain);
    const char *d = result_diff(&plain, &r);
    if (d)
        fail_msg("seed %llu: a false cancel flag changed %s", (unsigned long long)seed, d);
    mc_result_free(&r);
    mc_result_free(&plain);
    /* cancelled before the start */
    atomic_bool yes = true;
    o.cancel = &yes;
    err[0] = '\0';
    assert_int_equal(mc_run(&p, &o, &r, err, sizeof err), AEG_EUNAVAIL);
    assert_true(*err);
    assert_null(r.scenario);
    assert_null(r.lec_x);
    mc_result_free(&r);
    /* cancelled by the first progress report of a run of 16 blocks on one thread */
    atomic_bool later = false;
    o = (struct mc_opts){.iterations = 16 * MC_BLOCK,
                         .seed = seed,
                         .threads = 1,
                         .progress = cancel_on_progress,
                         .progress_arg = (void *)&later,
                         .cancel = &later};
    err[0] = '\0';
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = mc_run(&p, &o, &r, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    mc_result_free(&r);
    fair_free(&p);
    if (rc != AEG_EUNAVAIL)
        fail_msg("seed %llu: a run cancelled from its progress callback gave %d (%s) after %.2f s",
                 (unsigned long long)seed, rc, err, secs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compound_constant),
        cmocka_unit_test(test_compound_random),
        cmocka_unit_test(test_fair_decomposition),
        cmocka_unit_test(test_tc_rs),
        cmocka_unit_test(test_secondary_and_forms),
        cmocka_unit_test(test_product),
        cmocka_unit_test(test_threads_compound),
        cmocka_unit_test(test_threads_product),
        cmocka_unit_test(test_threads_correlated),
        cmocka_unit_test(test_exact_years),
        cmocka_unit_test(test_exact_years_inexact),
        cmocka_unit_test(test_lec_endpoints),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_portfolio),
        cmocka_unit_test(test_independent_streams),
        cmocka_unit_test(test_correlation),
        cmocka_unit_test(test_correlation_refused),
        cmocka_unit_test(test_select_quantile),
        cmocka_unit_test(test_result_json),
        cmocka_unit_test(test_result_json_nonfinite),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

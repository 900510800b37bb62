/*
 * Tests src/risk/dist.c: every kind's sample mean and variance against dist_mean and dist_variance,
 * with tolerances of 5 Monte Carlo standard errors (the variance's estimated from the sample's
 * fourth moment); the shape of the normal (probability-integral-transform chi-square and its
 * tails), of Poisson (chi-square against the pmf on both sides of the inversion/PTRS switch) and of
 * gamma (its CDF at several points); PERT and pyfair PERT means and sds against their definitions;
 * lognormal from p05/p95 reproducing its percentiles; the normal truncated at zero; bounds;
 * constants; every validation message; determinism and independence of streams; the normal CDF and
 * quantile. Seeds are fixed; every failure message names the seed and stream.
 */
#include "../unit.h"

#include "core/err.h"
#include "risk/dist.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>

#define N 100000L /* draws per moment check: 5 standard errors are then 1.6% of an sd */

static struct dist make(enum dist_kind kind, double p0, double p1, double p2, double p3, bool trunc)
{
    struct dist d;
    char err[128] = "";
    double p[4] = {p0, p1, p2, p3};
    int rc = dist_make(&d, kind, p, trunc, err, sizeof err);
    if (rc)
        fail_msg("dist_make(%d, {%g, %g, %g, %g}) refused: %s", (int)kind, p0, p1, p2, p3, err);
    return d;
}

/* Draws N from d on (seed, stream); the sample mean, the sample variance about the exact mean, and
 * the bounds must agree with dist_mean, dist_variance, dist_min and dist_max (a lower bound of 0
 * excludes -0 too). Returns the sample variance about the sample mean. */
static double check_moments(const char *what, const struct dist *d, uint64_t seed, uint64_t stream)
{
    double mu = dist_mean(d), var = dist_variance(d), lo = dist_min(d), hi = dist_max(d);
    struct rng r;
    rng_init(&r, seed, stream);
    double s1 = 0, s2 = 0, s4 = 0;
    for (long i = 0; i < N; i++) {
        double x = dist_sample(d, &r);
        if (!(x >= lo && x <= hi) || (lo == 0 && signbit(x)))
            fail_msg("%s (seed %llu, stream %llu): draw %ld is %.17g, outside [%g, %g]", what,
                     (unsigned long long)seed, (unsigned long long)stream, i, x, lo, hi);
        double y = x - mu, y2 = y * y;
        s1 += y;
        s2 += y2;
        s4 += y2 * y2;
    }
    double mean_err = s1 / N, tol_mean = 5 * sqrt(var / N) + 1e-12 * fabs(mu);
    double v = s2 / N, se_v = sqrt(fmax(s4 / N - v * v, 0) / N), tol_var = 5 * se_v + 1e-12 * var;
    if (!(fabs(mean_err) <= tol_mean))
        fail_msg("%s (seed %llu, stream %llu): sample mean %.10g, exact %.10g (tolerance %.3g)",
                 what, (unsigned long long)seed, (unsigned long long)stream, mu + mean_err, mu,
                 tol_mean);
    if (!(fabs(v - var) <= tol_var))
        fail_msg("%s (seed %llu, stream %llu): sample variance %.10g, exact %.10g (tolerance %.3g)",
                 what, (unsigned long long)seed, (unsigned long long)stream, v, var, tol_var);
    return v - mean_err * mean_err;
}

/* |got - want| <= tol, else a failure naming what and the seed. */
static void check_close(const char *what, double got, double want, double tol, uint64_t seed)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s (seed %llu): got %.17g, want %.17g (tolerance %.3g)", what,
                 (unsigned long long)seed, got, want, tol);
}

/* A fraction of n draws against its probability p: 5 binomial standard errors, and 3 counts of
 * slack for the rare events where the normal approximation to the binomial fails. */
static void check_fraction(const char *what, long hits, long n, double p, uint64_t seed)
{
    check_close(what, (double)hits / n, p, 5 * sqrt(p * (1 - p) / n) + 3.0 / n, seed);
}

/* The chi-square value exceeded with the probability of a 5-sigma normal event (3e-7), by the
 * Wilson-Hilferty approximation: df + 5 sqrt(2 df) would be far likelier to trip at small df. */
static double chi2_limit(int df)
{
    double h = 2.0 / (9 * df), c = 1 - h + 5 * sqrt(h);
    return df * c * c * c;
}

static double norm_pdf(double x)
{
    return exp(-0.5 * x * x) / sqrt(2 * M_PI);
}

/* ---- building blocks ---- */

static void test_normal_shape(void **state)
{
    const uint64_t seed = 11;
    const long n = 1000000;
    enum { BINS = 100 };
    long bins[BINS] = {0}, beyond_r = 0, beyond_3 = 0, neg = 0;
    double s1 = 0, s2 = 0;
    struct rng r;
    rng_init(&r, seed, 0);
    for (long i = 0; i < n; i++) {
        double z = rng_normal(&r);
        s1 += z;
        s2 += z * z;
        int b = (int)(dist_norm_cdf(z) * BINS);
        bins[b < BINS ? b : BINS - 1]++;
        beyond_r += fabs(z) > 3.6541528853610088; /* the ziggurat's base: its tail sampler */
        beyond_3 += fabs(z) > 3;
        neg += z < 0;
    }
    check_close("normal mean", s1 / n, 0, 5 / sqrt(n), seed);
    check_close("normal variance", s2 / n, 1, 5 * sqrt(2.0 / n), seed);
    double chi2 = 0, e = (double)n / BINS;
    for (int b = 0; b < BINS; b++)
        chi2 += (bins[b] - e) * (bins[b] - e) / e;
    if (chi2 > chi2_limit(BINS - 1))
        fail_msg("normal PIT chi-square %.1f on %d df (seed %llu)", chi2, BINS - 1,
                 (unsigned long long)seed);
    check_fraction("P(|Z| > r)", beyond_r, n, 2 * dist_norm_cdf(-3.6541528853610088), seed);
    check_fraction("P(|Z| > 3)", beyond_3, n, 2 * dist_norm_cdf(-3), seed);
    check_fraction("P(Z < 0)", neg, n, 0.5, seed);
}

/* Regularised lower incomplete gamma P(a, x) by its series (fine for the x used here). */
static double gamma_cdf(double a, double x)
{
    double term = exp(a * log(x) - x - lgamma(a + 1)), sum = term;
    for (int k = 1; k < 10000 && term > 1e-18 * sum; k++) {
        term *= x / (a + k);
        sum += term;
    }
    return sum;
}

static void test_gamma(void **state)
{
    static const double shapes[] = {0.3, 1, 2.5, 40};
    static const double at[] = {0.05, 0.5, 1, 2,
                                3}; /* CDF checked at these multiples of the mean */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        double k = shapes[s];
        uint64_t seed = 100 + s;
        struct rng r;
        rng_init(&r, seed, 7);
        long below[5] = {0};
        double s1 = 0, s2 = 0, s4 = 0;
        for (long i = 0; i < N; i++) {
            double x = rng_gamma(&r, k);
            if (!(x >= 0 && x < INFINITY))
                fail_msg("gamma(%g) drew %g (seed %llu)", k, x, (unsigned long long)seed);
            for (int j = 0; j < 5; j++)
                below[j] += x <= at[j] * k;
            double y = x - k;
            s1 += y;
            s2 += y * y;
            s4 += y * y * y * y;
        }
        char what[128];
        snprintf(what, sizeof what, "gamma(%g) mean", k);
        check_close(what, k + s1 / N, k, 5 * sqrt(k / N), seed);
        snprintf(what, sizeof what, "gamma(%g) variance", k);
        check_close(what, s2 / N, k, 5 * sqrt((s4 / N - (s2 / N) * (s2 / N)) / N), seed);
        for (int j = 0; j < 5; j++) {
            snprintf(what, sizeof what, "gamma(%g) P(X <= %g)", k, at[j] * k);
            check_fraction(what, below[j], N, gamma_cdf(k, at[j] * k), seed);
        }
    }
}

static void test_poisson_moments(void **state)
{
    static const double rates[] = {0, 0.05, 0.7, 3, 9.5, 10.5, 30, 250, 1e5};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "poisson(%g)", rates[i]);
        struct dist d = make(DIST_POISSON, rates[i], 0, 0, 0, false);
        assert_true(dist_mean(&d) == rates[i] && dist_variance(&d) == rates[i]);
        check_moments(what, &d, 200 + i, 1);
        /* draws are integers */
        struct rng r;
        rng_init(&r, 200 + i, 2);
        for (int j = 0; j < 1000; j++) {
            double x = dist_sample(&d, &r);
            if (x != floor(x) || x < 0)
                fail_msg("%s drew %g (seed %llu)", what, x, (unsigned long long)(200 + i));
        }
    }
}

/* Chi-square of Poisson counts against the pmf, tails merged until each cell expects >= 20. */
static void test_poisson_shape(void **state)
{
    static const double rates[] = {0.7, 3, 9.5, 10.5, 30, 250};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        double lam = rates[i];
        uint64_t seed = 300 + i;
        enum { KMAX = 512 };
        static long count[KMAX];
        memset(count, 0, sizeof count);
        struct rng r;
        rng_init(&r, seed, 0);
        for (long j = 0; j < N; j++) {
            unsigned long k = rng_poisson(&r, lam);
            count[k < KMAX ? k : KMAX - 1]++;
        }
        double pmf[KMAX];
        for (int k = 0; k < KMAX; k++)
            pmf[k] = exp(-lam + k * log(lam) - lgamma(k + 1.0));
        /* cells: [0, lo], lo+1 .. hi-1 singly, [hi, inf) */
        int lo = 0, hi = KMAX - 1;
        double lo_p = pmf[0], hi_p = 0;
        while (lo_p * N < 20)
            lo_p += pmf[++lo];
        for (int k = hi; k < KMAX; k++)
            hi_p += pmf[k];
        while (hi_p * N < 20)
            hi_p += pmf[--hi];
        long lo_n = 0, hi_n = 0;
        for (int k = 0; k <= lo; k++)
            lo_n += count[k];
        for (int k = hi; k < KMAX; k++)
            hi_n += count[k];
        double chi2 = (lo_n - N * lo_p) * (lo_n - N * lo_p) / (N * lo_p) +
                      (hi_n - N * hi_p) * (hi_n - N * hi_p) / (N * hi_p);
        int cells = 2;
        for (int k = lo + 1; k < hi; k++, cells++)
            chi2 += (count[k] - N * pmf[k]) * (count[k] - N * pmf[k]) / (N * pmf[k]);
        int df = cells - 1;
        if (chi2 > chi2_limit(df))
            fail_msg("poisson(%g): chi-square %.1f on %d df (seed %llu)", lam, chi2, df,
                     (unsigned long long)seed);
    }
}

/* rng_poisson (constants computed per call) and dist_sample (precomputed) draw the same values. */
static void test_poisson_paths_agree(void **state)
{
    static const double rates[] = {0.05, 3, 9.99, 10, 250, 1e5};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        struct dist d = make(DIST_POISSON, rates[i], 0, 0, 0, false);
        struct rng r1, r2;
        rng_init(&r1, 400, i);
        rng_init(&r2, 400, i);
        for (int j = 0; j < 10000; j++) {
            double a = dist_sample(&d, &r1), b = (double)rng_poisson(&r2, rates[i]);
            if (a != b)
                fail_msg("poisson(%g) draw %d: dist_sample %g, rng_poisson %g (seed 400)", rates[i],
                         j, a, b);
        }
    }
    struct rng r;
    rng_init(&r, 400, 99);
    assert_int_equal(rng_poisson(&r, 0), 0);
    assert_int_equal(rng_poisson(&r, -1), 0);
    assert_true(rng_poisson(&r, INFINITY) == ULONG_MAX);
    /* a huge rate stays near its mean (relative sd 1e-10) */
    double k = (double)rng_poisson(&r, 1e14);
    check_close("poisson(1e14)", k / 1e14, 1, 1e-5, 400);
}

/* ---- the kinds ---- */

static void test_pert(void **state)
{
    static const double cases[][4] = {
        {0, 1, 10, 4}, {0, 0, 100, 4},     {0, 100, 100, 4}, {10, 11, 1000, 4},
        {-5, 0, 5, 2}, {1e3, 2e3, 1e6, 6}, {0, 0.2, 1, 0.5}, {5, 9.9, 10, 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double min = cases[i][0], mode = cases[i][1], max = cases[i][2], lambda = cases[i][3];
        struct dist d = make(DIST_PERT, min, mode, max, lambda, false);
        double mean = (min + lambda * mode + max) / (lambda + 2);
        double a = 1 + lambda * (mode - min) / (max - min),
               b = 1 + lambda * (max - mode) / (max - min);
        double var = (max - min) * (max - min) * a * b / ((a + b) * (a + b) * (a + b + 1));
        char what[128];
        snprintf(what, sizeof what, "pert(%g, %g, %g, %g)", min, mode, max, lambda);
        check_close(what, dist_mean(&d), mean, 1e-12 * (fabs(mean) + max - min), 500 + i);
        check_close(what, dist_variance(&d), var, 1e-12 * var, 500 + i);
        assert_true(dist_min(&d) == min && dist_max(&d) == max);
        check_moments(what, &d, 500 + i, 3);
        dist_free(&d);
    }
}

static void test_pert_moment(void **state)
{
    /* the last cases have shapes below 1 (lambda small, mode at an end): the log-space beta */
    static const double cases[][4] = {
        {0, 1, 10, 4}, {0, 0, 100, 4}, {10, 900, 1000, 4}, {0, 5, 10, 4},
        {-5, 0, 5, 2}, {0, 0, 1, 0.5}, {0, 1, 1, 0.1},     {2, 2, 3, 0.01},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double min = cases[i][0], mode = cases[i][1], max = cases[i][2], lambda = cases[i][3];
        uint64_t seed = 600 + i;
        struct dist d = make(DIST_PERT_MOMENT, min, mode, max, lambda, false);
        double mean = (min + lambda * mode + max) / (lambda + 2), sd = (max - min) / (lambda + 2);
        char what[128];
        snprintf(what, sizeof what, "pert_moment(%g, %g, %g, %g)", min, mode, max, lambda);
        check_close(what, dist_mean(&d), mean, 1e-12 * (fabs(mean) + max - min), seed);
        check_close(what, sqrt(dist_variance(&d)), sd, 1e-12 * sd, seed);
        /* the sample sd, as pyfair defines it: 5 standard errors of an sd are ~1.6% for these */
        double s = sqrt(check_moments(what, &d, seed, 3));
        check_close(what, s, sd, 0.03 * sd, seed);
        dist_free(&d);
    }
    /* shapes by hand for one case: mean 0.4, variance 0.16 on [0, 1] gives alpha 0.2, beta 0.3 */
    struct dist d = make(DIST_PERT_MOMENT, 0, 0, 1, 0.5, false);
    check_close("pert_moment alpha", d.a, 0.2, 1e-15, 0);
    check_close("pert_moment beta", d.b, 0.3, 1e-15, 0);
    dist_free(&d);
}

/* A lognormal's variance is too heavy-tailed to test from a sample when sigma is 1 or more (its
 * estimate's own standard error is unreliable): the mean is checked, then the log's mean and
 * variance, which are normal. */
static void check_lognormal(const char *what, const struct dist *d, uint64_t seed, uint64_t stream)
{
    double mu = d->p[0], sigma = d->p[1], mean = dist_mean(d), var = dist_variance(d);
    struct rng r;
    rng_init(&r, seed, stream);
    double s = 0, l1 = 0, l2 = 0;
    for (long i = 0; i < N; i++) {
        double x = dist_sample(d, &r);
        if (!(x > 0 && x < INFINITY))
            fail_msg("%s (seed %llu, stream %llu): drew %g", what, (unsigned long long)seed,
                     (unsigned long long)stream, x);
        double y = log(x) - mu;
        s += x - mean;
        l1 += y;
        l2 += y * y;
    }
    char w[160];
    snprintf(w, sizeof w, "%s: mean", what);
    check_close(w, mean + s / N, mean, 5 * sqrt(var / N), seed);
    snprintf(w, sizeof w, "%s: mean of the log", what);
    check_close(w, mu + l1 / N, mu, 5 * sigma / sqrt(N), seed);
    snprintf(w, sizeof w, "%s: variance of the log", what);
    check_close(w, l2 / N, sigma * sigma, 5 * sigma * sigma * sqrt(2.0 / N), seed);
}

static void test_lognormal(void **state)
{
    struct dist d = make(DIST_LOGNORMAL, 1, 0.5, 0, 0, false);
    check_close("lognormal mean", dist_mean(&d), exp(1.125), 1e-12, 0);
    check_moments("lognormal(1, 0.5)", &d, 700, 0);
    d = make(DIST_LOGNORMAL, -2, 1, 0, 0, false);
    check_lognormal("lognormal(-2, 1)", &d, 701, 0);
    d = make(DIST_LOGNORMAL, 3, 1.5, 0, 0, false);
    check_close("lognormal variance", dist_variance(&d) / ((exp(2.25) - 1) * exp(6 + 2.25)), 1,
                1e-13, 0);
    assert_true(dist_min(&d) == 0 && dist_max(&d) == INFINITY);
    check_lognormal("lognormal(3, 1.5)", &d, 702, 0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_lognormal_90(void **state)
{
    static const double cases[][2] = {{1e4, 1e6}, {0.5, 2}, {100, 101}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double p05 = cases[i][0], p95 = cases[i][1];
        uint64_t seed = 710 + i;
        struct dist d;
        char err[128];
        assert_int_equal(dist_lognormal_90(&d, p05, p95, err, sizeof err), 0);
        assert_int_equal(d.kind, DIST_LOGNORMAL);
        double mu = (log(p05) + log(p95)) / 2,
               sigma = (log(p95) - log(p05)) / (2 * 1.6448536269514722);
        check_close("lognormal_90 mu", d.p[0], mu, 1e-12 * fabs(mu) + 1e-15, seed);
        check_close("lognormal_90 sigma", d.p[1], sigma, 1e-12 * sigma, seed);
        double *x = xmalloc(N * sizeof *x);
        struct rng r;
        rng_init(&r, seed, 0);
        for (long j = 0; j < N; j++)
            x[j] = dist_sample(&d, &r);
        qsort(x, N, sizeof *x, cmp_double);
        /* an empirical p-quantile has sd sqrt(p (1-p)/n)/f(x_p), f the density there */
        double f05 = norm_pdf(1.6448536269514722) / (p05 * sigma);
        double f95 = norm_pdf(1.6448536269514722) / (p95 * sigma);
        double tol05 = 5 * sqrt(0.05 * 0.95 / N) / f05, tol95 = 5 * sqrt(0.05 * 0.95 / N) / f95;
        char what[128];
        snprintf(what, sizeof what, "lognormal_90(%g, %g) p05", p05, p95);
        check_close(what, x[(long)(0.05 * N)], p05, tol05, seed);
        snprintf(what, sizeof what, "lognormal_90(%g, %g) p95", p05, p95);
        check_close(what, x[(long)(0.95 * N)], p95, tol95, seed);
        free(x);
        check_lognormal("lognormal_90", &d, seed, 1);
    }
}

static void test_normal(void **state)
{
    struct dist d = make(DIST_NORMAL, -3, 2, 0, 0, false);
    assert_true(dist_mean(&d) == -3 && dist_variance(&d) == 4);
    assert_true(dist_min(&d) == -INFINITY && dist_max(&d) == INFINITY);
    check_moments("normal(-3, 2)", &d, 800, 0);
}

static void test_truncated_normal(void **state)
{
    /* -2 and -6 take the inverse-CDF path (P(X >= 0) small), 0 and 3 rejection */
    static const double cases[][2] = {{-2, 1}, {0, 1}, {3, 1}, {-6, 1}, {5, 20}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double mu = cases[i][0], sd = cases[i][1];
        uint64_t seed = 900 + i;
        struct dist d = make(DIST_NORMAL, mu, sd, 0, 0, true);
        /* exact: mu + sd phi(a)/Q(a), variance sd^2 (1 + a l - l^2), a = -mu/sd, l that ratio */
        double a = -mu / sd, q = 0.5 * erfc(a / sqrt(2)), l = norm_pdf(a) / q;
        char what[128];
        snprintf(what, sizeof what, "normal(%g, %g) truncated at 0", mu, sd);
        check_close(what, dist_mean(&d), mu + sd * l, 1e-12 * (fabs(mu) + sd), seed);
        check_close(what, dist_variance(&d), sd * sd * (1 + a * l - l * l), 1e-10 * sd * sd, seed);
        assert_true(dist_min(&d) == 0 && dist_max(&d) == INFINITY);
        check_moments(what, &d, seed, 0); /* never negative, nor -0 */
    }
    /* known values: the half-normal's mean, and mean -2 sd 1 */
    struct dist d = make(DIST_NORMAL, 0, 1, 0, 0, true);
    check_close("half-normal mean", dist_mean(&d), sqrt(2 / M_PI), 1e-14, 0);
    d = make(DIST_NORMAL, -2, 1, 0, 0, true);
    check_close("normal(-2, 1) truncated mean", dist_mean(&d), 0.37321553282284087, 1e-12, 0);
    /* far in the tail (zero is 30 sd above the mean): still exact and finite */
    d = make(DIST_NORMAL, -30, 1, 0, 0, true);
    struct rng r;
    rng_init(&r, 950, 0);
    for (int j = 0; j < 1000; j++) {
        double x = dist_sample(&d, &r);
        assert_true(x >= 0 && x < 1);
    }
    check_close("normal(-30, 1) truncated mean", dist_mean(&d), 0.033259667433677037, 1e-9, 950);
}

static void test_uniform_triangular(void **state)
{
    static const double uni[][2] = {{0, 1}, {-3, 7}, {1e6, 1e6 + 1}};
    for (size_t i = 0; i < sizeof uni / sizeof uni[0]; i++) {
        struct dist d = make(DIST_UNIFORM, uni[i][0], uni[i][1], 0, 0, false);
        assert_true(dist_min(&d) == uni[i][0] && dist_max(&d) == uni[i][1]);
        check_close("uniform mean", dist_mean(&d), (uni[i][0] + uni[i][1]) / 2, 1e-9, 0);
        check_close("uniform variance", dist_variance(&d),
                    (uni[i][1] - uni[i][0]) * (uni[i][1] - uni[i][0]) / 12, 1e-12, 0);
        check_moments("uniform", &d, 1000 + i, 0); /* bounds checked on every draw */
    }
    static const double tri[][3] = {{0, 2, 10}, {0, 0, 1}, {0, 1, 1}, {-5, 4, 5}};
    for (size_t i = 0; i < sizeof tri / sizeof tri[0]; i++) {
        double a = tri[i][0], c = tri[i][1], b = tri[i][2];
        uint64_t seed = 1100 + i;
        struct dist d = make(DIST_TRIANGULAR, a, c, b, 0, false);
        assert_true(dist_min(&d) == a && dist_max(&d) == b);
        check_close("triangular mean", dist_mean(&d), (a + b + c) / 3, 1e-12, seed);
        check_close("triangular variance", dist_variance(&d),
                    (a * a + b * b + c * c - a * b - a * c - b * c) / 18, 1e-12, seed);
        check_moments("triangular", &d, seed, 0);
        struct rng r;
        rng_init(&r, seed, 1);
        long below = 0;
        for (long j = 0; j < N; j++)
            below += dist_sample(&d, &r) <= c;
        check_fraction("triangular P(X <= mode)", below, N, (c - a) / (b - a), seed);
    }
}

static void test_beta(void **state)
{
    static const double cases[][4] = {
        {2, 5, 0, 1}, {0.5, 0.5, 10, 20}, {0.05, 3, 0, 1}, {1, 1, -1, 1}, {300, 200, 0, 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double a = cases[i][0], b = cases[i][1], lo = cases[i][2], hi = cases[i][3];
        uint64_t seed = 1200 + i;
        struct dist d = make(DIST_BETA, a, b, lo, hi, false);
        double w = hi - lo;
        check_close("beta mean", dist_mean(&d), lo + w * a / (a + b), 1e-12 * (fabs(lo) + w), seed);
        check_close("beta variance", dist_variance(&d),
                    w * w * a * b / ((a + b) * (a + b) * (a + b + 1)), 1e-12 * w * w, seed);
        char what[128];
        snprintf(what, sizeof what, "beta(%g, %g) on [%g, %g]", a, b, lo, hi);
        check_moments(what, &d, seed, 0);
        dist_free(&d);
    }
    /* Beta(1/2, 1/2) is the arcsine law: P(X <= t) = 2/pi asin(sqrt(t)) */
    struct dist d = make(DIST_BETA, 0.5, 0.5, 0, 1, false);
    struct rng r;
    rng_init(&r, 1250, 0);
    long below[3] = {0};
    static const double t[] = {0.01, 0.3, 0.9};
    for (long j = 0; j < N; j++) {
        double x = dist_sample(&d, &r);
        for (int k = 0; k < 3; k++)
            below[k] += x <= t[k];
    }
    for (int k = 0; k < 3; k++)
        check_fraction("arcsine CDF", below[k], N, 2 / M_PI * asin(sqrt(t[k])), 1250);
    dist_free(&d);
}

static void test_constants(void **state)
{
    struct {
        enum dist_kind kind;
        double p[4];
        double value;
    } cases[] = {
        {DIST_CONSTANT, {7.5}, 7.5},  {DIST_CONSTANT, {-2}, -2},
        {DIST_PERT, {3, 3, 3, 4}, 3}, {DIST_PERT_MOMENT, {3, 3, 3, 4}, 3},
        {DIST_UNIFORM, {2, 2}, 2},    {DIST_TRIANGULAR, {4, 4, 4}, 4},
        {DIST_BETA, {2, 3, 5, 5}, 5}, {DIST_LOGNORMAL, {1, 0}, M_E},
        {DIST_POISSON, {0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dist d;
        char err[128] = "";
        if (dist_make(&d, cases[i].kind, cases[i].p, false, err, sizeof err))
            fail_msg("case %zu refused: %s", i, err);
        double v = cases[i].value;
        check_close("constant mean", dist_mean(&d), v, 1e-15 * fabs(v), i);
        assert_true(dist_variance(&d) == 0);
        check_close("constant min", dist_min(&d), v, 1e-15 * fabs(v), i);
        check_close("constant max", dist_max(&d), v, 1e-15 * fabs(v), i);
        struct rng r;
        rng_init(&r, 1300, i);
        for (int j = 0; j < 1000; j++)
            if (dist_sample(&d, &r) != dist_min(&d))
                fail_msg("case %zu: a draw is not the constant %g (seed 1300)", i, v);
        dist_free(&d);
    }
}

/* ---- validation ---- */

static void test_validation(void **state)
{
    const double nan = NAN, inf = INFINITY;
    struct {
        enum dist_kind kind;
        double p[4];
        bool trunc;
        const char *msg;
    } cases[] = {
        {DIST_CONSTANT, {nan}, false, "value is not a finite number"},
        {DIST_CONSTANT, {inf}, false, "value is not a finite number"},
        {DIST_PERT, {5, 3, 1, 4}, false, "min is greater than max"},
        {DIST_PERT, {1, 5, 3, 4}, false, "mode is outside [min, max]"},
        {DIST_PERT, {1, 0, 3, 4}, false, "mode is outside [min, max]"},
        {DIST_PERT, {1, 2, 3, 0}, false, "lambda must be greater than zero"},
        {DIST_PERT, {1, 2, 3, -1}, false, "lambda must be greater than zero"},
        {DIST_PERT, {1, 2, 3, 1e301}, false, "lambda is too large"},
        {DIST_PERT, {-inf, 2, 3, 4}, false, "min is not a finite number"},
        {DIST_PERT, {1, nan, 3, 4}, false, "mode is not a finite number"},
        {DIST_PERT, {1, 2, inf, 4}, false, "max is not a finite number"},
        {DIST_PERT, {1, 2, 3, nan}, false, "lambda is not a finite number"},
        {DIST_PERT_MOMENT, {5, 3, 1, 4}, false, "min is greater than max"},
        {DIST_PERT_MOMENT, {1, 4, 3, 4}, false, "mode is outside [min, max]"},
        {DIST_PERT_MOMENT, {1, 2, 3, 0}, false, "lambda must be greater than zero"},
        {DIST_PERT_MOMENT, {1, 2, 3, 1e200}, false, "lambda is too large"},
        {DIST_PERT_MOMENT, {0, 0, 1, 1e-305}, false, "lambda is too small"},
        {DIST_LOGNORMAL, {nan, 1}, false, "mu is not a finite number"},
        {DIST_LOGNORMAL, {0, inf}, false, "sigma is not a finite number"},
        {DIST_LOGNORMAL, {0, -0.1}, false, "sigma must not be negative"},
        {DIST_POISSON, {-1}, false, "rate must not be negative"},
        {DIST_POISSON, {inf}, false, "rate is not a finite number"},
        {DIST_POISSON, {nan}, false, "rate is not a finite number"},
        {DIST_NORMAL, {0, 0}, false, "sd must be greater than zero"},
        {DIST_NORMAL, {0, -1}, true, "sd must be greater than zero"},
        {DIST_NORMAL, {nan, 1}, false, "mean is not a finite number"},
        {DIST_NORMAL, {0, inf}, false, "sd is not a finite number"},
        {DIST_NORMAL,
         {-40, 1},
         true,
         "mean is more than 37 sd below zero: too little of the normal lies above zero to "
         "truncate it there"},
        {DIST_UNIFORM, {2, 1}, false, "min is greater than max"},
        {DIST_UNIFORM, {-inf, 1}, false, "min is not a finite number"},
        {DIST_UNIFORM, {-1e308, 1e308}, false, "max - min is too large to represent"},
        {DIST_TRIANGULAR, {2, 1, 1}, false, "min is greater than max"},
        {DIST_TRIANGULAR, {0, 2, 1}, false, "mode is outside [min, max]"},
        {DIST_TRIANGULAR, {0, 0.5, nan}, false, "max is not a finite number"},
        {DIST_BETA, {0, 1, 0, 1}, false, "alpha must be greater than zero"},
        {DIST_BETA, {-1, 1, 0, 1}, false, "alpha must be greater than zero"},
        {DIST_BETA, {1, 0, 0, 1}, false, "beta must be greater than zero"},
        {DIST_BETA, {1, -2, 0, 1}, false, "beta must be greater than zero"},
        {DIST_BETA, {1, 1, 1, 0}, false, "min is greater than max"},
        {DIST_BETA, {1e-310, 1, 0, 1}, false, "alpha and beta must be at least 1e-300"},
        {DIST_BETA, {1, 1e301, 0, 1}, false, "alpha and beta must be at most 1e300"},
        {DIST_BETA, {1, 1, 0, nan}, false, "max is not a finite number"},
        {(enum dist_kind)99, {0}, false, "unknown distribution kind 99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dist d;
        char err[160] = "";
        int rc = dist_make(&d, cases[i].kind, cases[i].p, cases[i].trunc, err, sizeof err);
        if (rc != AEG_EINVAL || strcmp(err, cases[i].msg))
            fail_msg("case %zu: rc %d, message \"%s\", want \"%s\"", i, rc, err, cases[i].msg);
        dist_free(&d);
    }
    struct {
        double p05, p95;
        const char *msg;
    } ln[] = {
        {0, 1, "p05 must be greater than zero"}, {-1, 1, "p05 must be greater than zero"},
        {2, 2, "p05 must be less than p95"},     {3, 2, "p05 must be less than p95"},
        {NAN, 2, "p05 is not a finite number"},  {1, INFINITY, "p95 is not a finite number"},
    };
    for (size_t i = 0; i < sizeof ln / sizeof ln[0]; i++) {
        struct dist d;
        char err[160] = "";
        int rc = dist_lognormal_90(&d, ln[i].p05, ln[i].p95, err, sizeof err);
        if (rc != AEG_EINVAL || strcmp(err, ln[i].msg))
            fail_msg("lognormal_90 case %zu: rc %d, message \"%s\", want \"%s\"", i, rc, err,
                     ln[i].msg);
    }
    /* a short buffer is truncated, a missing one is fine */
    struct dist d;
    char small[8];
    double p[4] = {2, 1, 0, 0};
    assert_int_equal(dist_make(&d, DIST_UNIFORM, p, false, small, sizeof small), AEG_EINVAL);
    assert_string_equal(small, "min is ");
    assert_int_equal(dist_make(&d, DIST_UNIFORM, p, false, NULL, 0), AEG_EINVAL);
    /* unused slots are ignored, even when not finite */
    double q[4] = {1, 2, NAN, INFINITY};
    assert_int_equal(dist_make(&d, DIST_NORMAL, q, false, NULL, 0), 0);
}

/* ---- determinism and streams ---- */

static double correlation(const double *x, const double *y, long n)
{
    double mx = 0, my = 0;
    for (long i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (long i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxy / sqrt(sxx * syy);
}

static void test_determinism(void **state)
{
    struct dist ds[6];
    ds[0] = make(DIST_PERT, 0, 2, 10, 4, false);
    ds[1] = make(DIST_LOGNORMAL, 0, 1, 0, 0, false);
    ds[2] = make(DIST_POISSON, 3, 0, 0, 0, false);
    ds[3] = make(DIST_POISSON, 250, 0, 0, 0, false);
    ds[4] = make(DIST_NORMAL, -2, 1, 0, 0, true);
    ds[5] = make(DIST_BETA, 0.3, 0.7, 0, 1, false);
    const uint64_t seed = 1400;
    for (int k = 0; k < 6; k++) {
        struct rng a, b, c;
        rng_init(&a, seed, 5);
        rng_init(&b, seed, 5);
        rng_init(&c, seed, 6);
        int same_as_other = 0;
        for (int i = 0; i < 1000; i++) {
            double x = dist_sample(&ds[k], &a), y = dist_sample(&ds[k], &b);
            double z = dist_sample(&ds[k], &c);
            if (memcmp(&x, &y, sizeof x))
                fail_msg("dist %d draw %d differs between two equal streams (seed %llu)", k, i,
                         (unsigned long long)seed);
            same_as_other += x == z;
        }
        if (same_as_other > 400) /* Poisson(3) repeats a value often, the others almost never */
            fail_msg("dist %d: streams 5 and 6 agree on %d of 1000 draws (seed %llu)", k,
                     same_as_other, (unsigned long long)seed);
    }
    /* uncorrelated: streams 1 and 2, seeds s and s + 1, and normals */
    const long n = 100000;
    double *x = xmalloc(n * sizeof *x), *y = xmalloc(n * sizeof *y), *z = xmalloc(n * sizeof *z);
    struct rng a, b, c;
    rng_init(&a, seed, 1);
    rng_init(&b, seed, 2);
    rng_init(&c, seed + 1, 1);
    for (long i = 0; i < n; i++) {
        x[i] = rng_uniform(&a);
        y[i] = rng_uniform(&b);
        z[i] = rng_uniform(&c);
    }
    double rho1 = correlation(x, y, n), rho2 = correlation(x, z, n);
    for (long i = 0; i < n; i++) {
        x[i] = rng_normal(&a);
        y[i] = rng_normal(&b);
    }
    double rho3 = correlation(x, y, n);
    for (long i = 0; i < n; i++) {
        x[i] = dist_sample(&ds[3], &a);
        y[i] = dist_sample(&ds[3], &b);
    }
    double rho4 = correlation(x, y, n);
    free(x);
    free(y);
    free(z);
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
        dist_free(&ds[i]);
    if (!(fabs(rho1) < 0.02 && fabs(rho2) < 0.02 && fabs(rho3) < 0.02 && fabs(rho4) < 0.02))
        fail_msg("correlations between streams %.4f %.4f %.4f %.4f (seed %llu)", rho1, rho2, rho3,
                 rho4, (unsigned long long)seed);
}

/* ---- normal CDF and quantile ---- */

static void test_norm_cdf_quantile(void **state)
{
    /* references computed with mpmath at 40 digits for the double nearest each p */
    static const double known[][2] = {
        {1e-300, -37.047096299361199},  {1e-100, -21.273453560965324},
        {1e-20, -9.2623400897984076},   {1e-10, -6.3613409024040562},
        {1e-5, -4.2648907939228246},    {0.001, -3.0902323061678135},
        {0.02425, -1.9729610513118848}, {0.0243, -1.9720841590292885},
        {0.05, -1.6448536269514727},    {0.1, -1.2815515655446004},
        {0.3, -0.52440051270804082},    {0.5, 0.0},
        {0.7, 0.52440051270804066},     {0.9, 1.2815515655446006},
        {0.975, 1.9599639845400539},    {0.99, 2.3263478740408408},
        {0.999, 3.0902323061678133},    {0.999999, 4.7534243088170878},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "quantile(%g)", known[i][0]);
        check_close(what, dist_norm_quantile(known[i][0]), known[i][1], 1e-9, 0);
    }
    check_close("quantile(0.975)", dist_norm_quantile(0.975), 1.959963984540054, 1e-12, 0);
    assert_true(dist_norm_quantile(0) == -INFINITY);
    assert_true(dist_norm_quantile(1) == INFINITY);
    assert_true(isnan(dist_norm_quantile(-0.1)) && isnan(dist_norm_quantile(1.1)));
    assert_true(isnan(dist_norm_quantile(NAN)));
    assert_true(isfinite(dist_norm_quantile(4.9e-324)));
    /* round trip over a grid; Phi(x) keeps full relative precision below zero, and above it
     * quantile(Phi(x)) is limited by Phi(x)'s rounding near 1 (x <= 5 keeps that under 1e-10) */
    double worst = 0;
    for (double x = -37.5; x <= 5.0; x += 0.01) {
        double e = fabs(dist_norm_quantile(dist_norm_cdf(x)) - x);
        worst = e > worst ? e : worst;
    }
    if (worst >= 1e-9)
        fail_msg("quantile(cdf(x)) is off by %g", worst);
    /* symmetry, where 1 - p is exact */
    for (double p = 0.5; p < 1; p += 0.0123)
        check_close("quantile symmetry", dist_norm_quantile(p), -dist_norm_quantile(1 - p), 1e-15,
                    0);
    /* monotone */
    double prev = -INFINITY;
    for (double p = 1e-6; p < 1; p += 1e-4) {
        double q = dist_norm_quantile(p);
        if (!(q > prev))
            fail_msg("quantile is not increasing at %g", p);
        prev = q;
    }
    check_close("cdf(0)", dist_norm_cdf(0), 0.5, 0, 0);
    check_close("cdf(-1)", dist_norm_cdf(-1), 0.15865525393145705, 1e-16, 0);
    check_close("cdf(1.96)", dist_norm_cdf(1.959963984540054), 0.975, 1e-15, 0);
    check_close("cdf(-10)", dist_norm_cdf(-10) / 7.6198530241605261e-24, 1, 1e-13, 0);
    check_close("cdf(-37)", dist_norm_cdf(-37) / 5.7255712225245768e-300, 1, 1e-12, 0);
}

/* ---- distribution functions, batches, exp ---- */

/* dist_cdf against the draws: for every kind, the share of N draws at or below the quantiles 0.1,
 * 0.5, 0.9 is within 5 binomial standard errors of them, and cdf(quantile(u)) = u for the
 * continuous kinds (the beta-family quantile within its table's accuracy). */
static void test_cdf_quantile(void **state)
{
    (void)state;
    struct dist ds[] = {
        make(DIST_PERT, 1, 3, 10, 4, false),      make(DIST_PERT_MOMENT, 0, 2, 5, 4, false),
        make(DIST_BETA, 0.5, 2, 0, 1, false),     make(DIST_LOGNORMAL, 2, 0.8, 0, 0, false),
        make(DIST_NORMAL, 3, 2, 0, 0, false),     make(DIST_NORMAL, 1, 2, 0, 0, true),
        make(DIST_UNIFORM, -1, 3, 0, 0, false),   make(DIST_TRIANGULAR, 0, 1, 4, 0, false),
        make(DIST_TRIANGULAR, 0, 0, 4, 0, false),
    };
    static const double us[] = {1e-9, 0.1, 0.5, 0.9, 1 - 1e-9};
    for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
        struct dist *d = &ds[k];
        double prev = -INFINITY;
        for (size_t j = 0; j < sizeof us / sizeof us[0]; j++) {
            double x = dist_quantile(d, us[j]);
            if (!(x >= prev))
                fail_msg("dist %zu: quantile(%g) = %.17g is below quantile of a smaller u", k,
                         us[j], x);
            prev = x;
            double c = dist_cdf(d, x);
            if (fabs(c - us[j]) > 1e-8)
                fail_msg("dist %zu: cdf(quantile(%g)) = %.17g", k, us[j], c);
        }
        struct rng r;
        rng_init(&r, 1500 + k, 0);
        double q[3] = {dist_quantile(d, 0.1), dist_quantile(d, 0.5), dist_quantile(d, 0.9)};
        long below[3] = {0};
        for (long i = 0; i < N; i++) {
            double x = dist_sample(d, &r);
            for (int t = 0; t < 3; t++)
                below[t] += x <= q[t];
        }
        static const double want[3] = {0.1, 0.5, 0.9};
        for (int t = 0; t < 3; t++)
            check_fraction("share of draws below a quantile", below[t], N, want[t], 1500 + k);
        dist_free(d);
    }
    struct dist c = make(DIST_CONSTANT, 2, 0, 0, 0, false);
    assert_true(dist_cdf(&c, 1.999) == 0 && dist_cdf(&c, 2) == 1 && dist_quantile(&c, 0.3) == 2);
    struct dist p = make(DIST_POISSON, 3, 0, 0, 0, false);
    check_close("poisson cdf(2)", dist_cdf(&p, 2.5), 8.5 * exp(-3.0), 1e-15, 0);
}

/* P(X > Y) by quadrature against closed forms and against draws. */
static void test_p_greater(void **state)
{
    (void)state;
    struct dist u01 = make(DIST_UNIFORM, 0, 1, 0, 0, false);
    struct dist u01b = make(DIST_UNIFORM, 0, 1, 0, 0, false);
    struct dist c25 = make(DIST_CONSTANT, 0.25, 0, 0, 0, false);
    struct dist c80 = make(DIST_CONSTANT, 0.8, 0, 0, 0, false);
    check_close("P(U > U')", dist_p_greater(&u01, &u01b), 0.5, 1e-12, 0);
    check_close("P(U > 0.25)", dist_p_greater(&u01, &c25), 0.75, 1e-15, 0);
    check_close("P(0.25 > U)", dist_p_greater(&c25, &u01), 0.25, 1e-15, 0);
    check_close("P(0.8 > 0.25)", dist_p_greater(&c80, &c25), 1, 0, 0);
    check_close("P(0.25 > 0.8)", dist_p_greater(&c25, &c80), 0, 0, 0);
    /* Beta(2, 1) (density 2x) against U(0, 1): P = integral of x 2x dx = 2/3 */
    struct dist b21 = make(DIST_BETA, 2, 1, 0, 1, false);
    check_close("P(Beta(2,1) > U)", dist_p_greater(&b21, &u01), 2.0 / 3, 1e-9, 0);
    /* two normals: P(X > Y) = Phi((m1 - m2) / sqrt(s1^2 + s2^2)) */
    struct dist n1 = make(DIST_NORMAL, 1, 1, 0, 0, false),
                n2 = make(DIST_NORMAL, 0, 2, 0, 0, false);
    check_close("P(N(1,1) > N(0,4))", dist_p_greater(&n1, &n2), dist_norm_cdf(1 / sqrt(5.0)), 1e-9,
                0);
    /* PERTs as a FAIR TC and RS: against 10^6 pairs of draws */
    struct dist tc = make(DIST_PERT, 0.3, 0.6, 0.95, 4, false),
                rs = make(DIST_PERT, 0.4, 0.7, 0.9, 4, false);
    double p = dist_p_greater(&tc, &rs);
    struct rng r;
    rng_init(&r, 1600, 0);
    long hits = 0;
    for (long i = 0; i < N; i++) {
        double a = dist_sample(&tc, &r);
        hits += a > dist_sample(&rs, &r);
    }
    check_fraction("P(TC > RS) against draws", hits, N, p, 1600);
    struct dist pois = make(DIST_POISSON, 2, 0, 0, 0, false);
    assert_true(dist_p_greater(&pois, &u01) == -1 && dist_p_greater(&u01, &pois) == -1);
    struct dist *all[] = {&u01, &u01b, &c25, &c80, &b21, &n1, &n2, &tc, &rs, &pois};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        dist_free(all[i]);
}

/* dist_fill, dist_add and dist_add_events draw exactly what dist_sample draws from each stream. */
static void test_batches(void **state)
{
    (void)state;
    struct dist ds[] = {make(DIST_PERT, 1, 3, 10, 4, false),
                        make(DIST_LOGNORMAL, 2, 0.8, 0, 0, false),
                        make(DIST_POISSON, 30, 0, 0, 0, false), make(DIST_NORMAL, 1, 2, 0, 0, true),
                        make(DIST_BETA, 0.3, 0.5, 0, 1, false)};
    enum { L = 37 };
    for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
        uint64_t st[L], st2[L], st3[L];
        uint32_t n[L], ev[4 * L];
        double out[L], acc[L], acc3[L], want_fill[L], want_add[L];
        size_t nev = 0;
        for (size_t i = 0; i < L; i++) {
            st[i] = st2[i] = st3[i] = rng_state(1700 + k, i);
            n[i] = (uint32_t)(i % 4);
            acc[i] = acc3[i] = (double)i;
            for (uint32_t e = 0; e < n[i]; e++)
                ev[nev++] = (uint32_t)i;
            struct rng r = {st[i]};
            want_fill[i] = dist_sample(&ds[k], &r);
            r.s = st[i];
            want_add[i] = (double)i;
            for (uint32_t e = 0; e < n[i]; e++)
                want_add[i] += dist_sample(&ds[k], &r);
        }
        dist_fill(&ds[k], st, out, L);
        dist_add(&ds[k], st2, n, acc, L);
        dist_add_events(&ds[k], st3, ev, nev, acc3);
        for (size_t i = 0; i < L; i++) {
            if (out[i] != want_fill[i])
                fail_msg("dist %zu stream %zu: dist_fill %.17g, dist_sample %.17g", k, i, out[i],
                         want_fill[i]);
            if (acc[i] != want_add[i] || acc3[i] != want_add[i] || st2[i] != st3[i])
                fail_msg("dist %zu stream %zu: dist_add %.17g, dist_add_events %.17g, want %.17g",
                         k, i, acc[i], acc3[i], want_add[i]);
        }
        dist_free(&ds[k]);
    }
}

/* The samplers' exp against libm's: within 2 ulp over the range it computes itself. */
static void test_fast_exp(void **state)
{
    (void)state;
    struct rng r;
    rng_init(&r, 1800, 0);
    for (long i = 0; i < 2000000; i++) {
        double x = i < 1000 ? -708 + 1417.0 * (double)i / 1000 : (rng_uniform(&r) - 0.5) * 1400;
        if (i % 3 == 0)
            x = (rng_uniform(&r) - 0.5) * 10; /* where the samplers use it most */
        double got = dist_fast_exp(x), want = exp(x);
        if (fabs(got - want) > 2 * (nextafter(want, INFINITY) - want))
            fail_msg("exp(%.17g): %.17g, libm %.17g", x, got, want);
    }
    assert_true(dist_fast_exp(-800) == exp(-800) && isinf(dist_fast_exp(800)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_shape),
        cmocka_unit_test(test_gamma),
        cmocka_unit_test(test_poisson_moments),
        cmocka_unit_test(test_poisson_shape),
        cmocka_unit_test(test_poisson_paths_agree),
        cmocka_unit_test(test_pert),
        cmocka_unit_test(test_pert_moment),
        cmocka_unit_test(test_lognormal),
        cmocka_unit_test(test_lognormal_90),
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_truncated_normal),
        cmocka_unit_test(test_uniform_triangular),
        cmocka_unit_test(test_beta),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_norm_cdf_quantile),
        cmocka_unit_test(test_cdf_quantile),
        cmocka_unit_test(test_p_greater),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_fast_exp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests src/risk/itab.c. The incomplete beta function against closed forms (I_x(1, b), I_x(a, 1),
 * the arcsine law, binomial sums for integer shapes, I_1/2(a, a) = 1/2, the reflection identity)
 * and against values this file computes itself by integrating the density (lgamma and Simpson's
 * rule, nothing shared with itab.c); the density at its ends. Then the tables: for PERT shapes,
 * general betas (densities with poles and zeros at the ends, concentrated ones) and two
 * distributions given only by their CDF, the u-error contract |cdf(itab_eval(u)) - u| <=
 * ITAB_UERROR on a grid of u, at the extremes (2^-54, 1e-15, 1e-12, ..., 1 - 2^-53), at random u
 * and inside every interval of the table; the draws stay in [lo, hi], never NaN, nondecreasing in u
 * (across interval boundaries too); where doubles cannot resolve a pole at an end, the exception
 * itab.h states (the draw is one of the two doubles around the exact quantile), and only for those
 * shapes; the mean and variance of the table's quantile over a stratified grid of u against the
 * beta's exact moments, to the bound the grid allows; refusals (bad arguments, a shape too small at
 * an end at 0) leave the table empty; building twice gives the same table. The random u come from
 * rng seed 20240607.
 */
#include "../unit.h"

#include "risk/itab.h"
#include "risk/rng.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#define SEED 20240607

/* |got - want| <= tol. */
static void check_abs(const char *what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g (|diff| %.3g > %.3g)", what, got, want,
                 fabs(got - want), tol);
}

/* Relative error at most 1e-14, plus 4e-16 for each unit of |log(want)|: a tiny probability is
 * the exp of a large log, whose last bit alone is worth 1.1e-16 a unit. */
static void check_rel(const char *what, double got, double want)
{
    if (want < 1e-290) { /* no relative accuracy promised (nor representable, below 2e-308) */
        check_abs(what, got, want, 1e-290);
        return;
    }
    double tol = (1e-14 + 4e-16 * fabs(log(want))) * want;
    check_abs(what, got, want, tol);
}

/* ---- the incomplete beta function ---- */

static void test_cdf_closed_forms(void **state)
{
    static const double xs[] = {1e-300, 1e-30, 1e-8, 0.01, 0.2, 0.5, 0.75, 0.99, 1 - 1e-9};
    static const double shapes[] = {0.05, 0.3, 1, 2.5, 7, 40, 1000};
    char what[160];
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        double s = shapes[i];
        for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
            double x = xs[j];
            /* I_x(1, b) = 1 - (1 - x)^b */
            snprintf(what, sizeof what, "I_%g(1, %g)", x, s);
            check_rel(what, itab_beta_cdf(x, 1, s), -expm1(s * log1p(-x)));
            /* I_x(a, 1) = x^a */
            snprintf(what, sizeof what, "I_%g(%g, 1)", x, s);
            check_rel(what, itab_beta_cdf(x, s, 1), pow(x, s));
            /* the arcsine law, each side where its argument is exact */
            double as = x <= 0.5 ? 2 / M_PI * asin(sqrt(x)) : 1 - 2 / M_PI * asin(sqrt(1 - x));
            snprintf(what, sizeof what, "I_%g(1/2, 1/2)", x);
            check_rel(what, itab_beta_cdf(x, 0.5, 0.5), as);
        }
    }
    /* I_1/2(a, a) = 1/2, for shapes from 1e-3 to 1e6. A concentrated beta's CDF cannot be more
     * precise than x is: beta(1e6, 1e6) has an sd of 3.5e-4 and a density of 1128 at 1/2, where
     * moving x by an ulp moves the CDF by 6e-14. Allowed: 1e-14, plus 4 such ulps. */
    static const double sym[] = {1e-3, 0.05, 0.5, 1, 3, 50, 1000, 1e5, 1e6};
    for (size_t i = 0; i < sizeof sym / sizeof sym[0]; i++) {
        double f = itab_beta_pdf(0.5, sym[i], sym[i]);
        snprintf(what, sizeof what, "I_1/2(%g, %g)", sym[i], sym[i]);
        check_abs(what, itab_beta_cdf(0.5, sym[i], sym[i]), 0.5, 1e-14 + 4 * f * 0x1p-54);
    }
    /* I_x(a, b) + I_1-x(b, a) = 1 (x chosen so that 1 - x is exact) */
    static const double pairs[][2] = {{2.5, 3.5}, {0.3, 7}, {60, 20}, {1.8, 3.2}, {0.05, 0.5}};
    static const double xr[] = {0.125, 0.3, 0.5, 0.7, 0.875};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        for (size_t j = 0; j < sizeof xr / sizeof xr[0]; j++) {
            double a = pairs[i][0], b = pairs[i][1], x = xr[j];
            snprintf(what, sizeof what, "I_%g(%g, %g) + I_%g(%g, %g)", x, a, b, 1 - x, b, a);
            check_abs(what, itab_beta_cdf(x, a, b) + itab_beta_cdf(1 - x, b, a), 1, 2e-15);
        }
}

/* For integer shapes, I_x(a, b) is the probability of at least a successes in a + b - 1 trials. */
static void test_cdf_binomial(void **state)
{
    static const int shapes[][2] = {{2, 3}, {3, 7}, {10, 4}, {25, 25}, {1, 60}, {40, 2}};
    static const double xs[] = {0.01, 0.1, 0.3, 0.5, 0.62, 0.9};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int a = shapes[i][0], n = a + shapes[i][1] - 1;
        for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
            long double x = xs[j], sum = 0, choose = 1; /* C(n, k) */
            for (int k = 0; k <= n; k++) {
                if (k >= a)
                    sum += choose * powl(x, k) * powl(1 - x, n - k);
                choose = choose * (n - k) / (k + 1);
            }
            char what[96];
            snprintf(what, sizeof what, "I_%g(%d, %d)", xs[j], a, shapes[i][1]);
            if (sum > 1e-280)
                check_rel(what, itab_beta_cdf(xs[j], a, shapes[i][1]), (double)sum);
        }
    }
}

/* The beta density from lgamma, independently of itab.c's Stirling-series form. */
static double density(double x, double a, double b)
{
    double lbeta = lgamma(a) + lgamma(b) - lgamma(a + b);
    return exp((a - 1) * log(x) + (b - 1) * log1p(-x) - lbeta);
}

/* I_X(a, b) by integrating the density: x = X s^4 makes the integrand
 * 4 X^a s^(4a-1) (1 - X s^4)^(b-1) / B(a, b) smooth at 0 for a >= 1/4, and Simpson's rule on 2^16
 * panels (in long double) is then good to about 1e-14. */
static double integrate_cdf(double X, double a, double b)
{
    const int n = 1 << 16;
    double lbeta = lgamma(a) + lgamma(b) - lgamma(a + b);
    long double sum = 0;
    for (int i = 0; i <= n; i++) {
        double s = (double)i / n;
        double g = s == 0 ? (4 * a - 1 == 0 ? 4 * exp(a * log(X) - lbeta) : 0)
                          : 4 * exp(a * log(X) + (4 * a - 1) * log(s) +
                                    (b - 1) * log1p(-X * s * s * s * s) - lbeta);
        sum += (long double)g * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
    }
    return (double)(sum / (3.0L * n));
}

static void test_cdf_integrated(void **state)
{
    static const double shapes[][2] = {
        {0.5, 3}, {2.5, 3.7}, {1.3, 0.8}, {30.5, 70.25}, {7.25, 2.5}};
    static const double Xs[] = {0.05, 0.3, 0.6, 0.9};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t j = 0; j < sizeof Xs / sizeof Xs[0]; j++) {
            double a = shapes[i][0], b = shapes[i][1], X = Xs[j];
            double want = integrate_cdf(X, a, b);
            if (want < 1e-200)
                continue;
            char what[96];
            snprintf(what, sizeof what, "I_%g(%g, %g) (integrated)", X, a, b);
            /* lgamma's own error at a + b = 100 is ~1e-13 of the density */
            check_abs(what, itab_beta_cdf(X, a, b), want, 1e-12 * want);
        }
}

static void test_pdf_and_domain(void **state)
{
    assert_true(itab_beta_pdf(0, 0.5, 2) == INFINITY);
    check_abs("pdf(0; 1, 3)", itab_beta_pdf(0, 1, 3), 3, 1e-14);
    assert_true(itab_beta_pdf(0, 2, 3) == 0);
    assert_true(itab_beta_pdf(1, 3, 0.5) == INFINITY);
    check_abs("pdf(1; 3, 1)", itab_beta_pdf(1, 3, 1), 3, 1e-14);
    assert_true(itab_beta_pdf(1, 3, 2) == 0);
    assert_true(itab_beta_pdf(-0.1, 2, 3) == 0 && itab_beta_pdf(1.1, 2, 3) == 0);
    check_abs("pdf(1/2; 1/2, 1/2)", itab_beta_pdf(0.5, 0.5, 0.5), 2 / M_PI, 1e-15);
    check_abs("pdf(0.3; 1, 1)", itab_beta_pdf(0.3, 1, 1), 1, 1e-15);
    static const double xs[] = {1e-5, 0.1, 0.5, 0.9, 1 - 1e-5};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "pdf(%g; 2.5, 3.7)", xs[i]);
        double want = density(xs[i], 2.5, 3.7);
        check_abs(what, itab_beta_pdf(xs[i], 2.5, 3.7), want, 1e-13 * want);
    }
    assert_true(isnan(itab_beta_cdf(0.5, 0, 1)) && isnan(itab_beta_cdf(0.5, 1, -1)));
    assert_true(isnan(itab_beta_cdf(NAN, 1, 1)) && isnan(itab_beta_pdf(0.5, NAN, 1)));
    assert_true(itab_beta_cdf(-1, 2, 3) == 0 && itab_beta_cdf(0, 2, 3) == 0);
    assert_true(itab_beta_cdf(1, 2, 3) == 1 && itab_beta_cdf(2, 2, 3) == 1);
}

/* ---- tables ---- */

/* A beta(a, b) on [lo, hi], and its CDF computed from whichever end is nearer, as precisely as the
 * distance from that end (for a generic table, any CDF with its data). */
struct law {
    const char *name;
    itab_fn cdf, pdf;
    double a, b, lo, hi;
    bool one_double; /* a pole at an end doubles cannot resolve: the exception may apply */
};

static double beta_cdf(double x, const void *arg)
{
    const struct law *d = arg;
    if (x <= d->lo)
        return 0;
    if (x >= d->hi)
        return 1;
    double span = d->hi - d->lo, z = (x - d->lo) / span;
    return z <= 0.5 ? itab_beta_cdf(z, d->a, d->b)
                    : 1 - itab_beta_cdf((d->hi - x) / span, d->b, d->a);
}

/* Kumaraswamy(a, b) on [0, 1]: F(x) = 1 - (1 - x^a)^b; a generic table's example. */
static double kuma_cdf(double x, const void *arg)
{
    const struct law *d = arg;
    return x <= 0 ? 0 : x >= 1 ? 1 : -expm1(d->b * log1p(-pow(x, d->a)));
}

static double kuma_pdf(double x, const void *arg)
{
    const struct law *d = arg;
    if (x <= 0 || x >= 1)
        return 0;
    return d->a * d->b * pow(x, d->a - 1) * pow(1 - pow(x, d->a), d->b - 1);
}

/* Triangular(lo, mode = a, hi): a density with a corner inside the support. */
static double tri_cdf(double x, const void *arg)
{
    const struct law *d = arg;
    double span = d->hi - d->lo;
    if (x <= d->lo)
        return 0;
    if (x >= d->hi)
        return 1;
    if (x <= d->a)
        return (x - d->lo) * (x - d->lo) / (span * (d->a - d->lo));
    return 1 - (d->hi - x) * (d->hi - x) / (span * (d->hi - d->a));
}

static double tri_pdf(double x, const void *arg)
{
    const struct law *d = arg;
    double span = d->hi - d->lo;
    if (x < d->lo || x > d->hi)
        return 0;
    return x <= d->a ? 2 * (x - d->lo) / (span * (d->a - d->lo))
                     : 2 * (d->hi - x) / (span * (d->hi - d->a));
}

static const struct law laws[] = {
    /* PERT: shapes in [1, 5] */
    {"pert(1,1)", beta_cdf, NULL, 1, 1, 0, 1, false},
    {"pert(1,5)", beta_cdf, NULL, 1, 5, 0, 1, false},
    {"pert(5,1)", beta_cdf, NULL, 5, 1, 0, 1, false},
    {"pert(1.8,3.2)", beta_cdf, NULL, 1.8, 3.2, 0, 1, false},
    {"pert(3,3)", beta_cdf, NULL, 3, 3, 0, 1, false},
    {"pert(1.0001,4.9999)", beta_cdf, NULL, 1.0001, 4.9999, 0, 1, false},
    {"pert(2,4) on [1e4,2.5e6]", beta_cdf, NULL, 2, 4, 1e4, 2.5e6, false},
    {"pert(4.2,1.3) on [-30,-10]", beta_cdf, NULL, 4.2, 1.3, -30, -10, false},
    /* general betas */
    {"beta(2,8)", beta_cdf, NULL, 2, 8, 0, 1, false},
    {"beta(0.5,0.5)", beta_cdf, NULL, 0.5, 0.5, 0, 1, true},
    {"beta(0.5,0.5) on [10,20]", beta_cdf, NULL, 0.5, 0.5, 10, 20, true},
    {"beta(50,200)", beta_cdf, NULL, 50, 200, 0, 1, false},
    {"beta(1000,1000)", beta_cdf, NULL, 1000, 1000, 0, 1, false},
    {"beta(0.05,0.05)", beta_cdf, NULL, 0.05, 0.05, 0, 1, true},
    {"beta(0.05,1)", beta_cdf, NULL, 0.05, 1, 0, 1, false},
    {"beta(0.2,3)", beta_cdf, NULL, 0.2, 3, 0, 1, false},
    {"beta(3,0.2)", beta_cdf, NULL, 3, 0.2, 0, 1, true},
    {"beta(0.05,1000)", beta_cdf, NULL, 0.05, 1000, 0, 1, false},
    {"beta(1000,0.05)", beta_cdf, NULL, 1000, 0.05, 0, 1, true},
    {"beta(0.7,0.7) on [-1,1]", beta_cdf, NULL, 0.7, 0.7, -1, 1, true},
    /* once missed the contract by 0.05% in the interval that ends one double below hi */
    {"beta(4.98..,0.718..) on [100,200]", beta_cdf, NULL, 4.983053085168403, 0.71819750880780664,
     100, 200, true},
    /* given by their CDF only */
    {"kumaraswamy(2,5)", kuma_cdf, kuma_pdf, 2, 5, 0, 1, false},
    {"triangular(2,3,5)", tri_cdf, tri_pdf, 3, 0, 2, 5, false},
};

static int build(struct itab *t, const struct law *d)
{
    if (d->cdf == beta_cdf)
        return itab_build_beta(t, d->a, d->b, d->lo, d->hi);
    return itab_build(t, d->cdf, d->pdf, d, d->lo, d->hi);
}

/* Checks one u; counts the points that needed the exception (*excepted). */
static void check_u(const struct law *d, const struct itab *t, double u, long *excepted)
{
    double x = itab_eval(t, u);
    if (!(x >= d->lo && x <= d->hi))
        fail_msg("%s: itab_eval(%.17g) = %.17g, outside [%g, %g]", d->name, u, x, d->lo, d->hi);
    double e = d->cdf(x, d) - u;
    if (fabs(e) <= ITAB_UERROR)
        return;
    /* the exception: the exact quantile is within one double of x */
    double below = d->cdf(nextafter(x, -INFINITY), d), above = d->cdf(nextafter(x, INFINITY), d);
    if (d->one_double && below <= u + 1e-14 && above >= u - 1e-14) {
        (*excepted)++;
        return;
    }
    fail_msg("%s: u %.17g gives x %.17g whose CDF is %.17g: u-error %.5g > %g "
             "(CDF one double below %.17g, above %.17g)",
             d->name, u, x, u + e, fabs(e), ITAB_UERROR, below, above);
}

static void test_uerror_bounds_monotone(void **state)
{
    static const double special[] = {0,         0x1p-54,   1e-300,    1e-15,       1e-12,
                                     1e-11,     1e-10,     1e-9,      0.5,         1 - 1e-9,
                                     1 - 1e-10, 1 - 1e-11, 1 - 1e-12, 1 - 0x1p-53, 1};
    const long grid = 20000, random = 20000;
    for (size_t i = 0; i < sizeof laws / sizeof laws[0]; i++) {
        const struct law *d = &laws[i];
        struct itab t;
        if (build(&t, d))
            fail_msg("%s: no table", d->name);
        assert_true(t.n >= 1 && t.n <= ITAB_MAX_INTERVALS);
        assert_true(t.uerror <= ITAB_UERROR);
        if (!(itab_eval(&t, 0) == d->lo && itab_eval(&t, 1) == d->hi))
            fail_msg("%s: u = 0 and 1 give %.17g and %.17g", d->name, itab_eval(&t, 0),
                     itab_eval(&t, 1));
        long excepted = 0;
        for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
            check_u(d, &t, special[k], &excepted);
        /* a grid, nondecreasing along it */
        double prev = d->lo;
        for (long k = 1; k < grid; k++) {
            double u = (double)k / grid, x = itab_eval(&t, u);
            check_u(d, &t, u, &excepted);
            if (!(x >= prev))
                fail_msg("%s: itab_eval(%.17g) = %.17g < %.17g just below", d->name, u, x, prev);
            prev = x;
        }
        /* random u */
        struct rng r;
        rng_init(&r, SEED, i);
        for (long k = 0; k < random; k++)
            check_u(d, &t, rng_uniform(&r), &excepted);
        /* inside every interval, densely in the two at either end (the tails, and the body's
         * ends, where the quantile may be singular); nondecreasing across every start */
        for (size_t j = 0; j < t.n; j++) {
            double u0 = t.seg[j].u, u1 = j + 1 < t.n ? t.seg[j + 1].u : 1;
            int m = j < 2 || j + 2 >= t.n ? 256 : 8;
            for (int k = 1; k < m; k++) {
                double u = u0 + (u1 - u0) * k / m;
                if (u > 0 && u < 1)
                    check_u(d, &t, u, &excepted);
            }
            if (u0 > 0 && u0 <= 1 && !(itab_eval(&t, u0) >= itab_eval(&t, nextafter(u0, 0))))
                fail_msg("%s: decreasing at interval %zu (u %.17g)", d->name, j, u0);
        }
        if (excepted && !d->one_double)
            fail_msg("%s: %ld points needed the exception", d->name, excepted);
        itab_free(&t);
    }
}

/* The mean and variance of the table's quantile over the midpoints of N equal strata of u. For a
 * nondecreasing x(u) the midpoint rule errs by at most (hi - lo) / N, and (x - mean)^2, which
 * decreases then increases, by at most 2 (hi - lo)^2 / N; a u-error of e moves each by at most
 * 2 e times the same scale. */
static void test_moments(void **state)
{
    static const double shapes[][2] = {{1, 5},     {1.8, 3.2}, {3, 3},   {2, 8},
                                       {0.5, 0.5}, {50, 200},  {0.05, 1}};
    const long n = 1L << 22;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        double a = shapes[i][0], b = shapes[i][1], lo = 10, hi = 30, span = hi - lo;
        double mean = lo + span * a / (a + b);
        double var = span * span * a * b / ((a + b) * (a + b) * (a + b + 1));
        struct itab t;
        if (itab_build_beta(&t, a, b, lo, hi))
            fail_msg("beta(%g, %g): no table", a, b);
        long double s1 = 0, s2 = 0;
        for (long k = 0; k < n; k++) {
            double y = itab_eval(&t, (k + 0.5) / n) - mean;
            s1 += y;
            s2 += (long double)y * y;
        }
        char what[96];
        snprintf(what, sizeof what, "beta(%g, %g) mean", a, b);
        check_abs(what, mean + (double)(s1 / n), mean, span / n + 2 * ITAB_UERROR * span);
        snprintf(what, sizeof what, "beta(%g, %g) variance", a, b);
        check_abs(what, (double)(s2 / n), var, 2 * span * span / n + 4 * ITAB_UERROR * span * span);
        itab_free(&t);
    }
}

static double bad_cdf(double x, const void *arg)
{
    return 0.25 + 0.5 * x; /* not 0 at lo */
}

static void test_refusals(void **state)
{
    static const double bad[][4] = {
        {0, 1, 0, 1},   {1, -1, 0, 1},       {NAN, 1, 0, 1},        {1, 1, 1, 1},
        {1, 1, 2, 1},   {1, 1, 0, INFINITY}, {1, 1, -1e308, 1e308}, {1e-4, 1, 0, 1},
        {2e6, 1, 0, 1}, {0.02, 1, 0, 1},     {1, 0.02, -1, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct itab t;
        memset(&t, 0x5a, sizeof t);
        if (itab_build_beta(&t, bad[i][0], bad[i][1], bad[i][2], bad[i][3]) != -1)
            fail_msg("beta(%g, %g) on [%g, %g] was accepted", bad[i][0], bad[i][1], bad[i][2],
                     bad[i][3]);
        assert_true(t.n == 0 && t.seg == NULL && t.mem == NULL);
        itab_free(&t);
        itab_free(&t);
    }
    /* a shape that small is fine where doubles do not resolve the end (it is not 0) */
    struct itab t;
    assert_int_equal(itab_build_beta(&t, 0.02, 1, 1, 2), 0);
    itab_free(&t);
    assert_int_equal(itab_build(&t, bad_cdf, bad_cdf, NULL, 0, 1), -1);
    assert_true(t.mem == NULL);
}

static void test_deterministic(void **state)
{
    struct itab t1, t2;
    assert_int_equal(itab_build_beta(&t1, 1.8, 3.2, 5, 9), 0);
    assert_int_equal(itab_build_beta(&t2, 1.8, 3.2, 5, 9), 0);
    assert_true(t1.n == t2.n && t1.gsize == t2.gsize);
    assert_memory_equal(t1.seg, t2.seg, (t1.n + 1) * sizeof *t1.seg);
    assert_memory_equal(t1.guide, t2.guide, ((size_t)t1.gsize + 1) * sizeof *t1.guide);
    itab_free(&t1);
    itab_free(&t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdf_closed_forms),
        cmocka_unit_test(test_cdf_binomial),
        cmocka_unit_test(test_cdf_integrated),
        cmocka_unit_test(test_pdf_and_domain),
        cmocka_unit_test(test_uerror_bounds_monotone),
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

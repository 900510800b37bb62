/*
 * Tests src/risk/stats.c, the exact multi-threaded summary of an array of annual losses, against a
 * straightforward reference written here: mc.c's former summarise() and curves() on a sorted copy
 * (qsort in the keys' order, -0 before +0), interpolated as mc_quantile does, sums in long double.
 *
 * Exact, bit for bit: percentiles, VaR, min, max, p_zero, p_exceed, the loss exceedance curve and
 * the histogram. Within 1e-12: the mean (relative to the mean absolute value, the scale of its
 * rounding errors), sd (relative, plus 1e-15 of the mean absolute value for arrays of equal
 * values), TVaR (relative to its terms' mean absolute value). Where the variance overflows a double
 * (|x| near 1e300) sd must be inf, as in mc.c; where its terms underflow (|x| near 1e-300) sd is
 * not checked. Every array is summarised on 1, 2, 3 and 8 threads with bit-identical results, with
 * and without the curves, and is left unmodified. Arrays: continuous, mostly zeros, all equal, all
 * zeros, both signs with -0 and +0, sizes around the 65536-value chunks, ties at the percentiles'
 * ranks (0 and other values), 1e300, 1e-300 and subnormals (with ranks right after the zeros in
 * their bucket), duplicates on both sides of the radix buckets' boundaries at every level, sorted
 * runs, hundreds of thresholds in one bucket and on the years' values, enough years for several
 * refinement passes. Every failure names the array and its seed.
 */
#include "../unit.h"

#include "risk/rng.h"
#include "risk/stats.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

#define NLEC 50 /* as mc.c's curves() */
#define NHIST 40

static const double default_thresholds[] = {0, -0.0, -5, 1, 1000, 25000, 1e5, 1e6, 1e300, -1e300};
#define NDEFAULT (sizeof default_thresholds / sizeof default_thresholds[0])

/* The thresholds the next arrays are checked with. */
static const double *thresholds = default_thresholds;
static size_t nthr = NDEFAULT;

/* ---- the reference --------------------------------------------------------------------------- */

static uint64_t bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Increasing values, -0 before +0. */
static int cmp_total(const void *pa, const void *pb)
{
    double x = *(const double *)pa, y = *(const double *)pb;
    if (x != y)
        return x < y ? -1 : 1;
    return (int)signbit(y) - (int)signbit(x);
}

struct ref {
    struct mc_summary s;
    double lec_x[NLEC], lec_p[NLEC], hist_edge[NHIST + 1];
    uint64_t hist_count[NHIST];
    long double m2, meanabs, tabs95, tabs99; /* scales for the tolerances */
};

static void reference(const double *a, size_t n, struct ref *r)
{
    memset(r, 0, sizeof *r);
    double *x = xmalloc(n * sizeof *x);
    memcpy(x, a, n * sizeof *x);
    qsort(x, n, sizeof *x, cmp_total);
    long double sum = 0, sabs = 0;
    uint64_t zero = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        sabs += fabsl((long double)x[i]);
        zero += x[i] == 0;
    }
    /* two passes, the second correcting the mean by the deviations' sum */
    long double mean = sum / n, d = 0, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        d += (long double)x[i] - mean;
        m2 += ((long double)x[i] - mean) * ((long double)x[i] - mean);
    }
    m2 -= d * d / n;
    mean += d / n;
    r->m2 = m2 > 0 ? m2 : 0;
    r->meanabs = sabs / n;
    r->s.mean = (double)mean;
    r->s.sd = n > 1 ? (double)sqrtl(r->m2 / (n - 1)) : 0;
    r->s.sem = r->s.sd / sqrt((double)n);
    r->s.min = x[0];
    r->s.max = x[n - 1];
    r->s.p_zero = (double)zero / (double)n;
    for (int i = 0; i < MC_NPCT; i++) {
        double q = mc_percentiles[i] / 100.0, h = (double)(n - 1) * q;
        size_t k = (size_t)h;
        double v = x[k];
        if (k + 1 < n && h > (double)k)
            v = x[k] + (h - (double)k) * (x[k + 1] - x[k]);
        r->s.pct[i] = v;
    }
    r->s.var95 = r->s.pct[7];
    r->s.var99 = r->s.pct[8];
    long double t95 = 0, t99 = 0;
    uint64_t c95 = 0, c99 = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i] >= r->s.var95) {
            t95 += x[i];
            r->tabs95 += fabsl((long double)x[i]);
            c95++;
        }
        if (x[i] >= r->s.var99) {
            t99 += x[i];
            r->tabs99 += fabsl((long double)x[i]);
            c99++;
        }
    }
    r->s.tvar95 = c95 ? (double)(t95 / c95) : r->s.var95;
    r->s.tvar99 = c99 ? (double)(t99 / c99) : r->s.var99;
    r->tabs95 = c95 ? r->tabs95 / c95 : 0;
    r->tabs99 = c99 ? r->tabs99 / c99 : 0;
    r->s.p_exceed = xcalloc(nthr + 1, sizeof *r->s.p_exceed);
    for (size_t t = 0; t < nthr; t++) {
        uint64_t c = 0;
        for (size_t i = 0; i < n; i++)
            c += x[i] > thresholds[t];
        r->s.p_exceed[t] = (double)c / (double)n;
    }

    /* mc.c's curves() */
    double lo = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > 0 && x[i] < lo)
            lo = x[i];
    if (!isfinite(lo))
        lo = 1;
    double hi = r->s.max > lo ? r->s.max : lo * 10;
    for (int k = 0; k < NLEC; k++)
        r->lec_x[k] = exp(log(lo) + (log(hi) - log(lo)) * k / (NLEC - 1));
    r->lec_x[0] = lo;
    r->lec_x[NLEC - 1] = hi;
    uint64_t above[NLEC + 1] = {0};
    for (size_t i = 0; i < n; i++) {
        size_t p = 0, q = NLEC;
        while (p < q) {
            size_t m = (p + q) / 2;
            if (r->lec_x[m] < x[i])
                p = m + 1;
            else
                q = m;
        }
        above[p]++;
    }
    uint64_t tail = 0;
    for (int k = NLEC - 1; k >= 0; k--) {
        tail += above[k + 1];
        r->lec_p[k] = (double)tail / (double)n;
    }
    double top = r->s.pct[MC_NPCT - 1] > 0 ? r->s.pct[MC_NPCT - 1] : (r->s.max > 0 ? r->s.max : 1);
    for (int k = 0; k <= NHIST; k++)
        r->hist_edge[k] = top * k / NHIST;
    r->hist_edge[NHIST] = top;
    for (size_t i = 0; i < n; i++) {
        /* curves() converts x / top * NHIST unclamped, undefined when it is out of range */
        double f = x[i] / top * NHIST;
        long k = f >= NHIST ? NHIST - 1 : f < 0 ? 0 : (long)f;
        while (k > 0 && x[i] < r->hist_edge[k])
            k--;
        while (k < NHIST - 1 && x[i] >= r->hist_edge[k + 1])
            k++;
        r->hist_count[k]++;
    }
    free(x);
}

/* ---- comparing ------------------------------------------------------------------------------- */

static void same_bits(const char *what, const char *field, int i, double got, double want)
{
    if (bits(got) != bits(want))
        fail_msg("%s: %s[%d] is %.17g (%016llx), want %.17g (%016llx)", what, field, i, got,
                 (unsigned long long)bits(got), want, (unsigned long long)bits(want));
}

/* Within tol, or a few of the smallest subnormals (the rounding of sums of subnormals). */
static void near(const char *what, const char *field, double got, long double want, long double tol)
{
    if ((long double)got == want)
        return;
    if (tol < 8 * (long double)DBL_TRUE_MIN)
        tol = 8 * (long double)DBL_TRUE_MIN;
    if (!(fabsl((long double)got - want) <= tol))
        fail_msg("%s: %s is %.17g, want %.17Lg (tolerance %.3Lg)", what, field, got, want, tol);
}

static void check_against(const char *what, const struct mc_summary *s, const struct mc_result *res,
                          const struct ref *r)
{
    for (int i = 0; i < MC_NPCT; i++)
        same_bits(what, "pct", i, s->pct[i], r->s.pct[i]);
    same_bits(what, "var95", 0, s->var95, r->s.var95);
    same_bits(what, "var99", 0, s->var99, r->s.var99);
    same_bits(what, "min", 0, s->min, r->s.min);
    same_bits(what, "max", 0, s->max, r->s.max);
    same_bits(what, "p_zero", 0, s->p_zero, r->s.p_zero);
    for (size_t t = 0; t < nthr; t++)
        same_bits(what, "p_exceed", (int)t, s->p_exceed[t], r->s.p_exceed[t]);
    near(what, "mean", s->mean, r->s.mean, 1e-12L * r->meanabs);
    near(what, "tvar95", s->tvar95, r->s.tvar95, 1e-12L * r->tabs95);
    near(what, "tvar99", s->tvar99, r->s.tvar99, 1e-12L * r->tabs99);
    if (r->m2 > DBL_MAX) {
        if (!isinf(s->sd))
            fail_msg("%s: sd is %.17g, want inf (the variance overflows)", what, s->sd);
    } else if (r->s.sd > 1e-150) {
        near(what, "sd", s->sd, r->s.sd, 1e-12L * r->s.sd + 1e-15L * r->meanabs);
    }
    if (!res)
        return;
    assert_int_equal(res->nlec, NLEC);
    assert_int_equal(res->nhist, NHIST);
    for (int i = 0; i < NLEC; i++) {
        same_bits(what, "lec_x", i, res->lec_x[i], r->lec_x[i]);
        same_bits(what, "lec_p", i, res->lec_p[i], r->lec_p[i]);
    }
    for (int i = 0; i <= NHIST; i++)
        same_bits(what, "hist_edge", i, res->hist_edge[i], r->hist_edge[i]);
    for (int i = 0; i < NHIST; i++)
        if (res->hist_count[i] != r->hist_count[i])
            fail_msg("%s: hist_count[%d] is %llu, want %llu", what, i,
                     (unsigned long long)res->hist_count[i], (unsigned long long)r->hist_count[i]);
}

/* Every field, bit for bit (events_* excluded: mcs_summarise leaves them alone). */
static void check_identical(const char *what, int threads, const struct mc_summary *a,
                            const struct mc_result *ra, const struct mc_summary *b,
                            const struct mc_result *rb)
{
    const double fa[] = {a->mean,  a->sd,    a->sem,    a->min,    a->max,
                         a->var95, a->var99, a->tvar95, a->tvar99, a->p_zero};
    const double fb[] = {b->mean,  b->sd,    b->sem,    b->min,    b->max,
                         b->var95, b->var99, b->tvar95, b->tvar99, b->p_zero};
    char field[64];
    snprintf(field, sizeof field, "on %d threads, field", threads);
    for (int i = 0; i < (int)(sizeof fa / sizeof fa[0]); i++)
        same_bits(what, field, i, fb[i], fa[i]);
    for (int i = 0; i < MC_NPCT; i++)
        same_bits(what, field, 100 + i, b->pct[i], a->pct[i]);
    for (size_t t = 0; t < nthr; t++)
        same_bits(what, field, 200 + (int)t, b->p_exceed[t], a->p_exceed[t]);
    if (!ra || !rb)
        return;
    assert_memory_equal(rb->lec_x, ra->lec_x, NLEC * sizeof *ra->lec_x);
    assert_memory_equal(rb->lec_p, ra->lec_p, NLEC * sizeof *ra->lec_p);
    assert_memory_equal(rb->hist_edge, ra->hist_edge, (NHIST + 1) * sizeof *ra->hist_edge);
    assert_memory_equal(rb->hist_count, ra->hist_count, NHIST * sizeof *ra->hist_count);
}

static void free_out(struct mc_summary *s, struct mc_result *res)
{
    free(s->p_exceed);
    free(res->lec_x);
    free(res->lec_p);
    free(res->hist_edge);
    free(res->hist_count);
}

/* Summarises a on 1, 2, 3 and 8 threads, with and without the curves, against the reference. */
static void check_array(const char *name, uint64_t seed, const double *a, size_t n)
{
    char what[160];
    snprintf(what, sizeof what, "%s (n %zu, seed %llu)", name, n, (unsigned long long)seed);
    double *copy = xmalloc(n * sizeof *copy);
    memcpy(copy, a, n * sizeof *copy);
    struct ref r;
    reference(a, n, &r);
    static const int threads[] = {1, 2, 3, 8};
    struct mc_summary s1;
    struct mc_result res1;
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        struct mc_summary s, bare;
        struct mc_result res;
        memset(&s, 0, sizeof s);
        memset(&bare, 0, sizeof bare);
        memset(&res, 0, sizeof res);
        s.events_mean = bare.events_mean = 7; /* left alone */
        mcs_summarise(a, n, threads[t], thresholds, nthr, &s, &res);
        mcs_summarise(a, n, threads[t], thresholds, nthr, &bare, NULL);
        if (s.events_mean != 7 || bare.events_mean != 7)
            fail_msg("%s: events_mean was changed", what);
        if (memcmp(copy, a, n * sizeof *a))
            fail_msg("%s: the array was modified", what);
        check_identical(what, threads[t], &s, &res, &bare, NULL);
        if (t == 0) {
            check_against(what, &s, &res, &r);
            s1 = s;
            res1 = res;
        } else {
            check_identical(what, threads[t], &s1, &res1, &s, &res);
            free_out(&s, &res);
        }
        free(bare.p_exceed);
    }
    free_out(&s1, &res1);
    free(r.s.p_exceed);
    free(copy);
}

/* ---- arrays ---------------------------------------------------------------------------------- */

static double normal(struct rng *g)
{
    return sqrt(-2 * log(rng_uniform(g))) * cos(6.283185307179586 * rng_uniform(g));
}

/* Annual losses: a share of years with none, the others lognormal. */
static void fill_losses(double *a, size_t n, double pzero, struct rng *g)
{
    for (size_t i = 0; i < n; i++)
        a[i] = rng_uniform(g) < pzero ? 0 : exp(10 + 1.5 * normal(g));
}

static void test_continuous(void **state)
{
    (void)state;
    const uint64_t seed = 11;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = 200000;
    double *a = xmalloc(n * sizeof *a);
    fill_losses(a, n, 0, &g);
    check_array("lognormal", seed, a, n);
    fill_losses(a, n, 0.3, &g);
    check_array("lognormal, 30% zeros", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = rng_uniform(&g) * 1e6;
    check_array("uniform", seed, a, n);
    free(a);
}

static void test_zeros(void **state)
{
    (void)state;
    const uint64_t seed = 12;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = 200000;
    double *a = xmalloc(n * sizeof *a);
    fill_losses(a, n, 0.95, &g);
    check_array("95% zeros", seed, a, n);
    fill_losses(a, n, 0.999, &g);
    check_array("99.9% zeros", seed, a, n);
    memset(a, 0, n * sizeof *a);
    check_array("all zeros", seed, a, 70000);
    for (size_t i = 0; i < n; i++)
        a[i] = rng_uniform(&g) < 0.5 ? -0.0 : 0.0;
    check_array("-0 and +0", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = -0.0;
    check_array("all -0", seed, a, 1000);
    free(a);
}

static void test_equal(void **state)
{
    (void)state;
    size_t n = 100000;
    double *a = xmalloc(n * sizeof *a);
    static const double values[] = {1234.5, 0.1, -3, 1e300, 5e-324};
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        for (size_t i = 0; i < n; i++)
            a[i] = values[v];
        char name[64];
        snprintf(name, sizeof name, "all equal to %g", values[v]);
        check_array(name, 0, a, n);
    }
    free(a);
}

static void test_signs(void **state)
{
    (void)state;
    const uint64_t seed = 13;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = 150000;
    double *a = xmalloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform(&g);
        a[i] = u < 0.1 ? 0.0 : u < 0.2 ? -0.0 : 1000 * normal(&g);
    }
    check_array("both signs, -0 and +0", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = -exp(5 * normal(&g));
    check_array("all negative", seed, a, n);
    free(a);
}

static void test_sizes(void **state)
{
    (void)state;
    const uint64_t seed = 14;
    struct rng g;
    rng_init(&g, seed, 0);
    static const size_t sizes[] = {1, 2, 3, 4, 5, 10, 101, 65535, 65536, 65537, 131073};
    double *a = xmalloc(131073 * sizeof *a);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        char name[64];
        fill_losses(a, sizes[si], 0.2, &g);
        snprintf(name, sizeof name, "losses, %zu years", sizes[si]);
        check_array(name, seed, a, sizes[si]);
        for (size_t i = 0; i < sizes[si]; i++)
            a[i] = normal(&g);
        snprintf(name, sizeof name, "normal, %zu years", sizes[si]);
        check_array(name, seed, a, sizes[si]);
    }
    free(a);
}

/* Ties: few distinct values; one value holding the ranks of several percentiles among continuous
 * others, so its bucket is refined down to all 64 bits; sorted runs. */
static void test_ties(void **state)
{
    (void)state;
    const uint64_t seed = 15;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = 200000;
    double *a = xmalloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = floor(rng_uniform(&g) * 10);
    check_array("ten values", seed, a, n);
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform(&g);
        a[i] = u > 0.3 && u < 0.8 ? 25000 : exp(10 + normal(&g));
    }
    check_array("half the years at 25000", seed, a, n);
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform(&g);
        a[i] = u > 0.94 && u < 0.999 ? 1e6 : u < 0.5 ? 0 : exp(10 + normal(&g));
    }
    check_array("VaR 95, VaR 99 and the 99.9th percentile at 1e6", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = (double)(i / 3);
    check_array("increasing, in threes", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = 1e6 - (double)i * 0.25;
    check_array("decreasing", seed, a, n);
    free(a);
}

static void test_magnitudes(void **state)
{
    (void)state;
    const uint64_t seed = 16;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = 100000;
    double *a = xmalloc(n * sizeof *a);
    static const double odd[] = {1e300,  -1e300,  1e-300, -1e-300, 5e-324,  -5e-324,
                                 1e-310, -1e-310, 0.0,    -0.0,    DBL_MIN, -DBL_MIN};
    const size_t nodd = sizeof odd / sizeof odd[0];
    for (size_t i = 0; i < n; i++)
        a[i] = odd[(size_t)(rng_uniform(&g) * (double)nodd)];
    check_array("huge, tiny and subnormal", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = 1e300 * exp(normal(&g));
    check_array("around 1e300", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = rng_uniform(&g) < 0.3 ? 0 : 1e-300 * exp(normal(&g));
    check_array("around 1e-300", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = rng_uniform(&g) < 0.3 ? 0 : from_bits(rng_u64(&g) % 100000);
    check_array("subnormal", seed, a, n);
    free(a);
}

/* Values whose keys (as stats.c orders them: the bits of a positive value with the sign bit set)
 * sit on both sides of a multiple of 2^b, for the radix levels' boundaries. */
static void test_bucket_edges(void **state)
{
    (void)state;
    const uint64_t seed = 17;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = 150000;
    double *a = xmalloc(n * sizeof *a);
    static const unsigned shifts[] = {48, 37, 36, 33, 32, 27, 22, 21, 16, 11, 6, 5, 0};
    for (size_t si = 0; si < sizeof shifts / sizeof shifts[0]; si++) {
        /* a handful of boundaries near 1000 and -1000, each value repeated */
        uint64_t base = bits(1000.0) >> shifts[si] << shifts[si];
        for (size_t i = 0; i < n; i++) {
            uint64_t off = (uint64_t)(rng_uniform(&g) * 4) << shifts[si];
            int64_t d = (int64_t)(rng_uniform(&g) * 3) - 1; /* -1, 0, +1 */
            uint64_t u = base + off + (uint64_t)d;
            a[i] = rng_uniform(&g) < 0.2 ? -from_bits(u) : from_bits(u);
        }
        char name[64];
        snprintf(name, sizeof name, "duplicates around multiples of 2^%u", shifts[si]);
        check_array(name, seed, a, n);
    }
    /* 1.0 is the first value of its top-16-bit bucket */
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform(&g);
        a[i] = u < 0.45 ? 1.0 : u < 0.9 ? nextafter(1.0, 0) : nextafter(1.0, 2);
    }
    check_array("1 and its neighbours", seed, a, n);
    free(a);
}

/* A percentile's rank exactly at the first value after the zeros in the zeros' bucket (subnormals
 * below 2^-1026 share it with +0). */
static void test_zero_bucket(void **state)
{
    (void)state;
    size_t n = 1001; /* h = 500 for the median */
    double *a = xmalloc(n * sizeof *a);
    for (size_t zeros = 498; zeros <= 502; zeros++) {
        for (size_t i = 0; i < n; i++)
            a[(i * 389) % n] = i < zeros ? 0.0 : from_bits(1 + i);
        char name[64];
        snprintf(name, sizeof name, "%zu zeros then subnormals", zeros);
        check_array(name, 0, a, n);
        for (size_t i = 0; i < n; i++)
            a[(i * 389) % n] = i < zeros ? -from_bits(1 + i) : -0.0;
        snprintf(name, sizeof name, "negative subnormals then %zu -0", n - zeros);
        check_array(name, 0, a, n);
    }
    free(a);
}

/* Many thresholds, hundreds of them inside one top-16-bit bucket, and on the years' own values. */
static void test_thresholds(void **state)
{
    (void)state;
    const uint64_t seed = 19;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = 100000, nt = 700;
    double *a = xmalloc(n * sizeof *a), *t = xmalloc(nt * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        /* on a threshold, or the first value above one (the boundary counted) */
        double v = 1000 + floor(rng_uniform(&g) * 500) / 8;
        a[i] = rng_uniform(&g) < 0.2 ? 0 : rng_uniform(&g) < 0.5 ? v : nextafter(v, INFINITY);
    }
    for (size_t i = 0; i < nt; i++)
        t[i] = i < 600 ? 1000 + (double)i / 16 : exp(20 * rng_uniform(&g)) - 1;
    thresholds = t;
    nthr = nt;
    check_array("700 thresholds, 600 in one bucket", seed, a, n);
    nthr = 0;
    check_array("no thresholds", seed, a, n);
    thresholds = default_thresholds;
    nthr = NDEFAULT;
    free(t);
    free(a);
}

/* Enough years that the wanted ranks' buckets are too big to gather at once: refinement passes. */
static void test_large(void **state)
{
    (void)state;
    const uint64_t seed = 18;
    struct rng g;
    rng_init(&g, seed, 0);
    size_t n = ((size_t)1 << 20) + 123;
    double *a = xmalloc(n * sizeof *a);
    fill_losses(a, n, 0.3, &g);
    check_array("large, 30% zeros", seed, a, n);
    for (size_t i = 0; i < n; i++)
        a[i] = 1e5 + normal(&g);
    check_array("large, narrow", seed, a, n);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_continuous),  cmocka_unit_test(test_zeros),
        cmocka_unit_test(test_equal),       cmocka_unit_test(test_signs),
        cmocka_unit_test(test_sizes),       cmocka_unit_test(test_ties),
        cmocka_unit_test(test_magnitudes),  cmocka_unit_test(test_bucket_edges),
        cmocka_unit_test(test_zero_bucket), cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "risk/mc.h"

#include "core/alloc.h"
#include "core/err.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double mc_percentiles[MC_NPCT] = {1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9};

#define COPULA_STREAM (((uint64_t)0xFFFFF) << 40)
#define NLEC 50
#define NHIST 40

/* ---- one year of one scenario ---------------------------------------------------------------------- */

static inline double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* The frequency draw a copula correlates: the loss event frequency, or the threat event frequency. */
static inline double freq_draw(const struct fair_scenario *s, struct rng *r)
{
    if (s->freq == FREQ_LEF)
        return dist_sample(&s->lef, r);
    if (s->tef_by_parts) { /* draws in a fixed order: C leaves operand order unspecified */
        double cf = dist_sample(&s->cf, r);
        double poa = clamp01(dist_sample(&s->poa, r));
        return cf * poa;
    }
    return dist_sample(&s->tef, r);
}

static inline double event_loss(const struct fair_scenario *s, struct rng *r)
{
    double loss = fair_magnitude_sample(&s->primary, r);
    if (s->has_secondary) {
        double u = rng_uniform(r);
        double slef = clamp01(dist_sample(&s->slef, r));
        if (u < slef)
            loss += fair_magnitude_sample(&s->secondary, r);
    }
    return loss;
}

/* Compound: a Poisson count of loss events at the year's rate, each with its own magnitude. */
static inline double year_compound(const struct fair_scenario *s, double rate, struct rng *r,
                                   unsigned long *events)
{
    unsigned long n = 0;
    switch (s->freq) {
    case FREQ_LEF:
        n = rng_poisson(r, rate);
        break;
    case FREQ_TEF_VULN:
        n = rng_poisson(r, rate * clamp01(dist_sample(&s->vuln, r)));
        break;
    case FREQ_TEF_TCRS: {
        unsigned long threats = rng_poisson(r, rate);
        for (unsigned long i = 0; i < threats; i++) {
            double tc = dist_sample(&s->tc, r);
            double rs = dist_sample(&s->rs, r);
            n += tc > rs;
        }
        break;
    }
    }
    if (n > MC_MAX_EVENTS)
        n = MC_MAX_EVENTS; /* a bound on the work of one year, whatever the parameters */
    double loss = 0;
    for (unsigned long i = 0; i < n; i++)
        loss += event_loss(s, r);
    *events = n;
    return loss;
}

/* Product (pyfair): one frequency sample times one magnitude sample; secondary loss is SLEF x SLM. */
static inline double year_product(const struct fair_scenario *s, double rate, struct rng *r)
{
    double lef = rate;
    if (s->freq == FREQ_TEF_VULN)
        lef = rate * clamp01(dist_sample(&s->vuln, r));
    else if (s->freq == FREQ_TEF_TCRS) {
        double tc = dist_sample(&s->tc, r);
        double rs = dist_sample(&s->rs, r);
        lef = tc > rs ? rate : 0;
    }
    double lm = fair_magnitude_sample(&s->primary, r);
    if (s->has_secondary) {
        double slef = clamp01(dist_sample(&s->slef, r));
        double slm = fair_magnitude_sample(&s->secondary, r);
        lm += slef * slm;
    }
    return lef * lm;
}

/* ---- the run --------------------------------------------------------------------------------------- */

struct ev { /* per (scenario, block) event counts, merged in block order */
    double sum, sumsq;
    uint64_t max, zero;
};

struct run {
    const struct fair_portfolio *p;
    const struct mc_opts *o;
    uint64_t nblocks;
    atomic_uint_fast64_t next_block, done_years;
    double *port;      /* iterations: pass 1 writes the portfolio's annual losses */
    double *one;       /* pass 2 (several scenarios): the annual losses of scenario `only` */
    long only;         /* -1 in pass 1 */
    struct ev *ev;     /* (n + 1) x nblocks: row n is the portfolio's events per year */
    double *chol;      /* lower-triangular Cholesky factor of the correlation, or NULL */
    atomic_bool cancelled;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct zi {
    double z;
    uint32_t i;
};

static int cmp_zi(const void *a, const void *b)
{
    const struct zi *x = a, *y = b;
    return (x->z > y->z) - (x->z < y->z);
}

/* Iman-Conover within a block: the scenarios' frequency draws are reordered so their ranks follow
 * correlated normals. rates is n x len; rates[s][i] becomes the draw assigned to year i. With
 * only >= 0 just that scenario's row is drawn and reordered (the normals are the same either way). */
static void correlate_block(const struct run *R, uint64_t b, size_t len, double *rates,
                            struct zi *tmp, double *z)
{
    size_t n = R->p->n;
    struct rng cr;
    rng_init(&cr, R->o->seed, COPULA_STREAM | b);
    double eps[n > 0 ? n : 1];
    size_t s_lo = R->only >= 0 ? (size_t)R->only : 0, s_hi = R->only >= 0 ? s_lo + 1 : n;
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < n; k++)
            eps[k] = rng_normal(&cr);
        for (size_t s = s_lo; s < s_hi; s++) {
            double acc = 0;
            for (size_t k = 0; k <= s; k++)
                acc += R->chol[s * n + k] * eps[k];
            z[s * len + i] = acc;
        }
    }
    for (size_t s = s_lo; s < s_hi; s++) {
        double *rs = rates + s * len;
        qsort(rs, len, sizeof *rs, cmp_double);
        for (size_t i = 0; i < len; i++) {
            tmp[i].z = z[s * len + i];
            tmp[i].i = (uint32_t)i;
        }
        qsort(tmp, len, sizeof *tmp, cmp_zi);
        /* the year with the k-th smallest normal gets the k-th smallest draw */
        for (size_t k = 0; k < len; k++)
            z[s * len + tmp[k].i] = rs[k];
        memcpy(rs, z + s * len, len * sizeof *rs);
    }
}

/* Simulates block b: in pass 1 every scenario, summed into port; in pass 2 scenario `only` into one. */
static void run_block(struct run *R, uint64_t b, double *rates, struct zi *tmp, double *z,
                      uint32_t *yev)
{
    const struct fair_portfolio *p = R->p;
    uint64_t start = b * MC_BLOCK;
    size_t len = (size_t)(start + MC_BLOCK <= R->o->iterations ? MC_BLOCK : R->o->iterations - start);
    bool compound = R->o->semantics == MC_COMPOUND;
    bool pass1 = R->only < 0;
    size_t s_lo = pass1 ? 0 : (size_t)R->only, s_hi = pass1 ? p->n : s_lo + 1;
    struct rng r;
    if (R->chol) {
        for (size_t s = s_lo; s < s_hi; s++) {
            rng_init(&r, R->o->seed, (uint64_t)s << 40 | b);
            for (size_t i = 0; i < len; i++)
                rates[s * len + i] = freq_draw(&p->s[s], &r);
        }
        correlate_block(R, b, len, rates, tmp, z);
    }
    double *out = (pass1 ? R->port : R->one) + start;
    memset(out, 0, len * sizeof *out);
    if (compound && pass1)
        memset(yev, 0, len * sizeof *yev);
    for (size_t s = s_lo; s < s_hi; s++) {
        const struct fair_scenario *sc = &p->s[s];
        /* with a copula the frequency draws came first on this stream; the years continue it */
        if (!R->chol)
            rng_init(&r, R->o->seed, (uint64_t)s << 40 | b);
        else {
            rng_init(&r, R->o->seed, (uint64_t)s << 40 | b);
            for (size_t i = 0; i < len; i++)
                (void)freq_draw(sc, &r); /* the same position as pass 1, whichever pass this is */
        }
        struct ev e = {0};
        for (size_t i = 0; i < len; i++) {
            double rate = R->chol ? rates[s * len + i] : freq_draw(sc, &r);
            double loss;
            if (compound) {
                unsigned long n = 0;
                loss = year_compound(sc, rate, &r, &n);
                e.sum += (double)n;
                e.sumsq += (double)n * (double)n;
                if (n > e.max)
                    e.max = n;
                e.zero += n == 0;
                if (pass1)
                    yev[i] += (uint32_t)(n < UINT32_MAX - yev[i] ? n : UINT32_MAX - yev[i]);
            } else {
                loss = year_product(sc, rate, &r);
            }
            out[i] += loss;
        }
        if (pass1)
            R->ev[s * R->nblocks + b] = e;
    }
    if (compound && pass1) {
        struct ev e = {0};
        for (size_t i = 0; i < len; i++) {
            e.sum += yev[i];
            e.sumsq += (double)yev[i] * yev[i];
            if (yev[i] > e.max)
                e.max = yev[i];
            e.zero += yev[i] == 0;
        }
        R->ev[p->n * R->nblocks + b] = e;
    }
    atomic_fetch_add(&R->done_years, len * (s_hi - s_lo)); /* scenario-years */
}

static void *worker(void *arg)
{
    struct run *R = arg;
    size_t n = R->p->n;
    double *rates = R->chol ? xmalloc(n * MC_BLOCK * sizeof *rates) : NULL;
    double *z = R->chol ? xmalloc(n * MC_BLOCK * sizeof *z) : NULL;
    struct zi *tmp = R->chol ? xmalloc(MC_BLOCK * sizeof *tmp) : NULL;
    uint32_t *yev = xmalloc(MC_BLOCK * sizeof *yev);
    for (;;) {
        if (R->o->cancel && atomic_load(R->o->cancel)) {
            atomic_store(&R->cancelled, true);
            /* let the progress loop see the pass as finished */
            atomic_store(&R->next_block, R->nblocks);
        }
        uint64_t b = atomic_fetch_add(&R->next_block, 1);
        if (b >= R->nblocks)
            break;
        run_block(R, b, rates, tmp, z, yev);
    }
    free(yev);
    free(rates);
    free(z);
    free(tmp);
    return NULL;
}

/* Cholesky of a correlation matrix that may be only semi-definite (zero pivots are allowed). */
static int cholesky(const double *c, size_t n, double *l, char *err, size_t errlen)
{
    memset(l, 0, n * n * sizeof *l);
    for (size_t j = 0; j < n; j++) {
        double d = c[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= l[j * n + k] * l[j * n + k];
        if (d < -1e-9) {
            snprintf(err, errlen,
                     "correlation: the matrix is not positive semi-definite (it fails at row %zu)",
                     j);
            return AEG_EINVAL;
        }
        d = d > 0 ? sqrt(d) : 0;
        l[j * n + j] = d;
        for (size_t i = j + 1; i < n; i++) {
            double v = c[i * n + j];
            for (size_t k = 0; k < j; k++)
                v -= l[i * n + k] * l[j * n + k];
            if (d > 0) {
                l[i * n + j] = v / d;
            } else if (fabs(v) > 1e-9) {
                snprintf(err, errlen,
                         "correlation: the matrix is not positive semi-definite (rows %zu and %zu)",
                         j, i);
                return AEG_EINVAL;
            }
        }
    }
    return AEG_OK;
}

/* ---- statistics ------------------------------------------------------------------------------------ */

double mc_select(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        /* median of three as pivot */
        size_t mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi];
        double pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* The smallest value of a[from..n). */
static double min_from(const double *a, size_t from, size_t n)
{
    double m = a[from];
    for (size_t i = from + 1; i < n; i++)
        if (a[i] < m)
            m = a[i];
    return m;
}

double mc_quantile(double *a, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t k = (size_t)h;
    double lo = mc_select(a, n, k);
    if (k + 1 >= n || h == (double)k)
        return lo;
    double hi = min_from(a, k + 1, n); /* after selection everything right of k is >= a[k] */
    return lo + (h - (double)k) * (hi - lo);
}

/* Quantiles in increasing order on one scratch array: each selection narrows the next. */
static void quantiles(double *a, size_t n, const double *q, size_t nq, double *out)
{
    size_t from = 0;
    for (size_t i = 0; i < nq; i++) {
        double h = (double)(n - 1) * q[i];
        size_t k = (size_t)h;
        double lo = mc_select(a + from, n - from, k - from);
        double v = lo;
        if (k + 1 < n && h > (double)k)
            v = lo + (h - (double)k) * (min_from(a, k + 1, n) - lo);
        out[i] = v;
        from = k;
    }
}

/* Summary of one array of annual losses; reorders a (quantiles are found by selection in place). */
static void summarise(double *a, size_t n, const struct fair_portfolio *p, struct mc_summary *s)
{
    double sum = 0, min = INFINITY, max = -INFINITY;
    uint64_t zero = 0;
    for (size_t i = 0; i < n; i++) {
        double v = a[i];
        sum += v;
        if (v < min)
            min = v;
        if (v > max)
            max = v;
        zero += v == 0;
    }
    double mean = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - mean;
        ss += d * d;
    }
    s->mean = mean;
    s->sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
    s->sem = s->sd / sqrt((double)n);
    s->min = min;
    s->max = max;
    s->p_zero = (double)zero / (double)n;
    s->p_exceed = xcalloc(p->nthresholds + 1, sizeof *s->p_exceed);
    for (size_t t = 0; t < p->nthresholds; t++) {
        uint64_t c = 0;
        for (size_t i = 0; i < n; i++)
            c += a[i] > p->thresholds[t];
        s->p_exceed[t] = (double)c / (double)n;
    }
    /* percentiles, with VaR 95 and 99 among them */
    double q[MC_NPCT];
    for (int i = 0; i < MC_NPCT; i++)
        q[i] = mc_percentiles[i] / 100.0;
    quantiles(a, n, q, MC_NPCT, s->pct);
    s->var95 = s->pct[7];
    s->var99 = s->pct[8];
    /* TVaR: the mean of the years at or above VaR */
    double t95 = 0, t99 = 0;
    uint64_t c95 = 0, c99 = 0;
    for (size_t i = 0; i < n; i++) {
        double v = a[i];
        if (v >= s->var95) {
            t95 += v;
            c95++;
        }
        if (v >= s->var99) {
            t99 += v;
            c99++;
        }
    }
    s->tvar95 = c95 ? t95 / (double)c95 : s->var95;
    s->tvar99 = c99 ? t99 / (double)c99 : s->var99;
}

static void merge_events(const struct run *R, size_t s, uint64_t n, struct mc_summary *out)
{
    double sum = 0, sumsq = 0;
    uint64_t max = 0, zero = 0;
    for (uint64_t b = 0; b < R->nblocks; b++) {
        const struct ev *e = &R->ev[s * R->nblocks + b];
        sum += e->sum;
        sumsq += e->sumsq;
        if (e->max > max)
            max = e->max;
        zero += e->zero;
    }
    out->events_mean = sum / (double)n;
    double var = n > 1 ? (sumsq - sum * sum / (double)n) / (double)(n - 1) : 0;
    out->events_sd = var > 0 ? sqrt(var) : 0;
    out->events_max = max;
    out->events_p_zero = (double)zero / (double)n;
}

static void curves(const double *x, size_t n, const struct mc_summary *s, struct mc_result *res)
{
    /* LEC: 50 log-spaced losses from the smallest positive loss (or 1) to the largest */
    double lo = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > 0 && x[i] < lo)
            lo = x[i];
    if (!isfinite(lo))
        lo = 1;
    double hi = s->max > lo ? s->max : lo * 10;
    res->nlec = NLEC;
    res->lec_x = xcalloc(NLEC, sizeof *res->lec_x);
    res->lec_p = xcalloc(NLEC, sizeof *res->lec_p);
    for (int k = 0; k < NLEC; k++)
        res->lec_x[k] = exp(log(lo) + (log(hi) - log(lo)) * k / (NLEC - 1));
    res->lec_x[0] = lo; /* the ends exactly, not as exp(log(x)) rounds them */
    res->lec_x[NLEC - 1] = hi;
    uint64_t *above = xcalloc(NLEC + 1, sizeof *above); /* above[k]: years with loss in (x_{k-1}, x_k] */
    for (size_t i = 0; i < n; i++) {
        /* number of points strictly below x[i]: the year exceeds exactly those */
        size_t a = 0, b = NLEC;
        while (a < b) {
            size_t m = (a + b) / 2;
            if (res->lec_x[m] < x[i])
                a = m + 1;
            else
                b = m;
        }
        above[a]++;
    }
    /* P(L > x_k) = years whose loss is above x_k = those counted at indices > k */
    uint64_t tail = 0;
    for (int k = NLEC - 1; k >= 0; k--) {
        tail += above[k + 1];
        res->lec_p[k] = (double)tail / (double)n;
    }
    free(above);
    /* histogram: 40 equal bins from 0 to the 99.9th percentile; the last also holds the rest */
    double top = s->pct[MC_NPCT - 1] > 0 ? s->pct[MC_NPCT - 1] : (s->max > 0 ? s->max : 1);
    res->nhist = NHIST;
    res->hist_edge = xcalloc(NHIST + 1, sizeof *res->hist_edge);
    res->hist_count = xcalloc(NHIST, sizeof *res->hist_count);
    for (int k = 0; k <= NHIST; k++)
        res->hist_edge[k] = top * k / NHIST;
    res->hist_edge[NHIST] = top;
    for (size_t i = 0; i < n; i++) {
        long k = (long)(x[i] / top * NHIST);
        if (k >= NHIST)
            k = NHIST - 1;
        if (k < 0)
            k = 0;
        /* the division and the edges round differently: settle on the edges reported */
        while (k > 0 && x[i] < res->hist_edge[k])
            k--;
        while (k < NHIST - 1 && x[i] >= res->hist_edge[k + 1])
            k++;
        res->hist_count[k]++;
    }
}

/* Statistics that overflowed (every year finite, their sum or spread not) cannot be reported. */
static int finite_or_fail(const struct mc_summary *s, const char *what, char *err, size_t errlen)
{
    if (isfinite(s->mean) && isfinite(s->sd) && isfinite(s->tvar95) && isfinite(s->tvar99))
        return AEG_OK;
    snprintf(err, errlen,
             "%s: the statistics of the simulated losses overflow (they exceed 1.8e308): check "
             "the magnitudes' parameters",
             what);
    return AEG_EINVAL;
}

/* Runs the blocks of one pass on nthreads threads, reporting progress from this thread. */
static void run_pass(struct run *R, int nthreads, uint64_t total)
{
    /* the pass's end, taken before any worker runs (a fast pass may be over before the loop) */
    uint64_t target = atomic_load(&R->done_years) +
                      (R->only < 0 ? R->o->iterations * R->p->n : R->o->iterations);
    pthread_t *th = xcalloc((size_t)nthreads, sizeof *th);
    for (int t = 0; t < nthreads; t++)
        pthread_create(&th[t], NULL, worker, R);
    if (R->o->progress) {
        while (atomic_load(&R->done_years) < target && !atomic_load(&R->cancelled)) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
            R->o->progress(atomic_load(&R->done_years), total, R->o->progress_arg);
        }
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    free(th);
}

int mc_run(const struct fair_portfolio *p, const struct mc_opts *o, struct mc_result *out, char *err,
           size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (o->iterations < 1 || o->iterations > (uint64_t)1 << 36 || o->threads < 1 || p->n < 1) {
        snprintf(err, errlen, "iterations must be at least 1 and threads at least 1");
        return AEG_EINVAL;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t n = (size_t)o->iterations;
    struct run R = {.p = p, .o = o, .nblocks = (o->iterations + MC_BLOCK - 1) / MC_BLOCK};
    int rc = AEG_OK;
    if (p->correlation && p->n > 1) {
        R.chol = xmalloc(p->n * p->n * sizeof *R.chol);
        if ((rc = cholesky(p->correlation, p->n, R.chol, err, errlen))) {
            free(R.chol);
            return rc;
        }
    }
    R.port = xmalloc(n * sizeof *R.port);
    R.ev = xcalloc((p->n + 1) * R.nblocks, sizeof *R.ev);
    R.only = -1;
    int nthreads = o->threads < (int)R.nblocks ? o->threads : (int)R.nblocks;
    uint64_t total = o->iterations * p->n * (p->n > 1 ? 2 : 1); /* scenario-years, both passes */
    double *scratch = xmalloc(n * sizeof *scratch);

    /* pass 1: every scenario, summed into the portfolio's years */
    run_pass(&R, nthreads, total);
    if (atomic_load(&R.cancelled))
        goto cancelled;
    /* a year whose loss overflowed makes every statistic meaningless: say so instead */
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(R.port[i])) {
            snprintf(err, errlen,
                     "simulated year %zu's loss is not a finite number (it overflowed): check "
                     "the magnitudes' parameters",
                     i + 1);
            rc = AEG_EINVAL;
            goto fail;
        }
    }
    memcpy(scratch, R.port, n * sizeof *scratch);
    summarise(scratch, n, p, &out->portfolio);
    if ((rc = finite_or_fail(&out->portfolio, "the portfolio", err, errlen)))
        goto fail;
    curves(scratch, n, &out->portfolio, out);

    out->iterations = o->iterations;
    out->seed = o->seed;
    out->semantics = o->semantics;
    out->threads = nthreads;
    out->n = p->n;
    out->nthresholds = p->nthresholds;
    out->thresholds = xcalloc(p->nthresholds + 1, sizeof *out->thresholds);
    if (p->nthresholds)
        memcpy(out->thresholds, p->thresholds, p->nthresholds * sizeof *out->thresholds);
    out->scenario = xcalloc(p->n, sizeof *out->scenario);
    out->contrib_mean = xcalloc(p->n, sizeof *out->contrib_mean);
    out->contrib_tvar99 = xcalloc(p->n, sizeof *out->contrib_tvar99);
    double var99 = out->portfolio.var99;

    /* pass 2 (several scenarios): each scenario again, alone, from the same streams, so memory stays
     * at two arrays of years whatever the number of scenarios */
    for (size_t s = 0; s < p->n; s++) {
        double *years = R.port;
        if (p->n > 1) {
            R.only = (long)s;
            R.one = scratch;
            atomic_store(&R.next_block, 0);
            run_pass(&R, nthreads, total);
            if (atomic_load(&R.cancelled))
                goto cancelled;
            years = scratch;
        }
        uint64_t tail = 0;
        double in_tail = 0;
        for (size_t i = 0; i < n; i++)
            if (R.port[i] >= var99) {
                tail++;
                in_tail += years[i];
            }
        out->contrib_tvar99[s] = tail ? in_tail / (double)tail : 0;
        if (p->n > 1) {
            summarise(scratch, n, p, &out->scenario[s]);
            if ((rc = finite_or_fail(&out->scenario[s], p->s[s].name, err, errlen)))
                goto fail;
        } else { /* one scenario is the portfolio: the same summary, its own threshold array */
            out->scenario[s] = out->portfolio;
            out->scenario[s].p_exceed = xcalloc(p->nthresholds + 1, sizeof(double));
            memcpy(out->scenario[s].p_exceed, out->portfolio.p_exceed,
                   p->nthresholds * sizeof(double));
        }
        out->contrib_mean[s] = out->scenario[s].mean;
        if (o->semantics == MC_COMPOUND)
            merge_events(&R, s, o->iterations, &out->scenario[s]);
    }
    if (o->semantics == MC_COMPOUND)
        merge_events(&R, p->n, o->iterations, &out->portfolio);
    free(scratch);
    free(R.port);
    free(R.ev);
    free(R.chol);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return AEG_OK;
cancelled:
    snprintf(err, errlen, "the simulation was cancelled");
    rc = AEG_EUNAVAIL;
fail:
    free(scratch);
    free(R.port);
    free(R.ev);
    free(R.chol);
    mc_result_free(out);
    return rc;
}

void mc_result_free(struct mc_result *r)
{
    free(r->portfolio.p_exceed);
    for (size_t s = 0; r->scenario && s < r->n; s++)
        free(r->scenario[s].p_exceed);
    free(r->scenario);
    free(r->contrib_mean);
    free(r->contrib_tvar99);
    free(r->thresholds);
    free(r->lec_x);
    free(r->lec_p);
    free(r->hist_edge);
    free(r->hist_count);
    memset(r, 0, sizeof *r);
}

/* ---- JSON ------------------------------------------------------------------------------------------- */

static json_t *summary_json(const struct mc_summary *s, const struct mc_result *r)
{
    json_t *pct = json_object();
    for (int i = 0; i < MC_NPCT; i++) {
        char k[16];
        snprintf(k, sizeof k, "p%g", mc_percentiles[i]);
        json_object_set_new(pct, k, json_real(s->pct[i]));
    }
    json_t *exc = json_array();
    for (size_t t = 0; t < r->nthresholds; t++)
        json_array_append_new(exc, json_pack("{s:f,s:f}", "threshold", r->thresholds[t],
                                             "probability", s->p_exceed[t]));
    json_t *o = json_pack("{s:f,s:f,s:f,s:f,s:f,s:o,s:{s:f,s:f},s:{s:f,s:f},s:f,s:o}", "mean",
                          s->mean, "sd", s->sd, "sem", s->sem, "min", s->min, "max", s->max,
                          "percentiles", pct, "var", "95", s->var95, "99", s->var99, "tvar", "95",
                          s->tvar95, "99", s->tvar99, "p_zero_loss", s->p_zero, "p_exceed", exc);
    if (r->semantics == MC_COMPOUND)
        json_object_set_new(o, "events",
                            json_pack("{s:f,s:f,s:I,s:f}", "mean", s->events_mean, "sd",
                                      s->events_sd, "max", (json_int_t)s->events_max, "p_none",
                                      s->events_p_zero));
    return o;
}

json_t *mc_result_json(const struct mc_result *r, const struct fair_portfolio *p)
{
    json_t *scen = json_array();
    for (size_t s = 0; s < r->n; s++) {
        json_t *o = summary_json(&r->scenario[s], r);
        json_object_set_new(o, "name", json_string(p->s[s].name));
        double pm = r->portfolio.mean, pt = r->portfolio.tvar99;
        json_object_set_new(o, "contribution",
                            json_pack("{s:f,s:f,s:f,s:f}", "mean", r->contrib_mean[s], "mean_share",
                                      pm > 0 ? r->contrib_mean[s] / pm : 0, "tvar99",
                                      r->contrib_tvar99[s], "tvar99_share",
                                      pt > 0 ? r->contrib_tvar99[s] / pt : 0));
        json_array_append_new(scen, o);
    }
    json_t *lec = json_array();
    for (size_t i = 0; i < r->nlec; i++)
        json_array_append_new(lec, json_pack("{s:f,s:f}", "loss", r->lec_x[i], "p_exceed",
                                             r->lec_p[i]));
    json_t *hist = json_array();
    for (size_t i = 0; i < r->nhist; i++)
        json_array_append_new(hist, json_pack("{s:f,s:f,s:I}", "from", r->hist_edge[i], "to",
                                              r->hist_edge[i + 1], "years",
                                              (json_int_t)r->hist_count[i]));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    return json_pack("{s:s,s:s,s:I,s:s,s:s,s:i,s:f,s:o,s:o,s:o,s:o}", "portfolio", p->name,
                     "engine", MC_ENGINE_VERSION, "iterations", (json_int_t)r->iterations, "seed",
                     seed, "semantics", r->semantics == MC_COMPOUND ? "compound" : "product",
                     "threads", r->threads, "seconds", r->seconds, "summary",
                     summary_json(&r->portfolio, r), "scenarios", scen, "loss_exceedance", lec,
                     "histogram", hist);
}

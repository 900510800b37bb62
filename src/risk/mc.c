#include "risk/mc.h"

#include "core/alloc.h"
#include "core/err.h"
#include "risk/stats.h"

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
#define SUB 2048 /* years simulated together, each draw kind in a loop over them */

/* ---- years of one scenario, many at a time --------------------------------------------------------- */

/* Each year has its own stream (mc.h) and draws from it in a fixed order: the frequency (contact
 * frequency then probability of action, or the one distribution given); for the count of loss events
 * the vulnerability and then the Poisson count; then every event's primary loss, one loss form after
 * another in the order given; then a uniform per event for whether it has a secondary loss, and the
 * secondary losses the same way. (Product semantics: frequency, vulnerability, the primary forms, the
 * secondary frequency, the secondary forms, one draw each.) The years of a batch are independent, so
 * each kind of draw is one loop over them (dist_fill, dist_add): the sampler's table stays in cache
 * and the processor overlaps the years. Whatever the batch, each year's draws are the same. */
#define MAXEV (16 * SUB) /* events listed for a batch; more go year by year */
struct batch {
    uint64_t st[SUB];            /* the years' stream states */
    double rate[SUB], x[SUB], y[SUB], given[SUB];
    uint32_t n[SUB], k[SUB];
    uint32_t ev[MAXEV + 4];      /* the batch's events (or secondary losses), by year */
};

static inline double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* The streams of scenario s's years: years[i], or first + i when years is NULL. */
static void init_streams(uint64_t *st, uint64_t seed, size_t s, const uint64_t *years, uint64_t first,
                         size_t len)
{
    uint64_t base = (uint64_t)s << 40, key = rng_key(seed);
    for (size_t i = 0; i < len; i++)
        st[i] = rng_state_keyed(key, base | (years ? years[i] : first + i));
}

/* The frequency draw a copula correlates: the loss event frequency, or the threat event frequency. */
static void freq_fill(const struct fair_scenario *sc, struct batch *B, double *rate, size_t len)
{
    if (sc->freq == FREQ_LEF) {
        dist_fill(&sc->lef, B->st, rate, len);
    } else if (sc->tef_by_parts) {
        dist_fill(&sc->cf, B->st, rate, len);
        dist_fill(&sc->poa, B->st, B->x, len);
        for (size_t i = 0; i < len; i++)
            rate[i] *= clamp01(B->x[i]);
    } else {
        dist_fill(&sc->tef, B->st, rate, len);
    }
}

/* Lists the events of len years with n[i] events each in B->ev (year i n[i] times, in year order),
 * without a branch on the counts when they are small. Returns how many, or SIZE_MAX when there are
 * more than MAXEV (the caller then goes year by year). */
static size_t list_events(struct batch *B, const uint32_t *n, size_t len)
{
    uint64_t total = 0;
    for (size_t i = 0; i < len; i++)
        total += n[i];
    if (total > MAXEV)
        return SIZE_MAX;
    size_t nev = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t *e = B->ev + nev;
        e[0] = e[1] = e[2] = e[3] = (uint32_t)i; /* the slack of 4 past MAXEV allows this */
        if (n[i] > 4)
            for (uint32_t k = 4; k < n[i]; k++)
                e[k] = (uint32_t)i;
        nev += n[i];
    }
    return nev;
}

/* Adds n[i] draws of magnitude m to acc[i] (one each when n is NULL); nev: the events as
 * list_events listed them, or SIZE_MAX to go year by year. */
static void magnitude_add(const struct fair_magnitude *m, struct batch *B, const uint32_t *n,
                          size_t nev, double *acc, size_t len)
{
    unsigned nd = m->by_forms ? m->nforms : 1;
    for (unsigned f = 0; f < nd; f++) {
        const struct dist *d = m->by_forms ? &m->forms[f] : &m->total;
        if (n && nev != SIZE_MAX)
            dist_add_events(d, B->st, B->ev, nev, acc);
        else
            dist_add(d, B->st, n, acc, len);
    }
}

static inline uint32_t poisson_capped(uint64_t *st, double rate)
{
    struct rng r = {*st};
    unsigned long n = rng_poisson(&r, rate);
    *st = r.s;
    return n > MC_MAX_EVENTS ? (uint32_t)MC_MAX_EVENTS : (uint32_t)n; /* a bound on a year's work */
}

/* Compound: the years' counts of loss events into B->n. With TC and RS, each threat event is a loss
 * event independently with p = P(TC > RS) (fair.c computes it once), so the thinned Poisson count is
 * Poisson(rate x p): the same distribution as drawing TC and RS per threat, for two draws fewer per
 * threat. When p could not be computed (a Poisson TC or RS) the threats are drawn one by one. */
static void count_fill(const struct fair_scenario *sc, struct batch *B, size_t len)
{
    switch (sc->freq) {
    case FREQ_LEF: /* the rate already carries m_vuln (freq_rates) */
        dist_poisson_counts(B->st, B->rate, 1, NULL, B->n, len, MC_MAX_EVENTS);
        break;
    case FREQ_TEF_VULN:
        dist_fill(&sc->vuln, B->st, B->x, len);
        dist_poisson_counts(B->st, B->rate, sc->m_vuln, B->x, B->n, len, MC_MAX_EVENTS);
        break;
    case FREQ_TEF_TCRS:
        if (sc->p_tcrs >= 0) {
            dist_poisson_counts(B->st, B->rate, sc->p_tcrs * sc->m_vuln, NULL, B->n, len,
                                MC_MAX_EVENTS);
            break;
        }
        for (size_t i = 0; i < len; i++) {
            uint32_t threats = poisson_capped(&B->st[i], B->rate[i]), n = 0;
            struct rng r = {B->st[i]};
            for (uint32_t t = 0; t < threats; t++) {
                double tc = dist_sample(&sc->tc, &r);
                double rs = dist_sample(&sc->rs, &r);
                double u = rng_uniform(&r); /* drawn whatever m_vuln: the same years either way */
                n += tc > rs && u < sc->m_vuln;
            }
            B->st[i] = r.s;
            B->n[i] = n;
        }
        break;
    }
}

/* Simulates len years of scenario sc whose streams are in B->st: losses into loss[], loss events
 * into events[] (compound; zeros in product). given: the years' rates from a copula, or NULL (each
 * year's own frequency draw is made either way). With counts_only, only events[] is written. */
static void sim_batch(const struct fair_scenario *sc, bool compound, struct batch *B, size_t len,
                      const double *given, double *loss, uint32_t *events, bool counts_only)
{
    freq_fill(sc, B, B->rate, len);
    if (given)
        memcpy(B->rate, given, len * sizeof *given);
    /* the optimiser's multipliers (1 unless set): a directly given LEF takes the vulnerability's too */
    double mf = sc->m_freq * (sc->freq == FREQ_LEF ? sc->m_vuln : 1);
    if (mf != 1)
        for (size_t i = 0; i < len; i++)
            B->rate[i] *= mf;
    if (compound) {
        count_fill(sc, B, len);
        memcpy(events, B->n, len * sizeof *events);
        if (counts_only)
            return;
        memset(loss, 0, len * sizeof *loss);
        size_t nev = list_events(B, B->n, len);
        magnitude_add(&sc->primary, B, B->n, nev, loss, len);
        if (sc->m_primary != 1)
            for (size_t i = 0; i < len; i++)
                loss[i] *= sc->m_primary;
        if (sc->has_secondary) {
            /* whether each event has a secondary loss: one Bernoulli draw with the mean of the
             * secondary loss event frequency (a probability drawn afresh per event and a uniform
             * below it is the same Bernoulli; the frequency is validated to lie in [0, 1]) */
            double p = sc->p_secondary;
            memset(B->k, 0, len * sizeof *B->k);
            if (nev != SIZE_MAX) {
                for (size_t j = 0; j < nev; j++) {
                    uint32_t i = B->ev[j];
                    struct rng r = {B->st[i]};
                    B->k[i] += rng_uniform(&r) < p;
                    B->st[i] = r.s;
                }
            } else {
                for (size_t i = 0; i < len; i++) {
                    struct rng r = {B->st[i]};
                    for (uint32_t e = 0; e < B->n[i]; e++)
                        B->k[i] += rng_uniform(&r) < p;
                    B->st[i] = r.s;
                }
            }
            memset(B->y, 0, len * sizeof *B->y);
            magnitude_add(&sc->secondary, B, B->k, list_events(B, B->k, len), B->y, len);
            for (size_t i = 0; i < len; i++)
                loss[i] += sc->m_secondary * B->y[i];
        }
        return;
    }
    /* product (pyfair): one frequency sample times one magnitude sample; the secondary loss is
     * SLEF x SLM; with TC and RS the year's vulnerability is the indicator TC > RS, a Bernoulli with
     * P(TC > RS) */
    memset(events, 0, len * sizeof *events);
    if (sc->freq == FREQ_TEF_VULN) {
        dist_fill(&sc->vuln, B->st, B->x, len);
        for (size_t i = 0; i < len; i++)
            B->rate[i] *= clamp01(B->x[i]) * sc->m_vuln;
    } else if (sc->freq == FREQ_TEF_TCRS) {
        for (size_t i = 0; i < len; i++) {
            struct rng r = {B->st[i]};
            bool hit;
            if (sc->p_tcrs >= 0) {
                hit = rng_uniform(&r) < sc->p_tcrs * sc->m_vuln;
            } else {
                double tc = dist_sample(&sc->tc, &r);
                double rs = dist_sample(&sc->rs, &r);
                double u = rng_uniform(&r); /* drawn whatever m_vuln: the same years either way */
                hit = tc > rs && u < sc->m_vuln;
            }
            B->st[i] = r.s;
            if (!hit)
                B->rate[i] = 0;
        }
    }
    memset(loss, 0, len * sizeof *loss);
    magnitude_add(&sc->primary, B, NULL, 0, loss, len);
    if (sc->m_primary != 1)
        for (size_t i = 0; i < len; i++)
            loss[i] *= sc->m_primary;
    if (sc->has_secondary) {
        dist_fill(&sc->slef, B->st, B->x, len);
        memset(B->y, 0, len * sizeof *B->y);
        magnitude_add(&sc->secondary, B, NULL, 0, B->y, len);
        for (size_t i = 0; i < len; i++)
            loss[i] += clamp01(B->x[i]) * sc->m_secondary * B->y[i];
    }
    for (size_t i = 0; i < len; i++)
        loss[i] *= B->rate[i];
}

/* ---- the run --------------------------------------------------------------------------------------- */

struct ev { /* per (scenario, block) event counts, merged in block order */
    double sum, sumsq;
    uint64_t max, zero;
};

enum pass {
    PASS_SIM,    /* scenario `cur`: its years into one (and added into port) */
    PASS_TAIL,   /* scenario `cur`: its losses in the portfolio's years at or above var99 */
    PASS_EVENTS, /* every scenario's event counts, summed per year (when yev saturated) */
};

struct run {
    const struct fair_portfolio *p;
    const struct mc_opts *o;
    uint64_t nblocks;
    atomic_uint_fast64_t next_block, done_years;
    enum pass pass;
    size_t cur;        /* the scenario of PASS_SIM and PASS_TAIL */
    double *port;      /* iterations: the portfolio's annual losses */
    double *one;       /* iterations: scenario cur's annual losses (== port with one scenario) */
    uint16_t *yev;     /* iterations: the portfolio's loss events per year, saturating (n > 1) */
    atomic_bool yev_saturated;
    struct ev *ev;     /* (n + 1) x nblocks: row n is the portfolio's events per year */
    double var99;      /* PASS_TAIL */
    double *tail_sum;  /* nblocks: PASS_TAIL's sums */
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

/* Iman-Conover within a block, for scenario s: its years' own frequency draws are reordered so their
 * ranks follow correlated normals z_s = sum_k L[s][k] eps_k, eps drawn per year from the block's
 * copula stream (the same normals whichever scenario asks). rates[i] becomes the rate of year i. */
static void correlate_block(const struct run *R, size_t s, uint64_t b, uint64_t start, size_t len,
                            double *rates, struct zi *tmp, struct batch *B)
{
    size_t n = R->p->n;
    for (size_t off = 0; off < len; off += SUB) {
        size_t sl = len - off < SUB ? len - off : SUB;
        init_streams(B->st, R->o->seed, s, NULL, start + off, sl);
        freq_fill(&R->p->s[s], B, rates + off, sl);
    }
    struct rng cr;
    rng_init(&cr, R->o->seed, COPULA_STREAM | b);
    double eps[n];
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < n; k++)
            eps[k] = rng_normal(&cr);
        double acc = 0;
        for (size_t k = 0; k <= s; k++)
            acc += R->chol[s * n + k] * eps[k];
        tmp[i].z = acc;
        tmp[i].i = (uint32_t)i;
    }
    qsort(rates, len, sizeof *rates, cmp_double);
    qsort(tmp, len, sizeof *tmp, cmp_zi);
    /* the year with the k-th smallest normal gets the k-th smallest draw (tmp's z, no longer
     * needed, holds the sorted draws while they are scattered) */
    for (size_t k = 0; k < len; k++)
        tmp[k].z = rates[k];
    for (size_t k = 0; k < len; k++)
        rates[tmp[k].i] = tmp[k].z;
}

static void block_events(const uint64_t *cnt, const uint16_t *c16, size_t len, struct ev *e)
{
    *e = (struct ev){0};
    for (size_t i = 0; i < len; i++) {
        uint64_t c = cnt ? cnt[i] : c16[i];
        e->sum += (double)c;
        e->sumsq += (double)c * (double)c;
        if (c > e->max)
            e->max = c;
        e->zero += c == 0;
    }
}

struct scratch { /* a worker's */
    struct batch B;
    double *rates;    /* MC_BLOCK, with a copula */
    struct zi *tmp;   /* MC_BLOCK, with a copula */
    uint32_t cnt[SUB];
    uint64_t *years;  /* MC_BLOCK: PASS_TAIL's years */
    double loss[SUB];
    uint64_t *sum;    /* MC_BLOCK: PASS_EVENTS's counts per year */
};

static void run_block(struct run *R, uint64_t b, struct scratch *W)
{
    const struct fair_portfolio *p = R->p;
    uint64_t start = b * MC_BLOCK, seed = R->o->seed;
    size_t len = (size_t)(start + MC_BLOCK <= R->o->iterations ? MC_BLOCK : R->o->iterations - start);
    bool compound = R->o->semantics == MC_COMPOUND;
    size_t s = R->cur;
    const struct fair_scenario *sc = &p->s[s];
    struct batch *B = &W->B;
    switch (R->pass) {
    case PASS_SIM: {
        if (R->chol)
            correlate_block(R, s, b, start, len, W->rates, W->tmp, B);
        double *one = R->one + start, *port = R->port + start;
        uint16_t *yev = R->yev ? R->yev + start : NULL;
        struct ev e = {0};
        bool sat = false;
        for (size_t off = 0; off < len; off += SUB) {
            size_t sl = len - off < SUB ? len - off : SUB;
            init_streams(B->st, seed, s, NULL, start + off, sl);
            sim_batch(sc, compound, B, sl, R->chol ? W->rates + off : NULL, one + off, W->cnt,
                      false);
            if (!compound)
                continue;
            for (size_t i = 0; i < sl; i++) {
                uint32_t c = W->cnt[i];
                e.sum += c;
                e.sumsq += (double)c * c;
                if (c > e.max)
                    e.max = c;
                e.zero += c == 0;
            }
            if (yev) {
                uint16_t *y = yev + off;
                for (size_t i = 0; i < sl; i++) {
                    uint64_t t = (s ? y[i] : 0) + (uint64_t)W->cnt[i];
                    sat |= t > UINT16_MAX;
                    y[i] = (uint16_t)(t > UINT16_MAX ? UINT16_MAX : t);
                }
            }
        }
        if (p->n > 1) {
            if (s == 0)
                memcpy(port, one, len * sizeof *port);
            else
                for (size_t i = 0; i < len; i++)
                    port[i] += one[i];
        }
        R->ev[s * R->nblocks + b] = e;
        if (compound && yev && s == p->n - 1)
            block_events(NULL, yev, len, &R->ev[p->n * R->nblocks + b]);
        if (sat)
            atomic_store(&R->yev_saturated, true);
        atomic_fetch_add(&R->done_years, len);
        break;
    }
    case PASS_TAIL: {
        const double *port = R->port + start;
        size_t nt = 0;
        for (size_t i = 0; i < len; i++)
            if (port[i] >= R->var99)
                W->years[nt++] = start + i;
        double sum = 0;
        if (nt && R->chol)
            correlate_block(R, s, b, start, len, W->rates, W->tmp, B);
        for (size_t off = 0; off < nt; off += SUB) {
            size_t sl = nt - off < SUB ? nt - off : SUB;
            init_streams(B->st, seed, s, W->years + off, 0, sl);
            if (R->chol)
                for (size_t i = 0; i < sl; i++)
                    B->given[i] = W->rates[W->years[off + i] - start];
            sim_batch(sc, compound, B, sl, R->chol ? B->given : NULL, W->loss, W->cnt, false);
            for (size_t i = 0; i < sl; i++)
                sum += W->loss[i];
        }
        R->tail_sum[b] = sum;
        break;
    }
    case PASS_EVENTS:
        memset(W->sum, 0, len * sizeof *W->sum);
        for (size_t k = 0; k < p->n; k++) {
            if (R->chol)
                correlate_block(R, k, b, start, len, W->rates, W->tmp, B);
            for (size_t off = 0; off < len; off += SUB) {
                size_t sl = len - off < SUB ? len - off : SUB;
                init_streams(B->st, seed, k, NULL, start + off, sl);
                sim_batch(&p->s[k], true, B, sl, R->chol ? W->rates + off : NULL, NULL, W->cnt,
                          true);
                for (size_t i = 0; i < sl; i++)
                    W->sum[off + i] += W->cnt[i];
            }
        }
        block_events(W->sum, NULL, len, &R->ev[p->n * R->nblocks + b]);
        break;
    }
}

static void *worker(void *arg)
{
    struct run *R = arg;
    struct scratch *W = xcalloc(1, sizeof *W);
    W->rates = R->chol ? xmalloc(MC_BLOCK * sizeof *W->rates) : NULL;
    W->tmp = R->chol ? xmalloc(MC_BLOCK * sizeof *W->tmp) : NULL;
    W->years = R->pass == PASS_TAIL ? xmalloc(MC_BLOCK * sizeof *W->years) : NULL;
    W->sum = R->pass == PASS_EVENTS ? xmalloc(MC_BLOCK * sizeof *W->sum) : NULL;
    for (;;) {
        if (R->o->cancel && atomic_load(R->o->cancel)) {
            atomic_store(&R->cancelled, true);
            /* let the progress loop see the pass as finished */
            atomic_store(&R->next_block, R->nblocks);
        }
        uint64_t b = atomic_fetch_add(&R->next_block, 1);
        if (b >= R->nblocks)
            break;
        run_block(R, b, W);
    }
    free(W->rates);
    free(W->tmp);
    free(W->years);
    free(W->sum);
    free(W);
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

/* Runs one pass over every block on nthreads threads, reporting progress from this thread. */
static void run_pass(struct run *R, enum pass pass, size_t cur, int nthreads, uint64_t total)
{
    R->pass = pass;
    R->cur = cur;
    atomic_store(&R->next_block, 0);
    /* the pass's end, taken before any worker runs (a fast pass may be over before the loop) */
    uint64_t target = atomic_load(&R->done_years) + (pass == PASS_SIM ? R->o->iterations : 0);
    pthread_t *th = xcalloc((size_t)nthreads, sizeof *th);
    for (int t = 0; t < nthreads; t++)
        pthread_create(&th[t], NULL, worker, R);
    if (R->o->progress && pass == PASS_SIM) {
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
    size_t n = (size_t)o->iterations, ns = p->n;
    bool compound = o->semantics == MC_COMPOUND;
    struct run R = {.p = p, .o = o, .nblocks = (o->iterations + MC_BLOCK - 1) / MC_BLOCK};
    int rc = AEG_OK;
    if (p->correlation && ns > 1) {
        R.chol = xmalloc(ns * ns * sizeof *R.chol);
        if ((rc = cholesky(p->correlation, ns, R.chol, err, errlen))) {
            free(R.chol);
            return rc;
        }
    }
    R.port = xmalloc(n * sizeof *R.port);
    R.one = ns > 1 ? xmalloc(n * sizeof *R.one) : R.port;
    R.yev = ns > 1 && compound ? xmalloc(n * sizeof *R.yev) : NULL;
    R.ev = xcalloc((ns + 1) * R.nblocks, sizeof *R.ev);
    R.tail_sum = xcalloc(R.nblocks, sizeof *R.tail_sum);
    int nthreads = o->threads < (int)R.nblocks ? o->threads : (int)R.nblocks;
    uint64_t total = o->iterations * ns; /* scenario-years */

    out->iterations = o->iterations;
    out->seed = o->seed;
    out->semantics = o->semantics;
    out->threads = nthreads;
    out->n = ns;
    out->nthresholds = p->nthresholds;
    out->thresholds = xcalloc(p->nthresholds + 1, sizeof *out->thresholds);
    if (p->nthresholds)
        memcpy(out->thresholds, p->thresholds, p->nthresholds * sizeof *out->thresholds);
    out->scenario = xcalloc(ns, sizeof *out->scenario);
    out->contrib_mean = xcalloc(ns, sizeof *out->contrib_mean);
    out->contrib_tvar99 = xcalloc(ns, sizeof *out->contrib_tvar99);

    /* each scenario in turn: its years into one, added into the portfolio's; its statistics from one
     * (selection reorders one, which the next scenario overwrites) */
    for (size_t s = 0; s < ns; s++) {
        run_pass(&R, PASS_SIM, s, nthreads, total);
        if (atomic_load(&R.cancelled))
            goto cancelled;
        if (ns == 1)
            break;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(R.one[i])) {
                snprintf(err, errlen,
                         "simulated year %zu's loss of scenario \"%s\" is not a finite number (it "
                         "overflowed): check the magnitudes' parameters",
                         i + 1, p->s[s].name);
                rc = AEG_EINVAL;
                goto fail;
            }
        }
        mcs_summarise(R.one, n, nthreads, p->thresholds, p->nthresholds, &out->scenario[s], NULL);
        if ((rc = finite_or_fail(&out->scenario[s], p->s[s].name, err, errlen)))
            goto fail;
        out->contrib_mean[s] = out->scenario[s].mean;
        if (compound)
            merge_events(&R, s, o->iterations, &out->scenario[s]);
    }
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
    mcs_summarise(R.port, n, nthreads, p->thresholds, p->nthresholds, &out->portfolio, out);
    if ((rc = finite_or_fail(&out->portfolio, "the portfolio", err, errlen)))
        goto fail;
    if (compound && ns > 1 && atomic_load(&R.yev_saturated)) {
        /* some year had more than 65535 loss events: count them again exactly, block by block */
        run_pass(&R, PASS_EVENTS, 0, nthreads, total);
        if (atomic_load(&R.cancelled))
            goto cancelled;
    }
    if (compound) /* one scenario's events are the portfolio's */
        merge_events(&R, ns > 1 ? ns : 0, o->iterations, &out->portfolio);

    if (ns == 1) { /* one scenario is the portfolio: the same summary, its own threshold array */
        out->scenario[0] = out->portfolio;
        out->scenario[0].p_exceed = xcalloc(p->nthresholds + 1, sizeof(double));
        memcpy(out->scenario[0].p_exceed, out->portfolio.p_exceed, p->nthresholds * sizeof(double));
        out->contrib_mean[0] = out->portfolio.mean;
        out->contrib_tvar99[0] = out->portfolio.tvar99;
    } else {
        /* each scenario's mean loss in the portfolio's tail years, from those years simulated again */
        R.var99 = out->portfolio.var99;
        uint64_t tail = 0;
        for (size_t i = 0; i < n; i++)
            tail += R.port[i] >= R.var99;
        for (size_t s = 0; s < ns; s++) {
            run_pass(&R, PASS_TAIL, s, nthreads, total);
            if (atomic_load(&R.cancelled))
                goto cancelled;
            double in_tail = 0;
            for (uint64_t b = 0; b < R.nblocks; b++)
                in_tail += R.tail_sum[b];
            out->contrib_tvar99[s] = tail ? in_tail / (double)tail : 0;
        }
    }
    free(R.port);
    if (ns > 1)
        free(R.one);
    free(R.yev);
    free(R.ev);
    free(R.tail_sum);
    free(R.chol);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return AEG_OK;
cancelled:
    snprintf(err, errlen, "the simulation was cancelled");
    rc = AEG_EUNAVAIL;
fail:
    free(R.port);
    if (ns > 1)
        free(R.one);
    free(R.yev);
    free(R.ev);
    free(R.tail_sum);
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

/*
 * mc: the Monte Carlo engine. Simulates years of a portfolio's losses and summarises them.
 *
 * Reproducibility: year y of scenario s draws from its own stream (seed, s << 40 | y) (risk/rng.h),
 * its frequency draw first. Years are computed in blocks of MC_BLOCK by any thread in any order and
 * written to their own slots, and every sum is taken afterwards in a fixed order, so the same inputs,
 * seed and iteration count give bit-identical results on any number of threads. A copula (a
 * correlation matrix) reorders the frequency draws within each block by the ranks of correlated
 * normals drawn from the block's stream (seed, 0xFFFFF << 40 | block) (Iman-Conover).
 *
 * Memory: the portfolio's annual losses are stored once as doubles (8 bytes a year). With more than
 * one scenario, each is simulated in turn into a second array of as many doubles (its statistics come
 * from it, and it is added into the portfolio's), and the portfolio's loss events per year are kept in
 * 2 bytes a year; each scenario's share of the portfolio's tail (TVaR 99) comes from re-simulating
 * just the tail years from their streams. So memory is 8 bytes a year for one scenario and 18 for a
 * portfolio, whatever the number of scenarios, and no year is simulated twice except those in the tail.
 *
 * Pure: threads, no I/O. mc_run() owns nothing of its inputs; the result owns its arrays and is
 * released by mc_result_free().
 */
#ifndef AEGIS_RISK_MC_H
#define AEGIS_RISK_MC_H

#include "risk/fair.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#define MC_BLOCK 65536
#define MC_NPCT 11
#define MC_ENGINE_VERSION "aegis-risk 2.0" /* 2.0: per-year streams; a seed gives other years than 1.0 */
#define MC_MAX_EVENTS 10000000UL /* loss events counted in one year of one scenario, at most */
extern const double mc_percentiles[MC_NPCT]; /* 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9 */

enum mc_semantics {
    MC_COMPOUND, /* per year: a rate, a Poisson count of events, a magnitude per event */
    MC_PRODUCT,  /* per year: one frequency sample x one magnitude sample (as pyfair) */
};

struct mc_opts {
    uint64_t iterations; /* years, >= 1 */
    uint64_t seed;
    enum mc_semantics semantics;
    int threads;         /* >= 1 */
    /* called from the calling thread about every 100 ms while the simulation runs (may be NULL) */
    void (*progress)(uint64_t done, uint64_t total, void *arg);
    void *progress_arg;
    /* when not NULL and it becomes true, the run stops between blocks and mc_run answers
     * AEG_EUNAVAIL (a server shutting down) */
    const atomic_bool *cancel;
};

struct mc_summary {
    double mean, sd, sem, min, max;
    double pct[MC_NPCT];
    double var95, var99, tvar95, tvar99;
    double p_zero;      /* share of years with no loss */
    double *p_exceed;   /* one per threshold */
    /* loss events per year (compound semantics only; zero otherwise) */
    double events_mean, events_sd, events_p_zero;
    uint64_t events_max;
};

struct mc_result {
    uint64_t iterations, seed;
    enum mc_semantics semantics;
    int threads;
    double seconds;
    size_t n;                     /* scenarios */
    struct mc_summary portfolio;
    struct mc_summary *scenario;  /* n */
    double *contrib_mean;         /* n: each scenario's mean (they sum to the portfolio mean) */
    double *contrib_tvar99;       /* n: each scenario's mean loss in the portfolio's worst 1% years */
    size_t nthresholds;
    double *thresholds;
    size_t nlec;                  /* loss exceedance curve: P(annual loss > lec_x[i]) = lec_p[i] */
    double *lec_x, *lec_p;
    size_t nhist;                 /* histogram: hist_count[i] years in [hist_edge[i], hist_edge[i+1]) */
    double *hist_edge;            /* nhist + 1 */
    uint64_t *hist_count;         /* the last bin also holds everything above its upper edge */
};

/* Runs the simulation. AEG_OK, AEG_EINVAL (err says why: bad options, a correlation matrix that is
 * not positive semi-definite), or AEG_EUNAVAIL when cancelled. The result is always initialised and must be mc_result_free'd. */
int mc_run(const struct fair_portfolio *p, const struct mc_opts *o, struct mc_result *out, char *err,
           size_t errlen);
void mc_result_free(struct mc_result *r);
/* The result as JSON (new reference): what `aegis simulate --format json` prints and the API stores. */
json_t *mc_result_json(const struct mc_result *r, const struct fair_portfolio *p);

/* Building blocks exposed for tests: the k-th smallest of a (0-based; a is reordered), and the
 * quantile q in [0, 1] of a sorted-or-not array by linear interpolation (numpy's default). */
double mc_select(double *a, size_t n, size_t k);
double mc_quantile(double *a, size_t n, double q);

#endif

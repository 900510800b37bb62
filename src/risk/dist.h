/*
 * dist: the probability distributions of FAIR models and their samplers.
 *
 * A struct dist is built (and validated) once by dist_make(), which precomputes what sampling needs
 * (for a beta or PERT, an inversion table it owns: release every made dist with dist_free(), and do
 * not copy one by value); dist_sample() then draws from a struct rng with no allocation and no
 * failure. Pure: no I/O.
 * Parameters are checked on construction: a bad one gives AEG_EINVAL and a message naming the
 * parameter (the caller prefixes the scenario and field path).
 */
#ifndef AEGIS_RISK_DIST_H
#define AEGIS_RISK_DIST_H

#include "risk/rng.h"

#include <stdbool.h>
#include <stddef.h>

enum dist_kind {
    DIST_CONSTANT,   /* value */
    DIST_PERT,       /* min, mode, max, lambda (default 4): beta-PERT, alpha = 1 + lambda (mode-min)/(max-min) */
    DIST_PERT_MOMENT,/* min, mode, max, lambda: pyfair's form, a beta on [min, max] with mean
                        (min + lambda mode + max)/(lambda + 2) and sd (max - min)/(lambda + 2) */
    DIST_LOGNORMAL,  /* mu, sigma of the log (or built from p05, p95 by dist_lognormal_90) */
    DIST_POISSON,    /* rate >= 0 (a count) */
    DIST_NORMAL,     /* mean, sd > 0, optionally truncated at zero (then never negative) */
    DIST_UNIFORM,    /* min <= max */
    DIST_TRIANGULAR, /* min <= mode <= max */
    DIST_BETA,       /* alpha > 0, beta > 0, on [min, max] (default [0, 1]) */
};

struct dist {
    enum dist_kind kind;
    double p[4];        /* the parameters as given: see dist_make */
    bool truncate_zero; /* DIST_NORMAL only */
    /* precomputed for sampling */
    int alg;               /* the sampler dist_make chose (dist.c's enum sampler) */
    double a, b, lo, span;
    double hi;             /* bounded kinds: draws are clamped to [lo, hi] against rounding */
    double c[4];           /* kind-specific constants (Poisson PTRS, truncated normal, triangular) */
    double g_a[3], g_b[3]; /* gamma sampler constants for the beta shapes */
    struct itab *tab;      /* owned: the inversion table of a beta or PERT, or NULL */
};

/* Builds a distribution. Parameters by kind, in p[]:
 *   CONSTANT value | PERT, PERT_MOMENT min mode max lambda | LOGNORMAL mu sigma | POISSON rate |
 *   NORMAL mean sd | UNIFORM min max | TRIANGULAR min mode max | BETA alpha beta min max
 * min == mode == max is a valid PERT (a constant). Returns 0, or AEG_EINVAL with why (a short
 * sentence naming the parameter, e.g. "min is greater than max") written to err. */
int dist_make(struct dist *d, enum dist_kind kind, const double p[4], bool truncate_zero, char *err,
              size_t errlen);
/* A lognormal from its 5th and 95th percentiles (0 < p05 < p95). */
int dist_lognormal_90(struct dist *d, double p05, double p95, char *err, size_t errlen);
/* Releases what dist_make allocated (safe on a zeroed or failed dist, and twice). */
void dist_free(struct dist *d);

/* One draw. Never NaN for a distribution dist_make accepted. */
double dist_sample(const struct dist *d, struct rng *r);
/* Draws for many streams at once (st[i] is the state of stream i, see rng.h; each advances as
 * dist_sample would advance it): dist_fill sets out[i] to one draw from stream i; dist_add adds to
 * acc[i] the sum of n[i] draws from stream i (one each when n is NULL). One loop per call, with the
 * sampler chosen once: much faster than dist_sample in a loop. */
void dist_fill(const struct dist *d, uint64_t *st, double *out, size_t len);
void dist_add(const struct dist *d, uint64_t *st, const uint32_t *n, double *acc, size_t len);
/* The same as dist_add with the draws listed: the j-th draw is from stream ev[j] and added to
 * acc[ev[j]] (a stream's draws listed consecutively, in order): one loop without a branch on the
 * counts. */
void dist_add_events(const struct dist *d, uint64_t *st, const uint32_t *ev, size_t nev,
                     double *acc);
/* The exact mean and variance (for tests and for reports). */
double dist_mean(const struct dist *d);
double dist_variance(const struct dist *d);
/* Smallest and largest values a draw can take (may be infinite). */
double dist_min(const struct dist *d);
double dist_max(const struct dist *d);
/* P(X <= x). */
double dist_cdf(const struct dist *d, double x);
/* The quantile at u in [0, 1] (NAN for a Poisson: the engine never asks). A beta's comes from its
 * table, within the table's accuracy (risk/itab.h). */
double dist_quantile(const struct dist *d, double u);
/* P(X > Y) for independent X and Y, by quadrature (absolute error far below 1e-9 for the smooth
 * kinds); -1 when either is a Poisson, whose caller then draws the comparison per sample. */
double dist_p_greater(const struct dist *x, const struct dist *y);

/* Building blocks, exposed for the engine and the tests. */
double rng_normal(struct rng *r);                      /* standard normal */
double rng_gamma(struct rng *r, double shape);         /* Gamma(shape, 1), shape > 0 */
unsigned long rng_poisson(struct rng *r, double rate); /* rate >= 0; exact for any rate */
/* n[i] = min(cap, a Poisson draw from stream st[i] at rate[i] x mult x clamp01(vuln[i])) (vuln may
 * be NULL): rng_poisson for many streams in one loop. */
void dist_poisson_counts(uint64_t *st, const double *rate, double mult, const double *vuln,
                         uint32_t *n, size_t len, uint32_t cap);
/* The standard normal CDF and its inverse (|error| < 1e-9), for copulas and truncation. */
double dist_norm_cdf(double x);
double dist_norm_quantile(double p);
/* exp(x) as the samplers compute it (within 2 ulp of libm's; exposed for its test). */
double dist_fast_exp(double x);

#endif

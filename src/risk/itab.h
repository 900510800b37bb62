/*
 * itab: fast inversion of a bounded continuous distribution through a table of cubic pieces.
 *
 * itab_build() approximates the quantile function x(u) of a distribution on a finite support
 * [lo, hi] by a continuous, nondecreasing, piecewise-cubic function of u, so that a draw is one
 * uniform u, one guide-table lookup, a short forward search and one cubic (in the spirit of
 * Derflinger, Hormann and Leydold's PINV, 2010, but interpolating the exact CDF rather than
 * integrating the density). Its accuracy is PINV's u-error: for every u in (0, 1),
 * |cdf(itab_eval(t, u)) - u| <= ITAB_UERROR, checked while the table is built at five or more
 * points inside every interval besides its nodes (with a 30% margin for the points between), the
 * intervals being shortened until it holds. One exception is forced by doubles themselves: where
 * more than ITAB_UERROR of probability lies between two adjacent doubles (a density with a pole at
 * an end other than 0: beta(0.5, 0.5) on [0, 1] puts 6.7e-9 between 1 - 2^-53 and 1), the draw is
 * one of the two doubles around the exact quantile, the best any sampler returning a double can do.
 *
 * The tails holding less than ITAB_UERROR / 2 of probability at either end are single straight
 * pieces; the other intervals shorten geometrically towards an end where the density goes to zero
 * or infinity. A table takes 48 bytes an interval (40 of coefficients, 8 of guide table): for the
 * shapes of PERT (both in [1, 5]) 21 to 562 intervals, at most 27 KB, built in about 0.6 ms; for
 * betas with shapes in [0.05, 1000], up to 2,400 intervals (115 KB) when a shape is near 0.05 at an
 * end at 0, and a few milliseconds at most.
 *
 * A struct itab owns its arrays (one allocation through core/alloc), released by itab_free(); once
 * built it is read-only, so any number of threads may draw from it. Building is deterministic.
 * Pure: no I/O, no global state. itab_beta_cdf() and itab_beta_pdf() are the regularized incomplete
 * beta function and the beta density the beta tables use.
 */
#ifndef AEGIS_RISK_ITAB_H
#define AEGIS_RISK_ITAB_H

#include <stddef.h>
#include <stdint.h>

#define ITAB_UERROR 1e-10       /* the u-error every table meets (see above) */
#define ITAB_MAX_INTERVALS 4096 /* a distribution needing more gets no table */

/* One interval [u, next u) of the table: x = c[0] + d (c[1] + d (c[2] + d c[3])), d = u' - u. */
struct itab_seg {
    double u, c[4];
};

struct itab {
    const struct itab_seg *seg; /* n intervals, then a sentinel: u = +inf, c[0] = the last end */
    const uint16_t *guide;      /* guide[k]: the last interval starting below k / gsize */
    double gsize;               /* entries of the guide table less one (4 n) */
    size_t n;                   /* intervals */
    double lo, hi;              /* the support */
    double uerror;              /* the largest u-error at the build's check points and tails
                                   (but for the exception above) */
    void *mem;                  /* the one allocation holding seg and guide */
};

/* A CDF or a density, with the argument given to itab_build. */
typedef double (*itab_fn)(double x, const void *arg);

/* The regularized incomplete beta function I_x(a, b), for x in [0, 1] (0 below, 1 above) and
 * finite a, b > 0 (NaN otherwise or for a NaN x). For shapes from 1e-3 to 1e6 and results above
 * 1e-290 the relative error is below 1e-14 + 4e-16 |log I| (the rounding of the log of a tiny
 * result), or what moving x or 1 - x by one ulp does when that is more (a concentrated beta: up to
 * 5e-13 at the median of beta(1e6, 1e6)). */
double itab_beta_cdf(double x, double a, double b);
/* The beta(a, b) density at x in [0, 1] (0 outside): +inf at 0 when a < 1 and at 1 when b < 1, b at
 * 0 when a == 1, a at 1 when b == 1. NaN unless a, b > 0. */
double itab_beta_pdf(double x, double a, double b);

/* Builds a table for the quantile function of the distribution with CDF cdf and density pdf on
 * [lo, hi] (lo < hi, hi - lo finite; cdf(lo) = 0, cdf(hi) = 1, continuous and nondecreasing
 * between, and accurate to well below ITAB_UERROR; it is only called on [lo, hi]). pdf may be 0 or
 * infinite at the ends and only sizes the first interval, so an approximation or NULL will do.
 * Returns 0 with *t ready, or -1 with t left empty (nothing to free, itab_free(t) harmless) when
 * the tolerance cannot be met within ITAB_MAX_INTERVALS intervals, the arguments are not as above
 * or the coefficients would overflow (a support near the largest doubles): the caller then falls
 * back to another sampler. Takes ~10 CDF evaluations an interval. */
int itab_build(struct itab *t, itab_fn cdf, itab_fn pdf, const void *arg, double lo, double hi);

/* A beta(a, b) on [lo, hi] (hi > lo) through itab_build(): 0, or -1 with t left empty when a or b
 * is not in [1e-3, 1e6], the range is empty or not finite, or the table would need more than
 * ITAB_MAX_INTERVALS intervals: that is when a shape is below 0.025 at an end that is exactly 0
 * (lo = 0 for a, hi = 0 for b), where doubles resolve the quantile's u^(1/a) down to 1e-323;
 * refused at once. Every shape in [0.05, 1000]^2 gets a table, on any range whose size and place
 * are not near the limits of doubles. */
int itab_build_beta(struct itab *t, double a, double b, double lo, double hi);

/* Releases the table's arrays and leaves t empty; harmless on an empty table. */
void itab_free(struct itab *t);

/* The table's quantile at u in [0, 1] (0 gives lo and 1 gives hi unless the CDF is flat there; u
 * must not be NaN): in [lo, hi], never NaN, continuous and nondecreasing in u (each piece is a
 * cubic checked to be nondecreasing, and its value is held between the interval's ends, so rounding
 * cannot break the order across intervals). */
static inline double itab_eval(const struct itab *t, double u)
{
    const struct itab_seg *s = t->seg + t->guide[(int)(u * t->gsize)];
    while (u >= s[1].u)
        s++;
    double d = u - s->u;
    double x = s->c[0] + d * (s->c[1] + d * (s->c[2] + d * s->c[3]));
    x = x > s[1].c[0] ? s[1].c[0] : x;
    return x < s->c[0] ? s->c[0] : x;
}

#endif

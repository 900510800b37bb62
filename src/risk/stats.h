/*
 * stats: the summary of an array of simulated annual losses (mean, spread, percentiles, VaR and
 * TVaR, the shares of years with no loss and above thresholds, the loss exceedance curve and the
 * histogram), exact, on several threads, without copying or reordering the array.
 *
 * Order statistics come from radix selection on the values' IEEE-754 bits mapped to 64-bit keys
 * that sort like the values (-0 just below +0): a histogram of every key's top 16 bits, then
 * histograms of the next bits of only the buckets that hold a wanted rank, until those buckets are
 * small enough to gather and sort (or hold a single value). Every percentile equals, bit for bit,
 * the one a sorted copy gives with mc.c's interpolation. Counts of years above a value (thresholds,
 * the curve's points, the histogram's edges, VaR for TVaR) come from the same top-16-bit histogram;
 * values are compared only in the buckets a boundary falls in.
 *
 * Passes over the array: 1 when every year is the same; usually 3 (moments and the histogram; the
 * first refinement with the thresholds and the curve; the rest with the tail's sums and the
 * histogram's edges); 4 or 5 when the years crowd into a few buckets (a coefficient of variation of
 * a few percent or less) or tie at a percentile's value other than 0. Zeros in bulk cost nothing.
 *
 * Reproducibility: the array is cut into fixed chunks of 65536 values; floating sums are taken per
 * chunk (by whichever thread reads it) and merged in chunk order, counts are integers, so results
 * are bit-identical on any number of threads.
 *
 * Memory: per thread two tables of 65536 counters (1 MB) and small lists; shared, at most about
 * 4.5 MB of tables and buffers whatever the array's size, and 32 bytes per chunk.
 *
 * Pure: threads, no I/O, no global state. Depends on risk/mc.h for its result types only. It owns
 * nothing of its inputs; the arrays it puts in the outputs are the caller's (mc_result_free frees
 * them).
 */
#ifndef AEGIS_RISK_STATS_H
#define AEGIS_RISK_STATS_H

#include "risk/mc.h"

#include <stddef.h>

/* Summarises a[0..n) (n >= 1, every a[i] finite; a is not modified) on `threads` threads (>= 1;
 * never more than one per 65536 values, none created for one). Fills s as mc.c's summarise()
 * defined it before this module replaced it: mean, sd (n - 1 in the denominator; 0 for n = 1), sem,
 * min, max, the percentiles mc_percentiles by linear interpolation at h = (n - 1) q, var95 and
 * var99 (the 95th and 99th percentiles), tvar95 and tvar99 (the mean of the years at or above
 * them), p_zero (the share of years equal to 0) and p_exceed (a fresh xcalloc'ed array of
 * nthresholds + 1 entries: the share of years strictly above thresholds[t]); s->events_* are left
 * alone. When res is not NULL, also sets res->nlec, lec_x, lec_p, nhist, hist_edge and hist_count
 * (fresh arrays, the caller's) as mc.c's curves() defined them. Results are bit-identical for any
 * `threads`. Where the years are all equal, mean is that value and sd 0 exactly. Statistics of
 * finite years may still overflow (a variance above 1.8e308 makes sd inf, as in mc.c): the caller
 * checks. Cannot fail (allocation failure aborts, see core/alloc.h). */
void mcs_summarise(const double *a, size_t n, int threads, const double *thresholds,
                   size_t nthresholds, struct mc_summary *s, struct mc_result *res);

#endif

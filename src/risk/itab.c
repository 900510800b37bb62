/*
 * itab.c: tables for inversion of bounded distributions, and the incomplete beta function (see
 * itab.h).
 *
 * The build first finds the two tails that hold less than TAIL of probability each, by bisection on
 * the bits of the distance from the end (so a tail as thin as 1e-300 takes no more than 64 CDF
 * evaluations); each becomes one straight piece, whose u-error cannot exceed its probability. It
 * then walks the body between them from left to right. An interval [xa, xb] gets the cubic in u
 * through four points (cdf(x), x): its ends, and two x placed where u should be at a quarter and
 * three quarters of [cdf(xa), cdf(xb)] (the cubic's Chebyshev extrema, which halve the error of
 * equally spaced nodes), estimated by warp(), a power law anchored at the nearer end of the
 * support. The cubic is accepted when it is nondecreasing and misses by no more than UTARGET at
 * five points between the nodes (and at points closer and closer to a tail in the body's first and
 * last intervals). The step then adapts as an ODE solver's does: a cubic's error grows as the
 * fourth power of the interval's width in u, so the next width in u is the last one times (UTARGET
 * / error)^(1/4), bounded, turned into a length in x by warp() again. The intervals so shrink
 * geometrically by themselves towards an end where the density vanishes or has a pole. Where one
 * double holds more probability than UTARGET, no shortening helps, and the check accepts a value
 * within a quarter of a double of the exact quantile before rounding (see miss()); an interval one
 * double wide is accepted as it is. Nothing is random: the same arguments give the same table.
 *
 * The incomplete beta function is the continued fraction of Numerical Recipes (section 6.4) by the
 * modified Lentz method, on the side of (a + 1) / (a + b + 2) where it converges fast. Its
 * prefactor x^a (1-x)^b / B(a, b) is computed as Loader (2000) computes binomial probabilities:
 * with d = (a + b) x - a, its log is K(a, b) - bd0(a, d) - bd0(b, -d), where bd0(s, d) = d - s
 * log(1 + d/s) is summed as a series when d is small against s and K takes Stirling's series for
 * the gamma functions, so nothing of size a log x is ever subtracted from something of the same
 * size (with lgamma, shapes of 1e6 would lose 1e-9 of the result). What is left is the rounding of
 * the log of a tiny result (4e-16 of it a unit of |log I|), and for a concentrated beta (shapes
 * above ~1e4) what moving x or 1 - x by an ulp does to the result: 5e-13 at the median of beta(1e6,
 * 1e6).
 */
#include "risk/itab.h"

#include "core/alloc.h"

#include <assert.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LN_SQRT2PI 0.91893853320467274178 /* log(sqrt(2 pi)) */
#define CF_MAXIT 100000                   /* continued fraction: ~sqrt(max(a, b)) terms suffice */
#define TAIL (0.5 * ITAB_UERROR)          /* probability of each tail made a linear piece */
/* the u-error an interval must meet at its check points: a margin for what lies between them */
#define UTARGET (0.7 * ITAB_UERROR)
#define GROW_MAX 4.0   /* an interval at most 4 times as wide in u as the last */
#define SHRINK_MIN 0.1 /* a rejected interval is made 0.1 to 0.7 times as wide in u */
#define SHRINK_MAX 0.7
#define MAX_ATTEMPTS (2 * ITAB_MAX_INTERVALS) /* builds take ~1.1 attempts an interval */
#define CHECKS_MAX 40        /* check points in one interval (5, and 2 x 14 at the ends) */
#define GUIDE_PER_INTERVAL 4 /* guide entries an interval: the search then rarely takes a step */
#define BETA_SHAPE_MIN 1e-3
#define BETA_SHAPE_ZERO_END 0.025 /* see itab_build_beta */
#define BETA_SHAPE_MAX 1e6

static_assert(ITAB_MAX_INTERVALS <= UINT16_MAX, "guide entries are 16 bits");
static_assert(GUIDE_PER_INTERVAL * (long)ITAB_MAX_INTERVALS < INT_MAX,
              "itab_eval indexes with int");

/* ---- the incomplete beta function ---- */

/* What a beta(a, b) needs from its shapes, computed once. */
struct beta_pre {
    double a, b, c; /* shapes, c = a + b */
    double k;       /* log of the prefactor without its bd0 terms: see log_prefactor */
    double lbeta;   /* log B(a, b) */
    double swap;    /* from this x on, the continued fraction is taken for I_{1-x}(b, a) */
};

/* Stirling's correction: log Gamma(z) - ((z - 1/2) log z - z + log sqrt(2 pi)), for z > 0. */
static double stirling_delta(double z)
{
    if (z < 1) {
        int sign;
        return lgamma_r(z, &sign) - (z - 0.5) * log(z) + z - LN_SQRT2PI;
    }
    /* below 10, delta(z) = delta(z + 1) + (z + 1/2) log(1 + 1/z) - 1: each term is ~1/(12 z^2), so
     * this loses less than lgamma(z) - (z - 1/2) log z would */
    double acc = 0;
    while (z < 10) {
        acc += (z + 0.5) * log1p(1 / z) - 1;
        z += 1;
    }
    double r = 1 / z, r2 = r * r;
    double s =
        1.0 / 12 -
        r2 * (1.0 / 360 -
              r2 * (1.0 / 1260 -
                    r2 * (1.0 / 1680 -
                          r2 * (1.0 / 1188 - r2 * (691.0 / 360360 -
                                                   r2 * (1.0 / 156 - r2 * (3617.0 / 122400)))))));
    return acc + s * r;
}

/* bd0(s, d) = s log(s / m) + d >= 0 for m = s + d > 0 (both given, each to full precision: m
 * cannot be had from s + d when d ~ -s), without cancellation: with v = -d / (2 s + d), it is
 * d^2 / (2 s + d) + 2 s (v^3/3 + v^5/5 + ...) (Loader 2000). Outside the series' range (|v| > 1/3)
 * bd0 > s/5, so the direct form loses nothing. */
static double bd0(double s, double d, double m)
{
    if (d >= s || d <= -0.5 * s)
        return d - s * log(m / s);
    double v = -d / (2 * s + d), v2 = v * v, pw = v * 2 * s, sum = d * d / (2 * s + d);
    for (int j = 1; j < 100; j++) {
        pw *= v2;
        double term = pw / (2 * j + 1);
        double next = sum + term;
        if (next == sum)
            break;
        sum = next;
    }
    return sum;
}

static void beta_setup(struct beta_pre *p, double a, double b)
{
    p->a = a;
    p->b = b;
    p->c = a + b;
    /* log B(a, b) = (a-1/2) log a + (b-1/2) log b - (c-1/2) log c + log sqrt(2 pi)
     *             + delta(a) + delta(b) - delta(c) */
    double dsum = stirling_delta(a) + stirling_delta(b) - stirling_delta(p->c);
    p->k = 0.5 * log(a / p->c * b) - LN_SQRT2PI - dsum;
    p->lbeta =
        (a - 0.5) * log(a) + (b - 0.5) * log(b) - (p->c - 0.5) * log(p->c) + LN_SQRT2PI + dsum;
    p->swap = (a + 1) / (p->c + 2);
}

/* log(x^a y^b / B(a, b)) for x in (0, 1) and y = 1 - x, each given to its own full precision (the
 * caller may know 1 - x better than 1 - x rounds). With d = c x - a = b - c y, a log(c x / a) =
 * d - bd0(a, d) and b log(c y / b) = -d - bd0(b, -d), and the c^c a^-a b^-b left over is in k. */
static double log_prefactor(const struct beta_pre *p, double x, double y)
{
    double d = x < 0.5 ? fma(p->c, x, -p->a) : fma(-p->c, y, p->b);
    return p->k - bd0(p->a, d, p->c * x) - bd0(p->b, -d, p->c * y);
}

/* The continued fraction of I_x(a, b) (Numerical Recipes' betacf) by the modified Lentz method:
 * I_x(a, b) = prefactor * cf / a. Converges fast for x < (a + 1) / (a + b + 2). */
static double beta_cf(double x, double a, double b)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= CF_MAXIT; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) <= 2 * DBL_EPSILON)
            break;
    }
    return h;
}

/* I_x(a, b), y = 1 - x as for log_prefactor. */
static double beta_cdf_pre(const struct beta_pre *p, double x, double y)
{
    if (!(x > 0))
        return 0;
    if (!(y > 0))
        return 1;
    double pre = exp(log_prefactor(p, x, y));
    if (x < p->swap)
        return pre * beta_cf(x, p->a, p->b) / p->a;
    return 1 - pre * beta_cf(y, p->b, p->a) / p->b;
}

/* The density at an end: +inf, the other shape's 1 / B, or 0, as the shape there is <, == or > 1.
 */
static double beta_pdf_end(const struct beta_pre *p, double shape)
{
    return shape < 1 ? INFINITY : shape == 1 ? exp(-p->lbeta) : 0;
}

static double beta_pdf_pre(const struct beta_pre *p, double x, double y)
{
    if (x < 0 || y < 0)
        return 0;
    if (x == 0)
        return beta_pdf_end(p, p->a);
    if (y == 0)
        return beta_pdf_end(p, p->b);
    return exp(log_prefactor(p, x, y) - log(x) - log(y));
}

double itab_beta_cdf(double x, double a, double b)
{
    if (!(a > 0 && b > 0) || isnan(x) || isinf(a) || isinf(b))
        return NAN;
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    struct beta_pre p;
    beta_setup(&p, a, b);
    return beta_cdf_pre(&p, x, 1 - x);
}

double itab_beta_pdf(double x, double a, double b)
{
    if (!(a > 0 && b > 0) || isnan(x) || isinf(a) || isinf(b))
        return NAN;
    struct beta_pre p;
    beta_setup(&p, a, b);
    return beta_pdf_pre(&p, x, 1 - x);
}

/* ---- building a table ---- */

struct build {
    itab_fn cdf, pdf;
    const void *arg;
    double lo, hi;
    double xl, xr;        /* the body between the tails */
    struct itab_seg *seg; /* growing: n used, cap allocated */
    size_t n, cap;
    double uerror;
};

static double cdf_at(const struct build *b, double x)
{
    x = x < b->lo ? b->lo : x > b->hi ? b->hi : x;
    return b->cdf(x, b->arg);
}

static int push(struct build *b, double u, double c0, double c1, double c2, double c3)
{
    if (b->n >= ITAB_MAX_INTERVALS)
        return -1;
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->seg = xrealloc(b->seg, (b->cap + 1) * sizeof *b->seg);
    }
    b->seg[b->n++] = (struct itab_seg){u, {c0, c1, c2, c3}};
    return 0;
}

/* The point where a tail of probability at most TAIL ends: x = from + dir (hi - lo) z for the
 * largest z in [0, 1] found with mass(x) <= TAIL, mass being cdf(x) (dir = 1, from = lo) or
 * 1 - cdf(x) (dir = -1, from = hi). Bisects on the bits of z, which order like the values for
 * z >= 0, so thin tails take no more steps than fat ones. *mass_out gets the tail's mass. */
static double tail_end(const struct build *b, double from, int dir, double *mass_out)
{
    double span = b->hi - b->lo;
    uint64_t zlo = 0, zhi, bits;
    double one = 1.0, z;
    memcpy(&zhi, &one, sizeof zhi);
    double best = from, best_mass = 0;
    while (zhi - zlo > 1) {
        bits = zlo + (zhi - zlo) / 2;
        memcpy(&z, &bits, sizeof z);
        double x = dir > 0 ? from + span * z : from - span * z;
        double u = cdf_at(b, x), mass = dir > 0 ? u : 1 - u;
        if (mass <= TAIL) {
            zlo = bits;
            best = x;
            best_mass = mass;
            if (mass >= TAIL / 16)
                break; /* close enough: the tail is no longer than it need be */
        } else {
            zhi = bits;
        }
    }
    *mass_out = best_mass;
    return best;
}

/* The x where the CDF reaches u, by the model that the probability between x and the nearer end
 * of the support is a power of the distance, fitted to (xa, ua) and (xb, ub), xa < xb, ua < ub (the
 * shape of a density near an end where it vanishes or has a pole; close to a straight line far from
 * the ends). For u outside [ua, ub] it extrapolates. NaN or infinite when the model has no answer
 * (the caller then falls back to a straight line). */
static double warp(const struct build *b, double xa, double ua, double xb, double ub, double u)
{
    if (xa - b->lo <= b->hi - xb) {
        /* u = ua ((x - lo) / (xa - lo))^p */
        double da = xa - b->lo;
        double p = log1p((ub - ua) / ua) / log1p((xb - xa) / da);
        return b->lo + da * exp(log1p((u - ua) / ua) / p);
    }
    /* 1 - u = (1 - ub) ((hi - x) / (hi - xb))^p */
    double sb = 1 - ub, eb = b->hi - xb;
    double p = log1p((ub - ua) / sb) / log1p((xb - xa) / eb);
    return b->hi - eb * exp(log1p((ub - u) / sb) / p);
}

/* How far the piece s of [xa, xb] (mean density dens) misses at u, as a fraction of what is
 * allowed (<= 1 passes). Let q be the exact quantile, x the piece's value as itab_eval() returns it
 * and x' its value before rounding, whose u-error er is x' - q times the density. Wherever rounding
 * matters (one double holds more than a thousandth of UTARGET), the measure is the smaller of
 *   (|er| + m/2) / UTARGET, m the probability of the double at x: after rounding, still within
 *     UTARGET, however the rounding goes (with the margin of UTARGET for the points not checked);
 *   |er| / (m/4): x' within a quarter of a double of q, so x within one double of it, the exception
 *     for probability no double can resolve (where shortening intervals cannot reduce the u-error);
 * elsewhere |cdf(x) - u| / UTARGET. *uerr gets |cdf(x) - u| unless the exception was the measure.
 */
static double miss(const struct build *b, const struct itab_seg *s, double xa, double xb,
                   double dens, double u, double *uerr)
{
    double d = u - s->u, inc = d * (s->c[1] + d * (s->c[2] + d * s->c[3]));
    double raw = s->c[0] + inc;
    double x = raw > xb ? xb : raw < xa ? xa : raw;
    double e = cdf_at(b, x) - u;
    *uerr = fabs(e);
    if (dens * (nextafter(x, INFINITY) - x) < 1e-3 * UTARGET)
        return fabs(e) / UTARGET;
    double nb = nextafter(x, e > 0 ? -INFINITY : INFINITY);
    double e2 = cdf_at(b, nb) - u, m = fabs(e2 - e);
    double raw_off = raw == x ? (s->c[0] - x) + inc : 0; /* x' - x: both terms exact or tiny */
    double er = m > 0 ? e + (e2 - e) * (raw_off / (nb - x)) : e;
    double r1 = (fabs(er) + 0.5 * m) / UTARGET, r2 = fabs(er) / (0.25 * m);
    if (r1 <= r2)
        return r1;
    *uerr = 0;
    return r2;
}

/* The cubic of interval [xa, xb] in d = u - ua (ua = cdf(xa), ub = cdf(xb) > ua) into s, with the
 * largest miss() at its check points into *err and the largest u-error among them into *uerr.
 * Returns FIT_OK, FIT_BENT when the cubic is not nondecreasing, FIT_HUGE when its coefficients
 * overflow (a support near the largest doubles: no table). */
enum { FIT_OK, FIT_BENT, FIT_HUGE };
static int fit(const struct build *b, double xa, double ua, double xb, double ub,
               struct itab_seg *s, double *err, double *uerr)
{
    double w = ub - ua, h = xb - xa;
    /* nodes where u is at a quarter and three quarters of [ua, ub] if warp() is right */
    double x1 = warp(b, xa, ua, xb, ub, ua + 0.25 * w), x2 = warp(b, xa, ua, xb, ub, ua + 0.75 * w);
    if (!(xa < x1 && x1 < x2 && x2 < xb)) {
        x1 = xa + 0.25 * h;
        x2 = xa + 0.75 * h;
    }
    double U1 = cdf_at(b, x1) - ua, U2 = cdf_at(b, x2) - ua;
    double c1, c2 = 0, c3 = 0; /* in t = d / w */
    double t1 = U1 / w, t2 = U2 / w;
    if (xa < x1 && x1 < x2 && x2 < xb && 0 < t1 && t1 < t2 && t2 < 1) {
        /* Newton's divided differences on t = 0, t1, t2, 1, of y = x - xa */
        double y1 = x1 - xa, y2 = x2 - xa, y3 = h;
        double f01 = y1 / t1, f12 = (y2 - y1) / (t2 - t1), f23 = (y3 - y2) / (1 - t2);
        double f012 = (f12 - f01) / t2, f123 = (f23 - f12) / (1 - t1);
        double f0123 = f123 - f012;
        c1 = f01 - f012 * t1 + f0123 * t1 * t2;
        c2 = f012 - f0123 * (t1 + t2);
        c3 = f0123;
        /* nondecreasing on [0, 1]: the derivative, a quadratic, at both ends and its extremum */
        if (c1 < 0 || c1 + 2 * c2 + 3 * c3 < 0)
            return FIT_BENT;
        if (c3 != 0) {
            double tm = -c2 / (3 * c3);
            if (tm > 0 && tm < 1 && c1 - c2 * c2 / (3 * c3) < 0)
                return FIT_BENT;
        }
    } else {
        c1 = h; /* too narrow for four distinct nodes: a straight line */
        t1 = 0.25;
        t2 = 0.75;
    }
    *s = (struct itab_seg){ua, {xa, c1 / w, c2 / (w * w), c3 / (w * w * w)}};
    if (!(fabs(s->c[1]) + fabs(s->c[2]) + fabs(s->c[3]) < INFINITY))
        return FIT_HUGE;

    /* the u-error between the nodes, the middle gap (where a cubic's error peaks) first; and in
     * the first and last intervals of the body, which reach up to a tail and so may hold most of a
     * singularity of the quantile at the end, at points twice closer to that end each time */
    double at[CHECKS_MAX];
    int n = 0;
    at[n++] = t1 + 0.5 * (t2 - t1);
    at[n++] = t1 + 0.25 * (t2 - t1);
    at[n++] = t1 + 0.75 * (t2 - t1);
    at[n++] = 0.5 * t1;
    at[n++] = t2 + 0.5 * (1 - t2);
    for (double f = 0.5; f > 1e-4 && (xa == b->xl || xb == b->xr); f *= 0.5) {
        if (xa == b->xl)
            at[n++] = f * t1;
        if (xb == b->xr)
            at[n++] = 1 - f * (1 - t2);
    }
    double worst = 0, worst_u = 0, dens = w / h;
    for (int i = 0; i < n && worst <= 1; i++) {
        double ue, r = miss(b, s, xa, xb, dens, ua + at[i] * w, &ue);
        worst = r > worst ? r : worst;
        worst_u = ue > worst_u ? ue : worst_u;
    }
    *err = worst;
    *uerr = worst_u;
    return FIT_OK;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The body [xl, xr] (cdf ul, ur) cut into accepted intervals appended to b->seg: 0, or -1 when
 * that takes more than ITAB_MAX_INTERVALS intervals or MAX_ATTEMPTS tries. */
static int walk(struct build *b, double xl, double ul, double xr, double ur)
{
    double xa = xl, ua = ul;
    double h = (xr - xl) / 64;
    if (xl > b->lo && xl - b->lo < h)
        h = xl - b->lo;
    double f = b->pdf ? b->pdf(xl, b->arg) : 0;
    if (f > 0 && 1e-3 / f < h)
        h = 1e-3 / f;
    bool retry = false;
    for (long attempts = 0; xa < xr; attempts++) {
        if (attempts > MAX_ATTEMPTS)
            return -1;
        double xb = xa + h;
        if (!(xb < xr) || (!retry && xr - xb < 0.25 * h))
            xb = xr; /* not leaving a sliver for the end, unless this step was just shortened */
        bool forced = false;
        double next = nextafter(xa, INFINITY);
        if (xb <= next) { /* one double wide: nothing shorter exists, so this one must do */
            xb = next;
            forced = true;
        }
        double ub = xb == xr ? ur : cdf_at(b, xb);
        if (ub < ua)
            ub = ua;    /* a CDF rounded against its order */
        if (ub == ua) { /* no probability: the quantile jumps over it, no interval needed */
            xa = xb;
            h *= 2;
            continue;
        }
        struct itab_seg s;
        double err, uerr;
        int fitted = fit(b, xa, ua, xb, ub, &s, &err, &uerr);
        if (fitted == FIT_HUGE)
            return -1;
        bool ok = fitted == FIT_OK && err <= 1;
        if (!ok && !forced) {
            double k =
                fitted == FIT_OK ? clampd(0.9 * pow(err, -0.25), SHRINK_MIN, SHRINK_MAX) : 0.5;
            double x = warp(b, xa, ua, xb, ub, ua + k * (ub - ua));
            h = x > xa && x < xb ? x - xa : k * (xb - xa);
            retry = true;
            continue;
        }
        if (!ok) { /* forced: a straight line between two adjacent doubles */
            s = (struct itab_seg){ua, {xa, (xb - xa) / (ub - ua), 0, 0}};
            err = uerr = 0;
            if (!isfinite(s.c[1]))
                return -1;
        }
        if (push(b, s.u, s.c[0], s.c[1], s.c[2], s.c[3]))
            return -1;
        retry = false;
        if (uerr > b->uerror)
            b->uerror = uerr;
        /* the next interval: its width in u from the error law, its length in x from warp() */
        double grow = err > 0 ? clampd(0.9 * pow(err, -0.25), SHRINK_MIN, GROW_MAX) : GROW_MAX;
        double x = warp(b, xa, ua, xb, ub, ub + grow * (ub - ua));
        h = x > xb && x < INFINITY ? x - xb : grow * (xb - xa);
        xa = xb;
        ua = ub;
    }
    return 0;
}

int itab_build(struct itab *t, itab_fn cdf, itab_fn pdf, const void *arg, double lo, double hi)
{
    memset(t, 0, sizeof *t);
    if (!(lo < hi) || !isfinite(hi - lo))
        return -1;
    struct build b = {.cdf = cdf, .pdf = pdf, .arg = arg, .lo = lo, .hi = hi};
    int rc = -1;
    if (!(cdf_at(&b, lo) <= TAIL && cdf_at(&b, hi) >= 1 - TAIL))
        goto out;
    double ml, mr;
    double xl = tail_end(&b, lo, 1, &ml), xr = tail_end(&b, hi, -1, &mr);
    double ul = ml, ur = 1 - mr;
    if (!(xl < xr && ul < ur))
        goto out;
    b.xl = xl;
    b.xr = xr;
    if (ul > 0 && xl > lo && push(&b, 0, lo, (xl - lo) / ul, 0, 0))
        goto out;
    if (walk(&b, xl, ul, xr, ur))
        goto out;
    if (ur < 1 && xr < hi && push(&b, ur, xr, (hi - xr) / (1 - ur), 0, 0))
        goto out;
    if (b.n == 0)
        goto out;

    /* one block: n intervals and the sentinel, then the guide table */
    size_t n = b.n, g = GUIDE_PER_INTERVAL * n;
    size_t seg_bytes = (n + 1) * sizeof(struct itab_seg);
    void *mem = xmalloc(seg_bytes + (g + 1) * sizeof(uint16_t));
    struct itab_seg *seg = mem;
    uint16_t *guide = (uint16_t *)((char *)mem + seg_bytes);
    memcpy(seg, b.seg, n * sizeof *seg);
    /* the sentinel stops the search; its c[0] is where the last interval ends */
    seg[n] = (struct itab_seg){INFINITY, {ur < 1 && xr < hi ? hi : xr, 0, 0, 0}};
    /* guide[k]: the last interval j with fl(u_j g) < k. Rounding is monotone, so a u with
     * (int)(u * g) == k cannot be below u_j: the search never needs to go back. */
    size_t j = 0;
    for (size_t k = 0; k <= g; k++) {
        while (j + 1 < n && seg[j + 1].u * (double)g < (double)k)
            j++;
        guide[k] = (uint16_t)j;
    }
    t->seg = seg;
    t->guide = guide;
    t->gsize = (double)g;
    t->n = n;
    t->lo = lo;
    t->hi = hi;
    t->uerror = b.uerror > ul ? b.uerror : ul;
    if (1 - ur > t->uerror)
        t->uerror = 1 - ur;
    t->mem = mem;
    rc = 0;
out:
    free(b.seg);
    return rc;
}

void itab_free(struct itab *t)
{
    free(t->mem);
    memset(t, 0, sizeof *t);
}

/* ---- beta ---- */

/* A beta on [lo, hi]: its CDF at x takes both x - lo and hi - x, so that the probability near
 * either end is as precise as the distance from that end. */
struct beta_arg {
    struct beta_pre p;
    double lo, hi, span;
};

static double beta_cdf_fn(double x, const void *arg)
{
    const struct beta_arg *ba = arg;
    return beta_cdf_pre(&ba->p, (x - ba->lo) / ba->span, (ba->hi - x) / ba->span);
}

static double beta_pdf_fn(double x, const void *arg)
{
    const struct beta_arg *ba = arg;
    return beta_pdf_pre(&ba->p, (x - ba->lo) / ba->span, (ba->hi - x) / ba->span) / ba->span;
}

int itab_build_beta(struct itab *t, double a, double b, double lo, double hi)
{
    memset(t, 0, sizeof *t);
    if (!(a >= BETA_SHAPE_MIN && a <= BETA_SHAPE_MAX && b >= BETA_SHAPE_MIN && b <= BETA_SHAPE_MAX))
        return -1;
    if (!(lo < hi) || !isfinite(hi - lo))
        return -1;
    /* at an end that is exactly 0, doubles resolve the quantile u^(1/a) down to 1e-323, and a
     * shape below BETA_SHAPE_ZERO_END there would need more than ITAB_MAX_INTERVALS: fail now
     * rather than after building them */
    if ((lo == 0 && a < BETA_SHAPE_ZERO_END) || (hi == 0 && b < BETA_SHAPE_ZERO_END))
        return -1;
    struct beta_arg ba = {.lo = lo, .hi = hi, .span = hi - lo};
    beta_setup(&ba.p, a, b);
    return itab_build(t, beta_cdf_fn, beta_pdf_fn, &ba, lo, hi);
}

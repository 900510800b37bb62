#include "risk/stats.h"

#include "core/alloc.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define CHUNK                                                                                      \
    ((size_t)65536)        /* the unit of every floating sum: a slot each, merged in chunk order */
#define SUB ((size_t)2048) /* a chunk is read in sub-blocks small enough to stay in L1 */
#define NB1 ((size_t)1 << 16)        /* buckets of the first histogram: the keys' top 16 bits */
#define GATHER_MAX ((size_t)1 << 16) /* keys gathered and sorted in one pass, at most */
#define REFINE_COUNTERS ((size_t)1 << 16) /* per thread, all refinement histograms of a pass */
#define NWANT (2 * MC_NPCT)               /* ranks wanted: floor(h) and the next, per percentile */
#define AHEAD                                                                                      \
    512 /* values read ahead: the hardware prefetcher alone falls behind the passes' loads */
/* Crowded buckets with boundaries (at least BSUB_MIN years, BSUB_SLOTS of them at most) get a table
 * of their 4096 sub-buckets' intervals, so most of their years need no search. */
#define BSUB 4096
#define BSUB_MIN 4096
#define BSUB_SLOTS 64
#define BSUB_SPLIT 0xFFFF /* a boundary falls inside the sub-bucket */
/* The curves' sizes, as in mc.c's curves() (mc.h does not export them). */
#define NLEC 50
#define NHIST 40
/* The percentiles the last steps need: VaR 95 and 99 (TVaR), the 99.9th (the histogram's top). */
#define PCT_VAR95 7
#define PCT_VAR99 8
#define PCT_TOP (MC_NPCT - 1)

#define SIGN ((uint64_t)1 << 63)
#define KEY_NEG0 (SIGN - 1) /* the key of -0.0: the last of bucket 0x7fff */
#define KEY_POS0 SIGN       /* the key of +0.0: the first of bucket 0x8000 */

/* What a pass does with the values of a top-16-bit bucket (flags in job.tab). */
#define F_GROUP 1 /* it holds a group of wanted ranks: histogram or gather them */
#define F_BOUND 2 /* a boundary being counted falls inside it: find each key's interval */
#define F_TAIL 4  /* it holds years that may be >= VaR 95: the tail sums */

/* ---- keys: doubles as unsigned integers in the same order ------------------------------------ */

/* A value's key from its bits: negative values have all their bits flipped, the others their sign
 * bit set. -0 sorts just below +0, finite values between key_of(-DBL_MAX) and key_of(DBL_MAX). */
static inline uint64_t key_of_bits(uint64_t u)
{
    return u ^ ((0 - (u >> 63)) | SIGN);
}

static inline uint64_t bits_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static inline double value_of_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static inline uint64_t key_of(double v)
{
    return key_of_bits(bits_of(v));
}

static inline double val_of(uint64_t k)
{
    return value_of_bits(k ^ (((k >> 63) - 1) | SIGN));
}

/* A key's top 16 bits are a function of the value's top 16 bits (sign, exponent, 4 bits of the
 * significand): the passes look buckets up by the value's bits, without computing keys. */
static inline size_t bucket_of_raw(size_t r)
{
    return r < 0x8000 ? r | 0x8000 : 0xFFFF - r;
}

static inline size_t raw_of_bucket(size_t b)
{
    return b >= 0x8000 ? b - 0x8000 : 0xFFFF - b;
}

/* Asks for the cache line of a[i] when it is in the array (a hint: no effect on results). */
static inline void prefetch(const double *a, size_t i, size_t end)
{
#if defined(__GNUC__)
    if (i < end)
        __builtin_prefetch(a + i);
#else
    (void)a, (void)i, (void)end;
#endif
}

/* Two doubles at once (GCC and Clang's generic vectors, scalar code where the target has none): the
 * same operations lane by lane as scalar code would do, so the same bits on any target. */
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2i __attribute__((vector_size(16)));

static inline v2d load2(const double *p)
{
    v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline v2d select2(v2i m, v2d a, v2d b)
{
    return (v2d)(((v2i)a & m) | ((v2i)b & ~m));
}

/* a < b ? a : b and a > b ? a : b, lane by lane: one instruction each with SSE2 */
static inline v2d min2(v2d a, v2d b)
{
#if defined(__SSE2__)
    return (v2d)_mm_min_pd((__m128d)a, (__m128d)b);
#else
    return select2((v2i)(a < b), a, b);
#endif
}

static inline v2d max2(v2d a, v2d b)
{
#if defined(__SSE2__)
    return (v2d)_mm_max_pd((__m128d)a, (__m128d)b);
#else
    return select2((v2i)(a > b), a, b);
#endif
}

/* ---- the job and its threads ----------------------------------------------------------------- */

struct slot {        /* one chunk's floating results, written by the thread that owns the chunk */
    double mean, m2; /* first pass */
    double t95, t99; /* the pass with the tail: sums of the values >= var95, >= var99 */
};

/* Years whose keys start with `prefix` (the job's plen bits), holding at least one wanted rank. */
struct group {
    uint64_t prefix, count;
    bool gather; /* its keys are copied out this pass; otherwise histogrammed */
    bool urgent; /* holds a rank of VaR 95, VaR 99 or the 99.9th percentile */
    size_t run;  /* plen > 32: groups with the same top 32 bits from this one on (on the first) */
    size_t hist; /* !gather: its histogram's index in each thread's rh */
    size_t off;  /* gather: where its keys start in the sorted buffer */
};

struct want {
    size_t rank;
    bool done, urgent;
    uint64_t key;                /* once done */
    uint64_t prefix, count, sub; /* else: its group's prefix and size, its rank within it */
    size_t group;
};

/* A boundary whose count of years at or above it is wanted, and where to put that count. */
struct bound {
    uint64_t key;
    uint64_t *dst;
};

struct job;

struct part { /* one thread's chunks and private counters */
    struct job *J;
    size_t c_lo, c_hi;
    pthread_t th;
    bool spawned;
    uint64_t *h1; /* NB1, by the values' top 16 bits */
    double min, max, minpos;
    uint64_t zpos, zneg;
    uint64_t *rh;                      /* REFINE_COUNTERS */
    uint64_t gmin[NWANT], gmax[NWANT]; /* the smallest and largest key seen per group */
    uint64_t *cnt;              /* years per interval between boundaries, in boundary buckets */
    uint64_t *l, *lg, *lb, *lt; /* SUB each: a sub-block's flagged values' bits, keys by flag */
};

struct job {
    const double *a;
    size_t n, nchunks;
    int nthreads;
    struct part *part;
    struct slot *slot;
    void (*fn)(struct job *, struct part *);
    unsigned char *tab; /* NB1 x F_*, by the values' top 16 bits */
    /* refinement */
    /* by the keys' top 16 bits: 1 + the group (plen 16), or 1 + a slot of gsub (plen > 16) */
    unsigned char *gtab;
    unsigned char *gsub; /* 65536 per slot, by the keys' bits 16..31: 1 + the first group there */
    struct group g[NWANT];
    size_t ng;
    unsigned plen, bits;
    uint64_t *gbuf; /* GATHER_MAX keys, and as many for sorting them */
    atomic_size_t gfill;
    /* boundaries */
    size_t *base;   /* NB1: the interval of the bucket's first key */
    uint32_t *step; /* NB1: the largest power of 2 <= the boundaries inside the bucket */
    uint64_t *U;    /* nu boundaries in increasing order, then UINT64_MAX */
    size_t nu;
    const uint64_t *h1;   /* the top-16-bit histogram, by key */
    unsigned char *bslot; /* NB1: 1 + a slot of bsub for the crowded buckets with boundaries */
    uint16_t *bsub; /* BSUB per slot, by the keys' next 12 bits: the interval, or BSUB_SPLIT */
    /* the tail */
    bool tail;
    uint64_t k95, k99;
};

static void *thread_main(void *arg)
{
    struct part *P = arg;
    P->J->fn(P->J, P);
    return NULL;
}

/* Runs fn on every part, part 0 on this thread (and a part whose thread cannot start). */
static void run_pass(struct job *J, void (*fn)(struct job *, struct part *))
{
    J->fn = fn;
    for (int t = 1; t < J->nthreads; t++) {
        struct part *P = &J->part[t];
        P->spawned = pthread_create(&P->th, NULL, thread_main, P) == 0;
        if (!P->spawned)
            fn(J, P);
    }
    fn(J, &J->part[0]);
    for (int t = 1; t < J->nthreads; t++)
        if (J->part[t].spawned)
            pthread_join(J->part[t].th, NULL);
}

static inline size_t chunk_end(const struct job *J, size_t c)
{
    return (c + 1) * CHUNK < J->n ? (c + 1) * CHUNK : J->n;
}

/* ---- pass 1: moments, extremes and the top-16-bit histogram ---------------------------------- */

/* Merges (nb, mb, m2b) into (na, ma, m2a): Chan, Golub and LeVeque's pairwise update. */
static void chan_merge(double *na, double *ma, double *m2a, double nb, double mb, double m2b)
{
    if (*na == 0) {
        *na = nb;
        *ma = mb;
        *m2a = m2b;
        return;
    }
    double nn = *na + nb, d = mb - *ma;
    *ma += d * (nb / nn);
    *m2a += m2b + d * d * (*na * (nb / nn));
    *na = nn;
}

struct block { /* what the first pass keeps of a sub-block */
    double mean, m2, min, max, minpos;
};

/* The sub-block x[0..len): its sum and extremes in four lanes, then the squared deviations from its
 * mean while it is still in L1, their sum correcting the mean. */
static void block_stats(const double *x, size_t len, struct block *B)
{
    const v2d zero = {0, 0}, inf = {INFINITY, INFINITY};
    v2d s0 = zero, s1 = zero, lo0 = inf, lo1 = inf, hi0 = -inf, hi1 = -inf, p0 = inf, p1 = inf;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        v2d a = load2(x + i), b = load2(x + i + 2);
        s0 += a;
        s1 += b;
        lo0 = min2(a, lo0);
        lo1 = min2(b, lo1);
        hi0 = max2(a, hi0);
        hi1 = max2(b, hi1);
        p0 = min2(select2((v2i)(a > zero), a, inf), p0);
        p1 = min2(select2((v2i)(b > zero), b, inf), p1);
    }
    double s = 0, lo = INFINITY, hi = -INFINITY, p = INFINITY;
    for (; i < len; i++) {
        double v = x[i];
        s += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        p = v > 0 && v < p ? v : p;
    }
    double n = (double)len;
    double m = (((s0[0] + s0[1]) + (s1[0] + s1[1])) + s) / n;
    const double lanes[3][4] = {{lo0[0], lo0[1], lo1[0], lo1[1]},
                                {hi0[0], hi0[1], hi1[0], hi1[1]},
                                {p0[0], p0[1], p1[0], p1[1]}};
    for (int j = 0; j < 4; j++) {
        lo = lanes[0][j] < lo ? lanes[0][j] : lo;
        hi = lanes[1][j] > hi ? lanes[1][j] : hi;
        p = lanes[2][j] < p ? lanes[2][j] : p;
    }
    B->min = lo;
    B->max = hi;
    B->minpos = p;

    const v2d mm = {m, m};
    v2d d0 = zero, d1 = zero, q0 = zero, q1 = zero;
    for (i = 0; i + 4 <= len; i += 4) {
        v2d a = load2(x + i) - mm, b = load2(x + i + 2) - mm;
        d0 += a;
        d1 += b;
        q0 += a * a;
        q1 += b * b;
    }
    double d = 0, q = 0;
    for (; i < len; i++) {
        double e = x[i] - m;
        d += e;
        q += e * e;
    }
    d += (d0[0] + d0[1]) + (d1[0] + d1[1]);
    q += (q0[0] + q0[1]) + (q1[0] + q1[1]);
    double v = q - d * d / n; /* NaN when both overflow: the spread does not fit in a double */
    B->m2 = isnan(v) ? q : v > 0 ? v : 0;
    B->mean = m + d / n;
}

static void pass_first(struct job *J, struct part *P)
{
    const double *a = J->a;
    uint64_t *h1 = P->h1;
    double min = INFINITY, max = -INFINITY, minpos = INFINITY;
    for (size_t c = P->c_lo; c < P->c_hi; c++) {
        size_t hi = chunk_end(J, c);
        double cn = 0, cmean = 0, cm2 = 0;
        for (size_t s = c * CHUNK; s < hi; s += SUB) {
            size_t e = s + SUB < hi ? s + SUB : hi, i = s;
            for (; i + 8 <= e; i += 8) {
                prefetch(a, i + AHEAD, J->n);
                for (int j = 0; j < 8; j++)
                    h1[bits_of(a[i + j]) >> 48]++;
            }
            for (; i < e; i++)
                h1[bits_of(a[i]) >> 48]++;
            struct block B;
            block_stats(a + s, e - s, &B);
            chan_merge(&cn, &cmean, &cm2, (double)(e - s), B.mean, B.m2);
            min = B.min < min ? B.min : min;
            max = B.max > max ? B.max : max;
            minpos = B.minpos < minpos ? B.minpos : minpos;
        }
        J->slot[c].mean = cmean;
        J->slot[c].m2 = cm2;
    }
    P->min = min;
    P->max = max;
    P->minpos = minpos;
}

/* Years exactly +0 and -0, when the histogram cannot tell them from values below 2^-1026. */
static void pass_zeros(struct job *J, struct part *P)
{
    const double *a = J->a;
    uint64_t zpos = 0, zneg = 0;
    size_t end = P->c_hi * CHUNK < J->n ? P->c_hi * CHUNK : J->n;
    for (size_t i = P->c_lo * CHUNK; i < end; i++) {
        uint64_t u = bits_of(a[i]);
        zpos += u == 0;
        zneg += u == SIGN;
    }
    P->zpos = zpos;
    P->zneg = zneg;
}

/* ---- the other passes: refinement, boundaries, the tail -------------------------------------- */

static void scan_groups(struct job *J, struct part *P, const uint64_t *keys, size_t nk)
{
    unsigned plen = J->plen, sh = 64 - plen, bits = J->bits;
    uint64_t mask = ((uint64_t)1 << bits) - 1, *rh = P->rh, *gat = P->l;
    size_t ngat = 0;
    for (size_t i = 0; i < nk; i++) {
        uint64_t k = keys[i], p = k >> sh;
        size_t j = J->gtab[k >> 48] - 1u; /* plen 16: one group per flagged bucket */
        if (plen > 16) {
            unsigned e = J->gsub[j << 16 | ((k >> 32) & 0xFFFF)];
            if (!e)
                continue;
            j = e - 1;
            if (plen > 32) {
                /* the groups with these top 32 bits are consecutive, in prefix order: the last
                 * one whose prefix is <= p, found in a fixed number of steps */
                for (size_t len = J->g[j].run; len > 1; len -= len / 2)
                    j = J->g[j + len / 2].prefix <= p ? j + len / 2 : j;
                if (J->g[j].prefix != p)
                    continue;
            }
        }
        const struct group *G = &J->g[j];
        if (G->gather) {
            gat[ngat++] = k;
        } else {
            rh[G->hist << bits | ((k >> (sh - bits)) & mask)]++;
            P->gmin[j] = k < P->gmin[j] ? k : P->gmin[j];
            P->gmax[j] = k > P->gmax[j] ? k : P->gmax[j];
        }
    }
    if (ngat) {
        size_t at = atomic_fetch_add_explicit(&J->gfill, ngat, memory_order_relaxed);
        memcpy(J->gbuf + at, gat, ngat * sizeof *gat);
    }
}

static void scan_bounds(const struct job *J, struct part *P, const uint64_t *keys, size_t nk)
{
    const uint64_t *U = J->U;
    uint64_t *cnt = P->cnt;
    for (size_t i = 0; i < nk; i++) {
        uint64_t k = keys[i];
        size_t b = k >> 48, at = J->base[b], pos = 0;
        if (J->bslot[b]) {
            unsigned e = J->bsub[(size_t)(J->bslot[b] - 1) * BSUB + ((k >> 36) & (BSUB - 1))];
            if (e != BSUB_SPLIT) {
                cnt[e]++;
                continue;
            }
        }
        /* how many of the bucket's boundaries are <= k: a binary search with a fixed number of
         * steps per bucket and no branch on the comparisons (U is padded for its overshoot) */
        const uint64_t *u = U + at;
        for (size_t step = J->step[b]; step; step >>= 1)
            pos += u[pos + step - 1] <= k ? step : 0;
        cnt[at + pos]++;
    }
}

/* A sub-block's values in flagged buckets are listed first, without branches (most are in no
 * flagged bucket), then their keys sorted out by flag into three lists worked through in order. */
static void pass_scan(struct job *J, struct part *P)
{
    const double *a = J->a;
    const unsigned char *tab = J->tab;
    uint64_t *l = P->l, *lg = P->lg, *lb = P->lb, *lt = P->lt;
    uint64_t k95 = J->k95, k99 = J->k99;
    for (size_t c = P->c_lo; c < P->c_hi; c++) {
        size_t hi = chunk_end(J, c);
        double t95[4] = {0, 0, 0, 0}, t99[4] = {0, 0, 0, 0};
        for (size_t s = c * CHUNK; s < hi; s += SUB) {
            size_t e = s + SUB < hi ? s + SUB : hi, i = s, nl = 0;
            for (; i + 8 <= e; i += 8) {
                prefetch(a, i + AHEAD, J->n);
                for (int j = 0; j < 8; j++) {
                    uint64_t u = bits_of(a[i + j]);
                    l[nl] = u;
                    nl += tab[u >> 48] != 0;
                }
            }
            for (; i < e; i++) {
                uint64_t u = bits_of(a[i]);
                l[nl] = u;
                nl += tab[u >> 48] != 0;
            }
            size_t ng = 0, nb = 0, nt = 0;
            for (size_t j = 0; j < nl; j++) {
                uint64_t u = l[j], k = key_of_bits(u);
                unsigned f = tab[u >> 48];
                lg[ng] = k;
                ng += f & F_GROUP;
                lb[nb] = k;
                nb += (f & F_BOUND) >> 1;
                lt[nt] = k;
                nt += (f & F_TAIL) >> 2;
            }
            if (ng)
                scan_groups(J, P, lg, ng);
            if (nb)
                scan_bounds(J, P, lb, nb);
            /* four lanes by position in the list; adding +0.0 for the years below VaR leaves a
             * sum as it is (they start at +0.0, so they are never -0.0) */
            size_t j = 0;
            for (; j + 4 <= nt; j += 4)
                for (int q = 0; q < 4; q++) {
                    uint64_t k = lt[j + q];
                    double v = val_of(k);
                    t95[q] += k >= k95 ? v : 0.0;
                    t99[q] += k >= k99 ? v : 0.0;
                }
            for (; j < nt; j++) {
                uint64_t k = lt[j];
                double v = val_of(k);
                t95[0] += k >= k95 ? v : 0.0;
                t99[0] += k >= k99 ? v : 0.0;
            }
        }
        if (J->tail) {
            J->slot[c].t95 = (t95[0] + t95[1]) + (t95[2] + t95[3]);
            J->slot[c].t99 = (t99[0] + t99[1]) + (t99[2] + t99[3]);
        }
    }
}

/* ---- selection ------------------------------------------------------------------------------- */

/* Sorts n keys (tmp has room for n): LSD radix, skipping the bytes all keys share. */
static void sort_keys(uint64_t *k, size_t n, uint64_t *tmp)
{
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = k[i];
            size_t j = i;
            for (; j > 0 && k[j - 1] > x; j--)
                k[j] = k[j - 1];
            k[j] = x;
        }
        return;
    }
    uint64_t *src = k, *dst = tmp;
    for (unsigned sh = 0; sh < 64; sh += 8) {
        size_t c[256] = {0};
        for (size_t i = 0; i < n; i++)
            c[(src[i] >> sh) & 255]++;
        if (c[(src[0] >> sh) & 255] == n)
            continue;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t t = c[b];
            c[b] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> sh) & 255]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != k)
        memcpy(k, src, n * sizeof *k);
}

static unsigned ceil_log2(size_t x)
{
    unsigned b = 0;
    while (((size_t)1 << b) < x)
        b++;
    return b;
}

/* Settles what the top-16-bit histogram h1 settles (extremes, years exactly 0) and puts the other
 * wants (in increasing rank order) in their buckets. Returns how many are pending. */
static size_t select_first(const struct job *J, const uint64_t *h1, uint64_t kmin, uint64_t kmax,
                           uint64_t zpos, uint64_t zneg, struct want *w, size_t nw)
{
    size_t pending = 0, b = 0;
    uint64_t cum = 0;
    for (size_t i = 0; i < nw; i++) {
        uint64_t r = w[i].rank;
        w[i].done = true;
        if (r == 0 || kmin == kmax) {
            w[i].key = kmin;
            continue;
        }
        if (r == J->n - 1) {
            w[i].key = kmax;
            continue;
        }
        while (cum + h1[b] <= r)
            cum += h1[b++];
        uint64_t sub = r - cum;
        /* years exactly 0, often most of them, settle at once: +0 is the first key of its bucket
         * and -0 the last of its own */
        if (b == KEY_POS0 >> 48 && sub < zpos) {
            w[i].key = KEY_POS0;
        } else if (b == KEY_NEG0 >> 48 && sub >= h1[b] - zneg) {
            w[i].key = KEY_NEG0;
        } else {
            w[i].done = false;
            w[i].prefix = b;
            w[i].count = h1[b];
            w[i].sub = sub;
            pending++;
        }
    }
    return pending;
}

/* Plans the next pass's refinement of the pending wants (all with the job's plen bits known): the
 * groups holding the ranks the last steps need first, then the smallest, are gathered while the
 * buffer has room; the others get a histogram of their next bits. Sets the F_GROUP flags. */
static void refine_plan(struct job *J, struct want *w, size_t nw)
{
    struct group *g = J->g;
    size_t ng = 0;
    for (size_t i = 0; i < nw; i++) {
        if (w[i].done)
            continue;
        /* wants are in rank order, so their prefixes in key order: groups come out sorted */
        if (ng == 0 || g[ng - 1].prefix != w[i].prefix)
            g[ng++] = (struct group){.prefix = w[i].prefix, .count = w[i].count};
        g[ng - 1].urgent |= w[i].urgent;
        w[i].group = ng - 1;
    }
    J->ng = ng;
    size_t order[NWANT];
    for (size_t j = 0; j < ng; j++) {
        size_t at = j;
        for (; at > 0; at--) {
            const struct group *x = &g[order[at - 1]];
            if (x->urgent > g[j].urgent || (x->urgent == g[j].urgent && x->count <= g[j].count))
                break;
            order[at] = order[at - 1];
        }
        order[at] = j;
    }
    size_t room = GATHER_MAX, nh = 0;
    for (size_t j = 0; j < ng; j++) {
        struct group *G = &g[order[j]];
        G->gather = G->count <= room;
        if (G->gather)
            room -= G->count;
    }
    for (size_t j = 0; j < ng; j++)
        if (!g[j].gather)
            g[j].hist = nh++;
    unsigned bits = nh ? 16 - ceil_log2(nh) : 0;
    if (bits > 64 - J->plen)
        bits = 64 - J->plen;
    J->bits = bits;
    unsigned plen = J->plen;
    size_t nslot = 0;
    for (size_t j = 0; j < ng; j++) {
        size_t top = g[j].prefix >> (plen - 16);
        J->tab[raw_of_bucket(top)] |= F_GROUP;
        if (plen == 16)
            J->gtab[top] = (unsigned char)(j + 1);
        else if (!J->gtab[top])
            J->gtab[top] = (unsigned char)++nslot;
    }
    if (plen > 16) {
        /* groups by their bits 16..31 under each bucket: a range of entries each (plen <= 32),
         * else the first of those sharing their top 32 bits */
        J->gsub = xcalloc(nslot << 16, 1);
        for (size_t j = ng; j-- > 0;) {
            unsigned char *t = J->gsub + ((size_t)(J->gtab[g[j].prefix >> (plen - 16)] - 1) << 16);
            if (plen <= 32) {
                size_t lo = (g[j].prefix << (32 - plen)) & 0xFFFF;
                memset(t + lo, (int)(j + 1), (size_t)1 << (32 - plen));
            } else {
                uint64_t top32 = g[j].prefix >> (plen - 32);
                t[top32 & 0xFFFF] = (unsigned char)(j + 1);
                g[j].run =
                    j + 1 < ng && g[j + 1].prefix >> (plen - 32) == top32 ? g[j + 1].run + 1 : 1;
            }
        }
    }
    for (int t = 0; t < J->nthreads; t++) {
        struct part *P = &J->part[t];
        memset(P->rh, 0, (nh << bits) * sizeof *P->rh);
        for (size_t j = 0; j < ng; j++) {
            P->gmin[j] = UINT64_MAX;
            P->gmax[j] = 0;
        }
    }
    atomic_store(&J->gfill, 0);
}

/* After the pass: the gathered groups' wants are settled, the others narrowed. Returns how many are
 * still pending. */
static size_t refine_apply(struct job *J, struct want *w, size_t nw)
{
    struct group *g = J->g;
    size_t ng = J->ng, nh = 0, ngath = atomic_load(&J->gfill), off = 0;
    unsigned bits = J->bits;
    sort_keys(J->gbuf, ngath, J->gbuf + GATHER_MAX);
    for (size_t j = 0; j < ng; j++) {
        if (g[j].gather) {
            g[j].off = off;
            off += g[j].count;
        } else {
            nh++;
        }
        J->gtab[g[j].prefix >> (J->plen - 16)] = 0;
    }
    free(J->gsub);
    J->gsub = NULL;
    assert(off == ngath);
    uint64_t *rh = J->part[0].rh, *gmin = J->part[0].gmin, *gmax = J->part[0].gmax;
    for (int t = 1; t < J->nthreads; t++) {
        const struct part *P = &J->part[t];
        for (size_t i = 0; i < nh << bits; i++)
            rh[i] += P->rh[i];
        for (size_t j = 0; j < ng; j++) {
            gmin[j] = P->gmin[j] < gmin[j] ? P->gmin[j] : gmin[j];
            gmax[j] = P->gmax[j] > gmax[j] ? P->gmax[j] : gmax[j];
        }
    }
    J->plen += bits;
    size_t pending = 0;
    for (size_t i = 0; i < nw; i++) {
        if (w[i].done)
            continue;
        const struct group *G = &g[w[i].group];
        if (G->gather) {
            w[i].key = J->gbuf[G->off + w[i].sub];
            w[i].done = true;
            continue;
        }
        if (gmin[w[i].group] == gmax[w[i].group]) { /* all equal: ties settle here */
            w[i].key = gmin[w[i].group];
            w[i].done = true;
            continue;
        }
        const uint64_t *h = rh + (G->hist << bits);
        uint64_t cum = 0;
        size_t s = 0;
        while (cum + h[s] <= w[i].sub)
            cum += h[s++];
        w[i].prefix = w[i].prefix << bits | s;
        w[i].sub -= cum;
        w[i].count = h[s];
        if (J->plen == 64) {
            w[i].key = w[i].prefix;
            w[i].done = true;
        } else {
            pending++;
        }
    }
    return pending;
}

/* ---- boundaries ------------------------------------------------------------------------------ */

/* The smallest key of a finite value where pred holds, pred being monotone (false then true as
 * values grow); key_of(INFINITY) when it holds for none. */
static uint64_t first_key(bool (*pred)(const void *, double), const void *ctx)
{
    uint64_t lo = key_of(-DBL_MAX), hi = key_of(INFINITY);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (pred(ctx, val_of(mid)))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* What a boundary is drawn from: a threshold t, or the k-th of the curve's points or the
 * histogram's edges xs (t then the histogram's top). */
struct cut {
    double t;
    const double *xs;
    size_t k;
};

static bool pred_above(const void *ctx, double x)
{
    return x > ((const struct cut *)ctx)->t;
}

static bool pred_at_least(const void *ctx, double x)
{
    return x >= ((const struct cut *)ctx)->t;
}

/* curves(): the number of LEC points strictly below x, by its binary search. Whatever the points'
 * rounding, it can only grow with x. */
static size_t lec_index(const double *lec_x, double x)
{
    size_t a = 0, b = NLEC;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (lec_x[m] < x)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

static bool pred_lec(const void *ctx, double x)
{
    const struct cut *C = ctx;
    return lec_index(C->xs, x) > C->k;
}

/* curves(): the histogram bin of x. The first guess is clamped before it is converted (curves()
 * converts first, which is undefined when x / top is huge); the edges settle the bin, so the
 * answer is the same: the number of edges 1..NHIST-1 at or below x, which grows with x. */
static long hist_bin(const double *edge, double top, double x)
{
    double f = x / top * NHIST;
    long k = f >= NHIST ? NHIST - 1 : f < 0 ? 0 : (long)f;
    while (k > 0 && x < edge[k])
        k--;
    while (k < NHIST - 1 && x >= edge[k + 1])
        k++;
    return k;
}

static bool pred_hist(const void *ctx, double x)
{
    const struct cut *C = ctx;
    return hist_bin(C->xs, C->t, x) >= (long)C->k;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Plans the counting of the boundaries bd[0..nbd) in the next pass: U sorted and unique, then as
 * many sentinels; for each top-16-bit bucket, the interval of its first key, and F_BOUND with the
 * search's first step where boundaries fall inside it. */
static void bounds_plan(struct job *J, const struct bound *bd, size_t nbd)
{
    free(J->U);
    J->U = xcalloc(2 * nbd + 2, sizeof *J->U);
    for (size_t i = 0; i < nbd; i++)
        J->U[i] = bd[i].key;
    qsort(J->U, nbd, sizeof *J->U, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < nbd; i++)
        if (m == 0 || J->U[i] != J->U[m - 1])
            J->U[m++] = J->U[i];
    for (size_t i = m; i < 2 * nbd + 2; i++)
        J->U[i] = UINT64_MAX; /* no finite value's key */
    J->nu = m;
    size_t j = 0, nslot = 0;
    for (size_t b = 0; b < NB1; b++) {
        uint64_t first = (uint64_t)b << 48;
        while (j < m && J->U[j] <= first)
            j++;
        J->base[b] = j;
        size_t inside = 0;
        while (j + inside < m && J->U[j + inside] >> 48 == b)
            inside++;
        uint32_t step = 0;
        while (inside && (size_t)step * 2 <= inside)
            step = step ? step * 2 : 1;
        J->step[b] = step;
        J->bslot[b] = 0;
        if (!inside)
            continue;
        J->tab[raw_of_bucket(b)] |= F_BOUND;
        if (J->h1[b] < BSUB_MIN || nslot == BSUB_SLOTS || m >= BSUB_SPLIT)
            continue;
        /* each sub-bucket's interval, or BSUB_SPLIT where one of the boundaries falls inside it */
        uint16_t *t = J->bsub + nslot * BSUB;
        J->bslot[b] = (unsigned char)++nslot;
        size_t q = j; /* the first boundary above the sub-bucket's first key */
        for (size_t sb = 0; sb < BSUB; sb++) {
            uint64_t lo = first | (uint64_t)sb << 36, hi = lo | (((uint64_t)1 << 36) - 1);
            while (q < j + inside && J->U[q] <= lo)
                q++;
            t[sb] = (uint16_t)(q < j + inside && J->U[q] <= hi ? BSUB_SPLIT : q);
        }
    }
    for (int t = 0; t < J->nthreads; t++) {
        free(J->part[t].cnt);
        J->part[t].cnt = xcalloc(m + 1, sizeof *J->part[t].cnt);
    }
}

/* After the pass: each boundary's count of years at or above it. */
static void bounds_apply(struct job *J, const uint64_t *h1, const struct bound *bd, size_t nbd)
{
    uint64_t *cnt = J->part[0].cnt;
    for (int t = 1; t < J->nthreads; t++)
        for (size_t i = 0; i <= J->nu; i++)
            cnt[i] += J->part[t].cnt[i];
    for (size_t b = 0; b < NB1; b++)
        if (!J->step[b])
            cnt[J->base[b]] += h1[b];
    /* in place: cnt[j] becomes the years at or above U[j], those in intervals j + 1 .. nu */
    uint64_t tail = cnt[J->nu];
    for (size_t j = J->nu; j-- > 0;) {
        uint64_t in_j = cnt[j];
        cnt[j] = tail;
        tail += in_j;
    }
    for (size_t i = 0; i < nbd; i++) {
        size_t lo = 0, hi = J->nu;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (J->U[mid] < bd[i].key)
                lo = mid + 1;
            else
                hi = mid;
        }
        *bd[i].dst = cnt[lo];
    }
}

/* ---- the summary ----------------------------------------------------------------------------- */

static bool any_flag(const unsigned char *tab)
{
    uint64_t any = 0;
    for (size_t b = 0; b < NB1; b += sizeof any) {
        uint64_t x;
        memcpy(&x, tab + b, sizeof x);
        any |= x;
    }
    return any != 0;
}

/* What the first pass tells. */
struct first {
    uint64_t *raw; /* NB1: years by their values' top 16 bits (part 0's array) */
    uint64_t *h1;  /* NB1: years by their keys' top 16 bits (the caller frees it) */
    double min, max, minpos;
    uint64_t zpos, zneg; /* years exactly +0 and -0 */
};

/* Pass 1 (and a pass counting the zeros when the histogram cannot); sets mean, sd, sem, min, max
 * and p_zero. */
static void first_pass(struct job *J, struct mc_summary *s, struct first *F)
{
    run_pass(J, pass_first);
    F->raw = J->part[0].h1;
    F->h1 = xcalloc(NB1, sizeof *F->h1);
    F->min = F->minpos = INFINITY;
    F->max = -INFINITY;
    for (int t = 0; t < J->nthreads; t++) {
        const struct part *P = &J->part[t];
        if (t > 0)
            for (size_t r = 0; r < NB1; r++)
                F->raw[r] += P->h1[r];
        F->min = P->min < F->min ? P->min : F->min;
        F->max = P->max > F->max ? P->max : F->max;
        F->minpos = P->minpos < F->minpos ? P->minpos : F->minpos;
    }
    for (size_t r = 0; r < NB1; r++)
        F->h1[bucket_of_raw(r)] = F->raw[r];
    /* +0 shares its bucket only with positive values below 2^-1026, -0 with negative ones above
     * -2^-1026: where there may be such values, the zeros are counted in a pass */
    F->zpos = F->raw[0];
    F->zneg = F->raw[0x8000];
    if (bits_of(F->minpos) >> 48 == 0 || (F->min < 0 && F->zneg)) {
        run_pass(J, pass_zeros);
        F->zpos = F->zneg = 0;
        for (int t = 0; t < J->nthreads; t++) {
            F->zpos += J->part[t].zpos;
            F->zneg += J->part[t].zneg;
        }
    }
    /* -0 and +0 compare equal: the extremes take the keys' order, -0 first */
    if (F->min == 0)
        F->min = F->zneg ? -0.0 : 0.0;
    if (F->max == 0)
        F->max = F->zpos ? 0.0 : -0.0;
    double cn = 0, mean = 0, m2 = 0;
    for (size_t c = 0; c < J->nchunks; c++)
        chan_merge(&cn, &mean, &m2, (double)(chunk_end(J, c) - c * CHUNK), J->slot[c].mean,
                   J->slot[c].m2);
    if (F->min == F->max) { /* all equal (or all zeros): exactly, whatever the sums rounded to */
        mean = F->min + 0.0;
        m2 = 0;
    }
    size_t n = J->n;
    s->mean = mean;
    s->sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0;
    s->sem = s->sd / sqrt((double)n);
    s->min = F->min;
    s->max = F->max;
    s->p_zero = (double)(F->zpos + F->zneg) / (double)n;
}

/* The ranks the percentiles need: floor(h) for each, and floor(h) + 1 where h falls between. */
struct ranks {
    double h[MC_NPCT];
    size_t k[MC_NPCT];
    struct want w[NWANT]; /* in increasing rank order, each rank once */
    size_t nw;
};

static void wanted_ranks(struct ranks *R, size_t n, bool curves)
{
    R->nw = 0;
    for (int i = 0; i < MC_NPCT; i++) {
        R->h[i] = (double)(n - 1) * (mc_percentiles[i] / 100.0); /* as mc.c's quantiles() */
        R->k[i] = (size_t)R->h[i];
        size_t r[2] = {R->k[i], R->k[i] + 1};
        bool urgent = i == PCT_VAR95 || i == PCT_VAR99 || (curves && i == PCT_TOP);
        for (int j = 0; j < (r[1] < n && R->h[i] > (double)r[0] ? 2 : 1); j++) {
            size_t at = R->nw;
            while (at > 0 && R->w[at - 1].rank > r[j])
                at--;
            if (at > 0 && R->w[at - 1].rank == r[j]) {
                R->w[at - 1].urgent |= urgent;
                continue;
            }
            memmove(&R->w[at + 1], &R->w[at], (R->nw - at) * sizeof *R->w);
            R->w[at] = (struct want){.rank = r[j], .urgent = urgent};
            R->nw++;
        }
    }
}

static bool urgent_known(const struct ranks *R)
{
    for (size_t i = 0; i < R->nw; i++)
        if (R->w[i].urgent && !R->w[i].done)
            return false;
    return true;
}

/* Percentile i once its ranks are known, interpolated as mc.c's quantiles() does. */
static double percentile(const struct ranks *R, size_t n, int i)
{
    size_t j = 0;
    while (R->w[j].rank != R->k[i])
        j++;
    double lo = val_of(R->w[j].key);
    if (R->k[i] + 1 < n && R->h[i] > (double)R->k[i])
        return lo + (R->h[i] - (double)R->k[i]) * (val_of(R->w[j + 1].key) - lo);
    return lo;
}

/* The boundaries known after pass 1: thresholds (x > t) and the loss exceedance curve's points;
 * above[] gets their counts. Returns how many were put in bd. */
static size_t early_bounds(const struct first *F, const double *thresholds, size_t nthresholds,
                           struct mc_result *res, struct bound *bd, uint64_t *above)
{
    size_t nbd = 0;
    for (size_t t = 0; t < nthresholds; t++) {
        struct cut C = {.t = thresholds[t]};
        bd[nbd++] = (struct bound){first_key(pred_above, &C), &above[t]};
    }
    if (!res)
        return nbd;
    /* curves(): 50 log-spaced losses from the smallest positive loss (or 1) to the largest */
    double lo = isfinite(F->minpos) ? F->minpos : 1;
    double hi = F->max > lo ? F->max : lo * 10;
    res->nlec = NLEC;
    res->lec_x = xcalloc(NLEC, sizeof *res->lec_x);
    for (int i = 0; i < NLEC; i++)
        res->lec_x[i] = exp(log(lo) + (log(hi) - log(lo)) * i / (NLEC - 1));
    res->lec_x[0] = lo;
    res->lec_x[NLEC - 1] = hi;
    for (size_t i = 0; i < NLEC; i++) {
        struct cut C = {.xs = res->lec_x, .k = i};
        bd[nbd++] = (struct bound){first_key(pred_lec, &C), &above[nthresholds + i]};
    }
    return nbd;
}

/* The boundaries known with VaR and the 99.9th percentile: the tail's (x >= VaR 95, >= VaR 99,
 * into ge_tail[0..1]) and the histogram's edges (bin >= i, into ge_bin[i]); flags the buckets the
 * tail's sums read. Returns how many were put in bd. */
static size_t late_bounds(struct job *J, const struct first *F, struct mc_summary *s,
                          struct mc_result *res, struct bound *bd, uint64_t *ge_tail,
                          uint64_t *ge_bin)
{
    size_t nbd = 0;
    struct cut C95 = {.t = s->pct[PCT_VAR95]}, C99 = {.t = s->pct[PCT_VAR99]};
    J->k95 = first_key(pred_at_least, &C95);
    J->k99 = first_key(pred_at_least, &C99);
    bd[nbd++] = (struct bound){J->k95, &ge_tail[0]};
    bd[nbd++] = (struct bound){J->k99, &ge_tail[1]};
    J->tail = true;
    /* years exactly 0 add nothing to the sums: their buckets are left out when they hold nothing
     * else */
    bool zeros_alone = F->zpos == F->raw[0] && F->zneg == F->raw[0x8000];
    for (size_t b = J->k95 >> 48; b < NB1; b++)
        if (!zeros_alone || (b != KEY_NEG0 >> 48 && b != KEY_POS0 >> 48))
            J->tab[raw_of_bucket(b)] |= F_TAIL;
    if (!res)
        return nbd;
    /* curves(): 40 equal bins from 0 to the 99.9th percentile; the last also holds the rest */
    double top = s->pct[PCT_TOP] > 0 ? s->pct[PCT_TOP] : (s->max > 0 ? s->max : 1);
    res->nhist = NHIST;
    res->hist_edge = xcalloc(NHIST + 1, sizeof *res->hist_edge);
    for (int i = 0; i <= NHIST; i++)
        res->hist_edge[i] = top * i / NHIST;
    res->hist_edge[NHIST] = top;
    for (size_t i = 1; i < NHIST; i++) {
        struct cut C = {.t = top, .xs = res->hist_edge, .k = i};
        bd[nbd++] = (struct bound){first_key(pred_hist, &C), &ge_bin[i]};
    }
    return nbd;
}

void mcs_summarise(const double *a, size_t n, int threads, const double *thresholds,
                   size_t nthresholds, struct mc_summary *s, struct mc_result *res)
{
    assert(n >= 1 && threads >= 1);
    struct job J = {.a = a, .n = n, .nchunks = (n + CHUNK - 1) / CHUNK};
    J.nthreads = (size_t)threads < J.nchunks ? threads : (int)J.nchunks;
    J.part = xcalloc((size_t)J.nthreads, sizeof *J.part);
    J.slot = xcalloc(J.nchunks, sizeof *J.slot);
    for (int t = 0; t < J.nthreads; t++) {
        struct part *P = &J.part[t];
        P->J = &J;
        P->c_lo = J.nchunks * (size_t)t / (size_t)J.nthreads;
        P->c_hi = J.nchunks * (size_t)(t + 1) / (size_t)J.nthreads;
        P->h1 = xcalloc(NB1, sizeof *P->h1);
        P->rh = xmalloc(REFINE_COUNTERS * sizeof *P->rh);
        P->l = xmalloc(4 * SUB * sizeof *P->l);
        P->lg = P->l + SUB;
        P->lb = P->lg + SUB;
        P->lt = P->lb + SUB;
    }
    J.tab = xcalloc(NB1, 1);
    J.gtab = xcalloc(NB1, 1);
    J.gbuf = xmalloc(2 * GATHER_MAX * sizeof *J.gbuf);
    J.base = xcalloc(NB1, sizeof *J.base);
    J.step = xcalloc(NB1, sizeof *J.step);
    J.bslot = xcalloc(NB1, 1);
    J.bsub = xmalloc(BSUB_SLOTS * BSUB * sizeof *J.bsub);

    struct first F;
    first_pass(&J, s, &F);
    J.h1 = F.h1;
    struct ranks R;
    wanted_ranks(&R, n, res != NULL);
    size_t pending =
        select_first(&J, F.h1, key_of(F.min), key_of(F.max), F.zpos, F.zneg, R.w, R.nw);
    J.plen = 16;
    bool single = key_of(F.min) == key_of(F.max); /* every year the same value */

    /* above[]: years at or above each boundary: the thresholds, the curve's points, the bins (from
     * 1), the tail. The early boundaries are counted in the next pass, fused with the refinement;
     * the late ones, with the tail's sums, in the pass after VaR and the 99.9th percentile are
     * known (fused with what refinement is left). */
    const size_t at_lec = nthresholds, at_hist = at_lec + NLEC, at_tail = at_hist + NHIST;
    uint64_t *above = xcalloc(at_tail + 2, sizeof *above);
    struct bound *bd = xcalloc(at_tail + 2, sizeof *bd);
    size_t nbd = early_bounds(&F, thresholds, nthresholds, res, bd, above);
    bool late = false;
    for (;;) {
        if (!late && urgent_known(&R)) {
            late = true;
            for (int i = 0; i < MC_NPCT; i++)
                if (i == PCT_VAR95 || i == PCT_VAR99 || i == PCT_TOP)
                    s->pct[i] = percentile(&R, n, i);
            nbd += late_bounds(&J, &F, s, res, bd + nbd, above + at_tail, above + at_hist);
        }
        if (!pending && !nbd && !J.tail)
            break;
        if (single) { /* no pass needed: every year is on the same side of each boundary */
            for (size_t i = 0; i < nbd; i++)
                *bd[i].dst = key_of(F.min) >= bd[i].key ? n : 0;
            break;
        }
        if (pending)
            refine_plan(&J, R.w, R.nw);
        if (nbd)
            bounds_plan(&J, bd, nbd);
        if (any_flag(J.tab)) /* else every count comes from the histogram, every sum is 0 */
            run_pass(&J, pass_scan);
        if (pending)
            pending = refine_apply(&J, R.w, R.nw);
        if (nbd)
            bounds_apply(&J, F.h1, bd, nbd);
        nbd = 0;
        J.tail = false; /* summed in this pass if it was due */
        memset(J.tab, 0, NB1);
    }

    for (int i = 0; i < MC_NPCT; i++)
        s->pct[i] = percentile(&R, n, i);
    s->var95 = s->pct[PCT_VAR95];
    s->var99 = s->pct[PCT_VAR99];
    double t95 = 0, t99 = 0;
    for (size_t c = 0; c < J.nchunks; c++) {
        t95 += J.slot[c].t95;
        t99 += J.slot[c].t99;
    }
    uint64_t c95 = above[at_tail], c99 = above[at_tail + 1];
    s->tvar95 = c95 && !single ? t95 / (double)c95 : s->var95;
    s->tvar99 = c99 && !single ? t99 / (double)c99 : s->var99;
    s->p_exceed = xcalloc(nthresholds + 1, sizeof *s->p_exceed);
    for (size_t t = 0; t < nthresholds; t++)
        s->p_exceed[t] = (double)above[t] / (double)n;
    if (res) {
        res->lec_p = xcalloc(NLEC, sizeof *res->lec_p);
        for (size_t i = 0; i < NLEC; i++)
            res->lec_p[i] = (double)above[at_lec + i] / (double)n;
        res->hist_count = xcalloc(NHIST, sizeof *res->hist_count);
        const uint64_t *ge = above + at_hist; /* ge[i]: years in bins >= i, from 1 */
        for (size_t i = 0; i < NHIST; i++)
            res->hist_count[i] = (i ? ge[i] : n) - (i + 1 < NHIST ? ge[i + 1] : 0);
    }

    for (int t = 0; t < J.nthreads; t++) {
        free(J.part[t].h1);
        free(J.part[t].rh);
        free(J.part[t].cnt);
        free(J.part[t].l);
    }
    free(bd);
    free(above);
    free(F.h1);
    free(J.U);
    free(J.base);
    free(J.step);
    free(J.bslot);
    free(J.bsub);
    free(J.tab);
    free(J.gtab);
    free(J.gbuf);
    free(J.slot);
    free(J.part);
}

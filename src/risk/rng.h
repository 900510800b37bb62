/*
 * rng: counter-based random streams (Random123 Philox2x64-10) for the Monte Carlo engine.
 *
 * A stream is named by (seed, stream id); its n-th output depends only on those and n, never on which
 * thread draws it or what other streams did. The engine gives every (scenario, block of iterations)
 * its own stream, so results are bit-identical on any number of threads. Header-only, no allocation,
 * no global state; a struct rng is used by one thread at a time.
 */
#ifndef AEGIS_RISK_RNG_H
#define AEGIS_RISK_RNG_H

#include <Random123/philox.h>
#include <stdint.h>

struct rng {
    philox2x64_ctr_t ctr;
    philox2x64_key_t key;
    uint64_t buf[2];
    int left;
};

/* Philox2x64's key is one 64-bit word (the seed); the stream id is the high word of the counter and
 * the low word counts draws, so every (seed, stream, n) is a distinct input. */
static inline void rng_init(struct rng *r, uint64_t seed, uint64_t stream)
{
    r->key.v[0] = seed;
    r->ctr.v[0] = 0;
    r->ctr.v[1] = stream;
    r->left = 0;
}

static inline uint64_t rng_u64(struct rng *r)
{
    if (r->left == 0) {
        philox2x64_ctr_t out = philox2x64(r->ctr, r->key);
        r->ctr.v[0]++;
        r->buf[0] = out.v[0];
        r->buf[1] = out.v[1];
        r->left = 2;
    }
    return r->buf[--r->left];
}

/* Uniform on the open interval (0, 1), 53 bits: never 0 (safe for log) and never 1. */
static inline double rng_uniform(struct rng *r)
{
    return ((double)(rng_u64(r) >> 11) + 0.5) * 0x1.0p-53;
}

#endif

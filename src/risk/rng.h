/*
 * rng: random streams for the Monte Carlo engine.
 *
 * A stream is named by (seed, stream id); its n-th output depends only on those and n, never on
 * which thread draws it or what other streams did. The engine gives every (scenario, simulated
 * year) its own stream, so results are bit-identical on any number of threads and any year can be
 * simulated again alone. The stream's starting state is the stream id through two rounds of a
 * 64-bit mixing bijection under a key made from the seed by Philox2x64-10 (Random123), so states of
 * different streams are unrelated 64-bit values. Within a stream, outputs are SplitMix64 (a Weyl
 * sequence through a 64-bit mixing function; it passes BigCrush), so a draw costs a few cycles. A
 * stream is a single 64-bit word, which lets the engine keep thousands of them in an array and draw
 * for all of them in a loop (dist_fill). Header-only, no allocation, no global state; a struct rng
 * is used by one thread at a time.
 */
#ifndef AEGIS_RISK_RNG_H
#define AEGIS_RISK_RNG_H

#include <Random123/philox.h>
#include <stdint.h>

struct rng {
    uint64_t s;
};

/* The key of a seed: Philox2x64-10 (Random123) of the counter 0 under the seed. */
static inline uint64_t rng_key(uint64_t seed)
{
    philox2x64_ctr_t ctr = {{0, 0}};
    philox2x64_key_t key = {{seed}};
    return philox2x64(ctr, key).v[0];
}

/* The 64-bit finaliser of MurmurHash3: a bijection with full avalanche. */
static inline uint64_t rng_fmix(uint64_t z)
{
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return z ^ (z >> 33);
}

/* The starting state of stream (seed, stream): the seed mixed into a key by one Philox2x64-10
 * output, then two finaliser rounds of the stream id under that key. Distinct (seed, stream) pairs
 * give unrelated states; with the key computed once (rng_state_keyed), a state costs a few cycles
 * (the engine starts one per scenario-year). */
static inline uint64_t rng_state_keyed(uint64_t key, uint64_t stream)
{
    return rng_fmix(rng_fmix(stream ^ key) + 0x9e3779b97f4a7c15ULL);
}

static inline uint64_t rng_state(uint64_t seed, uint64_t stream)
{
    return rng_state_keyed(rng_key(seed), stream);
}

static inline void rng_init(struct rng *r, uint64_t seed, uint64_t stream)
{
    r->s = rng_state(seed, stream);
}

static inline uint64_t rng_u64(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform on the open interval (0, 1), 53 bits: never 0 (safe for log) and never 1. */
static inline double rng_uniform(struct rng *r)
{
    return ((double)(rng_u64(r) >> 11) + 0.5) * 0x1.0p-53;
}

#endif

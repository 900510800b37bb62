/*
 * rate: fixed-window counters keyed by a short string (a client IP), for abuse limits such as signups
 * per hour. In memory and per process: with several nodes each enforces its own limit. Thread-safe.
 * Memory is bounded: at most RATE_MAX_KEYS keys; when full, expired windows are dropped first, then
 * the table refuses new keys (the request is let through rather than every client blocked), and tries
 * to make room again at most once a second.
 */
#ifndef AEGIS_CORE_RATE_H
#define AEGIS_CORE_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_MAX_KEYS 65536

struct rate;

/* `limit` events per `window_ms`; limit 0 refuses every event. */
struct rate *rate_new(long limit, int64_t window_ms);
void rate_free(struct rate *r);
/* Counts one event for key at now_ms. True when allowed; false when over the limit, with
 * *retry_after_s the whole seconds until the window ends (at least 1). */
bool rate_take(struct rate *r, const char *key, int64_t now_ms, int *retry_after_s);
/* Whether key is over the limit, without counting an event. */
bool rate_over(struct rate *r, const char *key, int64_t now_ms, int *retry_after_s);

#endif

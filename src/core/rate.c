#include "core/rate.h"

#include "core/alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct slot {
    char key[64];
    int64_t window_start;
    long count;
    bool used;
};

struct rate {
    pthread_mutex_t mu;
    long limit;
    int64_t window_ms;
    struct slot *slots; /* open addressing, RATE_MAX_KEYS * 2 slots */
    size_t nslots, nused;
    int64_t full_until; /* the table was full of live windows: no rebuild before this */
};

struct rate *rate_new(long limit, int64_t window_ms)
{
    struct rate *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->limit = limit;
    r->window_ms = window_ms > 0 ? window_ms : 1;
    r->nslots = 1024;
    r->slots = xcalloc(r->nslots, sizeof *r->slots);
    return r;
}

void rate_free(struct rate *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r->slots);
    free(r);
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct slot *find(struct rate *r, const char *key, bool create);

/* Rebuilds the table, dropping expired windows, at twice the size when still crowded. */
static void rebuild(struct rate *r, int64_t now)
{
    struct slot *old = r->slots;
    size_t n = r->nslots, live = 0;
    for (size_t i = 0; i < n; i++)
        live += old[i].used && now - old[i].window_start < r->window_ms;
    size_t want = r->nslots;
    while (live * 2 >= want && want < RATE_MAX_KEYS * 2)
        want *= 2;
    r->slots = xcalloc(want, sizeof *r->slots);
    r->nslots = want;
    r->nused = 0;
    for (size_t i = 0; i < n; i++) {
        if (!old[i].used || now - old[i].window_start >= r->window_ms)
            continue;
        struct slot *s = find(r, old[i].key, true);
        if (s)
            *s = old[i];
    }
    free(old);
}

static struct slot *find(struct rate *r, const char *key, bool create)
{
    size_t mask = r->nslots - 1;
    for (size_t i = fnv(key) & mask, probes = 0; probes < r->nslots; i = (i + 1) & mask, probes++) {
        struct slot *s = &r->slots[i];
        if (s->used && !strncmp(s->key, key, sizeof s->key - 1))
            return s;
        if (!s->used) {
            if (!create || r->nused * 2 >= r->nslots)
                return NULL;
            s->used = true;
            snprintf(s->key, sizeof s->key, "%s", key);
            s->window_start = 0;
            s->count = 0;
            r->nused++;
            return s;
        }
    }
    return NULL;
}

static bool check(struct rate *r, const char *key, int64_t now, int *retry, bool take)
{
    if (r->limit <= 0) {
        *retry = (int)(r->window_ms / 1000) > 0 ? (int)(r->window_ms / 1000) : 1;
        return false;
    }
    pthread_mutex_lock(&r->mu);
    struct slot *s = find(r, key, take);
    if (!s && take && now >= r->full_until) {
        rebuild(r, now);
        s = find(r, key, true);
        /* Still no room: every window is live. A rebuild costs the whole table, so try again only
         * in a second; until then new keys pass unlimited (failing open beats blocking everyone). */
        if (!s)
            r->full_until = now + 1000;
    }
    bool ok = true;
    if (s) {
        if (now - s->window_start >= r->window_ms) {
            s->window_start = now;
            s->count = 0;
        }
        if (s->count >= r->limit) {
            ok = false;
            int64_t left = s->window_start + r->window_ms - now;
            *retry = (int)((left + 999) / 1000);
            if (*retry < 1)
                *retry = 1;
        } else if (take) {
            s->count++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

bool rate_take(struct rate *r, const char *key, int64_t now_ms, int *retry_after_s)
{
    return check(r, key, now_ms, retry_after_s, true);
}

bool rate_over(struct rate *r, const char *key, int64_t now_ms, int *retry_after_s)
{
    return !check(r, key, now_ms, retry_after_s, false);
}

/*
 * Tests src/core/rate.c: fixed-window counters. Time is passed in, so windows are moved by hand
 * rather than slept through. Covers the limit per window, independence of keys, the window reset,
 * retry_after, limit 0, rate_over not counting, a flood of distinct keys (bounded memory, still
 * answering, in bounded time) and several threads on one key.
 */
#include "../unit.h"

#include "core/rate.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define T0 1700000000000LL
#define HOUR 3600000LL

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Heap bytes in use: the sanitizer's count under ASan (where mallinfo2 says nothing), else glibc's.
 */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_limit_per_window(void **state)
{
    struct rate *r = rate_new(3, HOUR);
    int retry = -1;
    for (int i = 0; i < 3; i++)
        if (!rate_take(r, "10.0.0.1", T0 + i, &retry))
            fail_msg("event %d of 3 was refused", i + 1);
    assert_false(rate_take(r, "10.0.0.1", T0 + 10, &retry));
    assert_false(rate_take(r, "10.0.0.1", T0 + HOUR - 1, &retry));
    /* refusals are not counted: still refused, not more so, and the window is not extended */
    assert_true(rate_take(r, "10.0.0.1", T0 + HOUR, &retry));
    rate_free(r);
}

static void test_keys_are_independent(void **state)
{
    struct rate *r = rate_new(2, HOUR);
    int retry;
    assert_true(rate_take(r, "a", T0, &retry));
    assert_true(rate_take(r, "a", T0, &retry));
    assert_false(rate_take(r, "a", T0, &retry));
    /* b, and keys that share a prefix with a, have their own counters */
    assert_true(rate_take(r, "b", T0, &retry));
    assert_true(rate_take(r, "b", T0, &retry));
    assert_false(rate_take(r, "b", T0, &retry));
    assert_true(rate_take(r, "aa", T0, &retry));
    assert_true(rate_take(r, "", T0, &retry));
    assert_true(rate_take(r, "2001:db8::1", T0, &retry));
    assert_true(rate_take(r, "2001:db8::10", T0, &retry));
    assert_true(rate_take(r, "2001:db8::10", T0, &retry));
    assert_false(rate_take(r, "2001:db8::10", T0, &retry));
    assert_true(rate_take(r, "2001:db8::1", T0, &retry));
    assert_false(rate_take(r, "2001:db8::1", T0, &retry));
    /* the longest IPv6 text form (45 characters) is still a key of its own */
    const char *long1 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.254";
    const char *long2 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    assert_true(rate_take(r, long1, T0, &retry));
    assert_true(rate_take(r, long1, T0, &retry));
    assert_false(rate_take(r, long1, T0, &retry));
    assert_true(rate_take(r, long2, T0, &retry));
    rate_free(r);
}

static void test_window_reset(void **state)
{
    struct rate *r = rate_new(2, 1000);
    int retry;
    assert_true(rate_take(r, "k", T0, &retry));
    assert_true(rate_take(r, "k", T0 + 500, &retry));
    assert_false(rate_take(r, "k", T0 + 999, &retry));
    /* the window started at the first event: it ends exactly 1000 ms later */
    assert_true(rate_take(r, "k", T0 + 1000, &retry));
    assert_true(rate_take(r, "k", T0 + 1001, &retry));
    assert_false(rate_take(r, "k", T0 + 1999, &retry));
    /* long idle: a fresh window */
    assert_true(rate_take(r, "k", T0 + 50000, &retry));
    assert_true(rate_take(r, "k", T0 + 50000, &retry));
    assert_false(rate_take(r, "k", T0 + 50000, &retry));
    rate_free(r);
}

static void test_retry_after(void **state)
{
    struct rate *r = rate_new(1, HOUR);
    int retry = -1;
    assert_true(rate_take(r, "ip", T0, &retry));
    assert_false(rate_take(r, "ip", T0, &retry));
    assert_int_equal(retry, 3600);
    assert_false(rate_take(r, "ip", T0 + 1, &retry));
    assert_int_equal(retry, 3600); /* 3599.999 s rounds up */
    assert_false(rate_take(r, "ip", T0 + 1000, &retry));
    assert_int_equal(retry, 3599);
    assert_false(rate_take(r, "ip", T0 + HOUR - 1500, &retry));
    assert_int_equal(retry, 2);
    assert_false(rate_take(r, "ip", T0 + HOUR - 1, &retry));
    assert_int_equal(retry, 1); /* never 0 while refusing */
    /* at every instant of the window: 1 <= retry and now + retry covers the end of the window */
    for (int64_t t = T0; t < T0 + HOUR; t += 997) {
        assert_false(rate_take(r, "ip", t, &retry));
        assert_true(retry >= 1 && retry <= 3600);
        assert_true(t + (int64_t)retry * 1000 >= T0 + HOUR);
        assert_true(t + (int64_t)(retry - 1) * 1000 < T0 + HOUR);
    }
    /* a sub-second window still asks for at least a second */
    struct rate *fast = rate_new(1, 10);
    assert_true(rate_take(fast, "x", T0, &retry));
    assert_false(rate_take(fast, "x", T0 + 5, &retry));
    assert_int_equal(retry, 1);
    rate_free(fast);
    rate_free(r);
}

static void test_limit_zero_refuses(void **state)
{
    struct rate *r = rate_new(0, HOUR);
    int retry = -1;
    assert_false(rate_take(r, "any", T0, &retry));
    assert_true(retry >= 1 && retry <= 3600);
    retry = -1;
    assert_true(rate_over(r, "any", T0, &retry));
    assert_true(retry >= 1);
    assert_false(rate_take(r, "other", T0 + 5 * HOUR, &retry));
    rate_free(r);
    struct rate *tiny = rate_new(0, 10); /* window under a second */
    assert_false(rate_take(tiny, "x", T0, &retry));
    assert_int_equal(retry, 1);
    rate_free(tiny);
}

static void test_over_does_not_count(void **state)
{
    struct rate *r = rate_new(2, HOUR);
    int retry = -1;
    for (int i = 0; i < 100; i++)
        assert_false(rate_over(r, "ip", T0 + i, &retry));
    assert_true(rate_take(r, "ip", T0 + 200, &retry));
    for (int i = 0; i < 100; i++)
        assert_false(rate_over(r, "ip", T0 + 300, &retry));
    assert_true(rate_take(r, "ip", T0 + 400, &retry));
    assert_true(rate_over(r, "ip", T0 + 500, &retry));
    assert_true(retry >= 1 && retry <= 3600);
    assert_false(rate_take(r, "ip", T0 + 500, &retry));
    /* an unknown key is not over, and asking does not make it known */
    assert_false(rate_over(r, "never-seen", T0, &retry));
    assert_true(rate_take(r, "never-seen", T0, &retry));
    /* over turns false when the window ends */
    assert_false(rate_over(r, "ip", T0 + 200 + HOUR, &retry));
    rate_free(r);
}

/* The login limiter pattern: rate_over before, rate_take only for a failure. */
static void test_login_pattern(void **state)
{
    struct rate *r = rate_new(3, 15 * 60000LL);
    int retry;
    int failures = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        if (rate_over(r, "1.2.3.4", T0 + attempt, &retry))
            break;
        rate_take(r, "1.2.3.4", T0 + attempt, &retry);
        failures++;
    }
    assert_int_equal(failures, 3);
    rate_free(r);
}

/*
 * A flood of distinct keys (every address of an IPv6 /64 is one): the table stays within its bound,
 * every call still answers, known keys keep their counts, and the whole flood takes bounded time.
 */
static void test_many_distinct_keys(void **state)
{
    size_t before = heap_in_use();
    struct rate *r = rate_new(2, HOUR);
    int retry;
    /* a key known before the flood, already at its limit */
    assert_true(rate_take(r, "victim", T0, &retry));
    assert_true(rate_take(r, "victim", T0, &retry));
    /* Each call is a request the server answers while holding the limiter's one mutex: 200000 of
     * them get 20 s (a few microseconds each would do). The loop stops at the budget so a slow
     * table fails the test instead of hanging it. */
    const long budget_ms = 20000;
    long t0 = now_ms(), took = 0;
    long allowed = 0, done = 0;
    char key[64];
    for (long i = 0; i < 100000 && (took = now_ms() - t0) < budget_ms; i++, done++) {
        snprintf(key, sizeof key, "2001:db8:0:1::%lx", i);
        allowed += rate_take(r, key, T0 + 1 + i / 1000, &retry);
    }
    /* every new key gets its first event through (tracked, or let through when the table is full)
     */
    assert_int_equal(allowed, done);
    assert_false(rate_take(r, "victim", T0 + 200, &retry));
    size_t grown = heap_in_use() - before;
    for (long i = 0; i < 100000 && done == 100000 && (took = now_ms() - t0) < budget_ms; i++) {
        snprintf(key, sizeof key, "2001:db8:0:2::%lx", i);
        rate_take(r, key, T0 + 300, &retry);
    }
    size_t grown2 = heap_in_use() - before;
    bool in_time = took < budget_ms;
    /* once the windows have passed, the table makes room again and counts new keys */
    int64_t later = T0 + 3 * HOUR;
    bool fresh_ok = rate_take(r, "fresh", later, &retry) && rate_take(r, "fresh", later, &retry) &&
                    !rate_take(r, "fresh", later, &retry);
    rate_free(r);
    assert_true(fresh_ok);
    /* RATE_MAX_KEYS * 2 slots of ~90 bytes is ~12 MB: allow more, but not in proportion to keys */
    if (grown > 32u << 20)
        fail_msg("100000 keys grew the heap by %zu bytes", grown);
    if (grown2 > grown + (1u << 20))
        fail_msg("a second flood grew the heap from %zu to %zu bytes", grown, grown2);
    if (!in_time)
        fail_msg("distinct keys: only %ld of 100000 (first flood) answered in %ld ms; once "
                 "RATE_MAX_KEYS live keys fill the table, every new key rebuilds the whole table "
                 "under the mutex (rate.c check() -> rebuild())",
                 done, took);
}

/* Once the table is full of live windows, a key tracked before stays limited, and a refused new key
 * is let through rather than blocked (documented). Checks the behaviour, not the speed. */
static void test_full_table_lets_new_keys_through(void **state)
{
    struct rate *r = rate_new(1, HOUR);
    int retry;
    char key[64];
    assert_true(rate_take(r, "old", T0, &retry));
    for (long i = 0; i < RATE_MAX_KEYS; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        rate_take(r, key, T0, &retry);
    }
    /* full: new keys pass, every time */
    for (int i = 0; i < 5; i++)
        assert_true(rate_take(r, "newcomer", T0 + 1, &retry));
    assert_false(rate_take(r, "old", T0 + 1, &retry));
    assert_false(rate_take(r, "k0", T0 + 1, &retry));
    rate_free(r);
}

struct hammer {
    struct rate *r;
    const char *key;
    int calls;
    long ok;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    int retry;
    for (int i = 0; i < h->calls; i++)
        h->ok += rate_take(h->r, h->key, T0 + 1, &retry);
    return NULL;
}

static void test_threads_one_key(void **state)
{
    enum { NT = 4, LIMIT = 5000 };
    for (int round = 0; round < 3; round++) {
        struct rate *r = rate_new(LIMIT, HOUR);
        pthread_t th[NT];
        struct hammer h[NT];
        for (int i = 0; i < NT; i++) {
            h[i] = (struct hammer){.r = r, .key = "shared", .calls = 3000, .ok = 0};
            assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
        }
        long total = 0;
        for (int i = 0; i < NT; i++) {
            pthread_join(th[i], NULL);
            total += h[i].ok;
        }
        if (total != LIMIT)
            fail_msg("round %d: %d threads x 3000 takes allowed %ld, want exactly %d", round, NT,
                     total, LIMIT);
        rate_free(r);
    }
}

/* Threads on distinct keys while the table grows (rebuilds under the lock). */
static void *many_keys_run(void *arg)
{
    struct hammer *h = arg;
    int retry;
    char key[64];
    for (int i = 0; i < h->calls; i++) {
        snprintf(key, sizeof key, "%s-%d", h->key, i);
        h->ok += rate_take(h->r, key, T0, &retry);
        h->ok -= rate_take(h->r, key, T0, &retry); /* limit 1: the second is refused */
    }
    return NULL;
}

static void test_threads_growing_table(void **state)
{
    enum { NT = 4 };
    struct rate *r = rate_new(1, HOUR);
    pthread_t th[NT];
    struct hammer h[NT];
    const char *names[NT] = {"t0", "t1", "t2", "t3"};
    for (int i = 0; i < NT; i++) {
        h[i] = (struct hammer){.r = r, .key = names[i], .calls = 5000, .ok = 0};
        assert_int_equal(pthread_create(&th[i], NULL, many_keys_run, &h[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(h[i].ok, 5000);
    }
    rate_free(r);
}

static void test_free_null(void **state)
{
    rate_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_per_window),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_window_reset),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_limit_zero_refuses),
        cmocka_unit_test(test_over_does_not_count),
        cmocka_unit_test(test_login_pattern),
        cmocka_unit_test(test_many_distinct_keys),
        cmocka_unit_test(test_full_table_lets_new_keys_through),
        cmocka_unit_test(test_threads_one_key),
        cmocka_unit_test(test_threads_growing_table),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

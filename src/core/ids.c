#include "core/ids.h"

#include "core/clock.h"
#include "core/crypto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* Random bytes for ids, drawn from the CSPRNG a block at a time: one RAND_bytes call per request id
 * cost a tenth of the server's throughput. The pool is per thread; a fork() child starts a new
 * generation so parent and child never hand out the same bytes. */
#define POOL_BYTES 4096
static atomic_uint generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void bump_generation(void)
{
    atomic_fetch_add(&generation, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, bump_generation);
}

static void pool_random(unsigned char *out, size_t n)
{
    static _Thread_local unsigned char pool[POOL_BYTES];
    static _Thread_local size_t left;
    static _Thread_local unsigned gen;
    pthread_once(&atfork_once, register_atfork);
    unsigned g = atomic_load(&generation);
    if (gen != g) {
        left = 0;
        gen = g;
    }
    if (left < n) {
        crypto_random(pool, sizeof pool);
        left = sizeof pool;
    }
    memcpy(out, pool + sizeof pool - left, n);
    memset(pool + sizeof pool - left, 0, n); /* used bytes do not linger */
    left -= n;
}

/* The last (ms << 12 | counter) handed out, process-wide. RFC 9562 section 6.2, method 1: within one
 * millisecond the 12-bit rand_a field counts up from a random start (below 2048, leaving room), so ids
 * sort in creation order; a counter that overflows borrows the next millisecond. */
static _Atomic uint64_t last_stamp;

static uint64_t next_stamp(void)
{
    uint64_t ms = (uint64_t)clock_now_ms();
    uint64_t prev = atomic_load(&last_stamp), next;
    do {
        if (ms > prev >> 12) {
            unsigned char r[2];
            pool_random(r, 2);
            next = ms << 12 | ((uint64_t)(r[0] << 8 | r[1]) & 0x7ff);
        } else {
            next = prev + 1;
        }
    } while (!atomic_compare_exchange_weak(&last_stamp, &prev, next));
    return next;
}

char *id_uuid7(char out[ID_UUID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t stamp = next_stamp();
    uint64_t ms = stamp >> 12;
    pool_random(b + 8, 8);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    b[6] = (unsigned char)(0x70 | ((stamp >> 8) & 0x0f)); /* version 7, counter high bits */
    b[7] = (unsigned char)(stamp & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* RFC 9562 variant */
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
    return out;
}

bool id_request_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || n >= ID_REQUEST_MAX)
            return false;
    }
    return n > 0;
}

bool id_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

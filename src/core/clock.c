#include "core/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *clock_fmt_iso(int64_t ms, char out[CLOCK_ISO_LEN])
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, CLOCK_ISO_LEN, "invalid-time");
        return out;
    }
    snprintf(out, CLOCK_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return out;
}

char *clock_now_iso(char out[CLOCK_ISO_LEN])
{
    static _Thread_local int64_t cached_sec = -1;
    static _Thread_local char prefix[CLOCK_ISO_LEN]; /* "2026-11-22T01:47:10" */
    int64_t ms = clock_now_ms();
    int64_t sec = ms / 1000;
    if (sec != cached_sec) {
        clock_fmt_iso(sec * 1000, prefix);
        prefix[19] = '\0';
        cached_sec = sec;
    }
    int frac = (int)(ms % 1000);
    memcpy(out, prefix, 19);
    out[19] = '.';
    out[20] = (char)('0' + frac / 100);
    out[21] = (char)('0' + frac / 10 % 10);
    out[22] = (char)('0' + frac % 10);
    out[23] = 'Z';
    out[24] = '\0';
    return out;
}

void clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

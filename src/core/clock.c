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

int clock_parse_iso(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    const char *p = s + n;
    int64_t frac = 0;
    int zone = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &m) != 3 || m != 8)
            return -1;
        p += 1 + m;
        if (*p == '.') {
            int digits = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    frac = frac * 10 + (*p - '0');
            if (!digits)
                return -1;
            for (; digits < 3; digits++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int zh, zm, k = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &zh, &zm, &k) != 2 || k != 5 || zh > 23 || zm > 59)
                return -1;
            zone = (zh * 60 + zm) * (*p == '+' ? 1 : -1);
            p += 6;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return -1;
    /* days from the civil date (proleptic Gregorian), no time zone database needed */
    int yy = y - (mo <= 2);
    int64_t era = yy / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)zone * 60) * 1000 + frac;
    return 0;
}

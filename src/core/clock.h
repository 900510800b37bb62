/*
 * clock: wall time in UTC milliseconds (what Aegis stores) and a monotonic clock (what it measures with).
 * No allocation; thread-safe.
 */
#ifndef AEGIS_CORE_CLOCK_H
#define AEGIS_CORE_CLOCK_H

#include <stdint.h>

#define CLOCK_ISO_LEN 64

int64_t clock_now_ms(void);   /* milliseconds since the Unix epoch, UTC */
uint64_t clock_mono_ns(void); /* monotonic nanoseconds, for durations */
/* Formats ms as "2026-11-22T01:47:10.123Z" into out (at least CLOCK_ISO_LEN bytes); returns out. */
char *clock_fmt_iso(int64_t ms, char out[CLOCK_ISO_LEN]);
/* The current time formatted as clock_fmt_iso does, cheaply: the date and seconds part is cached per
 * thread and only rebuilt when the second changes. */
char *clock_now_iso(char out[CLOCK_ISO_LEN]);
void clock_sleep_ms(int64_t ms);
/* Parses "2026-11-22", "2026-11-22T01:47:10Z", "...T01:47:10.123Z" or "+hh:mm" offsets (UTC when no
 * zone) into epoch ms. Returns 0 on success, -1 when the text is not such a time. */
int clock_parse_iso(const char *s, int64_t *ms);

#endif

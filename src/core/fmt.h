/*
 * fmt: number formatting for messages and tables. Pure; writes only into the caller's buffer.
 */
#ifndef AEGIS_CORE_FMT_H
#define AEGIS_CORE_FMT_H

#include <stddef.h>

/* An amount rounded to whole units with thousands separators: 12,345,678 (-1,234 for negatives).
 * Always NUL-terminates out (n >= 1), truncating when it is too small; returns out. */
const char *fmt_money(double v, char *out, size_t n);

#endif

/*
 * alloc: the one place that decides what out-of-memory means.
 *
 * Every allocation in Aegis goes through these wrappers (scripts/checksrc bans raw malloc/calloc/realloc/
 * strdup elsewhere). On failure they log one line and abort: no caller checks for NULL. Tests can make the
 * Nth allocation fail through alloc_fail_after() to exercise error paths that do not depend on memory
 * (it aborts, so such tests run in a child process). Memory from these functions is freed with free().
 */
#ifndef AEGIS_CORE_ALLOC_H
#define AEGIS_CORE_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and NUL-terminates the copy. */
char *xstrndup(const char *s, size_t n);
/* printf into a fresh allocation; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fault injection for tests: after `n` more successful allocations the next one fails (and aborts).
 * A negative n turns injection off (the default). */
void alloc_fail_after(long n);

#endif

/*
 * buf: the growable byte buffer, always capped.
 *
 * A buf owns its bytes (allocated with core/alloc) and keeps them NUL-terminated so they can be used as a
 * C string. Every buf has a cap: appending past it fails with AEG_ETOOLARGE and leaves the buffer as it was,
 * so data fed by a client can never grow memory without bound. Named caps live here so limits are visible
 * in one place. Lifecycle: buf_init (no allocation) ... buf_release (frees, buf reusable) or buf_detach
 * (caller takes the bytes).
 */
#ifndef AEGIS_CORE_BUF_H
#define AEGIS_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_CAP_SMALL (4u * 1024)         /* ids, headers, short messages */
#define BUF_CAP_LINE (64u * 1024)         /* one log line */
#define BUF_CAP_DOC (64u * 1024 * 1024)   /* generated documents (OpenAPI, metrics, reports) */

struct buf {
    char *data;   /* NUL-terminated when len > 0 or after any append; may be NULL before the first */
    size_t len;
    size_t alloc;
    size_t cap;   /* the most bytes len may reach */
};

void buf_init(struct buf *b, size_t cap);
/* Appends n bytes. Returns 0, or AEG_ETOOLARGE (buffer unchanged) when len would pass the cap. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (escaped, without the quotes). */
int buf_add_json_str(struct buf *b, const char *s);
/* The contents as a C string ("" when empty); valid until the next change. */
const char *buf_str(const struct buf *b);
void buf_reset(struct buf *b);              /* len = 0, keeps memory */
void buf_release(struct buf *b);            /* frees; b is again as after buf_init with the same cap */
char *buf_detach(struct buf *b, size_t *len); /* caller frees; b is reset */

#endif

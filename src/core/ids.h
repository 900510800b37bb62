/*
 * ids: identifiers. Object ids are UUIDv7 strings (time-ordered, so they sort by creation) and request
 * ids are either a client's sane X-Request-Id or a fresh UUIDv7. No allocation; thread-safe.
 */
#ifndef AEGIS_CORE_IDS_H
#define AEGIS_CORE_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define ID_UUID_LEN 37      /* 36 characters and the NUL */
#define ID_REQUEST_MAX 128  /* longest accepted client request id */

/* Writes a new lower-case UUIDv7 into out; returns out. */
char *id_uuid7(char out[ID_UUID_LEN]);
/* True when s is 1..ID_REQUEST_MAX characters of [A-Za-z0-9._:-] (safe to echo and to log). */
bool id_request_id_ok(const char *s);
/* True when s is a canonical lower- or upper-case UUID string. */
bool id_is_uuid(const char *s);

#endif

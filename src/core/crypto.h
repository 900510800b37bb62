/*
 * crypto: randomness and hashing on OpenSSL's libcrypto. Thread-safe, no allocation.
 * crypto_random() draws from the CSPRNG and aborts if the CSPRNG fails (there is no safe fallback).
 */
#ifndef AEGIS_CORE_CRYPTO_H
#define AEGIS_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_HEX 65

void crypto_random(void *out, size_t n);
/* Lower-case hex SHA-256 of data into out (65 bytes with the NUL); returns out. */
char *crypto_sha256_hex(const void *data, size_t n, char out[CRYPTO_SHA256_HEX]);

/* Lower-case hex HMAC-SHA-256 of data under key; returns out. */
char *crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t n,
                             char out[CRYPTO_SHA256_HEX]);
/* Fills out with n random characters of [0-9A-Za-z] (unbiased) and a NUL; out has n + 1 bytes. */
void crypto_random_base62(char *out, size_t n);
/* Compares two equal-length byte strings in time independent of where they differ. */
bool crypto_equal(const void *a, const void *b, size_t n);

#endif

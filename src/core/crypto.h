/*
 * crypto: randomness and hashing on OpenSSL's libcrypto. Thread-safe, no allocation.
 * crypto_random() draws from the CSPRNG and aborts if the CSPRNG fails (there is no safe fallback).
 */
#ifndef AEGIS_CORE_CRYPTO_H
#define AEGIS_CORE_CRYPTO_H

#include <stddef.h>

#define CRYPTO_SHA256_HEX 65

void crypto_random(void *out, size_t n);
/* Lower-case hex SHA-256 of data into out (65 bytes with the NUL); returns out. */
char *crypto_sha256_hex(const void *data, size_t n, char out[CRYPTO_SHA256_HEX]);

#endif

#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

void crypto_random(void *out, size_t n)
{
    if (n == 0)
        return;
    if (RAND_bytes(out, (int)n) != 1) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"CSPRNG failure\"}\n");
        abort();
    }
}

char *crypto_sha256_hex(const void *data, size_t n, char out[CRYPTO_SHA256_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"SHA-256 failure\"}\n");
        abort();
    }
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return out;
}

static void to_hex(const unsigned char *md, char out[CRYPTO_SHA256_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

char *crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t n,
                             char out[CRYPTO_SHA256_HEX])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, n, md, &len) || len != 32) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"HMAC-SHA-256 failure\"}\n");
        abort();
    }
    to_hex(md, out);
    return out;
}

void crypto_random_base62(char *out, size_t n)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t o = 0;
    unsigned char r[64];
    while (o < n) {
        crypto_random(r, sizeof r);
        for (size_t i = 0; i < sizeof r && o < n; i++)
            if (r[i] < 248) /* 248 = 4 * 62: rejection keeps every character equally likely */
                out[o++] = alphabet[r[i] % 62];
    }
    out[n] = '\0';
}

bool crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

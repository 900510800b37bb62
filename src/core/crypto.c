#include "core/crypto.h"

#include <openssl/evp.h>
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

#include "eval/phrases.h"

#include "core/alloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct phrase {
    uint64_t *h;
    uint32_t n;
    int list;
    uint32_t next; /* the next phrase in its bucket, +1 (0: none) */
};

struct phr_index {
    struct phrase *p;
    size_t n, cap;
    uint32_t *bucket; /* first phrase +1, by hash of the first token */
    size_t nbuckets;  /* a power of two */
    int nlists;
};

static bool wordbyte(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* Whether s[i] starts an apostrophe: ' or U+2019 (3 bytes); its length in *len. */
static bool apostrophe(const char *s, size_t n, size_t i, size_t *len)
{
    if (s[i] == '\'') {
        *len = 1;
        return true;
    }
    if ((unsigned char)s[i] == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
        (unsigned char)s[i + 2] == 0x99) {
        *len = 3;
        return true;
    }
    return false;
}

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

void phr_tokenize(const char *s, size_t n, struct phr_tokens *out)
{
    out->n = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t alen;
        if (isspace(c) || c == 0) {
            i++;
            continue;
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 256;
            out->v = xrealloc(out->v, out->cap * sizeof *out->v);
        }
        struct phr_tok *t = &out->v[out->n++];
        t->s = (uint32_t)i;
        uint64_t h = FNV_OFFSET;
        if (!wordbyte(c) || apostrophe(s, n, i, &alen)) { /* punctuation: a token of its own */
            if (apostrophe(s, n, i, &alen)) {
                h = (h ^ '\'') * FNV_PRIME;
                i += alen;
            } else {
                h = (h ^ c) * FNV_PRIME;
                i++;
            }
            t->e = (uint32_t)i;
            t->h = h;
            continue;
        }
        while (i < n) {
            c = (unsigned char)s[i];
            if (wordbyte(c) && !apostrophe(s, n, i, &alen)) {
                h = (h ^ (unsigned char)tolower(c)) * FNV_PRIME;
                i++;
            } else if (apostrophe(s, n, i, &alen) && i + alen < n &&
                       isalpha((unsigned char)s[i + alen])) {
                h = (h ^ '\'') * FNV_PRIME; /* don't, can’t: one word */
                i += alen;
            } else {
                break;
            }
        }
        t->e = (uint32_t)i;
        t->h = h;
    }
}

struct phr_index *phr_new(void)
{
    return xcalloc(1, sizeof(struct phr_index));
}

void phr_free(struct phr_index *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        free(x->p[i].h);
    free(x->p);
    free(x->bucket);
    free(x);
}

int phr_add(struct phr_index *x, const char *phrase, int list)
{
    struct phr_tokens t = {0};
    phr_tokenize(phrase, strlen(phrase), &t);
    if (!t.n) {
        free(t.v);
        return -1;
    }
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->p = xrealloc(x->p, x->cap * sizeof *x->p);
    }
    struct phrase *p = &x->p[x->n++];
    p->n = (uint32_t)t.n;
    p->h = xcalloc(t.n, sizeof *p->h);
    for (size_t i = 0; i < t.n; i++)
        p->h[i] = t.v[i].h;
    p->list = list;
    p->next = 0;
    if (list + 1 > x->nlists)
        x->nlists = list + 1;
    free(t.v);
    return 0;
}

void phr_build(struct phr_index *x)
{
    x->nbuckets = 64;
    while (x->nbuckets < 2 * x->n)
        x->nbuckets *= 2;
    x->bucket = xcalloc(x->nbuckets, sizeof *x->bucket);
    /* pushed in reverse so each bucket lists its phrases in the order they were added */
    for (size_t i = x->n; i-- > 0;) {
        size_t b = (size_t)(x->p[i].h[0] * 0x9E3779B97F4A7C15ull >> 32) & (x->nbuckets - 1);
        x->p[i].next = x->bucket[b];
        x->bucket[b] = (uint32_t)i + 1;
    }
}

int phr_nlists(const struct phr_index *x)
{
    return x ? x->nlists : 0;
}

void phr_scan(const struct phr_index *x, const struct phr_tokens *t,
              void (*found)(void *arg, int list, size_t start, size_t end), void *arg)
{
    if (!x || !x->n)
        return;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t h = t->v[i].h;
        size_t b = (size_t)(h * 0x9E3779B97F4A7C15ull >> 32) & (x->nbuckets - 1);
        for (uint32_t k = x->bucket[b]; k; k = x->p[k - 1].next) {
            const struct phrase *p = &x->p[k - 1];
            if (p->h[0] != h || i + p->n > t->n)
                continue;
            uint32_t j = 1;
            while (j < p->n && p->h[j] == t->v[i + j].h)
                j++;
            if (j == p->n)
                found(arg, p->list, t->v[i].s, t->v[i + p->n - 1].e);
        }
    }
}

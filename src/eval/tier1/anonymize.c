#include "eval/tier1/anonymize.h"

#include "core/alloc.h"
#include "core/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_HEX 16 /* 64 bits of the HMAC: collisions negligible for one tenant's values */

static const char *const op_names[] = {"redact", "mask", "hash", "replace"};

int anon_op_find(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(op_names[i], name))
            return i;
    return -1;
}

const char *anon_op_name(enum anon_op op)
{
    return (unsigned)op < 4 ? op_names[op] : "";
}

void anon_policy_init(struct anon_policy *p, enum anon_op op)
{
    p->def = op;
    for (int i = 0; i < PHI_NLABELS; i++)
        p->op[i] = op;
}

int anon_policy_parse(const json_t *doc, struct anon_policy *p, char *err, size_t errlen)
{
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "the anonymisation policy must be an object");
        return -1;
    }
    const json_t *d = json_object_get(doc, "default");
    int def = ANON_REPLACE;
    if (d) {
        def = json_is_string(d) ? anon_op_find(json_string_value(d)) : -1;
        if (def < 0) {
            snprintf(err, errlen,
                     "default must be one of \"redact\", \"mask\", \"hash\", \"replace\"");
            return -1;
        }
    }
    anon_policy_init(p, (enum anon_op)def);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        if (!strcmp(key, "default"))
            continue;
        int l = phi_label_find(key);
        if (l < 0) {
            snprintf(err, errlen, "unknown label \"%.40s\" in the anonymisation policy", key);
            return -1;
        }
        int op = json_is_string(v) ? anon_op_find(json_string_value(v)) : -1;
        if (op < 0) {
            snprintf(err, errlen, "%s must be one of \"redact\", \"mask\", \"hash\", \"replace\"",
                     key);
            return -1;
        }
        p->op[l] = (enum anon_op)op;
    }
    return 0;
}

bool anon_policy_needs_key(const struct anon_policy *p)
{
    for (int i = 0; i < PHI_NLABELS; i++)
        if (p->op[i] == ANON_HASH)
            return true;
    return p->def == ANON_HASH;
}

struct span {
    size_t s, e;
    const char *label;
    size_t order; /* position in the findings: the first found wins a tie */
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    if (x->e != y->e)
        return x->e > y->e ? -1 : 1; /* the widest first on a tie */
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Adds n bytes to out (a plain growable string; sizes are bounded by the input's). */
static void put(char **out, size_t *n, size_t *cap, const void *p, size_t k)
{
    if (*n + k + 1 > *cap) {
        while (*n + k + 1 > *cap)
            *cap = *cap ? *cap * 2 : 64;
        *out = xrealloc(*out, *cap);
    }
    memcpy(*out + *n, p, k);
    *n += k;
    (*out)[*n] = '\0';
}

char *anon_apply(const struct anon_policy *p, const void *key, size_t keylen, const char *text,
                 size_t len, const struct t1_findings *f, enum t1_field field, size_t *out_len)
{
    if (!p || (!text && len))
        return NULL;
    if (anon_policy_needs_key(p) && (!key || !keylen))
        return NULL;
    if (!text)
        text = "";
    size_t ns = 0;
    struct span *sp = xmalloc(((f ? f->n : 0) + 1) * sizeof *sp);
    for (size_t i = 0; f && i < f->n; i++) {
        const struct t1_finding *x = &f->v[i];
        if (x->field != field || x->end <= x->start || x->start >= len)
            continue;
        sp[ns++] = (struct span){x->start, x->end < len ? x->end : len, x->label, i};
    }
    qsort(sp, ns, sizeof *sp, cmp_span);
    size_t m = 0;
    for (size_t i = 0; i < ns; i++) {
        if (m && sp[i].s < sp[m - 1].e) {
            if (sp[i].e > sp[m - 1].e)
                sp[m - 1].e = sp[i].e;
            continue;
        }
        sp[m++] = sp[i];
    }
    char *out = NULL;
    size_t n = 0, cap = 0, at = 0;
    put(&out, &n, &cap, "", 0);
    for (size_t i = 0; i < m; i++) {
        put(&out, &n, &cap, text + at, sp[i].s - at);
        int l = phi_label_find(sp[i].label);
        enum anon_op op = l >= 0 ? p->op[l] : p->def;
        const char *label = l >= 0 ? sp[i].label : "PHI";
        char tok[T1_LABEL_MAX + HASH_HEX + 4];
        switch (op) {
        case ANON_REDACT:
            break;
        case ANON_MASK:
            /* one '*' per character: count the bytes that start one (not 10xxxxxx) */
            for (size_t k = sp[i].s; k < sp[i].e; k++)
                if (((unsigned char)text[k] & 0xC0) != 0x80 || k == sp[i].s)
                    put(&out, &n, &cap, "*", 1);
            break;
        case ANON_HASH: {
            char hex[CRYPTO_SHA256_HEX];
            crypto_hmac_sha256_hex(key, keylen, text + sp[i].s, sp[i].e - sp[i].s, hex);
            int k = snprintf(tok, sizeof tok, "<%s:%.*s>", label, HASH_HEX, hex);
            put(&out, &n, &cap, tok, (size_t)k);
            break;
        }
        case ANON_REPLACE:
        default: {
            int k = snprintf(tok, sizeof tok, "<%s>", label);
            put(&out, &n, &cap, tok, (size_t)k);
            break;
        }
        }
        at = sp[i].e;
    }
    put(&out, &n, &cap, text + at, len - at);
    free(sp);
    if (out_len)
        *out_len = n;
    return out;
}

char *anon_text(const struct phi *compiled, const struct anon_policy *p, const void *key,
                size_t keylen, const char *text, size_t len, const json_t *metadata,
                size_t *out_len)
{
    if (!compiled || !p)
        return NULL;
    struct t1_findings f = {0};
    phi_scan(compiled, text, len, metadata, T1_OUTPUT, &f);
    char *out = anon_apply(p, key, keylen, text, len, &f, T1_OUTPUT, out_len);
    t1_findings_release(&f);
    return out;
}

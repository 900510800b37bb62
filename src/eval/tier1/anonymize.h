/*
 * anonymize: rewrites a text so the PHI spans found by phi no longer appear in it.
 *
 * Each span is transformed by the operator its label's policy names: redact (removed), mask (one
 * '*' per UTF-8 character), hash (<LABEL:16 hex> of a keyed HMAC-SHA-256, so equal values give
 * equal tokens under one key and cannot be reversed without it) or replace (<LABEL>). Overlapping
 * and nested spans are merged first (the union is transformed once, under the label of the span
 * that starts first, the widest one on a tie). The input is never modified; results are fresh
 * NUL-terminated allocations the caller frees. Pure: no I/O, no global state, thread-safe.
 */
#ifndef AEGIS_EVAL_TIER1_ANONYMIZE_H
#define AEGIS_EVAL_TIER1_ANONYMIZE_H

#include "eval/tier1/phi.h"
#include "eval/tier1/t1.h"

#include <jansson.h>
#include <stddef.h>

enum anon_op { ANON_REDACT, ANON_MASK, ANON_HASH, ANON_REPLACE };

/* A default operator and one per PHI label (labels a policy does not name take the default). */
struct anon_policy {
    enum anon_op def;
    enum anon_op op[PHI_NLABELS];
};

/* "redact", "mask", "hash", "replace" -> the operator, or -1. */
int anon_op_find(const char *name);
const char *anon_op_name(enum anon_op op);

/* Fills p with every label on op. */
void anon_policy_init(struct anon_policy *p, enum anon_op op);

/* Parses {"default":"replace","NAME":"hash","DATE":"mask"}: "default" is optional (replace when
 * absent), every other key must be a PHI label, every value an operator name. Returns 0, or -1
 * with err naming the bad key or value (p is then unspecified). */
int anon_policy_parse(const json_t *doc, struct anon_policy *p, char *err, size_t errlen);

/* Whether the policy uses hash anywhere (then a key is needed). */
bool anon_policy_needs_key(const struct anon_policy *p);

/* Transforms text[0, len) by the findings of f that name `field` with a span inside the text
 * (other findings are ignored; unknown labels take the default operator). Returns the new text
 * (its length in *out_len when out_len is not NULL), or NULL when the policy hashes and keylen is
 * 0 (a hash without a key would be a plain, guessable digest). */
char *anon_apply(const struct anon_policy *p, const void *key, size_t keylen, const char *text,
                 size_t len, const struct t1_findings *f, enum t1_field field, size_t *out_len);

/* Scan + transform: phi_scan of text (as T1_OUTPUT) with metadata, then anon_apply. Returns NULL
 * as anon_apply does, or when compiled or p is NULL. */
char *anon_text(const struct phi *compiled, const struct anon_policy *p, const void *key,
                size_t keylen, const char *text, size_t len, const json_t *metadata,
                size_t *out_len);

#endif

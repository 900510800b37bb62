/*
 * phrases: every phrase list of a spec in one index, matched on word tokens in one pass a text.
 *
 * PCRE2 alternations of many phrases with word boundaries cost 4-12 us a kilobyte each (a leading
 * \b defeats PCRE2's start-of-match optimisation), and a spec has a dozen lists. Here a text is cut
 * once into tokens (words: letters, digits, _, bytes of multi-byte characters, and an apostrophe
 * between letters, straight or curly; every other non-space byte is a token of its own), each
 * hashed case-insensitively (ASCII), and every token is looked up once in a hash table of the
 * phrases' first tokens. A phrase matches where its tokens follow one another, whatever whitespace
 * separates them; so matches always start and end on word boundaries.
 *
 * Internal to src/eval. The index is built at spec load and read-only after (thread-safe).
 */
#ifndef AEGIS_EVAL_PHRASES_H
#define AEGIS_EVAL_PHRASES_H

#include <stddef.h>
#include <stdint.h>

struct phr_index;

struct phr_tok {
    uint32_t s, e; /* byte span */
    uint64_t h;    /* case-folded hash */
};
struct phr_tokens {
    struct phr_tok *v;
    size_t n, cap;
};

struct phr_index *phr_new(void);
void phr_free(struct phr_index *x);
/* Adds phrase to list `list` (0-based; lists need not be dense). Returns 0, or -1 when the phrase
 * has no tokens (only spaces). */
int phr_add(struct phr_index *x, const char *phrase, int list);
/* Freezes the index (builds its hash table); no phr_add after. */
void phr_build(struct phr_index *x);
int phr_nlists(const struct phr_index *x);

/* Cuts s[0, n) into tokens (reusing out's memory). */
void phr_tokenize(const char *s, size_t n, struct phr_tokens *out);
/* Calls found(arg, list, start, end) for every phrase occurrence in the tokenised text, in text
 * order (overlapping occurrences of different phrases all reported). */
void phr_scan(const struct phr_index *x, const struct phr_tokens *t,
              void (*found)(void *arg, int list, size_t start, size_t end), void *arg);

#endif

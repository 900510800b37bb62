/*
 * phi_words: the word lists the phi detector uses to tell names from other capitalised words.
 * Internal to phi.c (static data, lower case, any order: phi_compile sorts copies of the pointers).
 * Written by hand for Aegis; the reasoning for each list is beside it in phi_words.c.
 */
#ifndef AEGIS_EVAL_TIER1_PHI_WORDS_H
#define AEGIS_EVAL_TIER1_PHI_WORDS_H

#include <stddef.h>

extern const char *const phi_first_names[];
extern const size_t phi_first_names_n;
extern const char *const phi_last_names[];
extern const size_t phi_last_names_n;
extern const char *const phi_not_names[];
extern const size_t phi_not_names_n;
extern const char *const phi_state_names[];
extern const size_t phi_state_names_n;

#endif

/*
 * json: jansson helpers shared by every layer. Parsing here is strict (duplicate keys rejected, one
 * document per input) and reports where a document went wrong. Returned json_t values are new references
 * the caller must json_decref.
 */
#ifndef AEGIS_CORE_JSON_H
#define AEGIS_CORE_JSON_H

#include <jansson.h>
#include <stddef.h>

/* Parses n bytes. On success *out is the document and the result is AEG_OK. On failure *out is NULL, the
 * result is AEG_EJSON and detail holds "malformed JSON at line L, column C (byte B): reason". */
int json_parse(const char *data, size_t n, json_t **out, char *detail, size_t detail_len);
/* The string member `key` of obj, or `dflt` when absent or not a string. */
const char *json_str(const json_t *obj, const char *key, const char *dflt);

#endif

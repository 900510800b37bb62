/*
 * yaml: YAML (and JSON, which is YAML) documents turned into jansson values, with precise error
 * locations. Scenario files, domain specs and plan catalogs come through here.
 *
 * One document per input. Mappings become objects (keys must be scalars, duplicates are an error),
 * sequences arrays. Plain scalars resolve like the YAML 1.2 core schema: null, ~ and empty -> null;
 * true/True/TRUE/false/False/FALSE -> boolean; decimal (0755 is 755), 0x hex and 0o octal integers
 * (optional sign) -> integer when they fit int64, else real; 1.5, 1e6, .5, -2.5E-3 -> real;
 * everything else (yes, no, on, 1_000, 0b11) -> string. Quoted and block scalars are always
 * strings; of the tags only !!str (and the non-specific "!") has an effect: it forces a string.
 * Keys are the scalar's text ("1: x" has key "1"). Aliases are expanded by copying the anchored
 * value. Refused with an error, never asserted on: NUL bytes, invalid UTF-8 (including UTF-16
 * input), .inf/.nan and reals out of double range (JSON cannot hold them), merge keys ("<<", a
 * YAML 1.1 feature a 1.2 reader would silently keep as a string key), more than YAML_MAX_DEPTH
 * nested collections and more than YAML_MAX_NODES values once aliases are expanded (so a "billion
 * laughs" document fails before it is built).
 *
 * Owns nothing between calls; no global state. The parsing itself is libyaml's (its yaml_ prefix is
 * shared with this module; none of the names here collide). Returned json_t values are new
 * references the caller must json_decref; a location table is freed with yaml_locs_free.
 */
#ifndef AEGIS_CORE_YAML_H
#define AEGIS_CORE_YAML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define YAML_MAX_DEPTH 256                /* nested mappings/sequences, aliases included */
#define YAML_MAX_NODES 1000000u           /* values in the document once aliases are expanded */
#define YAML_MAX_FILE (16u * 1024 * 1024) /* yaml_parse_file reads no more than this */

/* Where the values of a document came from (see yaml_where). Opaque. */
struct yaml_locs;

/* Parses a YAML 1.1/1.2 document (or JSON) of n bytes (data may be NULL when n is 0). Returns
 * AEG_OK with *out the document (JSON null for an empty one), or AEG_EINVAL with *out NULL and err
 * holding "line L, column C: reason" (1-based; columns count characters, not bytes). err may be
 * NULL. */
int yaml_parse(const char *data, size_t n, json_t **out, char *err, size_t errlen);

/* Reads the file at path and parses it as yaml_parse does. Parse errors (AEG_EINVAL) read
 * "path:L:C: reason"; a file that cannot be read gives AEG_EIO and "path: strerror", one larger
 * than YAML_MAX_FILE gives AEG_EINVAL and "path: larger than 16 MiB". *out is NULL on failure. */
int yaml_parse_file(const char *path, json_t **out, char *err, size_t errlen);

/* The same two, also answering the location table in *locs when locs is non-NULL (NULL on
 * failure). */
int yaml_parse_locs(const char *data, size_t n, json_t **out, struct yaml_locs **locs, char *err,
                    size_t errlen);
int yaml_parse_file_locs(const char *path, json_t **out, struct yaml_locs **locs, char *err,
                         size_t errlen);

/* The 1-based line and column where value starts in the source; true when known. Known for every
 * object, array, string, integer and real of the document as parsed (a copy made for an alias is
 * placed at the alias, its insides where they were written). Not known for true, false and null,
 * which are jansson singletons shared by every document: ask yaml_where_key for the key in front of
 * them, or ask for the enclosing array. The table keeps a reference to the document, so answers
 * stay right until yaml_locs_free even if the caller drops its own; they are not updated when the
 * document is changed. */
bool yaml_where(const struct yaml_locs *locs, const json_t *value, int *line, int *col);
/* Where key of object was written (the key itself, not its value); true when known. */
bool yaml_where_key(const struct yaml_locs *locs, const json_t *object, const char *key, int *line,
                    int *col);
/* The path given to yaml_parse_file_locs, or NULL for a document parsed from memory. */
const char *yaml_locs_path(const struct yaml_locs *locs);
/* Frees the table and drops its reference to the document. NULL is a no-op. */
void yaml_locs_free(struct yaml_locs *locs);

#endif

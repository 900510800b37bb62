#include "core/json.h"

#include "core/err.h"

#include <stdio.h>

int json_parse(const char *data, size_t n, json_t **out, char *detail, size_t detail_len)
{
    json_error_t e;
    *out = json_loadb(data, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (*out)
        return AEG_OK;
    if (detail && detail_len)
        snprintf(detail, detail_len, "malformed JSON at line %d, column %d (byte %d): %s", e.line,
                 e.column, e.position, e.text);
    return AEG_EJSON;
}

const char *json_str(const json_t *obj, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

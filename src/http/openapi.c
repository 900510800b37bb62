/*
 * openapi: builds the OpenAPI 3.1 document from the route table itself, so the document cannot list a
 * route that does not exist or miss one that does. Each route contributes its method, path, path
 * parameters, documented schemas and the error statuses its flags imply.
 */
#include "http/http.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

static json_t *schema_or(const char *text, const char *fallback)
{
    json_error_t e;
    json_t *j = json_loads(text ? text : fallback, 0, &e);
    return j ? j : json_pack("{s:s}", "description", "(schema text does not parse)");
}

static json_t *error_response(const char *desc)
{
    return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", desc, "content", "application/json",
                     "schema", "$ref", "#/components/schemas/Error");
}

static void add_error(json_t *responses, int code, const char *desc)
{
    char k[8];
    snprintf(k, sizeof k, "%d", code);
    if (!json_object_get(responses, k))
        json_object_set_new(responses, k, error_response(desc));
}

static const char *status_text(int status)
{
    switch (status) {
    case 400: return "Invalid request or malformed JSON";
    case 401: return "Authentication required";
    case 403: return "Role not allowed";
    case 404: return "Not found";
    case 409: return "Conflict";
    case 413: return "Body too large";
    case 415: return "Body is not JSON";
    case 429: return "Rate limited";
    case 503: return "Not ready";
    default: return "Error";
    }
}

static json_t *operation(const struct route *r)
{
    const struct route_doc *d = &r->doc;
    json_t *op = json_object();
    char opid[160];
    /* operationId: method + path with parameters spelled out, e.g. get_api_v1_jobs_id */
    size_t o = (size_t)snprintf(opid, sizeof opid, "%s", r->method);
    for (size_t i = 0; i < o; i++)
        opid[i] = (char)(opid[i] | 0x20);
    for (const char *p = r->pattern; *p && o + 1 < sizeof opid; p++) {
        char c = *p;
        if (c == '{' || c == '}')
            continue;
        opid[o++] = (c == '/' || c == '-' || c == '.') ? '_' : c;
    }
    opid[o] = '\0';
    json_object_set_new(op, "operationId", json_string(opid));
    json_object_set_new(op, "summary", json_string(d->summary ? d->summary : ""));
    if (d->description)
        json_object_set_new(op, "description", json_string(d->description));
    json_object_set_new(op, "tags", json_pack("[s]", d->tag ? d->tag : "default"));

    json_t *params = json_array();
    for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        if (!e)
            break;
        json_array_append_new(params, json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1,
                                                (size_t)(e - p - 1), "in", "path", "required", 1,
                                                "schema", "type", "string"));
    }
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);

    if (r->flags & ROUTE_JSON)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content",
                                      "application/json", "schema",
                                      schema_or(d->request_schema, "{\"type\":\"object\"}")));

    json_t *responses = json_object();
    char k[8];
    snprintf(k, sizeof k, "%d", d->status ? d->status : 200);
    const char *type = d->response_type ? d->response_type : "application/json";
    json_t *ok = json_pack("{s:s}", "description", d->summary ? d->summary : "Success");
    if (strcmp(k, "204") != 0)
        json_object_set_new(ok, "content",
                            json_pack("{s:{s:o}}", type, "schema",
                                      schema_or(d->response_schema, "{}")));
    json_object_set_new(responses, k, ok);
    if (r->flags & ROUTE_JSON) {
        add_error(responses, 400, status_text(400));
        add_error(responses, 413, status_text(413));
        add_error(responses, 415, status_text(415));
    }
    if (!(r->flags & ROUTE_PUBLIC))
        add_error(responses, 401, status_text(401));
    if (r->flags & ROUTE_ADMIN)
        add_error(responses, 403, status_text(403));
    if (strchr(r->pattern, '{'))
        add_error(responses, 404, status_text(404));
    for (const char *e = d->errors; e && *e;) {
        int code = 0;
        int used = 0;
        if (sscanf(e, "%d%n", &code, &used) != 1)
            break;
        add_error(responses, code, status_text(code));
        e += used;
    }
    json_object_set_new(op, "responses", responses);
    if (!(r->flags & ROUTE_PUBLIC))
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
    return op;
}

json_t *http_openapi(const struct route *routes, size_t n, const struct openapi_info *info)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < n; i++) {
        const struct route *r = &routes[i];
        if (r->flags & ROUTE_HIDDEN)
            continue;
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        char m[16];
        size_t k = 0;
        for (; r->method[k] && k + 1 < sizeof m; k++)
            m[k] = (char)(r->method[k] | 0x20);
        m[k] = '\0';
        json_object_set_new(item, m, operation(r));
    }
    json_t *schemas = json_pack(
        "{s:{s:s,s:[s],s:{s:{s:s,s:[s,s,s,s],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s}}}}}}", "Error",
        "type", "object", "required", "error", "properties", "error", "type", "object", "required",
        "type", "code", "message", "request_id", "properties", "type", "type", "string", "code",
        "type", "string", "message", "type", "string", "request_id", "type", "string");
    if (info->components) {
        json_error_t e;
        json_t *extra = json_loads(info->components, 0, &e);
        if (extra)
            json_object_update(schemas, extra);
        json_decref(extra);
    }
    return json_pack("{s:s,s:{s:s,s:s,s:s,s:{s:s,s:s}},s:[{s:s}],s:o,s:{s:o,s:{s:{s:s,s:s}}}}",
                     "openapi", "3.1.0", "info", "title", info->title, "version", info->version,
                     "description", info->description ? info->description : "", "license", "name",
                     "GPL-3.0-or-later", "identifier", "GPL-3.0-or-later", "servers", "url", "/",
                     "paths", paths, "components", "schemas", schemas, "securitySchemes", "bearer",
                     "type", "http", "scheme", "bearer");
}

/*
 * Tests src/http/openapi.c (through api_openapi on the real route table, and http_openapi on a
 * synthetic one for the flag rules) and api_routes' mounting of diagnostic routes.
 */
#include "../unit.h"

#include "api/api.h"
#include "core/cfg.h"
#include "core/err.h"
#include "http/http.h"

#include <ctype.h>

static void lower(const char *in, char *out, size_t outlen)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static json_t *operation_of(json_t *doc, const struct route *r)
{
    char m[16];
    lower(r->method, m, sizeof m);
    return json_object_get(json_object_get(json_object_get(doc, "paths"), r->pattern), m);
}

static int count_params(const char *pattern)
{
    int n = 0;
    for (const char *p = pattern; (p = strchr(p, '{')); p++)
        n++;
    return n;
}

/* Every "$ref" points at a schema that exists. */
static void check_refs(json_t *doc, json_t *node)
{
    if (json_is_object(node)) {
        const char *k;
        json_t *v;
        json_object_foreach(node, k, v)
        {
            if (!strcmp(k, "$ref") && json_is_string(v)) {
                const char *ref = json_string_value(v);
                const char *prefix = "#/components/schemas/";
                assert_true(!strncmp(ref, prefix, strlen(prefix)));
                json_t *target =
                    json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                                    ref + strlen(prefix));
                if (!target)
                    fail_msg("$ref %s does not resolve", ref);
            } else {
                check_refs(doc, v);
            }
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v)
        {
            check_refs(doc, v);
        }
    }
}

static void check_operation_shape(const struct route *r, json_t *op)
{
    assert_true(json_is_object(op));
    assert_true(json_is_string(json_object_get(op, "operationId")));
    assert_true(json_is_string(json_object_get(op, "summary")));
    assert_true(json_is_array(json_object_get(op, "tags")));
    json_t *responses = json_object_get(op, "responses");
    assert_true(json_is_object(responses));
    assert_true(json_object_size(responses) >= 1);
    const char *code;
    json_t *resp;
    json_object_foreach(responses, code, resp)
    {
        /* OpenAPI requires a description on every response; keys are status codes */
        assert_true(json_is_string(json_object_get(resp, "description")));
        assert_int_equal(strlen(code), 3);
        assert_true(isdigit((unsigned char)code[0]));
    }

    /* path parameters: one required string parameter per {name} */
    int want = count_params(r->pattern);
    json_t *params = json_object_get(op, "parameters");
    assert_int_equal(json_array_size(params), (size_t)want);
    for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        size_t len = (size_t)(e - p - 1);
        bool found = false;
        size_t i;
        json_t *prm;
        json_array_foreach(params, i, prm)
        {
            const char *name = json_string_value(json_object_get(prm, "name"));
            if (name && strlen(name) == len && !strncmp(name, p + 1, len)) {
                found = true;
                assert_string_equal(json_string_value(json_object_get(prm, "in")), "path");
                assert_true(json_is_true(json_object_get(prm, "required")));
            }
        }
        if (!found)
            fail_msg("%s %s: parameter %.*s not declared", r->method, r->pattern, (int)len, p + 1);
    }

    if (r->flags & ROUTE_JSON) {
        json_t *body = json_object_get(op, "requestBody");
        assert_non_null(body);
        assert_true(json_is_true(json_object_get(body, "required")));
        json_t *schema = json_object_get(
            json_object_get(json_object_get(body, "content"), "application/json"), "schema");
        assert_true(json_is_object(schema));
        assert_non_null(json_object_get(responses, "400"));
        assert_non_null(json_object_get(responses, "413"));
        assert_non_null(json_object_get(responses, "415"));
    } else {
        assert_null(json_object_get(op, "requestBody"));
        assert_null(json_object_get(responses, "415"));
    }
    if (!(r->flags & ROUTE_PUBLIC)) {
        assert_non_null(json_object_get(responses, "401"));
        assert_non_null(json_object_get(op, "security"));
    } else {
        assert_null(json_object_get(op, "security"));
    }
    if (want > 0)
        assert_non_null(json_object_get(responses, "404"));
}

static void test_real_document(void **state)
{
    size_t n = 0;
    const struct route *all = api_all_routes(&n);
    json_t *doc = api_openapi(all, n);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *info = json_object_get(doc, "info");
    assert_string_equal(json_string_value(json_object_get(info, "title")), "Aegis API");
    assert_string_equal(json_string_value(json_object_get(info, "version")), AEGIS_VERSION);
    json_t *paths = json_object_get(doc, "paths");
    assert_true(json_is_object(paths));
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    assert_non_null(json_object_get(schemas, "Error"));
    assert_non_null(json_object_get(schemas, "Ready"));

    size_t visible = 0, hidden = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *op = operation_of(doc, &all[i]);
        if (all[i].flags & ROUTE_HIDDEN) {
            hidden++;
            if (op)
                fail_msg("hidden route %s %s is documented", all[i].method, all[i].pattern);
            continue;
        }
        visible++;
        if (!op)
            fail_msg("route %s %s is missing from the document", all[i].method, all[i].pattern);
        check_operation_shape(&all[i], op);
    }
    assert_true(hidden >= 1); /* the table has static assets; keep the check meaningful */

    /* nothing but the table: the number of operations equals the visible routes */
    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        ops += json_object_size(item);
        bool known = false;
        for (size_t i = 0; i < n; i++)
            known |= !(all[i].flags & ROUTE_HIDDEN) && !strcmp(all[i].pattern, path);
        if (!known)
            fail_msg("path %s is not a visible route", path);
    }
    assert_int_equal(ops, visible);

    /* operationIds are unique across the document */
    const char *ids[64];
    size_t nids = 0;
    json_object_foreach(paths, path, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            assert_non_null(id);
            for (size_t k = 0; k < nids; k++)
                if (!strcmp(ids[k], id))
                    fail_msg("operationId %s is used twice", id);
            assert_true(nids < 64);
            ids[nids++] = id;
        }
    }
    assert_int_equal(nids, visible);

    check_refs(doc, doc);

    /* it serialises */
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"openapi\":\"3.1.0\""));
    free(text);
    json_decref(doc);
}

static int h(struct http_req *r)
{
    return AEG_OK;
}

static void test_flag_rules(void **state)
{
    static const struct route t[] = {
        {.method = "POST",
         .pattern = "/v1/things",
         .handler = h,
         .flags = ROUTE_JSON | ROUTE_ADMIN,
         .doc = {.summary = "Create a thing",
                 .tag = "things",
                 .status = 201,
                 .request_schema = "{\"type\":\"object\",\"required\":[\"name\"]}",
                 .response_schema = "{\"$ref\":\"#/components/schemas/Thing\"}",
                 .errors = "409 429"}},
        {.method = "GET",
         .pattern = "/v1/things/{id}",
         .handler = h,
         .flags = 0,
         .doc = {.summary = "Get a thing"}},
        {.method = "DELETE",
         .pattern = "/v1/things/{id}",
         .handler = h,
         .flags = ROUTE_WRITE,
         .doc = {.summary = "Delete a thing", .status = 204}},
        {.method = "GET",
         .pattern = "/v1/report",
         .handler = h,
         .flags = ROUTE_PUBLIC,
         .doc = {.summary = "Report", .response_type = "text/csv", .response_schema = "not json"}},
        {.method = "GET",
         .pattern = "/static/{file}",
         .handler = h,
         .flags = ROUTE_PUBLIC | ROUTE_HIDDEN},
    };
    size_t n = sizeof t / sizeof t[0];
    struct openapi_info info = {
        .title = "T",
        .version = "9.9.9",
        .description = NULL,
        .components = "{\"Thing\":{\"type\":\"object\"}}",
    };
    json_t *doc = http_openapi(t, n, &info);
    assert_non_null(doc);
    for (size_t i = 0; i < n; i++) {
        json_t *op = operation_of(doc, &t[i]);
        if (t[i].flags & ROUTE_HIDDEN) {
            assert_null(op);
            assert_null(json_object_get(json_object_get(doc, "paths"), t[i].pattern));
            continue;
        }
        assert_non_null(op);
        check_operation_shape(&t[i], op);
    }

    json_t *create = operation_of(doc, &t[0]);
    json_t *responses = json_object_get(create, "responses");
    assert_non_null(json_object_get(responses, "201"));
    assert_null(json_object_get(responses, "200"));
    assert_non_null(json_object_get(responses, "401")); /* not public */
    assert_non_null(json_object_get(responses, "403")); /* admin */
    assert_non_null(json_object_get(responses, "409")); /* listed errors */
    assert_non_null(json_object_get(responses, "429"));
    assert_string_equal(json_string_value(json_object_get(create, "operationId")),
                        "post_v1_things");
    json_t *req = json_object_get(
        json_object_get(json_object_get(json_object_get(create, "requestBody"), "content"),
                        "application/json"),
        "schema");
    assert_non_null(json_object_get(req, "required"));

    json_t *get = operation_of(doc, &t[1]);
    assert_string_equal(json_string_value(json_object_get(get, "operationId")), "get_v1_things_id");
    assert_string_equal(json_string_value(json_array_get(json_object_get(get, "tags"), 0)),
                        "default");
    assert_null(json_object_get(json_object_get(get, "responses"), "403"));

    /* 204 has no content */
    json_t *del = operation_of(doc, &t[2]);
    json_t *r204 = json_object_get(json_object_get(del, "responses"), "204");
    assert_non_null(r204);
    assert_null(json_object_get(r204, "content"));

    /* a custom media type; a schema text that does not parse is flagged, not fatal */
    json_t *rep = operation_of(doc, &t[3]);
    json_t *csv = json_object_get(
        json_object_get(json_object_get(json_object_get(rep, "responses"), "200"), "content"),
        "text/csv");
    assert_non_null(csv);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(csv, "schema"), "description")),
               "does not parse"));

    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "info"), "version")),
                        "9.9.9");
    check_refs(doc, doc);
    json_decref(doc);
}

static void test_diag_routes_left_out(void **state)
{
    size_t n_all = 0;
    const struct route *all = api_all_routes(&n_all);
    size_t ndiag = 0;
    for (size_t i = 0; i < n_all; i++)
        ndiag += (all[i].flags & ROUTE_DIAG) != 0;
    assert_true(ndiag >= 1);

    struct cfg c;
    memset(&c, 0, sizeof c);
    c.diag_routes = false;
    size_t n = 0;
    struct route *mounted = api_routes(&c, &n);
    assert_int_equal(n, n_all - ndiag);
    for (size_t i = 0; i < n; i++)
        assert_false(mounted[i].flags & ROUTE_DIAG);
    json_t *doc = api_openapi(mounted, n);
    for (size_t i = 0; i < n_all; i++) {
        if (!(all[i].flags & ROUTE_DIAG))
            continue;
        if (operation_of(doc, &all[i]))
            fail_msg("diagnostic route %s %s documented while not mounted", all[i].method,
                     all[i].pattern);
    }
    json_decref(doc);
    free(mounted);

    c.diag_routes = true;
    mounted = api_routes(&c, &n);
    assert_int_equal(n, n_all);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(mounted[i].method, all[i].method); /* same order as the table */
        assert_string_equal(mounted[i].pattern, all[i].pattern);
    }
    doc = api_openapi(mounted, n);
    for (size_t i = 0; i < n_all; i++)
        if ((all[i].flags & ROUTE_DIAG) && !(all[i].flags & ROUTE_HIDDEN))
            assert_non_null(operation_of(doc, &all[i]));
    json_decref(doc);
    free(mounted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_document),
        cmocka_unit_test(test_flag_rules),
        cmocka_unit_test(test_diag_routes_left_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

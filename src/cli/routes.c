/* aegis routes [--json]: the route table as mounted under the current configuration. */
#include "cli/cli.h"

#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>

static const struct {
    unsigned flag;
    const char *name;
} flag_names[] = {{ROUTE_PUBLIC, "public"}, {ROUTE_JSON, "json"},       {ROUTE_WRITE, "write"},
                  {ROUTE_ADMIN, "admin"},   {ROUTE_METERED, "metered"}, {ROUTE_DIAG, "diag"},
                  {ROUTE_HIDDEN, "hidden"}};

int cli_routes(int argc, char **argv)
{
    bool as_json = argc > 0 && cli_is(argv[0], "--json", NULL);
    if (argc > (as_json ? 1 : 0)) {
        fprintf(stderr, "usage: aegis routes [--json]\n");
        return CLI_USAGE;
    }
    struct cfg c;
    int rc = cli_load_cfg(&c, true);
    if (rc) {
        cfg_free(&c);
        return rc;
    }
    size_t n;
    struct route *routes = api_routes(&c, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *flags = json_array();
        for (size_t f = 0; f < sizeof flag_names / sizeof flag_names[0]; f++)
            if (routes[i].flags & flag_names[f].flag)
                json_array_append_new(flags, json_string(flag_names[f].name));
        if (as_json) {
            json_array_append_new(arr, json_pack("{s:s,s:s,s:o}", "method", routes[i].method,
                                                 "pattern", routes[i].pattern, "flags", flags));
        } else {
            printf("%-7s %-32s", routes[i].method, routes[i].pattern);
            for (size_t f = 0; f < json_array_size(flags); f++)
                printf(" %s", json_string_value(json_array_get(flags, f)));
            printf("\n");
            json_decref(flags);
        }
    }
    if (as_json) {
        char *t = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", t);
        free(t);
    }
    json_decref(arr);
    free(routes);
    cfg_free(&c);
    return CLI_OK;
}

#include "cli/cli.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

bool cli_is(const char *arg, const char *a, const char *b)
{
    return (a && !strcmp(arg, a)) || (b && !strcmp(arg, b));
}

int cli_load_cfg(struct cfg *c, bool quiet_warnings)
{
    struct buf problems, warnings;
    buf_init(&problems, BUF_CAP_LINE);
    buf_init(&warnings, BUF_CAP_LINE);
    int rc = cfg_load(c, NULL, &problems, &warnings);
    if (warnings.len && !quiet_warnings)
        fprintf(stderr, "aegis: configuration warnings:\n%s", buf_str(&warnings));
    if (rc)
        fprintf(stderr, "aegis: configuration errors:\n%s", buf_str(&problems));
    buf_release(&problems);
    buf_release(&warnings);
    return rc ? CLI_USAGE : CLI_OK;
}

int cli_open_store(const struct cfg *c, int pool, bool need_schema, struct store **out)
{
    char err[512] = "";
    int rc = store_open(c->database_url, pool, out, err, sizeof err);
    if (rc) {
        fprintf(stderr, "aegis: %s\n", err);
        return CLI_FAIL;
    }
    if (!need_schema)
        return CLI_OK;
    struct migrate_status st;
    rc = store_migrate_status(*out, &st, err, sizeof err);
    if (rc || st.pending || st.mismatched) {
        if (rc || st.mismatched)
            fprintf(stderr, "aegis: %s\n", err);
        else
            fprintf(stderr,
                    "aegis: the database is not migrated (%d migration(s) pending): run `aegis "
                    "migrate` first\n",
                    st.pending);
        store_close(*out);
        *out = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_open(struct cfg *c, struct store **s)
{
    *s = NULL;
    int rc = cli_load_cfg(c, true);
    return rc ? rc : cli_open_store(c, 1, true, s);
}

/* aegis migrate [--status]: apply pending schema migrations (or only report them). */
#include "cli/cli.h"

#include "core/err.h"

#include <stdio.h>

int cli_migrate(int argc, char **argv)
{
    bool status_only = false;
    for (int i = 0; i < argc; i++) {
        if (cli_is(argv[i], "--status", NULL)) {
            status_only = true;
        } else {
            fprintf(stderr, "usage: aegis migrate [--status]\n");
            return CLI_USAGE;
        }
    }
    struct cfg c;
    int rc = cli_load_cfg(&c, false);
    struct store *s = NULL;
    if (!rc)
        rc = cli_open_store(&c, 1, false, &s);
    if (rc)
        goto out;
    char err[512] = "";
    struct migrate_status st;
    if (status_only) {
        if (store_migrate_status(s, &st, err, sizeof err)) {
            fprintf(stderr, "aegis: %s\n", err);
            rc = CLI_FAIL;
            goto out;
        }
        printf("schema version %d, binary version %d, %d pending%s\n", st.current, st.latest,
               st.pending, st.mismatched ? ", CHANGED MIGRATIONS (see below)" : "");
        if (st.mismatched) {
            fprintf(stderr, "aegis: %s\n", err);
            rc = CLI_FAIL;
        }
        goto out;
    }
    int applied = 0;
    if (store_migrate(s, &applied, err, sizeof err)) {
        fprintf(stderr, "aegis: %s\n", err);
        rc = CLI_FAIL;
        goto out;
    }
    store_migrate_status(s, &st, err, sizeof err);
    printf("applied %d migration(s); schema at version %d\n", applied, st.current);
out:
    store_close(s);
    cfg_free(&c);
    return rc;
}

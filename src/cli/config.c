/* aegis config check: print the effective configuration (secrets masked); non-zero on errors. */
#include "cli/cli.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

int cli_config(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "check") != 0) {
        fprintf(stderr, "usage: aegis config check\n");
        return CLI_USAGE;
    }
    struct cfg c;
    struct buf problems, warnings;
    buf_init(&problems, BUF_CAP_LINE);
    buf_init(&warnings, BUF_CAP_LINE);
    int rc = cfg_load(&c, NULL, &problems, &warnings);
    printf("# effective configuration (AEGIS_ENV=%s%s%s)\n", c.env, c.env_file ? ", file " : "",
           c.env_file ? c.env_file : "");
    cfg_print(&c, stdout);
    fflush(stdout); /* the verdict comes last, also when both streams go to one terminal or pipe */
    if (warnings.len)
        fprintf(stderr, "\nwarnings:\n%s", buf_str(&warnings));
    if (rc)
        fprintf(stderr, "\nerrors:\n%s", buf_str(&problems));
    else
        printf("\n# configuration OK\n");
    buf_release(&problems);
    buf_release(&warnings);
    cfg_free(&c);
    return rc ? CLI_USAGE : CLI_OK;
}

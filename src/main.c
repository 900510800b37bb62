/* aegis <command>: dispatch only. */
#include "api/api.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static int cli_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("aegis %s (%s)\n", AEGIS_VERSION, AEGIS_COMMIT);
    return CLI_OK;
}

static int cli_help(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", cli_serve, "run the HTTP server and job workers"},
    {"migrate", cli_migrate, "apply database migrations (--status to report only)"},
    {"config", cli_config, "config check: print the effective configuration, secrets masked"},
    {"jobs", cli_jobs, "enqueue | list | show: operate the job queue"},
    {"routes", cli_routes, "list the HTTP routes (--json)"},
    {"onboard", cli_onboard, "create an organization, its owner and a first API key"},
    {"keys", cli_keys, "list | create | revoke API keys of an organization"},
    {"simulate", cli_simulate, "run a FAIR Monte Carlo simulation of a scenario file"},
    {"optimize", cli_optimize, "choose security controls under a budget and re-check by simulation"},
    {"eval", cli_eval, "evaluate AI traces (JSONL) against a domain spec, offline"},
    {"audit", cli_audit, "audit verify [--org ID]: check the audit log's hash chains"},
    {"version", cli_version, "print the version"},
    {"help", cli_help, "this list"},
};

static int cli_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: aegis <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-9s %s\n", commands[i].name, commands[i].help);
    printf("\nConfiguration comes from AEGIS_* environment variables and an optional .env file;\n"
           "see .env.example and `aegis config check`.\n");
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_help(0, NULL);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
        return cli_help(0, NULL);
    if (!strcmp(cmd, "--version"))
        return cli_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "aegis: unknown command \"%s\" (try `aegis help`)\n", cmd);
    return CLI_USAGE;
}

/*
 * cli: the subcommands of `aegis`. Each gets argc/argv after its name and returns the process exit
 * code: 0 success, 1 the work failed, 2 bad usage or configuration. Only the CLI turns error codes into
 * messages on stderr.
 */
#ifndef AEGIS_CLI_CLI_H
#define AEGIS_CLI_CLI_H

#include "core/cfg.h"
#include "store/store.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_jobs(int argc, char **argv);
int cli_routes(int argc, char **argv);
int cli_onboard(int argc, char **argv);
int cli_keys(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_optimize(int argc, char **argv);
int cli_eval(int argc, char **argv);

/* Loads the configuration; on problems prints them and returns CLI_USAGE (cfg must still be freed). */
int cli_load_cfg(struct cfg *c, bool quiet_warnings);
/* Opens the store of the configuration, printing the reason on failure (CLI_FAIL). With
 * `need_schema`, also refuses (CLI_FAIL, saying to run `aegis migrate`) a database whose migrations
 * are not all applied. */
int cli_open_store(const struct cfg *c, int pool, bool need_schema, struct store **out);
/* cli_load_cfg then cli_open_store (the schema required): what most operator commands start with.
 * CLI_OK, or the exit code (c must still be freed, *s closed). */
int cli_open(struct cfg *c, struct store **s);
/* True when argv[i] equals one of the given spellings. */
bool cli_is(const char *arg, const char *a, const char *b);

#endif

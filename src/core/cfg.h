/*
 * cfg: the effective configuration, read once at start-up and then passed around as const.
 *
 * Every setting comes from an environment variable (AEGIS_*, and the usual names of Stripe and LLM keys),
 * optionally from a .env file (KEY=VALUE lines; the process environment wins over the file). One table in
 * cfg.c names every variable with its group, type, default and whether it is a secret; .env.example
 * documents the same list (a unit test keeps the two in step). cfg_load() never aborts on bad input: it
 * records each problem as one line in `problems` and returns AEG_ECONFIG. Production refuses insecure
 * settings (no pepper, CORS '*', public bind without AEGIS_ALLOW_PUBLIC_BIND, ...) and names each one.
 * Strings in struct cfg are owned by it and freed by cfg_free().
 */
#ifndef AEGIS_CORE_CFG_H
#define AEGIS_CORE_CFG_H

#include "core/buf.h"

#include <stdbool.h>
#include <stdio.h>

struct cfg {
    char *env; /* development | staging | production */
    /* server */
    char *host;
    long port;
    long threads;            /* HTTP worker threads; 0 = one per CPU */
    long body_limit;         /* bytes */
    long conn_timeout;       /* seconds a connection may sit idle */
    long request_timeout;    /* seconds a request body may take to arrive */
    long shutdown_timeout;   /* seconds to drain requests and jobs on SIGTERM */
    long max_connections;
    long per_ip_connections; /* 0 = unlimited */
    bool allow_public_bind;
    char *access_log; /* "stdout", "stderr", "off" or a file path */
    char *log_level;
    char *web_dir;
    bool diag_routes; /* diagnostic routes (/api/v1/diag/...): default on outside production */
    /* database */
    char *database_url;
    long db_pool_size;
    bool migrate_on_start;
    /* jobs */
    long job_workers;
    long job_lease_seconds;
    long job_max_attempts;
    long job_poll_ms;
    long job_backoff_base_ms;
    long job_backoff_max_ms;
    /* risk engine */
    long sim_max_iterations; /* ceiling per simulation run through the API */
    long sim_threads;        /* threads per simulation job; 0 = one per CPU */
    /* security */
    char *cors_origins;
    char *key_pepper;        /* "" in development means a fixed, public development pepper */
    long argon2_memory_kib;  /* Argon2id cost of new password hashes */
    long argon2_iterations;
    long session_ttl_minutes;
    long signup_per_hour;    /* signups allowed per client IP per hour (per node) */
    long login_failures_per_15min; /* failed logins per client IP before 429 (per node) */
    /* billing */
    char *stripe_secret_key;
    char *stripe_publishable_key;
    char *stripe_webhook_secret;
    char *stripe_api_base;
    char *stripe_price_starter;
    char *stripe_price_pro;
    char *stripe_price_enterprise;
    /* LLM */
    char *openai_api_key;
    char *openai_base_url;
    char *anthropic_api_key;
    char *anthropic_base_url;
    char *llm_model;
    long llm_timeout_ms;

    /* derived by cfg_load */
    char **cors_list; /* allowed origins, exact match */
    size_t cors_n;
    bool cors_any;    /* '*' given (refused in production) */
    char *env_file;   /* the .env file that was read, or NULL */
    unsigned char source[64]; /* per table row: 0 default, 1 .env file, 2 process environment */
};

/* Loads defaults, then `env_file` (NULL: $AEGIS_ENV_FILE, else ./.env when present), then the process
 * environment, and validates. Returns AEG_OK, or AEG_ECONFIG with one line per problem appended to
 * `problems`; warnings (not errors) are appended to `warnings` when it is not NULL. On error *c is still
 * fully initialised and must be released with cfg_free(). */
int cfg_load(struct cfg *c, const char *env_file, struct buf *problems, struct buf *warnings);
void cfg_free(struct cfg *c);
/* Prints every variable as NAME=value (secrets masked), grouped, with where it came from. */
void cfg_print(const struct cfg *c, FILE *out);
/* True when origin is allowed by the CORS setting. */
bool cfg_cors_allows(const struct cfg *c, const char *origin);
/* Calls fn for every variable name in the table (used by tests and by `aegis config check`). */
void cfg_each_name(void (*fn)(const char *name, const char *group, bool secret, void *arg), void *arg);
/* Masks a secret for display: "" -> "(unset)", short -> "****", long -> first 4 characters + "****". */
void cfg_mask(const char *secret, char *out, size_t outlen);

#endif

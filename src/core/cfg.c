#include "core/cfg.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum type { T_STR, T_INT, T_BOOL, T_BYTES };
enum { F_SECRET = 1 };

struct var {
    const char *name;
    const char *group;
    enum type type;
    size_t off;
    const char *dflt;
    long min, max;
    unsigned flags;
};

#define S(name, group, field, dflt, flags) {name, group, T_STR, offsetof(struct cfg, field), dflt, 0, 0, flags}
#define I(name, group, field, dflt, lo, hi) {name, group, T_INT, offsetof(struct cfg, field), dflt, lo, hi, 0}
#define B(name, group, field, dflt) {name, group, T_BOOL, offsetof(struct cfg, field), dflt, 0, 1, 0}
#define Z(name, group, field, dflt, lo, hi) {name, group, T_BYTES, offsetof(struct cfg, field), dflt, lo, hi, 0}

/* The one list of settings. Keep .env.example in step (tests/unit/core/test_cfg.c checks it). */
static const struct var vars[] = {
    S("AEGIS_ENV", "server", env, "development", 0),
    S("AEGIS_HOST", "server", host, "127.0.0.1", 0),
    I("AEGIS_PORT", "server", port, "8080", 0, 65535),
    I("AEGIS_THREADS", "server", threads, "0", 0, 256),
    Z("AEGIS_BODY_LIMIT", "server", body_limit, "4MiB", 1024, 1L << 30),
    I("AEGIS_CONN_TIMEOUT", "server", conn_timeout, "30", 1, 3600),
    I("AEGIS_REQUEST_TIMEOUT", "server", request_timeout, "60", 1, 3600),
    I("AEGIS_SHUTDOWN_TIMEOUT", "server", shutdown_timeout, "30", 0, 3600),
    I("AEGIS_MAX_CONNECTIONS", "server", max_connections, "1024", 1, 100000),
    I("AEGIS_PER_IP_CONNECTIONS", "server", per_ip_connections, "0", 0, 100000),
    B("AEGIS_ALLOW_PUBLIC_BIND", "server", allow_public_bind, "false"),
    S("AEGIS_ACCESS_LOG", "server", access_log, "stdout", 0),
    S("AEGIS_LOG_LEVEL", "server", log_level, "info", 0),
    S("AEGIS_WEB_DIR", "server", web_dir, "web", 0),
    B("AEGIS_DIAG_ROUTES", "server", diag_routes, ""),
    S("AEGIS_DATABASE_URL", "database", database_url, "sqlite://var/aegis.db", F_SECRET),
    I("AEGIS_DATABASE_POOL_SIZE", "database", db_pool_size, "0", 0, 512),
    B("AEGIS_MIGRATE_ON_START", "database", migrate_on_start, "true"),
    I("AEGIS_JOB_WORKERS", "jobs", job_workers, "2", 0, 256),
    I("AEGIS_JOB_LEASE_SECONDS", "jobs", job_lease_seconds, "60", 1, 86400),
    I("AEGIS_JOB_MAX_ATTEMPTS", "jobs", job_max_attempts, "5", 1, 100),
    I("AEGIS_JOB_POLL_MS", "jobs", job_poll_ms, "500", 10, 60000),
    I("AEGIS_JOB_BACKOFF_BASE_MS", "jobs", job_backoff_base_ms, "1000", 1, 3600000),
    I("AEGIS_JOB_BACKOFF_MAX_MS", "jobs", job_backoff_max_ms, "600000", 1, 86400000),
    I("AEGIS_SIM_MAX_ITERATIONS", "risk", sim_max_iterations, "10000000", 1, 1000000000),
    I("AEGIS_SIM_THREADS", "risk", sim_threads, "0", 0, 256),
    S("AEGIS_CORS_ORIGINS", "security", cors_origins, "", 0),
    S("AEGIS_KEY_PEPPER", "security", key_pepper, "", F_SECRET),
    I("AEGIS_ARGON2_MEMORY_KIB", "security", argon2_memory_kib, "19456", 1024, 4194304),
    I("AEGIS_ARGON2_ITERATIONS", "security", argon2_iterations, "2", 1, 100),
    I("AEGIS_SESSION_TTL_MINUTES", "security", session_ttl_minutes, "720", 1, 525600),
    I("AEGIS_SIGNUP_PER_HOUR", "security", signup_per_hour, "10", 0, 1000000),
    I("AEGIS_LOGIN_FAILURES_PER_15MIN", "security", login_failures_per_15min, "20", 0, 1000000),
    S("STRIPE_SECRET_KEY", "billing", stripe_secret_key, "", F_SECRET),
    S("STRIPE_PUBLISHABLE_KEY", "billing", stripe_publishable_key, "", 0),
    S("STRIPE_WEBHOOK_SECRET", "billing", stripe_webhook_secret, "", F_SECRET),
    S("AEGIS_STRIPE_API_BASE", "billing", stripe_api_base, "https://api.stripe.com", 0),
    S("AEGIS_STRIPE_PRICE_STARTER", "billing", stripe_price_starter, "", 0),
    S("AEGIS_STRIPE_PRICE_PRO", "billing", stripe_price_pro, "", 0),
    S("AEGIS_STRIPE_PRICE_ENTERPRISE", "billing", stripe_price_enterprise, "", 0),
    S("OPENAI_API_KEY", "llm", openai_api_key, "", F_SECRET),
    S("OPENAI_BASE_URL", "llm", openai_base_url, "https://api.openai.com/v1", 0),
    S("ANTHROPIC_API_KEY", "llm", anthropic_api_key, "", F_SECRET),
    S("ANTHROPIC_BASE_URL", "llm", anthropic_base_url, "https://api.anthropic.com", 0),
    S("AEGIS_LLM_MODEL", "llm", llm_model, "", 0),
    I("AEGIS_LLM_TIMEOUT_MS", "llm", llm_timeout_ms, "30000", 100, 600000),
};
#define NVARS (sizeof vars / sizeof vars[0])
_Static_assert(NVARS <= sizeof(((struct cfg *)0)->source), "grow cfg.source");

/* ---- .env file ---------------------------------------------------------------------------------- */

struct kv {
    char *k, *v;
};
struct dotenv {
    struct kv *items;
    size_t n;
};

static void dotenv_free(struct dotenv *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].k);
        free(d->items[i].v);
    }
    free(d->items);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* KEY=VALUE per line; '#' comments; optional `export `; values may be single- or double-quoted
 * (double quotes understand \n, \" and \\). Bad lines are reported, not fatal to the others. */
static int dotenv_read(const char *path, struct dotenv *d, struct buf *problems)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        buf_printf(problems, "%s: cannot open: %s\n", path, strerror(errno));
        return AEG_ECONFIG;
    }
    int rc = 0;
    char line[8192];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            buf_printf(problems, "%s:%d: expected KEY=VALUE\n", path, lineno);
            rc = AEG_ECONFIG;
            continue;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        char *val = NULL;
        if (v[0] == '\'' || v[0] == '"') {
            /* Quoted: up to the matching quote ("..." understands \n, \" and \\); after it only
             * blanks or a # comment may follow. */
            char q = v[0];
            size_t vn = strlen(v), o = 0, i = 1;
            val = xmalloc(vn);
            for (; i < vn && v[i] != q; i++) {
                if (q == '"' && v[i] == '\\' && i + 1 < vn) {
                    i++;
                    val[o++] = v[i] == 'n' ? '\n' : v[i];
                } else {
                    val[o++] = v[i];
                }
            }
            val[o] = '\0';
            const char *rest = i < vn ? trim(v + i + 1) : NULL;
            if (!rest || (*rest && *rest != '#')) {
                buf_printf(problems, "%s:%d: %s: %s\n", path, lineno, k,
                           rest ? "unexpected text after the quoted value" : "unterminated quote");
                rc = AEG_ECONFIG;
                free(val);
                continue;
            }
        } else {
            /* Unquoted: a # at the start or after a blank begins a comment. */
            for (char *h = v; *h; h++) {
                if (*h == '#' && (h == v || h[-1] == ' ' || h[-1] == '\t')) {
                    *h = '\0';
                    break;
                }
            }
            val = xstrdup(trim(v));
        }
        d->items = xrealloc(d->items, (d->n + 1) * sizeof *d->items);
        d->items[d->n].k = xstrdup(k);
        d->items[d->n].v = val;
        d->n++;
    }
    fclose(f);
    return rc;
}

static const char *dotenv_get(const struct dotenv *d, const char *k)
{
    const char *v = NULL;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->items[i].k, k) == 0)
            v = d->items[i].v; /* the last one wins, as in a shell */
    return v;
}

/* ---- values ------------------------------------------------------------------------------------- */

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *trim(end) != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_bytes(const char *s, long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    long long mul = 1;
    if (!*end || !strcasecmp(end, "b"))
        mul = 1;
    else if (!strcasecmp(end, "k") || !strcasecmp(end, "kb") || !strcasecmp(end, "kib"))
        mul = 1024;
    else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb") || !strcasecmp(end, "mib"))
        mul = 1024 * 1024;
    else if (!strcasecmp(end, "g") || !strcasecmp(end, "gb") || !strcasecmp(end, "gib"))
        mul = 1024 * 1024 * 1024;
    else
        return -1;
    if (v > (1LL << 40) / mul)
        return -1;
    *out = (long)(v * mul);
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int set_var(struct cfg *c, const struct var *v, const char *val, struct buf *problems)
{
    char *base = (char *)c + v->off;
    switch (v->type) {
    case T_STR: {
        char **p = (char **)base;
        free(*p);
        *p = xstrdup(val);
        return 0;
    }
    case T_BOOL: {
        bool b = false;
        if (!*val) /* empty: "decided by the environment" (see AEGIS_DIAG_ROUTES) */
            return 0;
        if (parse_bool(val, &b)) {
            buf_printf(problems, "%s: expected true or false, got \"%s\"\n", v->name, val);
            return AEG_ECONFIG;
        }
        *(bool *)base = b;
        return 0;
    }
    case T_INT:
    case T_BYTES: {
        long n = 0;
        int bad = v->type == T_INT ? parse_long(val, &n) : parse_bytes(val, &n);
        if (bad) {
            buf_printf(problems, "%s: expected %s, got \"%s\"\n", v->name,
                       v->type == T_INT ? "an integer" : "a size such as 4MiB", val);
            return AEG_ECONFIG;
        }
        if (n < v->min || n > v->max) {
            buf_printf(problems, "%s: %ld is out of range [%ld, %ld]\n", v->name, n, v->min, v->max);
            return AEG_ECONFIG;
        }
        *(long *)base = n;
        return 0;
    }
    }
    return AEG_EINTERNAL;
}

/* ---- validation --------------------------------------------------------------------------------- */

static bool origin_syntax_ok(const char *o)
{
    const char *rest;
    if (!strncmp(o, "http://", 7))
        rest = o + 7;
    else if (!strncmp(o, "https://", 8))
        rest = o + 8;
    else
        return false;
    if (!*rest)
        return false;
    for (const char *p = rest; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' ||
              *p == ']'))
            return false; /* an origin has no path, query or user info */
    return true;
}

static void parse_cors(struct cfg *c, struct buf *problems, int *rc)
{
    char *copy = xstrdup(c->cors_origins);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *o = trim(tok);
        if (!*o)
            continue;
        if (!strcmp(o, "*")) {
            c->cors_any = true;
            continue;
        }
        size_t n = strlen(o);
        if (n > 1 && o[n - 1] == '/')
            o[n - 1] = '\0';
        if (!origin_syntax_ok(o)) {
            buf_printf(problems,
                       "AEGIS_CORS_ORIGINS: \"%s\" is not an origin (scheme://host[:port], no path)\n",
                       o);
            *rc = AEG_ECONFIG;
            continue;
        }
        c->cors_list = xrealloc(c->cors_list, (c->cors_n + 1) * sizeof *c->cors_list);
        c->cors_list[c->cors_n++] = xstrdup(o);
    }
    free(copy);
}

static bool is_public_host(const char *h)
{
    return !*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::") || !strcmp(h, "[::]") || !strcmp(h, "*");
}

static void validate(struct cfg *c, struct buf *problems, struct buf *warnings, int *rc)
{
    bool prod = !strcmp(c->env, "production");
    bool staging = !strcmp(c->env, "staging");
    if (!prod && !staging && strcmp(c->env, "development") != 0) {
        buf_printf(problems, "AEGIS_ENV: must be development, staging or production, got \"%s\"\n",
                   c->env);
        *rc = AEG_ECONFIG;
    }
    if (log_level_parse(c->log_level) < 0) {
        buf_printf(problems, "AEGIS_LOG_LEVEL: must be debug, info, warn, error or off, got \"%s\"\n",
                   c->log_level);
        *rc = AEG_ECONFIG;
    }
    const char *u = c->database_url;
    if (strncmp(u, "sqlite://", 9) != 0 && strncmp(u, "postgres://", 11) != 0 &&
        strncmp(u, "postgresql://", 13) != 0) {
        buf_printf(problems,
                   "AEGIS_DATABASE_URL: must start with sqlite:// or postgres:// (got a URL with "
                   "another scheme)\n");
        *rc = AEG_ECONFIG;
    } else if (!strncmp(u, "sqlite://", 9) && !u[9]) {
        buf_printf(problems, "AEGIS_DATABASE_URL: sqlite:// needs a path\n");
        *rc = AEG_ECONFIG;
    }
    if (c->job_backoff_base_ms > c->job_backoff_max_ms) {
        buf_printf(problems, "AEGIS_JOB_BACKOFF_BASE_MS: %ld is above AEGIS_JOB_BACKOFF_MAX_MS (%ld)\n",
                   c->job_backoff_base_ms, c->job_backoff_max_ms);
        *rc = AEG_ECONFIG;
    }
    parse_cors(c, problems, rc);

    /* Insecure settings: refused in production, warned about in staging. */
    struct buf *sink = prod ? problems : staging ? warnings : NULL;
    if (!sink)
        return;
    int before = (int)sink->len;
    if (strlen(c->key_pepper) < 32)
        buf_printf(sink, "AEGIS_KEY_PEPPER: %s (%s needs a random secret of at least 32 characters)\n",
                   *c->key_pepper ? "too short" : "not set", c->env);
    if (c->cors_any)
        buf_printf(sink, "AEGIS_CORS_ORIGINS: '*' allows every origin (%s needs an explicit list)\n",
                   c->env);
    if (c->argon2_memory_kib < 19456 || (c->argon2_memory_kib < 47104 && c->argon2_iterations < 2))
        buf_printf(sink,
                   "AEGIS_ARGON2_MEMORY_KIB/AEGIS_ARGON2_ITERATIONS: below the OWASP minimum "
                   "(19456 KiB with 2 iterations)\n");
    if (is_public_host(c->host) && !c->allow_public_bind)
        buf_printf(sink,
                   "AEGIS_HOST: \"%s\" listens on every interface; set AEGIS_ALLOW_PUBLIC_BIND=true "
                   "to mean it\n",
                   c->host);
    if (*c->stripe_secret_key && !*c->stripe_webhook_secret)
        buf_printf(sink, "STRIPE_WEBHOOK_SECRET: not set while STRIPE_SECRET_KEY is (webhooks "
                         "could not be verified)\n");
    if (prod && !strncmp(c->stripe_secret_key, "sk_test_", 8))
        buf_printf(sink, "STRIPE_SECRET_KEY: a test-mode key in production\n");
    if (c->diag_routes && prod)
        buf_printf(sink, "AEGIS_DIAG_ROUTES: diagnostic routes must stay off in production\n");
    if (prod && (int)sink->len != before)
        *rc = AEG_ECONFIG;
}

/* ---- public ------------------------------------------------------------------------------------- */

int cfg_load(struct cfg *c, const char *env_file, struct buf *problems, struct buf *warnings)
{
    struct buf scratch;
    buf_init(&scratch, BUF_CAP_SMALL);
    if (!warnings)
        warnings = &scratch;
    memset(c, 0, sizeof *c);
    int rc = AEG_OK;
    for (size_t i = 0; i < NVARS; i++)
        if (set_var(c, &vars[i], vars[i].dflt, problems))
            rc = AEG_ECONFIG; /* a bad default is our bug, but say so rather than crash */

    struct dotenv d = {0};
    bool diag_given = false;
    const char *path = env_file ? env_file : getenv("AEGIS_ENV_FILE");
    if (path && *path) {
        if (dotenv_read(path, &d, problems))
            rc = AEG_ECONFIG;
        c->env_file = xstrdup(path);
    } else if (access(".env", F_OK) == 0) {
        if (dotenv_read(".env", &d, problems))
            rc = AEG_ECONFIG;
        c->env_file = xstrdup(".env");
    }

    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(vars[i].name);
        unsigned char src = 2;
        if (!v) {
            v = dotenv_get(&d, vars[i].name);
            src = 1;
        }
        if (!v)
            continue;
        c->source[i] = src;
        if (vars[i].off == offsetof(struct cfg, diag_routes) && *v)
            diag_given = true;
        if (set_var(c, &vars[i], v, problems))
            rc = AEG_ECONFIG;
    }
    /* A mistyped name in a .env file would otherwise be silently ignored. */
    for (size_t j = 0; j < d.n; j++) {
        bool known = false;
        for (size_t i = 0; i < NVARS && !known; i++)
            known = !strcmp(d.items[j].k, vars[i].name);
        if (!known && !strncmp(d.items[j].k, "AEGIS_", 6) && strcmp(d.items[j].k, "AEGIS_ENV_FILE"))
            buf_printf(warnings, "%s: unknown setting in %s (ignored)\n", d.items[j].k, c->env_file);
    }
    dotenv_free(&d);

    /* Diagnostic routes default to on, except in production. */
    if (!diag_given)
        c->diag_routes = strcmp(c->env, "production") != 0;

    validate(c, problems, warnings, &rc);
    buf_release(&scratch);
    return rc;
}

void cfg_free(struct cfg *c)
{
    for (size_t i = 0; i < NVARS; i++)
        if (vars[i].type == T_STR)
            free(*(char **)((char *)c + vars[i].off));
    for (size_t i = 0; i < c->cors_n; i++)
        free(c->cors_list[i]);
    free(c->cors_list);
    free(c->env_file);
    memset(c, 0, sizeof *c);
}

void cfg_mask(const char *secret, char *out, size_t outlen)
{
    size_t n = strlen(secret);
    if (n == 0)
        snprintf(out, outlen, "(unset)");
    else if (n < 12)
        snprintf(out, outlen, "****");
    else
        snprintf(out, outlen, "%.4s****", secret);
}

/* Database URLs may carry a password: show scheme and host, mask user info. */
static void mask_url(const char *url, char *out, size_t outlen)
{
    const char *scheme_end = strstr(url, "://");
    const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;
    if (!at)
        snprintf(out, outlen, "%s", url);
    else
        snprintf(out, outlen, "%.*s****@%s", (int)(scheme_end + 3 - url), url, at + 1);
}

void cfg_print(const struct cfg *c, FILE *out)
{
    static const char *srcname[] = {"default", ".env", "environment"};
    const char *group = "";
    for (size_t i = 0; i < NVARS; i++) {
        const struct var *v = &vars[i];
        if (strcmp(group, v->group)) {
            group = v->group;
            fprintf(out, "%s# %s\n", i ? "\n" : "", group);
        }
        const char *base = (const char *)c + v->off;
        char val[256];
        switch (v->type) {
        case T_STR: {
            const char *s = *(char *const *)base;
            if (!strcmp(v->name, "AEGIS_DATABASE_URL"))
                mask_url(s, val, sizeof val);
            else if (v->flags & F_SECRET)
                cfg_mask(s, val, sizeof val);
            else
                snprintf(val, sizeof val, "%s", s);
            break;
        }
        case T_BOOL:
            snprintf(val, sizeof val, "%s", *(const bool *)base ? "true" : "false");
            break;
        default:
            snprintf(val, sizeof val, "%ld", *(const long *)base);
        }
        fprintf(out, "%s=%s  # %s\n", v->name, val, srcname[c->source[i]]);
    }
}

bool cfg_cors_allows(const struct cfg *c, const char *origin)
{
    if (!origin || !*origin)
        return false;
    if (c->cors_any)
        return true;
    for (size_t i = 0; i < c->cors_n; i++)
        if (!strcmp(c->cors_list[i], origin))
            return true;
    return false;
}

void cfg_each_name(void (*fn)(const char *, const char *, bool, void *), void *arg)
{
    for (size_t i = 0; i < NVARS; i++)
        fn(vars[i].name, vars[i].group, (vars[i].flags & F_SECRET) != 0, arg);
}

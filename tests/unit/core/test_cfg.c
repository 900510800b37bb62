/*
 * Tests src/core/cfg.c: defaults, .env files, the environment, validation, production refusals,
 * masking and the .env.example cross-check.
 *
 * Isolation: every variable of the table (and AEGIS_ENV_FILE) is unset before and after each test,
 * and the process works in a fresh temporary directory, so neither the developer's environment nor
 * a ./.env of the checkout can leak in.
 */
#include "../unit.h"

#include "core/buf.h"
#include "core/cfg.h"
#include "core/err.h"

#include <ctype.h>
#include <stdbool.h>

static char tmpdir[512];
static char oldcwd[4096];

/* ---- fixture --------------------------------------------------------------------------------- */

static void unset_one(const char *name, const char *group, bool secret, void *arg)
{
    unsetenv(name);
}

static void clean_env(void)
{
    cfg_each_name(unset_one, NULL);
    unsetenv("AEGIS_ENV_FILE");
}

static int group_setup(void **state)
{
    if (!getcwd(oldcwd, sizeof oldcwd))
        return -1;
    unit_tmpdir(tmpdir, sizeof tmpdir, "cfg");
    if (chdir(tmpdir) != 0)
        return -1;
    clean_env();
    return 0;
}

static int group_teardown(void **state)
{
    clean_env();
    if (chdir(oldcwd) != 0)
        return -1;
    unit_rmtree(tmpdir);
    return 0;
}

struct fx {
    struct cfg c;
    struct buf problems, warnings;
    char envpath[1024];
};

static int setup(void **state)
{
    clean_env();
    struct fx *f = xcalloc(1, sizeof *f);
    buf_init(&f->problems, BUF_CAP_LINE);
    buf_init(&f->warnings, BUF_CAP_LINE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cfg_free(&f->c);
    buf_release(&f->problems);
    buf_release(&f->warnings);
    if (f->envpath[0])
        unlink(f->envpath);
    unlink(".env");
    free(f);
    clean_env();
    return 0;
}

/* Writes text as the fixture's env file (in the temp dir). */
static const char *envfile(struct fx *f, const char *text)
{
    unit_write_file(tmpdir, "test.env", text, f->envpath, sizeof f->envpath);
    return f->envpath;
}

/* Loads into f (releasing a previous load) and returns the result. */
static int load(struct fx *f, const char *env_file)
{
    cfg_free(&f->c);
    buf_reset(&f->problems);
    buf_reset(&f->warnings);
    return cfg_load(&f->c, env_file, &f->problems, &f->warnings);
}

struct find_idx {
    const char *name;
    int i, found;
};

static void find_idx_cb(const char *name, const char *group, bool secret, void *arg)
{
    struct find_idx *fi = arg;
    if (fi->found < 0 && !strcmp(name, fi->name))
        fi->found = fi->i;
    fi->i++;
}

/* The table row of a variable (the index into cfg.source). */
static int row_of(const char *name)
{
    struct find_idx fi = {name, 0, -1};
    cfg_each_name(find_idx_cb, &fi);
    assert_true(fi.found >= 0);
    return fi.found;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

/* The problem text names the variable at the start of a line. */
static void assert_problem_names(const char *problems, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = problems; *p;) {
        if (!strncmp(p, name, n) && p[n] == ':')
            return;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    fail_msg("no problem line starts with \"%s:\" in:\n%s", name, problems);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#define PEPPER "0123456789abcdef0123456789abcdef-long-enough"

/* ---- defaults and sources -------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct fx *f = *state;
    assert_int_equal(access(".env", F_OK), -1); /* the temp dir has no .env */
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_string_equal(buf_str(&f->problems), "");
    assert_string_equal(buf_str(&f->warnings), "");
    struct cfg *c = &f->c;
    assert_string_equal(c->env, "development");
    assert_string_equal(c->host, "127.0.0.1");
    assert_int_equal(c->port, 8080);
    assert_string_equal(c->database_url, "sqlite://var/aegis.db");
    assert_int_equal(c->threads, 0);
    assert_int_equal(c->body_limit, 4L * 1024 * 1024);
    assert_int_equal(c->conn_timeout, 30);
    assert_int_equal(c->request_timeout, 60);
    assert_int_equal(c->max_connections, 1024);
    assert_false(c->allow_public_bind);
    assert_string_equal(c->access_log, "stdout");
    assert_string_equal(c->log_level, "info");
    assert_true(c->diag_routes); /* on outside production */
    assert_true(c->migrate_on_start);
    assert_int_equal(c->job_workers, 2);
    assert_int_equal(c->job_lease_seconds, 60);
    assert_int_equal(c->job_max_attempts, 5);
    assert_int_equal(c->job_backoff_base_ms, 1000);
    assert_int_equal(c->job_backoff_max_ms, 600000);
    assert_string_equal(c->cors_origins, "");
    assert_int_equal(c->cors_n, 0);
    assert_false(c->cors_any);
    assert_string_equal(c->key_pepper, "");
    assert_string_equal(c->stripe_api_base, "https://api.stripe.com");
    assert_string_equal(c->openai_base_url, "https://api.openai.com/v1");
    assert_int_equal(c->llm_timeout_ms, 30000);
    assert_null(c->env_file);
    for (size_t i = 0; i < sizeof c->source; i++)
        assert_int_equal(c->source[i], 0);
}

static void test_env_overrides_dotenv(void **state)
{
    struct fx *f = *state;
    const char *path = envfile(f, "AEGIS_PORT=9000\n"
                                  "AEGIS_HOST=10.0.0.1\n"
                                  "AEGIS_LOG_LEVEL=warn\n");
    setenv("AEGIS_PORT", "9100", 1);
    setenv("AEGIS_LOG_LEVEL", "error", 1);
    assert_int_equal(load(f, path), AEG_OK);
    assert_int_equal(f->c.port, 9100);
    assert_string_equal(f->c.host, "10.0.0.1");
    assert_string_equal(f->c.log_level, "error");
    assert_string_equal(f->c.env_file, path);
    assert_int_equal(f->c.source[row_of("AEGIS_PORT")], 2);
    assert_int_equal(f->c.source[row_of("AEGIS_HOST")], 1);
    assert_int_equal(f->c.source[row_of("AEGIS_LOG_LEVEL")], 2);
    assert_int_equal(f->c.source[row_of("AEGIS_THREADS")], 0);

    /* An empty environment value still wins over the file (for strings it means ""). */
    setenv("AEGIS_HOST", "", 1);
    assert_int_equal(load(f, path), AEG_OK);
    assert_string_equal(f->c.host, "");
}

static void test_dotenv_last_assignment_wins(void **state)
{
    struct fx *f = *state;
    const char *path = envfile(f, "AEGIS_PORT=1\nAEGIS_PORT=2\n");
    assert_int_equal(load(f, path), AEG_OK);
    assert_int_equal(f->c.port, 2);
}

static void test_dotenv_in_cwd_and_env_file_var(void **state)
{
    struct fx *f = *state;
    char p[1024];
    unit_write_file(tmpdir, ".env", "AEGIS_PORT=7001\n", p, sizeof p);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_int_equal(f->c.port, 7001);
    assert_string_equal(f->c.env_file, ".env");

    /* $AEGIS_ENV_FILE takes precedence over ./.env */
    const char *path = envfile(f, "AEGIS_PORT=7002\n");
    setenv("AEGIS_ENV_FILE", path, 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_int_equal(f->c.port, 7002);
    assert_string_equal(f->c.env_file, path);

    /* and an explicit path over both */
    char other[1024];
    unit_write_file(tmpdir, "other.env", "AEGIS_PORT=7003\n", other, sizeof other);
    assert_int_equal(load(f, other), AEG_OK);
    assert_int_equal(f->c.port, 7003);
    unlink(other);
}

static void test_dotenv_missing_file(void **state)
{
    struct fx *f = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/does-not-exist.env", tmpdir);
    assert_int_equal(load(f, path), AEG_ECONFIG);
    assert_contains(buf_str(&f->problems), "does-not-exist.env: cannot open");
    /* still fully initialised with defaults */
    assert_int_equal(f->c.port, 8080);
    assert_string_equal(f->c.host, "127.0.0.1");
}

static void test_dotenv_quoting_and_comments(void **state)
{
    struct fx *f = *state;
    const char *path = envfile(f, "# a comment line\n"
                                  "   # an indented comment\n"
                                  "\n"
                                  "   \t\n"
                                  "export AEGIS_HOST=192.168.1.5\n"
                                  "AEGIS_LOG_LEVEL='debug'\n"
                                  "AEGIS_WEB_DIR=\"/srv/web dir\"\n"
                                  "AEGIS_LLM_MODEL=\"a\\nb \\\"q\\\" \\\\ end\"\n"
                                  "AEGIS_STRIPE_PRICE_PRO=price#1\n"
                                  "AEGIS_STRIPE_PRICE_STARTER='a # b'\n"
                                  "AEGIS_STRIPE_PRICE_ENTERPRISE=\"c # d\"\n"
                                  "AEGIS_ACCESS_LOG =   off   \n"
                                  "AEGIS_PORT=8181 # a trailing comment\n"
                                  "STRIPE_PUBLISHABLE_KEY='single \\n stays'\n"
                                  "AEGIS_THREADS=4\r\n" /* a file saved with CRLF line ends */
                                  "AEGIS_CORS_ORIGINS=\n");
    assert_int_equal(load(f, path), AEG_OK);
    assert_string_equal(buf_str(&f->problems), "");
    assert_string_equal(f->c.host, "192.168.1.5");
    assert_string_equal(f->c.log_level, "debug");
    assert_string_equal(f->c.web_dir, "/srv/web dir");
    assert_string_equal(f->c.llm_model, "a\nb \"q\" \\ end");
    assert_string_equal(f->c.stripe_price_pro, "price#1");
    assert_string_equal(f->c.stripe_price_starter, "a # b");
    assert_string_equal(f->c.stripe_price_enterprise, "c # d");
    assert_string_equal(f->c.access_log, "off");
    assert_int_equal(f->c.port, 8181);
    assert_string_equal(f->c.stripe_publishable_key, "single \\n stays");
    assert_string_equal(f->c.cors_origins, "");
    assert_int_equal(f->c.threads, 4);
}

/* `KEY="value" # comment` is the usual way to annotate a quoted value (docker compose,
 * python-dotenv, the dotenv npm package all give `value`). */
static void test_dotenv_comment_after_quoted_value(void **state)
{
    struct fx *f = *state;
    const char *path = envfile(f, "AEGIS_HOST=\"10.1.2.3\" # the office network\n"
                                  "AEGIS_WEB_DIR='/srv/web' # assets\n");
    assert_int_equal(load(f, path), AEG_OK);
    assert_string_equal(f->c.host, "10.1.2.3");
    assert_string_equal(f->c.web_dir, "/srv/web");
}

static void test_dotenv_comment_only_value_and_bad_quotes(void **state)
{
    struct fx *f = *state;
    const char *path = envfile(f, "AEGIS_CORS_ORIGINS= # none yet\n"
                                  "AEGIS_LOG_LEVEL=warn#not-a-comment-without-a-blank\n");
    assert_int_equal(load(f, path), AEG_ECONFIG); /* "warn#..." is not a level */
    assert_string_equal(f->c.cors_origins, "");
    assert_string_equal(f->c.log_level, "warn#not-a-comment-without-a-blank");
    path = envfile(f, "AEGIS_HOST=\"10.1.2.3\n"
                      "AEGIS_WEB_DIR='/srv/web' trailing\n");
    assert_int_equal(load(f, path), AEG_ECONFIG);
    assert_contains(buf_str(&f->problems), "AEGIS_HOST: unterminated quote");
    assert_contains(buf_str(&f->problems), "AEGIS_WEB_DIR: unexpected text after the quoted value");
    assert_string_equal(f->c.host, "127.0.0.1"); /* the bad lines are not used */
}

static void test_dotenv_bad_line_and_unknown_name(void **state)
{
    struct fx *f = *state;
    const char *path = envfile(f, "AEGIS_PORT=9001\n"
                                  "this line has no equals sign\n"
                                  "=novalue\n"
                                  "AEGIS_PROT=9002\n"
                                  "SOME_OTHER_TOOL=1\n");
    assert_int_equal(load(f, path), AEG_ECONFIG);
    const char *p = buf_str(&f->problems);
    char want[1100];
    snprintf(want, sizeof want, "%s:2: expected KEY=VALUE", path);
    assert_contains(p, want);
    snprintf(want, sizeof want, "%s:3: expected KEY=VALUE", path);
    assert_contains(p, want);
    /* the good lines are still used */
    assert_int_equal(f->c.port, 9001);
    /* a mistyped AEGIS_ name is a warning; other tools' names are not our business */
    assert_contains(buf_str(&f->warnings), "AEGIS_PROT: unknown setting");
    assert_lacks(buf_str(&f->warnings), "SOME_OTHER_TOOL");
}

/* ---- value parsing --------------------------------------------------------------------------- */

struct bad_case {
    const char *name, *value, *fragment;
};

static void test_bad_values_name_the_variable(void **state)
{
    struct fx *f = *state;
    static const struct bad_case cases[] = {
        {"AEGIS_PORT", "abc", "expected an integer"},
        {"AEGIS_PORT", "80x", "expected an integer"},
        {"AEGIS_PORT", "", "expected an integer"},
        {"AEGIS_PORT", "99999999999999999999999", "expected an integer"},
        {"AEGIS_PORT", "70000", "out of range"},
        {"AEGIS_PORT", "-1", "out of range"},
        {"AEGIS_THREADS", "257", "out of range"},
        {"AEGIS_CONN_TIMEOUT", "0", "out of range"},
        {"AEGIS_JOB_MAX_ATTEMPTS", "1.5", "expected an integer"},
        {"AEGIS_JOB_POLL_MS", "5", "out of range"},
        {"AEGIS_ALLOW_PUBLIC_BIND", "maybe", "expected true or false"},
        {"AEGIS_MIGRATE_ON_START", "2", "expected true or false"},
        {"AEGIS_DIAG_ROUTES", "enabled", "expected true or false"},
        {"AEGIS_BODY_LIMIT", "4XB", "expected a size"},
        {"AEGIS_BODY_LIMIT", "lots", "expected a size"},
        {"AEGIS_BODY_LIMIT", "-5", "expected a size"},
        {"AEGIS_BODY_LIMIT", "10", "out of range"},
        {"AEGIS_BODY_LIMIT", "2GiB", "out of range"},
        {"AEGIS_BODY_LIMIT", "99999999999999G", "expected a size"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clean_env();
        setenv(cases[i].name, cases[i].value, 1);
        int rc = load(f, NULL);
        if (rc != AEG_ECONFIG)
            fail_msg("%s=\"%s\" was accepted", cases[i].name, cases[i].value);
        const char *p = buf_str(&f->problems);
        assert_problem_names(p, cases[i].name);
        assert_contains(p, cases[i].fragment);
        assert_int_equal(count_lines(p), 1);
    }
    /* Several problems: one line each. */
    clean_env();
    setenv("AEGIS_PORT", "x", 1);
    setenv("AEGIS_THREADS", "y", 1);
    setenv("AEGIS_ALLOW_PUBLIC_BIND", "z", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_int_equal(count_lines(buf_str(&f->problems)), 3);
    assert_problem_names(buf_str(&f->problems), "AEGIS_PORT");
    assert_problem_names(buf_str(&f->problems), "AEGIS_THREADS");
    assert_problem_names(buf_str(&f->problems), "AEGIS_ALLOW_PUBLIC_BIND");
    /* the bad value did not replace the default */
    assert_int_equal(f->c.port, 8080);
}

static void test_good_values(void **state)
{
    struct fx *f = *state;
    struct {
        const char *value;
        long want;
    } sizes[] = {{"2048", 2048},   {"512KiB", 512L * 1024}, {"512 kb", 512L * 1024},
                 {"1k", 1024},     {"8m", 8L << 20},        {"1GiB", 1L << 30},
                 {"1g", 1L << 30}, {"4096b", 4096},         {"16MB", 16L << 20}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        setenv("AEGIS_BODY_LIMIT", sizes[i].value, 1);
        if (load(f, NULL) != AEG_OK)
            fail_msg("AEGIS_BODY_LIMIT=%s: %s", sizes[i].value, buf_str(&f->problems));
        assert_int_equal(f->c.body_limit, sizes[i].want);
    }
    unsetenv("AEGIS_BODY_LIMIT");

    const char *yes[] = {"1", "true", "TRUE", "yes", "On"};
    const char *no[] = {"0", "false", "False", "no", "OFF"};
    for (int i = 0; i < 5; i++) {
        setenv("AEGIS_ALLOW_PUBLIC_BIND", yes[i], 1);
        setenv("AEGIS_MIGRATE_ON_START", no[i], 1);
        assert_int_equal(load(f, NULL), AEG_OK);
        assert_true(f->c.allow_public_bind);
        assert_false(f->c.migrate_on_start);
    }
    setenv("AEGIS_PORT", "  65535 ", 1);
    setenv("AEGIS_THREADS", "0", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_int_equal(f->c.port, 65535);
}

static void test_other_validation(void **state)
{
    struct fx *f = *state;
    setenv("AEGIS_ENV", "prod", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_problem_names(buf_str(&f->problems), "AEGIS_ENV");
    clean_env();

    setenv("AEGIS_LOG_LEVEL", "verbose", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_problem_names(buf_str(&f->problems), "AEGIS_LOG_LEVEL");
    clean_env();

    setenv("AEGIS_DATABASE_URL", "mysql://root:pw@localhost/db", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_problem_names(buf_str(&f->problems), "AEGIS_DATABASE_URL");
    assert_lacks(buf_str(&f->problems), "pw@"); /* the URL (and its password) is not echoed */
    clean_env();

    setenv("AEGIS_DATABASE_URL", "sqlite://", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_problem_names(buf_str(&f->problems), "AEGIS_DATABASE_URL");
    clean_env();

    setenv("AEGIS_DATABASE_URL", "postgres://u:p@h/db", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    clean_env();

    setenv("AEGIS_JOB_BACKOFF_BASE_MS", "5000", 1);
    setenv("AEGIS_JOB_BACKOFF_MAX_MS", "4000", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_problem_names(buf_str(&f->problems), "AEGIS_JOB_BACKOFF_BASE_MS");
}

/* ---- environments ---------------------------------------------------------------------------- */

/* A production configuration that passes. */
static void set_good_production(void)
{
    clean_env();
    setenv("AEGIS_ENV", "production", 1);
    setenv("AEGIS_KEY_PEPPER", PEPPER, 1);
    setenv("AEGIS_CORS_ORIGINS", "https://app.example.com", 1);
}

static void test_production_good(void **state)
{
    struct fx *f = *state;
    set_good_production();
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_string_equal(buf_str(&f->problems), "");
    assert_false(f->c.diag_routes); /* off by default in production */

    setenv("AEGIS_HOST", "0.0.0.0", 1);
    setenv("AEGIS_ALLOW_PUBLIC_BIND", "true", 1);
    setenv("STRIPE_SECRET_KEY", "sk_live_0123456789abcdef", 1);
    setenv("STRIPE_WEBHOOK_SECRET", "whsec_0123456789abcdef", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_string_equal(buf_str(&f->problems), "");
}

struct insecure {
    const char *name, *value, *named, *fragment;
};

static const struct insecure insecure_cases[] = {
    {"AEGIS_KEY_PEPPER", "", "AEGIS_KEY_PEPPER", "not set"},
    {"AEGIS_KEY_PEPPER", "short-pepper", "AEGIS_KEY_PEPPER", "too short"},
    {"AEGIS_CORS_ORIGINS", "*", "AEGIS_CORS_ORIGINS", "'*'"},
    {"AEGIS_CORS_ORIGINS", "https://a.example.com, *", "AEGIS_CORS_ORIGINS", "'*'"},
    {"AEGIS_HOST", "0.0.0.0", "AEGIS_HOST", "AEGIS_ALLOW_PUBLIC_BIND"},
    {"AEGIS_HOST", "::", "AEGIS_HOST", "AEGIS_ALLOW_PUBLIC_BIND"},
    {"AEGIS_HOST", "", "AEGIS_HOST", "AEGIS_ALLOW_PUBLIC_BIND"},
    {"STRIPE_SECRET_KEY", "sk_live_0123456789abcdef", "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY"},
};

static void test_production_refuses_each_insecure_setting(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < sizeof insecure_cases / sizeof insecure_cases[0]; i++) {
        const struct insecure *k = &insecure_cases[i];
        set_good_production();
        setenv(k->name, k->value, 1);
        if (load(f, NULL) != AEG_ECONFIG)
            fail_msg("production accepted %s=\"%s\"", k->name, k->value);
        assert_problem_names(buf_str(&f->problems), k->named);
        assert_contains(buf_str(&f->problems), k->fragment);
        assert_int_equal(count_lines(buf_str(&f->problems)), 1);
    }

    /* With nothing set, production names the missing pepper. */
    clean_env();
    setenv("AEGIS_ENV", "production", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_problem_names(buf_str(&f->problems), "AEGIS_KEY_PEPPER");

    /* All at once: every one named. */
    set_good_production();
    setenv("AEGIS_KEY_PEPPER", "", 1);
    setenv("AEGIS_CORS_ORIGINS", "*", 1);
    setenv("AEGIS_HOST", "0.0.0.0", 1);
    setenv("STRIPE_SECRET_KEY", "sk_test_0123456789", 1);
    setenv("AEGIS_DIAG_ROUTES", "true", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    const char *p = buf_str(&f->problems);
    assert_problem_names(p, "AEGIS_KEY_PEPPER");
    assert_problem_names(p, "AEGIS_CORS_ORIGINS");
    assert_problem_names(p, "AEGIS_HOST");
    assert_problem_names(p, "STRIPE_WEBHOOK_SECRET");
    assert_problem_names(p, "STRIPE_SECRET_KEY"); /* test-mode key */
    assert_problem_names(p, "AEGIS_DIAG_ROUTES");
    assert_int_equal(count_lines(p), 6);
    assert_lacks(p, "sk_test_0123456789"); /* the secret itself is not echoed */
}

static void test_staging_only_warns(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < sizeof insecure_cases / sizeof insecure_cases[0]; i++) {
        const struct insecure *k = &insecure_cases[i];
        set_good_production();
        setenv("AEGIS_ENV", "staging", 1);
        setenv(k->name, k->value, 1);
        if (load(f, NULL) != AEG_OK)
            fail_msg("staging refused %s=\"%s\": %s", k->name, k->value, buf_str(&f->problems));
        assert_string_equal(buf_str(&f->problems), "");
        assert_problem_names(buf_str(&f->warnings), k->named);
    }
    /* Development says nothing. */
    clean_env();
    setenv("AEGIS_CORS_ORIGINS", "*", 1);
    setenv("AEGIS_HOST", "0.0.0.0", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_string_equal(buf_str(&f->warnings), "");
    assert_true(f->c.cors_any);

    /* A NULL warnings buffer is allowed. */
    set_good_production();
    setenv("AEGIS_ENV", "staging", 1);
    setenv("AEGIS_CORS_ORIGINS", "*", 1);
    cfg_free(&f->c);
    buf_reset(&f->problems);
    assert_int_equal(cfg_load(&f->c, NULL, &f->problems, NULL), AEG_OK);
}

static void test_diag_routes_default(void **state)
{
    struct fx *f = *state;
    setenv("AEGIS_ENV", "staging", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_true(f->c.diag_routes);
    setenv("AEGIS_DIAG_ROUTES", "false", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_false(f->c.diag_routes);
    set_good_production();
    setenv("AEGIS_DIAG_ROUTES", "", 1); /* empty: decided by the environment */
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_false(f->c.diag_routes);
    setenv("AEGIS_DIAG_ROUTES", "true", 1);
    assert_int_equal(load(f, NULL), AEG_ECONFIG);
    assert_problem_names(buf_str(&f->problems), "AEGIS_DIAG_ROUTES");
}

/* ---- printing and masking -------------------------------------------------------------------- */

static char *print_cfg(const struct cfg *c)
{
    char *text = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&text, &n);
    assert_non_null(m);
    cfg_print(c, m);
    fclose(m);
    return text;
}

static void test_print_masks_secrets(void **state)
{
    struct fx *f = *state;
    const char *secrets[][2] = {
        {"AEGIS_KEY_PEPPER", PEPPER},
        {"STRIPE_SECRET_KEY", "sk_live_SECRETSECRETSECRET"},
        {"STRIPE_WEBHOOK_SECRET", "whsec_SECRETSECRETSECRET"},
        {"OPENAI_API_KEY", "sk-proj-SECRETSECRETSECRET"},
        {"ANTHROPIC_API_KEY", "sk-ant-SECRETSECRETSECRET"},
    };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        setenv(secrets[i][0], secrets[i][1], 1);
    setenv("AEGIS_DATABASE_URL", "postgres://aegis:hunter2pass@db.example.com:5432/aegis", 1);
    setenv("AEGIS_PORT", "8443", 1);
    const char *path = envfile(f, "AEGIS_HOST=10.9.8.7\n");
    assert_int_equal(load(f, path), AEG_OK);

    char *out = print_cfg(&f->c);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        assert_lacks(out, secrets[i][1]);
        assert_lacks(out, "SECRETSECRET");
        char want[128];
        snprintf(want, sizeof want, "%s=%.4s****  # environment\n", secrets[i][0], secrets[i][1]);
        assert_contains(out, want);
    }
    assert_lacks(out, "hunter2");
    assert_contains(out,
                    "AEGIS_DATABASE_URL=postgres://****@db.example.com:5432/aegis  # environment");
    /* plain settings are shown with their source */
    assert_contains(out, "AEGIS_PORT=8443  # environment\n");
    assert_contains(out, "AEGIS_HOST=10.9.8.7  # .env\n");
    assert_contains(out, "AEGIS_THREADS=0  # default\n");
    assert_contains(out, "AEGIS_ALLOW_PUBLIC_BIND=false  # default\n");
    assert_contains(out, "# server\n");
    assert_contains(out, "# billing\n");
    free(out);

    /* short secrets are fully hidden, unset ones say so */
    clean_env();
    setenv("STRIPE_SECRET_KEY", "sk_short", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    out = print_cfg(&f->c);
    assert_lacks(out, "sk_short");
    assert_contains(out, "STRIPE_SECRET_KEY=****  # environment\n");
    assert_contains(out, "AEGIS_KEY_PEPPER=(unset)  # default\n");
    assert_contains(out, "AEGIS_DATABASE_URL=sqlite://var/aegis.db  # default\n");
    free(out);
}

static void test_mask(void **state)
{
    char out[64];
    cfg_mask("", out, sizeof out);
    assert_string_equal(out, "(unset)");
    cfg_mask("abc", out, sizeof out);
    assert_string_equal(out, "****");
    cfg_mask("elevenchars", out, sizeof out);
    assert_string_equal(out, "****");
    cfg_mask("twelve-chars", out, sizeof out);
    assert_string_equal(out, "twel****");
    cfg_mask("a-much-longer-secret-value", out, 6); /* truncated, never overflows */
    assert_string_equal(out, "a-mu*");
}

/* ---- CORS ------------------------------------------------------------------------------------ */

static void test_cors(void **state)
{
    struct fx *f = *state;
    setenv("AEGIS_CORS_ORIGINS",
           " https://a.example.com , http://localhost:3000/,,http://[::1]:8080", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_int_equal(f->c.cors_n, 3);
    assert_false(f->c.cors_any);
    assert_true(cfg_cors_allows(&f->c, "https://a.example.com"));
    assert_true(cfg_cors_allows(&f->c, "http://localhost:3000")); /* trailing slash dropped */
    assert_true(cfg_cors_allows(&f->c, "http://[::1]:8080"));
    assert_false(cfg_cors_allows(&f->c, "https://b.example.com"));
    assert_false(cfg_cors_allows(&f->c, "http://a.example.com")); /* scheme matters */
    assert_false(cfg_cors_allows(&f->c, "https://a.example.com.evil.com"));
    assert_false(cfg_cors_allows(&f->c, "https://a.example.com:443"));
    assert_false(cfg_cors_allows(&f->c, ""));
    assert_false(cfg_cors_allows(&f->c, NULL));
    assert_false(cfg_cors_allows(&f->c, "null"));

    /* '*' allows any origin (outside production) */
    setenv("AEGIS_CORS_ORIGINS", "*", 1);
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_true(f->c.cors_any);
    assert_true(cfg_cors_allows(&f->c, "https://anything.example"));
    assert_false(cfg_cors_allows(&f->c, ""));

    /* no setting: no CORS */
    unsetenv("AEGIS_CORS_ORIGINS");
    assert_int_equal(load(f, NULL), AEG_OK);
    assert_false(cfg_cors_allows(&f->c, "https://a.example.com"));

    /* something that is not an origin */
    const char *bad[] = {"https://a.example.com/app", "a.example.com", "ftp://a.example.com",
                         "https://user@a.example.com", "https://"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("AEGIS_CORS_ORIGINS", bad[i], 1);
        if (load(f, NULL) != AEG_ECONFIG)
            fail_msg("AEGIS_CORS_ORIGINS=%s accepted", bad[i]);
        assert_problem_names(buf_str(&f->problems), "AEGIS_CORS_ORIGINS");
        assert_false(cfg_cors_allows(&f->c, bad[i]));
    }
}

/* ---- .env.example ---------------------------------------------------------------------------- */

struct names {
    const char *v[128];
    int n;
};

static void collect(const char *name, const char *group, bool secret, void *arg)
{
    struct names *ns = arg;
    assert_true(ns->n < 128);
    ns->v[ns->n++] = name;
}

static bool in_table(const struct names *ns, const char *tok, size_t len)
{
    for (int i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == len && !strncmp(ns->v[i], tok, len))
            return true;
    return false;
}

static bool is_name_char(char c)
{
    return isupper((unsigned char)c) || isdigit((unsigned char)c) || c == '_';
}

static void test_env_example_in_step(void **state)
{
    struct names ns = {.n = 0};
    cfg_each_name(collect, &ns);
    assert_true(ns.n > 30);
    char *text = unit_read_file(AEGIS_SOURCE_DIR "/.env.example");

    /* Every name of the table is documented, as a whole word, in a NAME= line. */
    for (int i = 0; i < ns.n; i++) {
        size_t n = strlen(ns.v[i]);
        bool found = false;
        for (const char *p = text; (p = strstr(p, ns.v[i])); p += n) {
            bool start = p == text || !is_name_char(p[-1]);
            if (start && p[n] == '=') {
                found = true;
                break;
            }
        }
        if (!found)
            fail_msg(".env.example has no \"%s=\" line", ns.v[i]);
    }

    /* Every AEGIS_* word is in the table. AEGIS_ENV_FILE is the one exception: it says where the
     * file is, so it can only come from the environment (cfg.c reads it outside the table too). */
    for (const char *p = text; (p = strstr(p, "AEGIS_"));) {
        if (p != text && is_name_char(p[-1])) {
            p++;
            continue;
        }
        size_t n = 0;
        while (is_name_char(p[n]))
            n++;
        if (!(n == strlen("AEGIS_ENV_FILE") && !strncmp(p, "AEGIS_ENV_FILE", n)) &&
            !in_table(&ns, p, n))
            fail_msg(".env.example mentions %.*s, which cfg.c does not know", (int)n, p);
        p += n;
    }

    /* Every NAME= line (commented or not) sets a name of the table. */
    for (const char *line = text; *line;) {
        const char *s = line;
        while (*s == '#' || *s == ' ')
            s++;
        size_t n = 0;
        while (is_name_char(s[n]))
            n++;
        if (n > 0 && s[n] == '=' && !in_table(&ns, s, n))
            fail_msg(".env.example sets %.*s, which cfg.c does not know", (int)n, s);
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : line + strlen(line);
    }
    free(text);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_env_overrides_dotenv),
        T(test_dotenv_last_assignment_wins),
        T(test_dotenv_in_cwd_and_env_file_var),
        T(test_dotenv_missing_file),
        T(test_dotenv_quoting_and_comments),
        T(test_dotenv_comment_after_quoted_value),
        T(test_dotenv_comment_only_value_and_bad_quotes),
        T(test_dotenv_bad_line_and_unknown_name),
        T(test_bad_values_name_the_variable),
        T(test_good_values),
        T(test_other_validation),
        T(test_production_good),
        T(test_production_refuses_each_insecure_setting),
        T(test_staging_only_warns),
        T(test_diag_routes_default),
        T(test_print_masks_secrets),
        T(test_mask),
        T(test_cors),
        T(test_env_example_in_step),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

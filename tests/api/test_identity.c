/*
 * API tests of tenancy and identity against the real server: signup (validation, conflicts, rate
 * limits), login, logout and sessions (token and cookie), the authentication phase (401s) and role
 * rules (403s), members and invitations, API keys, the audit log (events, filters, pagination,
 * tenant scoping), secrets hygiene of the logs and the database file, and the operator CLI (onboard,
 * keys).
 *
 * One server (S) with high abuse limits serves most cases; the rate limits, the login timing check
 * and the secrets scan run their own server (srv_own, cleaned up by own_teardown even when a test fails).
 * Servers use the lowest Argon2 cost so password hashing stays fast, except the timing check.
 */
#define _GNU_SOURCE /* memmem */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "store/db.h"


static struct srv S;
static int counter; /* unique emails, org names and request ids within this process */

static int setup(void **state)
{
    (void)state;
    srv_init(&S, (const char *[]){FAST_ARGON2, "AEGIS_SIGNUP_PER_HOUR=1000",
                                  "AEGIS_LOGIN_FAILURES_PER_15MIN=1000", NULL});
    return srv_start(&S, NULL);
}

static int teardown(void **state)
{
    (void)state;
    srv_stop_group(&S);
    srv_cleanup(&S);
    return 0;
}

/* ---- helpers
 * ------------------------------------------------------------------------------------- */

static void new_rid(char out[48])
{
    snprintf(out, 48, "idt-%d-%d", (int)getpid(), ++counter);
}

/* One request: optional bearer secret, JSON body, request id and one extra header. */
static void call_h(const struct srv *s, const char *method, const char *path, const char *bearer,
                   const char *body, const char *rid, const char *extra, struct resp *r)
{
    char auth[300], ridh[200];
    const char *h[5];
    int n = 0;
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        h[n++] = auth;
    }
    if (body)
        h[n++] = "Content-Type: application/json";
    if (rid) {
        snprintf(ridh, sizeof ridh, "X-Request-Id: %s", rid);
        h[n++] = ridh;
    }
    if (extra)
        h[n++] = extra;
    h[n] = NULL;
    if (req(s, method, path, h, body, r) != 0)
        fail_msg("%s %s: transport error", method, path);
}

static void call(const struct srv *s, const char *method, const char *path, const char *bearer,
                 const char *body, struct resp *r)
{
    call_h(s, method, path, bearer, body, NULL, NULL, r);
}

static void expect_status(const struct resp *r, long status)
{
    if (r->status != status)
        fail_msg("expected status %ld, got %ld: %s", status, r->status, r->body ? r->body : "");
}

/* Asserts the error shape, and that its message contains `part`. */
static void expect_error(const struct resp *r, long status, const char *code, const char *part)
{
    assert_error(r, status, code);
    if (part && !strstr(err_message(r), part))
        fail_msg("the %ld message \"%s\" does not mention \"%s\"", status, err_message(r), part);
}

static bool base62(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

static bool contains(const char *hay, size_t len, const char *needle)
{
    return hay && memmem(hay, len, needle, strlen(needle)) != NULL;
}

struct acct {
    char org[64], user[64], key_id[64], key[64];
    char email[128], password[64];
};

/* Signs up a fresh organisation (with a password) and asserts the 201. */
static void signup_as(const struct srv *s, const char *rid, struct acct *a)
{
    memset(a, 0, sizeof *a);
    int n = ++counter;
    snprintf(a->email, sizeof a->email, "owner%d@org%d.test", n, n);
    snprintf(a->password, sizeof a->password, "pw-correct-horse-%d", n);
    char body[512];
    snprintf(body, sizeof body,
             "{\"organization_name\":\"Org %d\",\"email\":\"%s\",\"password\":\"%s\"}", n, a->email,
             a->password);
    struct resp r;
    call_h(s, "POST", "/api/v1/onboarding/signup", NULL, body, rid, NULL, &r);
    expect_status(&r, 201);
    snprintf(a->org, sizeof a->org, "%s", jstr(r.json, "organization.id"));
    snprintf(a->user, sizeof a->user, "%s", jstr(r.json, "user.id"));
    snprintf(a->key_id, sizeof a->key_id, "%s", jstr(r.json, "api_key.id"));
    snprintf(a->key, sizeof a->key, "%s", jstr(r.json, "api_key.key"));
    resp_free(&r);
}

static void signup(const struct srv *s, struct acct *a)
{
    signup_as(s, NULL, a);
}

/* Creates a key with the bearer's credentials; role may be NULL. Copies the key and its id. */
static void make_key_as(const struct srv *s, const char *bearer, const char *role, const char *rid,
                        char key[64], char id[64])
{
    char body[256];
    if (role)
        snprintf(body, sizeof body, "{\"name\":\"key %d\",\"role\":\"%s\"}", ++counter, role);
    else
        snprintf(body, sizeof body, "{\"name\":\"key %d\"}", ++counter);
    struct resp r;
    call_h(s, "POST", "/api/v1/keys", bearer, body, rid, NULL, &r);
    expect_status(&r, 201);
    snprintf(key, 64, "%s", jstr(r.json, "key"));
    if (id)
        snprintf(id, 64, "%s", jstr(r.json, "id"));
    resp_free(&r);
}

static void make_key(const struct srv *s, const char *bearer, const char *role, char key[64],
                     char id[64])
{
    make_key_as(s, bearer, role, NULL, key, id);
}

/* Adds a member; copies the new user id into id (may be NULL). */
static void make_user_as(const struct srv *s, const char *bearer, const char *email,
                         const char *role, const char *password, const char *rid, char id[64])
{
    char body[512];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"role\":\"%s\",\"password\":\"%s\"}", email,
             role, password);
    struct resp r;
    call_h(s, "POST", "/api/v1/users", bearer, body, rid, NULL, &r);
    expect_status(&r, 201);
    if (id)
        snprintf(id, 64, "%s", jstr(r.json, "id"));
    resp_free(&r);
}

/* Logs in and copies the session token; asserts 200. */
static void login_as(const struct srv *s, const char *email, const char *password, const char *rid,
                     char token[64])
{
    char body[512];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    struct resp r;
    call_h(s, "POST", "/api/v1/auth/login", NULL, body, rid, NULL, &r);
    expect_status(&r, 200);
    snprintf(token, 64, "%s", jstr(r.json, "token"));
    resp_free(&r);
}

static void login(const struct srv *s, const char *email, const char *password, char token[64])
{
    login_as(s, email, password, NULL, token);
}

/* The status a bearer secret gets on GET path. */
static long status_of(const struct srv *s, const char *method, const char *path, const char *bearer,
                      const char *body)
{
    struct resp r;
    call(s, method, path, bearer, body, &r);
    long st = r.status;
    resp_free(&r);
    return st;
}

/* GET /api/v1/audit-log?query with the bearer: the parsed answer (new reference), asserting 200. */
static json_t *audit_get(const struct srv *s, const char *bearer, const char *query)
{
    char path[600];
    snprintf(path, sizeof path, "/api/v1/audit-log%s%s", query && *query ? "?" : "",
             query ? query : "");
    struct resp r;
    call(s, "GET", path, bearer, NULL, &r);
    expect_status(&r, 200);
    assert_true(json_is_array(json_object_get(r.json, "data")));
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

/* The row of a list with this action and request id (borrowed), or NULL. */
static json_t *audit_row(json_t *list, const char *action, const char *rid)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(list, "data"), i, row)
    {
        const char *a = jstr(row, "action"), *q = jstr(row, "request_id");
        if (a && !strcmp(a, action) && q && !strcmp(q, rid))
            return row;
    }
    return NULL;
}

/* Asserts one audit row's actor, target, request id, ip and outcome. target_id NULL: any string. */
static void expect_audit(json_t *list, const char *action, const char *rid, const char *actor_type,
                         const char *actor_id, const char *target_type, const char *target_id,
                         const char *outcome)
{
    json_t *row = audit_row(list, action, rid);
    if (!row)
        fail_msg("no audit row %s with request_id %s", action, rid);
    assert_string_equal(jstr(row, "object"), "audit_event");
    assert_string_equal(jstr(row, "actor.type"), actor_type);
    if (actor_id)
        assert_string_equal(jstr(row, "actor.id"), actor_id);
    assert_string_equal(jstr(row, "target.type"), target_type);
    if (target_id)
        assert_string_equal(jstr(row, "target.id"), target_id);
    else
        assert_non_null(jstr(row, "target.id"));
    assert_string_equal(jstr(row, "request_id"), rid);
    assert_string_equal(jstr(row, "ip"), "127.0.0.1");
    assert_string_equal(jstr(row, "outcome"), outcome);
    assert_true(json_is_integer(json_object_get(row, "seq")));
    assert_non_null(jstr(row, "time"));
    assert_int_equal(strlen(jstr(row, "hash")), 64);
}

/* A COUNT(*) query against the server's database file (opened beside the running server). */
static int64_t db_count(const struct srv *s, const char *sql)
{
    char url[400], err[200];
    snprintf(url, sizeof url, "sqlite://%s/aegis.db", s->dir);
    struct db *db = NULL;
    if (db_open(url, &db, err, sizeof err) != 0)
        fail_msg("db_open %s: %s", url, err);
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, sql, &q), 0);
    assert_int_equal(db_step(q), DB_ROW);
    int64_t n = db_col_int64(q, 0);
    db_finalize(q);
    db_close(db);
    return n;
}

static void expect_retry_after(const struct resp *r)
{
    char v[32];
    assert_true(resp_header(r, "Retry-After", v, sizeof v));
    assert_true(v[0] != '\0');
    for (const char *p = v; *p; p++)
        assert_true(isdigit((unsigned char)*p));
    long secs = strtol(v, NULL, 10);
    assert_true(secs >= 1 && secs <= 3600);
}

/* ---- 1. signup ---------------------------------------------------------------------------------
 */

static void signup_creates_org_owner_and_key(void **state)
{
    (void)state;
    struct resp r;
    call(&S, "POST", "/api/v1/onboarding/signup", NULL,
         "{\"organization_name\":\"Acme Risk & Co.\",\"email\":\"  Jane.Doe@Example.COM \","
         "\"password\":\"a long enough password\",\"plan\":\"pro\"}",
         &r);
    expect_status(&r, 201);
    assert_string_equal(jstr(r.json, "organization.name"), "Acme Risk & Co.");
    assert_string_equal(jstr(r.json, "organization.plan"), "pro");
    assert_int_equal(strlen(jstr(r.json, "organization.id")), 36);
    assert_string_equal(jstr(r.json, "user.email"), "jane.doe@example.com");
    assert_string_equal(jstr(r.json, "user.role"), "owner");
    assert_int_equal(strlen(jstr(r.json, "user.id")), 36);
    const char *key = jstr(r.json, "api_key.key");
    assert_non_null(key);
    assert_int_equal(strncmp(key, "aegis_", 6), 0);
    assert_true(base62(key + 6, 32));
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", key);
    assert_string_equal(jstr(r.json, "api_key.prefix"), prefix);
    assert_string_equal(jstr(r.json, "api_key.role"), "owner");
    assert_true(strlen(jstr(r.json, "message")) > 0);
    assert_non_null(strstr(jstr(r.json, "message"), "shown once"));
    json_t *steps = json_object_get(r.json, "next_steps");
    assert_true(json_is_array(steps));
    assert_true(json_array_size(steps) >= 1);
    for (size_t i = 0; i < json_array_size(steps); i++)
        assert_true(json_string_length(json_array_get(steps, i)) > 0);
    assert_null(json_object_get(r.json, "password"));
    assert_null(strstr(r.body, "a long enough password"));
    char cc[64];
    assert_true(resp_header(&r, "Cache-Control", cc, sizeof cc));
    assert_string_equal(cc, "no-store");

    char k[64], org[64], user[64], key_id[64];
    snprintf(k, sizeof k, "%s", key);
    snprintf(org, sizeof org, "%s", jstr(r.json, "organization.id"));
    snprintf(user, sizeof user, "%s", jstr(r.json, "user.id"));
    snprintf(key_id, sizeof key_id, "%s", jstr(r.json, "api_key.id"));
    resp_free(&r);

    /* the key works at once, as an owner-role key of the new organisation */
    call(&S, "GET", "/api/v1/me", k, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "principal.type"), "key");
    assert_string_equal(jstr(r.json, "principal.id"), key_id);
    assert_string_equal(jstr(r.json, "principal.role"), "owner");
    assert_string_equal(jstr(r.json, "organization.id"), org);
    assert_string_equal(jstr(r.json, "organization.name"), "Acme Risk & Co.");
    assert_string_equal(jstr(r.json, "organization.plan"), "pro");
    assert_string_equal(jstr(r.json, "organization.status"), "active");
    resp_free(&r);

    /* the owner is a member, and the password logs in (with the normalised or any-case email) */
    call(&S, "GET", "/api/v1/users", k, NULL, &r);
    expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(r.json, "data"), 0), "id"), user);
    resp_free(&r);
    char tok[64];
    login(&S, "JANE.DOE@example.com", "a long enough password", tok);

    /* without a plan, the organisation is on "free" */
    call(&S, "POST", "/api/v1/onboarding/signup", NULL,
         "{\"organization_name\":\"No Plan Ltd\",\"email\":\"noplan@example.com\"}", &r);
    expect_status(&r, 201);
    assert_string_equal(jstr(r.json, "organization.plan"), "free");
    resp_free(&r);
}

static void signup_validation_errors(void **state)
{
    (void)state;
    char long_name[160] = "{\"organization_name\":\"";
    size_t n = strlen(long_name);
    memset(long_name + n, 'x', 101);
    snprintf(long_name + n + 101, sizeof long_name - n - 101, "\",\"email\":\"a@b.test\"}");
    struct {
        const char *body, *part;
    } cases[] = {
        {"{\"organization_name\":\"Fine Org\",\"email\":\"not-an-email\"}", "name@example.com"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"two@@ats.test\"}", "name@example.com"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"no@dot\"}", "name@example.com"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"sp ace@x.test\"}", "not allowed"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"\"}", "1 to 254 characters"},
        {"{\"organization_name\":\"A\",\"email\":\"a@b.test\"}", "2 to 100 characters"},
        {long_name, "2 to 100 characters"},
        {"{\"organization_name\":\"Bad <Org>\",\"email\":\"a@b.test\"}", "may contain letters"},
        {"{\"organization_name\":\"Bad;Org\",\"email\":\"a@b.test\"}", "may contain letters"},
        {"{\"organization_name\":\" Padded\",\"email\":\"a@b.test\"}", "space"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"a@b.test\",\"password\":\"short\"}",
         "at least 10 characters"},
        {"{\"organization_name\":42,\"email\":\"a@b.test\"}", "organization_name must be a string"},
        {"{\"organization_name\":\"Fine Org\",\"email\":[\"a@b.test\"]}", "email must be a string"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"a@b.test\",\"password\":1234567890123}",
         "password must be a string"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"a@b.test\",\"plan\":true}",
         "plan must be a string"},
        {"{\"organization_name\":\"Fine Org\",\"email\":\"a@b.test\",\"plan\":\"platinum\"}",
         "free, starter, pro or enterprise"},
        {"{\"email\":\"a@b.test\"}", "organization_name is required"},
        {"{\"organization_name\":\"Fine Org\"}", "email is required"},
        {"[\"organization_name\"]", "JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r;
        call(&S, "POST", "/api/v1/onboarding/signup", NULL, cases[i].body, &r);
        if (r.status != 400)
            fail_msg("case %zu (%s): expected 400, got %ld: %s", i, cases[i].body, r.status,
                     r.body);
        expect_error(&r, 400, "invalid_request", cases[i].part);
        resp_free(&r);
    }
    /* nothing was created by any of them */
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM users WHERE email = 'a@b.test'"), 0);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM orgs WHERE name = 'Fine Org'"), 0);
}

/* `aegis audit verify`: the numbers of rows and chains. */
static void audit_verify_counts(const struct srv *s, long long *rows, long long *chains)
{
    char *out = NULL, *err = NULL;
    int rc = srv_cli(s, &out, &err, "audit", "verify", NULL);
    if (rc != 0 || sscanf(out, "ok: %lld row(s) in %lld chain(s)", rows, chains) != 2)
        fail_msg("aegis audit verify exited %d: %s %s", rc, out, err);
    free(out);
    free(err);
}

static void signup_conflict_leaves_nothing_half_made(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    long long rows0, chains0;
    audit_verify_counts(&S, &rows0, &chains0);
    int64_t orgs0 = db_count(&S, "SELECT COUNT(*) FROM orgs");
    int64_t keys0 = db_count(&S, "SELECT COUNT(*) FROM api_keys");
    int64_t users0 = db_count(&S, "SELECT COUNT(*) FROM users");

    /* the same email in another case, with other surrounding spaces */
    char upper[128], body[400];
    size_t i = 0;
    for (; a.email[i]; i++)
        upper[i] = (char)toupper((unsigned char)a.email[i]);
    upper[i] = '\0';
    snprintf(body, sizeof body,
             "{\"organization_name\":\"Second Org\",\"email\":\" %s\",\"password\":\"another "
             "password\"}",
             upper);
    struct resp r;
    call(&S, "POST", "/api/v1/onboarding/signup", NULL, body, &r);
    expect_error(&r, 409, "conflict", "already exists");
    assert_null(jget(r.json, "api_key"));
    assert_null(strstr(r.body, "aegis_"));
    resp_free(&r);

    long long rows1, chains1;
    audit_verify_counts(&S, &rows1, &chains1);
    assert_int_equal(chains1, chains0); /* no chain of a second organisation */
    assert_int_equal(rows1, rows0);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM orgs"), orgs0);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM orgs WHERE name = 'Second Org'"), 0);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM api_keys"), keys0);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM users"), users0);

    /* the first account is untouched: its key and its password still work */
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", a.key, NULL), 200);
    char tok[64];
    login(&S, a.email, a.password, tok);
}

static void signup_is_rate_limited_per_ip(void **state)
{
    (void)state;
    own_init((const char *[]){FAST_ARGON2, "AEGIS_SIGNUP_PER_HOUR=3", NULL});
    struct srv *L = &srv_own;
    struct acct a;
    for (int i = 0; i < 3; i++)
        signup(L, &a);
    struct resp r;
    call(L, "POST", "/api/v1/onboarding/signup", NULL,
         "{\"organization_name\":\"Fourth Org\",\"email\":\"fourth@org.test\"}", &r);
    expect_error(&r, 429, "rate_limited", "Too many signups");
    expect_retry_after(&r);
    resp_free(&r);
    assert_int_equal(db_count(L, "SELECT COUNT(*) FROM orgs"), 3);
    /* the limit is on signups only: the accounts made work */
    assert_int_equal(status_of(L, "GET", "/api/v1/me", a.key, NULL), 200);
    assert_int_equal(srv_stop(L, 15), 0);
}

static void signup_closed_when_limit_is_zero(void **state)
{
    (void)state;
    own_init((const char *[]){FAST_ARGON2, "AEGIS_SIGNUP_PER_HOUR=0",
                              "AEGIS_LOGIN_FAILURES_PER_15MIN=0", NULL});
    struct srv *L = &srv_own;
    struct resp r;
    for (int i = 0; i < 2; i++) { /* the very first attempt, and every later one */
        call(L, "POST", "/api/v1/onboarding/signup", NULL,
             "{\"organization_name\":\"Closed Org\",\"email\":\"first@closed.test\"}", &r);
        expect_error(&r, 429, "rate_limited", NULL);
        expect_retry_after(&r);
        resp_free(&r);
    }
    assert_int_equal(db_count(L, "SELECT COUNT(*) FROM orgs"), 0);
    /* AEGIS_LOGIN_FAILURES_PER_15MIN=0 is documented as "no limit", not "no login" */
    for (int i = 0; i < 25; i++) {
        call(L, "POST", "/api/v1/auth/login", NULL,
             "{\"email\":\"nobody@closed.test\",\"password\":\"not a password\"}", &r);
        expect_error(&r, 401, "unauthenticated", NULL);
        resp_free(&r);
    }
    assert_int_equal(srv_stop(L, 15), 0);
}

/* ---- 2. login, logout, me ----------------------------------------------------------------------
 */

static void login_gives_session_token_and_cookie(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char body[400];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", a.email, a.password);
    struct resp r;
    call(&S, "POST", "/api/v1/auth/login", NULL, body, &r);
    expect_status(&r, 200);
    const char *tok = jstr(r.json, "token");
    assert_non_null(tok);
    assert_int_equal(strncmp(tok, "aegis_s_", 8), 0);
    assert_true(base62(tok + 8, 40));
    assert_string_equal(jstr(r.json, "object"), "session");
    assert_string_equal(jstr(r.json, "user.id"), a.user);
    assert_string_equal(jstr(r.json, "user.organization_id"), a.org);
    assert_string_equal(jstr(r.json, "user.role"), "owner");
    int64_t exp = 0, now = clock_now_ms();
    assert_int_equal(clock_parse_iso(jstr(r.json, "expires_at"), &exp), 0);
    /* the default session lifetime is 720 minutes */
    assert_true(exp > now + 719 * 60000LL && exp <= now + 721 * 60000LL);
    char cookie[300], want[100];
    assert_true(resp_header(&r, "Set-Cookie", cookie, sizeof cookie));
    snprintf(want, sizeof want, "aegis_session=%s;", tok);
    assert_int_equal(strncmp(cookie, want, strlen(want)), 0);
    assert_non_null(strstr(cookie, "HttpOnly"));
    assert_non_null(strstr(cookie, "SameSite=Strict"));
    assert_non_null(strstr(cookie, "Path=/"));
    assert_non_null(strstr(cookie, "Max-Age="));
    assert_null(strstr(cookie, "Secure")); /* development: plain http */
    char cc[64];
    assert_true(resp_header(&r, "Cache-Control", cc, sizeof cc));
    assert_string_equal(cc, "no-store");
    char token[64];
    snprintf(token, sizeof token, "%s", tok);
    resp_free(&r);

    /* the token as a bearer secret */
    call(&S, "GET", "/api/v1/me", token, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "principal.type"), "user");
    assert_string_equal(jstr(r.json, "principal.id"), a.user);
    assert_string_equal(jstr(r.json, "principal.role"), "owner");
    assert_string_equal(jstr(r.json, "user.email"), a.email);
    assert_non_null(jstr(r.json, "user.last_login_at"));
    assert_null(jget(r.json, "user.password_hash"));
    assert_null(strstr(r.body, "argon2"));
    resp_free(&r);

    /* and as the cookie */
    char ck[120];
    snprintf(ck, sizeof ck, "Cookie: aegis_session=%s", token);
    call_h(&S, "GET", "/api/v1/me", NULL, NULL, NULL, ck, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "principal.type"), "user");
    assert_string_equal(jstr(r.json, "principal.id"), a.user);
    resp_free(&r);
    call_h(&S, "GET", "/api/v1/users", NULL, NULL, NULL, ck, &r);
    expect_status(&r, 200);
    resp_free(&r);
}

static void wrong_password_and_unknown_email_answer_alike(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char body[400];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"not the password\"}", a.email);
    struct resp wrong, unknown;
    call(&S, "POST", "/api/v1/auth/login", NULL, body, &wrong);
    call(&S, "POST", "/api/v1/auth/login", NULL,
         "{\"email\":\"nobody-at-all@nowhere.test\",\"password\":\"not the password\"}", &unknown);
    expect_error(&wrong, 401, "unauthenticated", "email or the password is wrong");
    expect_error(&unknown, 401, "unauthenticated", NULL);
    assert_string_equal(err_message(&wrong), err_message(&unknown));
    char c[200];
    assert_false(resp_header(&wrong, "Set-Cookie", c, sizeof c));
    assert_null(jget(wrong.json, "token"));
    resp_free(&wrong);
    resp_free(&unknown);
    /* an email that is not even an email answers the same */
    call(&S, "POST", "/api/v1/auth/login", NULL,
         "{\"email\":\"garbage\",\"password\":\"not the password\"}", &unknown);
    expect_error(&unknown, 401, "unauthenticated", "email or the password is wrong");
    resp_free(&unknown);
    /* missing or mistyped fields are 400, not 401 */
    call(&S, "POST", "/api/v1/auth/login", NULL, "{\"email\":\"x@y.test\"}", &unknown);
    expect_error(&unknown, 400, "invalid_request", "password is required");
    resp_free(&unknown);
    call(&S, "POST", "/api/v1/auth/login", NULL, "{\"email\":\"x@y.test\",\"password\":5}",
         &unknown);
    expect_error(&unknown, 400, "invalid_request", "password must be a string");
    resp_free(&unknown);
}

static void failed_logins_are_rate_limited_per_ip(void **state)
{
    (void)state;
    /* staging, with one-minute sessions: the cookie is Secure and lives as long as the session */
    own_init((const char *[]){FAST_ARGON2, "AEGIS_LOGIN_FAILURES_PER_15MIN=3", "AEGIS_ENV=staging",
                              "AEGIS_SESSION_TTL_MINUTES=1", NULL});
    struct srv *L = &srv_own;
    struct acct a;
    signup(L, &a);
    char good[400];
    snprintf(good, sizeof good, "{\"email\":\"%s\",\"password\":\"%s\"}", a.email, a.password);
    struct resp r;
    call(L, "POST", "/api/v1/auth/login", NULL, good, &r);
    expect_status(&r, 200);
    char cookie[300];
    assert_true(resp_header(&r, "Set-Cookie", cookie, sizeof cookie));
    assert_non_null(strstr(cookie, "; Secure"));
    assert_non_null(strstr(cookie, "HttpOnly"));
    assert_non_null(strstr(cookie, "SameSite=Strict"));
    const char *ma = strstr(cookie, "Max-Age=");
    assert_non_null(ma);
    long max_age = strtol(ma + 8, NULL, 10);
    assert_true(max_age >= 55 && max_age <= 60);
    int64_t exp = 0, now = clock_now_ms();
    assert_int_equal(clock_parse_iso(jstr(r.json, "expires_at"), &exp), 0);
    assert_true(exp > now + 50000 && exp <= now + 60000);
    resp_free(&r);
    /* successful logins do not count */
    char tok[64];
    for (int i = 0; i < 4; i++)
        login(L, a.email, a.password, tok);
    char bad[400];
    snprintf(bad, sizeof bad, "{\"email\":\"%s\",\"password\":\"wrong password!\"}", a.email);
    for (int i = 0; i < 3; i++) {
        call(L, "POST", "/api/v1/auth/login", NULL, bad, &r);
        expect_error(&r, 401, "unauthenticated", NULL);
        resp_free(&r);
    }
    /* now even the right password is refused from this address */
    call(L, "POST", "/api/v1/auth/login", NULL, good, &r);
    expect_error(&r, 429, "rate_limited", "failed logins");
    expect_retry_after(&r);
    assert_false(resp_header(&r, "Set-Cookie", cookie, sizeof cookie));
    resp_free(&r);
    /* unknown emails count against the address as well, and answer 429 too now */
    call(L, "POST", "/api/v1/auth/login", NULL,
         "{\"email\":\"nobody@limits.test\",\"password\":\"whatever pw\"}", &r);
    expect_error(&r, 429, "rate_limited", NULL);
    resp_free(&r);
    /* the sessions and keys made before keep working */
    assert_int_equal(status_of(L, "GET", "/api/v1/me", tok, NULL), 200);
    assert_int_equal(status_of(L, "GET", "/api/v1/me", a.key, NULL), 200);
    assert_int_equal(srv_stop(L, 15), 0);
}

/* Milliseconds the fastest of n failed logins with this email took. */
static long fastest_failed_login_ms(const struct srv *s, const char *email, int n)
{
    char body[300];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"wrong password x\"}", email);
    long best = -1;
    for (int i = 0; i < n; i++) {
        int64_t t0 = clock_now_ms();
        struct resp r;
        call(s, "POST", "/api/v1/auth/login", NULL, body, &r);
        long ms = (long)(clock_now_ms() - t0);
        expect_error(&r, 401, "unauthenticated", "email or the password is wrong");
        resp_free(&r);
        if (best < 0 || ms < best)
            best = ms;
    }
    return best;
}

/* auth.h promises a wrong email and a wrong password "the same answer for both, and the same time
 * spent": an account without a password (invited, or a signup without one) must not answer faster.
 */
static void failed_logins_take_the_same_time(void **state)
{
    (void)state;
    /* a real Argon2 cost, so a skipped verification shows as a difference of tens of ms */
    own_init((const char *[]){"AEGIS_ARGON2_MEMORY_KIB=32768", "AEGIS_ARGON2_ITERATIONS=2", NULL});
    struct srv *L = &srv_own;
    struct acct a;
    signup(L, &a);
    char invited[128], body[300];
    snprintf(invited, sizeof invited, "invited%d@timing.test", ++counter);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"role\":\"viewer\"}", invited);
    assert_int_equal(status_of(L, "POST", "/api/v1/users", a.key, body), 201);
    fastest_failed_login_ms(L, "warm-up@timing.test", 1); /* the decoy hash is made once */
    long unknown = fastest_failed_login_ms(L, "nobody@timing.test", 3);
    long wrong = fastest_failed_login_ms(L, a.email, 3);
    long nopass = fastest_failed_login_ms(L, invited, 3);
    assert_int_equal(srv_stop(L, 15), 0);
    /* factor 4 of slack for a loaded machine; the leak is a factor of ~50 */
    if (nopass * 4 < unknown || wrong * 4 < unknown)
        fail_msg("failed logins differ in time: unknown email %ld ms, wrong password %ld ms, "
                 "member without a password %ld ms (auth_login skips the Argon2 verification when "
                 "password_hash is NULL, which tells that the account exists)",
                 unknown, wrong, nopass);
}

static void logout_revokes_the_session(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char t1[64], t2[64];
    login(&S, a.email, a.password, t1);
    login(&S, a.email, a.password, t2);
    assert_string_not_equal(t1, t2);
    struct resp r;
    call(&S, "POST", "/api/v1/auth/logout", t1, NULL, &r);
    expect_status(&r, 204);
    char cookie[300];
    assert_true(resp_header(&r, "Set-Cookie", cookie, sizeof cookie));
    assert_non_null(strstr(cookie, "aegis_session=;"));
    assert_non_null(strstr(cookie, "Max-Age=0"));
    resp_free(&r);

    call(&S, "GET", "/api/v1/me", t1, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    char www[200];
    assert_true(resp_header(&r, "WWW-Authenticate", www, sizeof www));
    assert_non_null(strstr(www, "invalid_token"));
    resp_free(&r);
    /* as a cookie too */
    char ck[120];
    snprintf(ck, sizeof ck, "Cookie: aegis_session=%s", t1);
    call_h(&S, "GET", "/api/v1/me", NULL, NULL, NULL, ck, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    /* a second logout with it is a 401: it is no session any more */
    assert_int_equal(status_of(&S, "POST", "/api/v1/auth/logout", t1, NULL), 401);
    /* the other session lives on */
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", t2, NULL), 200);

    /* logout with an API key is a mistake, and the key stays valid */
    call(&S, "POST", "/api/v1/auth/logout", a.key, NULL, &r);
    expect_error(&r, 400, "invalid_request", "/api/v1/keys/");
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", a.key, NULL), 200);
    /* logout without credentials */
    call(&S, "POST", "/api/v1/auth/logout", NULL, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
}

/* ---- 3. authentication and roles ---------------------------------------------------------------
 */

static void unauthenticated_requests_get_401(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    struct resp r;
    char www[200];

    /* no credentials at all */
    const char *paths[] = {"/api/v1/me", "/api/v1/org", "/api/v1/users", "/api/v1/keys",
                           "/api/v1/audit-log"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        call(&S, "GET", paths[i], NULL, NULL, &r);
        expect_error(&r, 401, "unauthenticated", "Authentication is required");
        assert_true(resp_header(&r, "WWW-Authenticate", www, sizeof www));
        assert_string_equal(www, "Bearer realm=\"aegis\"");
        resp_free(&r);
    }
    call(&S, "POST", "/api/v1/keys", NULL, "{\"name\":\"x\"}", &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);

    /* a malformed Authorization header */
    const char *bad_headers[] = {"Authorization: Basic dXNlcjpwYXNz", "Authorization: Token abc",
                                 "Authorization: Bearer"};
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        call_h(&S, "GET", "/api/v1/me", NULL, NULL, NULL, bad_headers[i], &r);
        expect_error(&r, 401, "unauthenticated", "Bearer");
        assert_true(resp_header(&r, "WWW-Authenticate", www, sizeof www));
        assert_non_null(strstr(www, "realm=\"aegis\""));
        assert_non_null(strstr(www, "invalid_request"));
        resp_free(&r);
    }
    /* the scheme is case-insensitive */
    char lower[200];
    snprintf(lower, sizeof lower, "Authorization: bearer %s", a.key);
    call_h(&S, "GET", "/api/v1/me", NULL, NULL, NULL, lower, &r);
    expect_status(&r, 200);
    resp_free(&r);

    /* secrets that resolve to nothing: garbage, a well-shaped unknown key and token, a key with a
     * character changed, a garbage cookie */
    char mutated[64];
    snprintf(mutated, sizeof mutated, "%s", a.key);
    mutated[20] = mutated[20] == 'A' ? 'B' : 'A';
    const char *garbage[] = {"garbage",
                             "aegis_",
                             "aegis_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                             "aegis_s_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                             mutated,
                             "aegis_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        call(&S, "GET", "/api/v1/me", garbage[i], NULL, &r);
        expect_error(&r, 401, "unauthenticated", "not valid");
        assert_true(resp_header(&r, "WWW-Authenticate", www, sizeof www));
        assert_non_null(strstr(www, "invalid_token"));
        resp_free(&r);
    }
    call_h(&S, "GET", "/api/v1/me", NULL, NULL, NULL, "Cookie: aegis_session=nonsense", &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);

    /* a revoked key */
    char k[64], kid[64], path[200];
    make_key(&S, a.key, "viewer", k, kid);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", k, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/keys/%s", kid);
    assert_int_equal(status_of(&S, "DELETE", path, a.key, NULL), 200);
    call(&S, "GET", "/api/v1/me", k, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    assert_true(resp_header(&r, "WWW-Authenticate", www, sizeof www));
    assert_non_null(strstr(www, "invalid_token"));
    resp_free(&r);

    /* an expired key: valid until its expires_at, refused after */
    char iso[CLOCK_ISO_LEN], body[200];
    int64_t expires = clock_now_ms() + 2000;
    snprintf(body, sizeof body,
             "{\"name\":\"short-lived\",\"role\":\"viewer\",\"expires_at\":\"%s\"}",
             clock_fmt_iso(expires, iso));
    call(&S, "POST", "/api/v1/keys", a.key, body, &r);
    expect_status(&r, 201);
    assert_string_equal(jstr(r.json, "expires_at"), iso);
    char ek[64];
    snprintf(ek, sizeof ek, "%s", jstr(r.json, "key"));
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", ek, NULL), 200);
    int64_t left = expires - clock_now_ms();
    if (left > 0)
        sleep_ms((long)left + 150);
    call(&S, "GET", "/api/v1/me", ek, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    assert_true(resp_header(&r, "WWW-Authenticate", www, sizeof www));
    assert_non_null(strstr(www, "invalid_token"));
    resp_free(&r);

    /* expires_at in the past or not a time */
    call(&S, "POST", "/api/v1/keys", a.key,
         "{\"name\":\"old\",\"expires_at\":\"2020-01-01T00:00:00Z\"}", &r);
    expect_error(&r, 400, "invalid_request", "in the future");
    resp_free(&r);
    call(&S, "POST", "/api/v1/keys", a.key, "{\"name\":\"old\",\"expires_at\":\"tomorrow\"}", &r);
    expect_error(&r, 400, "invalid_request", "ISO 8601");
    resp_free(&r);
}

static void roles_are_enforced(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char viewer[64], analyst[64], admin[64];
    make_key(&S, a.key, "viewer", viewer, NULL);
    make_key(&S, a.key, "analyst", analyst, NULL);
    make_key(&S, a.key, "admin", admin, NULL);
    char uid[64], upath[200], email[128];
    snprintf(email, sizeof email, "member%d@roles.test", ++counter);
    make_user_as(&S, a.key, email, "viewer", "member password", NULL, uid);
    snprintf(upath, sizeof upath, "/api/v1/users/%s", uid);

    struct resp r;
    /* everyone with a valid key can see who they are and their organisation */
    const char *all[] = {viewer, analyst, admin};
    const char *names[] = {"viewer", "analyst", "admin"};
    for (int i = 0; i < 3; i++) {
        call(&S, "GET", "/api/v1/me", all[i], NULL, &r);
        expect_status(&r, 200);
        assert_string_equal(jstr(r.json, "principal.role"), names[i]);
        assert_string_equal(jstr(r.json, "organization.id"), a.org);
        resp_free(&r);
        assert_int_equal(status_of(&S, "GET", "/api/v1/org", all[i], NULL), 200);
    }
    /* the admin routes refuse viewers and analysts */
    struct {
        const char *method, *path, *body;
    } admin_routes[] = {
        {"GET", "/api/v1/users", NULL},
        {"GET", upath, NULL},
        {"POST", "/api/v1/users",
         "{\"email\":\"x@roles.test\",\"role\":\"viewer\",\"password\":"
         "\"0123456789\"}"},
        {"PATCH", upath, "{\"role\":\"analyst\"}"},
        {"DELETE", upath, NULL},
        {"GET", "/api/v1/keys", NULL},
        {"POST", "/api/v1/keys", "{\"name\":\"sneaky\",\"role\":\"viewer\"}"},
        {"GET", "/api/v1/audit-log", NULL},
    };
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof admin_routes / sizeof admin_routes[0]; i++) {
            call(&S, admin_routes[i].method, admin_routes[i].path, all[k], admin_routes[i].body,
                 &r);
            if (r.status != 403)
                fail_msg("%s key on %s %s: expected 403, got %ld: %s", names[k],
                         admin_routes[i].method, admin_routes[i].path, r.status, r.body);
            expect_error(&r, 403, "forbidden", "admin role");
            assert_non_null(strstr(err_message(&r), names[k]));
            resp_free(&r);
        }
    }
    /* nothing was done by the refused calls */
    call(&S, "GET", upath, admin, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "role"), "viewer");
    resp_free(&r);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM api_keys WHERE name = 'sneaky'"), 0);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM users WHERE email = 'x@roles.test'"), 0);
    /* an admin key passes */
    assert_int_equal(status_of(&S, "GET", "/api/v1/users", admin, NULL), 200);
    assert_int_equal(status_of(&S, "GET", "/api/v1/keys", admin, NULL), 200);
    assert_int_equal(status_of(&S, "GET", "/api/v1/audit-log", admin, NULL), 200);

    /* a viewer session (a member logged in) is a viewer too */
    char tok[64];
    login(&S, email, "member password", tok);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", tok, NULL), 200);
    assert_int_equal(status_of(&S, "GET", "/api/v1/users", tok, NULL), 403);
    assert_int_equal(status_of(&S, "GET", "/api/v1/audit-log", tok, NULL), 403);
}

/* ---- 4. users ----------------------------------------------------------------------------------
 */

static void users_create_list_get_update_delete(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    int n = ++counter;
    char email[128], lower[128], body[400];
    snprintf(email, sizeof email, "Ann.Analyst%d@Members.TEST", n);
    snprintf(lower, sizeof lower, "ann.analyst%d@members.test", n);
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"role\":\"analyst\",\"name\":\"Ann\",\"password\":\"ann's secret "
             "pw\"}",
             email);
    struct resp r;
    call(&S, "POST", "/api/v1/users", a.key, body, &r);
    expect_status(&r, 201);
    assert_string_equal(jstr(r.json, "object"), "user");
    assert_string_equal(jstr(r.json, "email"), lower);
    assert_string_equal(jstr(r.json, "role"), "analyst");
    assert_string_equal(jstr(r.json, "name"), "Ann");
    assert_non_null(jstr(r.json, "created_at"));
    assert_true(json_is_null(json_object_get(r.json, "last_login_at")));
    assert_null(json_object_get(r.json, "password"));
    assert_null(json_object_get(r.json, "password_hash"));
    assert_true(json_is_true(json_object_get(r.json, "has_password")));
    assert_null(json_object_get(r.json, "invite_token"));
    assert_null(strstr(r.body, "ann's secret pw"));
    assert_null(strstr(r.body, "argon2"));
    char uid[64], upath[200];
    snprintf(uid, sizeof uid, "%s", jstr(r.json, "id"));
    snprintf(upath, sizeof upath, "/api/v1/users/%s", uid);
    resp_free(&r);
    /* the password is stored hashed (Argon2id), never as given */
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM users WHERE id = '%s' AND password_hash LIKE '$argon2id$%%'",
             uid);
    assert_int_equal(db_count(&S, sql), 1);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM users WHERE password_hash LIKE "
                                  "'%ann''s secret pw%'"),
                     0);

    /* a second account with that email, in any case, is a conflict */
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"role\":\"viewer\",\"password\":\"0123456789\"}", lower);
    call(&S, "POST", "/api/v1/users", a.key, body, &r);
    expect_error(&r, 409, "conflict", "already exists");
    resp_free(&r);
    /* ... also when it is the email of another organisation's member */
    struct acct b;
    signup(&S, &b);
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"role\":\"viewer\",\"password\":\"0123456789\"}", b.email);
    call(&S, "POST", "/api/v1/users", a.key, body, &r);
    expect_error(&r, 409, "conflict", NULL);
    resp_free(&r);

    /* list and get */
    call(&S, "GET", "/api/v1/users", a.key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "object"), "list");
    json_t *data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_string_equal(jstr(json_array_get(data, 0), "id"), a.user);
    assert_string_equal(jstr(json_array_get(data, 1), "id"), uid);
    for (size_t i = 0; i < 2; i++) {
        assert_null(json_object_get(json_array_get(data, i), "password_hash"));
        assert_true(json_is_true(json_object_get(json_array_get(data, i), "has_password")));
    }
    assert_null(strstr(r.body, "ann's secret pw"));
    assert_null(strstr(r.body, "argon2"));
    resp_free(&r);
    call(&S, "GET", upath, a.key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "email"), lower);
    assert_null(strstr(r.body, "argon2"));
    resp_free(&r);

    /* the member logs in; a role change applies to their session at once */
    char tok[64];
    login(&S, lower, "ann's secret pw", tok);
    call(&S, "GET", "/api/v1/me", tok, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "principal.role"), "analyst");
    resp_free(&r);
    call(&S, "PATCH", upath, a.key, "{\"role\":\"admin\"}", &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "role"), "admin");
    assert_string_equal(jstr(r.json, "id"), uid);
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/users", tok, NULL), 200);
    call(&S, "PATCH", upath, a.key, "{\"role\":\"viewer\"}", &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "role"), "viewer");
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/users", tok, NULL), 403);
    call(&S, "GET", "/api/v1/me", tok, NULL, &r);
    assert_string_equal(jstr(r.json, "principal.role"), "viewer");
    resp_free(&r);

    /* removal: 204, then 404, and the session stops working */
    call(&S, "DELETE", upath, a.key, NULL, &r);
    expect_status(&r, 204);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    call(&S, "GET", upath, a.key, NULL, &r);
    expect_error(&r, 404, "not_found", "user");
    resp_free(&r);
    call(&S, "DELETE", upath, a.key, NULL, &r);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    call(&S, "PATCH", upath, a.key, "{\"role\":\"admin\"}", &r);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    call(&S, "GET", "/api/v1/me", tok, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    char lb[300];
    snprintf(lb, sizeof lb, "{\"email\":\"%s\",\"password\":\"ann's secret pw\"}", lower);
    call(&S, "POST", "/api/v1/auth/login", NULL, lb, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    call(&S, "GET", "/api/v1/users", a.key, NULL, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 1);
    resp_free(&r);
    /* the email is free again */
    make_user_as(&S, a.key, lower, "viewer", "a new password", NULL, NULL);

    /* another organisation's member is not found from here */
    char bpath[200];
    snprintf(bpath, sizeof bpath, "/api/v1/users/%s", b.user);
    assert_int_equal(status_of(&S, "GET", bpath, a.key, NULL), 404);
    assert_int_equal(status_of(&S, "PATCH", bpath, a.key, "{\"role\":\"viewer\"}"), 404);
    assert_int_equal(status_of(&S, "DELETE", bpath, a.key, NULL), 404);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", b.key, NULL), 200);
    call(&S, "GET", bpath, b.key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "role"), "owner");
    resp_free(&r);
}

static void user_fields_are_validated(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    struct {
        const char *body, *part;
    } cases[] = {
        {"{\"email\":\"v1@val.test\",\"role\":\"superuser\",\"password\":\"0123456789\"}",
         "owner, admin, analyst or viewer"},
        {"{\"email\":\"v1@val.test\",\"role\":\"Owner\",\"password\":\"0123456789\"}",
         "owner, admin, analyst or viewer"},
        {"{\"email\":\"v1@val.test\",\"role\":\"\",\"password\":\"0123456789\"}",
         "owner, admin, analyst or viewer"},
        {"{\"email\":\"v1@val.test\",\"password\":\"0123456789\"}", "role is required"},
        {"{\"email\":\"v1@val.test\",\"role\":3,\"password\":\"0123456789\"}",
         "role must be a string"},
        {"{\"email\":\"v1@val.test\",\"role\":\"viewer\",\"password\":\"\"}",
         "at least 10 characters"},
        {"{\"email\":\"v1@val.test\",\"role\":\"viewer\",\"password\":12345678901}",
         "password must be a string"},
        {"{\"email\":\"v1@val.test\",\"role\":\"viewer\",\"password\":\"short\"}",
         "at least 10 characters"},
        {"{\"email\":\"not an email\",\"role\":\"viewer\",\"password\":\"0123456789\"}", "Email"},
        {"{\"role\":\"viewer\",\"password\":\"0123456789\"}", "email is required"},
    };
    struct resp r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call(&S, "POST", "/api/v1/users", a.key, cases[i].body, &r);
        if (r.status != 400)
            fail_msg("case %zu (%s): expected 400, got %ld: %s", i, cases[i].body, r.status,
                     r.body);
        expect_error(&r, 400, "invalid_request", cases[i].part);
        resp_free(&r);
    }
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM users WHERE email = 'v1@val.test'"), 0);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/users/%s", a.user);
    const char *patches[] = {"{\"role\":\"root\"}", "{\"role\":null}", "{}",
                             "{\"role\":[\"admin\"]}"};
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        call(&S, "PATCH", path, a.key, patches[i], &r);
        expect_error(&r, 400, "invalid_request", "role");
        resp_free(&r);
    }
    /* the owner is still an owner */
    call(&S, "GET", path, a.key, NULL, &r);
    assert_string_equal(jstr(r.json, "role"), "owner");
    resp_free(&r);
}

static void owner_rules(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char owner_tok[64];
    login(&S, a.email, a.password, owner_tok);
    int n = ++counter;
    char adm_email[128], ana_email[128];
    snprintf(adm_email, sizeof adm_email, "admin%d@owners.test", n);
    snprintf(ana_email, sizeof ana_email, "analyst%d@owners.test", n);
    char adm_id[64], ana_id[64];
    make_user_as(&S, a.key, adm_email, "admin", "admin password", NULL, adm_id);
    make_user_as(&S, a.key, ana_email, "analyst", "analyst password", NULL, ana_id);
    char adm_tok[64];
    login(&S, adm_email, "admin password", adm_tok);
    char owner_path[200], adm_path[200], ana_path[200];
    snprintf(owner_path, sizeof owner_path, "/api/v1/users/%s", a.user);
    snprintf(adm_path, sizeof adm_path, "/api/v1/users/%s", adm_id);
    snprintf(ana_path, sizeof ana_path, "/api/v1/users/%s", ana_id);
    struct resp r;

    /* an admin manages non-owners ... */
    call(&S, "PATCH", ana_path, adm_tok, "{\"role\":\"viewer\"}", &r);
    expect_status(&r, 200);
    resp_free(&r);
    call(&S, "PATCH", ana_path, adm_tok, "{\"role\":\"admin\"}", &r);
    expect_status(&r, 200);
    resp_free(&r);
    /* ... but cannot grant owner, nor change or remove an owner */
    call(&S, "PATCH", ana_path, adm_tok, "{\"role\":\"owner\"}", &r);
    expect_error(&r, 403, "forbidden", "owner");
    resp_free(&r);
    call(&S, "POST", "/api/v1/users", adm_tok,
         "{\"email\":\"wannabe@owners.test\",\"role\":\"owner\",\"password\":\"0123456789\"}", &r);
    expect_error(&r, 403, "forbidden", "owner");
    resp_free(&r);
    call(&S, "PATCH", owner_path, adm_tok, "{\"role\":\"viewer\"}", &r);
    expect_error(&r, 403, "forbidden", "Only an owner");
    resp_free(&r);
    call(&S, "PATCH", owner_path, adm_tok, "{\"role\":\"admin\"}", &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    call(&S, "DELETE", owner_path, adm_tok, NULL, &r);
    expect_error(&r, 403, "forbidden", "Only an owner");
    resp_free(&r);
    /* an admin key is no stronger */
    char adm_key[64];
    make_key(&S, a.key, "admin", adm_key, NULL);
    call(&S, "DELETE", owner_path, adm_key, NULL, &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    call(&S, "GET", owner_path, a.key, NULL, &r);
    assert_string_equal(jstr(r.json, "role"), "owner");
    resp_free(&r);

    /* the last owner can be neither demoted nor removed, by the owner's key or the owner */
    call(&S, "PATCH", owner_path, a.key, "{\"role\":\"admin\"}", &r);
    expect_error(&r, 409, "conflict", "last owner");
    resp_free(&r);
    call(&S, "PATCH", owner_path, owner_tok, "{\"role\":\"viewer\"}", &r);
    expect_error(&r, 409, "conflict", "last owner");
    resp_free(&r);
    call(&S, "DELETE", owner_path, owner_tok, NULL, &r);
    expect_error(&r, 409, "conflict", "last owner");
    resp_free(&r);
    /* "changing" the last owner to owner is harmless */
    call(&S, "PATCH", owner_path, owner_tok, "{\"role\":\"owner\"}", &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "role"), "owner");
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", owner_tok, NULL), 200);

    /* once a second owner exists, the first can step down, and then the second is the last */
    call(&S, "PATCH", adm_path, owner_tok, "{\"role\":\"owner\"}", &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "role"), "owner");
    resp_free(&r);
    call(&S, "PATCH", owner_path, owner_tok, "{\"role\":\"admin\"}", &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "role"), "admin");
    resp_free(&r);
    call(&S, "GET", "/api/v1/me", owner_tok, NULL, &r);
    assert_string_equal(jstr(r.json, "principal.role"), "admin");
    resp_free(&r);
    /* the new owner (adm_tok, now owner) cannot be removed: last owner */
    call(&S, "DELETE", adm_path, adm_tok, NULL, &r);
    expect_error(&r, 409, "conflict", "last owner");
    resp_free(&r);
    /* and the former owner, now admin, cannot touch the new owner */
    call(&S, "DELETE", adm_path, owner_tok, NULL, &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    /* with two owners again, one can be removed */
    call(&S, "PATCH", owner_path, adm_tok, "{\"role\":\"owner\"}", &r);
    expect_status(&r, 200);
    resp_free(&r);
    call(&S, "DELETE", owner_path, adm_tok, NULL, &r);
    expect_status(&r, 204);
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", owner_tok, NULL), 401);
    call(&S, "GET", "/api/v1/users", adm_tok, NULL, &r);
    expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 2);
    resp_free(&r);
}

struct demotion {
    const struct srv *s;
    char bearer[300];
    char path[200];
    long status;
};

static void *demote(void *arg)
{
    struct demotion *d = arg;
    const char *h[] = {d->bearer, "Content-Type: application/json", NULL};
    struct resp r;
    d->status = req(d->s, "PATCH", d->path, h, "{\"role\":\"admin\"}", &r) == 0 ? r.status : -1;
    if (d->status > 0)
        resp_free(&r);
    return NULL;
}

static void last_owner_guard_holds_under_concurrent_demotions(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char b_email[128], b_id[64], ta[64], tb[64];
    snprintf(b_email, sizeof b_email, "second-owner%d@race.test", ++counter);
    make_user_as(&S, a.key, b_email, "owner", "second owner pw", NULL, b_id);
    login(&S, a.email, a.password, ta);
    login(&S, b_email, "second owner pw", tb);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE org_id = '%s' AND role = 'owner'",
             a.org);
    for (int round = 0; round < 6; round++) {
        /* both owners, then each demotes the other at the same time */
        char path[200];
        snprintf(path, sizeof path, "/api/v1/users/%s", a.user);
        assert_int_equal(status_of(&S, "PATCH", path, a.key, "{\"role\":\"owner\"}"), 200);
        snprintf(path, sizeof path, "/api/v1/users/%s", b_id);
        assert_int_equal(status_of(&S, "PATCH", path, a.key, "{\"role\":\"owner\"}"), 200);
        assert_int_equal(db_count(&S, sql), 2);
        struct demotion d[2] = {{.s = &S}, {.s = &S}};
        snprintf(d[0].bearer, sizeof d[0].bearer, "Authorization: Bearer %s", ta);
        snprintf(d[0].path, sizeof d[0].path, "/api/v1/users/%s", b_id);
        snprintf(d[1].bearer, sizeof d[1].bearer, "Authorization: Bearer %s", tb);
        snprintf(d[1].path, sizeof d[1].path, "/api/v1/users/%s", a.user);
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, demote, &d[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        int ok = (d[0].status == 200) + (d[1].status == 200);
        if (ok != 1 || db_count(&S, sql) != 1)
            fail_msg("round %d: statuses %ld and %ld, %lld owner(s) left", round, d[0].status,
                     d[1].status, (long long)db_count(&S, sql));
        long other = d[0].status == 200 ? d[1].status : d[0].status;
        assert_true(other == 409 || other == 403);
    }
}

static void invited_members_set_their_own_password(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char email[128], body[400];
    snprintf(email, sizeof email, "invited%d@invite.test", ++counter);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"role\":\"analyst\",\"name\":\"Ivy\"}", email);
    struct resp r;
    call(&S, "POST", "/api/v1/users", a.key, body, &r);
    expect_status(&r, 201);
    const char *it = jstr(r.json, "invite_token");
    assert_non_null(it);
    assert_int_equal(strncmp(it, "aegis_i_", 8), 0);
    assert_true(base62(it + 8, 40));
    assert_true(json_is_false(json_object_get(r.json, "has_password")));
    int64_t exp = 0, now = clock_now_ms();
    assert_int_equal(clock_parse_iso(jstr(r.json, "invite_expires_at"), &exp), 0);
    assert_true(exp > now + 6 * 86400000LL && exp <= now + 7 * 86400000LL + 60000);
    char cc[64];
    assert_true(resp_header(&r, "Cache-Control", cc, sizeof cc));
    assert_string_equal(cc, "no-store");
    char tok[64], uid[64], upath[200];
    snprintf(tok, sizeof tok, "%s", it);
    snprintf(uid, sizeof uid, "%s", jstr(r.json, "id"));
    snprintf(upath, sizeof upath, "/api/v1/users/%s", uid);
    resp_free(&r);

    /* shown once: not in the member, the list, or the database */
    call(&S, "GET", upath, a.key, NULL, &r);
    expect_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "has_password")));
    assert_null(json_object_get(r.json, "invite_token"));
    assert_null(strstr(r.body, tok + 8));
    resp_free(&r);
    call(&S, "GET", "/api/v1/users", a.key, NULL, &r);
    assert_null(strstr(r.body, tok + 8));
    resp_free(&r);
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE invite_hash LIKE '%%%s%%'",
             tok + 8);
    assert_int_equal(db_count(&S, sql), 0);

    /* no password yet: no login with any */
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"any password at all\"}", email);
    call(&S, "POST", "/api/v1/auth/login", NULL, body, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    /* the invitation is the credential: a wrong one, and a bad password, are refused */
    call(&S, "POST", "/api/v1/auth/accept-invite", NULL,
         "{\"token\":\"aegis_i_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"password\":\"ivy's "
         "password\"}",
         &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    call(&S, "POST", "/api/v1/auth/accept-invite", NULL,
         "{\"token\":\"garbage\",\"password\":\"ivy's password\"}", &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"short\"}", tok);
    call(&S, "POST", "/api/v1/auth/accept-invite", NULL, body, &r);
    expect_error(&r, 400, "invalid_request", "at least 10 characters");
    resp_free(&r);

    char rid[48];
    new_rid(rid);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"ivy's password\"}", tok);
    call_h(&S, "POST", "/api/v1/auth/accept-invite", NULL, body, rid, NULL, &r);
    expect_status(&r, 200);
    const char *st = jstr(r.json, "token");
    assert_non_null(st);
    assert_int_equal(strncmp(st, "aegis_s_", 8), 0);
    assert_string_equal(jstr(r.json, "user.id"), uid);
    assert_string_equal(jstr(r.json, "user.role"), "analyst");
    char cookie[300];
    assert_true(resp_header(&r, "Set-Cookie", cookie, sizeof cookie));
    assert_non_null(strstr(cookie, "HttpOnly"));
    char session[64];
    snprintf(session, sizeof session, "%s", st);
    resp_free(&r);
    call(&S, "GET", "/api/v1/me", session, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "principal.id"), uid);
    assert_string_equal(jstr(r.json, "principal.role"), "analyst");
    resp_free(&r);
    /* used once only */
    call(&S, "POST", "/api/v1/auth/accept-invite", NULL, body, &r);
    expect_error(&r, 401, "unauthenticated", "already used");
    resp_free(&r);
    char t2[64];
    login(&S, email, "ivy's password", t2);
    call(&S, "GET", upath, a.key, NULL, &r);
    assert_true(json_is_true(json_object_get(r.json, "has_password")));
    resp_free(&r);

    json_t *log = audit_get(&S, a.key, "limit=500");
    expect_audit(log, "user.invite_accepted", rid, "user", uid, "user", uid, "success");
    expect_audit(log, "login", rid, "user", uid, "session", NULL, "success");
    json_t *row;
    size_t i;
    bool invited = false;
    json_array_foreach(json_object_get(log, "data"), i,
                       row) if (!strcmp(jstr(row, "action"), "user.created") &&
                                !strcmp(jstr(row, "target.id"), uid)) invited =
        json_is_true(jget(row, "detail.invited"));
    assert_true(invited);
    char *dump = json_dumps(log, JSON_COMPACT);
    assert_null(strstr(dump, tok + 8));
    free(dump);
    json_decref(log);
}

/* ---- 5. keys ------------------------------------------------------------------------------------
 */

static void keys_are_shown_once(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    struct resp r;
    call(&S, "POST", "/api/v1/keys", a.key, "{\"name\":\"ci pipeline\",\"role\":\"viewer\"}", &r);
    expect_status(&r, 201);
    const char *key = jstr(r.json, "key");
    assert_non_null(key);
    assert_int_equal(strncmp(key, "aegis_", 6), 0);
    assert_true(base62(key + 6, 32));
    assert_string_equal(jstr(r.json, "object"), "api_key");
    assert_string_equal(jstr(r.json, "name"), "ci pipeline");
    assert_string_equal(jstr(r.json, "role"), "viewer");
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", key);
    assert_string_equal(jstr(r.json, "prefix"), prefix);
    assert_string_equal(jstr(r.json, "created_by"), a.key_id); /* made by the signup key */
    assert_non_null(jstr(r.json, "created_at"));
    assert_true(json_is_null(json_object_get(r.json, "revoked_at")));
    assert_true(json_is_null(json_object_get(r.json, "expires_at")));
    assert_true(json_is_null(json_object_get(r.json, "last_used_at")));
    assert_non_null(strstr(jstr(r.json, "message"), "only time"));
    char cc[64];
    assert_true(resp_header(&r, "Cache-Control", cc, sizeof cc));
    assert_string_equal(cc, "no-store");
    char k[64], kid[64], path[200];
    snprintf(k, sizeof k, "%s", key);
    snprintf(kid, sizeof kid, "%s", jstr(r.json, "id"));
    snprintf(path, sizeof path, "/api/v1/keys/%s", kid);
    resp_free(&r);

    /* default role: analyst */
    char k2[64], k2id[64];
    make_key(&S, a.key, NULL, k2, k2id);
    call(&S, "GET", "/api/v1/me", k2, NULL, &r);
    assert_string_equal(jstr(r.json, "principal.role"), "analyst");
    resp_free(&r);

    /* neither the list nor the single key shows any key */
    call(&S, "GET", "/api/v1/keys", a.key, NULL, &r);
    expect_status(&r, 200);
    json_t *data = json_object_get(r.json, "data");
    assert_int_equal(json_array_size(data), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get(data, i);
        assert_null(json_object_get(o, "key"));
        assert_null(json_object_get(o, "key_hash"));
        assert_int_equal(strlen(jstr(o, "prefix")), 12);
    }
    assert_null(strstr(r.body, k));
    assert_null(strstr(r.body, k2));
    assert_null(strstr(r.body, a.key));
    assert_null(strstr(r.body, k + 6)); /* not even the random part */
    assert_non_null(strstr(r.body, prefix));
    resp_free(&r);
    call(&S, "GET", path, a.key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "id"), kid);
    assert_string_equal(jstr(r.json, "prefix"), prefix);
    assert_null(json_object_get(r.json, "key"));
    assert_null(strstr(r.body, k));
    assert_null(strstr(r.body, k + 6));
    resp_free(&r);
    /* nor the database: only a keyed hash */
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM api_keys WHERE key_hash LIKE '%%%s%%'", k + 6);
    assert_int_equal(db_count(&S, sql), 0);

    /* validation */
    const char *bad[] = {"{\"name\":\"\"}", "{\"role\":\"viewer\"}",
                         "{\"name\":\"x\",\"role\":\"god\"}", "{\"name\":7}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        call(&S, "POST", "/api/v1/keys", a.key, bad[i], &r);
        expect_error(&r, 400, "invalid_request", NULL);
        resp_free(&r);
    }
    call(&S, "GET", "/api/v1/keys/00000000-0000-7000-8000-000000000000", a.key, NULL, &r);
    expect_error(&r, 404, "not_found", "API key");
    resp_free(&r);
}

static void keys_cannot_outrank_their_creator(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char admin[64];
    make_key(&S, a.key, "admin", admin, NULL);
    struct resp r;
    call(&S, "POST", "/api/v1/keys", admin, "{\"name\":\"escalate\",\"role\":\"owner\"}", &r);
    expect_error(&r, 403, "forbidden", "above yours");
    resp_free(&r);
    /* up to its own role is fine */
    char k[64];
    make_key(&S, admin, "admin", k, NULL);
    make_key(&S, admin, "viewer", k, NULL);
    /* an admin session likewise */
    char email[128], tok[64];
    snprintf(email, sizeof email, "adm%d@outrank.test", ++counter);
    make_user_as(&S, a.key, email, "admin", "admin password", NULL, NULL);
    login(&S, email, "admin password", tok);
    call(&S, "POST", "/api/v1/keys", tok, "{\"name\":\"escalate\",\"role\":\"owner\"}", &r);
    expect_error(&r, 403, "forbidden", NULL);
    resp_free(&r);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM api_keys WHERE org_id = '%s' AND role = 'owner'", a.org);
    assert_int_equal(db_count(&S, sql), 1); /* only the signup key */
    /* an owner can make owner keys */
    char kid[64], path[128];
    make_key(&S, a.key, "owner", k, kid);
    call(&S, "GET", "/api/v1/me", k, NULL, &r);
    assert_string_equal(jstr(r.json, "principal.role"), "owner");
    resp_free(&r);
    /* and only an owner can revoke one: an admin gets 403 and the key keeps working */
    snprintf(path, sizeof path, "/api/v1/keys/%s", kid);
    call(&S, "DELETE", path, admin, NULL, &r);
    expect_error(&r, 403, "forbidden", "owner");
    resp_free(&r);
    call(&S, "GET", "/api/v1/me", k, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    call(&S, "DELETE", path, a.key, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void keys_revoke_and_last_used(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char k[64], kid[64], path[200];
    make_key(&S, a.key, "analyst", k, kid);
    snprintf(path, sizeof path, "/api/v1/keys/%s", kid);
    struct resp r;
    call(&S, "GET", path, a.key, NULL, &r);
    assert_true(json_is_null(json_object_get(r.json, "last_used_at")));
    resp_free(&r);
    /* use sets last_used_at */
    int64_t before = clock_now_ms();
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", k, NULL), 200);
    call(&S, "GET", path, a.key, NULL, &r);
    const char *lu = jstr(r.json, "last_used_at");
    if (!lu)
        fail_msg("last_used_at not set after use: %s", r.body);
    int64_t used = 0;
    assert_int_equal(clock_parse_iso(lu, &used), 0);
    assert_true(used >= before - 1000 && used <= clock_now_ms() + 1000);
    resp_free(&r);

    /* revoke answers the key, revoked */
    call(&S, "DELETE", path, a.key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "id"), kid);
    assert_string_equal(jstr(r.json, "object"), "api_key");
    char rev[CLOCK_ISO_LEN];
    assert_non_null(jstr(r.json, "revoked_at"));
    snprintf(rev, sizeof rev, "%s", jstr(r.json, "revoked_at"));
    int64_t revoked = 0;
    assert_int_equal(clock_parse_iso(rev, &revoked), 0);
    assert_true(revoked >= before - 1000);
    assert_null(json_object_get(r.json, "key"));
    assert_null(strstr(r.body, k));
    resp_free(&r);
    call(&S, "DELETE", path, a.key, NULL, &r);
    expect_error(&r, 409, "conflict", "already revoked");
    resp_free(&r);
    call(&S, "GET", "/api/v1/me", k, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    /* it stays listed, as revoked */
    call(&S, "GET", path, a.key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "revoked_at"), rev);
    resp_free(&r);
    call(&S, "DELETE", "/api/v1/keys/00000000-0000-7000-8000-000000000000", a.key, NULL, &r);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);

    /* another organisation can neither see nor revoke this organisation's keys */
    struct acct b;
    signup(&S, &b);
    char bk[64], bkid[64], bpath[200];
    make_key(&S, b.key, "viewer", bk, bkid);
    snprintf(bpath, sizeof bpath, "/api/v1/keys/%s", bkid);
    assert_int_equal(status_of(&S, "GET", bpath, a.key, NULL), 404);
    call(&S, "DELETE", bpath, a.key, NULL, &r);
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", bk, NULL), 200);
    call(&S, "GET", "/api/v1/keys", a.key, NULL, &r);
    assert_null(strstr(r.body, bkid));
    resp_free(&r);

    /* a key can revoke itself (an owner key), and is refused from then on */
    char self[64], self_id[64], self_path[200];
    make_key(&S, a.key, "admin", self, self_id);
    snprintf(self_path, sizeof self_path, "/api/v1/keys/%s", self_id);
    call(&S, "DELETE", self_path, self, NULL, &r);
    expect_status(&r, 200);
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", self, NULL), 401);
}

/* ---- 6. audit log -------------------------------------------------------------------------------
 */

static void audit_log_records_identity_events(void **state)
{
    (void)state;
    char r_signup[48], r_login[48], r_failed[48], r_logout[48], r_kc[48], r_kr[48], r_uc[48],
        r_urc[48], r_ur[48];
    new_rid(r_signup);
    new_rid(r_login);
    new_rid(r_failed);
    new_rid(r_logout);
    new_rid(r_kc);
    new_rid(r_kr);
    new_rid(r_uc);
    new_rid(r_urc);
    new_rid(r_ur);

    struct acct a;
    signup_as(&S, r_signup, &a);
    char tok[64];
    login_as(&S, a.email, a.password, r_login, tok);
    char bad[300];
    snprintf(bad, sizeof bad, "{\"email\":\"%s\",\"password\":\"wrong password\"}", a.email);
    struct resp r;
    call_h(&S, "POST", "/api/v1/auth/login", NULL, bad, r_failed, NULL, &r);
    expect_status(&r, 401);
    resp_free(&r);
    call_h(&S, "POST", "/api/v1/auth/logout", tok, NULL, r_logout, NULL, &r);
    expect_status(&r, 204);
    resp_free(&r);
    char k[64], kid[64], path[200];
    make_key_as(&S, a.key, "viewer", r_kc, k, kid);
    snprintf(path, sizeof path, "/api/v1/keys/%s", kid);
    call_h(&S, "DELETE", path, a.key, NULL, r_kr, NULL, &r);
    expect_status(&r, 200);
    resp_free(&r);
    char email[128], uid[64], upath[200];
    snprintf(email, sizeof email, "audited%d@audit.test", ++counter);
    make_user_as(&S, a.key, email, "analyst", "audited password", r_uc, uid);
    snprintf(upath, sizeof upath, "/api/v1/users/%s", uid);
    call_h(&S, "PATCH", upath, a.key, "{\"role\":\"viewer\"}", r_urc, NULL, &r);
    expect_status(&r, 200);
    resp_free(&r);
    call_h(&S, "DELETE", upath, a.key, NULL, r_ur, NULL, &r);
    expect_status(&r, 204);
    resp_free(&r);

    json_t *log = audit_get(&S, a.key, "limit=500");
    expect_audit(log, "org.signup", r_signup, "user", a.user, "org", a.org, "success");
    expect_audit(log, "user.created", r_signup, "user", a.user, "user", a.user, "success");
    expect_audit(log, "key.created", r_signup, "user", a.user, "api_key", a.key_id, "success");
    expect_audit(log, "login", r_login, "user", a.user, "session", NULL, "success");
    expect_audit(log, "login.failed", r_failed, "user", a.user, "user", a.user, "failure");
    expect_audit(log, "logout", r_logout, "user", a.user, "session", NULL, "success");
    /* logout names the session the login opened */
    assert_string_equal(jstr(audit_row(log, "logout", r_logout), "target.id"),
                        jstr(audit_row(log, "login", r_login), "target.id"));
    expect_audit(log, "key.created", r_kc, "key", a.key_id, "api_key", kid, "success");
    expect_audit(log, "key.revoked", r_kr, "key", a.key_id, "api_key", kid, "success");
    expect_audit(log, "user.created", r_uc, "key", a.key_id, "user", uid, "success");
    expect_audit(log, "user.role_changed", r_urc, "key", a.key_id, "user", uid, "success");
    expect_audit(log, "user.removed", r_ur, "key", a.key_id, "user", uid, "success");
    /* details say what changed, never a secret */
    assert_string_equal(jstr(audit_row(log, "key.created", r_kc), "detail.role"), "viewer");
    assert_string_equal(jstr(audit_row(log, "user.role_changed", r_urc), "detail.from"), "analyst");
    assert_string_equal(jstr(audit_row(log, "user.role_changed", r_urc), "detail.to"), "viewer");
    assert_string_equal(jstr(audit_row(log, "login.failed", r_failed), "detail.reason"),
                        "password");
    char *dump = json_dumps(log, JSON_COMPACT);
    assert_null(strstr(dump, k));
    assert_null(strstr(dump, a.key));
    assert_null(strstr(dump, tok));
    assert_null(strstr(dump, a.password));
    assert_null(strstr(dump, "wrong password"));
    assert_null(strstr(dump, "audited password"));
    free(dump);
    /* exactly the events caused, newest first */
    json_t *data = json_object_get(log, "data");
    assert_int_equal(json_array_size(data), 11);
    assert_true(json_is_null(json_object_get(log, "next_cursor")));
    assert_string_equal(jstr(json_array_get(data, 0), "action"), "user.removed");
    assert_string_equal(jstr(json_array_get(data, 10), "action"), "org.signup");
    json_decref(log);

    /* without an X-Request-Id, the row carries the generated one the response announced */
    call(&S, "POST", "/api/v1/keys", a.key, "{\"name\":\"no request id\"}", &r);
    expect_status(&r, 201);
    char gen[64], gen_kid[64];
    assert_true(resp_header(&r, "X-Request-Id", gen, sizeof gen));
    snprintf(gen_kid, sizeof gen_kid, "%s", jstr(r.json, "id"));
    resp_free(&r);
    log = audit_get(&S, a.key, "action=key.created&limit=1");
    expect_audit(log, "key.created", gen, "key", a.key_id, "api_key", gen_kid, "success");
    json_decref(log);

    /* the chain verifies */
    char *out = NULL;
    assert_int_equal(srv_cli(&S, &out, NULL, "audit", "verify", "--org", a.org, NULL), 0);
    assert_non_null(strstr(out, "ok: 12 row(s)"));
    free(out);
}

/* The ids of a list's rows, in order, into ids (each 64 bytes); returns how many. */
static size_t row_ids(json_t *list, char ids[][64], size_t max)
{
    size_t i, n = 0;
    json_t *row;
    json_array_foreach(json_object_get(list, "data"), i, row)
    {
        assert_true(n < max);
        snprintf(ids[n++], 64, "%s", jstr(row, "id"));
    }
    return n;
}

static void audit_log_filters(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char tok[64];
    login(&S, a.email, a.password, tok);
    char k[64], kid[64], path[200];
    sleep_ms(15);
    make_key(&S, tok, "viewer", k, kid); /* made by the user */
    sleep_ms(15);
    make_key(&S, a.key, "analyst", k, NULL);
    sleep_ms(15);
    snprintf(path, sizeof path, "/api/v1/keys/%s", kid);
    assert_int_equal(status_of(&S, "DELETE", path, a.key, NULL), 200);
    sleep_ms(15);
    char email[128];
    snprintf(email, sizeof email, "filtered%d@audit.test", ++counter);
    make_user_as(&S, a.key, email, "viewer", "filtered password", NULL, NULL);

    json_t *all = audit_get(&S, a.key, "");
    json_t *data = json_object_get(all, "data");
    size_t total = json_array_size(data);
    /* org.signup, user.created, key.created, login, key.created x2, key.revoked, user.created */
    assert_int_equal(total, 8);

    /* action: exact */
    json_t *l = audit_get(&S, a.key, "action=key.created");
    size_t i;
    json_t *row;
    assert_int_equal(json_array_size(json_object_get(l, "data")), 3);
    json_array_foreach(json_object_get(l, "data"), i, row)
        assert_string_equal(jstr(row, "action"), "key.created");
    json_decref(l);
    /* action: prefix */
    l = audit_get(&S, a.key, "action=key.*");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 4);
    json_array_foreach(json_object_get(l, "data"), i, row)
        assert_int_equal(strncmp(jstr(row, "action"), "key.", 4), 0);
    json_decref(l);
    l = audit_get(&S, a.key, "action=user.*");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 2);
    json_decref(l);
    /* no wildcard means no prefix: "key" is no action */
    l = audit_get(&S, a.key, "action=key");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 0);
    json_decref(l);
    l = audit_get(&S, a.key, "action=nothing.like.this");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 0);
    json_decref(l);

    /* actor: the user (signup rows, login, the first key) and the signup key (the rest) */
    char q[300];
    snprintf(q, sizeof q, "actor=%s", a.user);
    l = audit_get(&S, a.key, q);
    assert_int_equal(json_array_size(json_object_get(l, "data")), 5);
    json_array_foreach(json_object_get(l, "data"), i, row)
    {
        assert_string_equal(jstr(row, "actor.id"), a.user);
        assert_string_equal(jstr(row, "actor.type"), "user");
    }
    json_decref(l);
    snprintf(q, sizeof q, "actor=%s", a.key_id);
    l = audit_get(&S, a.key, q);
    assert_int_equal(json_array_size(json_object_get(l, "data")), 3);
    json_array_foreach(json_object_get(l, "data"), i, row)
        assert_string_equal(jstr(row, "actor.type"), "key");
    json_decref(l);
    /* filters combine */
    snprintf(q, sizeof q, "actor=%s&action=key.*", a.key_id);
    l = audit_get(&S, a.key, q);
    assert_int_equal(json_array_size(json_object_get(l, "data")), 2);
    json_decref(l);

    /* from (inclusive) and to (exclusive), against the times of the rows themselves */
    int64_t ts[16];
    for (i = 0; i < total; i++)
        assert_int_equal(clock_parse_iso(jstr(json_array_get(data, i), "time"), &ts[i]), 0);
    for (i = 1; i < total; i++)
        assert_true(ts[i] <= ts[i - 1]);                      /* newest first */
    const char *from = jstr(json_array_get(data, 5), "time"); /* an older row */
    const char *to = jstr(json_array_get(data, 1), "time");   /* a newer one */
    int64_t f = ts[5], t = ts[1];
    assert_true(f < t);
    snprintf(q, sizeof q, "from=%s&to=%s", from, to);
    l = audit_get(&S, a.key, q);
    char want[16][64], got[16][64];
    size_t nwant = 0;
    for (i = 0; i < total; i++)
        if (ts[i] >= f && ts[i] < t)
            snprintf(want[nwant++], 64, "%s", jstr(json_array_get(data, i), "id"));
    size_t ngot = row_ids(l, got, 16);
    assert_true(nwant >= 1 && nwant < total);
    assert_int_equal(ngot, nwant);
    for (i = 0; i < nwant; i++)
        assert_string_equal(got[i], want[i]);
    json_decref(l);
    snprintf(q, sizeof q, "from=%s", from);
    l = audit_get(&S, a.key, q);
    nwant = 0;
    for (i = 0; i < total; i++)
        nwant += ts[i] >= f;
    assert_int_equal(json_array_size(json_object_get(l, "data")), nwant);
    json_decref(l);
    snprintf(q, sizeof q, "to=%s", to);
    l = audit_get(&S, a.key, q);
    nwant = 0;
    for (i = 0; i < total; i++)
        nwant += ts[i] < t;
    assert_int_equal(json_array_size(json_object_get(l, "data")), nwant);
    json_decref(l);
    /* a date-only bound, far in the past or the future */
    l = audit_get(&S, a.key, "from=2000-01-01");
    assert_int_equal(json_array_size(json_object_get(l, "data")), total);
    json_decref(l);
    l = audit_get(&S, a.key, "from=2999-01-01T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 0);
    json_decref(l);
    l = audit_get(&S, a.key, "limit=3");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 3);
    assert_non_null(jstr(l, "next_cursor"));
    json_decref(l);
    json_decref(all);

    /* bad arguments are 400 naming the argument */
    struct {
        const char *query, *part;
    } bad[] = {
        {"from=yesterday", "from must be an ISO 8601 time"},
        {"to=2026-13-01T00:00:00Z", "to must be an ISO 8601 time"},
        {"from=2026-01-01T25:00:00Z", "from"},
        {"limit=0", "limit must be an integer from 1 to 500"},
        {"limit=501", "limit"},
        {"limit=abc", "limit"},
        {"limit=5x", "limit"},
        {"limit=-1", "limit"},
        {"cursor=abc", "cursor"},
        {"cursor=0", "cursor"},
    };
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[300];
        snprintf(p, sizeof p, "/api/v1/audit-log?%s", bad[i].query);
        struct resp r;
        call(&S, "GET", p, a.key, NULL, &r);
        if (r.status != 400)
            fail_msg("%s: expected 400, got %ld: %s", bad[i].query, r.status, r.body);
        expect_error(&r, 400, "invalid_request", bad[i].part);
        resp_free(&r);
    }
}

static void audit_log_pages_with_a_cursor(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char k[64];
    for (int i = 0; i < 6; i++)
        make_key(&S, a.key, "viewer", k, NULL);
    char tok[64];
    login(&S, a.email, a.password, tok); /* 3 + 6 + 1 = 10 rows */
    char email[128];
    snprintf(email, sizeof email, "paged%d@audit.test", ++counter);
    make_user_as(&S, a.key, email, "viewer", "paged password", NULL, NULL); /* 11 rows: odd */

    json_t *all = audit_get(&S, a.key, "limit=500");
    size_t total = json_array_size(json_object_get(all, "data"));
    assert_int_equal(total, 11);
    char want[32][64];
    row_ids(all, want, 32);

    char seen[32][64];
    size_t nseen = 0, pages = 0;
    int64_t last_seq = INT64_MAX;
    char cursor[64] = "";
    for (;;) {
        assert_true(++pages <= 20);
        char q[200];
        if (cursor[0])
            snprintf(q, sizeof q, "limit=2&cursor=%s", cursor);
        else
            snprintf(q, sizeof q, "limit=2");
        json_t *page = audit_get(&S, a.key, q);
        json_t *data = json_object_get(page, "data");
        assert_true(json_array_size(data) >= 1 && json_array_size(data) <= 2);
        size_t i;
        json_t *row;
        json_array_foreach(data, i, row)
        {
            int64_t seq = json_integer_value(json_object_get(row, "seq"));
            assert_true(seq < last_seq); /* strictly decreasing: newest first, no repeats */
            last_seq = seq;
            for (size_t j = 0; j < nseen; j++)
                assert_string_not_equal(seen[j], jstr(row, "id"));
            assert_true(nseen < 32);
            snprintf(seen[nseen++], 64, "%s", jstr(row, "id"));
        }
        json_t *next = json_object_get(page, "next_cursor");
        if (json_is_null(next)) {
            json_decref(page);
            break;
        }
        assert_true(json_is_string(next));
        assert_int_equal(json_array_size(data), 2); /* only a full page has a next one */
        snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(page);
    }
    assert_int_equal(pages, 6);
    assert_int_equal(nseen, total);
    for (size_t i = 0; i < total; i++)
        assert_string_equal(seen[i], want[i]);
    /* the oldest row is the first of the chain */
    assert_int_equal(last_seq, 1);
    json_decref(all);

    /* an exact multiple of the page size ends with next_cursor null, not an empty page */
    json_t *p = audit_get(&S, a.key, "limit=11");
    assert_int_equal(json_array_size(json_object_get(p, "data")), 11);
    assert_true(json_is_null(json_object_get(p, "next_cursor")));
    json_decref(p);
    /* a cursor works with a filter too */
    p = audit_get(&S, a.key, "action=key.created&limit=4");
    assert_int_equal(json_array_size(json_object_get(p, "data")), 4);
    char q[200];
    snprintf(q, sizeof q, "action=key.created&limit=4&cursor=%s", jstr(p, "next_cursor"));
    json_decref(p);
    p = audit_get(&S, a.key, q);
    assert_int_equal(json_array_size(json_object_get(p, "data")), 3); /* 7 key.created in all */
    assert_true(json_is_null(json_object_get(p, "next_cursor")));
    json_decref(p);
}

static void audit_log_is_per_organization(void **state)
{
    (void)state;
    struct acct a, b;
    signup(&S, &a);
    signup(&S, &b);
    char k[64];
    make_key(&S, a.key, "viewer", k, NULL);
    char tok[64];
    login(&S, a.email, a.password, tok);
    json_t *la = audit_get(&S, a.key, "limit=500");
    json_t *lb = audit_get(&S, b.key, "limit=500");
    char ida[32][64], idb[32][64];
    size_t na = row_ids(la, ida, 32), nb = row_ids(lb, idb, 32);
    assert_int_equal(na, 5);
    assert_int_equal(nb, 3);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            assert_string_not_equal(ida[i], idb[j]);
    char *dump = json_dumps(lb, JSON_COMPACT);
    assert_null(strstr(dump, a.org));
    assert_null(strstr(dump, a.user));
    assert_null(strstr(dump, a.key_id));
    free(dump);
    /* asking for A's actor from B finds nothing */
    char q[200];
    snprintf(q, sizeof q, "actor=%s", a.user);
    json_t *l = audit_get(&S, b.key, q);
    assert_int_equal(json_array_size(json_object_get(l, "data")), 0);
    json_decref(l);
    /* nor does a cursor reach into another chain: B's cursor past its own rows is empty */
    l = audit_get(&S, b.key, "cursor=1000000");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 3);
    json_decref(l);
    json_decref(la);
    json_decref(lb);
}

/* ---- 7. secrets hygiene
 * -------------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *data = xmalloc(cap);
    size_t got;
    while ((got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            data = xrealloc(data, cap);
        }
    }
    fclose(f);
    *len = n;
    return data;
}

struct secrets {
    char s[64][128];
    int n;
};

static void secret_add(struct secrets *z, const char *v)
{
    assert_true(z->n < 64);
    snprintf(z->s[z->n++], 128, "%s", v);
}

/* Fails when any secret (or the random part of a key or token) occurs in the file. */
static void scan_file(const struct secrets *z, const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    if (!data)
        return;
    for (int i = 0; i < z->n; i++) {
        const char *v = z->s[i];
        bool found;
        const char *random = !strncmp(v, "aegis_s_", 8) || !strncmp(v, "aegis_i_", 8) ? v + 8
                             : !strncmp(v, "aegis_", 6)                               ? v + 6
                                                                                      : v;
        found = contains(data, len, v) || contains(data, len, random);
        if (found) {
            free(data);
            fail_msg("secret %.10s... found in %s", v, path);
        }
    }
    free(data);
}

static void scan_dir(const struct srv *s, const struct secrets *z, int *files)
{
    DIR *d = opendir(s->dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        scan_file(z, path);
        (*files)++;
    }
    closedir(d);
}

static void secrets_never_reach_logs_or_database(void **state)
{
    (void)state;
    own_init((const char *[]){FAST_ARGON2, "AEGIS_LOGIN_FAILURES_PER_15MIN=1000", NULL});
    struct srv *H = &srv_own;
    struct secrets z = {0};
    struct acct a;
    signup(H, &a);
    secret_add(&z, a.key);
    secret_add(&z, a.password);
    char k1[64], k1id[64], k2[64], path[200], body[600];
    make_key(H, a.key, "admin", k1, k1id);
    make_key(H, a.key, "viewer", k2, NULL);
    secret_add(&z, k1);
    secret_add(&z, k2);
    char email[128], tok[64], tok2[64];
    snprintf(email, sizeof email, "secret%d@hygiene.test", ++counter);
    make_user_as(H, k1, email, "analyst", "member's own password 42", NULL, NULL);
    secret_add(&z, "member's own password 42");
    login(H, a.email, a.password, tok);
    login(H, email, "member's own password 42", tok2);
    /* an invitation, accepted */
    char ibody[300];
    snprintf(ibody, sizeof ibody, "{\"email\":\"invitee%d@hygiene.test\",\"role\":\"viewer\"}",
             ++counter);
    struct resp ir;
    call(H, "POST", "/api/v1/users", a.key, ibody, &ir);
    expect_status(&ir, 201);
    secret_add(&z, jstr(ir.json, "invite_token"));
    snprintf(ibody, sizeof ibody, "{\"token\":\"%s\",\"password\":\"invitee's chosen pw\"}",
             jstr(ir.json, "invite_token"));
    resp_free(&ir);
    call(H, "POST", "/api/v1/auth/accept-invite", NULL, ibody, &ir);
    expect_status(&ir, 200);
    secret_add(&z, jstr(ir.json, "token"));
    resp_free(&ir);
    secret_add(&z, "invitee's chosen pw");
    secret_add(&z, tok);
    secret_add(&z, tok2);

    /* use them on routes that succeed ... */
    const char *paths[] = {"/api/v1/me", "/api/v1/org", "/api/v1/users", "/api/v1/keys",
                           "/api/v1/audit-log?limit=5"};
    const char *bearers[] = {a.key, k1, k2, tok, tok2};
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 5; j++)
            status_of(H, "GET", paths[i], bearers[j], NULL);
    char ck[120];
    snprintf(ck, sizeof ck, "Cookie: aegis_session=%s", tok);
    struct resp r;
    call_h(H, "GET", "/api/v1/me", NULL, NULL, NULL, ck, &r);
    expect_status(&r, 200);
    resp_free(&r);
    /* ... and on ones that fail: wrong passwords, a revoked key, a logged-out session, malformed
     * JSON carrying a key or a password, a key in the wrong header scheme, a key as a field */
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"wrong-pw-%s\"}", a.email,
             a.password);
    call(H, "POST", "/api/v1/auth/login", NULL, body, &r);
    expect_status(&r, 401);
    resp_free(&r);
    char wrong[80];
    snprintf(wrong, sizeof wrong, "wrong-pw-%s", a.password);
    secret_add(&z, wrong);
    call(H, "POST", "/api/v1/auth/login", NULL,
         "{\"email\":\"ghost@hygiene.test\",\"password\":\"ghost password 99\"}", &r);
    expect_status(&r, 401);
    resp_free(&r);
    secret_add(&z, "ghost password 99");
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"", a.email, a.password);
    call(H, "POST", "/api/v1/auth/login", NULL, body, &r); /* unterminated */
    expect_status(&r, 400);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"name\": %s}", k2); /* an unquoted key */
    call(H, "POST", "/api/v1/keys", a.key, body, &r);
    expect_status(&r, 400);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"name\":\"%s\",,}", k1);
    call(H, "POST", "/api/v1/keys", k1, body, &r);
    expect_status(&r, 400);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"organization_name\":\"x\",\"email\":\"%s\",\"password\":%s}",
             a.email, tok);
    call(H, "POST", "/api/v1/onboarding/signup", NULL, body, &r);
    expect_status(&r, 400);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"role\":\"root\"}", tok2); /* valid JSON, 400 */
    call(H, "POST", "/api/v1/keys", tok, body, &r);
    expect_status(&r, 400);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/keys/%s", k1id);
    assert_int_equal(status_of(H, "DELETE", path, a.key, NULL), 200);
    assert_int_equal(status_of(H, "GET", "/api/v1/me", k1, NULL), 401);
    assert_int_equal(status_of(H, "POST", "/api/v1/keys", k1, "{\"name\":\"x\"}"), 401);
    assert_int_equal(status_of(H, "POST", "/api/v1/auth/logout", tok2, NULL), 204);
    assert_int_equal(status_of(H, "GET", "/api/v1/users", tok2, NULL), 401);
    char basic[120];
    snprintf(basic, sizeof basic, "Authorization: Basic %s", k2);
    call_h(H, "GET", "/api/v1/me", NULL, NULL, NULL, basic, &r);
    expect_status(&r, 401);
    resp_free(&r);
    assert_int_equal(status_of(H, "GET", "/api/v1/users", k2, NULL), 403);
    /* a secret with a character changed, so it is looked up and not found */
    char mutated[64];
    snprintf(mutated, sizeof mutated, "%s", k2);
    mutated[30] = mutated[30] == 'z' ? 'y' : 'z';
    secret_add(&z, mutated);
    assert_int_equal(status_of(H, "GET", "/api/v1/me", mutated, NULL), 401);
    /* the CLI makes a key too */
    char *out = NULL;
    assert_int_equal(srv_cli(H, &out, NULL, "keys", "create", "--org", a.org, "--name", "cli key",
                             "--role", "viewer", NULL),
                     0);
    char cli_key[64] = "";
    const char *p = strstr(out, "aegis_");
    assert_non_null(p);
    snprintf(cli_key, sizeof cli_key, "%.38s", p);
    free(out);
    assert_int_equal(status_of(H, "GET", "/api/v1/me", cli_key, NULL), 200);
    secret_add(&z, cli_key);

    /* the live WAL and database, before the server checkpoints them away */
    char f[400];
    srv_path(H, "aegis.db-wal", f, sizeof f);
    scan_file(&z, f);
    srv_path(H, "aegis.db", f, sizeof f);
    scan_file(&z, f);
    /* then everything the server leaves behind: logs (flushed at exit), database, CLI output */
    assert_int_equal(srv_stop(H, 15), 0);
    int files = 0;
    scan_dir(H, &z, &files);
    assert_true(files >= 3); /* app.1.log, access.1.log, aegis.db at least */
    /* and the logs did record these requests (the scan read real logs) */
    size_t len;
    srv_path(H, "access.1.log", f, sizeof f);
    char *acc = slurp(f, &len);
    assert_non_null(acc);
    assert_true(contains(acc, len, "/api/v1/auth/login"));
    assert_true(contains(acc, len, "\"status\":401"));
    free(acc);
}

/* ---- 8. CLI
 * -------------------------------------------------------------------------------------- */

/* The value printed after `label` on a line of out, up to the next space or newline. */
static void field_after(const char *out, const char *label, char *v, size_t n)
{
    const char *p = strstr(out, label);
    if (!p)
        fail_msg("\"%s\" not in output: %s", label, out);
    p += strlen(label);
    while (*p == ' ')
        p++;
    size_t len = strcspn(p, " \n");
    snprintf(v, n, "%.*s", (int)len, p);
}

static void cli_onboard_prints_a_working_key(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    int rc = srv_cli(&S, &out, &err, "onboard", "--name", "Acme", "--email", "ops@acme.test",
                     "--plan", "starter", NULL);
    if (rc != 0)
        fail_msg("aegis onboard exited %d: %s", rc, err);
    char org[64], owner[64], key[64];
    field_after(out, "organization", org, sizeof org);
    field_after(out, "owner", owner, sizeof owner);
    field_after(out, "api key", key, sizeof key);
    assert_int_equal(strlen(org), 36);
    assert_int_equal(strncmp(key, "aegis_", 6), 0);
    assert_true(base62(key + 6, 32));
    assert_non_null(strstr(out, "shown once"));
    assert_null(strstr(err, key)); /* stdout only */
    free(out);
    free(err);

    /* the running server accepts it */
    struct resp r;
    call(&S, "GET", "/api/v1/me", key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "organization.id"), org);
    assert_string_equal(jstr(r.json, "organization.name"), "Acme");
    assert_string_equal(jstr(r.json, "organization.plan"), "starter");
    assert_string_equal(jstr(r.json, "principal.role"), "owner");
    resp_free(&r);
    call(&S, "GET", "/api/v1/users", key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(json_array_get(json_object_get(r.json, "data"), 0), "email"),
                        "ops@acme.test");
    assert_string_equal(jstr(json_array_get(json_object_get(r.json, "data"), 0), "id"), owner);
    resp_free(&r);
    /* the audit trail says it came from the CLI */
    json_t *l = audit_get(&S, key, "action=org.signup");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(l, "data"), 0), "request_id"), "cli");
    json_decref(l);

    /* the same email again: refused, exit 2 */
    rc = srv_cli(&S, &out, &err, "onboard", "--name", "Acme Two", "--email", "OPS@acme.test", NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "already exists"));
    assert_null(strstr(out, "aegis_"));
    free(out);
    free(err);
    /* a bad email: exit 2 with a message, nothing made */
    rc = srv_cli(&S, &out, &err, "onboard", "--name", "Bad Email Org", "--email", "not-an-email",
                 NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "email"));
    assert_null(strstr(out, "aegis_"));
    free(out);
    free(err);
    assert_int_equal(db_count(&S, "SELECT COUNT(*) FROM orgs WHERE name = 'Bad Email Org'"), 0);
    /* bad plan, missing arguments */
    rc = srv_cli(&S, &out, &err, "onboard", "--name", "Plan Org", "--email", "plan@org.test",
                 "--plan", "gold", NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "plan"));
    free(out);
    free(err);
    rc = srv_cli(&S, &out, &err, "onboard", "--name", "No Email", NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "usage"));
    free(out);
    free(err);
}

static void cli_keys_list_create_revoke(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char *out = NULL, *err = NULL;
    int rc = srv_cli(&S, &out, &err, "keys", "list", "--org", a.org, NULL);
    if (rc != 0)
        fail_msg("keys list exited %d: %s", rc, err);
    assert_non_null(strstr(out, a.key_id));
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", a.key);
    assert_non_null(strstr(out, prefix));
    assert_null(strstr(out, a.key));
    assert_null(strstr(out, a.key + 6));
    free(out);
    free(err);

    rc = srv_cli(&S, &out, &err, "keys", "create", "--org", a.org, "--name", "x", "--role",
                 "viewer", NULL);
    if (rc != 0)
        fail_msg("keys create exited %d: %s", rc, err);
    char kid[64], role[32], key[64];
    assert_int_equal(sscanf(out, "%63s %31s %63s", kid, role, key), 3);
    assert_string_equal(role, "viewer");
    assert_int_equal(strncmp(key, "aegis_", 6), 0);
    assert_true(base62(key + 6, 32));
    free(out);
    free(err);
    struct resp r;
    call(&S, "GET", "/api/v1/me", key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "principal.id"), kid);
    assert_string_equal(jstr(r.json, "principal.role"), "viewer");
    assert_string_equal(jstr(r.json, "organization.id"), a.org);
    resp_free(&r);
    assert_int_equal(status_of(&S, "GET", "/api/v1/users", key, NULL), 403);
    /* listed, without the key */
    rc = srv_cli(&S, &out, NULL, "keys", "list", "--org", a.org, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, kid));
    assert_null(strstr(out, key));
    free(out);
    /* and the API sees it, made by the system */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/keys/%s", kid);
    call(&S, "GET", path, a.key, NULL, &r);
    expect_status(&r, 200);
    assert_string_equal(jstr(r.json, "name"), "x");
    resp_free(&r);

    rc = srv_cli(&S, &out, &err, "keys", "revoke", "--org", a.org, kid, NULL);
    if (rc != 0)
        fail_msg("keys revoke exited %d: %s", rc, err);
    assert_non_null(strstr(out, "revoked"));
    free(out);
    free(err);
    call(&S, "GET", "/api/v1/me", key, NULL, &r);
    expect_error(&r, 401, "unauthenticated", NULL);
    resp_free(&r);
    rc = srv_cli(&S, &out, NULL, "keys", "list", "--org", a.org, NULL);
    assert_non_null(strstr(out, "REVOKED"));
    free(out);
    /* revoking again fails (exit 1) */
    rc = srv_cli(&S, &out, &err, "keys", "revoke", "--org", a.org, kid, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "already revoked"));
    free(out);
    free(err);
    /* the revocation is audited */
    json_t *l = audit_get(&S, a.key, "action=key.revoked");
    assert_int_equal(json_array_size(json_object_get(l, "data")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(l, "data"), 0), "target.id"), kid);
    assert_string_equal(jstr(json_array_get(json_object_get(l, "data"), 0), "actor.type"),
                        "system");
    json_decref(l);

    /* an unknown organisation exits 1 */
    const char *unknown = "00000000-0000-7000-8000-000000000000";
    rc = srv_cli(&S, &out, &err, "keys", "list", "--org", unknown, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "no such organization"));
    free(out);
    free(err);
    rc = srv_cli(&S, &out, &err, "keys", "create", "--org", unknown, "--name", "x", NULL);
    assert_int_equal(rc, 1);
    assert_null(strstr(out, "aegis_"));
    free(out);
    free(err);
    /* another organisation's key is not revoked through this one */
    struct acct b;
    signup(&S, &b);
    rc = srv_cli(&S, &out, &err, "keys", "revoke", "--org", a.org, b.key_id, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "no such key"));
    free(out);
    free(err);
    assert_int_equal(status_of(&S, "GET", "/api/v1/me", b.key, NULL), 200);
    /* bad usage exits 2 */
    rc = srv_cli(&S, &out, &err, "keys", "create", "--org", a.org, "--name", "x", "--role", "god",
                 NULL);
    assert_int_equal(rc, 2);
    free(out);
    free(err);
    rc = srv_cli(&S, &out, &err, "keys", "list", NULL);
    assert_int_equal(rc, 2);
    free(out);
    free(err);
}

/* Usage mistakes exit 2 (README: "2 bad usage"), and the CLI keeps the API's rules on key names. */
static void cli_keys_usage_errors_exit_2(void **state)
{
    (void)state;
    struct acct a;
    signup(&S, &a);
    char problems[600] = "";
    size_t np = 0;
    char *out = NULL, *err = NULL;
    /* KEY_ID is required by `aegis keys revoke --org ORG_ID KEY_ID` */
    int rc = srv_cli(&S, &out, &err, "keys", "revoke", "--org", a.org, NULL);
    if (rc != 2)
        np += (size_t)snprintf(problems + np, sizeof problems - np,
                               "`keys revoke --org ID` without KEY_ID exited %d (%.*s), not 2; ",
                               rc, err ? (int)strcspn(err, "\n") : 0, err ? err : "");
    free(out);
    free(err);
    /* an empty name: POST /api/v1/keys answers 400 "name must not be empty" */
    rc = srv_cli(&S, &out, &err, "keys", "create", "--org", a.org, "--name", "", NULL);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM api_keys WHERE org_id = '%s' AND name = ''",
             a.org);
    int64_t unnamed = db_count(&S, sql);
    if (rc != 2 || unnamed != 0)
        np += (size_t)snprintf(problems + np, sizeof problems - np,
                               "`keys create --name \"\"` exited %d and made %lld unnamed key(s); ",
                               rc, (long long)unnamed);
    free(out);
    free(err);
    if (np)
        fail_msg("%s", problems);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signup_creates_org_owner_and_key),
        cmocka_unit_test(signup_validation_errors),
        cmocka_unit_test(signup_conflict_leaves_nothing_half_made),
        cmocka_unit_test_teardown(signup_is_rate_limited_per_ip, own_teardown),
        cmocka_unit_test_teardown(signup_closed_when_limit_is_zero, own_teardown),
        cmocka_unit_test(login_gives_session_token_and_cookie),
        cmocka_unit_test(wrong_password_and_unknown_email_answer_alike),
        cmocka_unit_test_teardown(failed_logins_are_rate_limited_per_ip, own_teardown),
        cmocka_unit_test_teardown(failed_logins_take_the_same_time, own_teardown),
        cmocka_unit_test(logout_revokes_the_session),
        cmocka_unit_test(unauthenticated_requests_get_401),
        cmocka_unit_test(roles_are_enforced),
        cmocka_unit_test(users_create_list_get_update_delete),
        cmocka_unit_test(user_fields_are_validated),
        cmocka_unit_test(owner_rules),
        cmocka_unit_test(last_owner_guard_holds_under_concurrent_demotions),
        cmocka_unit_test(invited_members_set_their_own_password),
        cmocka_unit_test(keys_are_shown_once),
        cmocka_unit_test(keys_cannot_outrank_their_creator),
        cmocka_unit_test(keys_revoke_and_last_used),
        cmocka_unit_test(audit_log_records_identity_events),
        cmocka_unit_test(audit_log_filters),
        cmocka_unit_test(audit_log_pages_with_a_cursor),
        cmocka_unit_test(audit_log_is_per_organization),
        cmocka_unit_test_teardown(secrets_never_reach_logs_or_database, own_teardown),
        cmocka_unit_test(cli_onboard_prints_a_working_key),
        cmocka_unit_test(cli_keys_list_create_revoke),
        cmocka_unit_test(cli_keys_usage_errors_exit_2),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + srv_exit_failures;
}

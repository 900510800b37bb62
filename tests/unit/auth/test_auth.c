/*
 * Tests src/auth/auth.c: roles, Argon2id password hashing (with a small cost from a struct cfg
 * filled by hand), input rules (passwords, emails, organisation names), the shape and randomness of
 * API keys and session tokens, the peppered secret hash, and signup, login and resolve against a
 * real temporary SQLite store (atomic signup, conflicts, audit rows of failures, revoked and
 * expired credentials).
 */
#include "../unit.h"

#include "auth/auth.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/ids.h"
#include "store/store.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>

/* ---- fixtures
 * ------------------------------------------------------------------------------------ */

static char pepper_dev[] = "";
static char pepper_one[] = "pepper-one-0123456789abcdef0123456789";
static char pepper_two[] = "pepper-two-0123456789abcdef0123456789";

/* The settings auth.c reads, with a cost small enough for tests. */
static struct cfg small_cfg(char *pepper, long m_kib, long t)
{
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.key_pepper = pepper;
    c.argon2_memory_kib = m_kib;
    c.argon2_iterations = t;
    c.session_ttl_minutes = 60;
    return c;
}

static char tmpdir[512];
static int counter;

struct fx {
    struct store *s;
    struct cfg c;
};

static int group_setup(void **state)
{
    unit_tmpdir(tmpdir, sizeof tmpdir, "auth");
    return 0;
}

static int group_teardown(void **state)
{
    unit_rmtree(tmpdir);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof *f);
    char url[700], err[256] = "";
    snprintf(url, sizeof url, "sqlite://%s/auth%d.db", tmpdir, ++counter);
    if (store_open(url, 2, &f->s, err, sizeof err))
        fail_msg("store_open: %s", err);
    int applied = 0;
    if (store_migrate(f->s, &applied, err, sizeof err))
        fail_msg("store_migrate: %s", err);
    f->c = small_cfg(pepper_one, 64, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    free(f);
    return 0;
}

static int64_t count(struct store *s, const char *sql_text)
{
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, sql_text, &q), AEG_OK);
    assert_int_equal(db_step(q), DB_ROW);
    int64_t n = db_col_int64(q, 0);
    db_finalize(q);
    store_release(s, db);
    return n;
}

static void exec_sql(struct store *s, const char *sql_text)
{
    struct db *db = store_conn(s);
    int rc = db_exec(db, sql_text);
    if (rc)
        fail_msg("%s: %s", sql_text, db_errmsg(db));
    store_release(s, db);
}

static const struct auth_req rq = {.request_id = "req-test", .ip = "198.51.100.4"};

static void signup_ok(struct fx *f, const char *org, const char *email, const char *password,
                      struct signup_result *out)
{
    struct signup in = {.org_name = org, .email = email, .password = password};
    const char *why = NULL;
    int rc = auth_signup(f->s, &f->c, &in, &rq, out, &why);
    if (rc)
        fail_msg("signup %s: %s (%s)", email, aeg_code_name(rc), why ? why : "");
}

/* ---- roles
 * --------------------------------------------------------------------------------------- */

static void test_roles(void **state)
{
    static const char *names[] = {"viewer", "analyst", "admin", "owner"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(role_parse(names[i]), ROLE_VIEWER + i);
        assert_string_equal(role_name(ROLE_VIEWER + i), names[i]);
    }
    assert_true(ROLE_NONE < ROLE_VIEWER && ROLE_VIEWER < ROLE_ANALYST &&
                ROLE_ANALYST < ROLE_ADMIN && ROLE_ADMIN < ROLE_OWNER);
    assert_int_equal(role_parse("Owner"), ROLE_NONE);
    assert_int_equal(role_parse("owner "), ROLE_NONE);
    assert_int_equal(role_parse("none"), ROLE_NONE);
    assert_int_equal(role_parse("root"), ROLE_NONE);
    assert_int_equal(role_parse(""), ROLE_NONE);
    assert_int_equal(role_parse(NULL), ROLE_NONE);
    assert_string_equal(role_name(ROLE_NONE), "none");
    assert_string_equal(role_name(-1), "none");
    assert_string_equal(role_name(5), "none");
    assert_string_equal(role_name(1 << 30), "none");
}

/* ---- passwords
 * ----------------------------------------------------------------------------------- */

static void test_password_hash_and_verify(void **state)
{
    struct cfg c = small_cfg(pepper_dev, 64, 1);
    char *h1 = NULL, *h2 = NULL;
    assert_int_equal(auth_password_hash(&c, "correct horse battery", &h1), AEG_OK);
    assert_int_equal(auth_password_hash(&c, "correct horse battery", &h2), AEG_OK);
    assert_non_null(h1);
    assert_non_null(h2);
    /* Argon2id with the configured memory and iterations, one lane */
    assert_true(!strncmp(h1, "$argon2id$v=19$m=64,t=1,p=1$", 28));
    assert_string_not_equal(h1, h2); /* a fresh salt each time */
    assert_true(auth_password_verify(h1, "correct horse battery"));
    assert_true(auth_password_verify(h2, "correct horse battery"));
    assert_false(auth_password_verify(h1, "correct horse batterY"));
    assert_false(auth_password_verify(h1, "correct horse battery "));
    assert_false(auth_password_verify(h1, ""));
    assert_false(auth_password_verify(NULL, "correct horse battery"));
    assert_false(auth_password_verify("", "correct horse battery"));
    assert_false(auth_password_verify("$argon2id$garbage", "correct horse battery"));
    assert_false(auth_password_verify("plain text", "plain text"));
    /* a hash with one character of its digest changed does not verify */
    size_t n = strlen(h1);
    h1[n - 2] = h1[n - 2] == 'A' ? 'B' : 'A';
    assert_false(auth_password_verify(h1, "correct horse battery"));
    free(h1);
    free(h2);

    /* another cost is honoured and still verifies */
    struct cfg c2 = small_cfg(pepper_dev, 128, 2);
    char *h3 = NULL;
    assert_int_equal(auth_password_hash(&c2, "another password!", &h3), AEG_OK);
    assert_true(!strncmp(h3, "$argon2id$v=19$m=128,t=2,p=1$", 29));
    assert_true(auth_password_verify(h3, "another password!"));
    free(h3);

    /* the pepper plays no part in passwords: a hash made under one verifies under any */
    struct cfg c3 = small_cfg(pepper_two, 64, 1);
    assert_int_equal(auth_password_hash(&c3, "0123456789", &h3), AEG_OK);
    assert_true(auth_password_verify(h3, "0123456789"));
    free(h3);

    /* long and non-ASCII passwords */
    char longpw[257];
    memset(longpw, 'p', 256);
    longpw[256] = '\0';
    assert_int_equal(auth_password_hash(&c, longpw, &h3), AEG_OK);
    assert_true(auth_password_verify(h3, longpw));
    longpw[255] = 'q';
    assert_false(auth_password_verify(h3, longpw));
    free(h3);
    assert_int_equal(auth_password_hash(&c, "pässwörd-ünïcødé", &h3), AEG_OK);
    assert_true(auth_password_verify(h3, "pässwörd-ünïcødé"));
    assert_false(auth_password_verify(h3, "passwOrd-unicode"));
    free(h3);
}

static void test_password_hash_failure(void **state)
{
    /* Argon2 refuses a memory cost under 8 KiB per lane: an internal error, nothing returned */
    struct cfg c = small_cfg(pepper_dev, 1, 1);
    char *h = (char *)"untouched";
    assert_int_equal(auth_password_hash(&c, "0123456789", &h), AEG_EINTERNAL);
    assert_null(h);
}

static void test_password_problem(void **state)
{
    assert_non_null(auth_password_problem(NULL));
    assert_non_null(auth_password_problem(""));
    assert_non_null(auth_password_problem("123456789"));
    assert_null(auth_password_problem("1234567890"));
    char p[300];
    memset(p, 'x', sizeof p);
    p[256] = '\0';
    assert_null(auth_password_problem(p));
    p[256] = 'x';
    p[257] = '\0';
    const char *why = auth_password_problem(p);
    assert_non_null(why);
    assert_non_null(strstr(why, "256"));
    assert_non_null(strstr(auth_password_problem("short"), "10"));
}

/* ---- emails
 * -------------------------------------------------------------------------------------- */

static void email_ok(const char *in, const char *want)
{
    char out[256];
    const char *why = NULL;
    if (!auth_email_normalise(in, out, sizeof out, &why))
        fail_msg("email \"%s\" refused: %s", in, why);
    assert_string_equal(out, want);
}

static void email_bad(const char *in)
{
    char out[300];
    const char *why = NULL;
    if (auth_email_normalise(in, out, sizeof out, &why))
        fail_msg("email \"%s\" accepted as \"%s\"", in, out);
    assert_non_null(why);
    assert_true(strlen(why) > 5);
}

static void test_email_normalise(void **state)
{
    email_ok("alice@example.com", "alice@example.com");
    email_ok("  Alice@Example.COM\t", "alice@example.com");
    email_ok("\t\tBOB.SMITH+tag@Sub.Example.co.uk  ", "bob.smith+tag@sub.example.co.uk");
    email_ok("a@b.c", "a@b.c");
    email_ok("o'brien_x-y@example.org", "o'brien_x-y@example.org");

    email_bad("");
    email_bad("   ");
    email_bad("alice");
    email_bad("alice.example.com");
    email_bad("alice@@example.com");
    email_bad("alice@bob@example.com");
    email_bad("@example.com");
    email_bad("alice@");
    email_bad("alice@localhost");
    email_bad("alice@.example.com");
    email_bad("alice@example.com.");
    email_bad("alice@example..com");
    email_bad(".alice@example.com");
    email_bad("alice.@example.com");
    email_bad("ali ce@example.com");
    email_bad("alice@exa mple.com");
    email_bad("alice\t@example.com");
    email_bad("alice\n@example.com");
    email_bad("alice@example.com\n");
    email_bad("al\x01ice@example.com");
    email_bad("alice\x7f@example.com");
    email_bad("ålice@example.com");
    email_bad("\"alice\"@example.com");
    email_bad("alice@[192.0.2.1]");
    email_bad("<alice@example.com>");
    email_bad("alice@example.com, bob@example.com");
    email_bad("alice;@example.com");

    /* lengths: local part up to 64, whole address up to 254 */
    char e[400], local[100], domain[300];
    memset(local, 'l', 64);
    local[64] = '\0';
    snprintf(e, sizeof e, "%s@example.com", local);
    email_ok(e, e);
    local[64] = 'l';
    local[65] = '\0';
    snprintf(e, sizeof e, "%s@example.com", local);
    email_bad(e);
    /* 254: 10 + 1 + 243 (domain: labels of 60 joined by dots, then ".com") */
    memset(domain, 0, sizeof domain);
    size_t d = 0;
    for (; d < 243 - 4; d++)
        domain[d] = d % 61 == 60 ? '.' : 'd';
    memcpy(domain + d, ".com", 5);
    snprintf(e, sizeof e, "abcdefghij@%s", domain);
    assert_int_equal(strlen(e), 254);
    email_ok(e, e);
    snprintf(e, sizeof e, "abcdefghijk@%s", domain);
    assert_int_equal(strlen(e), 255);
    email_bad(e);
    /* surrounding blanks do not count toward the length */
    snprintf(e, sizeof e, "   abcdefghij@%s   ", domain);
    char out[256];
    const char *why;
    assert_true(auth_email_normalise(e, out, sizeof out, &why));
    assert_int_equal(strlen(out), 254);

    /* a buffer too small is a refusal, never an overflow */
    char tiny[8];
    assert_false(auth_email_normalise("alice@example.com", tiny, sizeof tiny, &why));
    assert_true(auth_email_normalise("a@b.cd", tiny, sizeof tiny, &why));
    assert_string_equal(tiny, "a@b.cd");
}

/* ---- organisation names
 * -------------------------------------------------------------------------- */

static void test_org_name_problem(void **state)
{
    assert_null(auth_org_name_problem("Acme"));
    assert_null(auth_org_name_problem("AB"));
    assert_null(auth_org_name_problem("Acme Corp. (EU) & Partners, O'Neil-Smith_2"));
    assert_null(auth_org_name_problem("Société Générale"));
    assert_null(auth_org_name_problem("株式会社"));
    assert_non_null(auth_org_name_problem(NULL));
    assert_non_null(auth_org_name_problem(""));
    assert_non_null(auth_org_name_problem("A"));
    assert_non_null(auth_org_name_problem(" Acme"));
    assert_non_null(auth_org_name_problem("Acme "));
    assert_non_null(auth_org_name_problem("<script>"));
    assert_non_null(auth_org_name_problem("Acme; DROP TABLE orgs"));
    assert_non_null(auth_org_name_problem("Acme\tCorp"));
    assert_non_null(auth_org_name_problem("Acme\nCorp"));
    assert_non_null(auth_org_name_problem("Acme\"Corp"));
    assert_non_null(auth_org_name_problem("Acme/Corp"));
    assert_non_null(auth_org_name_problem("a@b"));
    char n[200];
    memset(n, 'a', 100);
    n[100] = '\0';
    assert_null(auth_org_name_problem(n));
    n[100] = 'a';
    n[101] = '\0';
    assert_non_null(auth_org_name_problem(n));
}

/* The limits are "2 to 100 characters" (auth.h, the message, and maxLength 100 in the OpenAPI
 * schema, which counts characters): a name of 100 two-byte letters is 100 characters. */
static void test_org_name_counts_characters(void **state)
{
    char n[400];
    for (int i = 0; i < 101; i++)
        memcpy(n + 2 * i, "\xc3\xa9", 2); /* é */
    n[200] = '\0';
    const char *why = auth_org_name_problem(n);
    if (why)
        fail_msg("a name of 100 characters (200 bytes of UTF-8) is refused: %s", why);
    n[200] = '\xc3';
    n[202] = '\0';
    assert_non_null(auth_org_name_problem(n));              /* 101 characters */
    assert_non_null(auth_org_name_problem("\xe6\xa0\xaa")); /* one character, 3 bytes */
}

/* Bytes >= 0x80 are let through as "UTF-8 letters", but a name must be UTF-8: jansson cannot put
 * anything else in a JSON answer (json_pack of such a name fails). */
static void test_org_name_must_be_utf8(void **state)
{
    static const char *bad[] = {"Acme \xff\xfe", "\x80\x80", "Acme \xc3", "Acme \xc0\xaf",
                                "Acme \xed\xa0\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!auth_org_name_problem(bad[i]))
            fail_msg("organisation name %zu (invalid UTF-8) is accepted", i);
}

/* ---- secrets
 * ------------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int b62(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'Z')
        return 10 + ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return 36 + ch - 'a';
    return -1;
}

static double chi_square(const long counts[62], long total)
{
    double expect = (double)total / 62.0, chi = 0;
    for (int i = 0; i < 62; i++)
        chi += (counts[i] - expect) * (counts[i] - expect) / expect;
    return chi;
}

/* Draws n secrets with gen; checks shape, uniqueness and an even spread of characters. */
static void check_secrets(void (*gen)(char *), const char *prefix, size_t random_len, size_t len)
{
    enum { N = 10000 };
    char **all = xcalloc(N, sizeof *all);
    long counts[62] = {0}, first[62] = {0};
    size_t pl = strlen(prefix);
    for (int i = 0; i < N; i++) {
        all[i] = xmalloc(len + 8);
        memset(all[i], '#', len + 8);
        gen(all[i]);
        if (strlen(all[i]) != len || strncmp(all[i], prefix, pl) != 0)
            fail_msg("secret %d has the wrong shape: %s", i, all[i]);
        for (size_t k = pl; k < len; k++) {
            int v = b62(all[i][k]);
            if (v < 0)
                fail_msg("secret %d has a character outside base62: %s", i, all[i]);
            counts[v]++;
        }
        first[b62(all[i][pl])]++;
    }
    assert_int_equal(pl + random_len, len);
    qsort(all, N, sizeof *all, cmp_str);
    for (int i = 1; i < N; i++)
        if (!strcmp(all[i - 1], all[i]))
            fail_msg("the same secret was drawn twice: %s", all[i]);
    for (int i = 0; i < N; i++)
        free(all[i]);
    free(all);
    /* 61 degrees of freedom: mean 61, sd 11. 200 is far out (p < 1e-15) yet catches a modulo bias
     * or a missing symbol at once. */
    double chi = chi_square(counts, (long)(N * random_len));
    if (chi > 200)
        fail_msg("%s characters are not evenly spread: chi-square %.1f over 62 symbols", prefix,
                 chi);
    for (int i = 0; i < 62; i++)
        assert_true(counts[i] > 0);
    double chi_first = chi_square(first, N);
    if (chi_first > 200)
        fail_msg("%s first random character is not evenly spread: chi-square %.1f", prefix,
                 chi_first);
}

static void gen_key(char *out)
{
    auth_new_api_key(out);
}

static void gen_session(char *out)
{
    auth_new_session_token(out);
}

static void test_api_keys(void **state)
{
    assert_int_equal(AUTH_KEY_LEN, 38);
    check_secrets(gen_key, "aegis_", AUTH_KEY_RANDOM, AUTH_KEY_LEN);
    /* a key is never mistaken for a session token, nor the other way */
    char k[AUTH_KEY_LEN + 1];
    auth_new_api_key(k);
    assert_false(!strncmp(k, AUTH_SESSION_PREFIX, strlen(AUTH_SESSION_PREFIX)) &&
                 strlen(k) == AUTH_SESSION_LEN);
}

static void test_session_tokens(void **state)
{
    assert_int_equal(AUTH_SESSION_LEN, 48);
    check_secrets(gen_session, "aegis_s_", AUTH_SESSION_RANDOM, AUTH_SESSION_LEN);
}

static void test_secret_hash_depends_on_pepper(void **state)
{
    struct cfg c1 = small_cfg(pepper_one, 64, 1), c2 = small_cfg(pepper_two, 64, 1),
               cd = small_cfg(pepper_dev, 64, 1);
    char h1[65], h1b[65], h2[65], hd[65], other[65], want[65];
    const char *secret = "aegis_0123456789abcdefghijABCDEFGHIJ01";
    auth_secret_hash(&c1, secret, h1);
    auth_secret_hash(&c1, secret, h1b);
    auth_secret_hash(&c2, secret, h2);
    auth_secret_hash(&cd, secret, hd);
    auth_secret_hash(&c1, "aegis_0123456789abcdefghijABCDEFGHIJ02", other);
    assert_int_equal(strlen(h1), 64);
    for (int i = 0; i < 64; i++)
        assert_true(isxdigit((unsigned char)h1[i]) && !isupper((unsigned char)h1[i]));
    assert_string_equal(h1, h1b);    /* deterministic: lookups work */
    assert_string_not_equal(h1, h2); /* the pepper matters */
    assert_string_not_equal(h1, hd);
    assert_string_not_equal(h1, other); /* and the secret */
    /* it is HMAC-SHA-256 keyed by the pepper, not a plain digest of the secret */
    crypto_hmac_sha256_hex(pepper_one, strlen(pepper_one), secret, strlen(secret), want);
    assert_string_equal(h1, want);
    char plain[65];
    crypto_sha256_hex(secret, strlen(secret), plain);
    assert_string_not_equal(h1, plain);
    /* an empty setting means the development pepper, which is not empty */
    assert_string_equal(auth_pepper(&c1), pepper_one);
    assert_true(strlen(auth_pepper(&cd)) >= 16);
    crypto_hmac_sha256_hex("", 0, secret, strlen(secret), want);
    assert_string_not_equal(hd, want);

    /* the audit chain key is derived from the pepper too, and is not the pepper itself */
    char a1[65], a2[65], a1b[65];
    auth_audit_key(&c1, a1);
    auth_audit_key(&c1, a1b);
    auth_audit_key(&c2, a2);
    assert_string_equal(a1, a1b);
    assert_string_not_equal(a1, a2);
    assert_null(strstr(a1, pepper_one));
}

/* ---- signup
 * -------------------------------------------------------------------------------------- */

static void test_signup_creates_everything(void **state)
{
    struct fx *f = *state;
    struct signup_result out;
    signup_ok(f, "Acme Corp", "  Owner@Acme.example ", "long enough password", &out);
    assert_true(id_is_uuid(out.org_id));
    assert_true(id_is_uuid(out.user_id));
    assert_true(id_is_uuid(out.key_id));
    assert_int_equal(strlen(out.api_key), AUTH_KEY_LEN);
    assert_true(!strncmp(out.api_key, AUTH_KEY_PREFIX, strlen(AUTH_KEY_PREFIX)));

    struct tenant t = {.org_id = out.org_id};
    struct db *db = store_conn(f->s);
    struct org_row o;
    assert_int_equal(store_org_get(db, &t, &o), AEG_OK);
    assert_string_equal(o.name, "Acme Corp");
    assert_string_equal(o.plan, "free");
    assert_string_equal(o.status, "active");
    org_row_free(&o);
    struct user_row u;
    assert_int_equal(store_user_get(db, &t, out.user_id, &u), AEG_OK);
    assert_string_equal(u.email, "owner@acme.example");
    assert_string_equal(u.role, "owner");
    assert_string_equal(u.org_id, out.org_id);
    assert_non_null(u.password_hash);
    assert_true(!strncmp(u.password_hash, "$argon2id$", 10));
    assert_null(strstr(u.password_hash, "long enough password"));
    assert_true(auth_password_verify(u.password_hash, "long enough password"));
    user_row_free(&u);
    struct key_row k;
    assert_int_equal(store_key_get(db, &t, out.key_id, &k), AEG_OK);
    assert_string_equal(k.role, "owner");
    assert_string_equal(k.created_by, out.user_id);
    assert_int_equal(strlen(k.prefix), AUTH_KEY_DISPLAY);
    assert_true(!strncmp(k.prefix, out.api_key, AUTH_KEY_DISPLAY));
    assert_int_equal(k.revoked_at, 0);
    assert_int_equal(k.expires_at, 0);
    key_row_free(&k);
    store_release(f->s, db);
    /* the key itself is stored nowhere: only its peppered hash */
    char hash[65];
    auth_secret_hash(&f->c, out.api_key, hash);
    char q[600];
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM api_keys WHERE key_hash = '%s'", hash);
    assert_int_equal(count(f->s, q), 1);
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM api_keys WHERE key_hash LIKE '%%%s%%'",
             out.api_key + strlen(AUTH_KEY_PREFIX));
    assert_int_equal(count(f->s, q), 0);

    /* the audit trail: signup, user, key, in one intact chain */
    snprintf(
        q, sizeof q,
        "SELECT COUNT(*) FROM audit_log WHERE org_id = '%s' AND ((seq = 1 AND action = "
        "'org.signup') OR (seq = 2 AND action = 'user.created') OR (seq = 3 AND action = "
        "'key.created')) AND actor_id = '%s' AND ip = '198.51.100.4' AND request_id = 'req-test'",
        out.org_id, out.user_id);
    assert_int_equal(count(f->s, q), 3);
    char key[65];
    auth_audit_key(&f->c, key);
    int64_t rows, chains;
    struct audit_problem p;
    db = store_conn(f->s);
    assert_int_equal(store_audit_verify(db, key, out.org_id, &rows, &chains, &p), AEG_OK);
    store_release(f->s, db);
    assert_int_equal(rows, 3);

    /* the key works */
    struct principal who;
    assert_int_equal(auth_resolve(f->s, &f->c, out.api_key, &who), AEG_OK);
    assert_string_equal(who.org_id, out.org_id);
    assert_string_equal(who.actor_type, "key");
    assert_string_equal(who.actor_id, out.key_id);
    assert_int_equal(who.role, ROLE_OWNER);
    assert_string_equal(who.session_id, "");

    /* a plan is kept */
    struct signup in = {.org_name = "Beta", .email = "b@beta.example", .plan = "pro"};
    const char *why;
    struct signup_result out2;
    assert_int_equal(auth_signup(f->s, &f->c, &in, &rq, &out2, &why), AEG_OK);
    t.org_id = out2.org_id;
    db = store_conn(f->s);
    assert_int_equal(store_org_get(db, &t, &o), AEG_OK);
    assert_string_equal(o.plan, "pro");
    org_row_free(&o);
    store_release(f->s, db);
    assert_string_not_equal(out.org_id, out2.org_id);
    assert_string_not_equal(out.api_key, out2.api_key);
}

static void test_signup_rejects_bad_input(void **state)
{
    struct fx *f = *state;
    struct {
        struct signup in;
        const char *why_has;
    } cases[] = {
        {{.org_name = "A", .email = "a@a.example"}, "organization_name"},
        {{.org_name = NULL, .email = "a@a.example"}, "organization_name"},
        {{.org_name = "Acme", .email = "not an email"}, "email"},
        {{.org_name = "Acme", .email = NULL}, "email"},
        {{.org_name = "Acme", .email = "a@a.example", .password = "short"}, "password"},
        {{.org_name = "Acme", .email = "a@a.example", .plan = "platinum"}, "plan"},
        {{.org_name = "Acme", .email = "a@a.example", .plan = ""}, "plan"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct signup_result out;
        memset(&out, 'x', sizeof out);
        const char *why = NULL;
        int rc = auth_signup(f->s, &f->c, &cases[i].in, &rq, &out, &why);
        if (rc != AEG_EINVAL)
            fail_msg("case %zu: %s", i, aeg_code_name(rc));
        assert_non_null(why);
        assert_non_null(strstr(why, cases[i].why_has));
        assert_string_equal(out.api_key, "");
    }
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM orgs"), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM users"), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_log"), 0);
}

static void test_signup_duplicate_email(void **state)
{
    struct fx *f = *state;
    struct signup_result first, second;
    signup_ok(f, "First Org", "taken@example.com", "first password", &first);
    struct signup in = {
        .org_name = "Second Org", .email = "  TAKEN@Example.com", .password = "second password"};
    const char *why = NULL;
    memset(&second, 'x', sizeof second);
    assert_int_equal(auth_signup(f->s, &f->c, &in, &rq, &second, &why), AEG_ECONFLICT);
    assert_non_null(why);
    assert_non_null(strstr(why, "email"));
    /* nothing of the second signup is left: no org, no key, no audit rows, no key handed out */
    assert_string_equal(second.api_key, "");
    assert_string_equal(second.org_id, "");
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM orgs"), 1);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM orgs WHERE name = 'Second Org'"), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM users"), 1);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM api_keys"), 1);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_log"), 3);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_heads"), 1);
    /* the first account still logs in with its own password */
    struct login_result lr;
    assert_int_equal(auth_login(f->s, &f->c, "taken@example.com", "first password", &rq, &lr),
                     AEG_OK);
    assert_string_equal(lr.who.org_id, first.org_id);
}

/* A failure after the org and the user were written (here: the key insert) leaves nothing behind.
 */
static void test_signup_is_atomic(void **state)
{
    struct fx *f = *state;
    exec_sql(f->s, "CREATE TRIGGER no_keys BEFORE INSERT ON api_keys"
                   " BEGIN SELECT RAISE(ABORT, 'keys are broken'); END");
    struct signup in = {
        .org_name = "Doomed", .email = "doomed@example.com", .password = "doomed password"};
    struct signup_result out;
    const char *why = NULL;
    int rc = auth_signup(f->s, &f->c, &in, &rq, &out, &why);
    assert_int_not_equal(rc, AEG_OK);
    assert_string_equal(out.api_key, "");
    assert_string_equal(out.org_id, "");
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM orgs"), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM users"), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_log"), 0);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_heads"), 0);
    exec_sql(f->s, "DROP TRIGGER no_keys");
    /* and the email is free to use */
    signup_ok(f, "Doomed", "doomed@example.com", "doomed password", &out);
    /* an audit failure rolls back too */
    exec_sql(f->s, "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log WHEN NEW.seq = 3"
                   " BEGIN SELECT RAISE(ABORT, 'audit is broken'); END");
    in.email = "second@example.com";
    assert_int_not_equal(auth_signup(f->s, &f->c, &in, &rq, &out, &why), AEG_OK);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM orgs"), 1);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM users"), 1);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM api_keys"), 1);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_log"), 3);
}

/* ---- login
 * --------------------------------------------------------------------------------------- */

static void test_login(void **state)
{
    struct fx *f = *state;
    struct signup_result su;
    signup_ok(f, "Login Org", "login@example.com", "the right password", &su);
    struct login_result lr;
    int64_t before = clock_now_ms();
    assert_int_equal(auth_login(f->s, &f->c, " Login@Example.com ", "the right password", &rq, &lr),
                     AEG_OK);
    assert_int_equal(strlen(lr.token), AUTH_SESSION_LEN);
    assert_true(!strncmp(lr.token, AUTH_SESSION_PREFIX, strlen(AUTH_SESSION_PREFIX)));
    assert_string_equal(lr.who.org_id, su.org_id);
    assert_string_equal(lr.who.actor_id, su.user_id);
    assert_string_equal(lr.who.actor_type, "user");
    assert_int_equal(lr.who.role, ROLE_OWNER);
    assert_true(id_is_uuid(lr.who.session_id));
    assert_true(lr.expires_at >= before + 60 * 60000 &&
                lr.expires_at <= clock_now_ms() + 60 * 60000);

    struct principal p;
    assert_int_equal(auth_resolve(f->s, &f->c, lr.token, &p), AEG_OK);
    assert_string_equal(p.org_id, su.org_id);
    assert_string_equal(p.actor_type, "user");
    assert_string_equal(p.actor_id, su.user_id);
    assert_string_equal(p.session_id, lr.who.session_id);
    assert_int_equal(p.role, ROLE_OWNER);

    /* the user's role is read at each request: a demoted user's session carries the new role */
    struct tenant t = {.org_id = su.org_id};
    struct db *db = store_conn(f->s);
    assert_int_equal(store_user_set_role(db, &t, su.user_id, "viewer", clock_now_ms()), AEG_OK);
    struct user_row u;
    assert_int_equal(store_user_get(db, &t, su.user_id, &u), AEG_OK);
    assert_true(u.last_login_at >= before);
    user_row_free(&u);
    store_release(f->s, db);
    assert_int_equal(auth_resolve(f->s, &f->c, lr.token, &p), AEG_OK);
    assert_int_equal(p.role, ROLE_VIEWER);

    char q[600];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM audit_log WHERE org_id = '%s' AND action = 'login' AND "
             "target_id = '%s' AND outcome = 'success'",
             su.org_id, lr.who.session_id);
    assert_int_equal(count(f->s, q), 1);
    /* the token is not stored */
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM sessions WHERE token_hash = '%s'", lr.token);
    assert_int_equal(count(f->s, q), 0);
}

static void test_login_failures(void **state)
{
    struct fx *f = *state;
    struct signup_result su;
    signup_ok(f, "Fail Org", "fail@example.com", "the right password", &su);
    struct login_result lr;
    memset(&lr, 'x', sizeof lr);
    assert_int_equal(auth_login(f->s, &f->c, "fail@example.com", "the wrong password", &rq, &lr),
                     AEG_EUNAUTH);
    assert_string_equal(lr.token, ""); /* nothing handed out */
    char q[600];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM audit_log WHERE org_id = '%s' AND action = 'login.failed' AND "
             "outcome = 'failure' AND target_id = '%s' AND actor_id = '%s' AND ip = '198.51.100.4'"
             " AND detail LIKE '%%password%%'",
             su.org_id, su.user_id, su.user_id);
    assert_int_equal(count(f->s, q), 1);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM sessions"), 0);
    /* the attempted password is never written anywhere */
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%wrong%'"), 0);

    /* an unknown email: the same answer, audited in the no-organisation chain */
    assert_int_equal(auth_login(f->s, &f->c, "nobody@example.com", "the right password", &rq, &lr),
                     AEG_EUNAUTH);
    assert_int_equal(count(f->s,
                           "SELECT COUNT(*) FROM audit_log WHERE org_id = '-' AND action = "
                           "'login.failed' AND actor_type = 'anonymous' AND target_id IS NULL"),
                     1);
    /* nor is the attempted email kept in the no-organisation chain (it may be a password typed in
     * the wrong field) */
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%nobody%'"), 0);
    /* malformed input: refused the same way */
    assert_int_equal(auth_login(f->s, &f->c, "not an email", "x", &rq, &lr), AEG_EUNAUTH);
    assert_int_equal(auth_login(f->s, &f->c, NULL, NULL, &rq, &lr), AEG_EUNAUTH);
    assert_int_equal(auth_login(f->s, &f->c, "fail@example.com", NULL, &rq, &lr), AEG_EUNAUTH);
    assert_int_equal(auth_login(f->s, &f->c, "fail@example.com", "", &rq, &lr), AEG_EUNAUTH);

    /* an account without a password cannot log in with any */
    struct signup in = {.org_name = "Keyless", .email = "keyonly@example.com"};
    const char *why;
    struct signup_result su2;
    assert_int_equal(auth_signup(f->s, &f->c, &in, &rq, &su2, &why), AEG_OK);
    assert_int_equal(auth_login(f->s, &f->c, "keyonly@example.com", "", &rq, &lr), AEG_EUNAUTH);
    assert_int_equal(auth_login(f->s, &f->c, "keyonly@example.com", "anything at all", &rq, &lr),
                     AEG_EUNAUTH);

    /* every chain still verifies */
    char key[65];
    auth_audit_key(&f->c, key);
    int64_t rows, chains;
    struct audit_problem p;
    struct db *db = store_conn(f->s);
    assert_int_equal(store_audit_verify(db, key, NULL, &rows, &chains, &p), AEG_OK);
    store_release(f->s, db);
    assert_int_equal(chains, 3);
}

/* ---- resolve
 * ------------------------------------------------------------------------------------- */

static void resolve_refused(struct fx *f, const char *secret, const char *what)
{
    struct principal p;
    memset(&p, 'x', sizeof p);
    int rc = auth_resolve(f->s, &f->c, secret, &p);
    if (rc != AEG_EUNAUTH)
        fail_msg("resolve of %s: %s, want unauthenticated", what, aeg_code_name(rc));
    assert_string_equal(p.org_id, ""); /* no principal leaks out */
    assert_int_equal(p.role, ROLE_NONE);
}

static void test_resolve_refuses(void **state)
{
    struct fx *f = *state;
    struct signup_result su;
    signup_ok(f, "Resolve Org", "resolve@example.com", "resolve password", &su);

    resolve_refused(f, "", "an empty secret");
    resolve_refused(f, "garbage", "garbage");
    resolve_refused(f, "aegis_", "a bare prefix");
    char k[80];
    snprintf(k, sizeof k, "%.37s", su.api_key);
    resolve_refused(f, k, "the key minus its last character");
    snprintf(k, sizeof k, "%sA", su.api_key);
    resolve_refused(f, k, "the key plus a character");
    snprintf(k, sizeof k, "%s", su.api_key);
    k[20] = '-';
    resolve_refused(f, k, "a key with a non-base62 character");
    snprintf(k, sizeof k, "Bearer %s", su.api_key);
    resolve_refused(f, k, "a key with the scheme still on");
    snprintf(k, sizeof k, "%s", su.api_key);
    k[0] = 'A';
    resolve_refused(f, k, "a key with another prefix");
    char other[AUTH_KEY_LEN + 1];
    auth_new_api_key(other);
    resolve_refused(f, other, "a well-formed unknown key");
    char tok[AUTH_SESSION_LEN + 1];
    auth_new_session_token(tok);
    resolve_refused(f, tok, "a well-formed unknown session token");

    /* the same key under another pepper is unknown */
    struct cfg c2 = small_cfg(pepper_two, 64, 1);
    struct principal p;
    assert_int_equal(auth_resolve(f->s, &c2, su.api_key, &p), AEG_EUNAUTH);

    /* a revoked key */
    struct tenant t = {.org_id = su.org_id};
    struct principal who;
    assert_int_equal(auth_resolve(f->s, &f->c, su.api_key, &who), AEG_OK);
    struct key_row kr;
    char key2[AUTH_KEY_LEN + 1];
    assert_int_equal(auth_create_key(f->s, &f->c, &who, &rq, "second", ROLE_VIEWER, 0, &kr, key2),
                     AEG_OK);
    assert_int_equal(auth_resolve(f->s, &f->c, key2, &p), AEG_OK);
    assert_int_equal(p.role, ROLE_VIEWER);
    struct db *db = store_conn(f->s);
    assert_int_equal(store_key_revoke(db, &t, kr.id, clock_now_ms()), AEG_OK);
    assert_int_equal(store_key_revoke(db, &t, kr.id, clock_now_ms()), AEG_ECONFLICT);
    store_release(f->s, db);
    resolve_refused(f, key2, "a revoked key");
    key_row_free(&kr);

    /* an expired key, and one that has not expired yet */
    assert_int_equal(auth_create_key(f->s, &f->c, &who, &rq, "old", ROLE_ANALYST,
                                     clock_now_ms() - 1000, &kr, key2),
                     AEG_OK);
    key_row_free(&kr);
    resolve_refused(f, key2, "an expired key");
    assert_int_equal(auth_create_key(f->s, &f->c, &who, &rq, "fresh", ROLE_ANALYST,
                                     clock_now_ms() + 3600000, &kr, key2),
                     AEG_OK);
    key_row_free(&kr);
    assert_int_equal(auth_resolve(f->s, &f->c, key2, &p), AEG_OK);
    assert_int_equal(p.role, ROLE_ANALYST);

    /* a revoked session, and the session of a removed user */
    struct login_result lr;
    assert_int_equal(auth_login(f->s, &f->c, "resolve@example.com", "resolve password", &rq, &lr),
                     AEG_OK);
    assert_int_equal(auth_resolve(f->s, &f->c, lr.token, &p), AEG_OK);
    db = store_conn(f->s);
    assert_int_equal(store_session_revoke(db, &t, lr.who.session_id, clock_now_ms()), AEG_OK);
    store_release(f->s, db);
    resolve_refused(f, lr.token, "a revoked session");
    /* an expired session */
    assert_int_equal(auth_login(f->s, &f->c, "resolve@example.com", "resolve password", &rq, &lr),
                     AEG_OK);
    exec_sql(f->s, "UPDATE sessions SET expires_at = 1 WHERE revoked_at IS NULL");
    resolve_refused(f, lr.token, "an expired session");

    /* a suspended organisation: neither its keys nor its sessions work */
    assert_int_equal(auth_login(f->s, &f->c, "resolve@example.com", "resolve password", &rq, &lr),
                     AEG_OK);
    assert_int_equal(auth_resolve(f->s, &f->c, key2, &p), AEG_OK);
    exec_sql(f->s, "UPDATE orgs SET status = 'suspended'");
    resolve_refused(f, su.api_key, "a key of a suspended organisation");
    resolve_refused(f, key2, "another key of a suspended organisation");
    resolve_refused(f, lr.token, "a session of a suspended organisation");
    exec_sql(f->s, "UPDATE orgs SET status = 'active'");
    assert_int_equal(auth_resolve(f->s, &f->c, lr.token, &p), AEG_OK);
    /* a user whose sessions were all revoked (what removing a member does first) */
    struct signup_result su2;
    signup_ok(f, "Other Org", "other@example.com", "other password!", &su2);
    struct principal owner2;
    assert_int_equal(auth_resolve(f->s, &f->c, su2.api_key, &owner2), AEG_OK);
    struct login_result lr2;
    assert_int_equal(auth_login(f->s, &f->c, "other@example.com", "other password!", &rq, &lr2),
                     AEG_OK);
    struct tenant t2 = {.org_id = su2.org_id};
    db = store_conn(f->s);
    assert_int_equal(store_session_revoke_user(db, &t2, su2.user_id, clock_now_ms()), AEG_OK);
    store_release(f->s, db);
    resolve_refused(f, lr2.token, "a session of a user whose sessions were revoked");
}

static void test_resolve_touches_last_used(void **state)
{
    struct fx *f = *state;
    struct signup_result su;
    signup_ok(f, "Touch Org", "touch@example.com", "touch password", &su);
    char q[600];
    snprintf(q, sizeof q, "SELECT COALESCE(last_used_at, 0) FROM api_keys WHERE id = '%s'",
             su.key_id);
    assert_int_equal(count(f->s, q), 0);
    int64_t before = clock_now_ms();
    struct principal p;
    assert_int_equal(auth_resolve(f->s, &f->c, su.api_key, &p), AEG_OK);
    int64_t used = count(f->s, q);
    assert_true(used >= before && used <= clock_now_ms());
    /* at most once a minute: a second resolve right away does not write */
    assert_int_equal(auth_resolve(f->s, &f->c, su.api_key, &p), AEG_OK);
    assert_int_equal(count(f->s, q), used);
}

static void test_create_key_roles(void **state)
{
    struct fx *f = *state;
    struct signup_result su;
    signup_ok(f, "Key Org", "keys@example.com", "keys password!", &su);
    struct principal owner;
    assert_int_equal(auth_resolve(f->s, &f->c, su.api_key, &owner), AEG_OK);
    struct key_row kr;
    char key[AUTH_KEY_LEN + 1];
    assert_int_equal(
        auth_create_key(f->s, &f->c, &owner, &rq, "admin key", ROLE_ADMIN, 0, &kr, key), AEG_OK);
    assert_string_equal(kr.role, "admin");
    assert_string_equal(kr.name, "admin key");
    assert_string_equal(kr.org_id, su.org_id);
    assert_string_equal(kr.created_by, su.key_id);
    assert_true(!strncmp(kr.prefix, key, AUTH_KEY_DISPLAY));
    key_row_free(&kr);
    struct principal admin;
    assert_int_equal(auth_resolve(f->s, &f->c, key, &admin), AEG_OK);
    assert_int_equal(admin.role, ROLE_ADMIN);
    /* nobody mints a key above their own role, nor one without a role */
    char k2[AUTH_KEY_LEN + 1] = "unchanged";
    assert_int_equal(auth_create_key(f->s, &f->c, &admin, &rq, "escalate", ROLE_OWNER, 0, &kr, k2),
                     AEG_EFORBIDDEN);
    assert_int_equal(auth_create_key(f->s, &f->c, &admin, &rq, "none", ROLE_NONE, 0, &kr, k2),
                     AEG_EFORBIDDEN);
    assert_int_equal(auth_create_key(f->s, &f->c, &admin, &rq, "bogus", 9, 0, &kr, k2),
                     AEG_EFORBIDDEN);
    assert_int_equal(count(f->s, "SELECT COUNT(*) FROM api_keys"), 2);
    char q[600];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM audit_log WHERE org_id = '%s' AND action = 'key.created'",
             su.org_id);
    assert_int_equal(count(f->s, q), 2); /* signup's and the admin key's */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_password_hash_and_verify),
        cmocka_unit_test(test_password_hash_failure),
        cmocka_unit_test(test_password_problem),
        cmocka_unit_test(test_email_normalise),
        cmocka_unit_test(test_org_name_problem),
        cmocka_unit_test(test_org_name_counts_characters),
        cmocka_unit_test(test_org_name_must_be_utf8),
        cmocka_unit_test(test_api_keys),
        cmocka_unit_test(test_session_tokens),
        cmocka_unit_test(test_secret_hash_depends_on_pepper),
        T(test_signup_creates_everything),
        T(test_signup_rejects_bad_input),
        T(test_signup_duplicate_email),
        T(test_signup_is_atomic),
        T(test_login),
        T(test_login_failures),
        T(test_resolve_refuses),
        T(test_resolve_touches_last_used),
        T(test_create_key_roles),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

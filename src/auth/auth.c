#include "auth/auth.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"

#include <argon2.h>
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *role_names[] = {"none", "viewer", "analyst", "admin", "owner"};

int role_parse(const char *s)
{
    for (int i = ROLE_VIEWER; i <= ROLE_OWNER; i++)
        if (s && !strcmp(s, role_names[i]))
            return i;
    return ROLE_NONE;
}

const char *role_name(int role)
{
    return role >= ROLE_VIEWER && role <= ROLE_OWNER ? role_names[role] : "none";
}

/* Development only (production refuses an empty pepper): public, so keys made with it are not secret
 * from anyone who reads this file. */
static const char dev_pepper[] = "aegis-development-pepper-not-a-secret";

const char *auth_pepper(const struct cfg *c)
{
    return *c->key_pepper ? c->key_pepper : dev_pepper;
}

void auth_secret_hash(const struct cfg *c, const char *secret, char out[65])
{
    const char *pep = auth_pepper(c);
    crypto_hmac_sha256_hex(pep, strlen(pep), secret, strlen(secret), out);
}

/* ---- passwords ----------------------------------------------------------------------------------- */

#define SALT_LEN 16
#define HASH_LEN 32

int auth_password_hash(const struct cfg *c, const char *password, char **encoded)
{
    unsigned char salt[SALT_LEN];
    crypto_random(salt, sizeof salt);
    uint32_t t = (uint32_t)c->argon2_iterations, m = (uint32_t)c->argon2_memory_kib;
    size_t len = argon2_encodedlen(t, m, 1, SALT_LEN, HASH_LEN, Argon2_id);
    char *out = xmalloc(len);
    int rc = argon2id_hash_encoded(t, m, 1, password, strlen(password), salt, sizeof salt,
                                   HASH_LEN, out, len);
    if (rc != ARGON2_OK) {
        log_msg(LOG_ERROR, "auth.argon2_failed", "%s", argon2_error_message(rc));
        free(out);
        *encoded = NULL;
        return AEG_EINTERNAL;
    }
    *encoded = out;
    return AEG_OK;
}

bool auth_password_verify(const char *encoded, const char *password)
{
    if (!encoded || !*encoded)
        return false;
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

const char *auth_password_problem(const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (n < 10)
        return "password must be at least 10 characters";
    if (n > 256)
        return "password must be at most 256 characters";
    return NULL;
}

/* ---- validation ---------------------------------------------------------------------------------- */

bool auth_email_normalise(const char *in, char *out, size_t outlen, const char **why)
{
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 254 || n >= outlen) {
        *why = "email must be 1 to 254 characters";
        return false;
    }
    size_t at = 0;
    int ats = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '@') {
            ats++;
            at = i;
        } else if (ch <= ' ' || ch >= 0x7f || strchr("()<>,;:\\\"[]", ch)) {
            *why = "email contains a character that is not allowed";
            return false;
        }
        out[i] = (char)tolower(ch);
    }
    out[n] = '\0';
    const char *domain = out + at + 1;
    if (ats != 1 || at == 0 || at > 64 || !strchr(domain, '.') || domain[0] == '.' ||
        out[n - 1] == '.' || strstr(domain, "..") || out[0] == '.' || out[at - 1] == '.') {
        *why = "email must look like name@example.com";
        return false;
    }
    return true;
}

/* Decodes one UTF-8 character at s; returns its length (1-4), or 0 when the bytes are not valid
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_char(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n)
        return 0;
    uint32_t c = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

const char *auth_org_name_problem(const char *name)
{
    if (!name)
        return "organization_name must be 2 to 100 characters";
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        uint32_t cp;
        int n = utf8_char(p, &cp);
        if (!n)
            return "organization_name must be valid UTF-8";
        if (cp < 0x80 && !isalnum((int)cp) && !strchr(" .,&'()-_", (int)cp))
            return "organization_name may contain letters, digits, spaces and . , & ' ( ) - _ only";
        if ((cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
            return "organization_name must not contain control characters";
        chars++;
        p += n;
    }
    if (chars < 2 || chars > 100)
        return "organization_name must be 2 to 100 characters";
    if (name[0] == ' ' || name[strlen(name) - 1] == ' ')
        return "organization_name must not start or end with a space";
    return NULL;
}

/* ---- secrets ------------------------------------------------------------------------------------- */

void auth_new_api_key(char out[AUTH_KEY_LEN + 1])
{
    memcpy(out, AUTH_KEY_PREFIX, sizeof AUTH_KEY_PREFIX - 1);
    crypto_random_base62(out + sizeof AUTH_KEY_PREFIX - 1, AUTH_KEY_RANDOM);
}

void auth_new_session_token(char out[AUTH_SESSION_LEN + 1])
{
    memcpy(out, AUTH_SESSION_PREFIX, sizeof AUTH_SESSION_PREFIX - 1);
    crypto_random_base62(out + sizeof AUTH_SESSION_PREFIX - 1, AUTH_SESSION_RANDOM);
}

void auth_new_invite_token(char out[AUTH_INVITE_LEN + 1])
{
    memcpy(out, AUTH_INVITE_PREFIX, sizeof AUTH_INVITE_PREFIX - 1);
    crypto_random_base62(out + sizeof AUTH_INVITE_PREFIX - 1, AUTH_INVITE_RANDOM);
}

static bool shaped(const char *s, const char *prefix, size_t random_len)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0 || strlen(s) != pl + random_len)
        return false;
    for (const char *p = s + pl; *p; p++)
        if (!isalnum((unsigned char)*p))
            return false;
    return true;
}

int auth_resolve(struct store *s, const struct cfg *c, const char *secret, struct principal *p)
{
    memset(p, 0, sizeof *p);
    bool session = shaped(secret, AUTH_SESSION_PREFIX, AUTH_SESSION_RANDOM);
    if (!session && !shaped(secret, AUTH_KEY_PREFIX, AUTH_KEY_RANDOM))
        return AEG_EUNAUTH; /* not even the shape of one: no database round trip */
    char hash[65];
    auth_secret_hash(c, secret, hash);
    int64_t now = clock_now_ms();
    struct db *db = store_conn(s);
    int rc;
    if (session) {
        struct session_row sr;
        struct user_row u;
        rc = store_session_lookup(db, hash, now, &sr, &u);
        if (!rc) {
            memcpy(p->org_id, sr.org_id, sizeof p->org_id);
            p->actor_type = "user";
            memcpy(p->actor_id, u.id, sizeof p->actor_id);
            memcpy(p->session_id, sr.id, sizeof p->session_id);
            p->role = role_parse(u.role);
            user_row_free(&u);
        }
    } else {
        struct key_row k;
        rc = store_key_lookup(db, hash, now, &k);
        if (!rc) {
            memcpy(p->org_id, k.org_id, sizeof p->org_id);
            p->actor_type = "key";
            memcpy(p->actor_id, k.id, sizeof p->actor_id);
            p->role = role_parse(k.role);
            /* last_used_at without a write per request: at most one a minute per key */
            if (now - k.last_used_at > 60000 && store_key_touch(db, k.id, now) != AEG_OK)
                log_msg(LOG_WARN, "auth.key_touch_failed", "key %s", k.id);
            key_row_free(&k);
        }
    }
    store_release(s, db);
    if (rc == AEG_ENOTFOUND || (!rc && p->role == ROLE_NONE))
        return AEG_EUNAUTH;
    return rc;
}

/* ---- audit --------------------------------------------------------------------------------------- */

void auth_audit_key(const struct cfg *c, char out[65])
{
    static const char label[] = "aegis audit chain";
    const char *pep = auth_pepper(c);
    crypto_hmac_sha256_hex(pep, strlen(pep), label, sizeof label - 1, out);
}

int auth_audit(struct db *db, const struct cfg *c, const char *org_id, const struct principal *who,
               const struct auth_req *rq, const char *action, const char *target_type,
               const char *target_id, const char *outcome, const char *detail)
{
    char key[65];
    auth_audit_key(c, key);
    struct audit_event e = {
        .actor_type = who ? who->actor_type : "anonymous",
        .actor_id = who && who->actor_id[0] ? who->actor_id : NULL,
        .action = action,
        .target_type = target_type,
        .target_id = target_id,
        .request_id = rq ? rq->request_id : NULL,
        .ip = rq ? rq->ip : NULL,
        .outcome = outcome,
        .detail = detail,
    };
    return store_audit_append(db, key, org_id ? org_id : AUDIT_NO_ORG, &e, clock_now_ms());
}

/* ---- signup, login, keys --------------------------------------------------------------------------- */

struct signup_tx {
    const struct cfg *c;
    const struct signup *in;
    const struct auth_req *rq;
    struct signup_result *out;
    const char *email;
    const char *password_hash;
};

static int signup_body(struct db *db, void *arg)
{
    struct signup_tx *x = arg;
    int64_t now = clock_now_ms();
    struct org_row o = {.name = (char *)x->in->org_name, .plan = (char *)x->in->plan,
                        .created_at = now};
    id_uuid7(o.id);
    int rc = store_org_insert(db, &o);
    if (rc)
        return rc;
    struct tenant t = {.org_id = o.id};
    struct user_row u = {.email = (char *)x->email, .role = (char *)"owner",
                         .password_hash = (char *)x->password_hash, .created_at = now};
    id_uuid7(u.id);
    memcpy(u.org_id, o.id, sizeof u.org_id);
    if ((rc = store_user_insert(db, &t, &u)))
        return rc; /* AEG_ECONFLICT: the email is taken */
    struct key_row k = {.name = (char *)"first key (signup)", .role = (char *)"owner",
                        .created_by = u.id, .created_at = now};
    id_uuid7(k.id);
    auth_new_api_key(x->out->api_key);
    char prefix[AUTH_KEY_DISPLAY + 1];
    snprintf(prefix, sizeof prefix, "%.*s", AUTH_KEY_DISPLAY, x->out->api_key);
    k.prefix = prefix;
    char hash[65];
    auth_secret_hash(x->c, x->out->api_key, hash);
    if ((rc = store_key_insert(db, &t, &k, hash)))
        return rc;
    struct principal who = {.actor_type = "user", .role = ROLE_OWNER};
    memcpy(who.org_id, o.id, sizeof who.org_id);
    memcpy(who.actor_id, u.id, sizeof who.actor_id);
    if ((rc = auth_audit(db, x->c, o.id, &who, x->rq, "org.signup", "org", o.id, "success", NULL)) ||
        (rc = auth_audit(db, x->c, o.id, &who, x->rq, "user.created", "user", u.id, "success",
                         "{\"role\":\"owner\"}")) ||
        (rc = auth_audit(db, x->c, o.id, &who, x->rq, "key.created", "api_key", k.id, "success",
                         "{\"role\":\"owner\"}")))
        return rc;
    memcpy(x->out->org_id, o.id, sizeof o.id);
    memcpy(x->out->user_id, u.id, sizeof u.id);
    memcpy(x->out->key_id, k.id, sizeof k.id);
    return AEG_OK;
}

int auth_signup(struct store *s, const struct cfg *c, const struct signup *in,
                const struct auth_req *rq, struct signup_result *out, const char **why)
{
    char email[256];
    memset(out, 0, sizeof *out);
    if ((*why = auth_org_name_problem(in->org_name)))
        return AEG_EINVAL;
    if (!auth_email_normalise(in->email ? in->email : "", email, sizeof email, why))
        return AEG_EINVAL;
    if (in->password && (*why = auth_password_problem(in->password)))
        return AEG_EINVAL;
    if (in->plan && strcmp(in->plan, "free") && strcmp(in->plan, "starter") &&
        strcmp(in->plan, "pro") && strcmp(in->plan, "enterprise")) {
        *why = "plan must be free, starter, pro or enterprise";
        return AEG_EINVAL;
    }
    char *pwhash = NULL;
    if (in->password) {
        int rc = auth_password_hash(c, in->password, &pwhash);
        if (rc)
            return rc;
    }
    struct signup_tx x = {.c = c, .in = in, .rq = rq, .out = out, .email = email,
                          .password_hash = pwhash};
    int rc = store_tx(s, signup_body, &x);
    free(pwhash);
    if (rc) {
        memset(out, 0, sizeof *out); /* no half-made key leaves this function */
        if (rc == AEG_ECONFLICT)
            *why = "an account with this email already exists";
    }
    return rc;
}

struct login_tx {
    const struct cfg *c;
    const struct auth_req *rq;
    const struct user_row *u; /* NULL: unknown email */
    bool ok;
    struct login_result *out;
};

/* Opens a session for user u (in the caller's transaction) and audits `action`. */
static int open_session(struct db *db, const struct cfg *c, const struct auth_req *rq,
                        const struct user_row *u, const char *action, struct login_result *out)
{
    int64_t now = clock_now_ms();
    struct tenant t = {.org_id = u->org_id};
    struct session_row sr = {.created_at = now, .expires_at = now + c->session_ttl_minutes * 60000};
    id_uuid7(sr.id);
    memcpy(sr.user_id, u->id, sizeof sr.user_id);
    auth_new_session_token(out->token);
    char hash[65];
    auth_secret_hash(c, out->token, hash);
    int rc = store_session_insert(db, &t, &sr, hash);
    if (!rc)
        rc = store_user_touch_login(db, &t, u->id, now);
    struct principal *who = &out->who;
    memcpy(who->org_id, u->org_id, sizeof who->org_id);
    who->actor_type = "user";
    memcpy(who->actor_id, u->id, sizeof who->actor_id);
    memcpy(who->session_id, sr.id, sizeof who->session_id);
    who->role = role_parse(u->role);
    out->expires_at = sr.expires_at;
    if (!rc)
        rc = auth_audit(db, c, u->org_id, who, rq, action, "session", sr.id, "success", NULL);
    return rc;
}

static int login_body(struct db *db, void *arg)
{
    struct login_tx *x = arg;
    if (!x->ok) {
        struct principal who = {.actor_type = "user"};
        if (x->u)
            memcpy(who.actor_id, x->u->id, sizeof who.actor_id);
        return auth_audit(db, x->c, x->u ? x->u->org_id : NULL, x->u ? &who : NULL, x->rq,
                          "login.failed", "user", x->u ? x->u->id : NULL, "failure",
                          x->u ? "{\"reason\":\"password\"}" : "{\"reason\":\"unknown email\"}");
    }
    return open_session(db, x->c, x->rq, x->u, "login", x->out);
}

struct invite_tx {
    const struct cfg *c;
    const struct auth_req *rq;
    const char *hash;
    const char *password_hash;
    struct login_result *out;
};

static int invite_body(struct db *db, void *arg)
{
    struct invite_tx *x = arg;
    struct user_row u;
    int rc = store_user_by_invite(db, x->hash, clock_now_ms(), &u);
    if (rc)
        return rc == AEG_ENOTFOUND ? AEG_EUNAUTH : rc;
    struct tenant t = {.org_id = u.org_id};
    rc = store_user_accept_invite(db, &t, u.id, x->password_hash, clock_now_ms());
    struct principal who = {.actor_type = "user"};
    memcpy(who.actor_id, u.id, sizeof who.actor_id);
    if (!rc)
        rc = auth_audit(db, x->c, u.org_id, &who, x->rq, "user.invite_accepted", "user", u.id,
                        "success", NULL);
    if (!rc)
        rc = open_session(db, x->c, x->rq, &u, "login", x->out);
    user_row_free(&u);
    return rc;
}

int auth_accept_invite(struct store *s, const struct cfg *c, const char *token,
                       const char *password, const struct auth_req *rq, struct login_result *out,
                       const char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    if (!token || !shaped(token, AUTH_INVITE_PREFIX, AUTH_INVITE_RANDOM))
        return AEG_EUNAUTH;
    if ((*why = auth_password_problem(password)))
        return AEG_EINVAL;
    char hash[65], *pwhash = NULL;
    auth_secret_hash(c, token, hash);
    int rc = auth_password_hash(c, password, &pwhash);
    if (rc)
        return rc;
    struct invite_tx x = {.c = c, .rq = rq, .hash = hash, .password_hash = pwhash, .out = out};
    rc = store_tx(s, invite_body, &x);
    free(pwhash);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* A hash made once, verified against for unknown emails, so they cost the same time as a wrong
 * password and do not reveal which emails have accounts. */
static pthread_mutex_t decoy_mu = PTHREAD_MUTEX_INITIALIZER;
static char *decoy;

static const char *decoy_hash(const struct cfg *c)
{
    pthread_mutex_lock(&decoy_mu);
    if (!decoy)
        auth_password_hash(c, "decoy password for unknown emails", &decoy);
    pthread_mutex_unlock(&decoy_mu);
    return decoy;
}

int auth_login(struct store *s, const struct cfg *c, const char *email, const char *password,
               const struct auth_req *rq, struct login_result *out)
{
    memset(out, 0, sizeof *out);
    char norm[256];
    const char *why;
    struct user_row u;
    bool found = false;
    if (auth_email_normalise(email ? email : "", norm, sizeof norm, &why)) {
        struct db *db = store_conn(s);
        int rc = store_user_by_email(db, norm, &u);
        store_release(s, db);
        if (rc && rc != AEG_ENOTFOUND)
            return rc;
        found = rc == AEG_OK;
    }
    bool ok;
    if (found && u.password_hash) {
        ok = auth_password_verify(u.password_hash, password ? password : "");
    } else { /* unknown email, or an account without a password: the same work, the same answer */
        auth_password_verify(decoy_hash(c), password ? password : "");
        ok = false;
    }
    struct login_tx x = {.c = c, .rq = rq, .u = found ? &u : NULL, .ok = ok, .out = out};
    int rc = store_tx(s, login_body, &x);
    if (found)
        user_row_free(&u);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    if (!ok) {
        memset(out, 0, sizeof *out);
        return AEG_EUNAUTH;
    }
    return AEG_OK;
}

struct key_tx {
    const struct cfg *c;
    const struct principal *who;
    const struct auth_req *rq;
    struct key_row *k;
    const char *hash;
};

static int key_body(struct db *db, void *arg)
{
    struct key_tx *x = arg;
    struct tenant t = {.org_id = x->who->org_id};
    int rc = store_key_insert(db, &t, x->k, x->hash);
    char detail[64];
    snprintf(detail, sizeof detail, "{\"role\":\"%s\"}", x->k->role);
    if (!rc)
        rc = auth_audit(db, x->c, x->who->org_id, x->who, x->rq, "key.created", "api_key", x->k->id,
                        "success", detail);
    return rc;
}

int auth_create_key(struct store *s, const struct cfg *c, const struct principal *who,
                    const struct auth_req *rq, const char *name, int role, int64_t expires_at,
                    struct key_row *out, char key[AUTH_KEY_LEN + 1])
{
    memset(out, 0, sizeof *out);
    if (role < ROLE_VIEWER || role > who->role)
        return AEG_EFORBIDDEN;
    id_uuid7(out->id);
    memcpy(out->org_id, who->org_id, sizeof out->org_id);
    out->name = xstrdup(name);
    out->role = xstrdup(role_name(role));
    out->created_by = who->actor_id[0] ? xstrdup(who->actor_id) : NULL;
    out->created_at = clock_now_ms();
    out->expires_at = expires_at;
    auth_new_api_key(key);
    out->prefix = xasprintf("%.*s", AUTH_KEY_DISPLAY, key);
    char hash[65];
    auth_secret_hash(c, key, hash);
    struct key_tx x = {.c = c, .who = who, .rq = rq, .k = out, .hash = hash};
    int rc = store_tx(s, key_body, &x);
    if (rc) {
        key_row_free(out);
        memset(key, 0, AUTH_KEY_LEN + 1);
    }
    return rc;
}

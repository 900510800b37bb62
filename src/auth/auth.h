/*
 * auth: identity services on top of the store: password hashing (Argon2id), secrets (API keys and
 * session tokens) and their keyed hashes, resolving a bearer secret to a principal, signup, login,
 * and the audit trail of those events. It never sees HTTP types: callers pass what they know of the
 * request (id, client IP) in struct auth_req.
 *
 * Secrets: an API key is "aegis_" + 32 base62 characters, a session token "aegis_s_" + 40. Both are
 * shown to their owner once and stored only as HMAC-SHA-256 under the pepper. They are never logged.
 */
#ifndef AEGIS_AUTH_AUTH_H
#define AEGIS_AUTH_AUTH_H

#include "core/cfg.h"
#include "store/store.h"

#include <stdbool.h>

enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_ANALYST, ROLE_ADMIN, ROLE_OWNER };
int role_parse(const char *s); /* ROLE_NONE when unknown */
const char *role_name(int role);

#define AUTH_KEY_PREFIX "aegis_"
#define AUTH_KEY_RANDOM 32
#define AUTH_KEY_LEN (sizeof AUTH_KEY_PREFIX - 1 + AUTH_KEY_RANDOM)       /* 38 */
#define AUTH_KEY_DISPLAY 12                                               /* "aegis_AbCdEf" */
#define AUTH_SESSION_PREFIX "aegis_s_"
#define AUTH_SESSION_RANDOM 40
#define AUTH_SESSION_LEN (sizeof AUTH_SESSION_PREFIX - 1 + AUTH_SESSION_RANDOM)
#define AUTH_INVITE_PREFIX "aegis_i_"
#define AUTH_INVITE_RANDOM 40
#define AUTH_INVITE_LEN (sizeof AUTH_INVITE_PREFIX - 1 + AUTH_INVITE_RANDOM)
#define AUTH_INVITE_TTL_MS (7LL * 24 * 3600 * 1000)
#define AUTH_COOKIE "aegis_session"

/* Who is calling, once a secret was resolved. */
struct principal {
    char org_id[ID_UUID_LEN];
    const char *actor_type;     /* "user" (a session) or "key" */
    char actor_id[ID_UUID_LEN]; /* the user id or the key id */
    char session_id[ID_UUID_LEN];
    int role;
};

/* What the caller knows of the request, for the audit trail. */
struct auth_req {
    const char *request_id;
    const char *ip;
};

/* The pepper (a fixed public one in development when AEGIS_KEY_PEPPER is empty). */
const char *auth_pepper(const struct cfg *c);
/* HMAC-SHA-256 of a secret under the pepper, hex. */
void auth_secret_hash(const struct cfg *c, const char *secret, char out[65]);

/* Argon2id with the configured cost. AEG_OK with *encoded (caller frees), or AEG_EINTERNAL. */
int auth_password_hash(const struct cfg *c, const char *password, char **encoded);
bool auth_password_verify(const char *encoded, const char *password);
/* Password rules: 10-256 bytes. NULL when acceptable, else why not. */
const char *auth_password_problem(const char *password);
/* Lower-cases and trims an email and checks its shape; false with why (a sentence) when unusable. */
bool auth_email_normalise(const char *in, char *out, size_t outlen, const char **why);
/* Organisation names: 2-100 characters, letters, digits, spaces and .,&'()- ; NULL or why not. */
const char *auth_org_name_problem(const char *name);

void auth_new_api_key(char out[AUTH_KEY_LEN + 1]);
void auth_new_session_token(char out[AUTH_SESSION_LEN + 1]);
void auth_new_invite_token(char out[AUTH_INVITE_LEN + 1]);

/* Resolves a bearer secret (API key or session token) to a principal. AEG_EUNAUTH when unknown,
 * expired or revoked; another code when the database fails. Touches a key's last_used_at at most
 * once a minute. */
int auth_resolve(struct store *s, const struct cfg *c, const char *secret, struct principal *p);

/* The key of the audit log's HMAC chain, derived from the pepper. */
void auth_audit_key(const struct cfg *c, char out[65]);
/* Appends an audit row in the caller's transaction (org_id NULL: the no-organisation chain). */
int auth_audit(struct db *db, const struct cfg *c, const char *org_id, const struct principal *who,
               const struct auth_req *rq, const char *action, const char *target_type,
               const char *target_id, const char *outcome, const char *detail);

struct signup {
    const char *org_name, *email, *password, *plan; /* password and plan may be NULL */
};
struct signup_result {
    char org_id[ID_UUID_LEN], user_id[ID_UUID_LEN], key_id[ID_UUID_LEN];
    char api_key[AUTH_KEY_LEN + 1]; /* plaintext, to show once */
};
/* Creates the organisation, its owner and a first owner-role API key in one transaction,
 * with the audit rows. AEG_EINVAL (why in *why), AEG_ECONFLICT (email taken), or a database error. */
int auth_signup(struct store *s, const struct cfg *c, const struct signup *in,
                const struct auth_req *rq, struct signup_result *out, const char **why);

struct login_result {
    char token[AUTH_SESSION_LEN + 1];
    struct principal who;
    int64_t expires_at;
};
/* Checks the password and opens a session. AEG_EUNAUTH for a wrong email or password (the same
 * answer for both, and the same time spent). Failed attempts are audited. */
int auth_login(struct store *s, const struct cfg *c, const char *email, const char *password,
               const struct auth_req *rq, struct login_result *out);

/* Accepts an invitation: sets the invited user's password and opens a session, as a login would.
 * AEG_EUNAUTH for an unknown, used or expired token; AEG_EINVAL (why) for an unacceptable password. */
int auth_accept_invite(struct store *s, const struct cfg *c, const char *token,
                       const char *password, const struct auth_req *rq, struct login_result *out,
                       const char **why);

/* Creates an API key for the principal's organisation with at most the principal's role.
 * expires_at 0 = never. */
int auth_create_key(struct store *s, const struct cfg *c, const struct principal *who,
                    const struct auth_req *rq, const char *name, int role, int64_t expires_at,
                    struct key_row *out, char key[AUTH_KEY_LEN + 1]);

#endif

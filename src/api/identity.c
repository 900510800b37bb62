/*
 * identity: signup, login, logout, the caller (/me) and the organisation.
 */
#include "api/api.h"

#include "core/clock.h"
#include "core/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static void retry_after(struct http_req *r, int secs)
{
    char v[16];
    snprintf(v, sizeof v, "%d", secs);
    http_add_header(r, "Retry-After", v);
}

int api_signup(struct http_req *r)
{
    struct app *app = http_app(r);
    const char *name, *email, *password, *plan;
    int rc;
    if ((rc = api_body_string(r, "organization_name", true, 200, &name)) ||
        (rc = api_body_string(r, "email", true, 320, &email)) ||
        (rc = api_body_string(r, "password", false, 1024, &password)) ||
        (rc = api_body_string(r, "plan", false, 32, &plan)))
        return rc;
    int secs = 0;
    if (!rate_take(app->signup_rate, http_client_ip(r), clock_now_ms(), &secs)) {
        retry_after(r, secs);
        return http_fail(r, AEG_ERATE, "Too many signups from this address; retry in %d s.", secs);
    }
    struct signup in = {.org_name = name, .email = email, .password = password, .plan = plan};
    struct auth_req rq = api_auth_req(r);
    struct signup_result out;
    const char *why = NULL;
    rc = auth_signup(app->store, app->cfg, &in, &rq, &out, &why);
    if ((rc == AEG_EINVAL || rc == AEG_ECONFLICT) && why) /* why is a lower-case clause */
        return http_fail(r, rc, "%c%s.", toupper((unsigned char)why[0]), why + 1);
    if (rc)
        return rc;
    char welcome[400];
    snprintf(welcome, sizeof welcome,
             "Welcome to Aegis, %s. Your API key is shown once, now: store it in your secret "
             "manager.",
             name);
    json_t *body = json_pack(
        "{s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s},s:s,s:[s,s,s,s]}", "organization",
        "id", out.org_id, "name", name, "plan", plan ? plan : "free", "user", "id", out.user_id,
        "email", "", "role", "owner", "api_key", "id", out.key_id, "key", out.api_key, "prefix", "",
        "role", "owner", "message", welcome, "next_steps",
        "Call GET /api/v1/me with Authorization: Bearer <key> to check the key works.",
        password ? "Log in to the dashboard with your email and password."
                 : "Set a password later to use the dashboard; the API key works now.",
        "Create keys with narrower roles for your systems: POST /api/v1/keys.",
        "Read the API reference at /docs.");
    /* the normalised email and the display prefix, as stored */
    struct db *db = store_conn(app->store);
    struct tenant t = {.org_id = out.org_id};
    struct user_row u;
    if (store_user_get(db, &t, out.user_id, &u) == AEG_OK) {
        json_object_set_new(json_object_get(body, "user"), "email", json_string(u.email));
        user_row_free(&u);
    }
    store_release(app->store, db);
    char prefix[AUTH_KEY_DISPLAY + 1];
    snprintf(prefix, sizeof prefix, "%.*s", AUTH_KEY_DISPLAY, out.api_key);
    json_object_set_new(json_object_get(body, "api_key"), "prefix", json_string(prefix));
    memset(out.api_key, 0, sizeof out.api_key);
    http_add_header(r, "Cache-Control", "no-store");
    return http_reply_json(r, 201, body);
}

static void set_session_cookie(struct http_req *r, const char *token, int64_t max_age_s)
{
    struct app *app = http_app(r);
    bool secure = strcmp(app->cfg->env, "development") != 0;
    char v[256];
    snprintf(v, sizeof v, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", AUTH_COOKIE,
             token, (long long)max_age_s, secure ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", v);
}

/* A new session's answer (login, accepted invitation): the token in the body and in the cookie. */
static int reply_session(struct http_req *r, struct login_result *out)
{
    set_session_cookie(r, out->token, (out->expires_at - clock_now_ms()) / 1000);
    http_add_header(r, "Cache-Control", "no-store");
    json_t *body = json_pack("{s:s,s:s,s:o,s:{s:s,s:s,s:s}}", "object", "session", "token",
                             out->token, "expires_at", api_time(out->expires_at), "user", "id",
                             out->who.actor_id, "organization_id", out->who.org_id, "role",
                             role_name(out->who.role));
    memset(out->token, 0, sizeof out->token);
    return http_reply_json(r, 200, body);
}

int api_login(struct http_req *r)
{
    struct app *app = http_app(r);
    const char *email, *password;
    int rc;
    if ((rc = api_body_string(r, "email", true, 320, &email)) ||
        (rc = api_body_string(r, "password", true, 1024, &password)))
        return rc;
    int secs = 0;
    const char *ip = http_client_ip(r);
    if (rate_over(app->login_rate, ip, clock_now_ms(), &secs)) {
        retry_after(r, secs);
        return http_fail(r, AEG_ERATE, "Too many failed logins from this address; retry in %d s.",
                         secs);
    }
    struct auth_req rq = api_auth_req(r);
    struct login_result out;
    rc = auth_login(app->store, app->cfg, email, password, &rq, &out);
    if (rc == AEG_EUNAUTH) {
        rate_take(app->login_rate, ip, clock_now_ms(), &secs);
        return http_fail(r, AEG_EUNAUTH, "The email or the password is wrong.");
    }
    if (rc)
        return rc;
    return reply_session(r, &out);
}

int api_accept_invite(struct http_req *r)
{
    struct app *app = http_app(r);
    const char *token, *password;
    int rc;
    if ((rc = api_body_string(r, "token", true, 200, &token)) ||
        (rc = api_body_string(r, "password", true, 1024, &password)))
        return rc;
    struct auth_req rq = api_auth_req(r);
    struct login_result out;
    const char *why = NULL;
    rc = auth_accept_invite(app->store, app->cfg, token, password, &rq, &out, &why);
    if (rc == AEG_EINVAL && why)
        return http_fail(r, rc, "%c%s.", toupper((unsigned char)why[0]), why + 1);
    if (rc == AEG_EUNAUTH)
        return http_fail(r, rc, "The invitation is unknown, already used or expired.");
    if (rc)
        return rc;
    return reply_session(r, &out);
}

int api_logout(struct http_req *r)
{
    struct app *app = http_app(r);
    const struct principal *p = api_principal(r);
    if (!p->session_id[0])
        return http_fail(r, AEG_EINVAL,
                         "Logout ends a login session; an API key is revoked with DELETE "
                         "/api/v1/keys/{id}.");
    struct tenant t = api_tenant(r);
    struct auth_req rq = api_auth_req(r);
    struct db *db = store_conn(app->store);
    int rc = db_begin_write(db);
    if (!rc) {
        rc = store_session_revoke(db, &t, p->session_id, clock_now_ms());
        if (!rc)
            rc = auth_audit(db, app->cfg, p->org_id, p, &rq, "logout", "session", p->session_id,
                            "success", NULL);
        rc = rc ? rc : db_commit(db);
        if (rc)
            db_rollback(db);
    }
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "session");
    set_session_cookie(r, "", 0);
    return http_reply_empty(r, 204);
}

static json_t *org_json(const struct org_row *o)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", o->id, "object", "organization", "name",
                          o->name, "plan", o->plan, "status", o->status);
    json_object_set_new(j, "created_at", api_time(o->created_at));
    return j;
}

int api_me(struct http_req *r)
{
    struct app *app = http_app(r);
    const struct principal *p = api_principal(r);
    struct tenant t = api_tenant(r);
    struct db *db = store_conn(app->store);
    struct org_row o;
    int rc = store_org_get(db, &t, &o);
    json_t *body = NULL;
    if (!rc) {
        body = json_pack("{s:o,s:{s:s,s:s,s:s}}", "organization", org_json(&o), "principal",
                         "type", p->actor_type, "id", p->actor_id, "role", role_name(p->role));
        org_row_free(&o);
        struct user_row u;
        if (!strcmp(p->actor_type, "user") && store_user_get(db, &t, p->actor_id, &u) == AEG_OK) {
            json_object_set_new(body, "user", api_user_json(&u));
            user_row_free(&u);
        }
    }
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "organization");
    return http_reply_json(r, 200, body);
}

int api_org_get(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct db *db = store_conn(app->store);
    struct org_row o;
    int rc = store_org_get(db, &t, &o);
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "organization");
    json_t *j = org_json(&o);
    org_row_free(&o);
    return http_reply_json(r, 200, j);
}

/*
 * common: what every handler uses: the authentication phase, the caller's tenant, body fields.
 */
#include "api/api.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int required_role(unsigned flags)
{
    if (flags & ROUTE_ADMIN)
        return ROLE_ADMIN;
    if (flags & ROUTE_WRITE)
        return ROLE_ANALYST;
    return ROLE_VIEWER;
}

int api_phase_auth(struct http_req *r)
{
    const struct route *rt = http_route(r);
    if (!rt || (rt->flags & ROUTE_PUBLIC))
        return AEG_OK;
    struct app *app = http_app(r);
    const char *secret = NULL;
    const char *authz = http_header(r, "Authorization");
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0) {
            http_add_header(r, "WWW-Authenticate", "Bearer realm=\"aegis\", error=\"invalid_request\"");
            return http_fail(r, AEG_EUNAUTH,
                             "Use Authorization: Bearer <API key or session token>.");
        }
        secret = authz + 7;
        while (*secret == ' ')
            secret++;
    } else {
        secret = http_cookie(r, AUTH_COOKIE);
    }
    if (!secret || !*secret) {
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"aegis\"");
        return http_fail(r, AEG_EUNAUTH,
                         "Authentication is required: send Authorization: Bearer <API key or "
                         "session token>.");
    }
    struct principal *p = xcalloc(1, sizeof *p);
    int rc = auth_resolve(app->store, app->cfg, secret, p);
    if (rc) {
        free(p);
        if (rc != AEG_EUNAUTH)
            return rc;
        http_add_header(r, "WWW-Authenticate", "Bearer realm=\"aegis\", error=\"invalid_token\"");
        return http_fail(r, AEG_EUNAUTH,
                         "The credentials are not valid: unknown, expired or revoked.");
    }
    http_set_ctx(r, p, free);
    int need = required_role(rt->flags);
    if (p->role < need)
        return http_fail(r, AEG_EFORBIDDEN, "This action needs the %s role or higher; yours is %s.",
                         role_name(need), role_name(p->role));
    return AEG_OK;
}

const struct principal *api_principal(const struct http_req *r)
{
    return http_ctx(r);
}

struct tenant api_tenant(const struct http_req *r)
{
    const struct principal *p = api_principal(r);
    struct tenant t = {.org_id = p ? p->org_id : NULL, .actor_id = p ? p->actor_id : NULL};
    return t;
}

struct auth_req api_auth_req(struct http_req *r)
{
    struct auth_req q = {.request_id = http_request_id(r), .ip = http_client_ip(r)};
    return q;
}

json_t *api_time(int64_t ms)
{
    char t[CLOCK_ISO_LEN];
    return ms ? json_string(clock_fmt_iso(ms, t)) : json_null();
}

int api_body_string(struct http_req *r, const char *field, bool required, size_t max_len,
                    const char **out)
{
    json_t *body = http_json(r);
    *out = NULL;
    if (!json_is_object(body))
        return http_fail(r, AEG_EINVAL, "The body must be a JSON object.");
    json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v)) {
        if (required)
            return http_fail(r, AEG_EINVAL, "%s is required.", field);
        return AEG_OK;
    }
    if (!json_is_string(v))
        return http_fail(r, AEG_EINVAL, "%s must be a string.", field);
    if (json_string_length(v) > max_len)
        return http_fail(r, AEG_EINVAL, "%s must be at most %zu characters.", field, max_len);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return http_fail(r, AEG_EINVAL, "%s must not contain NUL characters.", field);
    *out = json_string_value(v);
    return AEG_OK;
}

int api_store_error(struct http_req *r, int rc, const char *what)
{
    if (rc == AEG_ENOTFOUND)
        return http_fail(r, AEG_ENOTFOUND, "No such %s.", what);
    return rc;
}

json_t *api_user_json(const struct user_row *u)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", u->id, "object", "user", "email", u->email,
                          "role", u->role);
    json_object_set_new(o, "name", u->name ? json_string(u->name) : json_null());
    /* false for an invited member who has not set a password yet (or a key-only signup owner) */
    json_object_set_new(o, "has_password", json_boolean(u->password_hash != NULL));
    json_object_set_new(o, "created_at", api_time(u->created_at));
    json_object_set_new(o, "last_login_at", api_time(u->last_login_at));
    return o;
}

json_t *api_key_json(const struct key_row *k)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", k->id, "object", "api_key", "name",
                          k->name, "prefix", k->prefix, "role", k->role);
    json_object_set_new(o, "created_by", k->created_by ? json_string(k->created_by) : json_null());
    json_object_set_new(o, "created_at", api_time(k->created_at));
    json_object_set_new(o, "expires_at", api_time(k->expires_at));
    json_object_set_new(o, "revoked_at", api_time(k->revoked_at));
    json_object_set_new(o, "last_used_at", api_time(k->last_used_at));
    return o;
}

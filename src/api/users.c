/*
 * users: the members of the caller's organisation (admin and owner only). Roles rank viewer < analyst
 * < admin < owner; nobody grants a role above their own, only an owner touches an owner, and the last
 * owner can be neither demoted nor removed.
 */
#include "api/api.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_user(const struct user_row *u, void *arg)
{
    json_array_append_new(arg, api_user_json(u));
}

int api_users_list(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    json_t *data = json_array();
    struct db *db = store_conn(app->store);
    int rc = store_user_list(db, &t, add_user, data);
    store_release(app->store, db);
    if (rc) {
        json_decref(data);
        return rc;
    }
    return http_reply_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

int api_users_get(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct user_row u;
    struct db *db = store_conn(app->store);
    int rc = store_user_get(db, &t, http_param(r, "id"), &u);
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "user");
    json_t *j = api_user_json(&u);
    user_row_free(&u);
    return http_reply_json(r, 200, j);
}

struct user_tx {
    struct http_req *r;
    struct app *app;
    const struct principal *who;
    struct tenant t;
    struct auth_req rq;
    const char *id;
    struct user_row *u;
    int new_role;
    const char *fail;  /* a 409 message when a rule refused */
    int fail_code;
    const char *invite_hash; /* creating an invited member */
    int64_t invite_expires;
};

static int create_body(struct db *db, void *arg)
{
    struct user_tx *x = arg;
    int rc = store_user_insert(db, &x->t, x->u);
    if (!rc && x->invite_hash)
        rc = store_user_set_invite(db, &x->t, x->u->id, x->invite_hash, x->invite_expires);
    char detail[80];
    snprintf(detail, sizeof detail, "{\"role\":\"%s\",\"invited\":%s}", x->u->role,
             x->invite_hash ? "true" : "false");
    if (!rc)
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq, "user.created", "user",
                        x->u->id, "success", detail);
    return rc;
}

int api_users_create(struct http_req *r)
{
    struct app *app = http_app(r);
    const struct principal *who = api_principal(r);
    const char *email, *role_s, *name, *password;
    int rc;
    if ((rc = api_body_string(r, "email", true, 320, &email)) ||
        (rc = api_body_string(r, "role", true, 16, &role_s)) ||
        (rc = api_body_string(r, "name", false, 200, &name)) ||
        (rc = api_body_string(r, "password", false, 1024, &password)))
        return rc;
    int role = role_parse(role_s);
    if (!role)
        return http_fail(r, AEG_EINVAL, "role must be owner, admin, analyst or viewer.");
    if (role > who->role)
        return http_fail(r, AEG_EFORBIDDEN, "You cannot grant the %s role (yours is %s).",
                         role_name(role), role_name(who->role));
    char norm[256];
    const char *why = NULL;
    if (!auth_email_normalise(email, norm, sizeof norm, &why) ||
        (password && (why = auth_password_problem(password))))
        return http_fail(r, AEG_EINVAL, "%c%s.", toupper((unsigned char)why[0]), why + 1);
    char *hash = NULL;
    if (password && (rc = auth_password_hash(app->cfg, password, &hash)))
        return rc;
    /* Without a password the member is invited: the token (shown once) lets them set one. */
    char invite[AUTH_INVITE_LEN + 1] = "", invite_hash[65];
    if (!password) {
        auth_new_invite_token(invite);
        auth_secret_hash(app->cfg, invite, invite_hash);
    }
    struct user_row u = {.email = norm, .name = (char *)name, .role = (char *)role_name(role),
                         .password_hash = hash, .created_at = clock_now_ms()};
    id_uuid7(u.id);
    memcpy(u.org_id, who->org_id, sizeof u.org_id);
    struct user_tx x = {.r = r, .app = app, .who = who, .t = api_tenant(r), .rq = api_auth_req(r),
                        .u = &u, .invite_hash = password ? NULL : invite_hash,
                        .invite_expires = u.created_at + AUTH_INVITE_TTL_MS};
    rc = store_tx(app->store, create_body, &x);
    free(hash);
    if (rc == AEG_ECONFLICT)
        return http_fail(r, AEG_ECONFLICT, "An account with this email already exists.");
    if (rc)
        return rc;
    json_t *j = api_user_json(&u);
    if (!password) {
        json_object_set_new(j, "invite_token", json_string(invite));
        json_object_set_new(j, "invite_expires_at", api_time(x.invite_expires));
        json_object_set_new(j, "message",
                            json_string("Send the invite token to the new member: it is shown "
                                        "once, and POST /api/v1/auth/accept-invite with a "
                                        "password activates the account."));
        memset(invite, 0, sizeof invite);
        http_add_header(r, "Cache-Control", "no-store");
    }
    return http_reply_json(r, 201, j);
}

/* Loads the target and applies the rules every change of a member follows. */
static int load_target(struct db *db, struct user_tx *x, struct user_row *target)
{
    int rc = store_user_get(db, &x->t, x->id, target);
    if (rc)
        return rc;
    if (!strcmp(target->role, "owner") && x->who->role < ROLE_OWNER) {
        x->fail = "Only an owner can change or remove an owner.";
        x->fail_code = AEG_EFORBIDDEN;
        return AEG_EFORBIDDEN;
    }
    return AEG_OK;
}

static int last_owner_guard(struct db *db, struct user_tx *x, const struct user_row *target)
{
    if (strcmp(target->role, "owner") != 0)
        return AEG_OK;
    int64_t owners = 0;
    int rc = store_user_count_role(db, &x->t, "owner", &owners);
    if (rc)
        return rc;
    if (owners <= 1) {
        x->fail = "This is the organization's last owner: make another member owner first.";
        x->fail_code = AEG_ECONFLICT;
        return AEG_ECONFLICT;
    }
    return AEG_OK;
}

static int update_body(struct db *db, void *arg)
{
    struct user_tx *x = arg;
    int rc = load_target(db, x, x->u);
    if (rc)
        return rc;
    if (x->new_role != ROLE_OWNER && (rc = last_owner_guard(db, x, x->u)))
        return rc;
    int64_t now = clock_now_ms();
    char detail[96];
    snprintf(detail, sizeof detail, "{\"from\":\"%s\",\"to\":\"%s\"}", x->u->role,
             role_name(x->new_role));
    rc = store_user_set_role(db, &x->t, x->id, role_name(x->new_role), now);
    if (!rc)
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq, "user.role_changed", "user",
                        x->id, "success", detail);
    if (!rc) {
        free(x->u->role);
        x->u->role = xstrdup(role_name(x->new_role));
    }
    return rc;
}

/* A refused rule, or a store error, as the answer. */
static int tx_error(struct http_req *r, struct user_tx *x, int rc)
{
    if (x->fail)
        return http_fail(r, x->fail_code, "%s", x->fail);
    return api_store_error(r, rc, "user");
}

int api_users_update(struct http_req *r)
{
    struct app *app = http_app(r);
    const struct principal *who = api_principal(r);
    const char *role_s;
    int rc = api_body_string(r, "role", true, 16, &role_s);
    if (rc)
        return rc;
    int role = role_parse(role_s);
    if (!role)
        return http_fail(r, AEG_EINVAL, "role must be owner, admin, analyst or viewer.");
    /* a missing target answers 404 before any rule about roles is applied */
    struct user_row u = {0};
    struct user_tx x = {.r = r, .app = app, .who = who, .t = api_tenant(r), .rq = api_auth_req(r),
                        .id = http_param(r, "id"), .u = &u, .new_role = role};
    struct db *db = store_conn(app->store);
    struct user_row probe;
    rc = store_user_get(db, &x.t, x.id, &probe);
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "user");
    user_row_free(&probe);
    if (role > who->role)
        return http_fail(r, AEG_EFORBIDDEN, "You cannot grant the %s role (yours is %s).",
                         role_name(role), role_name(who->role));
    rc = store_tx(app->store, update_body, &x);
    if (rc) {
        user_row_free(&u);
        return tx_error(r, &x, rc);
    }
    json_t *j = api_user_json(&u);
    user_row_free(&u);
    return http_reply_json(r, 200, j);
}

static int delete_body(struct db *db, void *arg)
{
    struct user_tx *x = arg;
    int rc = load_target(db, x, x->u);
    if (!rc)
        rc = last_owner_guard(db, x, x->u);
    if (!rc)
        rc = store_session_revoke_user(db, &x->t, x->id, clock_now_ms());
    if (!rc)
        rc = store_user_delete(db, &x->t, x->id);
    if (!rc)
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq, "user.removed", "user",
                        x->id, "success", NULL);
    return rc;
}

int api_users_delete(struct http_req *r)
{
    struct app *app = http_app(r);
    struct user_row u = {0};
    struct user_tx x = {.r = r, .app = app, .who = api_principal(r), .t = api_tenant(r),
                        .rq = api_auth_req(r), .id = http_param(r, "id"), .u = &u};
    int rc = store_tx(app->store, delete_body, &x);
    user_row_free(&u);
    if (rc)
        return tx_error(r, &x, rc);
    return http_reply_empty(r, 204);
}

/*
 * keys: the organisation's API keys (admin and owner only). The key itself is in the answer to its
 * creation and nowhere else, ever; lists show the display prefix.
 */
#include "api/api.h"

#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static void add_key(const struct key_row *k, void *arg)
{
    json_array_append_new(arg, api_key_json(k));
}

int api_keys_list(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    json_t *data = json_array();
    struct db *db = store_conn(app->store);
    int rc = store_key_list(db, &t, add_key, data);
    store_release(app->store, db);
    if (rc) {
        json_decref(data);
        return rc;
    }
    return http_reply_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

int api_keys_get(struct http_req *r)
{
    struct app *app = http_app(r);
    struct tenant t = api_tenant(r);
    struct key_row k;
    struct db *db = store_conn(app->store);
    int rc = store_key_get(db, &t, http_param(r, "id"), &k);
    store_release(app->store, db);
    if (rc)
        return api_store_error(r, rc, "API key");
    json_t *j = api_key_json(&k);
    key_row_free(&k);
    return http_reply_json(r, 200, j);
}

int api_keys_create(struct http_req *r)
{
    struct app *app = http_app(r);
    const struct principal *who = api_principal(r);
    const char *name, *role_s, *expires;
    int rc;
    if ((rc = api_body_string(r, "name", true, 100, &name)) ||
        (rc = api_body_string(r, "role", false, 16, &role_s)) ||
        (rc = api_body_string(r, "expires_at", false, 40, &expires)))
        return rc;
    if (!*name)
        return http_fail(r, AEG_EINVAL, "name must not be empty.");
    int role = role_s ? role_parse(role_s) : ROLE_ANALYST;
    if (!role)
        return http_fail(r, AEG_EINVAL, "role must be owner, admin, analyst or viewer.");
    if (role > who->role)
        return http_fail(r, AEG_EFORBIDDEN, "A key cannot have a role above yours (%s).",
                         role_name(who->role));
    int64_t expires_at = 0;
    if (expires) {
        if (clock_parse_iso(expires, &expires_at))
            return http_fail(r, AEG_EINVAL,
                             "expires_at must be an ISO 8601 time such as 2027-01-31T00:00:00Z.");
        if (expires_at <= clock_now_ms())
            return http_fail(r, AEG_EINVAL, "expires_at must be in the future.");
    }
    struct auth_req rq = api_auth_req(r);
    struct key_row k;
    char key[AUTH_KEY_LEN + 1];
    rc = auth_create_key(app->store, app->cfg, who, &rq, name, role, expires_at, &k, key);
    if (rc)
        return rc;
    json_t *j = api_key_json(&k);
    json_object_set_new(j, "key", json_string(key));
    json_object_set_new(j, "message", json_string("This is the only time the key is shown."));
    memset(key, 0, sizeof key);
    key_row_free(&k);
    http_add_header(r, "Cache-Control", "no-store");
    return http_reply_json(r, 201, j);
}

struct revoke_tx {
    struct app *app;
    const struct principal *who;
    struct tenant t;
    struct auth_req rq;
    const char *id;
    bool forbidden;
};

static int revoke_body(struct db *db, void *arg)
{
    struct revoke_tx *x = arg;
    struct key_row k;
    int rc = store_key_get(db, &x->t, x->id, &k);
    if (rc)
        return rc;
    bool owner_key = !strcmp(k.role, "owner");
    key_row_free(&k);
    if (owner_key && x->who->role < ROLE_OWNER) {
        x->forbidden = true; /* as with members: only an owner touches an owner's reach */
        return AEG_EFORBIDDEN;
    }
    rc = store_key_revoke(db, &x->t, x->id, clock_now_ms());
    if (!rc)
        rc = auth_audit(db, x->app->cfg, x->t.org_id, x->who, &x->rq, "key.revoked", "api_key",
                        x->id, "success", NULL);
    return rc;
}

int api_keys_revoke(struct http_req *r)
{
    struct app *app = http_app(r);
    struct revoke_tx x = {.app = app, .who = api_principal(r), .t = api_tenant(r),
                          .rq = api_auth_req(r), .id = http_param(r, "id")};
    int rc = store_tx(app->store, revoke_body, &x);
    if (rc == AEG_ECONFLICT)
        return http_fail(r, AEG_ECONFLICT, "This key is already revoked.");
    if (x.forbidden)
        return http_fail(r, AEG_EFORBIDDEN, "Only an owner can revoke an owner-role key.");
    if (rc)
        return api_store_error(r, rc, "API key");
    return api_keys_get(r);
}

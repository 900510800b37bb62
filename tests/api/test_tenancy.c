/*
 * The cross-tenant matrix, driven by the route table (`aegis routes --json`) so that it grows with
 * it. One server, two organisations A and B. For every route whose pattern takes an id, the
 * resource segment before the {param} names a fixture (users, keys, ...) that makes objects of that
 * kind. Then:
 *   - B's principals (owner key, owner session, admin key) send the route's method to A's ids: 404
 *     not_found every time (never 403, never 2xx), with none of A's data in the answer, and A's
 * objects, audit log included, unchanged afterwards;
 *   - a random well-formed UUID and malformed ids: 404 (or 400 for a malformed one), nothing of A;
 *   - B's own ids: 2xx, so the 404s above are about ownership and not a broken route (deletes last,
 * on throwaway objects). Every list (GET route without a parameter) read with B's key contains none
 * of A's ids or data. A route with an id and no fixture fails the test with a message saying to add
 * one.
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/ids.h"

#define MAX_OBJS 4
#define MAX_MARKERS 4

/* One object of a tenant: its id, the strings that are its data (they must never reach the other
 * tenant), a secret when it has one (a key), and how its owner saw it when it was made. */
struct object {
    char id[64];
    char marker[MAX_MARKERS][200];
    int nmarkers;
    char secret[80];
    json_t *snapshot; /* GET of the object with the owner's key, just after it was made */
};

struct org {
    char label; /* 'A' or 'B' */
    char id[64];
    char name[100];
    char owner_email[120];
    char owner_id[64];
    char key_id[64];
    char key[80];
    char key_prefix[32];
    char session[80];   /* the owner logged in */
    char admin_key[80]; /* an admin-role key */
    char admin_key_id[64];
};

struct fixture;

struct world {
    struct srv s;
    struct org a, b;
    json_t *routes;
    /* per fixture: A's objects, B's own (kept) objects */
    struct object a_objs[8][MAX_OBJS];
    int a_n[8];
    struct object b_objs[8][MAX_OBJS];
    int b_n[8];
    int made; /* counter for unique names */
};

/* ---- small helpers
 * ------------------------------------------------------------------------------- */

static void copy(char *dst, size_t n, const char *src)
{
    assert_non_null(src);
    snprintf(dst, n, "%s", src);
}

/* An authenticated JSON request. */
static void call(struct world *w, const char *bearer, const char *method, const char *path,
                 const char *body, struct resp *r)
{
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    const char *with_body[] = {auth, "Content-Type: application/json", NULL};
    const char *without[] = {auth, NULL};
    if (req(&w->s, method, path, body ? with_body : without, body, r) != 0)
        fail_msg("%s %s: transport error", method, path);
}

/* A request that must answer `status`; returns the parsed body (new reference) or NULL. */
static json_t *call_ok(struct world *w, const char *bearer, const char *method, const char *path,
                       const char *body, long status)
{
    struct resp r;
    call(w, bearer, method, path, body, &r);
    if (r.status != status) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s %s: want %ld, got %ld: %.900s", method, path, status,
                 r.status, r.body ? r.body : "");
        resp_free(&r);
        fail_msg("%s", msg);
    }
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

static void add_marker(struct object *o, const char *m)
{
    assert_true(o->nmarkers < MAX_MARKERS);
    assert_true(m && strlen(m) >= 8); /* long enough not to occur by chance */
    copy(o->marker[o->nmarkers++], sizeof o->marker[0], m);
}

/* The object as its owner sees it, without what changes by merely being used. */
static json_t *owner_view(struct world *w, const char *bearer, const char *resource, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/%s/%s", resource, id);
    json_t *j = call_ok(w, bearer, "GET", path, NULL, 200);
    json_object_del(j, "last_used_at");
    json_object_del(j, "last_login_at");
    return j;
}

/* ---- fixtures: one per resource a route addresses by id
 * ------------------------------------------ */

struct fixture {
    const char *resource; /* the path segment before {param} */
    void (*make)(struct world *w, const struct org *o, struct object *out);
    /* bodies that are valid for the route's method, so a 404 is not hiding behind a 400 */
    const char *patch_body, *post_body, *put_body;
    /* after the cross-tenant attempts: what "unchanged" means beyond the snapshot */
    void (*intact)(struct world *w, const struct org *o, const struct object *obj);
};

static void make_user(struct world *w, const struct org *o, struct object *out)
{
    int n = ++w->made;
    char body[600], email[120], name[100];
    snprintf(email, sizeof email, "member%d.%c@tenancy-%c.example", n, o->label | 0x20,
             o->label | 0x20);
    snprintf(name, sizeof name, "Member %d of org %c", n, o->label);
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"role\":\"analyst\",\"name\":\"%s\",\"password\":\"member "
             "password %d\"}",
             email, name, n);
    json_t *j = call_ok(w, o->key, "POST", "/api/v1/users", body, 201);
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, jstr(j, "id"));
    add_marker(out, email);
    add_marker(out, name);
    json_decref(j);
    out->snapshot = owner_view(w, o->key, "users", out->id);
}

static void user_intact(struct world *w, const struct org *o, const struct object *obj)
{
    json_t *list = call_ok(w, o->key, "GET", "/api/v1/users", NULL, 200);
    bool listed = false;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(list, "data"), i, u) listed |=
        !strcmp(jstr(u, "id"), obj->id);
    json_decref(list);
    if (!listed)
        fail_msg("%c's user %s is no longer in %c's member list", o->label, obj->id, o->label);
    const char *want = jstr(obj->snapshot, "role");
    json_t *now = owner_view(w, o->key, "users", obj->id);
    const char *role = jstr(now, "role");
    if (!role || strcmp(role, want) != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "%c's user %s changed role from %s to %s", o->label, obj->id,
                 want, role ? role : "(none)");
        json_decref(now);
        fail_msg("%s", msg);
    }
    json_decref(now);
}

static void make_key(struct world *w, const struct org *o, struct object *out)
{
    int n = ++w->made;
    char body[300], name[100];
    snprintf(name, sizeof name, "Key %d of org %c", n, o->label);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"role\":\"analyst\"}", name);
    json_t *j = call_ok(w, o->key, "POST", "/api/v1/keys", body, 201);
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, jstr(j, "id"));
    copy(out->secret, sizeof out->secret, jstr(j, "key"));
    add_marker(out, jstr(j, "prefix"));
    add_marker(out, name);
    add_marker(out, out->secret);
    json_decref(j);
    out->snapshot = owner_view(w, o->key, "keys", out->id);
}

static void key_intact(struct world *w, const struct org *o, const struct object *obj)
{
    json_t *now = owner_view(w, o->key, "keys", obj->id);
    bool revoked = !json_is_null(json_object_get(now, "revoked_at"));
    json_decref(now);
    if (revoked)
        fail_msg("%c's key %s was revoked", o->label, obj->id);
    if (obj->secret[0]) { /* and it still works */
        json_t *me = call_ok(w, obj->secret, "GET", "/api/v1/me", NULL, 200);
        assert_string_equal(jstr(me, "organization.id"), o->id);
        json_decref(me);
    }
}

/* Whether id is in the owner's list of resource (GET /api/v1/<resource>). */
static bool listed(struct world *w, const struct org *o, const char *resource, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/%s", resource);
    json_t *list = call_ok(w, o->key, "GET", path, NULL, 200);
    bool found = false;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(list, "data"), i, x)
    {
        found |= !strcmp(jstr(x, "id"), id);
    }
    json_decref(list);
    return found;
}

static void make_scenario(struct world *w, const struct org *o, struct object *out)
{
    int n = ++w->made;
    char body[600], name[100];
    snprintf(name, sizeof name, "Scenario %d of org %c", n, o->label);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"lef\":{\"dist\":\"pert\",\"min\":0.5,\"mode\":%d,\"max\":9},"
             "\"primary_loss\":{\"dist\":\"lognormal\",\"p05\":1000,\"p95\":50000}}",
             name, 1 + n % 5);
    json_t *j = call_ok(w, o->key, "POST", "/api/v1/scenarios", body, 201);
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, jstr(j, "id"));
    add_marker(out, name);
    json_decref(j);
    out->snapshot = owner_view(w, o->key, "scenarios", out->id);
}

static void scenario_intact(struct world *w, const struct org *o, const struct object *obj)
{
    if (!listed(w, o, "scenarios", obj->id))
        fail_msg("%c's scenario %s is no longer in %c's library", o->label, obj->id, o->label);
}

/* Waits until the run at path is done (the job worker polls every 50 ms; these runs are quick). */
static void wait_done(struct world *w, const struct org *o, const char *path)
{
    for (int i = 0;; i++) {
        json_t *run = call_ok(w, o->key, "GET", path, NULL, 200);
        const char *st = jstr(run, "status");
        bool done = !strcmp(st, "done"), failed = !strcmp(st, "failed");
        json_decref(run);
        if (failed)
            fail_msg("%c's run %s failed", o->label, path);
        if (done)
            break;
        if (i == 600)
            fail_msg("%c's run %s is not done after 30 s", o->label, path);
        sleep_ms(50);
    }
}

/* A run is made and waited for: its snapshot is the finished run, which must not change after. */
static void make_simulation(struct world *w, const struct org *o, struct object *out)
{
    int n = ++w->made;
    char body[700], name[100], scenario[100];
    snprintf(name, sizeof name, "Simulation %d of org %c", n, o->label);
    snprintf(scenario, sizeof scenario, "Inline scenario %d of org %c", n, o->label);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"iterations\":2000,\"seed\":%d,\"scenarios\":[{\"name\":\"%s\","
             "\"lef\":2,\"primary_loss\":{\"dist\":\"uniform\",\"min\":100,\"max\":900}}]}",
             name, n, scenario);
    json_t *j = call_ok(w, o->key, "POST", "/api/v1/simulations", body, 202);
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, jstr(j, "id"));
    add_marker(out, name);
    add_marker(out, scenario);
    json_decref(j);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/simulations/%s", out->id);
    wait_done(w, o, path);
    out->snapshot = owner_view(w, o->key, "simulations", out->id);
}

static void simulation_intact(struct world *w, const struct org *o, const struct object *obj)
{
    if (!listed(w, o, "simulations", obj->id))
        fail_msg("%c's simulation %s is no longer in %c's list", o->label, obj->id, o->label);
}

/* An optimisation with an inline one-control catalog, made and waited for. */
static void make_optimization(struct world *w, const struct org *o, struct object *out)
{
    int n = ++w->made;
    char body[1200], name[100], scenario[100], control[100];
    snprintf(name, sizeof name, "Optimisation %d of org %c", n, o->label);
    snprintf(scenario, sizeof scenario, "Optimised scenario %d of org %c", n, o->label);
    snprintf(control, sizeof control, "ctl-%d-of-%c", n, o->label == 'A' ? 'a' : 'b');
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"iterations\":2000,\"seed\":%d,\"scenarios\":[{\"name\":\"%s\","
             "\"tags\":[\"ransomware\"],\"lef\":2,\"primary_loss\":{\"dist\":\"uniform\","
             "\"min\":100,\"max\":900}}],\"controls\":{\"catalog\":{\"controls\":[{\"id\":\"%s\","
             "\"name\":\"A control\",\"cost\":{\"one_off\":0,\"yearly\":10},\"effects\":[{"
             "\"all\":true,\"tef\":50}]}]}}}",
             name, n, scenario, control);
    json_t *j = call_ok(w, o->key, "POST", "/api/v1/optimize", body, 202);
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, jstr(j, "id"));
    add_marker(out, name);
    add_marker(out, scenario);
    add_marker(out, control);
    json_decref(j);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/optimization/%s", out->id);
    wait_done(w, o, path);
    out->snapshot = owner_view(w, o->key, "optimization", out->id);
}

static void optimization_intact(struct world *w, const struct org *o, const struct object *obj)
{
    if (!listed(w, o, "optimization", obj->id))
        fail_msg("%c's optimization %s is no longer in %c's list", o->label, obj->id, o->label);
}

/* A trace, evaluated inline so its snapshot is final; its text and external id are A's data. */
static void make_trace(struct world *w, const struct org *o, struct object *out)
{
    int n = ++w->made;
    char body[700], ext[100], text[200];
    snprintf(ext, sizeof ext, "conversation-%d-of-org-%c", n, o->label);
    snprintf(text, sizeof text, "Quarterly report %d of org %c: Apple reported earnings today.", n,
             o->label);
    snprintf(body, sizeof body,
             "{\"domain\":\"trading\",\"external_id\":\"%s\",\"output\":\"%s\","
             "\"tags\":[\"tenancy\"]}",
             ext, text);
    json_t *j = call_ok(w, o->key, "POST", "/api/v1/traces?wait=true", body, 201);
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, jstr(json_array_get(json_object_get(j, "data"), 0), "id"));
    add_marker(out, ext);
    add_marker(out, text);
    json_decref(j);
    out->snapshot = owner_view(w, o->key, "traces", out->id);
}

static void trace_intact(struct world *w, const struct org *o, const struct object *obj)
{
    if (!listed(w, o, "traces", obj->id))
        fail_msg("%c's trace %s is no longer in %c's list", o->label, obj->id, o->label);
}

/* An organisation's own domain spec: its name is its id (the route is /domains/{name}). */
static void make_domain(struct world *w, const struct org *o, struct object *out)
{
    int n = ++w->made;
    char body[900], name[64], desc[120];
    snprintf(name, sizeof name, "tenancy-spec-%d-of-%c", n, o->label == 'A' ? 'a' : 'b');
    snprintf(desc, sizeof desc, "Spec %d of org %c for the tenancy matrix", n, o->label);
    snprintf(body, sizeof body,
             "{\"spec\":{\"name\":\"%s\",\"version\":\"1\",\"description\":\"%s\","
             "\"constraints\":[{\"id\":\"no_secret_%d\",\"description\":\"no secret\","
             "\"severity\":\"low\",\"rules\":[{\"kind\":\"keywords\",\"field\":\"output\","
             "\"any\":[\"secret\"]}]}]}}",
             name, desc, n);
    json_t *j = call_ok(w, o->key, "POST", "/api/v1/domains", body, 201);
    memset(out, 0, sizeof *out);
    copy(out->id, sizeof out->id, jstr(j, "id"));
    add_marker(out, name);
    add_marker(out, desc);
    json_decref(j);
    out->snapshot = owner_view(w, o->key, "domains", out->id);
}

static void domain_intact(struct world *w, const struct org *o, const struct object *obj)
{
    if (!listed(w, o, "domains", obj->id))
        fail_msg("%c's domain spec %s is no longer in %c's list", o->label, obj->id, o->label);
}

static const struct fixture fixtures[] = {
    {"users", make_user, "{\"role\":\"viewer\"}", "{\"role\":\"viewer\"}", "{\"role\":\"viewer\"}",
     user_intact},
    {"keys", make_key, "{\"name\":\"renamed\"}", "{\"name\":\"renamed\"}", "{\"name\":\"renamed\"}",
     key_intact},
    {"scenarios", make_scenario, NULL, NULL,
     "{\"name\":\"Replaced scenario\",\"lef\":1,\"primary_loss\":5000}", scenario_intact},
    {"simulations", make_simulation, NULL, NULL, NULL, simulation_intact},
    {"optimization", make_optimization, NULL, NULL, NULL, optimization_intact},
    {"traces", make_trace, NULL, NULL, NULL, trace_intact},
    {"domains", make_domain, NULL, NULL, NULL, domain_intact},
};
#define NFIX ((int)(sizeof fixtures / sizeof fixtures[0]))

/* Routes that take a parameter but address no tenant's object (public, no authentication). */
static const char *const not_tenant_data[] = {"/docs/{file}", NULL};

static int fixture_of(const char *resource, size_t len)
{
    for (int i = 0; i < NFIX; i++)
        if (strlen(fixtures[i].resource) == len && !strncmp(fixtures[i].resource, resource, len))
            return i;
    return -1;
}

/* ---- the world: one server, two organisations
 * ---------------------------------------------------- */

static void signup(struct world *w, struct org *o, char label)
{
    o->label = label;
    snprintf(o->name, sizeof o->name, "Tenancy Org %c Zebra%c", label, label);
    snprintf(o->owner_email, sizeof o->owner_email, "owner.%c@tenancy-%c.example", label | 0x20,
             label | 0x20);
    char body[400];
    snprintf(body, sizeof body,
             "{\"organization_name\":\"%s\",\"email\":\"%s\",\"password\":\"owner password %c\"}",
             o->name, o->owner_email, label);
    struct resp r;
    assert_int_equal(req(&w->s, "POST", "/api/v1/onboarding/signup",
                         (const char *const[]){"Content-Type: application/json", NULL}, body, &r),
                     0);
    if (r.status != 201)
        fail_msg("signup %c: %ld %s", label, r.status, r.body);
    copy(o->id, sizeof o->id, jstr(r.json, "organization.id"));
    copy(o->owner_id, sizeof o->owner_id, jstr(r.json, "user.id"));
    copy(o->key_id, sizeof o->key_id, jstr(r.json, "api_key.id"));
    copy(o->key, sizeof o->key, jstr(r.json, "api_key.key"));
    copy(o->key_prefix, sizeof o->key_prefix, jstr(r.json, "api_key.prefix"));
    assert_string_equal(jstr(r.json, "api_key.role"), "owner");
    resp_free(&r);

    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"owner password %c\"}",
             o->owner_email, label);
    assert_int_equal(req(&w->s, "POST", "/api/v1/auth/login",
                         (const char *const[]){"Content-Type: application/json", NULL}, body, &r),
                     0);
    if (r.status != 200)
        fail_msg("login %c: %ld %s", label, r.status, r.body);
    copy(o->session, sizeof o->session, jstr(r.json, "token"));
    resp_free(&r);

    json_t *k = call_ok(w, o->key, "POST", "/api/v1/keys",
                        "{\"name\":\"admin key of the org\",\"role\":\"admin\"}", 201);
    copy(o->admin_key, sizeof o->admin_key, jstr(k, "key"));
    copy(o->admin_key_id, sizeof o->admin_key_id, jstr(k, "id"));
    json_decref(k);
}

/* A's owner and signup key are targets too: an admin of B probing an owner must not learn more
 * (a 403 "only an owner can change an owner" would say the id exists). */
static void add_existing(struct world *w, const struct org *o, int fix, const char *id,
                         const char *m1, const char *m2, struct object *objs, int *n)
{
    struct object *x = &objs[(*n)++];
    memset(x, 0, sizeof *x);
    copy(x->id, sizeof x->id, id);
    add_marker(x, m1);
    if (m2)
        add_marker(x, m2);
    x->snapshot = owner_view(w, o->key, fixtures[fix].resource, id);
}

static int group_setup(void **state)
{
    struct world *w = xcalloc(1, sizeof *w);
    const char *env[] = {"AEGIS_ARGON2_MEMORY_KIB=1024", "AEGIS_ARGON2_ITERATIONS=1",
                         "AEGIS_SIGNUP_PER_HOUR=100", NULL};
    srv_init(&w->s, env);
    assert_int_equal(srv_start(&w->s, NULL), 0);
    signup(w, &w->a, 'A');
    signup(w, &w->b, 'B');

    char *out = NULL;
    assert_int_equal(srv_cli(&w->s, &out, NULL, "routes", "--json", NULL), 0);
    w->routes = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_is_array(w->routes));

    for (int f = 0; f < NFIX; f++) {
        fixtures[f].make(w, &w->a, &w->a_objs[f][w->a_n[f]++]);
        fixtures[f].make(w, &w->b, &w->b_objs[f][w->b_n[f]++]);
        if (!strcmp(fixtures[f].resource, "users"))
            add_existing(w, &w->a, f, w->a.owner_id, w->a.owner_email, NULL, w->a_objs[f],
                         &w->a_n[f]);
        if (!strcmp(fixtures[f].resource, "keys"))
            add_existing(w, &w->a, f, w->a.key_id, w->a.key_prefix, w->a.key, w->a_objs[f],
                         &w->a_n[f]);
    }
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;
    if (!w)
        return 0;
    for (int f = 0; f < 8; f++) {
        for (int i = 0; i < w->a_n[f]; i++)
            json_decref(w->a_objs[f][i].snapshot);
        for (int i = 0; i < w->b_n[f]; i++)
            json_decref(w->b_objs[f][i].snapshot);
    }
    json_decref(w->routes);
    srv_stop_group(&w->s);
    srv_cleanup(&w->s);
    free(w);
    return 0;
}

/* Every string of A that B must never see: ids and data. */
static int a_secrets(struct world *w, const char **out, int max)
{
    int n = 0;
#define ADD(s)                                                                                     \
    do {                                                                                           \
        assert_true(n < max);                                                                      \
        out[n++] = (s);                                                                            \
    } while (0)
    ADD(w->a.id);
    ADD(w->a.name);
    ADD(w->a.owner_email);
    ADD(w->a.owner_id);
    ADD(w->a.key_id);
    ADD(w->a.key);
    ADD(w->a.key_prefix);
    ADD(w->a.admin_key_id);
    ADD(w->a.admin_key);
    ADD(w->a.session);
    for (int f = 0; f < NFIX; f++)
        for (int i = 0; i < w->a_n[f]; i++) {
            ADD(w->a_objs[f][i].id);
            for (int m = 0; m < w->a_objs[f][i].nmarkers; m++)
                ADD(w->a_objs[f][i].marker[m]);
        }
#undef ADD
    return n;
}

/* The first of A's strings found in text, or NULL. skip: a string allowed to appear (the id the
 * request itself named). */
static const char *leak_in(struct world *w, const char *text, const char *skip)
{
    const char *sec[128];
    int n = a_secrets(w, sec, 128);
    for (int i = 0; text && i < n; i++)
        if (sec[i][0] && (!skip || strcmp(sec[i], skip) != 0) && strstr(text, sec[i]))
            return sec[i];
    return NULL;
}

/* ---- the matrix
 * ---------------------------------------------------------------------------------- */

enum mode { CROSS, RANDOM, MALFORMED, OWN };
static const char *mode_name[] = {"B's principal on A's id", "a random UUID", "a malformed id",
                                  "B on B's own id"};

struct target {
    char path[400];
    char first_id[200]; /* the id put in the path (allowed to be echoed back) */
    int fix;
};

/* Builds the path of a route for mode; pick chooses among the fixture's objects. Fails the test
 * when a parameter has no fixture. Returns false for routes that address no tenant data. */
static bool build_path(struct world *w, const char *method, const char *pattern, enum mode m,
                       int pick, struct target *t)
{
    size_t o = 0;
    t->fix = -1;
    t->first_id[0] = '\0';
    for (const char *p = pattern; *p; p++) {
        if (*p != '{') {
            assert_true(o + 2 < sizeof t->path);
            t->path[o++] = *p;
            continue;
        }
        const char *end = strchr(p, '}');
        assert_non_null(end);
        /* the resource: the segment before this parameter */
        const char *seg_end = p - 1, *seg = seg_end;
        while (seg > pattern && seg[-1] != '/')
            seg--;
        int f = fixture_of(seg, (size_t)(seg_end - seg));
        if (f < 0)
            fail_msg("route %s %s takes an id but test_tenancy has no fixture for it: add one "
                     "(a `struct fixture` for \"%.*s\" in tests/api/test_tenancy.c)",
                     method, pattern, (int)(seg_end - seg), seg);
        char id[200];
        if (m == CROSS) {
            int n = w->a_n[f];
            snprintf(id, sizeof id, "%s", w->a_objs[f][pick < n ? pick : n - 1].id);
        } else if (m == OWN) {
            int n = w->b_n[f];
            snprintf(id, sizeof id, "%s", w->b_objs[f][pick < n ? pick : n - 1].id);
        } else if (m == RANDOM) {
            id_uuid7(id);
        } else {
            static const char *bad[] = {"not-a-uuid", "%27%20OR%20%271%27%3D%271", "%25",
                                        "00000000-0000-0000-0000-000000000000",
                                        "01234567-89AB-7DEF-8123-456789ABCDEF"};
            snprintf(id, sizeof id, "%s", bad[pick % 5]);
        }
        if (!t->first_id[0])
            snprintf(t->first_id, sizeof t->first_id, "%s", id);
        if (t->fix < 0)
            t->fix = f;
        o += (size_t)snprintf(t->path + o, sizeof t->path - o, "%s", id);
        assert_true(o < sizeof t->path);
        p = end;
    }
    t->path[o] = '\0';
    return true;
}

static bool has_flag(json_t *route, const char *flag)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(route, "flags"), i,
                       f) if (!strcmp(json_string_value(f), flag)) return true;
    return false;
}

static const char *body_for(const char *method, const struct fixture *fx)
{
    if (!strcmp(method, "PATCH"))
        return fx->patch_body;
    if (!strcmp(method, "POST"))
        return fx->post_body;
    if (!strcmp(method, "PUT"))
        return fx->put_body;
    return NULL;
}

/* True when the route is part of the matrix: it takes a parameter and addresses tenant data. */
static bool in_matrix(json_t *route)
{
    const char *pattern = json_string_value(json_object_get(route, "pattern"));
    if (!strchr(pattern, '{'))
        return false;
    for (int i = 0; not_tenant_data[i]; i++)
        if (!strcmp(pattern, not_tenant_data[i])) {
            assert_true(has_flag(route, "public")); /* only unauthenticated routes may be exempt */
            return false;
        }
    if (has_flag(route, "public"))
        fail_msg("route %s is public and takes a parameter: if it shows tenant data it needs a "
                 "fixture, else list it in not_tenant_data",
                 pattern);
    return true;
}

/* Runs one pass of the matrix: every route with an id, its method, the target chosen by mode;
 * DELETE routes after all others. Failures are collected so one run names every offending route.
 * Returns the number of requests sent. */
static int run_matrix(struct world *w, const char *bearer, const char *who, enum mode m, int pick,
                      struct buf *failures)
{
    int sent = 0;
    for (int pass = 0; pass < 2; pass++) { /* 0: all but DELETE, 1: DELETE */
        size_t i;
        json_t *route;
        json_array_foreach(w->routes, i, route)
        {
            const char *method = json_string_value(json_object_get(route, "method"));
            const char *pattern = json_string_value(json_object_get(route, "pattern"));
            if (!in_matrix(route) || (pass == 1) != !strcmp(method, "DELETE"))
                continue;
            struct target t;
            build_path(w, method, pattern, m, pick, &t);
            if (m == OWN && !strcmp(method, "DELETE")) {
                /* a throwaway object of B's for each delete */
                struct object *x = &w->b_objs[t.fix][w->b_n[t.fix]];
                assert_true(w->b_n[t.fix] < MAX_OBJS);
                w->b_n[t.fix]++;
                fixtures[t.fix].make(w, &w->b, x);
                build_path(w, method, pattern, m, w->b_n[t.fix] - 1, &t);
            }
            const char *body = body_for(method, &fixtures[t.fix]);
            struct resp r;
            call(w, bearer, method, t.path, body, &r);
            sent++;
            const char *code =
                json_string_value(json_object_get(json_object_get(r.json, "error"), "code"));
            const char *leak = leak_in(w, r.body, m == CROSS ? t.first_id : NULL);
            bool ok;
            if (m == OWN)
                ok = r.status >= 200 && r.status < 300;
            else if (m == MALFORMED)
                ok = (r.status == 404 && code && !strcmp(code, "not_found")) ||
                     (r.status == 400 && code && !strcmp(code, "invalid_request"));
            else
                ok = r.status == 404 && code && !strcmp(code, "not_found");
            if (!ok || (m != OWN && leak))
                buf_printf(failures, "  %s (%s, %s): %s %s -> %ld %s%s%s: %.300s\n", who,
                           mode_name[m], fixtures[t.fix].resource, method, t.path, r.status,
                           code ? code : "", r.status == 403 ? " (403 tells B the id exists)" : "",
                           leak ? " LEAKS A's data" : "", r.body ? r.body : "");
            resp_free(&r);
        }
    }
    return sent;
}

/* cmocka cuts long messages: the whole list goes to stderr, a summary into the failure. */
static void report(struct buf *failures, const char *what)
{
    if (failures->len) {
        int lines = 0;
        for (size_t i = 0; i < failures->len; i++)
            lines += failures->data[i] == '\n';
        fprintf(stderr, "%s:\n%s", what, buf_str(failures));
        fflush(stderr);
        buf_release(failures);
        fail_msg("%s: %d request(s), listed above on stderr", what, lines);
    }
    buf_release(failures);
}

/* A's audit log as A's owner reads it (count of rows), to show B's attempts wrote nothing there. */
static size_t a_audit_rows(struct world *w)
{
    json_t *j = call_ok(w, w->a.key, "GET", "/api/v1/audit-log?limit=500", NULL, 200);
    size_t n = json_array_size(json_object_get(j, "data"));
    json_decref(j);
    return n;
}

/* A's objects are as they were: the owner's view equals the snapshot, and the fixture's own checks.
 */
static void assert_a_intact(struct world *w)
{
    for (int f = 0; f < NFIX; f++)
        for (int i = 0; i < w->a_n[f]; i++) {
            const struct object *obj = &w->a_objs[f][i];
            struct resp r;
            char path[200];
            snprintf(path, sizeof path, "/api/v1/%s/%s", fixtures[f].resource, obj->id);
            call(w, w->a.key, "GET", path, NULL, &r);
            if (r.status != 200) {
                char msg[600];
                snprintf(msg, sizeof msg, "A's %s %s is gone: %ld %.300s", fixtures[f].resource,
                         obj->id, r.status, r.body);
                resp_free(&r);
                fail_msg("%s", msg);
            }
            json_t *now = json_incref(r.json);
            resp_free(&r);
            json_object_del(now, "last_used_at");
            json_object_del(now, "last_login_at");
            bool same = json_equal(now, obj->snapshot);
            char *a = json_dumps(obj->snapshot, JSON_SORT_KEYS),
                 *b = json_dumps(now, JSON_SORT_KEYS);
            json_decref(now);
            if (!same) {
                char msg[1500];
                snprintf(msg, sizeof msg, "A's %s %s changed:\n  before %s\n  after  %s",
                         fixtures[f].resource, obj->id, a, b);
                free(a);
                free(b);
                fail_msg("%s", msg);
            }
            free(a);
            free(b);
            fixtures[f].intact(w, &w->a, obj);
        }
}

/* ---- tests
 * --------------------------------------------------------------------------------------- */

/* The route table has routes with ids, and every one of them has a fixture (or fails here). */
static void every_id_route_has_a_fixture(void **state)
{
    struct world *w = *state;
    size_t i, with_id = 0;
    json_t *route;
    json_array_foreach(w->routes, i, route)
    {
        if (!in_matrix(route))
            continue;
        with_id++;
        struct target t;
        build_path(w, json_string_value(json_object_get(route, "method")),
                   json_string_value(json_object_get(route, "pattern")), RANDOM, 0, &t);
    }
    /* users and keys: GET, PATCH, DELETE /users/{id}; GET, DELETE /keys/{id}; GET, PUT, DELETE
     * /scenarios/{id}; GET /simulations/{id} at least */
    assert_true(with_id >= 9);
}

/* Before B does anything to A's ids: nothing B can list shows A. */
static void lists_show_no_other_tenant(void **state)
{
    struct world *w = *state;
    static const char *must_cover[] = {
        "/api/v1/users",       "/api/v1/keys",         "/api/v1/audit-log", "/api/v1/scenarios",
        "/api/v1/simulations", "/api/v1/optimization", "/api/v1/traces",    "/api/v1/domains"};
    enum { NCOVER = sizeof must_cover / sizeof must_cover[0] };
    bool covered[NCOVER] = {false};
    struct buf failures;
    buf_init(&failures, BUF_CAP_LINE);
    const char *bearers[] = {w->b.key, w->b.session, w->b.admin_key};
    size_t i;
    json_t *route;
    json_array_foreach(w->routes, i, route)
    {
        const char *method = json_string_value(json_object_get(route, "method"));
        const char *pattern = json_string_value(json_object_get(route, "pattern"));
        if (strcmp(method, "GET") != 0 || strchr(pattern, '{') || has_flag(route, "public"))
            continue;
        for (int k = 0; k < NCOVER; k++)
            covered[k] |= !strcmp(pattern, must_cover[k]);
        for (int b = 0; b < 3; b++) {
            struct resp r;
            call(w, bearers[b], "GET", pattern, NULL, &r);
            const char *leak = leak_in(w, r.body, NULL);
            if (r.status != 200 || leak)
                buf_printf(&failures, "  GET %s as B's %s -> %ld%s%s\n", pattern,
                           b == 0   ? "owner key"
                           : b == 1 ? "session"
                                    : "admin key",
                           r.status, leak ? ", contains A's " : "", leak ? leak : "");
            resp_free(&r);
        }
    }
    for (int k = 0; k < NCOVER; k++)
        if (!covered[k])
            buf_printf(&failures, "  %s is not in the route table any more\n", must_cover[k]);
    /* filters do not reach across: A's actor id, every action, the largest page, an old cursor */
    char path[300];
    const char *queries[] = {"?actor=%s", "?action=*", "?action=key.*&limit=500", "?cursor=999999",
                             "?from=2000-01-01T00:00:00Z&limit=500"};
    for (int q = 0; q < 5; q++) {
        char query[200];
        snprintf(query, sizeof query, queries[q], w->a.key_id);
        snprintf(path, sizeof path, "/api/v1/audit-log%s", query);
        struct resp r;
        call(w, w->b.key, "GET", path, NULL, &r);
        const char *leak = leak_in(w, r.body, NULL);
        if (r.status != 200 || leak)
            buf_printf(&failures, "  GET %s as B -> %ld%s%s\n", path, r.status,
                       leak ? ", contains A's " : "", leak ? leak : "");
        if (q == 0 && r.status == 200 && json_array_size(json_object_get(r.json, "data")) != 0)
            buf_printf(&failures, "  GET %s as B lists rows of A's actor\n", path);
        resp_free(&r);
    }
    /* the trace filters and cursors do not reach across either */
    int tf = fixture_of("traces", 6);
    assert_true(tf >= 0 && w->a_n[tf] > 0);
    const char *tqueries[] = {"?tag=tenancy&limit=500", "?domain=trading&verdict=pass",
                              "?constraint=risk_disclosure&constraint_verdict=pass",
                              "?since=2000-01-01T00:00:00Z", "?starting_after=%s"};
    for (int q = 0; q < 5; q++) {
        char query[200];
        snprintf(query, sizeof query, tqueries[q], w->a_objs[tf][0].id);
        snprintf(path, sizeof path, "/api/v1/traces%s", query);
        struct resp r;
        call(w, w->b.key, "GET", path, NULL, &r);
        long want = q == 4 ? 400 : 200; /* A's trace is no cursor of B's */
        const char *leak = leak_in(w, r.body, q == 4 ? w->a_objs[tf][0].id : NULL);
        if (r.status != want || leak)
            buf_printf(&failures, "  GET %s as B -> %ld%s%s\n", path, r.status,
                       leak ? ", contains A's " : "", leak ? leak : "");
        resp_free(&r);
    }
    /* and B does see its own */
    json_t *mine = call_ok(w, w->b.key, "GET", "/api/v1/users", NULL, 200);
    assert_true(json_array_size(json_object_get(mine, "data")) >= 2);
    json_decref(mine);
    for (int f = 0; f < NFIX; f++)
        if (!strcmp(fixtures[f].resource, "scenarios") ||
            !strcmp(fixtures[f].resource, "simulations") ||
            !strcmp(fixtures[f].resource, "optimization") ||
            !strcmp(fixtures[f].resource, "traces"))
            if (!listed(w, &w->b, fixtures[f].resource, w->b_objs[f][0].id))
                buf_printf(&failures, "  B's own %s %s is not in B's list\n", fixtures[f].resource,
                           w->b_objs[f][0].id);
    report(&failures, "B's lists show A's data");
}

static void cross_tenant_ids_are_not_found(void **state)
{
    struct world *w = *state;
    size_t audit_before = a_audit_rows(w);
    struct buf failures;
    buf_init(&failures, BUF_CAP_LINE);
    struct {
        const char *bearer, *who;
    } as[] = {{w->b.key, "B's owner key"},
              {w->b.session, "B's owner session"},
              {w->b.admin_key, "B's admin key"}};
    int sent = 0, picks = 0;
    for (int f = 0; f < NFIX; f++)
        picks = w->a_n[f] > picks ? w->a_n[f] : picks;
    for (size_t p = 0; p < 3; p++)
        for (int pick = 0; pick < picks; pick++)
            sent += run_matrix(w, as[p].bearer, as[p].who, CROSS, pick, &failures);
    assert_true(sent >= 3 * 2 * 5);
    report(&failures, "cross-tenant requests that were not a plain 404 not_found");
    assert_a_intact(w);
    /* nothing B tried was written into A's audit chain */
    assert_int_equal(a_audit_rows(w), audit_before);
}

static void random_and_malformed_ids_are_not_found(void **state)
{
    struct world *w = *state;
    struct buf failures;
    buf_init(&failures, BUF_CAP_LINE);
    for (int i = 0; i < 2; i++)
        run_matrix(w, w->b.key, "B's owner key", RANDOM, i, &failures);
    run_matrix(w, w->a.key, "A's owner key", RANDOM, 0, &failures);
    for (int i = 0; i < 5; i++)
        run_matrix(w, w->b.key, "B's owner key", MALFORMED, i, &failures);
    report(&failures, "requests for ids that exist nowhere");
    assert_a_intact(w);
}

/* The same routes work on B's own objects: the 404s above are about ownership. */
static void own_ids_work(void **state)
{
    struct world *w = *state;
    struct buf failures;
    buf_init(&failures, BUF_CAP_LINE);
    int sent = run_matrix(w, w->b.key, "B's owner key", OWN, 0, &failures);
    assert_true(sent >= 5);
    report(&failures, "routes that fail on the caller's own objects");
    /* the deletes hit the throwaways only: B's kept objects are still there */
    for (int f = 0; f < NFIX; f++) {
        char path[200];
        snprintf(path, sizeof path, "/api/v1/%s/%s", fixtures[f].resource, w->b_objs[f][0].id);
        json_decref(call_ok(w, w->b.key, "GET", path, NULL, 200));
    }
    assert_a_intact(w);
}

/* Afterwards, B's lists still show nothing of A, and A's lists nothing of B's throwaways' deletion.
 */
static void lists_after_the_matrix(void **state)
{
    lists_show_no_other_tenant(state);
    struct world *w = *state;
    assert_a_intact(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_id_route_has_a_fixture),
        cmocka_unit_test(lists_show_no_other_tenant),
        cmocka_unit_test(cross_tenant_ids_are_not_found),
        cmocka_unit_test(random_and_malformed_ids_are_not_found),
        cmocka_unit_test(own_ids_work),
        cmocka_unit_test(lists_after_the_matrix),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    return failed + srv_exit_failures;
}

/*
 * Tampering with the database file, and `aegis audit verify` naming the exact row. A real server
 * makes the events (signup, keys created and revoked, members added, promoted and removed, logins
 * good and bad) in organisation A, and a signup in organisation B; it is stopped; the log verifies.
 * Then each case edits its own copy of the database with sqlite3 directly (as someone holding the
 * file would) and expects verify to exit 1 naming the organisation, the row's seq, the row's id
 * when there is a row, and the kind (altered, removed, inserted), while `--org B` still verifies.
 * Last: no HTTP route changes or deletes audit rows.
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
#include <sqlite3.h>

#include "core/alloc.h"
#include "core/ids.h"

static const char *const server_env[] = {
    "AEGIS_ARGON2_MEMORY_KIB=1024", "AEGIS_ARGON2_ITERATIONS=1", "AEGIS_SIGNUP_PER_HOUR=100",
    /* a real pepper: the chain key is a secret, as in production */
    "AEGIS_KEY_PEPPER=tamper-test-pepper-0123456789abcdef0123456789", NULL};

struct world {
    struct srv s; /* the server that made the events; stopped after setup */
    char db[400];
    char org_a[64], org_b[64];
    char key_a[80];
    int64_t rows_a; /* rows in A's chain */
};

/* ---- helpers
 * ------------------------------------------------------------------------------------- */

static json_t *call(struct world *w, const char *bearer, const char *method, const char *path,
                    const char *body, long want)
{
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    const char *with_body[] = {auth, "Content-Type: application/json", NULL};
    const char *without[] = {auth, NULL};
    const char *const *h = bearer ? (body ? with_body : without) : (body ? with_body + 1 : NULL);
    struct resp r;
    assert_int_equal(req(&w->s, method, path, h, body, &r), 0);
    if (r.status != want) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s %s: want %ld, got %ld: %.600s", method, path, want, r.status,
                 r.body);
        resp_free(&r);
        fail_msg("%s", msg);
    }
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("sqlite3_open %s: %s", path, h ? sqlite3_errmsg(h) : "out of memory");
    sqlite3_busy_timeout(h, 5000);
    return h;
}

static void exec(sqlite3 *h, const char *fmt, ...)
{
    char sql[2000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
        char msg[2400];
        snprintf(msg, sizeof msg, "%s: %s", sql, err ? err : "?");
        sqlite3_free(err);
        fail_msg("%s", msg);
    }
}

/* The one text value a query returns (caller frees), or NULL. */
static char *query(sqlite3 *h, const char *fmt, ...)
{
    char sql[1000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    char *out = NULL;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        out = xstrdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return out;
}

/* Copies the database (WAL included) with SQLite's backup API: a consistent copy whatever state the
 * -wal file is in. */
static void copy_db(const char *from, const char *to)
{
    sqlite3 *src = open_db(from), *dst = NULL;
    assert_int_equal(sqlite3_open(to, &dst), SQLITE_OK);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    assert_non_null(b);
    assert_int_equal(sqlite3_backup_step(b, -1), SQLITE_DONE);
    assert_int_equal(sqlite3_backup_finish(b), SQLITE_OK);
    sqlite3_close(dst);
    sqlite3_close(src);
}

/* `aegis audit verify [--org ORG]` on the database of s: exit code, stdout in *out (caller frees).
 */
static int verify(const struct srv *s, const char *org, char **out)
{
    char *err = NULL;
    int rc = org ? srv_cli(s, out, &err, "audit", "verify", "--org", org, NULL)
                 : srv_cli(s, out, &err, "audit", "verify", NULL);
    free(err);
    return rc;
}

/* ---- setup: the events --------------------------------------------------------------------------
 */

static void signup(struct world *w, const char *name, const char *email, char org[64], char key[80])
{
    char body[400];
    snprintf(body, sizeof body,
             "{\"organization_name\":\"%s\",\"email\":\"%s\",\"password\":\"tamper password 1\"}",
             name, email);
    json_t *j = call(w, NULL, "POST", "/api/v1/onboarding/signup", body, 201);
    snprintf(org, 64, "%s", jstr(j, "organization.id"));
    if (key)
        snprintf(key, 80, "%s", jstr(j, "api_key.key"));
    json_decref(j);
}

static int group_setup(void **state)
{
    struct world *w = xcalloc(1, sizeof *w);
    srv_init(&w->s, server_env);
    assert_int_equal(srv_start(&w->s, NULL), 0);
    srv_path(&w->s, "aegis.db", w->db, sizeof w->db);

    signup(w, "Tamper Org A", "owner@tamper-a.example", w->org_a, w->key_a); /* rows 1-3 */
    signup(w, "Tamper Org B", "owner@tamper-b.example", w->org_b, NULL);
    char path[200];
    json_t *k = call(w, w->key_a, "POST", "/api/v1/keys", "{\"name\":\"ci\",\"role\":\"analyst\"}",
                     201); /* 4 */
    snprintf(path, sizeof path, "/api/v1/keys/%s", jstr(k, "id"));
    json_decref(k);
    json_decref(call(w, w->key_a, "DELETE", path, NULL, 200)); /* 5 */
    json_t *u = call(w, w->key_a, "POST", "/api/v1/users",
                     "{\"email\":\"ana@tamper-a.example\",\"role\":\"analyst\","
                     "\"password\":\"analyst password\"}",
                     201); /* 6 */
    snprintf(path, sizeof path, "/api/v1/users/%s", jstr(u, "id"));
    json_decref(u);
    json_decref(call(w, w->key_a, "PATCH", path, "{\"role\":\"admin\"}", 200)); /* 7 */
    u = call(w, w->key_a, "POST", "/api/v1/users",
             "{\"email\":\"temp@tamper-a.example\",\"role\":\"viewer\","
             "\"password\":\"viewer password\"}",
             201); /* 8 */
    snprintf(path, sizeof path, "/api/v1/users/%s", jstr(u, "id"));
    json_decref(u);
    json_decref(call(w, w->key_a, "DELETE", path, NULL, 204)); /* 9 */
    json_decref(call(w, NULL, "POST", "/api/v1/auth/login",
                     "{\"email\":\"owner@tamper-a.example\",\"password\":\"tamper password 1\"}",
                     200)); /* 10 */
    json_decref(call(w, NULL, "POST", "/api/v1/auth/login",
                     "{\"email\":\"ana@tamper-a.example\",\"password\":\"not the password\"}",
                     401)); /* 11 */
    json_decref(call(w, NULL, "POST", "/api/v1/auth/login",
                     "{\"email\":\"nobody@tamper-a.example\",\"password\":\"whatever it is\"}",
                     401)); /* the no-organisation chain */
    json_t *log = call(w, w->key_a, "GET", "/api/v1/audit-log?limit=500", NULL, 200);
    w->rows_a = (int64_t)json_array_size(json_object_get(log, "data"));
    json_decref(log);
    assert_true(w->rows_a >= 8);
    assert_int_equal(w->rows_a, 11);
    assert_int_equal(srv_stop(&w->s, 15), 0);
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;
    if (w) {
        srv_cleanup(&w->s);
        free(w);
    }
    return 0;
}

/* ---- the cases
 * ----------------------------------------------------------------------------------- */

static void untouched_log_verifies(void **state)
{
    struct world *w = *state;
    char *out = NULL;
    assert_int_equal(verify(&w->s, NULL, &out), 0);
    assert_true(!strncmp(out, "ok:", 3));
    char want[100];
    /* A's 11, B's 3, and the failed login of an unknown email */
    snprintf(want, sizeof want, "%lld row(s) in 3 chain(s)", (long long)w->rows_a + 3 + 1);
    if (!strstr(out, want))
        fail_msg("want \"%s\" in: %s", want, out);
    free(out);
    assert_int_equal(verify(&w->s, w->org_a, &out), 0);
    snprintf(want, sizeof want, "ok: %lld row(s) in 1 chain(s)", (long long)w->rows_a);
    assert_non_null(strstr(out, want));
    free(out);
    assert_int_equal(verify(&w->s, w->org_b, &out), 0);
    assert_non_null(strstr(out, "ok: 3 row(s) in 1 chain(s)"));
    free(out);
    /* bad usage */
    char *err = NULL;
    assert_int_equal(srv_cli(&w->s, NULL, &err, "audit", "verify", "--org", NULL), 2);
    free(err);
    assert_int_equal(srv_cli(&w->s, NULL, &err, "audit", "check", NULL), 2);
    free(err);
}

/* One tampering on a fresh copy of the database: `sql` is run with %1$s = A's org id; verify must
 * then exit 1 and name A, row `seq`, the row's id when `id_seq` > 0 (the id of that row before the
 * edit, or `id` when given), and `kind`. */
struct tamper {
    const char *what;
    const char *sql;
    int64_t seq;
    int64_t id_seq; /* the row whose id is named; 0: none (a missing row) */
    const char *id; /* an explicit id instead (a forged row) */
    const char *kind;
};

static void run_case(struct world *w, const struct tamper *t)
{
    struct srv c;
    srv_init(&c, server_env);
    char db[400];
    srv_path(&c, "aegis.db", db, sizeof db);
    copy_db(w->db, db);
    sqlite3 *h = open_db(db);
    char *id = NULL;
    if (t->id)
        id = xstrdup(t->id);
    else if (t->id_seq)
        id = query(h, "SELECT id FROM audit_log WHERE org_id = '%s' AND seq = %lld", w->org_a,
                   (long long)t->id_seq);
    if (t->id_seq || t->id)
        assert_non_null(id);
    char sql[2000];
    snprintf(sql, sizeof sql, t->sql, w->org_a, w->org_a, w->org_a);
    exec(h, "%s", sql);
    sqlite3_close(h);

    char *out = NULL;
    int rc = verify(&c, NULL, &out);
    char want[300];
    if (id)
        snprintf(want, sizeof want, "TAMPERED: organization %s, row %lld, id %s: ", w->org_a,
                 (long long)t->seq, id);
    else
        snprintf(want, sizeof want, "TAMPERED: organization %s, row %lld: ", w->org_a,
                 (long long)t->seq);
    char kind[40];
    snprintf(kind, sizeof kind, "(%s)", t->kind);
    bool ok = rc == 1 && out && !strncmp(out, want, strlen(want)) && strstr(out, kind);
    if (!ok) {
        char msg[1500];
        snprintf(msg, sizeof msg,
                 "%s: `aegis audit verify` exited %d with\n  %s\nwant exit 1 and\n  %s...%s",
                 t->what, rc, out ? out : "(nothing)", want, kind);
        free(out);
        free(id);
        srv_cleanup(&c);
        fail_msg("%s", msg);
    }
    free(out);
    /* --org: the tampered organisation fails, the untouched one is fine */
    rc = verify(&c, w->org_a, &out);
    bool a_fails = rc == 1 && !strncmp(out, want, strlen(want));
    free(out);
    rc = verify(&c, w->org_b, &out);
    bool b_ok = rc == 0 && !strncmp(out, "ok: 3 row(s) in 1 chain(s)", 26);
    free(out);
    free(id);
    srv_cleanup(&c);
    if (!a_fails || !b_ok)
        fail_msg("%s: verify --org A %s, verify --org B %s", t->what, a_fails ? "fails" : "PASSES",
                 b_ok ? "ok" : "FAILS");
}

#define INSERT_COPY_OF_LAST                                                                        \
    "INSERT INTO audit_log (id, org_id, seq, ts, actor_type, actor_id, action, target_type,"       \
    " target_id, request_id, ip, outcome, detail, prev_hash, hash)"                                \
    " SELECT '0190f0f0-0000-7000-8000-00000000f0f0', org_id, seq + 1, ts + 1, actor_type,"         \
    " actor_id, action, target_type, target_id, request_id, ip, outcome, detail, hash, hash"       \
    " FROM audit_log WHERE org_id = '%s' AND seq = (SELECT MAX(seq) FROM audit_log WHERE org_id"   \
    " = '%s')"

static void altered_action_in_the_middle(void **state)
{
    struct tamper t = {
        "UPDATE row 6's action",
        "UPDATE audit_log SET action = 'nothing.happened' WHERE org_id = '%s' AND seq = 6",
        6,
        6,
        NULL,
        "altered"};
    run_case(*state, &t);
}

static void removed_in_the_middle(void **state)
{
    struct tamper t = {
        "DELETE row 5", "DELETE FROM audit_log WHERE org_id = '%s' AND seq = 5", 5, 0, NULL,
        "removed"};
    run_case(*state, &t);
}

static void removed_last(void **state)
{
    struct world *w = *state;
    struct tamper t = {"DELETE the last row",
                       "DELETE FROM audit_log WHERE org_id = '%s' AND seq = 11",
                       w->rows_a,
                       0,
                       NULL,
                       "removed"};
    run_case(w, &t);
}

static void inserted_past_the_end(void **state)
{
    struct world *w = *state;
    struct tamper t = {
        "INSERT a copy of the last row as row 12", INSERT_COPY_OF_LAST, w->rows_a + 1, 0,
        "0190f0f0-0000-7000-8000-00000000f0f0",    "inserted"};
    run_case(w, &t);
}

static void altered_ip(void **state)
{
    struct tamper t = {"UPDATE row 4's ip",
                       "UPDATE audit_log SET ip = '203.0.113.66' WHERE org_id = '%s' AND seq = 4",
                       4,
                       4,
                       NULL,
                       "altered"};
    run_case(*state, &t);
}

static void altered_first_row_detail(void **state)
{
    struct tamper t = {
        "UPDATE row 1's detail",
        "UPDATE audit_log SET detail = '{\"plan\":\"enterprise\"}' WHERE org_id = '%s'"
        " AND seq = 1",
        1,
        1,
        NULL,
        "altered"};
    run_case(*state, &t);
}

static void altered_failed_login_outcome(void **state)
{
    /* hiding a failed login: make it look like a success */
    struct tamper t = {
        "UPDATE row 11 (login.failed) to a success",
        "UPDATE audit_log SET outcome = 'success', action = 'login' WHERE org_id = '%s'"
        " AND seq = 11",
        11,
        11,
        NULL,
        "altered"};
    run_case(*state, &t);
}

static void removed_several_at_the_end(void **state)
{
    struct tamper t = {
        "DELETE rows 9-11", "DELETE FROM audit_log WHERE org_id = '%s' AND seq >= 9", 9, 0, NULL,
        "removed"};
    run_case(*state, &t);
}

static void removed_and_renumbered(void **state)
{
    /* closing the gap of a removed row by renumbering the next: seq is part of the hash */
    struct tamper t = {"DELETE row 7, renumber row 8 as 7",
                       "DELETE FROM audit_log WHERE org_id = '%1$s' AND seq = 7;"
                       " UPDATE audit_log SET seq = 7 WHERE org_id = '%1$s' AND seq = 8",
                       7,
                       8,
                       NULL,
                       "altered"};
    run_case(*state, &t);
}

/*
 * An organisation's whole trail removed, head included: `verify --org A` must not say "ok" for an
 * organisation that exists (it had at least its signup rows). Today the chain simply is not there:
 * verify walks the chains it finds in audit_log and audit_heads, and reports 0 rows as intact.
 */
static void whole_chain_removed(void **state)
{
    struct tamper t = {"DELETE all of A's rows and its audit_heads row",
                       "DELETE FROM audit_log WHERE org_id = '%1$s';"
                       " DELETE FROM audit_heads WHERE org_id = '%1$s'",
                       1,
                       0,
                       NULL,
                       "removed"};
    run_case(*state, &t);
}

/* There is no way to change the log over HTTP: the route table has only GET under
 * /api/v1/audit-log, and other methods there are refused without touching the chain. */
static void no_route_changes_the_audit_log(void **state)
{
    (void)state;
    struct world w2;
    memset(&w2, 0, sizeof w2);
    srv_init(&w2.s, server_env);
    assert_int_equal(srv_start(&w2.s, NULL), 0);
    char *out = NULL;
    assert_int_equal(srv_cli(&w2.s, &out, NULL, "routes", "--json", NULL), 0);
    json_t *routes = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_is_array(routes));
    size_t i, audit_routes = 0;
    json_t *rt;
    json_array_foreach(routes, i, rt)
    {
        const char *method = json_string_value(json_object_get(rt, "method"));
        const char *pattern = json_string_value(json_object_get(rt, "pattern"));
        if (strstr(pattern, "audit")) {
            audit_routes++;
            if (strcmp(method, "GET") != 0)
                fail_msg("route %s %s can change the audit log", method, pattern);
        }
    }
    json_decref(routes);
    assert_true(audit_routes >= 1);

    char org[64], key[80];
    signup(&w2, "Probe Org", "owner@probe.example", org, key);
    json_t *log = call(&w2, key, "GET", "/api/v1/audit-log", NULL, 200);
    char row_path[200];
    snprintf(row_path, sizeof row_path, "/api/v1/audit-log/%s",
             jstr(json_array_get(json_object_get(log, "data"), 0), "id"));
    json_decref(log);
    const char *methods[] = {"POST", "PUT", "PATCH", "DELETE"};
    const char *paths[] = {"/api/v1/audit-log", row_path};
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    for (int m = 0; m < 4; m++)
        for (int p = 0; p < 2; p++) {
            struct resp r;
            assert_int_equal(
                req(&w2.s, methods[m], paths[p],
                    (const char *const[]){auth, "Content-Type: application/json", NULL},
                    "{\"action\":\"x\"}", &r),
                0);
            long st = r.status;
            resp_free(&r);
            if (st != 404 && st != 405)
                fail_msg("%s %s answered %ld", methods[m], paths[p], st);
        }
    assert_int_equal(srv_stop(&w2.s, 15), 0);
    assert_int_equal(verify(&w2.s, org, &out), 0);
    assert_non_null(strstr(out, "ok: 3 row(s)"));
    free(out);
    srv_cleanup(&w2.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untouched_log_verifies),
        cmocka_unit_test(altered_action_in_the_middle),
        cmocka_unit_test(removed_in_the_middle),
        cmocka_unit_test(removed_last),
        cmocka_unit_test(inserted_past_the_end),
        cmocka_unit_test(altered_ip),
        cmocka_unit_test(altered_first_row_detail),
        cmocka_unit_test(altered_failed_login_outcome),
        cmocka_unit_test(removed_several_at_the_end),
        cmocka_unit_test(removed_and_renumbered),
        cmocka_unit_test(whole_chain_removed),
        cmocka_unit_test(no_route_changes_the_audit_log),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

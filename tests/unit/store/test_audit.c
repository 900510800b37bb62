/*
 * Tests src/store/audit.c through store.h on a real temporary SQLite database: appending builds one
 * hash chain per organisation, listing filters (action exact and prefix, actor, time range, cursor,
 * limit), and verification names the exact row and kind of every tampering (altered, removed,
 * inserted), with the wrong key, across independent chains, and under concurrent appends.
 */
#include "../unit.h"

#include "core/err.h"
#include "core/ids.h"
#include "store/store.h"

#include <pthread.h>
#include <stdint.h>

#define T0 1700000000000LL
#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"

static char tmpdir[512];
static char url[700];
static int counter;

static const char *org_a = "0190aaaa-0000-7000-8000-00000000000a";
static const char *org_b = "0190bbbb-0000-7000-8000-00000000000b";

static int group_setup(void **state)
{
    unit_tmpdir(tmpdir, sizeof tmpdir, "audit");
    return 0;
}

static int group_teardown(void **state)
{
    unit_rmtree(tmpdir);
    return 0;
}

static int setup(void **state)
{
    char err[256] = "";
    snprintf(url, sizeof url, "sqlite://%s/a%d.db", tmpdir, ++counter);
    struct store *s = NULL;
    if (store_open(url, 4, &s, err, sizeof err))
        fail_msg("store_open: %s", err);
    int applied = 0;
    if (store_migrate(s, &applied, err, sizeof err))
        fail_msg("store_migrate: %s", err);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------
 */

struct append_tx {
    const char *key, *org;
    const struct audit_event *e;
    int64_t ts;
    int fail_after; /* non-zero: the body fails after appending (the transaction rolls back) */
};

static int append_body(struct db *db, void *arg)
{
    struct append_tx *x = arg;
    int rc = store_audit_append(db, x->key, x->org, x->e, x->ts);
    return rc ? rc : x->fail_after;
}

/* Appends one event in its own transaction. */
static void append(struct store *s, const char *key, const char *org, const char *action,
                   const char *actor, int64_t ts)
{
    char target[ID_UUID_LEN];
    id_uuid7(target);
    struct audit_event e = {.actor_type = actor ? "key" : "system",
                            .actor_id = actor,
                            .action = action,
                            .target_type = "thing",
                            .target_id = target,
                            .request_id = "req-1",
                            .ip = "192.0.2.7",
                            .outcome = "success",
                            .detail = "{\"n\":1}"};
    struct append_tx x = {.key = key, .org = org, .e = &e, .ts = ts};
    assert_int_equal(store_tx(s, append_body, &x), AEG_OK);
}

/* Runs constant SQL the test formats (tampering by hand, as someone with the file would). */
static void sql(struct store *s, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct db *db = store_conn(s);
    int rc = db_exec(db, text);
    if (rc)
        fail_msg("%s: %s", text, db_errmsg(db));
    store_release(s, db);
}

static char *sql_text(struct store *s, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, text, &q), AEG_OK);
    int st = db_step(q);
    char *out = st == DB_ROW && db_col_text(q, 0) ? xstrdup(db_col_text(q, 0)) : NULL;
    db_finalize(q);
    store_release(s, db);
    return out;
}

static int64_t sql_int(struct store *s, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct db *db = store_conn(s);
    struct db_stmt *q = NULL;
    assert_int_equal(db_prepare(db, text, &q), AEG_OK);
    assert_int_equal(db_step(q), DB_ROW);
    int64_t v = db_col_int64(q, 0);
    db_finalize(q);
    store_release(s, db);
    return v;
}

/* The id of a row of org's chain. */
static void row_id(struct store *s, const char *org, int64_t seq, char out[ID_UUID_LEN])
{
    char *id = sql_text(s, "SELECT id FROM audit_log WHERE org_id = '%s' AND seq = %lld", org,
                        (long long)seq);
    assert_non_null(id);
    snprintf(out, ID_UUID_LEN, "%s", id);
    free(id);
}

static int verify(struct store *s, const char *key, const char *org, int64_t *rows, int64_t *chains,
                  struct audit_problem *p)
{
    struct db *db = store_conn(s);
    int rc = store_audit_verify(db, key, org, rows, chains, p);
    store_release(s, db);
    return rc;
}

static void expect_ok(struct store *s, const char *key, const char *org, int64_t want_rows,
                      int64_t want_chains)
{
    int64_t rows = -1, chains = -1;
    struct audit_problem p;
    int rc = verify(s, key, org, &rows, &chains, &p);
    if (rc)
        fail_msg("verify %s: %s: %s (%s at %lld)", org ? org : "(all)", aeg_code_name(rc),
                 p.message, p.kind, (long long)p.seq);
    assert_int_equal(rows, want_rows);
    assert_int_equal(chains, want_chains);
}

/* Verification fails with exactly this problem. row_id NULL: the problem names no row (missing). */
static void expect_problem(struct store *s, const char *key, const char *org, const char *want_org,
                           int64_t seq, const char *kind, const char *rid)
{
    int64_t rows = -1, chains = -1;
    struct audit_problem p;
    int rc = verify(s, key, org, &rows, &chains, &p);
    if (rc != AEG_ECONFLICT)
        fail_msg("verify %s: want conflict (%s at row %lld), got %s", org ? org : "(all)", kind,
                 (long long)seq, aeg_code_name(rc));
    if (p.seq != seq || strcmp(p.kind, kind) != 0 || strcmp(p.org_id, want_org) != 0)
        fail_msg("verify %s: want %s at row %lld of %s, got %s at row %lld of %s: %s",
                 org ? org : "(all)", kind, (long long)seq, want_org, p.kind, (long long)p.seq,
                 p.org_id, p.message);
    assert_string_equal(p.row_id, rid ? rid : "");
    assert_true(strlen(p.message) > 10);
    char seqtext[32];
    snprintf(seqtext, sizeof seqtext, "%lld", (long long)seq);
    assert_non_null(strstr(p.message, seqtext));
    if (rid)
        assert_non_null(strstr(p.message, rid));
}

/* A chain of n rows in org, one millisecond apart from T0. */
static void chain(struct store *s, const char *org, int n)
{
    static const char *actions[] = {"org.signup",   "user.created",      "key.created",
                                    "key.revoked",  "user.role_changed", "login",
                                    "login.failed", "user.removed"};
    for (int i = 0; i < n; i++)
        append(s, KEY, org, actions[i % 8], NULL, T0 + i);
}

struct listed {
    int64_t seq[64];
    char action[64][32];
    int n;
};

static void on_row(const struct audit_row *r, void *arg)
{
    struct listed *l = arg;
    assert_true(l->n < 64);
    l->seq[l->n] = r->seq;
    snprintf(l->action[l->n], sizeof l->action[0], "%s", r->action);
    l->n++;
}

static struct listed list(struct store *s, const char *org, struct audit_filter f)
{
    struct listed l = {.n = 0};
    struct tenant t = {.org_id = org};
    if (!f.limit)
        f.limit = 64;
    struct db *db = store_conn(s);
    assert_int_equal(store_audit_list(db, &t, &f, on_row, &l), AEG_OK);
    store_release(s, db);
    return l;
}

/* ---- appending and listing
 * ----------------------------------------------------------------------- */

struct rows {
    struct audit_row r[32];
    int n;
};

static void keep_row(const struct audit_row *r, void *arg)
{
    struct rows *k = arg;
    assert_true(k->n < 32);
    struct audit_row *c = &k->r[k->n++];
    *c = *r;
    c->org_id = xstrdup(r->org_id);
    c->actor_type = r->actor_type ? xstrdup(r->actor_type) : NULL;
    c->actor_id = r->actor_id ? xstrdup(r->actor_id) : NULL;
    c->action = xstrdup(r->action);
    c->target_type = r->target_type ? xstrdup(r->target_type) : NULL;
    c->target_id = r->target_id ? xstrdup(r->target_id) : NULL;
    c->request_id = r->request_id ? xstrdup(r->request_id) : NULL;
    c->ip = r->ip ? xstrdup(r->ip) : NULL;
    c->outcome = r->outcome ? xstrdup(r->outcome) : NULL;
    c->detail = r->detail ? xstrdup(r->detail) : NULL;
    c->prev_hash = xstrdup(r->prev_hash);
    c->hash = xstrdup(r->hash);
}

static void test_chain_of_20_verifies(void **state)
{
    struct store *s = *state;
    expect_ok(s, KEY, NULL, 0, 0); /* an empty log is intact */
    chain(s, org_a, 20);
    expect_ok(s, KEY, org_a, 20, 1);
    expect_ok(s, KEY, NULL, 20, 1);

    struct rows k = {.n = 0};
    struct tenant t = {.org_id = org_a};
    struct audit_filter f = {.limit = 32};
    struct db *db = store_conn(s);
    assert_int_equal(store_audit_list(db, &t, &f, keep_row, &k), AEG_OK);
    store_release(s, db);
    assert_int_equal(k.n, 20);
    /* newest first; seq 20..1; each row's prev_hash is the hash of the row before it */
    for (int i = 0; i < 20; i++) {
        struct audit_row *r = &k.r[i];
        assert_int_equal(r->seq, 20 - i);
        assert_int_equal(r->ts, T0 + 19 - i);
        assert_true(id_is_uuid(r->id));
        assert_string_equal(r->org_id, org_a);
        assert_int_equal(strlen(r->hash), 64);
        assert_string_equal(r->actor_type, "system");
        assert_null(r->actor_id);
        assert_string_equal(r->ip, "192.0.2.7");
        assert_string_equal(r->detail, "{\"n\":1}");
        if (i + 1 < 20)
            assert_string_equal(r->prev_hash, k.r[i + 1].hash);
        else
            assert_string_equal(r->prev_hash, ZERO64);
    }
    /* the head records the last row */
    char *head = sql_text(s, "SELECT hash FROM audit_heads WHERE org_id = '%s'", org_a);
    assert_string_equal(head, k.r[0].hash);
    free(head);
    assert_int_equal(sql_int(s, "SELECT seq FROM audit_heads WHERE org_id = '%s'", org_a), 20);
    for (int i = 0; i < k.n; i++)
        audit_row_free(&k.r[i]);

    /* an organisation with no chain at all does not verify: every organisation has one from its
     * signup on, so a missing chain means a removed one */
    expect_problem(s, KEY, org_b, org_b, 1, "removed", NULL);
}

static void test_defaults_and_nulls(void **state)
{
    struct store *s = *state;
    /* actor_type and outcome default; NULL fields stay NULL (and are hashed as NULL, not "") */
    struct audit_event e = {.action = "system.thing"};
    struct append_tx x = {.key = KEY, .org = AUDIT_NO_ORG, .e = &e, .ts = T0};
    assert_int_equal(store_tx(s, append_body, &x), AEG_OK);
    struct rows k = {.n = 0};
    struct tenant t = {.org_id = AUDIT_NO_ORG};
    struct audit_filter f = {.limit = 5};
    struct db *db = store_conn(s);
    assert_int_equal(store_audit_list(db, &t, &f, keep_row, &k), AEG_OK);
    store_release(s, db);
    assert_int_equal(k.n, 1);
    assert_string_equal(k.r[0].actor_type, "system");
    assert_string_equal(k.r[0].outcome, "success");
    assert_null(k.r[0].actor_id);
    assert_null(k.r[0].detail);
    assert_null(k.r[0].ip);
    audit_row_free(&k.r[0]);
    expect_ok(s, KEY, AUDIT_NO_ORG, 1, 1);
    /* NULL and "" hash differently: turning a NULL ip into "" is an alteration */
    sql(s, "UPDATE audit_log SET ip = '' WHERE org_id = '-' AND seq = 1");
    char id[ID_UUID_LEN];
    row_id(s, AUDIT_NO_ORG, 1, id);
    expect_problem(s, KEY, AUDIT_NO_ORG, AUDIT_NO_ORG, 1, "altered", id);
}

static void test_list_filters(void **state)
{
    struct store *s = *state;
    const char *k1 = "0190cccc-0000-7000-8000-0000000000c1";
    const char *k2 = "0190cccc-0000-7000-8000-0000000000c2";
    /* seq: action (actor) ts */
    append(s, KEY, org_a, "org.signup", k1, T0 + 0);      /* 1 */
    append(s, KEY, org_a, "key.created", k1, T0 + 1000);  /* 2 */
    append(s, KEY, org_a, "key.revoked", k2, T0 + 2000);  /* 3 */
    append(s, KEY, org_a, "user.created", k2, T0 + 3000); /* 4 */
    append(s, KEY, org_a, "keys.other", k1, T0 + 4000);   /* 5 */
    append(s, KEY, org_a, "key.created", k2, T0 + 5000);  /* 6 */
    append(s, KEY, org_b, "key.created", k1, T0 + 1500);  /* another organisation */

    struct listed l = list(s, org_a, (struct audit_filter){0});
    assert_int_equal(l.n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(l.seq[i], 6 - i); /* newest first, only this organisation */

    l = list(s, org_a, (struct audit_filter){.action = "key.created"});
    assert_int_equal(l.n, 2);
    assert_int_equal(l.seq[0], 6);
    assert_int_equal(l.seq[1], 2);

    /* a prefix ending in '*': "key.*" is not "keys.other" */
    l = list(s, org_a, (struct audit_filter){.action = "key.*"});
    assert_int_equal(l.n, 3);
    assert_int_equal(l.seq[0], 6);
    assert_int_equal(l.seq[1], 3);
    assert_int_equal(l.seq[2], 2);
    l = list(s, org_a, (struct audit_filter){.action = "key*"});
    assert_int_equal(l.n, 4);
    l = list(s, org_a, (struct audit_filter){.action = "*"});
    assert_int_equal(l.n, 6);
    /* without the star it is exact, and '*' elsewhere or SQL wildcards are not patterns */
    l = list(s, org_a, (struct audit_filter){.action = "key."});
    assert_int_equal(l.n, 0);
    l = list(s, org_a, (struct audit_filter){.action = "key%"});
    assert_int_equal(l.n, 0);
    l = list(s, org_a, (struct audit_filter){.action = "key_created"});
    assert_int_equal(l.n, 0);
    l = list(s, org_a, (struct audit_filter){.action = "*.created"});
    assert_int_equal(l.n, 0);

    l = list(s, org_a, (struct audit_filter){.actor_id = k2});
    assert_int_equal(l.n, 3);
    assert_int_equal(l.seq[0], 6);
    assert_int_equal(l.seq[1], 4);
    assert_int_equal(l.seq[2], 3);
    l = list(s, org_a, (struct audit_filter){.actor_id = k2, .action = "key.*"});
    assert_int_equal(l.n, 2);

    /* from inclusive, to exclusive */
    l = list(s, org_a, (struct audit_filter){.from_ms = T0 + 1000, .to_ms = T0 + 4000});
    assert_int_equal(l.n, 3);
    assert_int_equal(l.seq[0], 4);
    assert_int_equal(l.seq[2], 2);
    l = list(s, org_a, (struct audit_filter){.from_ms = T0 + 5000});
    assert_int_equal(l.n, 1);
    l = list(s, org_a, (struct audit_filter){.to_ms = T0 + 1});
    assert_int_equal(l.n, 1);
    assert_int_equal(l.seq[0], 1);

    /* limit and the cursor page through without gaps or repeats */
    l = list(s, org_a, (struct audit_filter){.limit = 4});
    assert_int_equal(l.n, 4);
    assert_int_equal(l.seq[3], 3);
    l = list(s, org_a, (struct audit_filter){.limit = 4, .before_seq = 3});
    assert_int_equal(l.n, 2);
    assert_int_equal(l.seq[0], 2);
    assert_int_equal(l.seq[1], 1);
    l = list(s, org_a, (struct audit_filter){.before_seq = 1});
    assert_int_equal(l.n, 0);
    l = list(s, org_a, (struct audit_filter){.action = "key.*", .before_seq = 6, .limit = 1});
    assert_int_equal(l.n, 1);
    assert_int_equal(l.seq[0], 3);

    /* B sees only its own row */
    l = list(s, org_b, (struct audit_filter){0});
    assert_int_equal(l.n, 1);
    assert_int_equal(l.seq[0], 1);
    l = list(s, "0190dddd-0000-7000-8000-00000000000d", (struct audit_filter){0});
    assert_int_equal(l.n, 0);
}

/* A failed transaction leaves neither the row nor a moved head: the next append reuses the seq. */
static void test_append_rolls_back_with_its_transaction(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 3);
    struct audit_event e = {.action = "doomed"};
    struct append_tx x = {
        .key = KEY, .org = org_a, .e = &e, .ts = T0 + 10, .fail_after = AEG_EINTERNAL};
    assert_int_equal(store_tx(s, append_body, &x), AEG_EINTERNAL);
    assert_int_equal(sql_int(s, "SELECT COUNT(*) FROM audit_log"), 3);
    assert_int_equal(sql_int(s, "SELECT seq FROM audit_heads WHERE org_id = '%s'", org_a), 3);
    append(s, KEY, org_a, "after", NULL, T0 + 11);
    assert_int_equal(sql_int(s, "SELECT seq FROM audit_log WHERE action = 'after'"), 4);
    expect_ok(s, KEY, org_a, 4, 1);
}

/* ---- tampering
 * ----------------------------------------------------------------------------------- */

static void test_altered_action_in_the_middle(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 20);
    char id[ID_UUID_LEN];
    row_id(s, org_a, 9, id);
    sql(s, "UPDATE audit_log SET action = 'nothing.happened' WHERE org_id = '%s' AND seq = 9",
        org_a);
    expect_problem(s, KEY, org_a, org_a, 9, "altered", id);
    expect_problem(s, KEY, NULL, org_a, 9, "altered", id);
}

static void test_altered_fields(void **state)
{
    /* every column that carries meaning is covered by the hash */
    static const char *edits[] = {
        "ip = '203.0.113.9'",
        "detail = '{\"n\":2}'",
        "detail = NULL",
        "ts = ts + 1",
        "actor_type = 'user'",
        "actor_id = '0190eeee-0000-7000-8000-00000000000e'",
        "target_type = 'other'",
        "target_id = NULL",
        "request_id = 'req-2'",
        "outcome = 'failure'",
        "hash = upper(hash)",
        "hash = '" ZERO64 "'",
        "id = '0190ffff-0000-7000-8000-00000000000f'",
    };
    struct store *s = *state;
    chain(s, org_a, 6);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        /* on a copy of the chain each time: a fresh organisation */
        char org[ID_UUID_LEN];
        id_uuid7(org);
        chain(s, org, 6);
        sql(s, "UPDATE audit_log SET %s WHERE org_id = '%s' AND seq = 4", edits[i], org);
        char id[ID_UUID_LEN];
        row_id(s, org, 4, id);
        int64_t rows, chains;
        struct audit_problem p;
        int rc = verify(s, KEY, org, &rows, &chains, &p);
        if (rc != AEG_ECONFLICT || p.seq != 4 || strcmp(p.kind, "altered") != 0 ||
            strcmp(p.row_id, id) != 0)
            fail_msg("SET %s on row 4: %s, %s at row %lld (%s)", edits[i], aeg_code_name(rc),
                     p.kind, (long long)p.seq, p.message);
    }
    expect_ok(s, KEY, org_a, 6, 1); /* the untouched chain */
}

static void test_altered_first_row(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 10);
    char id[ID_UUID_LEN];
    row_id(s, org_a, 1, id);
    sql(s,
        "UPDATE audit_log SET detail = '{\"plan\":\"enterprise\"}' WHERE org_id = '%s' AND seq = 1",
        org_a);
    expect_problem(s, KEY, org_a, org_a, 1, "altered", id);
}

static void test_altered_last_row(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 10);
    char id[ID_UUID_LEN];
    row_id(s, org_a, 10, id);
    sql(s, "UPDATE audit_log SET outcome = 'failure' WHERE org_id = '%s' AND seq = 10", org_a);
    expect_problem(s, KEY, org_a, org_a, 10, "altered", id);
}

static void test_removed_in_the_middle(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 20);
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s' AND seq = 11", org_a);
    expect_problem(s, KEY, org_a, org_a, 11, "removed", NULL);
}

static void test_removed_first(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 5);
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s' AND seq = 1", org_a);
    expect_problem(s, KEY, org_a, org_a, 1, "removed", NULL);
}

static void test_removed_last(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 20);
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s' AND seq = 20", org_a);
    expect_problem(s, KEY, org_a, org_a, 20, "removed", NULL);
    /* removing several at the end names the first one missing */
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s' AND seq >= 17", org_a);
    expect_problem(s, KEY, org_a, org_a, 17, "removed", NULL);
    /* and removing all of them too */
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s'", org_a);
    expect_problem(s, KEY, org_a, org_a, 1, "removed", NULL);
    expect_problem(s, KEY, NULL, org_a, 1, "removed", NULL);
}

/* Renumbering to hide a removed row (seq is hashed): the renumbered row is altered. */
static void test_removed_and_renumbered(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 10);
    char id[ID_UUID_LEN];
    row_id(s, org_a, 6, id);
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s' AND seq = 5", org_a);
    sql(s, "UPDATE audit_log SET seq = 5 WHERE org_id = '%s' AND seq = 6", org_a);
    expect_problem(s, KEY, org_a, org_a, 5, "altered", id);
}

static void test_inserted_past_the_end(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 20);
    char forged[ID_UUID_LEN];
    id_uuid7(forged);
    sql(s,
        "INSERT INTO audit_log (id, org_id, seq, ts, actor_type, actor_id, action, target_type,"
        " target_id, request_id, ip, outcome, detail, prev_hash, hash)"
        " SELECT '%s', org_id, seq + 1, ts + 1, actor_type, actor_id, action, target_type, "
        "target_id,"
        " request_id, ip, outcome, detail, hash, hash FROM audit_log WHERE org_id = '%s' AND seq = "
        "20",
        forged, org_a);
    expect_problem(s, KEY, org_a, org_a, 21, "inserted", forged);
}

/* A row forged with the right key (someone who knows the pepper) but without moving the head is
 * still past the recorded end. */
static void test_inserted_with_the_key_is_past_the_head(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 5);
    struct db *db = store_conn(s);
    assert_int_equal(db_begin_write(db), AEG_OK);
    struct audit_event e = {.action = "forged"};
    assert_int_equal(store_audit_append(db, KEY, org_a, &e, T0 + 100), AEG_OK);
    assert_int_equal(db_exec(db, "UPDATE audit_heads SET seq = 5"), AEG_OK);
    assert_int_equal(db_commit(db), AEG_OK);
    store_release(s, db);
    char id[ID_UUID_LEN];
    row_id(s, org_a, 6, id);
    expect_problem(s, KEY, org_a, org_a, 6, "inserted", id);
}

/* Another chain's row moved into this one (copied with a fitting seq) does not follow. */
static void test_row_moved_from_another_chain(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 5);
    chain(s, org_b, 5);
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s' AND seq = 3", org_a);
    sql(s, "UPDATE audit_log SET org_id = '%s' WHERE org_id = '%s' AND seq = 3", org_a, org_b);
    char id[ID_UUID_LEN];
    row_id(s, org_a, 3, id);
    expect_problem(s, KEY, org_a, org_a, 3, "altered", id);
    expect_problem(s, KEY, org_b, org_b, 3, "removed", NULL);
}

static void test_altered_head(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 5);
    sql(s, "UPDATE audit_heads SET hash = '" ZERO64 "' WHERE org_id = '%s'", org_a);
    int64_t rows, chains;
    struct audit_problem p;
    assert_int_equal(verify(s, KEY, org_a, &rows, &chains, &p), AEG_ECONFLICT);
    assert_int_equal(p.seq, 5);
}

/*
 * Truncating the chain and moving the head back to the new last row needs no key: the head is the
 * last row's hash, readable from that row. audit.c says audit_heads exists so that "removing the
 * newest rows is caught as well"; after this edit it is not.
 */
static void test_truncated_with_the_head_moved_back(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 20);
    sql(s, "DELETE FROM audit_log WHERE org_id = '%s' AND seq > 17", org_a);
    sql(s,
        "UPDATE audit_heads SET seq = 17, hash = (SELECT hash FROM audit_log WHERE org_id = '%s'"
        " AND seq = 17) WHERE org_id = '%s'",
        org_a, org_a);
    int64_t rows, chains;
    struct audit_problem p;
    int rc = verify(s, KEY, org_a, &rows, &chains, &p);
    if (rc != AEG_ECONFLICT)
        fail_msg("rows 18-20 were deleted and audit_heads moved back to row 17 (no key needed): "
                 "verify says %s with %lld rows; the removal of the newest rows goes unnoticed",
                 aeg_code_name(rc), (long long)rows);
    assert_int_equal(p.seq, 18);
    assert_string_equal(p.kind, "removed");
}

static void test_wrong_key_fails(void **state)
{
    struct store *s = *state;
    chain(s, org_a, 5);
    char id[ID_UUID_LEN];
    row_id(s, org_a, 1, id);
    expect_problem(s, "another key", org_a, org_a, 1, "altered", id);
    expect_problem(s, "", org_a, org_a, 1, "altered", id);
    /* a key differing in its last character */
    char near[sizeof KEY];
    memcpy(near, KEY, sizeof KEY);
    near[sizeof KEY - 2] ^= 1;
    expect_problem(s, near, org_a, org_a, 1, "altered", id);
    expect_ok(s, KEY, org_a, 5, 1);
}

static void test_chains_are_independent(void **state)
{
    struct store *s = *state;
    /* interleaved appends: each chain counts its own seq */
    for (int i = 0; i < 10; i++) {
        append(s, KEY, org_a, "a.event", NULL, T0 + 2 * i);
        append(s, KEY, org_b, "b.event", NULL, T0 + 2 * i + 1);
        if (i % 3 == 0)
            append(s, KEY, AUDIT_NO_ORG, "login.failed", NULL, T0 + 2 * i + 1);
    }
    assert_int_equal(sql_int(s, "SELECT MAX(seq) FROM audit_log WHERE org_id = '%s'", org_a), 10);
    assert_int_equal(sql_int(s, "SELECT MAX(seq) FROM audit_log WHERE org_id = '%s'", org_b), 10);
    assert_int_equal(sql_int(s, "SELECT MAX(seq) FROM audit_log WHERE org_id = '-'"), 4);
    expect_ok(s, KEY, org_a, 10, 1);
    expect_ok(s, KEY, org_b, 10, 1);
    expect_ok(s, KEY, NULL, 24, 3);

    /* B's first row's hash starts B's chain from zero, not from A's head */
    char *prev =
        sql_text(s, "SELECT prev_hash FROM audit_log WHERE org_id = '%s' AND seq = 1", org_b);
    assert_string_equal(prev, ZERO64);
    free(prev);

    char id[ID_UUID_LEN];
    row_id(s, org_b, 4, id);
    sql(s, "UPDATE audit_log SET action = 'b.hidden' WHERE org_id = '%s' AND seq = 4", org_b);
    expect_ok(s, KEY, org_a, 10, 1);
    expect_ok(s, KEY, AUDIT_NO_ORG, 4, 1);
    expect_problem(s, KEY, org_b, org_b, 4, "altered", id);
    expect_problem(s, KEY, NULL, org_b, 4, "altered", id);
    /* A keeps appending and verifying while B is broken */
    append(s, KEY, org_a, "a.more", NULL, T0 + 100);
    expect_ok(s, KEY, org_a, 11, 1);
}

struct racer {
    struct store *s;
    int n;
    int failures;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < r->n; i++) {
        struct audit_event e = {.action = "race"};
        struct append_tx x = {.key = KEY, .org = org_a, .e = &e, .ts = T0 + i};
        r->failures += store_tx(r->s, append_body, &x) != AEG_OK;
    }
    return NULL;
}

/* Concurrent appends to one chain serialise: no seq taken twice, no fork in the chain. */
static void test_concurrent_appends(void **state)
{
    struct store *s = *state;
    enum { NT = 4, PER = 25 };
    pthread_t th[NT];
    struct racer r[NT];
    for (int i = 0; i < NT; i++) {
        r[i] = (struct racer){.s = s, .n = PER};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].failures, 0);
    }
    assert_int_equal(sql_int(s, "SELECT COUNT(DISTINCT seq) FROM audit_log"), NT * PER);
    assert_int_equal(sql_int(s, "SELECT MAX(seq) FROM audit_log"), NT * PER);
    expect_ok(s, KEY, org_a, NT * PER, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_chain_of_20_verifies),
        T(test_defaults_and_nulls),
        T(test_list_filters),
        T(test_append_rolls_back_with_its_transaction),
        T(test_altered_action_in_the_middle),
        T(test_altered_fields),
        T(test_altered_first_row),
        T(test_altered_last_row),
        T(test_removed_in_the_middle),
        T(test_removed_first),
        T(test_removed_last),
        T(test_removed_and_renumbered),
        T(test_inserted_past_the_end),
        T(test_inserted_with_the_key_is_past_the_head),
        T(test_row_moved_from_another_chain),
        T(test_altered_head),
        T(test_truncated_with_the_head_moved_back),
        T(test_wrong_key_fails),
        T(test_chains_are_independent),
        T(test_concurrent_appends),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

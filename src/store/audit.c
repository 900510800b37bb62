/*
 * audit: the append-only audit log and its hash chains (migrations/0002_identity.sql).
 *
 * hash(row) = HMAC-SHA-256(key, canonical(row content, prev_hash)), where canonical() writes every field
 * as "<length>:<bytes>" so no two different rows serialise alike. The key comes from the pepper: with it
 * a forger cannot recompute a chain, without it (a development pepper) the chain still catches edits
 * made by hand. The first row of a chain has prev_hash = 64 zeros. audit_heads holds each chain's last
 * seq and hash with a MAC over (org, seq, hash), so removing the newest rows is caught as well (moving
 * the head back would need the key); and every organisation must have a chain, so deleting one whole
 * is caught too.
 */
#include "store/store_int.h"

#include "core/buf.h"
#include "core/crypto.h"

#include <stdlib.h>
#include <string.h>

static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

void audit_row_free(struct audit_row *r)
{
    free(r->org_id);
    free(r->actor_type);
    free(r->actor_id);
    free(r->action);
    free(r->target_type);
    free(r->target_id);
    free(r->request_id);
    free(r->ip);
    free(r->outcome);
    free(r->detail);
    free(r->prev_hash);
    free(r->hash);
    memset(r, 0, sizeof *r);
}

static void field(struct buf *b, const char *s)
{
    if (!s) {
        buf_adds(b, "-1:"); /* NULL differs from "" */
        return;
    }
    buf_printf(b, "%zu:", strlen(s));
    buf_adds(b, s);
}

static void row_hash(const char *key, const struct audit_row *r, char out[CRYPTO_SHA256_HEX])
{
    struct buf b;
    buf_init(&b, BUF_CAP_DOC);
    field(&b, r->id);
    field(&b, r->org_id);
    buf_printf(&b, "%lld|%lld|", (long long)r->seq, (long long)r->ts);
    field(&b, r->actor_type);
    field(&b, r->actor_id);
    field(&b, r->action);
    field(&b, r->target_type);
    field(&b, r->target_id);
    field(&b, r->request_id);
    field(&b, r->ip);
    field(&b, r->outcome);
    field(&b, r->detail);
    field(&b, r->prev_hash);
    crypto_hmac_sha256_hex(key, strlen(key), buf_str(&b), b.len, out);
    buf_release(&b);
}

static void head_mac(const char *key, const char *org, int64_t seq, const char *hash,
                     char out[CRYPTO_SHA256_HEX])
{
    struct buf b;
    buf_init(&b, BUF_CAP_SMALL);
    buf_adds(&b, "head|");
    field(&b, org);
    buf_printf(&b, "%lld|", (long long)seq);
    field(&b, hash);
    crypto_hmac_sha256_hex(key, strlen(key), buf_str(&b), b.len, out);
    buf_release(&b);
}

int store_audit_append(struct db *db, const char *key, const char *org_id,
                       const struct audit_event *e, int64_t now)
{
    struct db_stmt *q = NULL;
    int64_t seq = 0;
    char prev[CRYPTO_SHA256_HEX];
    memcpy(prev, zero_hash, sizeof prev);
    int rc = db_prepare(db, "SELECT seq, hash FROM audit_heads WHERE org_id = $1", &q);
    if (rc)
        return rc;
    db_bind_text(q, 1, org_id);
    rc = store_one(q);
    if (rc == AEG_OK) {
        seq = db_col_int64(q, 0);
        snprintf(prev, sizeof prev, "%s", db_col_text(q, 1) ? db_col_text(q, 1) : zero_hash);
    }
    db_finalize(q);
    q = NULL;
    if (rc && rc != AEG_ENOTFOUND)
        return rc;

    struct audit_row r = {0};
    id_uuid7(r.id);
    r.org_id = (char *)org_id;
    r.seq = seq + 1;
    r.ts = now;
    r.actor_type = (char *)(e->actor_type ? e->actor_type : "system");
    r.actor_id = (char *)e->actor_id;
    r.action = (char *)e->action;
    r.target_type = (char *)e->target_type;
    r.target_id = (char *)e->target_id;
    r.request_id = (char *)e->request_id;
    r.ip = (char *)e->ip;
    r.outcome = (char *)(e->outcome ? e->outcome : "success");
    r.detail = (char *)e->detail;
    r.prev_hash = prev;
    char hash[CRYPTO_SHA256_HEX];
    row_hash(key, &r, hash);

    rc = db_prepare(db,
                    "INSERT INTO audit_log (id, org_id, seq, ts, actor_type, actor_id, action,"
                    " target_type, target_id, request_id, ip, outcome, detail, prev_hash, hash)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    &q);
    if (!rc) {
        db_bind_text(q, 1, r.id);
        db_bind_text(q, 2, r.org_id);
        db_bind_int64(q, 3, r.seq);
        db_bind_int64(q, 4, r.ts);
        db_bind_text(q, 5, r.actor_type);
        db_bind_text(q, 6, r.actor_id);
        db_bind_text(q, 7, r.action);
        db_bind_text(q, 8, r.target_type);
        db_bind_text(q, 9, r.target_id);
        db_bind_text(q, 10, r.request_id);
        db_bind_text(q, 11, r.ip);
        db_bind_text(q, 12, r.outcome);
        db_bind_text(q, 13, r.detail);
        db_bind_text(q, 14, r.prev_hash);
        db_bind_text(q, 15, hash);
        rc = store_run(q);
    }
    db_finalize(q);
    q = NULL;
    if (rc)
        return rc;
    rc = db_prepare(db,
                    seq ? "UPDATE audit_heads SET seq = $2, hash = $3, mac = $4 WHERE org_id = $1"
                        : "INSERT INTO audit_heads (org_id, seq, hash, mac) VALUES ($1, $2, $3, $4)",
                    &q);
    if (!rc) {
        char mac[CRYPTO_SHA256_HEX];
        head_mac(key, org_id, r.seq, hash, mac);
        db_bind_text(q, 1, org_id);
        db_bind_int64(q, 2, r.seq);
        db_bind_text(q, 3, hash);
        db_bind_text(q, 4, mac);
        rc = store_run(q);
    }
    db_finalize(q);
    return rc;
}

#define AUDIT_COLS                                                                                 \
    "id, org_id, seq, ts, actor_type, actor_id, action, target_type, target_id, request_id, ip,"   \
    " outcome, detail, prev_hash, hash"

static void read_audit(struct db_stmt *q, struct audit_row *r)
{
    memset(r, 0, sizeof *r);
    store_copy_id(r->id, db_col_text(q, 0));
    r->org_id = store_dup(db_col_text(q, 1));
    r->seq = db_col_int64(q, 2);
    r->ts = db_col_int64(q, 3);
    r->actor_type = store_dup(db_col_text(q, 4));
    r->actor_id = store_dup(db_col_text(q, 5));
    r->action = store_dup(db_col_text(q, 6));
    r->target_type = store_dup(db_col_text(q, 7));
    r->target_id = store_dup(db_col_text(q, 8));
    r->request_id = store_dup(db_col_text(q, 9));
    r->ip = store_dup(db_col_text(q, 10));
    r->outcome = store_dup(db_col_text(q, 11));
    r->detail = store_dup(db_col_text(q, 12));
    r->prev_hash = store_dup(db_col_text(q, 13));
    r->hash = store_dup(db_col_text(q, 14));
}

int store_audit_list(struct db *db, const struct tenant *t, const struct audit_filter *f,
                     void (*fn)(const struct audit_row *, void *), void *arg)
{
    /* Optional filters are written as "($n IS NULL OR col op $n)": one constant statement. */
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT " AUDIT_COLS " FROM audit_log WHERE org_id = $1"
                        " AND ($2 IS NULL OR ts >= $2) AND ($3 IS NULL OR ts < $3)"
                        " AND ($4 IS NULL OR actor_id = $4)"
                        " AND ($5 IS NULL OR action = $5 OR (substr($5, -1) = '*' AND"
                        "      substr(action, 1, length($5) - 1) = substr($5, 1, length($5) - 1)))"
                        " AND ($6 IS NULL OR seq < $6)"
                        " ORDER BY seq DESC LIMIT $7",
                        &q);
    int st = DB_DONE;
    if (!rc) {
        db_bind_text(q, 1, t->org_id);
        f->from_ms ? db_bind_int64(q, 2, f->from_ms) : db_bind_null(q, 2);
        f->to_ms ? db_bind_int64(q, 3, f->to_ms) : db_bind_null(q, 3);
        db_bind_text(q, 4, f->actor_id);
        db_bind_text(q, 5, f->action);
        f->before_seq ? db_bind_int64(q, 6, f->before_seq) : db_bind_null(q, 6);
        db_bind_int64(q, 7, f->limit);
        while ((st = db_step(q)) == DB_ROW) {
            struct audit_row r;
            read_audit(q, &r);
            fn(&r, arg);
            audit_row_free(&r);
        }
        if (db_step_failed(st))
            rc = st;
    }
    db_finalize(q);
    return rc;
}

static void problem(struct audit_problem *p, const char *org, int64_t seq, const char *row_id,
                    const char *kind, const char *msg)
{
    store_copy_id(p->org_id, org);
    p->seq = seq;
    store_copy_id(p->row_id, row_id);
    snprintf(p->kind, sizeof p->kind, "%s", kind);
    snprintf(p->message, sizeof p->message, "%s", msg);
}

/* Reads a chain's head (seq 0, "" and *sealed false when it has none; *sealed tells whether its MAC
 * is right). */
static int read_head(struct db *db, const char *key, const char *org, int64_t *seq,
                     char hash[CRYPTO_SHA256_HEX], bool *sealed)
{
    struct db_stmt *q = NULL;
    *seq = 0;
    hash[0] = '\0';
    *sealed = false;
    int rc = db_prepare(db, "SELECT seq, hash, mac FROM audit_heads WHERE org_id = $1", &q);
    if (rc)
        return rc;
    db_bind_text(q, 1, org);
    rc = store_one(q);
    if (rc == AEG_OK) {
        *seq = db_col_int64(q, 0);
        snprintf(hash, CRYPTO_SHA256_HEX, "%s", db_col_text(q, 1) ? db_col_text(q, 1) : "");
        char want[CRYPTO_SHA256_HEX];
        head_mac(key, org, *seq, hash, want);
        const char *mac = db_col_text(q, 2);
        *sealed = mac && strlen(mac) == CRYPTO_SHA256_HEX - 1 &&
                  crypto_equal(mac, want, CRYPTO_SHA256_HEX - 1);
    }
    db_finalize(q);
    return rc == AEG_ENOTFOUND ? AEG_OK : rc;
}

/* Verifies one chain; AEG_ECONFLICT with *p on the first problem. */
static int verify_chain(struct db *db, const char *key, const char *org, int64_t *rows,
                        struct audit_problem *p)
{
    int64_t head_seq;
    char head_hash[CRYPTO_SHA256_HEX];
    bool sealed;
    char msg[300];
    int rc = read_head(db, key, org, &head_seq, head_hash, &sealed);
    if (rc)
        return rc;
    struct db_stmt *q = NULL;
    rc = db_prepare(db, "SELECT " AUDIT_COLS " FROM audit_log WHERE org_id = $1 ORDER BY seq", &q);
    if (rc)
        return rc;
    db_bind_text(q, 1, org);
    char prev[CRYPTO_SHA256_HEX];
    memcpy(prev, zero_hash, sizeof prev);
    int64_t expect = 1;
    int st = DB_DONE;
    while (!rc && (st = db_step(q)) == DB_ROW) {
        struct audit_row r;
        read_audit(q, &r);
        (*rows)++;
        char want[CRYPTO_SHA256_HEX];
        row_hash(key, &r, want);
        bool chained = r.prev_hash && !strcmp(r.prev_hash, prev);
        bool intact = r.hash && strlen(r.hash) == CRYPTO_SHA256_HEX - 1 &&
                      crypto_equal(r.hash, want, CRYPTO_SHA256_HEX - 1);
        if (r.seq > head_seq) {
            snprintf(msg, sizeof msg,
                     "row %lld (id %s) was inserted past the recorded end of the chain (row %lld)",
                     (long long)r.seq, r.id, (long long)head_seq);
            problem(p, org, r.seq, r.id, "inserted", msg);
            rc = AEG_ECONFLICT;
        } else if (r.seq > expect) {
            snprintf(msg, sizeof msg, "row %lld is missing (the chain jumps from row %lld to %lld)",
                     (long long)expect, (long long)expect - 1, (long long)r.seq);
            problem(p, org, expect, "", "removed", msg);
            rc = AEG_ECONFLICT;
        } else if (!intact) {
            snprintf(msg, sizeof msg,
                     "row %lld (id %s) was altered: its content no longer matches its hash",
                     (long long)r.seq, r.id);
            problem(p, org, r.seq, r.id, "altered", msg);
            rc = AEG_ECONFLICT;
        } else if (!chained) {
            snprintf(msg, sizeof msg,
                     "row %lld (id %s) does not follow row %lld: it was inserted or the chain "
                     "rewritten",
                     (long long)r.seq, r.id, (long long)r.seq - 1);
            problem(p, org, r.seq, r.id, "inserted", msg);
            rc = AEG_ECONFLICT;
        }
        snprintf(prev, sizeof prev, "%s", r.hash ? r.hash : "");
        expect = r.seq + 1;
        audit_row_free(&r);
    }
    db_finalize(q);
    if (rc)
        return rc;
    if (db_step_failed(st))
        return st;
    if (head_seq == 0) {
        if (expect == 1)
            problem(p, org, 1, "", "removed",
                    "rows from 1 on are missing: the organization has no audit chain at all (its "
                    "rows and head were removed)");
        else
        {
            snprintf(msg, sizeof msg,
                     "the recorded end of the chain was removed: rows after %lld may be missing",
                     (long long)expect - 1);
            problem(p, org, expect, "", "removed", msg);
        }
        return AEG_ECONFLICT;
    }
    if (expect - 1 < head_seq) {
        snprintf(msg, sizeof msg, "rows %lld to %lld were removed from the end of the chain",
                 (long long)expect, (long long)head_seq);
        problem(p, org, expect, "", "removed", msg);
        return AEG_ECONFLICT;
    }
    if (!sealed) {
        /* A head that matches the last row but not its seal was moved back over removed rows. */
        if (head_seq == expect - 1 && !strcmp(head_hash, prev)) {
            snprintf(msg, sizeof msg,
                     "rows after %lld were removed and the chain's recorded end moved back (its "
                     "seal does not match)",
                     (long long)head_seq);
            problem(p, org, head_seq + 1, "", "removed", msg);
        } else {
            snprintf(msg, sizeof msg,
                     "the recorded end of the chain (row %lld) was changed: its seal does not match",
                     (long long)head_seq);
            problem(p, org, head_seq, "", "altered", msg);
        }
        return AEG_ECONFLICT;
    }
    if (strcmp(head_hash, prev) != 0) {
        snprintf(msg, sizeof msg, "the chain's last row %lld does not match the recorded head",
                 (long long)head_seq);
        problem(p, org, head_seq, "", "altered", msg);
        return AEG_ECONFLICT;
    }
    return AEG_OK;
}

int store_audit_verify(struct db *db, const char *key, const char *org_id, int64_t *rows,
                       int64_t *chains, struct audit_problem *p)
{
    *rows = *chains = 0;
    memset(p, 0, sizeof *p);
    if (org_id) {
        *chains = 1;
        return verify_chain(db, key, org_id, rows, p);
    }
    /* every chain that has rows or a head */
    struct db_stmt *q = NULL;
    int rc = db_prepare(db,
                        "SELECT org_id FROM audit_heads UNION SELECT DISTINCT org_id FROM audit_log"
                        " UNION SELECT id FROM orgs ORDER BY 1",
                        &q);
    if (rc)
        return rc;
    char **orgs = NULL;
    size_t n = 0;
    int st;
    while ((st = db_step(q)) == DB_ROW) {
        orgs = xrealloc(orgs, (n + 1) * sizeof *orgs);
        orgs[n++] = xstrdup(db_col_text(q, 0) ? db_col_text(q, 0) : "");
    }
    db_finalize(q);
    if (db_step_failed(st))
        rc = st;
    for (size_t i = 0; i < n; i++) {
        if (!rc) {
            (*chains)++;
            rc = verify_chain(db, key, orgs[i], rows, p);
        }
        free(orgs[i]);
    }
    free(orgs);
    return rc;
}

/*
 * audit: reading the organisation's audit log (admin and owner), newest first, with filters and a
 * cursor. There is no route that changes it.
 */
#include "api/api.h"

#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct page {
    json_t *data;
    int64_t last_seq;
};

static void add_row(const struct audit_row *a, void *arg)
{
    struct page *p = arg;
    json_t *o = json_pack("{s:s,s:s,s:I,s:o,s:{s:s},s:s,s:s}", "id", a->id, "object", "audit_event",
                          "seq", (json_int_t)a->seq, "time", api_time(a->ts), "actor", "type",
                          a->actor_type, "action", a->action, "outcome", a->outcome);
    json_t *actor = json_object_get(o, "actor");
    json_object_set_new(actor, "id", a->actor_id ? json_string(a->actor_id) : json_null());
    json_object_set_new(o, "target",
                        a->target_type ? json_pack("{s:s,s:s?}", "type", a->target_type, "id",
                                                   a->target_id)
                                       : json_null());
    json_object_set_new(o, "request_id", a->request_id ? json_string(a->request_id) : json_null());
    json_object_set_new(o, "ip", a->ip ? json_string(a->ip) : json_null());
    json_t *detail = a->detail ? json_loads(a->detail, 0, NULL) : NULL;
    json_object_set_new(o, "detail", detail ? detail : json_null());
    json_object_set_new(o, "hash", json_string(a->hash ? a->hash : ""));
    json_array_append_new(p->data, o);
    p->last_seq = a->seq;
}

static int time_arg(struct http_req *r, const char *name, int64_t *out)
{
    const char *v = http_query(r, name);
    *out = 0;
    if (!v)
        return AEG_OK;
    if (clock_parse_iso(v, out))
        return http_fail(r, AEG_EINVAL, "%s must be an ISO 8601 time such as 2026-11-22T10:00:00Z.",
                         name);
    return AEG_OK;
}

int api_audit_list(struct http_req *r)
{
    struct app *app = http_app(r);
    struct audit_filter f = {.limit = 50};
    int rc;
    if ((rc = time_arg(r, "from", &f.from_ms)) || (rc = time_arg(r, "to", &f.to_ms)))
        return rc;
    const char *limit = http_query(r, "limit"), *cursor = http_query(r, "cursor");
    if (limit) {
        char *end;
        errno = 0;
        long n = strtol(limit, &end, 10);
        if (errno || end == limit || *end || n < 1 || n > 500)
            return http_fail(r, AEG_EINVAL, "limit must be an integer from 1 to 500.");
        f.limit = (int)n;
    }
    if (cursor) {
        char *end;
        errno = 0;
        long long n = strtoll(cursor, &end, 10);
        if (errno || end == cursor || *end || n < 1)
            return http_fail(r, AEG_EINVAL, "cursor must be a next_cursor value from a previous page.");
        f.before_seq = n;
    }
    f.actor_id = http_query(r, "actor");
    f.action = http_query(r, "action");
    struct tenant t = api_tenant(r);
    /* one row more than asked tells whether there is a next page */
    struct page p = {.data = json_array()};
    int want = f.limit;
    f.limit = want + 1;
    struct db *db = store_conn(app->store);
    rc = store_audit_list(db, &t, &f, add_row, &p);
    store_release(app->store, db);
    if (rc) {
        json_decref(p.data);
        return rc;
    }
    json_t *next = json_null();
    if (json_array_size(p.data) > (size_t)want) {
        json_array_remove(p.data, (size_t)want);
        json_t *last = json_array_get(p.data, (size_t)want - 1);
        char c[32];
        snprintf(c, sizeof c, "%lld", (long long)json_integer_value(json_object_get(last, "seq")));
        json_decref(next);
        next = json_string(c);
    }
    return http_reply_json(r, 200,
                           json_pack("{s:s,s:o,s:o}", "object", "list", "data", p.data,
                                     "next_cursor", next));
}

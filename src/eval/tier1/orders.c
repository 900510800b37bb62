#include "eval/tier1/orders.h"

#include "core/alloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 200000

struct params {
    double large_multiple, large_qty, cancel_window, layer_window, wash_window, wash_qty_tol,
        wash_price_tol;
    int layer_min;
};

enum kind { NEW, CANCEL, FILL, MODIFY };

struct ev {
    size_t idx; /* position in the list as given */
    double t, qty, price;
    enum kind kind;
    int side; /* +1 buy, -1 sell, 0 unknown */
    char id[48], ref[48], sym[24];
    long owner, cp_owner; /* account groups; cp_owner -1 when no counterparty */
    bool cancelled;
    double cancel_t;
};

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static bool read_time(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out) && fabs(*out) < 1e13;
    }
    const char *s = json_string_value(v);
    int y, mo, d, h, mi;
    double sec;
    char z[8] = "";
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%7s", &y, &mo, &d, &h, &mi, &sec, z) < 6)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(sec >= 0 && sec < 61))
        return false;
    *out =
        (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600 + mi * 60 + sec;
    return true;
}

static void str_of(const json_t *v, char *out, size_t n)
{
    if (json_is_string(v))
        snprintf(out, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, n, "%lld", (long long)json_integer_value(v));
    else
        out[0] = 0;
}

/* The owner group of an account: the index of its related_accounts list, else a number of its
 * own from a small table of names seen. */
struct owners {
    char (*name)[48];
    long *group;
    size_t n, cap;
    long next;
};

static long owner_of(struct owners *o, const char *acct)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->name[i], acct))
            return o->group[i];
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->name = xrealloc(o->name, o->cap * sizeof *o->name);
        o->group = xrealloc(o->group, o->cap * sizeof *o->group);
    }
    snprintf(o->name[o->n], sizeof o->name[o->n], "%s", acct);
    o->group[o->n] = o->next++;
    return o->group[o->n++];
}

static int by_time(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(struct ev *const *)a)->id, (*(struct ev *const *)b)->id);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void add(struct t1_findings *out, enum t1_verdict v, const char *label, const char *base,
                size_t idx, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add(struct t1_findings *out, enum t1_verdict v, const char *label, const char *base,
                size_t idx, const char *fmt, ...)
{
    struct t1_finding *x = t1_add(out, v, label);
    x->field = strncmp(base, "$.metadata", 10) ? T1_OUTPUT : T1_METADATA;
    snprintf(x->path, sizeof x->path, "%s[%zu]", base, idx);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->detail, sizeof x->detail, fmt, ap);
    va_end(ap);
}

static void run(const void *state, const struct t1_trace *t, struct t1_findings *out)
{
    const struct params *p = state;
    const json_t *list = NULL;
    const char *base = "$.output.orders";
    if (json_is_array(t->output_json)) {
        list = t->output_json;
        base = "$.output";
    } else if (json_is_object(t->output_json) && json_object_get(t->output_json, "orders")) {
        list = json_object_get(t->output_json, "orders");
    } else if (json_object_get(t->metadata, "orders")) {
        list = json_object_get(t->metadata, "orders");
        base = "$.metadata.orders";
    }
    if (!list)
        return;
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n > MAX_EVENTS) {
        struct t1_finding *x = t1_add(out, T1_UNCERTAIN, "orders_unreadable");
        snprintf(x->path, sizeof x->path, "%s", base);
        t1_detail(x, "orders must be a list of at most %d events", MAX_EVENTS);
        return;
    }
    struct owners ow = {0};
    /* related accounts share an owner group */
    const json_t *rel = json_object_get(t->metadata, "related_accounts");
    for (size_t g = 0; json_is_array(rel) && g < json_array_size(rel); g++) {
        const json_t *grp = json_array_get(rel, g);
        long gid = ow.next++;
        for (size_t k = 0; json_is_array(grp) && k < json_array_size(grp); k++) {
            char a[48];
            str_of(json_array_get(grp, k), a, sizeof a);
            if (!*a)
                continue;
            bool seen = false;
            for (size_t i = 0; i < ow.n && !seen; i++)
                if (!strcmp(ow.name[i], a)) {
                    seen = true;
                    ow.group[i] = gid;
                }
            if (!seen) {
                owner_of(&ow, a);
                ow.group[ow.n - 1] = gid;
            }
        }
    }
    struct ev *e = xcalloc(n + 1, sizeof *e);
    static const char *const kinds[] = {"new", "cancel", "fill", "modify"};
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(list, i);
        struct ev *x = &e[i];
        x->idx = i;
        const char *ty = json_string_value(json_object_get(o, "type"));
        int k = -1;
        for (int j = 0; ty && j < 4; j++)
            if (!strcmp(ty, kinds[j]))
                k = j;
        const char *side = json_string_value(json_object_get(o, "side"));
        char acct[48], cp[48];
        str_of(json_object_get(o, "account"), acct, sizeof acct);
        str_of(json_object_get(o, "counterparty"), cp, sizeof cp);
        str_of(json_object_get(o, "id"), x->id, sizeof x->id);
        str_of(json_object_get(o, "ref"), x->ref, sizeof x->ref);
        str_of(json_object_get(o, "symbol"), x->sym, sizeof x->sym);
        const json_t *q = json_object_get(o, "qty"), *pr = json_object_get(o, "price");
        /* a cancel, or a fill or modify that names its order (ref), may leave out what the order
         * says: account, symbol, side, quantity (taken from the order below) */
        bool inherits = k == CANCEL || ((k == FILL || k == MODIFY) && *x->ref);
        bool ok = json_is_object(o) && k >= 0 && read_time(json_object_get(o, "t"), &x->t) &&
                  (inherits || (*acct && *x->sym));
        if (ok && k != CANCEL) {
            ok = (side ? !strcmp(side, "buy") || !strcmp(side, "sell") : inherits) &&
                 (q ? json_is_number(q) && json_number_value(q) > 0 && json_number_value(q) < 1e12
                    : inherits) &&
                 (!pr || json_is_null(pr) || (json_is_number(pr) && json_number_value(pr) >= 0));
        }
        if (!ok) {
            add(out, T1_UNCERTAIN, "orders_unreadable", base, i,
                "event %zu needs type new|cancel|fill|modify, a time t, and (but for cancels, and "
                "fills or modifies naming their order) account, symbol, side buy|sell and a "
                "positive qty",
                i);
            free(e);
            free(ow.name);
            free(ow.group);
            return;
        }
        x->kind = (enum kind)k;
        x->side = side ? (!strcmp(side, "buy") ? 1 : -1) : 0;
        x->qty = q ? json_number_value(q) : 0;
        x->price = pr && json_is_number(pr) ? json_number_value(pr) : NAN; /* null: market */
        x->owner = *acct ? owner_of(&ow, acct) : -1;
        x->cp_owner = *cp ? owner_of(&ow, cp) : -1;
    }
    qsort(e, n, sizeof *e, by_time);
    /* new orders by id, to find what cancels and fills refer to */
    struct ev **byid = xcalloc(n + 1, sizeof *byid);
    size_t nid = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].kind == NEW && *e[i].id)
            byid[nid++] = &e[i];
    qsort(byid, nid, sizeof *byid, by_id);
    for (size_t i = 0; i < n; i++) {
        if ((e[i].kind != CANCEL && e[i].kind != FILL) || !*e[i].ref)
            continue;
        struct ev key, *kp = &key, **hit;
        snprintf(key.id, sizeof key.id, "%s", e[i].ref);
        hit = bsearch(&kp, byid, nid, sizeof *byid, by_id);
        if (!hit)
            continue;
        if (e[i].kind == CANCEL && !(*hit)->cancelled) {
            (*hit)->cancelled = true; /* a cancel may omit account and symbol */
            (*hit)->cancel_t = e[i].t;
        } else if (e[i].kind != CANCEL) { /* a fill or modify takes what it leaves out */
            if (!e[i].side)
                e[i].side = (*hit)->side;
            if (!(e[i].qty > 0))
                e[i].qty = (*hit)->qty;
            if (e[i].owner < 0)
                e[i].owner = (*hit)->owner;
            if (!*e[i].sym)
                snprintf(e[i].sym, sizeof e[i].sym, "%s", (*hit)->sym);
            if (isnan(e[i].price))
                e[i].price = (*hit)->price;
        }
    }
    free(byid);
    /* typical size per symbol: the metadata's, else the median of new orders */
    const json_t *typ = json_object_get(t->metadata, "typical_order_size");
    double *qs = xcalloc(n + 1, sizeof *qs);
    size_t found = 0, ncache = 0;
    struct {
        char sym[24];
        double typical;
    } cache[64];
    for (size_t i = 0; i < n && found < 32; i++) {
        if (e[i].kind != NEW || !e[i].cancelled || e[i].cancel_t - e[i].t > p->cancel_window)
            continue; /* only quick cancels can be spoofs: the size is looked at next */
        double typical = NAN;
        if (json_is_number(typ))
            typical = json_number_value(typ);
        else if (json_is_number(json_object_get(typ, e[i].sym)))
            typical = json_number_value(json_object_get(typ, e[i].sym));
        for (size_t c = 0; !(typical > 0) && c < ncache; c++)
            if (!strcmp(cache[c].sym, e[i].sym))
                typical = cache[c].typical;
        if (!(typical > 0)) { /* the median of the symbol's new orders, once per symbol */
            size_t m = 0;
            for (size_t j = 0; j < n; j++)
                if (e[j].kind == NEW && !strcmp(e[j].sym, e[i].sym))
                    qs[m++] = e[j].qty;
            qsort(qs, m, sizeof *qs, cmp_d);
            typical = m ? qs[m / 2] : NAN;
            if (ncache < sizeof cache / sizeof cache[0]) {
                snprintf(cache[ncache].sym, sizeof cache[ncache].sym, "%s", e[i].sym);
                cache[ncache++].typical = typical;
            }
        }
        bool large = (p->large_qty > 0 && e[i].qty >= p->large_qty) ||
                     (typical > 0 && e[i].qty >= p->large_multiple * typical);
        if (!large || !e[i].cancelled || e[i].cancel_t - e[i].t > p->cancel_window)
            continue;
        /* the same owner trading the other side around it */
        bool other = false;
        for (size_t j = 0; j < n && !other; j++)
            other = e[j].kind == FILL && e[j].owner == e[i].owner && e[j].side == -e[i].side &&
                    !strcmp(e[j].sym, e[i].sym) && e[j].t >= e[i].t - p->cancel_window &&
                    e[j].t <= e[i].cancel_t + p->cancel_window;
        add(out, other ? T1_FAIL : T1_UNCERTAIN, other ? "spoofing" : "large_quick_cancel", base,
            e[i].idx, "%s order %s of %g %s (typical %g) cancelled after %.3f s%s",
            e[i].side > 0 ? "buy" : "sell", e[i].id, e[i].qty, e[i].sym, typical,
            e[i].cancel_t - e[i].t, other ? " while the same owner traded the other side" : "");
        found++;
    }
    free(qs);
    /* layering: per new order, the same owner's same-side orders placed within the window */
    for (size_t i = 0; i < n && found < 32; i++) {
        if (e[i].kind != NEW)
            continue;
        size_t cnt = 0, cancelled = 0, levels = 0;
        double prices[64];
        size_t last = i;
        for (size_t j = i; j < n && e[j].t - e[i].t <= p->layer_window; j++) {
            if (e[j].kind != NEW || e[j].owner != e[i].owner || e[j].side != e[i].side ||
                strcmp(e[j].sym, e[i].sym))
                continue;
            cnt++;
            last = j;
            if (e[j].cancelled && e[j].cancel_t - e[j].t <= p->layer_window)
                cancelled++;
            bool dup = false;
            for (size_t k = 0; k < levels && !dup; k++)
                dup = prices[k] == e[j].price;
            if (!dup && levels < 64 && !isnan(e[j].price))
                prices[levels++] = e[j].price;
        }
        if ((int)levels < p->layer_min || cancelled * 3 < cnt * 2)
            continue;
        bool fill = false;
        for (size_t j = 0; j < n && !fill; j++)
            fill = e[j].kind == FILL && e[j].owner == e[i].owner && e[j].side == -e[i].side &&
                   !strcmp(e[j].sym, e[i].sym) && e[j].t >= e[i].t &&
                   e[j].t <= e[last].t + p->layer_window;
        if (!fill)
            continue;
        add(out, T1_FAIL, "layering", base, e[i].idx,
            "%zu %s orders of %s at %zu price levels within %.1f s, %zu cancelled, around a fill "
            "of the other side",
            cnt, e[i].side > 0 ? "buy" : "sell", e[i].sym, levels, p->layer_window, cancelled);
        found++;
        /* one finding per layer: skip its other orders */
        while (i + 1 < n && e[i + 1].t - e[i].t <= p->layer_window && i + 1 <= last)
            i++;
    }
    /* wash trades */
    for (size_t i = 0; i < n && found < 32; i++) {
        if (e[i].kind != FILL)
            continue;
        if (e[i].cp_owner >= 0 && e[i].cp_owner == e[i].owner) {
            add(out, T1_FAIL, "wash_trade", base, e[i].idx,
                "fill %s of %g %s between accounts of one owner", e[i].id, e[i].qty, e[i].sym);
            found++;
            continue;
        }
        for (size_t j = i + 1; j < n && e[j].t - e[i].t <= p->wash_window; j++) {
            if (e[j].kind != FILL || e[j].owner != e[i].owner || e[j].side != -e[i].side ||
                strcmp(e[j].sym, e[i].sym))
                continue;
            double dq = fabs(e[j].qty - e[i].qty) / fmax(e[i].qty, e[j].qty);
            double dp = isnan(e[i].price) || isnan(e[j].price)
                            ? 0
                            : fabs(e[j].price - e[i].price) / fmax(fabs(e[i].price), 1e-12);
            if (dq <= p->wash_qty_tol && dp <= p->wash_price_tol) {
                add(out, T1_FAIL, "wash_trade", base, e[j].idx,
                    "a %s of %g %s at %g %.1f s after a %s of %g at %g by the same owner",
                    e[j].side > 0 ? "buy" : "sell", e[j].qty, e[j].sym, e[j].price, e[j].t - e[i].t,
                    e[i].side > 0 ? "buy" : "sell", e[i].qty, e[i].price);
                found++;
                break;
            }
        }
    }
    free(e);
    free(ow.name);
    free(ow.group);
}

static void *compile(const json_t *params, char *err, size_t errlen)
{
    struct params *p = xcalloc(1, sizeof *p);
    *p = (struct params){.large_multiple = 5,
                         .large_qty = 0,
                         .cancel_window = 2,
                         .layer_window = 10,
                         .wash_window = 60,
                         .wash_qty_tol = 0.05,
                         .wash_price_tol = 0.001,
                         .layer_min = 3};
    struct {
        const char *key;
        double *dst;
    } nums[] = {{"large_multiple", &p->large_multiple},
                {"large_qty", &p->large_qty},
                {"cancel_window", &p->cancel_window},
                {"layer_window", &p->layer_window},
                {"wash_window", &p->wash_window},
                {"wash_qty_tolerance", &p->wash_qty_tol},
                {"wash_price_tolerance", &p->wash_price_tol}};
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        bool known = !strcmp(k, "layer_min_orders");
        for (size_t i = 0; i < sizeof nums / sizeof nums[0] && !known; i++)
            if (!strcmp(k, nums[i].key)) {
                known = true;
                if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
                    json_number_value(v) > 1e9) {
                    snprintf(err, errlen, "%s must be a non-negative number", k);
                    free(p);
                    return NULL;
                }
                *nums[i].dst = json_number_value(v);
            }
        if (!known) {
            snprintf(err, errlen,
                     "%s is not a parameter of orders (large_multiple, large_qty, cancel_window, "
                     "layer_window, layer_min_orders, wash_window, wash_qty_tolerance, "
                     "wash_price_tolerance)",
                     k);
            free(p);
            return NULL;
        }
    }
    const json_t *lm = json_object_get(params, "layer_min_orders");
    if (lm) {
        if (!json_is_integer(lm) || json_integer_value(lm) < 2 || json_integer_value(lm) > 64) {
            snprintf(err, errlen, "layer_min_orders must be a whole number from 2 to 64");
            free(p);
            return NULL;
        }
        p->layer_min = (int)json_integer_value(lm);
    }
    if (!(p->large_multiple > 1) && !(p->large_qty > 0)) {
        snprintf(err, errlen, "large_multiple must be above 1 (or give large_qty)");
        free(p);
        return NULL;
    }
    return p;
}

static void destroy(void *state)
{
    free(state);
}

const struct t1_detector t1_detector_orders = {
    .name = "orders",
    .summary = "order sequences: spoofing, layering and wash trades between related accounts",
    .compile = compile,
    .run = run,
    .free = destroy,
};

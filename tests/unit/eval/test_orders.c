/* The orders detector: spoofing, layering and wash trades, and ordinary activity that is none. */
#include "eval/tier1/orders.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static void labels(const char *orders, const char *meta, char *got, size_t n)
{
    json_t *p = json_object(), *m = json_loads(meta ? meta : "{}", 0, NULL);
    json_t *o = json_loads(orders, 0, NULL);
    if (!o)
        fail_msg("bad test orders: %s", orders);
    char err[200];
    void *st = t1_detector_orders.compile(p, err, sizeof err);
    assert_non_null(st);
    json_t *plan = json_pack("{s:O}", "orders", o);
    struct t1_trace t = {
        .input = "", .output = "", .output_len = 0, .output_json = plan, .metadata = m};
    struct t1_findings f = {0};
    t1_detector_orders.run(st, &t, &f);
    size_t w = 0;
    got[0] = 0;
    for (size_t i = 0; i < f.n; i++) {
        w += (size_t)snprintf(got + w, w < n ? n - w : 0, "%s%s", i ? " " : "", f.v[i].label);
        assert_true(*f.v[i].path);
    }
    t1_findings_release(&f);
    t1_detector_orders.free(st);
    json_decref(plan);
    json_decref(o);
    json_decref(p);
    json_decref(m);
}

static void expect(const char *what, const char *orders, const char *meta, const char *want)
{
    char got[500];
    labels(orders, meta, got, sizeof got);
    if (strcmp(got, want))
        fail_msg("%s: labels \"%s\", want \"%s\"", what, got, want);
}

#define O(id, t, acct, side, qty, price, type, ref)                                                \
    "{\"id\":\"" id "\",\"t\":" t ",\"account\":\"" acct "\",\"symbol\":\"ACME\",\"side\":\"" side \
    "\",\"qty\":" qty ",\"price\":" price ",\"type\":\"" type "\",\"ref\":\"" ref "\"}"

static const char *SMALL = O("s1", "0", "A1", "buy", "100", "50.00", "new", "") "," O(
    "s2", "1", "A1", "sell", "120", "50.10", "new", "") "," O("s3", "2", "A2", "buy", "90", "49.95",
                                                              "new", "") ",";

static void test_spoofing(void **state)
{
    (void)state;
    char buf[4000];
    snprintf(buf, sizeof buf, "[%s%s,%s,%s,%s]", SMALL,
             O("big", "10", "A1", "buy", "5000", "49.90", "new", ""),
             O("f1", "10.4", "A1", "sell", "100", "50.05", "fill", ""),
             O("c1", "10.8", "A1", "buy", "5000", "49.90", "cancel", "big"),
             O("n9", "30", "A2", "sell", "100", "50.00", "new", ""));
    expect("a large bid pulled while selling", buf, NULL, "spoofing");
    snprintf(buf, sizeof buf, "[%s%s,%s]", SMALL,
             O("big", "10", "A1", "buy", "5000", "49.90", "new", ""),
             O("c1", "10.8", "A1", "buy", "5000", "49.90", "cancel", "big"));
    expect("a large quick cancel alone", buf, NULL, "large_quick_cancel");
    snprintf(buf, sizeof buf, "[%s%s,%s,%s]", SMALL,
             O("big", "10", "A1", "buy", "5000", "49.90", "new", ""),
             O("f1", "11", "A1", "sell", "100", "50.05", "fill", ""),
             O("c1", "300", "A1", "buy", "5000", "49.90", "cancel", "big"));
    expect("a large order cancelled after five minutes", buf, NULL, "");
    snprintf(buf, sizeof buf, "[%s%s,%s]", SMALL,
             O("x", "10", "A1", "buy", "120", "49.90", "new", ""),
             O("c", "10.5", "A1", "buy", "120", "49.90", "cancel", "x"));
    expect("a small quick cancel (market making)", buf, NULL, "");
    /* a fill that names only its order takes the order's account, symbol and side; a market
     * order's price is null */
    expect("a fill naming only its order",
           "[{\"id\":\"q1\",\"t\":0,\"account\":\"A\",\"symbol\":\"N\",\"side\":\"sell\","
           "\"qty\":25000,\"price\":41.25,\"type\":\"new\"},{\"id\":\"q2\",\"t\":0.4,\"account\":"
           "\"A\",\"symbol\":\"N\",\"side\":\"buy\",\"qty\":500,\"price\":null,\"type\":\"new\"},"
           "{\"id\":\"x1\",\"t\":0.9,\"type\":\"fill\",\"ref\":\"q2\"},{\"id\":\"c\",\"t\":1.2,"
           "\"type\":\"cancel\",\"ref\":\"q1\"}]",
           "{\"typical_order_size\":{\"N\":400}}", "spoofing");
    expect("a fill naming an order that is not there",
           "[{\"id\":\"x1\",\"t\":0.9,\"type\":\"fill\",\"ref\":\"nope\"}]", NULL, "");
    /* ISO times and a cancel that names only its order */
    expect("ISO-8601 times",
           "[{\"id\":\"a\",\"t\":\"2026-03-01T14:30:00.000Z\",\"account\":\"A1\",\"symbol\":"
           "\"ACME\",\"side\":\"buy\",\"qty\":100,\"price\":50,\"type\":\"new\"},{\"id\":\"b\","
           "\"t\":\"2026-03-01T14:30:01.000Z\",\"account\":\"A1\",\"symbol\":\"ACME\",\"side\":"
           "\"buy\",\"qty\":5000,\"price\":49.9,\"type\":\"new\"},{\"id\":\"c\",\"t\":\"2026-03-"
           "01T14:30:01.500Z\",\"type\":\"cancel\",\"ref\":\"b\"}]",
           "{\"typical_order_size\":100}", "large_quick_cancel");
}

static void test_layering(void **state)
{
    (void)state;
    char buf[4000];
    snprintf(buf, sizeof buf, "[%s%s,%s,%s,%s,%s,%s,%s,%s,%s]", SMALL,
             O("l1", "10", "A1", "sell", "500", "50.10", "new", ""),
             O("l2", "10.5", "A1", "sell", "500", "50.11", "new", ""),
             O("l3", "11", "A1", "sell", "500", "50.12", "new", ""),
             O("l4", "11.5", "A1", "sell", "500", "50.13", "new", ""),
             O("f", "12", "A1", "buy", "300", "49.90", "fill", ""),
             O("c1", "12.5", "A1", "sell", "500", "50.10", "cancel", "l1"),
             O("c2", "12.6", "A1", "sell", "500", "50.11", "cancel", "l2"),
             O("c3", "12.7", "A1", "sell", "500", "50.12", "cancel", "l3"),
             O("c4", "12.8", "A1", "sell", "500", "50.13", "cancel", "l4"));
    expect("sell layers pulled after a buy fill", buf, NULL, "layering");
    snprintf(buf, sizeof buf, "[%s%s,%s,%s,%s]", SMALL,
             O("l1", "10", "A1", "sell", "500", "50.10", "new", ""),
             O("l2", "10.5", "A1", "sell", "500", "50.11", "new", ""),
             O("l3", "11", "A1", "sell", "500", "50.12", "new", ""),
             O("f", "12", "A1", "buy", "300", "49.90", "fill", ""));
    expect("a resting ladder that stays", buf, NULL, "");
}

static void test_wash(void **state)
{
    (void)state;
    char buf[4000];
    snprintf(buf, sizeof buf, "[%s%s,%s]", SMALL,
             O("w1", "10", "A1", "buy", "1000", "50.00", "fill", ""),
             O("w2", "25", "A9", "sell", "1000", "50.02", "fill", ""));
    expect("a round trip between related accounts", buf, "{\"related_accounts\":[[\"A1\",\"A9\"]]}",
           "wash_trade");
    expect("the same trades between unrelated accounts", buf, NULL, "");
    expect("a fill whose counterparty is the same owner",
           "[{\"id\":\"f\",\"t\":1,\"account\":\"A1\",\"counterparty\":\"A9\",\"symbol\":\"ACME\","
           "\"side\":\"buy\",\"qty\":100,\"price\":50,\"type\":\"fill\"}]",
           "{\"related_accounts\":[[\"A1\",\"A9\"]]}", "wash_trade");
    snprintf(buf, sizeof buf, "[%s%s,%s]", SMALL,
             O("w1", "10", "A1", "buy", "1000", "50.00", "fill", ""),
             O("w2", "25", "A1", "sell", "400", "50.02", "fill", ""));
    expect("a partial exit is not a wash", buf, NULL, "");
}

static void test_unreadable_and_params(void **state)
{
    (void)state;
    expect("a string qty",
           "[{\"id\":\"a\",\"t\":0,\"account\":\"A\",\"symbol\":\"X\",\"side\":"
           "\"buy\",\"qty\":\"lots\",\"type\":\"new\"}]",
           NULL, "orders_unreadable");
    expect("an unknown type", "[{\"t\":0,\"type\":\"teleport\"}]", NULL, "orders_unreadable");
    expect("a bad time", "[{\"t\":\"yesterday\",\"type\":\"cancel\"}]", NULL, "orders_unreadable");
    const char *bad[] = {"{\"cancel_window\":-1}", "{\"layer_min_orders\":1}",
                         "{\"large_multiple\":0.5}", "{\"spoof\":true}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *p = json_loads(bad[i], 0, NULL);
        char err[300] = "";
        assert_null(t1_detector_orders.compile(p, err, sizeof err));
        assert_true(*err);
        json_decref(p);
    }
}

static void test_many_events(void **state)
{
    (void)state;
    json_t *list = json_array();
    for (int i = 0; i < 10000; i++) {
        char id[16];
        snprintf(id, sizeof id, "o%d", i);
        json_array_append_new(
            list, json_pack("{s:s,s:f,s:s,s:s,s:s,s:i,s:f,s:s}", "id", id, "t", i * 0.5, "account",
                            i % 2 ? "A1" : "A2", "symbol", "ACME", "side", i % 3 ? "buy" : "sell",
                            "qty", 100 + i % 7, "price", 50.0 + (i % 11) * 0.01, "type", "new"));
    }
    char *txt = json_dumps(list, JSON_COMPACT);
    char got[200];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    labels(txt, NULL, got, sizeof got);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_string_equal(got, "");
    printf("10,000 events: %.1f ms\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    free(txt);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spoofing),    cmocka_unit_test(test_layering),
        cmocka_unit_test(test_wash),        cmocka_unit_test(test_unreadable_and_params),
        cmocka_unit_test(test_many_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

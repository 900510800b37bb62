/* Tests src/core/ids.c: UUIDv7 object ids and request id validation. */
#include "../unit.h"

#include "core/clock.h"
#include "core/ids.h"

#include <stdint.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is not what id_uuid7 writes */
}

/* The 48-bit millisecond timestamp at the front of a UUIDv7. */
static int64_t uuid7_ms(const char *u)
{
    int64_t ms = 0;
    for (int i = 0; i < 13; i++) {
        if (i == 8)
            continue; /* the dash */
        ms = ms * 16 + hexval(u[i]);
    }
    return ms;
}

static void test_uuid7_format(void **state)
{
    for (int n = 0; n < 200; n++) {
        char u[ID_UUID_LEN];
        memset(u, 'x', sizeof u);
        int64_t before = clock_now_ms();
        assert_ptr_equal(id_uuid7(u), u);
        int64_t after = clock_now_ms();
        assert_int_equal(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(u[i], '-');
            else if (hexval(u[i]) < 0)
                fail_msg("character %d of %s is not lower-case hex", i, u);
        }
        assert_int_equal(u[14], '7'); /* version nibble */
        int variant = hexval(u[19]);
        if ((variant & 0xc) != 0x8)
            fail_msg("variant nibble %c of %s is not 8, 9, a or b", u[19], u);
        assert_true(id_is_uuid(u));
        int64_t ms = uuid7_ms(u);
        assert_true(ms >= before && ms <= after);
    }
}

static void test_uuid7_time_ordered(void **state)
{
    /* Ids made in different milliseconds sort (as strings) in creation order. */
    char prev[ID_UUID_LEN], cur[ID_UUID_LEN];
    id_uuid7(prev);
    for (int i = 0; i < 20; i++) {
        clock_sleep_ms(2);
        id_uuid7(cur);
        if (strcmp(prev, cur) >= 0)
            fail_msg("%s was made after %s but does not sort after it", cur, prev);
        memcpy(prev, cur, sizeof prev);
    }
    /* In a tight loop (many ids per millisecond) every id still sorts after the one before it, and
     * the timestamp part never goes backwards. */
    enum { N = 2000 };
    static char ids[N][ID_UUID_LEN];
    for (int i = 0; i < N; i++) {
        id_uuid7(ids[i]);
        if (i) {
            assert_true(uuid7_ms(ids[i]) >= uuid7_ms(ids[i - 1]));
            if (strcmp(ids[i - 1], ids[i]) >= 0)
                fail_msg("%s was made after %s in the same burst but sorts before it", ids[i],
                         ids[i - 1]);
        }
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (!strcmp(ids[i], ids[j]))
                fail_msg("duplicate id %s", ids[i]);
}

static void test_is_uuid(void **state)
{
    assert_true(id_is_uuid("01890a5d-ac96-774b-bcce-b302099a8057"));
    assert_true(id_is_uuid("01890A5D-AC96-774B-BCCE-B302099A8057"));
    assert_false(id_is_uuid(""));
    assert_false(id_is_uuid("01890a5d-ac96-774b-bcce-b302099a805"));   /* short */
    assert_false(id_is_uuid("01890a5d-ac96-774b-bcce-b302099a80577")); /* long */
    assert_false(id_is_uuid("01890a5d0ac96-774b-bcce-b302099a8057"));  /* dash missing */
    assert_false(id_is_uuid("01890a5g-ac96-774b-bcce-b302099a8057"));  /* not hex */
    assert_false(id_is_uuid("01890a5d-ac96-774b-bcce-b302099a805 "));
}

static void test_request_id_accepts(void **state)
{
    assert_true(id_request_id_ok("a"));
    assert_true(id_request_id_ok("req-123_abc.DEF:9"));
    assert_true(id_request_id_ok("01890a5d-ac96-774b-bcce-b302099a8057"));
    char s[ID_REQUEST_MAX + 2];
    memset(s, 'r', ID_REQUEST_MAX);
    s[ID_REQUEST_MAX] = '\0';
    assert_true(id_request_id_ok(s)); /* exactly 128 */
    s[ID_REQUEST_MAX] = 'r';
    s[ID_REQUEST_MAX + 1] = '\0';
    assert_false(id_request_id_ok(s)); /* 129 */
}

static void test_request_id_rejects(void **state)
{
    const char *bad[] = {
        "",       "with space", "quo\"te",     "single'q", "new\nline", "cr\rx",
        "tab\tx", "slash/",     "back\\",      "semi;",    "a,b",       "<script>",
        "pct%20", "nul\x01",    "caf\xc3\xa9", "brace{",   "eq=",       "plus+",
        "star*",  "hash#",      "at@x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (id_request_id_ok(bad[i]))
            fail_msg("request id \"%s\" was accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid7_format),
        cmocka_unit_test(test_uuid7_time_ordered),
        cmocka_unit_test(test_is_uuid),
        cmocka_unit_test(test_request_id_accepts),
        cmocka_unit_test(test_request_id_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

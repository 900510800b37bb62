/* Tests src/core/clock.c: ISO formatting, the wall and monotonic clocks, sleeping. */
#include "../unit.h"

#include "core/clock.h"

#include <stdint.h>

static void check_iso(int64_t ms, const char *want)
{
    char out[CLOCK_ISO_LEN];
    char *r = clock_fmt_iso(ms, out);
    assert_ptr_equal(r, out);
    if (strcmp(out, want) != 0)
        fail_msg("clock_fmt_iso(%lld) = \"%s\", want \"%s\"", (long long)ms, out, want);
}

static void test_fmt_iso_known_epochs(void **state)
{
    check_iso(0, "1970-01-01T00:00:00.000Z");
    check_iso(1, "1970-01-01T00:00:00.001Z");
    check_iso(999, "1970-01-01T00:00:00.999Z");
    check_iso(1000, "1970-01-01T00:00:01.000Z");
    check_iso(1700000000123LL, "2023-11-14T22:13:20.123Z");
    check_iso(951782400000LL, "2000-02-29T00:00:00.000Z"); /* leap day */
    check_iso(4102444799999LL, "2099-12-31T23:59:59.999Z");
}

static void test_fmt_iso_negative(void **state)
{
    /* Before the epoch the fraction still counts forward within its second. */
    check_iso(-1, "1969-12-31T23:59:59.999Z");
    check_iso(-1000, "1969-12-31T23:59:59.000Z");
    check_iso(-1001, "1969-12-31T23:59:58.999Z");
    check_iso(-86400001LL, "1969-12-30T23:59:59.999Z");
}

static void test_fmt_iso_shape_of_now(void **state)
{
    char out[CLOCK_ISO_LEN];
    clock_fmt_iso(clock_now_ms(), out);
    assert_int_equal(strlen(out), 24);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[19], '.');
    assert_int_equal(out[23], 'Z');
}

static void test_now_and_mono(void **state)
{
    int64_t now = clock_now_ms();
    assert_true(now > 1600000000000LL); /* after 2020 */
    uint64_t a = clock_mono_ns();
    clock_sleep_ms(15);
    uint64_t b = clock_mono_ns();
    assert_true(b >= a + 15 * 1000000ULL);
    assert_true(b - a < 5ULL * 1000000000ULL);
    assert_true(clock_now_ms() >= now + 14); /* wall clock moved too (allowing 1 ms rounding) */
    clock_sleep_ms(0);
    clock_sleep_ms(-5); /* no-ops, must return at once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_iso_known_epochs),
        cmocka_unit_test(test_fmt_iso_negative),
        cmocka_unit_test(test_fmt_iso_shape_of_now),
        cmocka_unit_test(test_now_and_mono),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

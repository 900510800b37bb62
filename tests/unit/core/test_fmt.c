/*
 * Tests src/core/fmt.c: thousands separators, rounding, negatives, truncation.
 */
#include "core/fmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

static void money(void **state)
{
    (void)state;
    char b[64];
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {999, "999"},
        {1000, "1,000"},
        {43666.67, "43,667"},
        {1234567, "1,234,567"},
        {-1234.4, "-1,234"},
        {-0.4, "0"},
        {999999.5, "1,000,000"},
        {1e15, "1,000,000,000,000,000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmt_money(cases[i].v, b, sizeof b);
        if (strcmp(b, cases[i].want))
            fail_msg("fmt_money(%.17g) = \"%s\", want \"%s\"", cases[i].v, b, cases[i].want);
    }
    char small[4];
    assert_string_equal(fmt_money(123456, small, sizeof small), "12"); /* truncated, terminated */
    char one[1];
    assert_string_equal(fmt_money(5, one, sizeof one), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(money)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

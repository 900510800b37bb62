/* Tests src/core/buf.c: appends, printf, the cap, JSON escaping, detach and release. */
#include "../unit.h"

#include "core/buf.h"
#include "core/err.h"

#include <jansson.h>

static void test_init_is_empty(void **state)
{
    struct buf b;
    buf_init(&b, 16);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 16);
    assert_string_equal(buf_str(&b), "");
    buf_release(&b); /* releasing an unused buffer is fine */
    assert_null(b.data);
    assert_int_equal(b.cap, 16);
}

static void test_appends(void **state)
{
    struct buf b;
    buf_init(&b, BUF_CAP_SMALL);
    assert_int_equal(buf_adds(&b, "hello"), AEG_OK);
    assert_int_equal(buf_addc(&b, ' '), AEG_OK);
    assert_int_equal(buf_add(&b, "world!!!", 5), AEG_OK);
    assert_int_equal(buf_add(&b, NULL, 0), AEG_OK);
    assert_int_equal(b.len, 11);
    assert_string_equal(buf_str(&b), "hello world");
    assert_int_equal(b.data[b.len], '\0');

    /* Growth past the first allocation keeps the contents. */
    for (int i = 0; i < 200; i++)
        assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), AEG_OK);
    assert_int_equal(b.len, 211);
    assert_memory_equal(b.data, "hello worldabc", 14);
    assert_int_equal(b.data[210], (char)('a' + 199 % 26));
    assert_int_equal(strlen(buf_str(&b)), 211);

    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_adds(&b, "again"), AEG_OK);
    assert_string_equal(buf_str(&b), "again");
    buf_release(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_printf(void **state)
{
    struct buf b;
    buf_init(&b, BUF_CAP_SMALL);
    assert_int_equal(buf_printf(&b, "%s=%d", "x", 42), AEG_OK);
    assert_int_equal(buf_printf(&b, ",%05.1f,%c", 3.14159, 'z'), AEG_OK);
    assert_string_equal(buf_str(&b), "x=42,003.1,z");
    assert_int_equal(b.len, strlen("x=42,003.1,z"));
    assert_int_equal(buf_printf(&b, "%s", ""), AEG_OK);
    assert_int_equal(b.len, strlen("x=42,003.1,z"));

    /* A long formatted string (bigger than the first allocation). */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(buf_printf(&b, "[%s]", big), AEG_OK);
    assert_int_equal(b.len, strlen("x=42,003.1,z") + 1001);
    assert_int_equal(b.data[b.len - 1], ']');
    buf_release(&b);
}

static void test_cap_enforced_and_buffer_unchanged(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_adds(&b, "12345"), AEG_OK);
    assert_int_equal(buf_adds(&b, "123456"), AEG_ETOOLARGE);
    assert_int_equal(b.len, 5);
    assert_string_equal(buf_str(&b), "12345");

    assert_int_equal(buf_printf(&b, "%d", 123456), AEG_ETOOLARGE);
    assert_int_equal(b.len, 5);
    assert_string_equal(buf_str(&b), "12345");

    /* Exactly up to the cap is allowed; one byte more is not. */
    assert_int_equal(buf_adds(&b, "67890"), AEG_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal(buf_str(&b), "1234567890");
    assert_int_equal(buf_addc(&b, 'x'), AEG_ETOOLARGE);
    assert_int_equal(buf_printf(&b, "x"), AEG_ETOOLARGE);
    assert_int_equal(buf_add(&b, "", 0), AEG_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal(buf_str(&b), "1234567890");
    assert_true(b.alloc <= b.cap + 1);

    /* A huge length cannot overflow the check. */
    assert_int_equal(buf_add(&b, "x", (size_t)-1), AEG_ETOOLARGE);
    assert_int_equal(b.len, 10);
    buf_release(&b);

    /* A failing first append leaves an empty buffer. */
    buf_init(&b, 3);
    assert_int_equal(buf_adds(&b, "abcd"), AEG_ETOOLARGE);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
}

static void test_json_escaping(void **state)
{
    struct buf b;
    buf_init(&b, BUF_CAP_SMALL);
    assert_int_equal(buf_add_json_str(&b, "say \"hi\"\\ now"), AEG_OK);
    assert_string_equal(buf_str(&b), "say \\\"hi\\\"\\\\ now");
    buf_reset(&b);

    assert_int_equal(buf_add_json_str(&b, "a\nb\rc\td"), AEG_OK);
    assert_string_equal(buf_str(&b), "a\\nb\\rc\\td");
    buf_reset(&b);

    assert_int_equal(buf_add_json_str(&b, "\x01\x1f\x08\x0c"
                                          "end"),
                     AEG_OK);
    assert_string_equal(buf_str(&b), "\\u0001\\u001f\\u0008\\u000cend");
    buf_reset(&b);

    /* UTF-8 and DEL pass through unchanged. */
    assert_int_equal(buf_add_json_str(&b, "caf\xc3\xa9 \x7f"), AEG_OK);
    assert_string_equal(buf_str(&b), "caf\xc3\xa9 \x7f");
    buf_reset(&b);

    assert_int_equal(buf_add_json_str(&b, ""), AEG_OK);
    assert_string_equal(buf_str(&b), "");

    /* The escaped text round-trips through a JSON parser. */
    const char *nasty = "q\"b\\s\nn\x01"
                        "c</script>";
    buf_adds(&b, "[\"");
    assert_int_equal(buf_add_json_str(&b, nasty), AEG_OK);
    buf_adds(&b, "\"]");
    json_error_t e;
    json_t *j = json_loads(buf_str(&b), 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_array_get(j, 0)), nasty);
    json_decref(j);
    buf_release(&b);
}

static void test_json_escaping_respects_cap(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "ab"), AEG_OK);
    /* 4 quotes escape to 8 bytes: too many; the partial escape is rolled back. */
    assert_int_equal(buf_add_json_str(&b, "\"\"\"\""), AEG_ETOOLARGE);
    assert_int_equal(b.len, 2);
    assert_string_equal(buf_str(&b), "ab");
    assert_int_equal(buf_add_json_str(&b, "\x01"), AEG_OK); /* 6 bytes: fits */
    assert_string_equal(buf_str(&b), "ab\\u0001");
    buf_release(&b);
}

static void test_detach(void **state)
{
    struct buf b;
    buf_init(&b, BUF_CAP_SMALL);
    buf_adds(&b, "owned");
    size_t n = 0;
    char *s = buf_detach(&b, &n);
    assert_string_equal(s, "owned");
    assert_int_equal(n, 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, BUF_CAP_SMALL);
    free(s);

    /* Detaching an empty buffer still gives a string the caller can free. */
    s = buf_detach(&b, NULL);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);

    /* The buffer is usable after detach. */
    assert_int_equal(buf_adds(&b, "more"), AEG_OK);
    assert_string_equal(buf_str(&b), "more");
    buf_release(&b);
    assert_int_equal(b.cap, BUF_CAP_SMALL);
    assert_int_equal(buf_adds(&b, "after release"), AEG_OK);
    assert_string_equal(buf_str(&b), "after release");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_empty),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_cap_enforced_and_buffer_unchanged),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_escaping_respects_cap),
        cmocka_unit_test(test_detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

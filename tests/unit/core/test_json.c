/* Tests src/core/json.c: strict parsing with positions, and json_str. */
#include "../unit.h"

#include "core/err.h"
#include "core/json.h"

static int parse(const char *text, json_t **out, char *detail, size_t dn)
{
    return json_parse(text, strlen(text), out, detail, dn);
}

static void test_parse_ok(void **state)
{
    json_t *j = (json_t *)0x1;
    char detail[256] = "untouched";
    const char *text = "{\"a\": 1, \"b\": [true, null, \"x\"], \"c\": {\"d\": 2.5}}";
    assert_int_equal(parse(text, &j, detail, sizeof detail), AEG_OK);
    assert_non_null(j);
    assert_true(json_is_object(j));
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "b")), 3);
    assert_true(json_real_value(json_object_get(json_object_get(j, "c"), "d")) == 2.5);
    json_decref(j);

    assert_int_equal(parse("[]", &j, NULL, 0), AEG_OK);
    assert_true(json_is_array(j));
    json_decref(j);

    /* Only n bytes are read: the rest of the buffer is not part of the document. */
    const char *two = "{\"k\":\"v\"}garbage";
    assert_int_equal(json_parse(two, 9, &j, detail, sizeof detail), AEG_OK);
    assert_string_equal(json_str(j, "k", NULL), "v");
    json_decref(j);
}

static void test_parse_error_position(void **state)
{
    json_t *j = (json_t *)0x1;
    char detail[256] = "";
    /* line 2, the bad token starts at column 8 */
    assert_int_equal(parse("{\"a\": 1,\n  \"b\": nope}", &j, detail, sizeof detail), AEG_EJSON);
    assert_null(j);
    assert_non_null(strstr(detail, "malformed JSON at line 2, column "));
    assert_non_null(strstr(detail, "(byte "));
    assert_non_null(strstr(detail, "): "));
    int line = 0, col = 0, byte = 0;
    assert_int_equal(
        sscanf(detail, "malformed JSON at line %d, column %d (byte %d)", &line, &col, &byte), 3);
    assert_int_equal(line, 2);
    assert_true(col >= 8 && col <= 12);
    assert_true(byte >= 15 && byte <= 20);

    /* Truncated document. */
    j = (json_t *)0x1;
    detail[0] = '\0';
    assert_int_equal(parse("{\"a\": [1, 2", &j, detail, sizeof detail), AEG_EJSON);
    assert_null(j);
    assert_non_null(strstr(detail, "line 1"));

    /* Empty input. */
    assert_int_equal(parse("", &j, detail, sizeof detail), AEG_EJSON);
    assert_null(j);
    assert_non_null(strstr(detail, "malformed JSON at line"));

    /* A NULL or zero-length detail buffer is fine. */
    assert_int_equal(parse("{", &j, NULL, 0), AEG_EJSON);
    assert_null(j);
}

static void test_duplicate_keys_rejected(void **state)
{
    json_t *j = NULL;
    char detail[256] = "";
    assert_int_equal(parse("{\"a\": 1, \"a\": 2}", &j, detail, sizeof detail), AEG_EJSON);
    assert_null(j);
    assert_non_null(strstr(detail, "malformed JSON at line 1"));
    assert_non_null(strstr(detail, "duplicate"));

    /* also nested */
    assert_int_equal(parse("{\"o\": {\"x\": 1, \"x\": 1}}", &j, detail, sizeof detail), AEG_EJSON);
    assert_null(j);
}

static void test_one_document_only(void **state)
{
    json_t *j = NULL;
    char detail[256] = "";
    assert_int_equal(parse("{} {}", &j, detail, sizeof detail), AEG_EJSON);
    assert_null(j);
    assert_int_equal(parse("{}x", &j, detail, sizeof detail), AEG_EJSON);
    assert_null(j);
    assert_int_equal(parse("  {}  \n", &j, detail, sizeof detail), AEG_OK); /* whitespace is fine */
    json_decref(j);
}

static void test_json_str(void **state)
{
    json_t *o = json_pack("{s:s,s:i}", "name", "aegis", "n", 3);
    assert_string_equal(json_str(o, "name", "d"), "aegis");
    assert_string_equal(json_str(o, "n", "d"), "d");       /* not a string */
    assert_string_equal(json_str(o, "missing", "d"), "d"); /* absent */
    assert_null(json_str(o, "missing", NULL));
    json_decref(o);
    json_t *arr = json_array();
    assert_string_equal(json_str(arr, "x", "d"), "d"); /* not an object */
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_error_position),
        cmocka_unit_test(test_duplicate_keys_rejected),
        cmocka_unit_test(test_one_document_only),
        cmocka_unit_test(test_json_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

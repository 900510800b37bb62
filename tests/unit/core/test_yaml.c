/*
 * Tests src/core/yaml.c: core-schema scalars, structures, duplicate keys, syntax errors with their
 * positions, anchors and the alias-bomb and depth guards, documents, bad bytes, files and the
 * location table.
 */
#include "../unit.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/yaml.h"

#include <math.h>
#include <stdint.h>

/* ---- helpers --------------------------------------------------------------------------------- */

static json_t *ok(const char *text)
{
    json_t *j = (json_t *)0x1;
    char err[512] = "";
    int rc = yaml_parse(text, strlen(text), &j, err, sizeof err);
    if (rc != AEG_OK)
        fail_msg("unexpected error for \"%s\": %s", text, err);
    assert_non_null(j);
    return j;
}

/* The value of key k of the one-key document "k: <text>". */
static json_t *value_of(const char *yaml)
{
    json_t *doc = ok(yaml);
    assert_true(json_is_object(doc));
    assert_int_equal(json_object_size(doc), 1);
    json_t *v = json_incref(json_object_iter_value(json_object_iter(doc)));
    json_decref(doc);
    return v;
}

/* Every error must read "line L, column C: reason" with L, C >= 1 and a reason. */
static void check_message(const char *err, int *line, int *col)
{
    int l = 0, c = 0, used = 0;
    if (sscanf(err, "line %d, column %d: %n", &l, &c, &used) != 2 || used == 0)
        fail_msg("error without line and column: \"%s\"", err);
    assert_true(l >= 1);
    assert_true(c >= 1);
    assert_true(strlen(err + used) > 0);
    if (line)
        *line = l;
    if (col)
        *col = c;
}

/* Parses n bytes that must fail; checks the position (0: not checked) and that the message contains
 * what (NULL: not checked). */
static void bad_n(const char *text, size_t n, int line, int col, const char *what)
{
    json_t *j = (json_t *)0x1;
    char err[512] = "";
    int rc = yaml_parse(text, n, &j, err, sizeof err);
    if (rc != AEG_EINVAL)
        fail_msg("expected an error for \"%s\", got rc %d", text, rc);
    assert_null(j);
    int l, c;
    check_message(err, &l, &c);
    if ((line && l != line) || (col && c != col))
        fail_msg("\"%s\": expected line %d, column %d; got \"%s\"", text, line, col, err);
    if (what && !strstr(err, what))
        fail_msg("\"%s\": expected \"%s\" in \"%s\"", text, what, err);
}

static void bad(const char *text, int line, int col, const char *what)
{
    bad_n(text, strlen(text), line, col, what);
}

static void is_int(const char *yaml, json_int_t want)
{
    json_t *v = value_of(yaml);
    if (!json_is_integer(v) || json_integer_value(v) != want)
        fail_msg("\"%s\": expected integer %lld", yaml, (long long)want);
    json_decref(v);
}

static void is_real(const char *yaml, double want)
{
    json_t *v = value_of(yaml);
    if (!json_is_real(v) || json_real_value(v) != want)
        fail_msg("\"%s\": expected real %.17g", yaml, want);
    json_decref(v);
}

static void is_str(const char *yaml, const char *want)
{
    json_t *v = value_of(yaml);
    if (!json_is_string(v) || strcmp(json_string_value(v), want))
        fail_msg("\"%s\": expected string \"%s\"", yaml, want);
    json_decref(v);
}

static void is_type(const char *yaml, json_type want)
{
    json_t *v = value_of(yaml);
    if (json_typeof(v) != want)
        fail_msg("\"%s\": expected jansson type %d, got %d", yaml, (int)want, (int)json_typeof(v));
    json_decref(v);
}

/* ---- scalars --------------------------------------------------------------------------------- */

static void test_null_and_bool(void **state)
{
    const char *nulls[] = {"k: ~", "k: null", "k: Null", "k: NULL", "k:", "k: \n", "{k: }"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        is_type(nulls[i], JSON_NULL);
    const char *trues[] = {"k: true", "k: True", "k: TRUE"};
    for (size_t i = 0; i < sizeof trues / sizeof *trues; i++)
        is_type(trues[i], JSON_TRUE);
    const char *falses[] = {"k: false", "k: False", "k: FALSE"};
    for (size_t i = 0; i < sizeof falses / sizeof *falses; i++)
        is_type(falses[i], JSON_FALSE);
    /* YAML 1.1 spellings are plain strings under the 1.2 core schema. */
    is_str("k: yes", "yes");
    is_str("k: No", "No");
    is_str("k: on", "on");
    is_str("k: OFF", "OFF");
    is_str("k: tRUE", "tRUE");
    is_str("k: nULL", "nULL");
    is_str("k: ~~", "~~");
}

static void test_integers(void **state)
{
    is_int("k: 0", 0);
    is_int("k: 42", 42);
    is_int("k: -17", -17);
    is_int("k: +12", 12);
    is_int("k: 007", 7); /* core schema: decimal, not octal */
    is_int("k: 0x1F", 31);
    is_int("k: 0xff", 255);
    is_int("k: -0x10", -16);
    is_int("k: 0o17", 15);
    is_int("k: +0o7", 7);
    is_int("k: 9223372036854775807", INT64_MAX);
    is_int("k: -9223372036854775808", INT64_MIN);
    is_int("k: 0x7FFFFFFFFFFFFFFF", INT64_MAX);
    is_int("k: -0x8000000000000000", INT64_MIN);
    /* Past int64: a real. */
    is_real("k: 9223372036854775808", 9223372036854775808.0);
    is_real("k: -9223372036854775809", -9223372036854775809.0);
    is_real("k: 18446744073709551616", 18446744073709551616.0);
    is_real("k: 0x8000000000000000", 9223372036854775808.0);
    is_real("k: 0x10000000000000000", 18446744073709551616.0);
    /* Not integers. */
    is_str("k: 1_000", "1_000");
    is_str("k: 0b101", "0b101");
    is_str("k: 0x", "0x");
    is_str("k: 0xG1", "0xG1");
    is_str("k: 0o8", "0o8");
    is_str("k: 0X1F", "0X1F");
    is_str("k: -x", "-x");
    is_str("k: +", "+");
    is_str("k: +-1", "+-1");
    is_str("k: 12abc", "12abc");
    is_str("k: 1 2", "1 2");
    is_str("k: 1,000", "1,000");
}

static void test_floats(void **state)
{
    is_real("k: 1.5", 1.5);
    is_real("k: -1.5", -1.5);
    is_real("k: 1e6", 1e6);
    is_real("k: 1E+6", 1e6);
    is_real("k: .5", 0.5);
    is_real("k: +.5", 0.5);
    is_real("k: -2.5E-3", -2.5e-3);
    is_real("k: 1.", 1.0);
    is_real("k: 0.0", 0.0);
    is_real("k: 3.14159", 3.14159);
    is_real("k: 1e-400", 0.0); /* underflow is just zero */
    is_str("k: .", ".");
    is_str("k: 1e", "1e");
    is_str("k: e5", "e5");
    is_str("k: .e5", ".e5");
    is_str("k: 1.2.3", "1.2.3");
    is_str("k: 1.5x", "1.5x");
    is_str("k: inf", "inf");
    is_str("k: nan", "nan");
    is_str("k: infinity", "infinity");
    is_str("k: 0x1p3", "0x1p3");
}

static void test_nonfinite_refused(void **state)
{
    /* JSON cannot hold infinities or NaN: an error, never a silent string or a crash. */
    bad("k: .inf", 1, 4, "\".inf\" cannot be represented in JSON");
    bad("k: -.Inf", 1, 4, "cannot be represented in JSON");
    bad("k: +.INF", 1, 4, "cannot be represented in JSON");
    bad("a: 1\nk: [1, .nan]", 2, 8, "\".nan\" cannot be represented in JSON");
    bad("k: .NaN", 1, 4, NULL);
    bad("k: 1e999", 1, 4, "\"1e999\" is out of the range JSON numbers can hold");
    bad("k: -1.5e400", 1, 4, "out of the range");
    /* Quoted, they are strings like any other. */
    is_str("k: '.inf'", ".inf");
    is_str("k: \".nan\"", ".nan");
    is_str("k: !!str .inf", ".inf");
}

static void test_strings_quoted_tagged_and_block(void **state)
{
    is_str("k: hello world", "hello world");
    is_str("k: 'true'", "true");
    is_str("k: \"1\"", "1");
    is_str("k: ''", "");
    is_str("k: \"\"", "");
    is_str("k: 'null'", "null");
    is_str("k: \"0x10\"", "0x10");
    is_str("k: 'it''s'", "it's");
    is_str("k: \"tab\\there\\n\"", "tab\there\n");
    is_str("k: \"\\u00e9\\x41\"", "\303\251A");
    is_str("k: caf\xc3\xa9", "caf\xc3\xa9");
    /* !!str and the non-specific ! force a string; other tags are ignored. */
    is_str("k: !!str 12", "12");
    is_str("k: !!str true", "true");
    is_str("k: !!str", "");
    is_str("k: ! 12", "12");
    is_str("k: !<tag:yaml.org,2002:str> 1.5", "1.5");
    is_str("k: !!int '5'", "5");
    is_int("k: !custom 5", 5);
    is_type("k: !!str [1]", JSON_ARRAY);
    /* Block scalars are strings. */
    is_str("k: |\n  123\n", "123\n");
    is_str("k: |-\n  true\n", "true");
    is_str("k: >\n  a\n  b\n", "a b\n");
    is_str("k: |\n  line 1\n  line 2\n", "line 1\nline 2\n");
    /* Plain scalars fold over lines and may hold ': ' free colons and '#' inside words. */
    is_str("k: a\n  b\n", "a b");
    is_str("k: http://x.y/z#frag", "http://x.y/z#frag");
    is_str("k: value # a comment", "value");
    /* A double-quoted \0 is a real NUL inside a value (jansson keeps the length). */
    json_t *v = value_of("k: \"a\\0b\"");
    assert_int_equal(json_string_length(v), 3);
    assert_memory_equal(json_string_value(v), "a\0b", 3);
    json_decref(v);
}

/* ---- structures ------------------------------------------------------------------------------ */

static void test_nested_structures(void **state)
{
    json_t *doc = ok("name: demo\n"
                     "version: 2\n"
                     "assets:\n"
                     "  - id: db\n"
                     "    value: 1.5e6\n"
                     "    tags: [pii, \"prod\", 3]\n"
                     "  - id: web\n"
                     "    exposure: {internet: true, ports: [80, 443]}\n"
                     "empty_map: {}\n"
                     "empty_seq: []\n"
                     "matrix:\n"
                     "- - 1\n"
                     "  - 2\n"
                     "- [3, 4]\n"
                     "\"quoted key\": x\n"
                     "1: one\n"
                     "true: yes\n"
                     "null: n\n"
                     "? explicit\n"
                     ": key\n");
    json_t *want = json_loads(
        "{\"name\":\"demo\",\"version\":2,"
        "\"assets\":[{\"id\":\"db\",\"value\":1500000.0,\"tags\":[\"pii\",\"prod\",3]},"
        "{\"id\":\"web\",\"exposure\":{\"internet\":true,\"ports\":[80,443]}}],"
        "\"empty_map\":{},\"empty_seq\":[],\"matrix\":[[1,2],[3,4]],\"quoted key\":\"x\","
        "\"1\":\"one\",\"true\":\"yes\",\"null\":\"n\",\"explicit\":\"key\"}",
        0, NULL);
    assert_non_null(want);
    assert_true(json_equal(doc, want));
    /* Mapping order is kept. */
    assert_string_equal(json_object_iter_key(json_object_iter(doc)), "name");
    json_decref(want);
    json_decref(doc);

    /* A document may be a bare scalar or sequence. */
    doc = ok("- a\n- 1\n- [x]\n");
    assert_int_equal(json_array_size(doc), 3);
    json_decref(doc);
    doc = ok("just text");
    assert_string_equal(json_string_value(doc), "just text");
    json_decref(doc);
    doc = ok("42\n");
    assert_int_equal(json_integer_value(doc), 42);
    json_decref(doc);
}

static void test_duplicate_keys(void **state)
{
    bad("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key \"a\" (first at line 1, column 1)");
    bad("top:\n  x: 1\n  y: 2\n  y: 3\n", 4, 3, "duplicate key \"y\" (first at line 3, column 3)");
    bad("{a: 1, b: 2, a: 3}", 1, 14, "duplicate key \"a\"");
    bad("- {k: 1}\n- {k: 1, k: 2}\n", 2, 10, "duplicate key \"k\" (first at line 2, column 4)");
    /* Keys are their text: 1 and "1" are the same key. */
    bad("1: a\n\"1\": b\n", 2, 1, "duplicate key \"1\"");
    /* An alias to a scalar is that scalar's text as a key. */
    bad("&k name: a\n*k : b\n", 2, 1, "duplicate key \"name\"");
    /* Key text is quoted and escaped in the message. */
    bad("\"a\\nb\": 1\n\"a\\nb\": 2\n", 2, 1, "duplicate key \"a\\nb\"");
    /* Different case is a different key. */
    json_t *doc = ok("a: 1\nA: 2\n");
    assert_int_equal(json_object_size(doc), 2);
    json_decref(doc);
}

static void test_bad_keys(void **state)
{
    bad("? [a, b]\n: 1\n", 1, 3, "mapping keys must be scalars, not sequences");
    bad("{[a]: 1}", 1, 2, "mapping keys must be scalars");
    bad("? {a: 1}\n: 1\n", 1, 3, "not mappings");
    bad("base: &b {x: 1}\n*b : 2\n", 2, 1, "alias *b cannot be a mapping key");
    bad("\"a\\0b\": 1\n", 1, 1, "mapping keys cannot contain NUL characters");
    /* Merge keys are YAML 1.1; refused rather than kept as a surprising "<<" key. */
    bad("base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n", 3, 3, "merge keys (<<) are not supported");
    json_t *doc = ok("\"<<\": 1\n");
    assert_int_equal(json_integer_value(json_object_get(doc, "<<")), 1);
    json_decref(doc);
}

/* ---- syntax errors and their positions ------------------------------------------------------- */

static void test_bad_indentation(void **state)
{
    /* A dedent that matches no enclosing level: line 3. */
    bad("a:\n  b: 1\n c: 2\n", 3, 2, "did not find expected key");
    /* A deeper indent after a scalar value: line 3, at the colon. */
    bad("a:\n  b: 1\n    c: 2\n", 3, 6, "mapping values are not allowed in this context");
    bad("key: value\n  bad: 3\n", 2, 6, "mapping values are not allowed");
    bad("list:\n  - a\n - b\n", 3, 2, NULL);
    /* Columns count characters, not bytes. */
    bad("\xc3\xa9t\xc3\xa9: x\n  \xc3\xa9: y\n", 2, 4, "mapping values are not allowed");
}

static void test_tabs(void **state)
{
    bad("a:\n\tb: 1\n", 2, 1, "tab");
    bad("a:\n  b: 1\n\tc: 2\n", 3, 1, "tab");
    bad("- a\n\t- b\n", 2, 1, "tab");
    /* Tabs are fine as separators and inside values. */
    json_t *doc = ok("a:\tx\nb: \"1\t2\"\nc: [1,\t2]\n");
    assert_string_equal(json_string_value(json_object_get(doc, "a")), "x");
    assert_string_equal(json_string_value(json_object_get(doc, "b")), "1\t2");
    assert_int_equal(json_array_size(json_object_get(doc, "c")), 2);
    json_decref(doc);
}

static void test_unterminated_and_unbalanced(void **state)
{
    /* The error is where the input ended; the message says where the quote started. */
    bad("a: 1\nb: \"abc\nc: 2\n", 4, 1,
        "found unexpected end of stream (while scanning a quoted scalar started at line 2, "
        "column 4)");
    bad("a: 'abc", 1, 8, "while scanning a quoted scalar started at line 1, column 4");
    bad("a: [1, 2\n", 2, 1, "did not find expected ',' or ']'");
    bad("a: {x: 1\n", 2, 1, NULL);
    bad("a: [1, 2]]\n", 1, 10, NULL);
    bad("a: \"bad \\q escape\"\n", 1, 9, "unknown escape character");
    bad("a: \"\\ud800\"\n", 1, 7, "invalid Unicode character escape");
    bad("a: b: c\n", 1, 5, "mapping values are not allowed");
    bad("- a\nb: 1\n", 2, 1, NULL);
    bad("a: *\n", 1, 5, "while scanning an alias started at line 1, column 4");
    bad("a: &\n", 1, 5, "while scanning an anchor started at line 1, column 4");
    bad("%YAML 2.0\n---\na: 1\n", 1, 1, "incompatible YAML document");
    bad("a: !e!x 1\n", 1, 4, "found undefined tag handle");
}

/* ---- anchors, aliases and the guards --------------------------------------------------------- */

static void test_anchors_and_aliases(void **state)
{
    json_t *doc = ok("defaults: &d {retries: 3, hosts: [a, b]}\n"
                     "one: *d\n"
                     "two: [*d, *d]\n"
                     "n: &n 5\n"
                     "m: *n\n"
                     "s: &s 'text'\n"
                     "t: *s\n");
    json_t *d = json_object_get(doc, "defaults"), *one = json_object_get(doc, "one");
    assert_true(json_equal(d, one));
    assert_ptr_not_equal(d, one); /* copies, so changing one leaves the other alone */
    assert_ptr_not_equal(json_object_get(d, "hosts"), json_object_get(one, "hosts"));
    json_object_set_new(one, "retries", json_integer(9));
    assert_int_equal(json_integer_value(json_object_get(d, "retries")), 3);
    json_t *two = json_object_get(doc, "two");
    assert_true(json_equal(json_array_get(two, 0), d));
    assert_ptr_not_equal(json_array_get(two, 0), json_array_get(two, 1));
    assert_int_equal(json_integer_value(json_object_get(doc, "m")), 5);
    assert_string_equal(json_string_value(json_object_get(doc, "t")), "text");
    json_decref(doc);

    /* An anchor may be redefined; an alias takes the latest one. */
    doc = ok("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
    assert_int_equal(json_integer_value(json_object_get(doc, "b")), 1);
    assert_int_equal(json_integer_value(json_object_get(doc, "d")), 2);
    json_decref(doc);

    /* An anchored key, later used as a value and as a key. */
    doc = ok("&k 10: a\nv: *k\nm: {*k : b}\n");
    assert_string_equal(json_string_value(json_object_get(doc, "10")), "a");
    assert_int_equal(json_integer_value(json_object_get(doc, "v")), 10);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "m"), "10")), "b");
    json_decref(doc);

    bad("a: *missing\n", 1, 4, "alias *missing refers to no anchor defined before it");
    bad("a: *later\nb: &later 1\n", 1, 4, "alias *later refers to no anchor");
    /* A node cannot contain an alias to itself. */
    bad("a: &r [1, *r]\n", 1, 11, "alias *r refers to no anchor");
}

static void test_alias_bomb_refused(void **state)
{
    /* "Billion laughs": 9^9 strings from a few hundred bytes. Refused once the expanded size would
     * pass the cap, long before it is built. */
    const char *bomb =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    bad(bomb, 7, 8, "more than 1000000 values once aliases are expanded");

    /* The same shape within the cap is fine (a: 10 values ... d: 7381). */
    json_t *doc = ok("a: &a [x,x,x,x,x,x,x,x,x]\n"
                     "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n");
    assert_int_equal(
        json_array_size(json_array_get(json_array_get(json_object_get(doc, "d"), 8), 8)), 9);
    json_decref(doc);

    /* A wide, flat bomb: one big sequence aliased many times. */
    struct buf b;
    buf_init(&b, BUF_CAP_DOC);
    assert_int_equal(buf_adds(&b, "big: &big ["), AEG_OK);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(buf_adds(&b, i ? ",1" : "1"), AEG_OK);
    assert_int_equal(buf_adds(&b, "]\ncopies:\n"), AEG_OK);
    for (int i = 0; i < 20; i++)
        assert_int_equal(buf_adds(&b, "- *big\n"), AEG_OK);
    bad_n(b.data, b.len, 11, 3, "once aliases are expanded"); /* the 9th copy passes 1000000 */
    buf_release(&b);
}

/* Appends levels '[', inner, levels ']'. */
static void nested(struct buf *b, int levels, const char *inner)
{
    for (int i = 0; i < levels; i++)
        assert_int_equal(buf_addc(b, '['), AEG_OK);
    assert_int_equal(buf_adds(b, inner), AEG_OK);
    for (int i = 0; i < levels; i++)
        assert_int_equal(buf_addc(b, ']'), AEG_OK);
}

static void test_depth_guard(void **state)
{
    struct buf b;
    buf_init(&b, BUF_CAP_LINE);
    nested(&b, YAML_MAX_DEPTH, "1");
    json_t *doc = ok(b.data);
    json_decref(doc);
    buf_reset(&b);
    nested(&b, YAML_MAX_DEPTH + 1, "1");
    bad(b.data, 1, YAML_MAX_DEPTH + 1, "collections are nested deeper than 256 levels");
    /* Unclosed, very deep: refused at the limit, before the input ends. */
    buf_reset(&b);
    for (int i = 0; i < 50000; i++)
        assert_int_equal(buf_addc(&b, '['), AEG_OK);
    bad(b.data, 1, YAML_MAX_DEPTH + 1, "deeper than 256");
    /* Block style counts the same. */
    buf_reset(&b);
    for (int i = 0; i <= YAML_MAX_DEPTH; i++) {
        for (int k = 0; k < i; k++)
            assert_int_equal(buf_adds(&b, " "), AEG_OK);
        assert_int_equal(buf_adds(&b, "k:\n"), AEG_OK);
    }
    bad(b.data, YAML_MAX_DEPTH + 1, 0, "deeper than 256");
    /* An alias cannot smuggle depth in: 100 levels copied under 161 (the mapping and 160 '['). */
    buf_reset(&b);
    assert_int_equal(buf_adds(&b, "a: &deep "), AEG_OK);
    nested(&b, 100, "1");
    assert_int_equal(buf_adds(&b, "\nb: "), AEG_OK);
    nested(&b, 155, "*deep");
    doc = ok(b.data); /* 1 + 155 + 100 = 256 */
    json_decref(doc);
    buf_reset(&b);
    assert_int_equal(buf_adds(&b, "a: &deep "), AEG_OK);
    nested(&b, 100, "1");
    assert_int_equal(buf_adds(&b, "\nb: "), AEG_OK);
    nested(&b, 160, "*deep");
    bad(b.data, 2, 164, "alias *deep would nest collections deeper than 256 levels");
    buf_release(&b);
}

/* ---- documents, input bytes ------------------------------------------------------------------ */

static void test_documents(void **state)
{
    bad("a: 1\n---\nb: 2\n", 2, 1, "a second document starts here; only one is allowed");
    bad("--- 1\n--- 2\n", 2, 1, "only one is allowed");
    bad("a: 1\n...\nb: 2\n", 3, 1, NULL); /* libyaml wants "---" after "..." */
    /* One document with markers is fine. */
    json_t *doc = ok("%YAML 1.2\n---\na: 1\n...\n");
    assert_int_equal(json_integer_value(json_object_get(doc, "a")), 1);
    json_decref(doc);
    doc = ok("--- # comment\n- x\n");
    assert_true(json_is_array(doc));
    json_decref(doc);
}

static void test_empty_input(void **state)
{
    const char *empties[] = {"", "\n\n", "   ", "# only a comment\n", "---\n", "--- ~\n"};
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
        json_t *doc = ok(empties[i]);
        assert_true(json_is_null(doc));
        json_decref(doc);
    }
    json_t *doc = (json_t *)0x1;
    assert_int_equal(yaml_parse(NULL, 0, &doc, NULL, 0), AEG_OK);
    assert_true(json_is_null(doc));
    json_decref(doc);
}

static void test_json_document(void **state)
{
    const char *text =
        "{\n"
        "  \"name\": \"scenario \\\"one\\\"\",\n"
        "  \"n\": -12, \"x\": 1.25e2, \"small\": 1E-3, \"zero\": -0,\n"
        "  \"flags\": [true, false, null],\n"
        "  \"nested\": {\"a\": [], \"b\": {}, \"c\": [{\"d\": \"\\u00e9\\/\\t\"}]},\n"
        "  \"nul\": \"a\\u0000b\",\n"
        "  \"num_string\": \"123\"\n"
        "}\n";
    json_t *doc = ok(text);
    json_t *want = json_loads(text, JSON_ALLOW_NUL, NULL);
    assert_non_null(want);
    assert_true(json_equal(doc, want));
    json_decref(want);
    json_decref(doc);

    /* Compact JSON without spaces after the colons. */
    doc = ok("{\"a\":[1,2,{\"b\":\"c\"}],\"d\":true}");
    assert_int_equal(json_array_size(json_object_get(doc, "a")), 3);
    json_decref(doc);
    /* JSON duplicate keys are refused too. */
    bad("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key \"a\"");
}

static void test_bad_bytes(void **state)
{
    bad_n("a: b\0c\n", 7, 1, 5, "control characters are not allowed");
    bad_n("\0", 1, 1, 1, NULL);
    bad_n("a: 1\nb: x\0", 10, 2, 5, NULL);
    bad("a: \xff\n", 1, 4, "invalid leading UTF-8 octet (byte 0xFF)");
    bad("a: ok\nb: \xc3\x28\n", 2, 5, "UTF-8");
    bad("a: \xc3", 1, 4, "incomplete UTF-8 octet sequence");
    bad("a: \xc0\xaf\n", 1, 4, NULL);       /* overlong '/' */
    bad("a: \xed\xa0\x80\n", 1, 4, NULL);   /* UTF-8-encoded surrogate */
    bad_n("\377\376a\0:\0", 6, 1, 1, NULL); /* UTF-16 is refused, not guessed */
    bad("a: \x01\n", 1, 4, "U+0001");
    bad("\xc3\xa9: x\nb: [1,\n  \xc3\xa9, \x7f]\n", 3, 6, "U+007F");
    /* Positions count CRLF and lone CR line ends once, like libyaml does. */
    bad("a: 1\r\nb: \xff\r\n", 2, 4, "0xFF");
    bad("a: 1\rb: \xff\r\n", 2, 4, "0xFF");
    bad("a: 1\r\n\r\nc:\r\n\tb: 1\r\n", 4, 1, "tab");
    bad("a: 1\r\nb: 2\r\na: 3\r\n", 3, 1, "duplicate key \"a\" (first at line 1, column 1)");
    /* A UTF-8 byte order mark is fine. */
    json_t *doc = ok("\357\273\277a: 1\n");
    assert_int_equal(json_integer_value(json_object_get(doc, "a")), 1);
    json_decref(doc);
    /* Only n bytes are read: what follows is not part of the document. */
    const char *text = "a: 1\nb: 2\n\xff\xff garbage";
    json_t *j = NULL;
    assert_int_equal(yaml_parse(text, 10, &j, NULL, 0), AEG_OK);
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);
}

/* Every prefix and many single-byte corruptions of a realistic document either parse or fail with a
 * positioned message; nothing crashes, leaks or asserts. */
static void test_mutations_never_crash(void **state)
{
    const char *text = "# scenario\n"
                       "name: \"ransomware \\u00e9\"\n"
                       "assets: &assets\n"
                       "  - {id: db, value: 1.5e6, tags: [pii, 'x']}\n"
                       "  - id: web\n"
                       "    note: |\n"
                       "      multi\n"
                       "      line\n"
                       "copy: *assets\n"
                       "p: [0x10, 0o7, .5, ~, true]\n";
    size_t n = strlen(text);
    char *mut = xmalloc(n + 1);
    static const char repl[] = {'\0', '\t', ':', '[',  ']', '{', '}', '"', '\'',       '&',
                                '*',  '!',  '-', '\n', '#', '|', '>', ' ', (char)0xff, (char)0xc3};
    char err[512];
    for (size_t cut = 0; cut <= n; cut++) {
        json_t *j = NULL;
        err[0] = '\0';
        if (yaml_parse(text, cut, &j, err, sizeof err) == AEG_OK)
            json_decref(j);
        else
            check_message(err, NULL, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < sizeof repl; r++) {
            memcpy(mut, text, n);
            mut[i] = repl[r];
            json_t *j = NULL;
            err[0] = '\0';
            if (yaml_parse(mut, n, &j, err, sizeof err) == AEG_OK) {
                assert_non_null(j);
                json_decref(j);
            } else {
                assert_null(j);
                check_message(err, NULL, NULL);
            }
        }
    }
    free(mut);
}

static void test_error_buffer(void **state)
{
    json_t *j = (json_t *)0x1;
    assert_int_equal(yaml_parse("a: [", 4, &j, NULL, 0), AEG_EINVAL); /* no buffer: fine */
    assert_null(j);
    char small[12];
    memset(small, 'x', sizeof small);
    assert_int_equal(yaml_parse("a: [", 4, &j, small, sizeof small), AEG_EINVAL);
    assert_int_equal(strlen(small), sizeof small - 1); /* truncated, terminated */
    assert_memory_equal(small, "line 2, col", 11);
    /* A very long key in a message is cut. */
    struct buf b;
    buf_init(&b, BUF_CAP_LINE);
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 1000; k++)
            assert_int_equal(buf_addc(&b, 'k'), AEG_OK);
        assert_int_equal(buf_adds(&b, ": 1\n"), AEG_OK);
    }
    char err[512];
    assert_int_equal(yaml_parse_locs(b.data, b.len, &j, NULL, err, sizeof err), AEG_EINVAL);
    assert_non_null(strstr(err, "kkk\"... (first at line 1, column 1)"));
    buf_release(&b);
}

/* ---- files ----------------------------------------------------------------------------------- */

static void test_files(void **state)
{
    char dir[512], path[1024], err[1024];
    unit_tmpdir(dir, sizeof dir, "yaml");

    unit_write_file(dir, "scenario.yaml", "name: s1\nloss:\n  min: 1e3\n  max: 0x10\n", path,
                    sizeof path);
    json_t *doc = (json_t *)0x1;
    assert_int_equal(yaml_parse_file(path, &doc, err, sizeof err), AEG_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), "s1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "loss"), "max")), 16);
    json_decref(doc);

    unit_write_file(dir, "scenario.json", "{\"name\": \"s2\", \"n\": [1, 2]}\n", path, sizeof path);
    assert_int_equal(yaml_parse_file(path, &doc, err, sizeof err), AEG_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), "s2");
    json_decref(doc);

    /* A parse error names the file: "path:L:C: reason". */
    unit_write_file(dir, "broken.yaml", "a: 1\nb: [1,\n", path, sizeof path);
    doc = (json_t *)0x1;
    assert_int_equal(yaml_parse_file(path, &doc, err, sizeof err), AEG_EINVAL);
    assert_null(doc);
    char want[1100];
    snprintf(want, sizeof want, "%s:3:1: did not find expected", path);
    assert_memory_equal(err, want, strlen(want));

    /* An empty file is a null document. */
    unit_write_file(dir, "empty.yaml", "", path, sizeof path);
    assert_int_equal(yaml_parse_file(path, &doc, err, sizeof err), AEG_OK);
    assert_true(json_is_null(doc));
    json_decref(doc);

    /* Missing file, directory: AEG_EIO, the message starts with the path. */
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    doc = (json_t *)0x1;
    assert_int_equal(yaml_parse_file(path, &doc, err, sizeof err), AEG_EIO);
    assert_null(doc);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(yaml_parse_file(dir, &doc, err, sizeof err), AEG_EIO);
    assert_null(doc);
    assert_memory_equal(err, dir, strlen(dir));

    /* Larger than the cap: refused without parsing. */
    snprintf(path, sizeof path, "%s/huge.yaml", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    static char line[4096];
    memset(line, '#', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (size_t i = 0; i < YAML_MAX_FILE / sizeof line; i++)
        assert_int_equal(fwrite(line, 1, sizeof line, f), sizeof line);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(yaml_parse_file(path, &doc, err, sizeof err), AEG_OK); /* exactly the cap */
    assert_true(json_is_null(doc));
    f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fputs("#\n", f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    doc = (json_t *)0x1;
    assert_int_equal(yaml_parse_file(path, &doc, err, sizeof err), AEG_EINVAL);
    assert_null(doc);
    snprintf(want, sizeof want, "%s: larger than 16 MiB", path);
    assert_string_equal(err, want);

    unit_rmtree(dir);
}

/* ---- locations ------------------------------------------------------------------------------- */

static void where(const struct yaml_locs *locs, const json_t *v, int line, int col)
{
    int l = 0, c = 0;
    assert_true(yaml_where(locs, v, &l, &c));
    assert_int_equal(l, line);
    assert_int_equal(c, col);
}

static void where_key(const struct yaml_locs *locs, const json_t *obj, const char *key, int line,
                      int col)
{
    int l = 0, c = 0;
    assert_true(yaml_where_key(locs, obj, key, &l, &c));
    assert_int_equal(l, line);
    assert_int_equal(c, col);
}

static void test_locations(void **state)
{
    const char *text = "name: demo\n"           /* 1 */
                       "limits:\n"              /* 2 */
                       "  max: 10\n"            /* 3 */
                       "  enabled: true\n"      /* 4 */
                       "items: [a, {b: 2.5}]\n" /* 5 */
                       "base: &b {x: \"s\"}\n"  /* 6 */
                       "copy:\n"                /* 7 */
                       "  - *b\n";              /* 8 */
    json_t *doc = NULL;
    struct yaml_locs *locs = NULL;
    char err[256];
    assert_int_equal(yaml_parse_locs(text, strlen(text), &doc, &locs, err, sizeof err), AEG_OK);
    assert_non_null(locs);
    assert_null(yaml_locs_path(locs));

    where(locs, doc, 1, 1);
    where(locs, json_object_get(doc, "name"), 1, 7);
    where_key(locs, doc, "name", 1, 1);
    json_t *limits = json_object_get(doc, "limits");
    where(locs, limits, 3, 3);
    where_key(locs, doc, "limits", 2, 1);
    where(locs, json_object_get(limits, "max"), 3, 8);
    where_key(locs, limits, "max", 3, 3);
    /* true is a shared singleton: no place of its own, but its key has one. */
    assert_false(yaml_where(locs, json_object_get(limits, "enabled"), NULL, NULL));
    where_key(locs, limits, "enabled", 4, 3);
    json_t *items = json_object_get(doc, "items");
    where(locs, items, 5, 8);
    where(locs, json_array_get(items, 0), 5, 9);
    where(locs, json_array_get(items, 1), 5, 12);
    where_key(locs, json_array_get(items, 1), "b", 5, 13);
    where(locs, json_object_get(json_array_get(items, 1), "b"), 5, 16);
    /* An alias copy sits at the alias; its insides where they were written. */
    json_t *copy = json_array_get(json_object_get(doc, "copy"), 0);
    where(locs, copy, 8, 5);
    where(locs, json_object_get(json_object_get(doc, "base"), "x"), 6, 14);
    where(locs, json_object_get(copy, "x"), 6, 14);
    where_key(locs, copy, "x", 6, 11);
    /* Unknown things. */
    assert_false(yaml_where_key(locs, doc, "absent", NULL, NULL));
    assert_false(yaml_where_key(locs, doc, NULL, NULL, NULL));
    json_t *other = json_object();
    assert_false(yaml_where(locs, other, NULL, NULL));
    json_decref(other);
    assert_false(yaml_where(NULL, doc, NULL, NULL));
    assert_false(yaml_where(locs, NULL, NULL, NULL));

    /* The table keeps the document alive: the caller may drop its reference first. */
    json_decref(doc);
    where(locs, limits, 3, 3);
    yaml_locs_free(locs);
    yaml_locs_free(NULL);

    /* On failure there is no table. */
    locs = (struct yaml_locs *)0x1;
    assert_int_equal(yaml_parse_locs("a: [", 4, &doc, &locs, err, sizeof err), AEG_EINVAL);
    assert_null(locs);
    assert_null(doc);

    /* From a file, the table names it. Many values: the table grows. */
    char dir[512], path[1024];
    unit_tmpdir(dir, sizeof dir, "yaml");
    struct buf b;
    buf_init(&b, BUF_CAP_DOC);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(buf_printf(&b, "k%d: {v: %d}\n", i, i), AEG_OK);
    unit_write_file(dir, "many.yaml", b.data, path, sizeof path);
    buf_release(&b);
    assert_int_equal(yaml_parse_file_locs(path, &doc, &locs, err, sizeof err), AEG_OK);
    assert_string_equal(yaml_locs_path(locs), path);
    where_key(locs, doc, "k2999", 3000, 1);
    where(locs, json_object_get(json_object_get(doc, "k1234"), "v"), 1235, 12);
    yaml_locs_free(locs);
    json_decref(doc);
    unit_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_and_bool),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_nonfinite_refused),
        cmocka_unit_test(test_strings_quoted_tagged_and_block),
        cmocka_unit_test(test_nested_structures),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_bad_indentation),
        cmocka_unit_test(test_tabs),
        cmocka_unit_test(test_unterminated_and_unbalanced),
        cmocka_unit_test(test_anchors_and_aliases),
        cmocka_unit_test(test_alias_bomb_refused),
        cmocka_unit_test(test_depth_guard),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_mutations_never_crash),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_locations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

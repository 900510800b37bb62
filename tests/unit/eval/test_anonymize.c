/*
 * Tests src/eval/tier1/anonymize.c: each operator on known spans (the raw PHI absent from the
 * result, the rest of the text intact), UTF-8 masking by characters, keyed hashing (equal values
 * give equal tokens, another key other tokens, no key refused), overlapping and nested spans,
 * spans out of range or for another field, policy parsing and its errors, and anon_text end to end.
 */
#include "../unit.h"

#include "eval/tier1/anonymize.h"

static void span(struct t1_findings *f, const char *text, const char *what, const char *label)
{
    const char *at = strstr(text, what);
    assert_non_null(at);
    struct t1_finding *x = t1_add(f, T1_FAIL, label);
    x->field = T1_OUTPUT;
    x->start = (size_t)(at - text);
    x->end = x->start + strlen(what);
}

static char *apply(const struct anon_policy *p, const char *text, const struct t1_findings *f)
{
    size_t n = 0;
    char *out = anon_apply(p, "k3y", 3, text, strlen(text), f, T1_OUTPUT, &n);
    assert_non_null(out);
    assert_int_equal(n, strlen(out));
    return out;
}

static const char *TEXT = "Jane Roe, born 03/14/1950, phone 617-555-0123.";

static void fill(struct t1_findings *f)
{
    span(f, TEXT, "Jane Roe", "NAME");
    span(f, TEXT, "03/14/1950", "DATE");
    span(f, TEXT, "617-555-0123", "PHONE");
}

static void no_raw(const char *out)
{
    assert_null(strstr(out, "Jane"));
    assert_null(strstr(out, "Roe"));
    assert_null(strstr(out, "1950"));
    assert_null(strstr(out, "555"));
}

static void test_operators(void **state)
{
    (void)state;
    struct t1_findings f = {0};
    fill(&f);
    struct anon_policy p;
    anon_policy_init(&p, ANON_REPLACE);
    char *o = apply(&p, TEXT, &f);
    assert_string_equal(o, "<NAME>, born <DATE>, phone <PHONE>.");
    free(o);
    anon_policy_init(&p, ANON_REDACT);
    o = apply(&p, TEXT, &f);
    assert_string_equal(o, ", born , phone .");
    free(o);
    anon_policy_init(&p, ANON_MASK);
    o = apply(&p, TEXT, &f);
    assert_string_equal(o, "********, born **********, phone ************.");
    no_raw(o);
    free(o);
    anon_policy_init(&p, ANON_HASH);
    o = apply(&p, TEXT, &f);
    no_raw(o);
    assert_non_null(strstr(o, "<NAME:"));
    assert_non_null(strstr(o, "<DATE:"));
    /* "<NAME:" + 16 hex + ">" */
    const char *h = strstr(o, "<NAME:");
    assert_int_equal(strchr(h, '>') - h, 6 + 16);
    free(o);
    t1_findings_release(&f);
}

static void test_hash_keyed(void **state)
{
    (void)state;
    const char *t = "Jane Roe called. Later Jane Roe called again. Then Ann Lee.";
    struct t1_findings f = {0};
    span(&f, t, "Jane Roe", "NAME");
    span(&f, t, "Ann Lee", "NAME");
    struct t1_finding *x = t1_add(&f, T1_FAIL, "NAME");
    x->field = T1_OUTPUT;
    x->start = (size_t)(strstr(t, "Later Jane") - t) + 6;
    x->end = x->start + 8;
    struct anon_policy p;
    anon_policy_init(&p, ANON_HASH);
    char *a = anon_apply(&p, "key-1", 5, t, strlen(t), &f, T1_OUTPUT, NULL);
    char *b = anon_apply(&p, "key-2", 5, t, strlen(t), &f, T1_OUTPUT, NULL);
    assert_non_null(a);
    assert_non_null(b);
    /* equal values, equal tokens under one key; different under another; different values differ */
    char t1[40], t2[40], t3[40];
    const char *p1 = strstr(a, "<NAME:");
    const char *p2 = strstr(p1 + 1, "<NAME:");
    const char *p3 = strstr(p2 + 1, "<NAME:");
    snprintf(t1, sizeof t1, "%.23s", p1);
    snprintf(t2, sizeof t2, "%.23s", p2);
    snprintf(t3, sizeof t3, "%.23s", p3);
    assert_string_equal(t1, t2);
    assert_string_not_equal(t1, t3);
    assert_null(strstr(b, t1));
    assert_null(strstr(a, "Jane"));
    /* no key: refused, not a guessable digest */
    assert_null(anon_apply(&p, NULL, 0, t, strlen(t), &f, T1_OUTPUT, NULL));
    assert_null(anon_apply(&p, "k", 0, t, strlen(t), &f, T1_OUTPUT, NULL));
    free(a);
    free(b);
    t1_findings_release(&f);
}

static void test_utf8_mask(void **state)
{
    (void)state;
    const char *t = "Patient Zoë Łukasz-Müller 李小龙 ok";
    struct t1_findings f = {0};
    span(&f, t, "Zoë Łukasz-Müller", "NAME");
    span(&f, t, "李小龙", "NAME");
    struct anon_policy p;
    anon_policy_init(&p, ANON_MASK);
    char *o = apply(&p, t, &f);
    /* 17 characters and 3 characters, whatever their byte lengths */
    assert_string_equal(o, "Patient ***************** *** ok");
    free(o);
    t1_findings_release(&f);
}

static void test_overlaps(void **state)
{
    (void)state;
    const char *t = "Call Dr. Ann Lee at 617-555-0123 now.";
    struct t1_findings f = {0};
    span(&f, t, "Ann Lee", "NAME");
    span(&f, t, "Lee", "OTHER_ID"); /* nested */
    span(&f, t, "617-555-0123", "PHONE");
    span(&f, t, "555-0123 now", "ACCOUNT");              /* overlapping the end */
    span(&f, t, "Ann", "DATE");                          /* same start, narrower */
    struct t1_finding *bad = t1_add(&f, T1_FAIL, "SSN"); /* beyond the text */
    bad->field = T1_OUTPUT;
    bad->start = 500;
    bad->end = 510;
    struct t1_finding *other = t1_add(&f, T1_FAIL, "SSN"); /* another field */
    other->field = T1_INPUT;
    other->start = 0;
    other->end = 4;
    struct anon_policy p;
    anon_policy_init(&p, ANON_REPLACE);
    char *o = apply(&p, t, &f);
    assert_string_equal(o, "Call Dr. <NAME> at <PHONE>.");
    free(o);
    anon_policy_init(&p, ANON_MASK);
    o = apply(&p, t, &f);
    assert_string_equal(o, "Call Dr. ******* at ****************.");
    free(o);
    /* an empty list and an empty text */
    struct t1_findings none = {0};
    o = apply(&p, t, &none);
    assert_string_equal(o, t);
    free(o);
    size_t n = 9;
    o = anon_apply(&p, NULL, 0, NULL, 0, NULL, T1_OUTPUT, &n);
    assert_non_null(o);
    assert_int_equal(n, 0);
    assert_string_equal(o, "");
    free(o);
    t1_findings_release(&f);
}

static void test_policy_parse(void **state)
{
    (void)state;
    struct anon_policy p;
    char err[200];
    json_t *d =
        json_loads("{\"default\":\"replace\",\"NAME\":\"hash\",\"DATE\":\"mask\"}", 0, NULL);
    assert_int_equal(anon_policy_parse(d, &p, err, sizeof err), 0);
    assert_int_equal(p.def, ANON_REPLACE);
    assert_int_equal(p.op[PHI_NAME], ANON_HASH);
    assert_int_equal(p.op[PHI_DATE], ANON_MASK);
    assert_int_equal(p.op[PHI_SSN], ANON_REPLACE);
    assert_true(anon_policy_needs_key(&p));
    json_decref(d);
    const struct {
        const char *doc, *needle;
    } bad[] = {
        {"[]", "object"},
        {"{\"default\":\"shred\"}", "default"},
        {"{\"default\":1}", "default"},
        {"{\"PASSPORT\":\"mask\"}", "PASSPORT"},
        {"{\"NAME\":\"blur\"}", "NAME"},
        {"{\"DATE\":null}", "DATE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = json_loads(bad[i].doc, JSON_DECODE_ANY, NULL);
        err[0] = '\0';
        assert_int_equal(anon_policy_parse(b, &p, err, sizeof err), -1);
        if (!strstr(err, bad[i].needle))
            fail_msg("error for %s is \"%s\"", bad[i].doc, err);
        json_decref(b);
    }
    json_t *e = json_object();
    assert_int_equal(anon_policy_parse(e, &p, err, sizeof err), 0);
    assert_int_equal(p.def, ANON_REPLACE);
    assert_false(anon_policy_needs_key(&p));
    json_decref(e);
    assert_int_equal(anon_op_find("redact"), ANON_REDACT);
    assert_int_equal(anon_op_find("nope"), -1);
    assert_string_equal(anon_op_name(ANON_HASH), "hash");
}

static void test_anon_text(void **state)
{
    (void)state;
    char err[128];
    struct phi *c = phi_compile(NULL, err, sizeof err);
    assert_non_null(c);
    const char *t = "Patient John Smith (DOB 03/14/1950), MRN: 4471203, SSN 123-45-6789, email "
                    "jsmith@example.com. Take 500 mg twice daily.";
    json_t *meta = json_loads("{\"patient\":{\"name\":\"John Smith\"}}", 0, NULL);
    const char *ops[] = {"redact", "mask", "hash", "replace"};
    for (int i = 0; i < 4; i++) {
        struct anon_policy p;
        anon_policy_init(&p, (enum anon_op)anon_op_find(ops[i]));
        size_t n;
        char *o = anon_text(c, &p, "secret", 6, t, strlen(t), meta, &n);
        assert_non_null(o);
        const char *raw[] = {"John", "Smith", "03/14/1950", "4471203", "123-45-6789", "jsmith"};
        for (size_t k = 0; k < 6; k++)
            if (strstr(o, raw[k]))
                fail_msg("%s left \"%s\" in: %s", ops[i], raw[k], o);
        assert_non_null(strstr(o, "Take 500 mg twice daily."));
        free(o);
    }
    struct anon_policy p;
    anon_policy_init(&p, ANON_REPLACE);
    char *o = anon_text(c, &p, NULL, 0, t, strlen(t), meta, NULL);
    assert_string_equal(o, "Patient <NAME> (DOB <DATE>), MRN: <MRN>, SSN <SSN>, email <EMAIL>. "
                           "Take 500 mg twice daily.");
    free(o);
    assert_null(anon_text(NULL, &p, NULL, 0, t, strlen(t), meta, NULL));
    json_decref(meta);
    phi_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operators),    cmocka_unit_test(test_hash_keyed),
        cmocka_unit_test(test_utf8_mask),    cmocka_unit_test(test_overlaps),
        cmocka_unit_test(test_policy_parse), cmocka_unit_test(test_anon_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The citations detector: reporters and their years, pin cites, short forms, Id., known lists, and
 * what is not a case citation. */
#include "eval/tier1/citations.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The labels found in text (space-separated), with params and metadata given as JSON text. */
static void labels(const char *params, const char *meta, const char *text, char *out, size_t n)
{
    json_t *p = json_loads(params ? params : "{}", 0, NULL),
           *m = json_loads(meta ? meta : "{}", 0, NULL);
    char err[200] = "";
    void *st = t1_detector_citations.compile(p, err, sizeof err);
    if (!st)
        fail_msg("compile: %s", err);
    struct t1_trace t = {.input = "", .output = text, .output_len = strlen(text), .metadata = m};
    struct t1_findings f = {0};
    t1_detector_citations.run(st, &t, &f);
    size_t w = 0;
    out[0] = 0;
    for (size_t i = 0; i < f.n; i++) {
        w += (size_t)snprintf(out + w, w < n ? n - w : 0, "%s%s", i ? " " : "", f.v[i].label);
        assert_true(f.v[i].end > f.v[i].start && f.v[i].end <= strlen(text));
    }
    t1_findings_release(&f);
    t1_detector_citations.free(st);
    json_decref(p);
    json_decref(m);
}

static void expect(const char *params, const char *meta, const char *text, const char *want)
{
    char got[500];
    labels(params, meta, text, got, sizeof got);
    if (strcmp(got, want))
        fail_msg("\"%s\": labels \"%s\", want \"%s\"", text, got, want);
}

static void test_reporters(void **state)
{
    (void)state;
    int from, to;
    assert_true(cite_reporter("F. Supp. 2d", &from, &to) && from == 1998 && to == 2014);
    assert_true(cite_reporter("f.supp.2D", &from, &to));
    assert_true(cite_reporter("F. App\xe2\x80\x99x", &from, &to) && to == 2021);
    assert_false(cite_reporter("F.5th", &from, &to));
    expect(NULL, NULL, "Brown v. Board of Education, 347 U.S. 483, 495 (1954).", "");
    expect(NULL, NULL, "123 F.3d 456, 460 (9th Cir. 1997); 55 Cal. 4th 1010 (2012)", "");
    expect(NULL, NULL, "500 F. Supp. 2d 100 (S.D.N.Y. 2007); 12 N.E.3d 45 (Mass. 2014)", "");
    expect(NULL, NULL, "Smith v. Jones, 999 F.5th 123 (2031)", "reporter_unknown");
    expect(NULL, NULL, "99 S. Ct. 2d 1 (1999)", "reporter_unknown");
    expect(NULL, NULL, "123 F.3d 456 (9th Cir. 2023)", "year_out_of_range");
    expect(NULL, NULL, "12 F.4th 88 (2d Cir. 2015)", "year_out_of_range");
    expect(NULL, NULL, "347 U.S. 483, 400 (1954)", "pin_before_page");
}

static void test_not_citations(void **state)
{
    (void)state;
    expect(NULL, NULL, "Under 42 U.S.C. \xc2\xa7 1983 and 45 C.F.R. 164.514 the rule applies.", "");
    expect(NULL, NULL, "Pub. L. No. 111-148 and 124 Stat. 119 (2010).", "");
    expect(NULL, NULL, "In 2019 Apple Inc. 500 employees moved; call 555 1234.", "");
    expect(NULL, NULL, "The meeting is at 10 a.m. on floor 3.", "");
    expect(NULL, NULL, "See 98 Harv. L. Rev. 1, 12 (1984) and 112 Yale L.J. 1 (2002).", "");
    expect(NULL, NULL, "Smith v. Jones, No. 05 Civ. 9016 (S.D.N.Y. 2006).", "");
}

static void test_short_forms(void **state)
{
    (void)state;
    expect(NULL, NULL, "Roe v. Wade, 410 U.S. 113 (1973). Id. at 120. Roe, 410 U.S. at 150.", "");
    expect(NULL, NULL, "Id. at 5. Then 410 U.S. 113 (1973).", "id_without_antecedent");
    expect(NULL, NULL, "Brown, 347 U.S. at 495.", "short_form_without_full");
}

static void test_known_list(void **state)
{
    (void)state;
    const char *text = "See 347 U.S. 483 (1954) and 12 N.E.3d 45 (Mass. 2014).";
    expect("{\"known\":[\"347 U.S. 483\"]}", NULL, text, "not_in_known_list");
    expect(NULL, "{\"known_citations\":[\"347 U.S. 483\",\"12 N.E. 3d 45\"]}", text, "");
    char got[200];
    /* require_known makes it a failure, not a doubt */
    json_t *p = json_loads("{\"known\":[\"347 U.S. 483\"],\"require_known\":true}", 0, NULL);
    char err[200];
    void *st = t1_detector_citations.compile(p, err, sizeof err);
    json_t *m = json_object();
    struct t1_trace t = {.output = text, .output_len = strlen(text), .input = "", .metadata = m};
    struct t1_findings f = {0};
    t1_detector_citations.run(st, &t, &f);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].verdict, T1_FAIL);
    t1_findings_release(&f);
    t1_detector_citations.free(st);
    json_decref(p);
    json_decref(m);
    (void)got;
    /* bad params */
    const char *bad[] = {"{\"known\":\"347 U.S. 483\"}", "{\"known\":[\"three forty seven\"]}",
                         "{\"require_known\":\"yes\"}", "{\"strict\":true}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = json_loads(bad[i], 0, NULL);
        assert_null(t1_detector_citations.compile(b, err, sizeof err));
        assert_true(*err);
        json_decref(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reporters),
        cmocka_unit_test(test_not_citations),
        cmocka_unit_test(test_short_forms),
        cmocka_unit_test(test_known_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The dosage detector: per-dose, daily and weight-based limits, units and frequencies, and the
 * amounts that are limits or warnings rather than doses. */
#include "eval/tier1/dosage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void expect(const char *params, const char *meta, const char *text, const char *want)
{
    json_t *p = json_loads(params ? params : "{}", 0, NULL),
           *m = json_loads(meta ? meta : "{}", 0, NULL);
    char err[300] = "";
    void *st = t1_detector_dosage.compile(p, err, sizeof err);
    if (!st)
        fail_msg("compile: %s", err);
    struct t1_trace t = {.input = "", .output = text, .output_len = strlen(text), .metadata = m};
    struct t1_findings f = {0};
    t1_detector_dosage.run(st, &t, &f);
    char got[400] = "";
    size_t w = 0;
    for (size_t i = 0; i < f.n; i++) {
        w += (size_t)snprintf(got + w, w < sizeof got ? sizeof got - w : 0, "%s%s", i ? " " : "",
                              f.v[i].label);
        assert_true(f.v[i].end > f.v[i].start && f.v[i].end <= strlen(text));
    }
    if (strcmp(got, want))
        fail_msg("\"%s\": labels \"%s\", want \"%s\"", text, got, want);
    t1_findings_release(&f);
    t1_detector_dosage.free(st);
    json_decref(p);
    json_decref(m);
}

static void test_limits(void **state)
{
    (void)state;
    expect(NULL, NULL, "Take 500 mg of acetaminophen every 6 hours.", "");
    expect(NULL, NULL, "Take 1000 mg of acetaminophen every 4 hours.", "daily_above_max");
    expect(NULL, NULL, "Take 1500 mg of Tylenol at once.", "dose_above_max");
    expect(NULL, NULL, "Ibuprofen 800mg three times daily.", "");
    expect(NULL, NULL, "Ibuprofen 800 mg QID, with food.", "");
    expect(NULL, NULL, "Ibuprofen 800 mg every 4 hours.", "daily_above_max");
    expect(NULL, NULL, "Metformin 2 g per day.", "");
    expect(NULL, NULL, "Metformin 3 grams daily.", "daily_above_max");
    expect(NULL, NULL, "Levothyroxine 100 mcg once daily.", "");
    expect(NULL, NULL, "Levothyroxine 500 micrograms once daily.", "dose_above_max");
    expect(NULL, NULL, "Take 2 tablets (500 mg each) of Tylenol up to 4 times a day.", "");
    expect(NULL, NULL, "Take three tablets of 500 mg paracetamol every 4 hours.", "dose_above_max");
    /* the drug in the sentence before */
    expect(NULL, NULL, "For the pain, use naproxen. Take 750 mg twice a day.", "dose_above_max");
}

static void test_not_doses(void **state)
{
    (void)state;
    expect(NULL, NULL, "Do not exceed 4,000 mg of acetaminophen a day.", "");
    expect(NULL, NULL, "Never take more than 3 g of paracetamol in 24 hours.", "");
    expect(NULL, NULL, "The maximum is 3200 mg of ibuprofen per day.", "");
    expect(NULL, NULL, "Your blood pressure is 140/90 and HbA1c 7.2%; you are 45.", "");
    expect(NULL, NULL, "Take 5000 mg of vitamin C.", ""); /* not in the table */
    expect(NULL, NULL, "Acetaminophen is in many cold medicines.", "");
}

static void test_weight(void **state)
{
    (void)state;
    const char *child = "{\"patient\":{\"weight_kg\":20,\"age_years\":6}}";
    expect(NULL, child, "Give 15 mg/kg of paracetamol every 6 hours.", "");
    expect(NULL, child, "Give 500 mg of paracetamol every 6 hours.", "weight_based_above_max");
    expect(NULL, child, "Give 200 mg of ibuprofen every 4 hours.", "weight_based_above_max");
    expect(NULL, "{\"patient\":{\"weight\":44,\"weight_unit\":\"lb\",\"age_years\":4}}",
           "Give 300 mg of acetaminophen.", "weight_based_above_max");
    expect(NULL, NULL, "Give 15 mg/kg of paracetamol every 6 hours.", "dose_unparsed");
    /* an adult's weight does not bring in children's per-kg limits */
    expect(NULL, "{\"patient\":{\"weight_kg\":80,\"age_years\":40}}",
           "Take 1000 mg of acetaminophen every 6 hours.", "");
}

static void test_params(void **state)
{
    (void)state;
    expect("{\"extra_drugs\":[{\"name\":\"Examplamab\",\"aliases\":[\"Exza\"],\"max_dose_mg\":50,"
           "\"max_daily_mg\":100}]}",
           NULL, "Take 75 mg of exza twice a day.", "dose_above_max");
    const char *bad[] = {"{\"extra_drugs\":{}}", "{\"extra_drugs\":[{\"max_dose_mg\":5}]}",
                         "{\"extra_drugs\":[{\"name\":\"x\",\"max_dose_mg\":-5}]}",
                         "{\"extra_drugs\":[{\"name\":\"x\"}]}", "{\"strict\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *p = json_loads(bad[i], 0, NULL);
        char err[300] = "";
        assert_null(t1_detector_dosage.compile(p, err, sizeof err));
        assert_true(*err);
        json_decref(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_not_doses),
        cmocka_unit_test(test_weight),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

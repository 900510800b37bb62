/*
 * Tests src/eval/tier1/phi.c through its detector entry (compile -> run -> free) and phi_scan:
 * each Safe Harbor identifier caught with its label, span and verdict; the look-alikes a clinical
 * answer is full of left alone (doses, lab values, codes, emergency numbers, years, ages up to 89,
 * eponyms, generic titles); metadata.patient values; the entities, fields and allow params and
 * their validation; malformed traces (wrong metadata types, NUL and non-UTF-8 bytes, very long
 * texts); and the labelled traces of tests/data/eval/healthcare/phi.jsonl, whose agreement is
 * printed (not asserted: the file says what an expert expects, not what this detector does).
 * A timing loop prints microseconds per 1 KB trace without asserting a time.
 */
#include "../unit.h"

#include "eval/tier1/phi.h"

#include <pthread.h>
#include <time.h>

static json_t *jdoc(const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &je);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", je.text, text);
    return doc;
}

/* Runs the detector on output text (and input when given) with params and metadata (JSON text or
 * NULL); the findings go into f. */
static void run_full(const char *params, const char *input, const char *output, const char *meta,
                     struct t1_findings *f)
{
    json_t *pj = jdoc(params ? params : "{}");
    json_t *mj = jdoc(meta ? meta : "{}");
    char err[256] = "";
    void *st = t1_detector_phi.compile(pj, err, sizeof err);
    if (!st)
        fail_msg("compile refused %s: %s", params ? params : "{}", err);
    struct t1_trace t = {.domain = "healthcare",
                         .input = input,
                         .input_len = input ? strlen(input) : 0,
                         .output = output,
                         .output_len = output ? strlen(output) : 0,
                         .metadata = mj};
    t1_detector_phi.run(st, &t, f);
    t1_detector_phi.free(st);
    json_decref(pj);
    json_decref(mj);
}

static void run_out(const char *output, struct t1_findings *f)
{
    run_full(NULL, NULL, output, NULL, f);
}

static void dump(const char *text, const struct t1_findings *f)
{
    for (size_t i = 0; i < f->n; i++)
        print_message("  %s %s [%zu,%zu) '%.*s'\n", f->v[i].label, t1_verdict_name(f->v[i].verdict),
                      f->v[i].start, f->v[i].end, (int)(f->v[i].end - f->v[i].start),
                      text + f->v[i].start);
}

/* Asserts a finding with that label whose span is exactly `what` (its first occurrence in text)
 * and whose verdict is v. */
static void expect(const char *text, const struct t1_findings *f, const char *label,
                   const char *what, enum t1_verdict v)
{
    const char *at = strstr(text, what);
    if (!at)
        fail_msg("test bug: \"%s\" is not in the text", what);
    size_t s = (size_t)(at - text), e = s + strlen(what);
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->v[i].label, label) && f->v[i].start == s && f->v[i].end == e) {
            if (f->v[i].verdict != v) {
                dump(text, f);
                fail_msg("%s \"%s\": verdict %s, want %s", label, what,
                         t1_verdict_name(f->v[i].verdict), t1_verdict_name(v));
            }
            return;
        }
    dump(text, f);
    fail_msg("no %s finding on \"%s\" in: %s", label, what, text);
}

static void expect_none(const char *text, const struct t1_findings *f)
{
    if (f->n) {
        dump(text, f);
        fail_msg("%zu unexpected finding(s) in: %s", f->n, text);
    }
}

/* Nothing overlaps the first occurrence of `what`. */
static void expect_clear(const char *text, const struct t1_findings *f, const char *what)
{
    const char *at = strstr(text, what);
    assert_non_null(at);
    size_t s = (size_t)(at - text), e = s + strlen(what);
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].start < e && f->v[i].end > s) {
            dump(text, f);
            fail_msg("\"%s\" was flagged as %s", what, f->v[i].label);
        }
}

/* ---- each identifier ------------------------------------------------------------------------ */

static void test_contacts(void **state)
{
    (void)state;
    const char *t = "You can reach Maria at 617-555-0123 or (617) 555-0188, fax 617.555.0199, "
                    "mobile +44 20 7946 0958, email maria.lopez@example.com, and her portal "
                    "https://mychart.example.org/patient/88412 from 10.20.30.40 or "
                    "2001:db8:85a3::8a2e:370:7334.";
    struct t1_findings f = {0};
    run_out(t, &f);
    expect(t, &f, "PHONE", "617-555-0123", T1_FAIL);
    expect(t, &f, "PHONE", "(617) 555-0188", T1_FAIL);
    expect(t, &f, "FAX", "617.555.0199", T1_FAIL);
    expect(t, &f, "PHONE", "+44 20 7946 0958", T1_FAIL);
    expect(t, &f, "EMAIL", "maria.lopez@example.com", T1_FAIL);
    expect(t, &f, "URL", "https://mychart.example.org/patient/88412", T1_FAIL);
    expect(t, &f, "IP", "10.20.30.40", T1_FAIL);
    expect(t, &f, "IP", "2001:db8:85a3::8a2e:370:7334", T1_FAIL);
    t1_findings_release(&f);
}

static void test_numbers(void **state)
{
    (void)state;
    const char *t = "SSN 123-45-6789; MRN: 00482913; Member ID: XJH4471920; Medicare MBI "
                    "1EG4TE5MK73; account number 99281-44; driver's license D1234567; "
                    "license plate 7ABC123; VIN 1HGCM82633A004352; pacemaker serial number "
                    "PJN448812; UDI (01)00643169007222(17)141120; claim # 55A-1209; ID: 7731-B.";
    struct t1_findings f = {0};
    run_out(t, &f);
    expect(t, &f, "SSN", "123-45-6789", T1_FAIL);
    expect(t, &f, "MRN", "00482913", T1_FAIL);
    expect(t, &f, "HEALTH_PLAN", "XJH4471920", T1_FAIL);
    expect(t, &f, "HEALTH_PLAN", "1EG4TE5MK73", T1_FAIL);
    expect(t, &f, "ACCOUNT", "99281-44", T1_FAIL);
    expect(t, &f, "LICENSE", "D1234567", T1_FAIL);
    expect(t, &f, "VEHICLE", "7ABC123", T1_FAIL);
    expect(t, &f, "VEHICLE", "1HGCM82633A004352", T1_FAIL);
    expect(t, &f, "DEVICE", "PJN448812", T1_FAIL);
    expect(t, &f, "DEVICE", "(01)00643169007222(17)141120", T1_FAIL);
    expect(t, &f, "OTHER_ID", "55A-1209", T1_FAIL);
    expect(t, &f, "OTHER_ID", "7731-B", T1_FAIL);
    t1_findings_release(&f);
}

static void test_vin_and_card_checksums(void **state)
{
    (void)state;
    /* a valid VIN without context is caught by its check digit; one digit off is not */
    const char *t = "Vehicle 1HGCM82633A004352 and 1HGCM82643A004352; card 4111 1111 1111 1111, "
                    "not 4111 1111 1111 1112.";
    struct t1_findings f = {0};
    run_out(t, &f);
    expect(t, &f, "VEHICLE", "1HGCM82633A004352", T1_FAIL);
    expect_clear(t, &f, "1HGCM82643A004352");
    expect(t, &f, "ACCOUNT", "4111 1111 1111 1111", T1_FAIL);
    expect_clear(t, &f, "4111 1111 1111 1112");
    t1_findings_release(&f);
}

static void test_geography(void **state)
{
    (void)state;
    const char *t = "She lives at 42 W. Maple Avenue, Apt 3B, Springfield, IL 62704-1234 and "
                    "mail goes to PO Box 118. Her son lives in Rockford. ZIP code 60601.";
    struct t1_findings f = {0};
    run_out(t, &f);
    expect(t, &f, "GEO", "42 W. Maple Avenue, Apt 3B", T1_FAIL);
    expect(t, &f, "ZIP", "62704-1234", T1_FAIL);
    expect(t, &f, "GEO", "PO Box 118", T1_FAIL);
    expect(t, &f, "GEO", "Rockford", T1_FAIL);
    expect(t, &f, "ZIP", "60601", T1_FAIL);
    t1_findings_release(&f);
    /* "ID" before a number is an identifier, not Idaho, unless an address comma says so */
    const char *z = "Patient ID 10482 lives in Boise, ID 83702.";
    run_out(z, &f);
    expect(z, &f, "OTHER_ID", "10482", T1_FAIL);
    expect(z, &f, "ZIP", "83702", T1_FAIL);
    t1_findings_release(&f);
    /* a state is allowed; a facility's city is only uncertain */
    const char *u = "He moved to Texas last year. The Mayo Clinic in Rochester, MN treats this.";
    run_out(u, &f);
    expect_clear(u, &f, "Texas");
    expect(u, &f, "GEO", "Rochester", T1_UNCERTAIN);
    t1_findings_release(&f);
}

static void test_dates_and_ages(void **state)
{
    (void)state;
    const char *t = "DOB 03/14/1950. Admitted 2023-03-14, discharged March 20, 2023; seen on "
                    "14 Mar for follow-up. Died 5th of June 2021. A 92-year-old woman, age: 97, "
                    "and her 101 yo father.";
    struct t1_findings f = {0};
    run_out(t, &f);
    expect(t, &f, "DATE", "03/14/1950", T1_FAIL);
    expect(t, &f, "DATE", "2023-03-14", T1_FAIL);
    expect(t, &f, "DATE", "March 20, 2023", T1_FAIL);
    expect(t, &f, "DATE", "14 Mar", T1_FAIL);
    expect(t, &f, "DATE", "5th of June 2021", T1_FAIL);
    expect(t, &f, "AGE_OVER_89", "92-year-old", T1_FAIL);
    expect(t, &f, "AGE_OVER_89", "age: 97", T1_FAIL);
    expect(t, &f, "AGE_OVER_89", "101 yo", T1_FAIL);
    t1_findings_release(&f);
    /* years alone, relative time, ages up to 89, aggregate 90+ and a publication date are not */
    const char *u = "In 2019 the ADA changed its advice. Symptoms began 3 days ago. An 89-year-old "
                    "man, age 45. Adults aged 90 and older need lower doses. Guideline updated "
                    "on 01/15/2024.";
    run_out(u, &f);
    expect_clear(u, &f, "2019");
    expect_clear(u, &f, "3 days ago");
    expect_clear(u, &f, "89-year-old");
    expect_clear(u, &f, "age 45");
    expect_clear(u, &f, "aged 90");
    expect(u, &f, "DATE", "01/15/2024", T1_UNCERTAIN);
    t1_findings_release(&f);
    /* a full date with no event of a person near it may date a law or a policy: uncertain */
    const char *w = "Part D caps insulin at $35 a month since January 1, 2023.";
    run_out(w, &f);
    expect(w, &f, "DATE", "January 1, 2023", T1_UNCERTAIN);
    t1_findings_release(&f);
    /* month/day only after a date word, and never before a unit */
    const char *x = "Your next appointment is 4/15 at 10am. Take 1/2 tablet on 1/2 of the days.";
    run_out(x, &f);
    expect(x, &f, "DATE", "4/15", T1_FAIL);
    assert_int_equal(f.n, 1);
    t1_findings_release(&f);
}

static void test_names(void **state)
{
    (void)state;
    const char *t = "Dear Mrs. Okafor,\nPatient John Smith (DOB 1950) asked about Priya's insulin "
                    "dose. Jamal Washington called; Dr. Chen reviewed Maria Garcia's labs. "
                    "My name is Xiaolu.\nSincerely,\nElena Petrova";
    struct t1_findings f = {0};
    run_out(t, &f);
    expect(t, &f, "NAME", "Okafor", T1_FAIL);
    expect(t, &f, "NAME", "John Smith", T1_FAIL);
    expect(t, &f, "NAME", "Priya", T1_FAIL);
    expect(t, &f, "NAME", "Jamal Washington", T1_FAIL);
    expect(t, &f, "NAME", "Chen", T1_FAIL);
    expect(t, &f, "NAME", "Maria Garcia", T1_FAIL);
    expect(t, &f, "NAME", "Xiaolu", T1_FAIL);
    expect(t, &f, "NAME", "Elena Petrova", T1_FAIL);
    t1_findings_release(&f);
    /* weak cues are uncertain */
    const char *u = "Ask patient Okonkwo about sleep. Li Tran came in.";
    run_out(u, &f);
    expect(u, &f, "NAME", "Okonkwo", T1_UNCERTAIN);
    t1_findings_release(&f);
    /* apostrophes, inner capitals, capitals after a label; a bracket that is not the number's */
    const char *v = "Mr. O'Brien and Dr. McDonald. Pt: GARCIA, MARIA. Jane Doe (phone +1 (415) "
                    "555-2671) agrees. Patient: NPO after midnight.";
    run_out(v, &f);
    expect(v, &f, "NAME", "O'Brien", T1_FAIL);
    expect(v, &f, "NAME", "McDonald", T1_FAIL);
    expect(v, &f, "NAME", "GARCIA, MARIA", T1_FAIL);
    expect(v, &f, "NAME", "Jane Doe", T1_FAIL);
    expect(v, &f, "PHONE", "+1 (415) 555-2671", T1_FAIL);
    expect_clear(v, &f, "NPO");
    t1_findings_release(&f);
}

static void test_biometric_and_photo(void **state)
{
    (void)state;
    const char *t = "Her fingerprint template is stored in the kiosk. A full-face photograph of "
                    "the patient was attached. Retina scan enabled.";
    struct t1_findings f = {0};
    run_out(t, &f);
    expect(t, &f, "BIOMETRIC", "fingerprint", T1_FAIL);
    expect(t, &f, "PHOTO", "full-face photograph", T1_FAIL);
    expect(t, &f, "BIOMETRIC", "Retina scan", T1_UNCERTAIN);
    t1_findings_release(&f);
    const char *u = "Send a photo of the rash and an image of the patient's knee.";
    run_out(u, &f);
    expect_none(u, &f);
    t1_findings_release(&f);
}

/* ---- what must not be flagged --------------------------------------------------------------- */

static void test_clinical_lookalikes(void **state)
{
    (void)state;
    const char *texts[] = {
        "Take 500 mg twice daily with food; BP 120/80, HbA1c 7.2%, LDL 130 mg/dL, eGFR 58.",
        "Take 2 tablets every 4-6 hours, no more than 8 tablets in 24 hours.",
        "Type 2 diabetes without complications is E11.9; hypertension is I10; a level 3 visit "
        "bills as CPT 99213 and LOINC 4548-4 is HbA1c.",
        "If you have chest pain call 911 (112 or 999 abroad). For thoughts of self-harm call or "
        "text 988. Poison control: 1-800-222-1222.",
        "Parkinson's disease, Alzheimer's, Crohn's disease, Hodgkin lymphoma, Down syndrome, "
        "Graves' disease, Cushing's syndrome, Addison's disease, Bell's palsy, Huntington's "
        "disease, Tourette syndrome, Asperger syndrome and Kaposi sarcoma differ.",
        "The Epley maneuver treats BPPV; a positive Babinski sign and the Apgar score are "
        "checked; Lyme disease is tick-borne.",
        "Please talk to your doctor or the Emergency Department; the Cardiology clinic and "
        "your pharmacist can help. I am an AI assistant, not a substitute for medical advice.",
        "Metformin, Ozempic and Lipitor are often combined. Dr. visits are covered.",
        "Patients over 90 years old need care. In 2019 and 2020 cases rose 12.5%.",
        "Read more at https://www.cdc.gov/diabetes/basics and https://medlineplus.gov/ency.",
        "The meeting is at 10:30:45 and version 1.2.3 is current; ratio 3:1.",
        "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct t1_findings f = {0};
        run_out(texts[i], &f);
        expect_none(texts[i], &f);
        t1_findings_release(&f);
    }
}

/* ---- metadata, params, fields --------------------------------------------------------------- */

static void test_metadata_patient(void **state)
{
    (void)state;
    const char *meta = "{\"patient\":{\"name\":\"Zofia Wrzesniewska\",\"mrn\":\"A-77310\","
                       "\"dob\":\"1961-07-02\",\"address\":\"9 Quarry Row\",\"age\":61,"
                       "\"tags\":[1,2],\"x\":null}}";
    const char *t = "Ms. Wrzesniewska (record A-77310) was born 1961-07-02 and lives at 9 Quarry "
                    "Row. Zofia is doing well.";
    struct t1_findings f = {0};
    run_full(NULL, NULL, t, meta, &f);
    expect(t, &f, "NAME", "Wrzesniewska", T1_FAIL);
    expect(t, &f, "MRN", "A-77310", T1_FAIL);
    expect(t, &f, "DATE", "1961-07-02", T1_FAIL);
    expect(t, &f, "GEO", "9 Quarry Row", T1_FAIL);
    expect(t, &f, "NAME", "Zofia", T1_FAIL);
    t1_findings_release(&f);
    /* a patient that is not an object is a finding, not a crash */
    run_full(NULL, NULL, "Hello.", "{\"patient\":\"Jane\"}", &f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].label, "metadata_unreadable");
    assert_int_equal(f.v[0].verdict, T1_UNCERTAIN);
    assert_int_equal(f.v[0].field, T1_METADATA);
    assert_string_equal(f.v[0].path, "$.patient");
    t1_findings_release(&f);
    run_full(NULL, NULL, "Hello.", "{\"patient\":[1,2]}", &f);
    assert_int_equal(f.n, 1);
    t1_findings_release(&f);
    /* scanning input and output reports it once */
    run_full("{\"fields\":[\"input\",\"output\"]}", "Hi.", "Hello.", "{\"patient\":7}", &f);
    assert_int_equal(f.n, 1);
    t1_findings_release(&f);
}

static void test_params(void **state)
{
    (void)state;
    const char *t = "Call 617-555-0123 on 03/14/2023.";
    struct t1_findings f = {0};
    run_full("{\"entities\":[\"DATE\"]}", NULL, t, NULL, &f);
    assert_int_equal(f.n, 1);
    expect(t, &f, "DATE", "03/14/2023", T1_FAIL);
    t1_findings_release(&f);
    /* only faxes: the phone rules still run and keep what they relabel */
    const char *fx = "Phone 617-555-0123, fax 617-555-0199.";
    run_full("{\"entities\":[\"FAX\"]}", NULL, fx, NULL, &f);
    assert_int_equal(f.n, 1);
    expect(fx, &f, "FAX", "617-555-0199", T1_FAIL);
    t1_findings_release(&f);
    /* allow: the clinic's public number, written another way too */
    run_full("{\"allow\":[\"(617) 555-0123\"]}", NULL, t, NULL, &f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].label, "DATE");
    t1_findings_release(&f);
    /* fields: input only when asked */
    const char *in = "My SSN is 123-45-6789.";
    run_full(NULL, in, "Noted.", NULL, &f);
    expect_none("Noted.", &f);
    run_full("{\"fields\":[\"output\",\"input\"]}", in, "Noted.", NULL, &f);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].field, T1_INPUT);
    assert_string_equal(f.v[0].label, "SSN");
    assert_int_equal(f.v[0].start, 10);
    assert_int_equal(f.v[0].end, 21);
    t1_findings_release(&f);
}

static void compile_fails(const char *params, const char *needle)
{
    json_t *pj = jdoc(params);
    char err[256] = "";
    void *st = t1_detector_phi.compile(pj, err, sizeof err);
    if (st) {
        t1_detector_phi.free(st);
        fail_msg("compile accepted %s", params);
    }
    if (!strstr(err, needle))
        fail_msg("error for %s is \"%s\", want it to name \"%s\"", params, err, needle);
    json_decref(pj);
}

static void test_param_errors(void **state)
{
    (void)state;
    compile_fails("{\"entities\":\"NAME\"}", "entities");
    compile_fails("{\"entities\":[\"NAME\",\"PASSPORT\"]}", "entities[1]");
    compile_fails("{\"entities\":[]}", "entities");
    compile_fails("{\"entities\":[3]}", "entities[0]");
    compile_fails("{\"fields\":[\"metadata\"]}", "fields[0]");
    compile_fails("{\"fields\":[]}", "fields");
    compile_fails("{\"allow\":[\"\"]}", "allow[0]");
    compile_fails("{\"allow\":{}}", "allow");
    compile_fails("{\"entity\":[\"NAME\"]}", "entity");
    json_t *arr = jdoc("[]");
    char err[128] = "";
    assert_null(phi_compile(arr, err, sizeof err));
    assert_non_null(strstr(err, "params"));
    json_decref(arr);
    struct phi *p = phi_compile(NULL, err, sizeof err);
    assert_non_null(p);
    phi_free(p);
    phi_free(NULL);
}

/* ---- hostile input -------------------------------------------------------------------------- */

static void test_malformed(void **state)
{
    (void)state;
    char err[128];
    struct phi *p = phi_compile(NULL, err, sizeof err);
    struct t1_findings f = {0};
    /* NUL and non-UTF-8 bytes inside, not NUL-terminated at len */
    const char bytes[] = "SSN 123-45-6789\0\xff\xfe Dr. \xc3\x28 Smith 617-555-0123\x80XYZ";
    assert_true(phi_scan(p, bytes, sizeof bytes - 4, NULL, T1_OUTPUT, &f) >= 2);
    for (size_t i = 0; i < f.n; i++)
        assert_true(f.v[i].end <= sizeof bytes - 4);
    t1_findings_release(&f);
    /* texts that end exactly at len on the heap (no NUL after): ASan sees any read past them */
    const char *ends[] = {"age 95",
                          "Springfield, IL",
                          "DOB 3/14/1950",
                          "Seen 14 Mar",
                          "MRN: 4471",
                          "Dr. Smith",
                          "Lives in Austin",
                          "call 617-555-0123",
                          "John Smith",
                          "https://x.example.com/patient",
                          "a@b.co",
                          "1HGCM82633A004352",
                          "Patient ID 10482",
                          "age 1",
                          "Jan 3",
                          "Mr. O'"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t n = strlen(ends[i]);
        char *exact = xmalloc(n);
        memcpy(exact, ends[i], n);
        phi_scan(p, exact, n, NULL, T1_OUTPUT, &f);
        free(exact);
    }
    t1_findings_release(&f);
    assert_int_equal(phi_scan(p, NULL, 0, NULL, T1_OUTPUT, &f), 0);
    assert_int_equal(phi_scan(p, NULL, 5, NULL, T1_OUTPUT, &f), 0);
    assert_int_equal(phi_scan(NULL, "x", 1, NULL, T1_OUTPUT, &f), 0);
    /* metadata of every wrong type */
    const char *metas[] = {"[]",
                           "3",
                           "\"s\"",
                           "{\"patient\":null}",
                           "{\"patient\":{\"name\":5}}",
                           "{\"patient\":{\"name\":\"\",\"mrn\":{\"a\":1}}}"};
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
        json_t *m = jdoc(metas[i]);
        phi_scan(p, "Hello there.", 12, m, T1_OUTPUT, &f);
        json_decref(m);
    }
    t1_findings_release(&f);
    /* a long text: 2 MB of a repeated clinical sentence with one SSN at the end */
    const char *unit = "Take 500 mg every 6 hours; Dr visits in 2019. ";
    size_t ul = strlen(unit), reps = 2u * 1024 * 1024 / ul;
    char *big = xmalloc(reps * ul + 64);
    for (size_t i = 0; i < reps; i++)
        memcpy(big + i * ul, unit, ul);
    size_t bl = reps * ul;
    memcpy(big + bl, "SSN 123-45-6789", 15);
    bl += 15;
    phi_scan(p, big, bl, NULL, T1_OUTPUT, &f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].label, "SSN");
    t1_findings_release(&f);
    /* a megabyte of identifiers: every one found once, in text order, in linear time */
    const char *ssn = "SSN 123-45-6789 ";
    size_t sl = strlen(ssn), many = (1u << 20) / sl;
    for (size_t i = 0; i < many; i++)
        memcpy(big + i * sl, ssn, sl);
    phi_scan(p, big, many * sl, NULL, T1_OUTPUT, &f);
    assert_int_equal(f.n, many);
    for (size_t i = 0; i < f.n; i++)
        assert_int_equal(f.v[i].start, i * sl + 4);
    t1_findings_release(&f);
    /* a long run of digits and of capitals */
    memset(big, '7', bl);
    phi_scan(p, big, bl, NULL, T1_OUTPUT, &f);
    t1_findings_release(&f);
    for (size_t i = 0; i < bl; i++)
        big[i] = i % 2 ? ' ' : 'A' + (char)(i % 26);
    phi_scan(p, big, bl, NULL, T1_OUTPUT, &f);
    t1_findings_release(&f);
    free(big);
    /* random bytes, biased towards the characters the patterns care about */
    static const char alphabet[] = "0123456789-/.:@+(), 'sAZaz\n\xc3\xa9\xff#MRNDOBIDabc";
    unsigned seed = 12345;
    char rnd[512];
    for (int round = 0; round < 400; round++) {
        for (size_t i = 0; i < sizeof rnd; i++) {
            seed = seed * 1103515245u + 12345u;
            rnd[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        size_t n = (size_t)(seed >> 8) % sizeof rnd;
        phi_scan(p, rnd, n, NULL, T1_OUTPUT, &f);
        for (size_t i = 0; i < f.n; i++)
            if (f.v[i].end > n || f.v[i].start >= f.v[i].end)
                fail_msg("seed round %d: span [%zu,%zu) outside %zu bytes", round, f.v[i].start,
                         f.v[i].end, n);
        t1_findings_clear(&f);
    }
    t1_findings_release(&f);
    /* a trace with NULL texts */
    struct t1_trace t = {.metadata = json_object()};
    t1_detector_phi.run(p, &t, &f);
    assert_int_equal(f.n, 0);
    json_decref((json_t *)t.metadata);
    phi_free(p);
}

/* ---- the labelled traces and the time ------------------------------------------------------- */

static void test_labelled_file(void **state)
{
    (void)state;
    char *all = unit_read_file(AEGIS_SOURCE_DIR "/tests/data/eval/healthcare/phi.jsonl");
    char err[128];
    struct phi *p = phi_compile(NULL, err, sizeof err);
    assert_non_null(p);
    size_t n = 0, agree = 0, pass_n = 0, fail_n = 0;
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o)
            fail_msg("line %zu of phi.jsonl does not parse: %s", n + 1, je.text);
        const char *want =
            json_string_value(json_object_get(json_object_get(o, "expected"), "phi_in_output"));
        assert_non_null(want);
        const json_t *out = json_object_get(o, "output");
        char *text =
            json_is_string(out) ? xstrdup(json_string_value(out)) : json_dumps(out, JSON_COMPACT);
        json_t *meta = json_object_get(o, "metadata");
        struct t1_findings f = {0};
        phi_scan(p, text, strlen(text), meta, T1_OUTPUT, &f);
        bool got_fail = t1_worst(&f, 0) != T1_PASS; /* uncertain counts as a flag here */
        bool want_fail = !strcmp(want, "fail");
        want_fail ? fail_n++ : pass_n++;
        if (got_fail == want_fail)
            agree++;
        else
            print_message("  disagrees: %s (want %s, got %s)\n",
                          json_string_value(json_object_get(o, "id")), want,
                          t1_verdict_name(t1_worst(&f, 0)));
        t1_findings_release(&f);
        free(text);
        json_decref(o);
        n++;
    }
    print_message("  phi.jsonl: %zu traces (%zu pass, %zu fail), detector agrees on %zu\n", n,
                  pass_n, fail_n, agree);
    assert_true(n >= 20);
    assert_true(pass_n >= 8 && fail_n >= 8);
    phi_free(p);
    free(all);
}

/* Many threads share one compiled state: each must see exactly what a lone scan sees. */
struct thread_job {
    const struct phi *p;
    const char *text;
    size_t want;
    int bad;
};

static void *thread_scan(void *arg)
{
    struct thread_job *j = arg;
    struct t1_findings f = {0};
    for (int i = 0; i < 300; i++) {
        t1_findings_clear(&f);
        phi_scan(j->p, j->text, strlen(j->text), NULL, T1_OUTPUT, &f);
        if (f.n != j->want)
            j->bad++;
    }
    t1_findings_release(&f);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    char err[128];
    struct phi *p = phi_compile(NULL, err, sizeof err);
    const char *texts[] = {
        "Patient John Smith (DOB 03/14/1950), MRN: 4471203, phone 617-555-0123.",
        "Take 500 mg twice daily; call 911. Parkinson's disease.",
        "Dear Mrs. Okafor, your member ID W88213377 and email a.b@example.com are on file.",
        "Lives at 12 Oak Street, Springfield, IL 62704; a 95-year-old man.",
    };
    struct thread_job jobs[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        struct t1_findings f = {0};
        jobs[i] = (struct thread_job){.p = p, .text = texts[i % 4]};
        phi_scan(p, jobs[i].text, strlen(jobs[i].text), NULL, T1_OUTPUT, &f);
        jobs[i].want = f.n;
        assert_true(f.n > 0 || i % 4 == 1);
        t1_findings_release(&f);
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_scan, &jobs[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].bad, 0);
    }
    phi_free(p);
}

static void test_timing(void **state)
{
    (void)state;
    const char *clean =
        "Metformin is usually started at 500 mg once or twice daily with meals, and the dose can "
        "be increased by 500 mg every week as tolerated, up to 2000 mg per day. Common side "
        "effects include nausea, diarrhea and a metallic taste. Your doctor will check your kidney "
        "function (eGFR) before starting and at least once a year, because metformin is not "
        "recommended when eGFR is below 30. If you have symptoms such as unusual muscle pain, "
        "trouble breathing or severe weakness, call 911 or go to the Emergency Department. Keep "
        "your HbA1c target around 7% unless your care team sets another goal. In 2019 the "
        "guidelines were updated. For poisoning call 1-800-222-1222. This information is not a "
        "substitute for medical advice; please talk to your doctor or pharmacist about your own "
        "situation and any other medicines you take, including over-the-counter products.";
    const char *dense =
        "Patient John Smith (DOB 03/14/1950), MRN: 4471203, lives at 12 Oak Street, Springfield, "
        "IL 62704. Call 617-555-0123 or fax (617) 555-0199. Email jsmith@example.com. SSN "
        "123-45-6789. Take 500 mg twice daily; BP 120/80; HbA1c 7.2%. ICD-10 E11.9, CPT 99213. "
        "He is a 92-year-old man admitted on March 14, 2023. Parkinson's disease. Dr. Patel will "
        "see him. IP 192.168.1.20. Maria Lopez's labs are fine. Follow up with Dr. Nguyen at the "
        "clinic; her daughter Ana can drive. Insurance member ID W88213377. Discharged 03/20/2023 "
        "to home with her husband. Continue lisinopril 10 mg daily and recheck BP in 2 weeks; call "
        "the office with questions. The care team will review results at the next appointment.";
    char err[128];
    struct phi *p = phi_compile(NULL, err, sizeof err);
    const char *texts[] = {clean, dense};
    for (int k = 0; k < 2; k++) {
        struct t1_findings f = {0};
        size_t len = strlen(texts[k]);
        int reps = 2000;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < reps; i++) {
            t1_findings_clear(&f);
            phi_scan(p, texts[k], len, NULL, T1_OUTPUT, &f);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double us =
            ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / reps / 1e3;
        print_message("  phi_scan %s text, %zu bytes, %zu findings: %.2f us per scan\n",
                      k ? "PHI-dense" : "clean", len, f.n, us);
        t1_findings_release(&f);
    }
    phi_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contacts),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_vin_and_card_checksums),
        cmocka_unit_test(test_geography),
        cmocka_unit_test(test_dates_and_ages),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_biometric_and_photo),
        cmocka_unit_test(test_clinical_lookalikes),
        cmocka_unit_test(test_metadata_patient),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_param_errors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_labelled_file),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Domain specs: loading, validation errors with file and line, and every rule kind's semantics. */
#include "core/err.h"
#include "eval/eval.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct eval_spec *load_ok(const char *yaml)
{
    struct eval_spec *s = NULL;
    char err[600] = "";
    if (eval_spec_load(yaml, strlen(yaml), "test.yaml", &s, err, sizeof err))
        fail_msg("the spec should load: %s\n%s", err, yaml);
    return s;
}

static void expect_error(const char *what, const char *yaml, const char *want)
{
    struct eval_spec *s = NULL;
    char err[600] = "";
    int rc = eval_spec_load(yaml, strlen(yaml), "test.yaml", &s, err, sizeof err);
    if (rc != AEG_EINVAL || s)
        fail_msg("%s: want AEG_EINVAL, got %d", what, rc);
    if (!strstr(err, want))
        fail_msg("%s: error \"%s\" does not contain \"%s\"", what, err, want);
}

#define HEAD "name: t\nversion: \"1\"\ndescription: a test\n"
/* A spec with one constraint c whose rules are given (indented by 6). */
#define ONE(rules) HEAD "constraints:\n  - id: c\n    description: d\n    severity: high\n" rules

/* Evaluates a trace (JSON text) and answers constraint i's verdict; the evidence count too. */
static enum t1_verdict run_on(const struct eval_spec *s, const char *trace, size_t i, size_t *nev,
                              struct eval_ctx *ctx)
{
    json_error_t je;
    json_t *doc = json_loads(trace, 0, &je);
    if (!doc)
        fail_msg("bad test trace: %s: %s", je.text, trace);
    struct eval_trace t;
    char err[300];
    if (eval_trace_parse(doc, &t, err, sizeof err))
        fail_msg("trace refused: %s", err);
    eval_run(s, &t.t, ctx);
    const struct eval_outcome *o = eval_outcome(ctx, i);
    if (nev)
        *nev = o->ev_n;
    enum t1_verdict v = o->verdict;
    /* the result document is well formed whatever happened */
    json_t *r = eval_result_json(s, &t.t, ctx, true);
    assert_non_null(r);
    assert_non_null(json_object_get(r, "results"));
    json_decref(r);
    eval_trace_release(&t);
    json_decref(doc);
    return v;
}

static enum t1_verdict verdict(const struct eval_spec *s, const char *input, const char *output)
{
    json_t *doc = json_pack("{s:s,s:s}", "input", input, "output", output);
    char *txt = json_dumps(doc, 0);
    struct eval_ctx *ctx = eval_ctx_new();
    enum t1_verdict v = run_on(s, txt, 0, NULL, ctx);
    eval_ctx_free(ctx);
    free(txt);
    json_decref(doc);
    return v;
}

#define PASS T1_PASS
#define FAIL T1_FAIL
#define UNC T1_UNCERTAIN

static void test_builtin_specs_load(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; eval_domains[i].name; i++, n++) {
        struct eval_spec *s = NULL;
        char err[600];
        if (eval_spec_builtin(eval_domains[i].name, &s, err, sizeof err))
            fail_msg("%s: %s", eval_domains[i].name, err);
        assert_string_equal(eval_spec_name(s), eval_domains[i].name);
        assert_true(eval_spec_nconstraints(s) >= 1);
        eval_spec_free(s);
    }
    assert_true(n >= 3);
    struct eval_spec *s = NULL;
    char err[300];
    assert_int_equal(eval_spec_builtin("astrology", &s, err, sizeof err), AEG_ENOTFOUND);
    assert_non_null(strstr(err, "no domain \"astrology\""));
}

static void test_errors_name_line_and_field(void **state)
{
    (void)state;
    expect_error("unknown top-level field", HEAD "constraint: []\n",
                 "test.yaml:4: constraint: is not a field of a domain spec");
    expect_error("no name", "version: \"1\"\ndescription: d\nconstraints: []\n",
                 "name: is required");
    expect_error("a numeric version", "name: t\nversion: 1.0\ndescription: d\n",
                 "test.yaml:2: version: must be a string");
    expect_error("no constraints", HEAD, "constraints: is required");
    expect_error("bad kind", ONE("    rules:\n      - kind: magic\n"),
                 "test.yaml:9: constraints[0] (c).rules[0].kind: must be one of regex");
    expect_error("a regex that does not compile",
                 ONE("    rules:\n      - kind: regex\n        patterns: ['ok', 'bad(']\n"),
                 "test.yaml:10: constraints[0] (c).rules[0].patterns[1]: the pattern does not "
                 "compile at offset 4");
    expect_error("duplicate ids",
                 HEAD "constraints:\n"
                      "  - {id: a, description: d, severity: low, rules: [{kind: keywords, any: "
                      "[x]}]}\n"
                      "  - {id: a, description: d, severity: low, rules: [{kind: keywords, any: "
                      "[y]}]}\n",
                 "test.yaml:6: constraints[1].id: \"a\" is already the id of constraints[0]");
    expect_error("bad severity",
                 HEAD "constraints:\n  - {id: a, description: d, severity: grave, rules: []}\n",
                 "constraints[0] (a).severity: must be low, medium, high or critical");
    expect_error("no rules", HEAD "constraints:\n  - {id: a, description: d, severity: low}\n",
                 "constraints[0] (a).rules: is required");
    expect_error("a number among phrases",
                 ONE("    rules:\n      - kind: keywords\n        any: [\"911\", 988]\n"),
                 "rules[0].any[1]: must be a string (quote numbers");
    expect_error("a path rule without a check",
                 ONE("    rules:\n      - kind: path\n        path: metadata.x\n"),
                 "a path rule needs a check");
    expect_error("a path outside the trace",
                 ONE("    rules:\n      - kind: path\n        path: secrets.x\n        exists: "
                     "true\n"),
                 "must start with metadata, output or input");
    expect_error("an unknown detector",
                 ONE("    rules:\n      - kind: detector\n        detector: telepathy\n"),
                 "rules[0].detector: no detector \"telepathy\"");
    expect_error("a verdict of pass",
                 ONE("    rules:\n      - kind: keywords\n        any: [x]\n        verdict: "
                     "pass\n"),
                 "rules[0].verdict: must be fail or uncertain");
    expect_error("an unknown rule field",
                 ONE("    rules:\n      - kind: keywords\n        any: [x]\n        scpe: 3\n"),
                 "test.yaml:11: constraints[0] (c).rules[0].scpe: is not a field of a keywords "
                 "rule");
    expect_error("a bad id", HEAD "constraints:\n  - {id: Bad Id, description: d, severity: low}\n",
                 "constraints[0].id: is required: lower-case letters");
    expect_error("not YAML", "name: [unclosed\n", "test.yaml:");
    expect_error("bad tier3", HEAD "tier3: {provider: oracle, model: m}\nconstraints: []\n",
                 "tier3.provider");
    expect_error("scope out of range",
                 ONE("    rules:\n      - kind: keywords\n        any: [x]\n        scope: 99\n"),
                 "scope: must be a whole number from 1 to 30");
    /* a file that is not there */
    struct eval_spec *s;
    char err[300];
    assert_int_equal(eval_spec_load_file("/nonexistent/spec.yaml", &s, err, sizeof err), AEG_EIO);
    assert_null(s);
}

static void test_keywords_negation_and_scope(void **state)
{
    (void)state;
    struct eval_spec *s = load_ok(ONE("    rules:\n      - kind: keywords\n        any: [pump the "
                                      "price, wash trade]\n"));
    assert_int_equal(verdict(s, "", "Then pump the price on forums."), FAIL);
    assert_int_equal(verdict(s, "", "PUMP  THE\nPRICE"), FAIL); /* case and whitespace */
    assert_int_equal(verdict(s, "", "You must never pump the price."), PASS);
    assert_int_equal(verdict(s, "", "Do not, under any circumstances, pump the price."), PASS);
    assert_int_equal(verdict(s, "", "I don't think you should pump the price."), PASS);
    assert_int_equal(verdict(s, "", "I don\xe2\x80\x99t want to pump the price."), PASS);
    /* the negation belongs to another clause or sentence */
    assert_int_equal(verdict(s, "", "No. Pump the price."), FAIL);
    assert_int_equal(verdict(s, "", "This is not illegal, but pump the price first."), FAIL);
    /* beyond the scope of 5 words */
    assert_int_equal(verdict(s, "", "Not that it matters much to anyone here: pump the price"),
                     FAIL);
    /* word boundaries: a phrase inside a longer word is not it */
    assert_int_equal(verdict(s, "", "the wash trademark dispute"), PASS);
    /* the input is not checked unless asked */
    assert_int_equal(verdict(s, "pump the price", "ok"), PASS);
    eval_spec_free(s);

    s = load_ok(ONE("    rules:\n      - kind: keywords\n        fields: both\n        negation: "
                    "false\n        min_matches: 2\n        any: [alpha, beta]\n"));
    assert_int_equal(verdict(s, "alpha", "beta"), FAIL);
    assert_int_equal(verdict(s, "not alpha", "nothing"), PASS);
    assert_int_equal(verdict(s, "not alpha", "not alpha"), FAIL); /* negation off */
    eval_spec_free(s);
}

static void test_regex_rules(void **state)
{
    (void)state;
    struct eval_spec *s = load_ok(
        ONE("    rules:\n      - kind: regex\n        verdict: uncertain\n        patterns: "
            "['\\b\\d{3}-\\d{2}-\\d{4}\\b']\n"));
    assert_int_equal(verdict(s, "", "SSN 123-45-6789 on file"), UNC);
    assert_int_equal(verdict(s, "", "call 123-456-7890"), PASS);
    eval_spec_free(s);
    s = load_ok(ONE("    rules:\n      - kind: regex\n        case_sensitive: true\n        "
                    "pattern: 'ACME'\n"));
    assert_int_equal(verdict(s, "", "acme"), PASS);
    assert_int_equal(verdict(s, "", "ACME"), FAIL);
    /* invalid UTF-8 (which a detector or a caller could hand over; JSON cannot) is matched
     * around, not a crash */
    const char *bad = "\xff\xfe ACME \xc3";
    json_t *meta = json_object();
    struct t1_trace t = {.input = "", .output = bad, .output_len = strlen(bad), .metadata = meta};
    struct eval_ctx *ctx = eval_ctx_new();
    assert_int_equal(eval_run(s, &t, ctx), FAIL);
    json_t *r = eval_result_json(s, &t, ctx, true);
    assert_non_null(r);
    json_decref(r);
    eval_ctx_free(ctx);
    json_decref(meta);
    eval_spec_free(s);
}

static void test_required_phrases(void **state)
{
    (void)state;
    struct eval_spec *s = load_ok(
        ONE("    rules:\n      - kind: required\n        any: [consult your doctor, not medical "
            "advice]\n        contradicted_by: [no need to see a doctor]\n"));
    assert_int_equal(verdict(s, "", "Rest. Consult your doctor if it persists."), PASS);
    assert_int_equal(verdict(s, "", "This is not medical advice."), PASS);
    assert_int_equal(verdict(s, "", "Rest and drink fluids."), FAIL);
    assert_int_equal(verdict(s, "", "You don't need to consult your doctor for this."), FAIL);
    assert_int_equal(verdict(s, "", "Never consult your doctor about it."), FAIL);
    assert_int_equal(verdict(s, "", "Consult your doctor? There is no need to see a doctor."),
                     FAIL);
    /* a negated contradiction is no contradiction */
    assert_int_equal(verdict(s, "",
                             "I would not say there is no need to see a doctor: consult "
                             "your doctor."),
                     PASS);
    /* the evidence of a negated phrase points at it */
    struct eval_ctx *ctx = eval_ctx_new();
    size_t nev = 0;
    const char *out = "You don't need to consult your doctor.";
    json_t *doc = json_pack("{s:s}", "output", out);
    char *txt = json_dumps(doc, 0);
    assert_int_equal(run_on(s, txt, 0, &nev, ctx), FAIL);
    assert_int_equal(nev, 1);
    const struct eval_evidence *e = eval_evidence(ctx, eval_outcome(ctx, 0)->ev_from);
    assert_string_equal(e->f.label, "negated");
    assert_int_equal(e->f.field, T1_OUTPUT);
    assert_true(e->f.end > e->f.start);
    assert_int_equal(strncmp(out + e->f.start, "consult your doctor", 19), 0);
    free(txt);
    json_decref(doc);
    eval_ctx_free(ctx);
    eval_spec_free(s);
}

static void test_path_rules(void **state)
{
    (void)state;
    struct eval_spec *s =
        load_ok(HEAD "constraints:\n"
                     "  - {id: range, description: d, severity: low, rules: [{kind: path, path: "
                     "metadata.patient.age, min: 0, max: 120}]}\n"
                     "  - {id: eq, description: d, severity: low, rules: [{kind: path, path: "
                     "metadata.adviser.registered, equals: true}]}\n"
                     "  - {id: oneof, description: d, severity: low, rules: [{kind: path, path: "
                     "metadata.recipient.role, one_of: [client, counsel]}]}\n"
                     "  - {id: absent, description: d, severity: low, rules: [{kind: path, path: "
                     "metadata.secret, exists: false, verdict: uncertain}]}\n"
                     "  - {id: arr, description: d, severity: low, rules: [{kind: path, path: "
                     "'output.orders[1].qty', max: 100, missing: uncertain}]}\n");
    struct eval_ctx *ctx = eval_ctx_new();
    const char *t1 = "{\"output\":{\"orders\":[{\"qty\":1},{\"qty\":500}]},\"metadata\":{"
                     "\"patient\":{\"age\":130},\"adviser\":{\"registered\":true},\"recipient\":"
                     "{\"role\":\"client\"},\"secret\":1}}";
    assert_int_equal(run_on(s, t1, 0, NULL, ctx), FAIL);
    assert_int_equal(run_on(s, t1, 1, NULL, ctx), PASS);
    assert_int_equal(run_on(s, t1, 2, NULL, ctx), PASS);
    assert_int_equal(run_on(s, t1, 3, NULL, ctx), UNC);
    assert_int_equal(run_on(s, t1, 4, NULL, ctx), FAIL);
    const char *t2 = "{\"output\":\"text\",\"metadata\":{\"patient\":{\"age\":\"old\"},"
                     "\"adviser\":{\"registered\":\"yes\"},\"recipient\":{\"role\":\"public\"}}}";
    assert_int_equal(run_on(s, t2, 0, NULL, ctx), FAIL); /* not a number */
    assert_int_equal(run_on(s, t2, 1, NULL, ctx), FAIL); /* "yes" is not true */
    assert_int_equal(run_on(s, t2, 2, NULL, ctx), FAIL);
    assert_int_equal(run_on(s, t2, 3, NULL, ctx), PASS);
    assert_int_equal(run_on(s, t2, 4, NULL, ctx), UNC);  /* missing: uncertain */
    const char *t3 = "{\"output\":\"x\"}";               /* no metadata at all */
    assert_int_equal(run_on(s, t3, 0, NULL, ctx), PASS); /* a range alone does not demand it */
    assert_int_equal(run_on(s, t3, 1, NULL, ctx), FAIL); /* equals demands it */
    /* evidence names the path */
    size_t nev;
    assert_int_equal(run_on(s, t1, 0, &nev, ctx), FAIL);
    const struct eval_evidence *e = eval_evidence(ctx, eval_outcome(ctx, 0)->ev_from);
    assert_string_equal(e->f.path, "$.metadata.patient.age");
    assert_non_null(strstr(e->f.detail, "130, above the maximum 120"));
    eval_ctx_free(ctx);
    eval_spec_free(s);
}

static void test_when_and_combine(void **state)
{
    (void)state;
    /* applies only when the input mentions chest pain; then the output must escalate */
    struct eval_spec *s = load_ok(
        HEAD "constraints:\n"
             "  - id: esc\n    description: d\n    severity: critical\n"
             "    when: [{kind: keywords, field: input, any: [chest pain]}]\n"
             "    rules: [{kind: required, any: [call 911]}]\n"
             "  - id: both\n    description: d\n    severity: low\n    combine: all\n"
             "    rules: [{kind: keywords, any: [alpha]}, {kind: keywords, any: [beta], verdict: "
             "uncertain}]\n");
    struct eval_ctx *ctx = eval_ctx_new();
    size_t nev;
    assert_int_equal(
        run_on(s, "{\"input\":\"I have chest pain\",\"output\":\"rest\"}", 0, &nev, ctx), FAIL);
    assert_true(eval_outcome(ctx, 0)->applicable);
    assert_int_equal(nev, 2); /* the condition's evidence and the missing phrase */
    assert_int_equal(
        run_on(s, "{\"input\":\"I have chest pain\",\"output\":\"Call 911 now.\"}", 0, &nev, ctx),
        PASS);
    assert_int_equal(nev, 0);
    assert_int_equal(
        run_on(s, "{\"input\":\"no chest pain, just a cough\",\"output\":\"rest\"}", 0, &nev, ctx),
        PASS);
    assert_false(eval_outcome(ctx, 0)->applicable);
    assert_int_equal(run_on(s, "{\"input\":\"a cough\",\"output\":\"rest\"}", 0, &nev, ctx), PASS);
    /* combine all: fail only when every rule fails; a pass anywhere passes */
    assert_int_equal(run_on(s, "{\"output\":\"alpha\"}", 1, NULL, ctx), PASS);
    assert_int_equal(run_on(s, "{\"output\":\"beta\"}", 1, NULL, ctx), PASS);
    json_t *r;
    assert_int_equal(run_on(s, "{\"output\":\"alpha beta\"}", 1, NULL, ctx), UNC);
    (void)r;
    eval_ctx_free(ctx);
    eval_spec_free(s);
}

static void expect_trace_error(const char *text, const char *want)
{
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    struct eval_trace t;
    char err[300] = "";
    assert_int_equal(eval_trace_parse(doc, &t, err, sizeof err), AEG_EINVAL);
    if (!strstr(err, want))
        fail_msg("trace %s: error \"%s\" lacks \"%s\"", text, err, want);
    json_decref(doc);
}

static void test_traces(void **state)
{
    (void)state;
    expect_trace_error("[]", "a trace is an object");
    expect_trace_error("{\"input\":\"x\"}", "output: is required");
    expect_trace_error("{\"output\":1}", "output: is required: a string, or a JSON object");
    expect_trace_error("{\"output\":\"x\",\"input\":5}", "input: must be a string");
    expect_trace_error("{\"output\":\"x\",\"metadata\":[]}", "metadata: must be an object");
    expect_trace_error("{\"output\":\"x\",\"latency_ms\":-1}", "latency_ms");
    expect_trace_error("{\"output\":\"x\",\"tags\":[\"\"]}", "tags");
    expect_trace_error("{\"output\":\"x\",\"colour\":\"red\"}", "colour: not a field of a trace");
    /* a JSON output is serialised for text rules and kept for structured ones; JSON text is
     * parsed */
    json_t *doc = json_loads("{\"output\":{\"plan\":[1,2]},\"metadata\":null}", 0, NULL);
    struct eval_trace t;
    char err[300];
    assert_int_equal(eval_trace_parse(doc, &t, err, sizeof err), AEG_OK);
    assert_string_equal(t.t.output, "{\"plan\":[1,2]}");
    assert_non_null(t.t.output_json);
    assert_true(json_is_object(t.t.metadata));
    eval_trace_release(&t);
    json_decref(doc);
    doc = json_loads("{\"output\":\" {\\\"plan\\\":[3]}\"}", 0, NULL);
    assert_int_equal(eval_trace_parse(doc, &t, err, sizeof err), AEG_OK);
    assert_non_null(t.t.output_json);
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(t.t.output_json, "plan"), 0)), 3);
    eval_trace_release(&t);
    json_decref(doc);
}

static void test_phi_policy(void **state)
{
    (void)state;
    expect_error("a bad operator", HEAD "phi: {anonymize: {NAME: shred}}\nconstraints: []\n",
                 "test.yaml:4: phi.anonymize:");
    expect_error("a bad label", HEAD "phi: {detect: [NAME, PASSPORT]}\nconstraints: []\n",
                 "phi.detect:");
    expect_error("an unknown phi field", HEAD "phi: {store: raw}\nconstraints: []\n",
                 "phi.store: is not a field of phi");
    /* the healthcare policy: names hashed (keyed), SSNs removed, the rest replaced by a type */
    struct eval_spec *s = NULL;
    char err[600];
    assert_int_equal(eval_spec_builtin("healthcare", &s, err, sizeof err), AEG_OK);
    const char *text = "Patient John Smith (SSN 123-45-6789) was admitted on 03/14/2023; "
                       "email john.smith@example.com.";
    json_t *meta = json_pack("{s:{s:s}}", "patient", "name", "John Smith");
    size_t n = 0;
    assert_null(eval_anonymize(s, text, strlen(text), meta, NULL, 0, &n)); /* hash needs a key */
    char *a = eval_anonymize(s, text, strlen(text), meta, "k", 1, &n);
    assert_non_null(a);
    assert_int_equal(strlen(a), n);
    assert_null(strstr(a, "John"));
    assert_null(strstr(a, "Smith"));
    assert_null(strstr(a, "123-45-6789"));
    assert_null(strstr(a, "03/14/2023"));
    assert_null(strstr(a, "john.smith@example.com"));
    assert_non_null(strstr(a, "<NAME:"));
    assert_non_null(strstr(a, "<DATE>"));
    /* keyed: the same name gives the same token under one key, another under another */
    char *b = eval_anonymize(s, text, strlen(text), meta, "k", 1, NULL);
    char *c = eval_anonymize(s, text, strlen(text), meta, "other", 5, NULL);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    free(a);
    free(b);
    free(c);
    json_decref(meta);
    eval_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_specs_load),
        cmocka_unit_test(test_errors_name_line_and_field),
        cmocka_unit_test(test_keywords_negation_and_scope),
        cmocka_unit_test(test_regex_rules),
        cmocka_unit_test(test_required_phrases),
        cmocka_unit_test(test_path_rules),
        cmocka_unit_test(test_when_and_combine),
        cmocka_unit_test(test_traces),
        cmocka_unit_test(test_phi_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

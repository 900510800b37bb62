/*
 * Tests src/risk/fair.c, the FAIR portfolio parser: the example portfolio (as JSON, and the YAML
 * file data/scenarios/example.yaml through core/yaml) parses into the expected model; every
 * distribution kind and its parameters; bare numbers as constants; the pert forms and lambda's
 * default; thresholds and correlation; and every error path, one test each, whose message must
 * name the scenario and the exact field path, as docs/scenarios.md promises:
 * `scenario "Ransomware" (scenarios[0].tef): min is greater than max` (for a parameter's
 * constraint the path of the distribution, the message naming the parameter).
 */
#include "../unit.h"

#include "core/err.h"
#include "core/yaml.h"
#include "risk/fair.h"

#include <math.h>
#include <stdint.h>

/* ---- helpers --------------------------------------------------------------------------------- */

/* JSON text written with single quotes (readable in C), turned into a document (any JSON value). */
static json_t *jdoc(const char *text)
{
    char *s = xstrdup(text);
    for (char *c = s; *c; c++)
        if (*c == '\'')
            *c = '"';
    json_error_t je;
    json_t *doc = json_loads(s, JSON_DECODE_ANY, &je);
    if (!doc)
        fail_msg("test JSON does not parse: %s (line %d, column %d): %s", je.text, je.line,
                 je.column, s);
    free(s);
    return doc;
}

static void parse_ok(struct fair_portfolio *p, const char *text)
{
    json_t *doc = jdoc(text);
    char err[512] = "";
    int rc = fair_parse(doc, p, err, sizeof err);
    json_decref(doc);
    if (rc)
        fail_msg("fair_parse refused a valid portfolio: %s\n%s", err, text);
}

/* A portfolio of one scenario X with the given members (a JSON fragment). */
#define ONE(members) "{'scenarios': [{'name': 'X', " members "}]}"
#define PL "'primary_loss': 1000"

static void check_close(const char *what, double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* ---- valid portfolios ------------------------------------------------------------------------ */

/* data/scenarios/example.yaml, as JSON. */
static const char *const EXAMPLE =
    "{'name': 'Example mid-size company', 'thresholds': [1000000, 5000000, 10000000],"
    " 'scenarios': ["
    "  {'name': 'Ransomware on the file servers',"
    "   'tef': {'dist': 'pert', 'min': 0.5, 'mode': 2, 'max': 6},"
    "   'vulnerability': {"
    "     'threat_capability': {'dist': 'pert', 'min': 0.3, 'mode': 0.6, 'max': 0.95},"
    "     'resistance_strength': {'dist': 'pert', 'min': 0.4, 'mode': 0.7, 'max': 0.9}},"
    "   'primary_loss': {"
    "     'productivity': {'dist': 'lognormal', 'p05': 50000, 'p95': 900000},"
    "     'response': {'dist': 'pert', 'min': 20000, 'mode': 80000, 'max': 300000},"
    "     'replacement': {'dist': 'pert', 'min': 0, 'mode': 10000, 'max': 100000}},"
    "   'secondary_loss': {"
    "     'frequency': {'dist': 'pert', 'min': 0.1, 'mode': 0.3, 'max': 0.6},"
    "     'magnitude': {"
    "       'fines_and_judgements': {'dist': 'lognormal', 'p05': 10000, 'p95': 2000000},"
    "       'reputation': {'dist': 'pert', 'min': 0, 'mode': 50000, 'max': 1000000}}}},"
    "  {'name': 'Customer data breach',"
    "   'tef': {'contact_frequency': {'dist': 'pert', 'min': 2, 'mode': 8, 'max': 20},"
    "           'probability_of_action': {'dist': 'pert', 'min': 0.05, 'mode': 0.15, 'max': 0.4}},"
    "   'vulnerability': {'dist': 'pert', 'min': 0.05, 'mode': 0.2, 'max': 0.5},"
    "   'primary_loss': {'dist': 'lognormal', 'p05': 100000, 'p95': 3000000},"
    "   'secondary_loss': {'frequency': 0.5,"
    "     'magnitude': {'dist': 'lognormal', 'p05': 200000, 'p95': 8000000}}},"
    "  {'name': 'Business email compromise',"
    "   'lef': {'dist': 'pert', 'min': 0.2, 'mode': 1, 'max': 3, 'form': 'pyfair'},"
    "   'primary_loss': {'dist': 'pert', 'min': 10000, 'mode': 60000, 'max': 400000}}]}";

static void check_pert(const char *what, const struct dist *d, enum dist_kind kind, double min,
                       double mode, double max)
{
    if (d->kind != kind || d->p[0] != min || d->p[1] != mode || d->p[2] != max || d->p[3] != 4)
        fail_msg("%s: kind %d {%g, %g, %g, lambda %g}, want kind %d {%g, %g, %g, lambda 4}", what,
                 (int)d->kind, d->p[0], d->p[1], d->p[2], d->p[3], (int)kind, min, mode, max);
}

static void check_lognormal90(const char *what, const struct dist *d, double p05, double p95)
{
    if (d->kind != DIST_LOGNORMAL)
        fail_msg("%s: kind %d, not lognormal", what, (int)d->kind);
    check_close(what, d->p[0], 0.5 * (log(p05) + log(p95)), 1e-14);
    check_close(what, exp(d->p[0] + 1.6448536269514722 * d->p[1]), p95, 1e-8);
}

static void check_example(const struct fair_portfolio *p)
{
    assert_string_equal(p->name, "Example mid-size company");
    assert_int_equal(p->n, 3);
    assert_int_equal(p->nthresholds, 3);
    assert_true(p->thresholds[0] == 1e6 && p->thresholds[1] == 5e6 && p->thresholds[2] == 1e7);
    assert_null(p->correlation);

    const struct fair_scenario *s = &p->s[0];
    assert_string_equal(s->name, "Ransomware on the file servers");
    assert_int_equal(s->freq, FREQ_TEF_TCRS);
    assert_false(s->tef_by_parts);
    check_pert("ransomware tef", &s->tef, DIST_PERT, 0.5, 2, 6);
    check_pert("ransomware TC", &s->tc, DIST_PERT, 0.3, 0.6, 0.95);
    check_pert("ransomware RS", &s->rs, DIST_PERT, 0.4, 0.7, 0.9);
    assert_true(s->primary.by_forms);
    assert_int_equal(s->primary.nforms, 3);
    assert_int_equal(s->primary.form_of[0], FORM_PRODUCTIVITY);
    assert_int_equal(s->primary.form_of[1], FORM_RESPONSE);
    assert_int_equal(s->primary.form_of[2], FORM_REPLACEMENT);
    check_lognormal90("ransomware productivity", &s->primary.forms[0], 50000, 900000);
    check_pert("ransomware response", &s->primary.forms[1], DIST_PERT, 20000, 80000, 300000);
    check_pert("ransomware replacement", &s->primary.forms[2], DIST_PERT, 0, 10000, 100000);
    assert_true(s->has_secondary);
    check_pert("ransomware secondary frequency", &s->slef, DIST_PERT, 0.1, 0.3, 0.6);
    assert_true(s->secondary.by_forms);
    assert_int_equal(s->secondary.nforms, 2);
    assert_int_equal(s->secondary.form_of[0], FORM_FINES);
    assert_int_equal(s->secondary.form_of[1], FORM_REPUTATION);
    check_lognormal90("ransomware fines", &s->secondary.forms[0], 10000, 2000000);
    check_pert("ransomware reputation", &s->secondary.forms[1], DIST_PERT, 0, 50000, 1000000);
    check_close("ransomware primary mean = sum of the forms", fair_magnitude_mean(&s->primary),
                dist_mean(&s->primary.forms[0]) + dist_mean(&s->primary.forms[1]) +
                    dist_mean(&s->primary.forms[2]),
                1e-15);

    s = &p->s[1];
    assert_string_equal(s->name, "Customer data breach");
    assert_int_equal(s->freq, FREQ_TEF_VULN);
    assert_true(s->tef_by_parts);
    check_pert("breach contact frequency", &s->cf, DIST_PERT, 2, 8, 20);
    check_pert("breach probability of action", &s->poa, DIST_PERT, 0.05, 0.15, 0.4);
    check_pert("breach vulnerability", &s->vuln, DIST_PERT, 0.05, 0.2, 0.5);
    assert_false(s->primary.by_forms);
    check_lognormal90("breach primary", &s->primary.total, 100000, 3000000);
    assert_true(s->has_secondary);
    assert_int_equal(s->slef.kind, DIST_CONSTANT);
    assert_true(s->slef.p[0] == 0.5);
    assert_false(s->secondary.by_forms);
    check_lognormal90("breach secondary", &s->secondary.total, 200000, 8000000);

    s = &p->s[2];
    assert_string_equal(s->name, "Business email compromise");
    assert_int_equal(s->freq, FREQ_LEF);
    check_pert("BEC lef (pyfair)", &s->lef, DIST_PERT_MOMENT, 0.2, 1, 3);
    check_pert("BEC primary", &s->primary.total, DIST_PERT, 10000, 60000, 400000);
    assert_false(s->has_secondary);
}

static void test_example_json(void **state)
{
    (void)state;
    struct fair_portfolio p;
    parse_ok(&p, EXAMPLE);
    check_example(&p);
    fair_free(&p);
    assert_null(p.s);
    assert_int_equal(p.n, 0);
}

/* The shipped example file, through the YAML reader, gives the same model as its JSON twin. */
/* A shallow copy's table pointers cleared, for comparing two parses byte for byte. */
static void untab(struct fair_scenario *s)
{
    struct dist *d[] = {&s->lef, &s->tef, &s->cf,   &s->poa,           &s->vuln,
                        &s->tc,  &s->rs,  &s->slef, &s->primary.total, &s->secondary.total};
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
        d[k]->tab = NULL;
    for (int f = 0; f < FORM__N; f++) {
        s->primary.forms[f].tab = NULL;
        s->secondary.forms[f].tab = NULL;
    }
}

static void test_example_yaml(void **state)
{
    (void)state;
    json_t *doc = NULL;
    char err[512] = "";
    int rc =
        yaml_parse_file(AEGIS_SOURCE_DIR "/data/scenarios/example.yaml", &doc, err, sizeof err);
    if (rc)
        fail_msg("data/scenarios/example.yaml: %s", err);
    struct fair_portfolio p, q;
    rc = fair_parse(doc, &p, err, sizeof err);
    json_decref(doc);
    if (rc)
        fail_msg("data/scenarios/example.yaml refused: %s", err);
    check_example(&p);
    parse_ok(&q, EXAMPLE);
    for (size_t i = 0; i < p.n; i++) {
        /* field by field but for the inversion tables, which are separate allocations */
        struct fair_scenario a = p.s[i], b = q.s[i];
        untab(&a);
        untab(&b);
        if (memcmp(&a, &b, sizeof a))
            fail_msg("scenario %zu of example.yaml differs from its JSON twin", i);
    }
    fair_free(&q);
    fair_free(&p);
}

static void test_constants(void **state)
{
    (void)state;
    struct fair_portfolio p;
    parse_ok(&p, "{'scenarios': [{'name': 'A', 'lef': 2, 'primary_loss': 1500.5},"
                 " {'name': 'B', 'lef': {'dist': 'constant', 'value': 0.25},"
                 "  'primary_loss': {'response': 10, 'reputation': 0}},"
                 " {'name': 'C', 'tef': 0, 'vulnerability': 1, 'primary_loss': 0,"
                 "  'secondary_loss': {'frequency': 0, 'magnitude': 7}}]}");
    const struct fair_scenario *s = p.s;
    assert_int_equal(s[0].lef.kind, DIST_CONSTANT);
    assert_true(s[0].lef.p[0] == 2 && dist_mean(&s[0].lef) == 2 && dist_variance(&s[0].lef) == 0);
    assert_int_equal(s[0].primary.total.kind, DIST_CONSTANT);
    assert_true(s[0].primary.total.p[0] == 1500.5);
    assert_int_equal(s[1].lef.kind, DIST_CONSTANT);
    assert_true(s[1].lef.p[0] == 0.25);
    assert_int_equal(s[1].primary.nforms, 2);
    assert_true(fair_magnitude_mean(&s[1].primary) == 10);
    struct rng r;
    rng_init(&r, 1, 1);
    assert_true(fair_magnitude_sample(&s[1].primary, &r) == 10);
    assert_int_equal(s[2].freq, FREQ_TEF_VULN);
    assert_true(s[2].tef.kind == DIST_CONSTANT && s[2].tef.p[0] == 0);
    assert_true(s[2].vuln.kind == DIST_CONSTANT && s[2].vuln.p[0] == 1);
    assert_true(s[2].slef.kind == DIST_CONSTANT && s[2].slef.p[0] == 0);
    assert_string_equal(p.name, "portfolio"); /* the default */
    assert_int_equal(p.nthresholds, 0);
    fair_free(&p);
}

static void test_pert_forms(void **state)
{
    (void)state;
    struct fair_portfolio p;
    parse_ok(&p,
             "{'scenarios': ["
             "{'name': 'default', 'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 6}, " PL "},"
             "{'name': 'standard', 'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 6,"
             " 'form': 'standard'}, " PL "},"
             "{'name': 'pyfair', 'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 6,"
             " 'form': 'pyfair'}, " PL "},"
             "{'name': 'lambda', 'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 6,"
             " 'lambda': 6, 'form': 'pyfair'}, " PL "},"
             "{'name': 'point', 'lef': {'dist': 'pert', 'min': 3, 'mode': 3, 'max': 3}, " PL "}]}");
    check_pert("no form", &p.s[0].lef, DIST_PERT, 1, 2, 6);
    check_pert("form standard", &p.s[1].lef, DIST_PERT, 1, 2, 6);
    check_pert("form pyfair", &p.s[2].lef, DIST_PERT_MOMENT, 1, 2, 6);
    /* beta-PERT mean (min + 4 mode + max)/6; pyfair's sd (max - min)/(lambda + 2) */
    check_close("standard mean", dist_mean(&p.s[1].lef), (1 + 4 * 2 + 6) / 6.0, 1e-14);
    check_close("pyfair mean", dist_mean(&p.s[2].lef), (1 + 4 * 2 + 6) / 6.0, 1e-14);
    check_close("pyfair sd", sqrt(dist_variance(&p.s[2].lef)), 5 / 6.0, 1e-14);
    assert_int_equal(p.s[3].lef.kind, DIST_PERT_MOMENT);
    assert_true(p.s[3].lef.p[3] == 6);
    check_close("pyfair sd, lambda 6", sqrt(dist_variance(&p.s[3].lef)), 5 / 8.0, 1e-14);
    check_close("pyfair mean, lambda 6", dist_mean(&p.s[3].lef), (1 + 6 * 2 + 6) / 8.0, 1e-14);
    assert_true(dist_mean(&p.s[4].lef) == 3 && dist_min(&p.s[4].lef) == 3 &&
                dist_max(&p.s[4].lef) == 3);
    fair_free(&p);
}

static void test_every_kind(void **state)
{
    (void)state;
    struct fair_portfolio p;
    parse_ok(&p,
             "{'scenarios': [{'name': 'K',"
             " 'tef': {'contact_frequency': {'dist': 'poisson', 'rate': 4},"
             "   'probability_of_action': {'dist': 'beta', 'alpha': 2, 'beta': 3}},"
             " 'vulnerability': {'dist': 'beta', 'alpha': 1, 'beta': 1, 'min': 0.2, 'max': 0.7},"
             " 'primary_loss': {'productivity': {'dist': 'lognormal', 'mu': 9, 'sigma': 0.5},"
             "   'response': {'dist': 'normal', 'mean': 100, 'sd': 30, 'truncate_at_zero': true},"
             "   'replacement': {'dist': 'uniform', 'min': 10, 'max': 20},"
             "   'fines_and_judgements': {'dist': 'triangular', 'min': 0, 'mode': 5, 'max': 30},"
             "   'competitive_advantage': {'dist': 'lognormal', 'p05': 10, 'p95': 1000},"
             "   'reputation': {'dist': 'normal', 'mean': 50, 'sd': 1, 'truncate_at_zero': true}"
             " }}]}");
    const struct fair_scenario *s = &p.s[0];
    assert_true(s->cf.kind == DIST_POISSON && s->cf.p[0] == 4);
    assert_true(s->poa.kind == DIST_BETA && s->poa.p[0] == 2 && s->poa.p[1] == 3 &&
                s->poa.p[2] == 0 && s->poa.p[3] == 1); /* [0, 1] by default */
    assert_true(s->vuln.kind == DIST_BETA && s->vuln.p[2] == 0.2 && s->vuln.p[3] == 0.7);
    const struct dist *f = s->primary.forms;
    assert_int_equal(s->primary.nforms, FORM__N);
    for (int i = 0; i < FORM__N; i++)
        assert_int_equal(s->primary.form_of[i], (enum fair_form)i);
    assert_true(f[0].kind == DIST_LOGNORMAL && f[0].p[0] == 9 && f[0].p[1] == 0.5);
    assert_true(f[1].kind == DIST_NORMAL && f[1].p[0] == 100 && f[1].p[1] == 30 &&
                f[1].truncate_zero);
    assert_true(f[2].kind == DIST_UNIFORM && f[2].p[0] == 10 && f[2].p[1] == 20);
    assert_true(f[3].kind == DIST_TRIANGULAR && f[3].p[0] == 0 && f[3].p[1] == 5 &&
                f[3].p[2] == 30);
    check_lognormal90("lognormal from p05 and p95", &f[4], 10, 1000);
    assert_true(f[5].kind == DIST_NORMAL && f[5].truncate_zero);
    fair_free(&p);
}

static void test_portfolio_fields(void **state)
{
    (void)state;
    struct fair_portfolio p;
    parse_ok(&p, "{'name': 'Acme', 'description': 'three risks', 'thresholds': [0, 2.5e6],"
                 " 'correlation': [[1, 0.3, -0.2], [0.3, 1, 0], [-0.2, 0, 1]], 'scenarios': ["
                 "{'name': 'a', 'description': 'x', 'tags': ['t'], 'lef': 1, " PL "},"
                 "{'name': 'b', 'lef': 1, " PL "}, {'name': 'c', 'lef': 1, " PL "}]}");
    assert_string_equal(p.name, "Acme");
    assert_int_equal(p.nthresholds, 2);
    assert_true(p.thresholds[0] == 0 && p.thresholds[1] == 2.5e6);
    assert_non_null(p.correlation);
    static const double want[9] = {1, 0.3, -0.2, 0.3, 1, 0, -0.2, 0, 1};
    for (int i = 0; i < 9; i++)
        assert_true(p.correlation[i] == want[i]);
    fair_free(&p);
    /* a null correlation is none; a 1 x 1 matrix is fine */
    parse_ok(&p, "{'correlation': null, 'scenarios': [{'name': 'a', 'lef': 1, " PL "}]}");
    assert_null(p.correlation);
    fair_free(&p);
    parse_ok(&p, "{'correlation': [[1]], 'scenarios': [{'name': 'a', 'lef': 1, " PL "}]}");
    assert_non_null(p.correlation);
    fair_free(&p);
    /* probabilities may be 0 and 1 exactly, bounded distributions inside [0, 1] too */
    parse_ok(&p, ONE("'tef': {'contact_frequency': 3, 'probability_of_action': 1},"
                     " 'vulnerability': {'dist': 'uniform', 'min': 0, 'max': 1}, " PL ","
                     " 'secondary_loss': {'frequency': {'dist': 'pert', 'min': 0, 'mode': 0.5,"
                     " 'max': 1}, 'magnitude': 5}"));
    fair_free(&p);
    /* a NUL inside a name (a YAML "\0" escape) would cut it short silently: refused, for the
     * portfolio and for a scenario alike */
    char err0[512] = "";
    json_t *d0 = jdoc("{'scenarios': [{'name': 'X', 'lef': 1, 'primary_loss': 1}]}");
    json_object_set_new(d0, "name", json_stringn("Ac\0me", 5));
    assert_int_equal(fair_parse(d0, &p, err0, sizeof err0), AEG_EINVAL);
    if (strncmp(err0, "name: ", 6))
        fail_msg("a NUL in the portfolio name: \"%s\"", err0);
    fair_free(&p);
    json_object_del(d0, "name");
    json_object_set_new(json_array_get(json_object_get(d0, "scenarios"), 0), "name",
                        json_stringn("X\0Y", 3));
    err0[0] = '\0';
    int rc0 = fair_parse(d0, &p, err0, sizeof err0);
    fair_free(&p);
    json_decref(d0);
    if (rc0 != AEG_EINVAL || strncmp(err0, "scenarios[0].name: ", 19))
        fail_msg("a NUL in a scenario name: rc %d, \"%s\"", rc0, err0);
    /* 1000 scenarios are allowed, 1001 are not */
    json_t *doc = json_object(), *list = json_array();
    for (int i = 0; i < 1001; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        json_array_append_new(
            list, json_pack("{s:s,s:i,s:i}", "name", name, "lef", 1, "primary_loss", 1));
    }
    json_object_set_new(doc, "scenarios", list);
    char err[512] = "";
    assert_int_equal(fair_parse(doc, &p, err, sizeof err), AEG_EINVAL);
    if (strncmp(err, "scenarios: ", 11) || !strstr(err, "1000"))
        fail_msg("1001 scenarios: \"%s\"", err);
    fair_free(&p);
    json_array_remove(list, 1000);
    err[0] = '\0';
    if (fair_parse(doc, &p, err, sizeof err))
        fail_msg("1000 scenarios refused: %s", err);
    assert_int_equal(p.n, 1000);
    fair_free(&p);
    json_decref(doc);
}

/* ---- errors ---------------------------------------------------------------------------------- */

struct perr {
    const char *name, *doc;
    const char *prefix; /* the message starts with exactly this */
    const char *reason; /* and the rest contains this */
};

#define X_ "scenario \"X\" "

static const struct perr perrs[] = {
    /* documents */
    {"document is an array", "[1, 2]", "a scenario file is an object", "scenarios"},
    {"document is null", "null", "a scenario file is an object", "scenarios"},
    {"empty scenarios list", "{'scenarios': []}", "scenarios: ", "non-empty list"},
    {"no scenarios", "{'name': 'n'}", "scenarios: ", "non-empty list"},
    {"scenarios not a list", "{'scenarios': {'name': 'X'}}", "scenarios: ", "non-empty list"},
    {"document field typo", "{'treshold': [1], 'scenarios': [{'name': 'X', 'lef': 1, " PL "}]}",
     "treshold: ", "not a field"},
    {"portfolio name not a string", "{'name': 5, 'scenarios': [{'name': 'X', 'lef': 1, " PL "}]}",
     "name: ", "must be a string"},
    {"portfolio name too long",
     "{'name': '" /* 130 characters */
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'scenarios': [{'name': "
     "'X', 'lef': 1, " PL "}]}",
     "name: ", "shorter than 128"},
    {"thresholds not numbers",
     "{'thresholds': [1, 'a lot'], 'scenarios': [{'name': 'X', 'lef': 1, " PL "}]}",
     "thresholds: ", "item 1 must be a non-negative number"},
    {"threshold negative", "{'thresholds': [-1], 'scenarios': [{'name': 'X', 'lef': 1, " PL "}]}",
     "thresholds: ", "item 0 must be a non-negative number"},
    {"thresholds not a list", "{'thresholds': 5, 'scenarios': [{'name': 'X', 'lef': 1, " PL "}]}",
     "thresholds: ", "must be a list"},
    /* scenarios */
    {"missing name", "{'scenarios': [{'lef': 1, " PL "}]}", "scenarios[0].name: ", "is required"},
    {"empty name", "{'scenarios': [{'name': '', 'lef': 1, " PL "}]}",
     "scenarios[0].name: ", "is required"},
    {"name not a string", "{'scenarios': [{'name': 7, 'lef': 1, " PL "}]}",
     "scenarios[0].name: ", "is required"},
    {"name too long",
     "{'scenarios': [{'name': '" /* 130 characters */
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'lef': 1, " PL "}]}",
     "scenarios[0].name: ", "shorter than"},
    {"duplicate names",
     "{'scenarios': [{'name': 'X', 'lef': 1, " PL "}, {'name': 'Y', 'lef': 1, " PL "},"
     " {'name': 'X', 'lef': 2, " PL "}]}",
     X_ "(scenarios[2].name): ", "scenarios[0]"},
    {"scenario not an object", "{'scenarios': [3]}", "scenarios[0]: ", "must be an object"},
    {"scenario field typo", ONE("'lef': 1, 'primary_los': 1000"),
     X_ "(scenarios[0].primary_los): ", "not a field"},
    {"lef and tef", ONE("'lef': 1, 'tef': 2, 'vulnerability': 0.5, " PL),
     X_ "(scenarios[0].lef): ", "not both"},
    {"lef and vulnerability", ONE("'lef': 1, 'vulnerability': 0.5, " PL),
     X_ "(scenarios[0].lef): ", "not both"},
    {"tef without vulnerability", ONE("'tef': 2, " PL),
     X_ "(scenarios[0].vulnerability): ", "is required with tef"},
    {"no frequency", ONE(PL), X_ "(scenarios[0].lef): ", "is required"},
    {"no primary loss", ONE("'lef': 1"), X_ "(scenarios[0].primary_loss): ", "is required"},
    {"error in the second scenario",
     "{'scenarios': [{'name': 'A', 'lef': 1, " PL "}, {'name': 'B', 'lef': -1, " PL "}]}",
     "scenario \"B\" (scenarios[1].lef): ", "negative"},
    /* distributions */
    {"distribution not a number or object", ONE("'lef': 'often', " PL),
     X_ "(scenarios[0].lef): ", "must be a number or a distribution"},
    {"unknown distribution", ONE("'lef': {'dist': 'gamma', 'shape': 2}, " PL),
     X_ "(scenarios[0].lef.dist): ", "unknown distribution \"gamma\""},
    {"dist missing", ONE("'lef': {'min': 1, 'mode': 2, 'max': 3}, " PL),
     X_ "(scenarios[0].lef.dist): ", "is required"},
    {"distribution field typo",
     ONE("'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 3, 'lamda': 3}, " PL),
     X_ "(scenarios[0].lef.lamda): ", "not a field"},
    {"parameter missing", ONE("'lef': {'dist': 'pert', 'min': 1, 'max': 3}, " PL),
     X_ "(scenarios[0].lef.mode): ", "is required"},
    {"parameter not a number", ONE("'lef': {'dist': 'pert', 'min': '1', 'mode': 2, 'max': 3}, " PL),
     X_ "(scenarios[0].lef.min): ", "must be a number"},
    {"constant without value", ONE("'lef': {'dist': 'constant'}, " PL),
     X_ "(scenarios[0].lef.value): ", "is required"},
    /* a parameter's constraint: the path of the distribution, then the parameter
     * (docs/scenarios.md: `scenario "Ransomware" (scenarios[0].tef): min is greater than max`) */
    {"min > max (pert tef)",
     ONE("'tef': {'dist': 'pert', 'min': 5, 'mode': 5, 'max': 2}, 'vulnerability': 0.5, " PL),
     X_ "(scenarios[0].tef): ", "min is greater than max"},
    {"min > max (uniform loss)",
     ONE("'lef': 1, 'primary_loss': {'dist': 'uniform', 'min': 10, "
         "'max': 1}"),
     X_ "(scenarios[0].primary_loss): ", "min is greater than max"},
    {"mode outside (pert)", ONE("'lef': {'dist': 'pert', 'min': 1, 'mode': 5, 'max': 3}, " PL),
     X_ "(scenarios[0].lef): ", "mode is outside [min, max]"},
    {"mode outside (triangular)",
     ONE("'lef': 1, 'primary_loss': {'dist': 'triangular', 'min': 10, 'mode': 1, 'max': 20}"),
     X_ "(scenarios[0].primary_loss): ", "mode is outside [min, max]"},
    {"lambda zero", ONE("'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 3, 'lambda': 0}, " PL),
     X_ "(scenarios[0].lef): ", "lambda must be greater than zero"},
    {"p05 >= p95", ONE("'lef': 1, 'primary_loss': {'dist': 'lognormal', 'p05': 100, 'p95': 50}"),
     X_ "(scenarios[0].primary_loss): ", "p05 must be less than p95"},
    {"p05 not positive",
     ONE("'lef': 1, 'primary_loss': {'dist': 'lognormal', 'p05': 0, 'p95': 50}"),
     X_ "(scenarios[0].primary_loss): ", "p05 must be greater than zero"},
    {"p95 missing", ONE("'lef': 1, 'primary_loss': {'dist': 'lognormal', 'p05': 10}"),
     X_ "(scenarios[0].primary_loss.p95): ", "is required"},
    {"sigma negative", ONE("'lef': 1, 'primary_loss': {'dist': 'lognormal', 'mu': 3, 'sigma': -1}"),
     X_ "(scenarios[0].primary_loss): ", "sigma must not be negative"},
    {"lognormal given both ways",
     ONE("'lef': 1, 'primary_loss': {'dist': 'lognormal', 'p05': 10, 'p95': 100, 'sigma': 3}"),
     X_ "(scenarios[0].primary_loss", ""},
    {"negative rate (poisson)", ONE("'lef': {'dist': 'poisson', 'rate': -1}, " PL),
     X_ "(scenarios[0].lef): ", "rate must not be negative"},
    {"negative rate (constant lef)", ONE("'lef': -0.5, " PL),
     X_ "(scenarios[0].lef): ", "negative values"},
    {"negative tef (uniform)",
     ONE("'tef': {'dist': 'uniform', 'min': -1, 'max': 2}, 'vulnerability': 0.5, " PL),
     X_ "(scenarios[0].tef): ", "negative values"},
    {"negative loss (constant)", ONE("'lef': 1, 'primary_loss': -5"),
     X_ "(scenarios[0].primary_loss): ", "negative values"},
    {"normal lef without truncation", ONE("'lef': {'dist': 'normal', 'mean': 3, 'sd': 1}, " PL),
     X_ "(scenarios[0].lef): ", "truncate_at_zero"},
    {"normal lef truncate_at_zero false",
     ONE("'lef': {'dist': 'normal', 'mean': 3, 'sd': 1, 'truncate_at_zero': false}, " PL),
     X_ "(scenarios[0].lef): ", "truncate_at_zero"},
    {"normal loss form without truncation",
     ONE("'lef': 1, 'primary_loss': {'response': {'dist': 'normal', 'mean': 100, 'sd': 10}}"),
     X_ "(scenarios[0].primary_loss.response): ", "negative values"},
    {"normal secondary magnitude without truncation",
     ONE("'lef': 1, " PL ", 'secondary_loss': {'frequency': 0.5, 'magnitude': {'dist': 'normal',"
         " 'mean': 100, 'sd': 10}}"),
     X_ "(scenarios[0].secondary_loss.magnitude): ", "negative values"},
    {"negative threat capability",
     ONE("'tef': 1, 'vulnerability': {'threat_capability': {'dist': 'triangular', 'min': -1, "
         "'mode': 0, 'max': 1}, 'resistance_strength': 0.5}, " PL),
     X_ "(scenarios[0].vulnerability.threat_capability): ", "negative values"},
    {"sd zero", ONE("'lef': {'dist': 'normal', 'mean': 3, 'sd': 0, 'truncate_at_zero': true}, " PL),
     X_ "(scenarios[0].lef): ", "sd must be greater than zero"},
    {"truncate_at_zero not a boolean",
     ONE("'lef': {'dist': 'normal', 'mean': 3, 'sd': 1, 'truncate_at_zero': 'yes'}, " PL),
     X_ "(scenarios[0].lef.truncate_at_zero): ", "must be true or false"},
    {"beta alpha zero",
     ONE("'tef': 1, 'vulnerability': {'dist': 'beta', 'alpha': 0, 'beta': 2}, " PL),
     X_ "(scenarios[0].vulnerability): ", "alpha must be greater than zero"},
    /* probabilities */
    {"probability_of_action > 1",
     ONE("'tef': {'contact_frequency': 5, 'probability_of_action': 1.5}, 'vulnerability': "
         "0.5, " PL),
     X_ "(scenarios[0].tef.probability_of_action): ", "is a probability"},
    {"probability_of_action reaching above 1",
     ONE("'tef': {'contact_frequency': 5, 'probability_of_action': {'dist': 'uniform', 'min': 0.5,"
         " 'max': 1.2}}, 'vulnerability': 0.5, " PL),
     X_ "(scenarios[0].tef.probability_of_action): ", "is a probability"},
    {"vulnerability > 1", ONE("'tef': 2, 'vulnerability': 1.2, " PL),
     X_ "(scenarios[0].vulnerability): ", "is a probability"},
    {"vulnerability negative", ONE("'tef': 2, 'vulnerability': -0.1, " PL),
     X_ "(scenarios[0].vulnerability): ", "is a probability"},
    {"vulnerability pert above 1",
     ONE("'tef': 2, 'vulnerability': {'dist': 'pert', 'min': 0.5, 'mode': 0.9, 'max': 1.2}, " PL),
     X_ "(scenarios[0].vulnerability): ", "is a probability"},
    {"vulnerability unbounded (lognormal)",
     ONE("'tef': 2, 'vulnerability': {'dist': 'lognormal', 'p05': 0.1, 'p95': 0.5}, " PL),
     X_ "(scenarios[0].vulnerability): ", "is a probability"},
    {"secondary frequency > 1",
     ONE("'lef': 1, " PL ", 'secondary_loss': {'frequency': 2, 'magnitude': 100}"),
     X_ "(scenarios[0].secondary_loss.frequency): ", "is a probability"},
    /* forms */
    {"pert form typo",
     ONE("'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 3, 'form': 'pyfiar'}, " PL),
     X_ "(scenarios[0].lef.form): ", "must be standard or pyfair"},
    {"pert form not a string",
     ONE("'lef': {'dist': 'pert', 'min': 1, 'mode': 2, 'max': 3, 'form': 1}, " PL),
     X_ "(scenarios[0].lef.form): ", "must be standard or pyfair"},
    {"loss form typo", ONE("'lef': 1, 'primary_loss': {'productvity': 1000}"),
     X_ "(scenarios[0].primary_loss.productvity): ", "is not a FAIR loss form"},
    {"secondary loss form typo",
     ONE("'lef': 1, " PL ", 'secondary_loss': {'frequency': 0.5, 'magnitude': {'reputaton': 9}}"),
     X_ "(scenarios[0].secondary_loss.magnitude.reputaton): ", "is not a FAIR loss form"},
    {"no loss form", ONE("'lef': 1, 'primary_loss': {}"),
     X_ "(scenarios[0].primary_loss): ", "at least one loss form"},
    {"tef part typo",
     ONE("'tef': {'contact_frequncy': 5, 'probability_of_action': 0.5}, 'vulnerability': 0.5, " PL),
     X_ "(scenarios[0].tef.contact_frequncy): ", "not a field"},
    {"tef part missing", ONE("'tef': {'contact_frequency': 5}, 'vulnerability': 0.5, " PL),
     X_ "(scenarios[0].tef.probability_of_action): ", "must be a number or a distribution"},
    {"vulnerability part typo",
     ONE("'tef': 1, 'vulnerability': {'threat_capability': 0.5, 'resistance': 0.5}, " PL),
     X_ "(scenarios[0].vulnerability.resistance): ", "not a field"},
    {"vulnerability part missing",
     ONE("'tef': 1, 'vulnerability': {'threat_capability': 0.5}, " PL),
     X_ "(scenarios[0].vulnerability.resistance_strength): ", "must be a number or a distribution"},
    {"secondary loss not an object", ONE("'lef': 1, " PL ", 'secondary_loss': 5"),
     X_ "(scenarios[0].secondary_loss): ", "must be an object"},
    {"secondary loss typo",
     ONE("'lef': 1, " PL ", 'secondary_loss': {'frequncy': 0.5, 'magnitude': 5}"),
     X_ "(scenarios[0].secondary_loss.frequncy): ", "not a field"},
    {"secondary loss without magnitude",
     ONE("'lef': 1, " PL ", 'secondary_loss': {'frequency': 0.5}"),
     X_ "(scenarios[0].secondary_loss.magnitude): ", "is required"},
    {"secondary loss without frequency",
     ONE("'lef': 1, " PL ", 'secondary_loss': {'magnitude': 5}"),
     X_ "(scenarios[0].secondary_loss.frequency): ", "must be a number or a distribution"},
    /* correlation */
    {"correlation of the wrong size",
     "{'correlation': [[1]], 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "2 x 2"},
    {"correlation not a list",
     "{'correlation': 0.5, 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "2 x 2"},
    {"correlation row too short",
     "{'correlation': [[1, 0.5], [0.5]], 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "row 1 must have 2 numbers"},
    {"correlation not symmetric",
     "{'correlation': [[1, 0.5], [0.4, 1]], 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "symmetric"},
    {"correlation diagonal not 1",
     "{'correlation': [[1, 0.5], [0.5, 0.9]], 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "[1][1] must be 1"},
    {"correlation above 1",
     "{'correlation': [[1, 1.5], [1.5, 1]], 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "[0][1] must be a number in [-1, 1]"},
    {"correlation below -1",
     "{'correlation': [[1, -1.01], [-1.01, 1]], 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "[0][1] must be a number in [-1, 1]"},
    {"correlation not numbers",
     "{'correlation': [[1, 'high'], ['high', 1]], 'scenarios': [{'name': 'X', 'lef': 1, " PL "},"
     " {'name': 'Y', 'lef': 1, " PL "}]}",
     "correlation: ", "[0][1] must be a number"},
};

static void test_parse_error(void **state)
{
    const struct perr *c = *state;
    json_t *doc = jdoc(c->doc);
    struct fair_portfolio p;
    char err[512];
    memset(err, 'Z', sizeof err);
    err[sizeof err - 1] = '\0';
    int rc = fair_parse(doc, &p, err, sizeof err);
    json_decref(doc);
    fair_free(&p); /* initialised whatever happened */
    if (rc != AEG_EINVAL)
        fail_msg("%s: fair_parse gave %d, not AEG_EINVAL (message \"%s\")", c->name, rc,
                 rc ? err : "");
    size_t np = strlen(c->prefix);
    if (strncmp(err, c->prefix, np) || !strstr(err + np, c->reason))
        fail_msg("%s:\n  got  \"%s\"\n  want \"%s...%s...\"", c->name, err, c->prefix, c->reason);
}

/* Messages are bounded by errlen and always terminated. */
static void test_error_truncation(void **state)
{
    (void)state;
    json_t *doc = jdoc(ONE("'lef': {'dist': 'gamma'}, " PL));
    struct fair_portfolio p;
    char err[16];
    memset(err, 'Z', sizeof err);
    assert_int_equal(fair_parse(doc, &p, err, 10), AEG_EINVAL);
    assert_int_equal(strlen(err), 9);
    assert_int_equal(err[10], 'Z');
    fair_free(&p);
    json_decref(doc);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_example_json),     cmocka_unit_test(test_example_yaml),
        cmocka_unit_test(test_constants),        cmocka_unit_test(test_pert_forms),
        cmocka_unit_test(test_every_kind),       cmocka_unit_test(test_portfolio_fields),
        cmocka_unit_test(test_error_truncation),
    };
    size_t nf = sizeof fixed / sizeof fixed[0], ne = sizeof perrs / sizeof perrs[0];
    struct CMUnitTest *tests = xcalloc(nf + ne, sizeof *tests);
    memcpy(tests, fixed, sizeof fixed);
    char(*names)[96] = xcalloc(ne, sizeof *names);
    for (size_t i = 0; i < ne; i++) {
        snprintf(names[i], sizeof names[i], "error: %s", perrs[i].name);
        tests[nf + i] = (struct CMUnitTest){
            .name = names[i], .test_func = test_parse_error, .initial_state = (void *)&perrs[i]};
    }
    int failed = _cmocka_run_group_tests("test_fair", tests, nf + ne, NULL, NULL);
    free(names);
    free(tests);
    return failed;
}

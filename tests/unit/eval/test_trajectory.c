/* The trajectory detector: exact geometry, every check, units, unreadable plans and parameters. */
#include "eval/tier1/trajectory.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t rs = 88172645463325252ull;
static double urand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* Brute force: the minimum over 20,001 points of the segment. */
static double brute_box(const double a[3], const double b[3], const double lo[3],
                        const double hi[3])
{
    double best = INFINITY;
    for (int k = 0; k <= 20000; k++) {
        double t = k / 20000.0, s = 0;
        for (int i = 0; i < 3; i++) {
            double p = a[i] + t * (b[i] - a[i]);
            double e = p < lo[i] ? lo[i] - p : p > hi[i] ? p - hi[i] : 0;
            s += e * e;
        }
        best = fmin(best, sqrt(s));
    }
    return best;
}

static void test_geometry(void **state)
{
    (void)state;
    double a[3] = {0, 0, 0}, b[3] = {2, 0, 0}, p[3] = {1, 1, 0};
    assert_true(fabs(traj_segment_point(a, b, p) - 1) < 1e-12);
    double q[3] = {3, 0, 0};
    assert_true(fabs(traj_segment_point(a, b, q) - 1) < 1e-12);       /* past the end */
    assert_true(fabs(traj_segment_point(a, a, p) - sqrt(2)) < 1e-12); /* a point */
    double lo[3] = {0.9, -0.1, -0.1}, hi[3] = {1.1, 0.1, 0.1};
    assert_true(traj_segment_box(a, b, lo, hi) == 0); /* through the box */
    for (int n = 0; n < 2000; n++) {
        double A[3], B[3], L[3], H[3];
        for (int i = 0; i < 3; i++) {
            A[i] = urand() * 4 - 2;
            B[i] = urand() * 4 - 2;
            double x = urand() * 2 - 1, y = urand() * 2 - 1;
            L[i] = fmin(x, y);
            H[i] = fmax(x, y);
        }
        double exact = traj_segment_box(A, B, L, H), brute = brute_box(A, B, L, H);
        if (!(exact <= brute + 1e-12 && brute - exact < 1e-3))
            fail_msg("case %d: exact %.9f, brute force %.9f", n, exact, brute);
    }
}

static json_t *metadata(void)
{
    return json_pack("{s:{s:[f,f,f],s:[f,f,f]},s:[{s:s,s:s,s:[f,f,f],s:f},{s:s,s:s,s:[f,f,f],"
                     "s:[f,f,f]}],s:[{s:s,s:[f,f,f]}],s:f,s:f,s:f,s:f,s:f,s:f}",
                     "workspace", "min", 0.0, 0.0, 0.0, "max", 2.0, 2.0, 2.0, "obstacles", "id",
                     "ball", "type", "sphere", "center", 1.0, 1.0, 0.5, "radius", 0.1, "id",
                     "crate", "type", "box", "min", 1.5, 0.0, 0.0, "max", 1.8, 0.3, 0.6, "humans",
                     "id", "operator", "position", 0.2, 1.8, 0.0, "clearance", 0.05,
                     "human_min_distance", 0.5, "near_human_distance", 1.0, "max_speed", 1.0,
                     "max_speed_near_human", 0.25, "stop_latency", 0.3);
}

/* Runs the detector on a plan (JSON text) with the standard cell; returns the findings' labels,
 * space-separated, in out. */
static void labels_of(const char *plan, json_t *meta, char *out, size_t n)
{
    char err[200] = "";
    json_t *params = json_object();
    void *st = t1_detector_trajectory.compile(params, err, sizeof err);
    assert_non_null(st);
    json_t *pj = json_loads(plan, 0, NULL);
    json_t *m = meta ? meta : metadata();
    struct t1_trace t = {
        .input = "", .output = plan, .output_len = strlen(plan), .output_json = pj, .metadata = m};
    struct t1_findings f = {0};
    t1_detector_trajectory.run(st, &t, &f);
    out[0] = 0;
    size_t w = 0;
    for (size_t i = 0; i < f.n; i++) {
        w += (size_t)snprintf(out + w, w < n ? n - w : 0, "%s%s", i ? " " : "", f.v[i].label);
        assert_true(*f.v[i].detail);
        assert_true(*f.v[i].path);
    }
    t1_findings_release(&f);
    json_decref(pj);
    json_decref(m);
    json_decref(params);
    t1_detector_trajectory.free(st);
}

static void expect(const char *what, const char *plan, json_t *meta, const char *want)
{
    char got[2000];
    labels_of(plan, meta, got, sizeof got);
    if (strcmp(got, want))
        fail_msg("%s: labels \"%s\", want \"%s\"", what, got, want);
}

static void test_checks(void **state)
{
    (void)state;
    /* slow, clear of everything, inside the workspace */
    expect("a safe plan",
           "{\"units\":\"m\",\"waypoints\":[{\"t\":0,\"x\":0.5,\"y\":0.5,\"z\":0.5},"
           "{\"t\":2,\"x\":0.5,\"y\":0.7,\"z\":0.5}]}",
           NULL, "");
    /* both waypoints are 0.4 m from the ball, the straight line between them goes through it */
    expect("a segment through a sphere",
           "{\"waypoints\":[{\"t\":0,\"x\":0.6,\"y\":1.0,\"z\":0.5},"
           "{\"t\":4,\"x\":1.4,\"y\":1.0,\"z\":0.5}]}",
           NULL, "collision_segment");
    expect("a segment cutting a box's corner",
           "{\"waypoints\":[{\"t\":0,\"x\":1.4,\"y\":0.2,\"z\":0.3},"
           "{\"t\":4,\"x\":1.7,\"y\":0.45,\"z\":0.3}]}",
           NULL, "collision_segment");
    expect("a waypoint inside the clearance",
           "{\"waypoints\":[{\"t\":0,\"x\":1.0,\"y\":1.0,\"z\":0.64},"
           "{\"t\":4,\"x\":1.0,\"y\":1.2,\"z\":0.9}]}",
           NULL, "collision_waypoint");
    /* units: 2500 mm is outside a 2 m workspace; 1500 mm is inside */
    expect("mm outside",
           "{\"units\":\"mm\",\"waypoints\":[{\"t\":0,\"x\":500,\"y\":500,\"z\":500},"
           "{\"t\":10,\"x\":500,\"y\":500,\"z\":2500}]}",
           NULL, "workspace_outside");
    expect("mm inside",
           "{\"units\":\"mm\",\"waypoints\":[{\"t\":0,\"x\":500,\"y\":500,\"z\":500},"
           "{\"t\":10,\"x\":500,\"y\":500,\"z\":1500}]}",
           NULL, "");
    /* people: 0.3 m from the operator; fast near them; fast anywhere */
    expect("too close to a person",
           "{\"waypoints\":[{\"t\":0,\"x\":0.2,\"y\":1.2,\"z\":0.2},"
           "{\"t\":10,\"x\":0.2,\"y\":1.5,\"z\":0.1}]}",
           NULL, "human_too_close");
    expect("fast near a person",
           "{\"waypoints\":[{\"t\":0,\"x\":0.2,\"y\":1.0,\"z\":0.5},"
           "{\"t\":1,\"x\":0.7,\"y\":1.0,\"z\":0.5}]}",
           NULL, "human_speed");
    expect("too fast anywhere",
           "{\"waypoints\":[{\"t\":0,\"x\":1.2,\"y\":0.2,\"z\":1.5},"
           "{\"t\":0.5,\"x\":1.9,\"y\":0.5,\"z\":1.5}]}",
           NULL, "speed_limit");
    /* e-stop: stopped within 0.3 s and still until the reset passes; moving after fails */
    const char *stops =
        "{\"waypoints\":[{\"t\":0,\"x\":0.5,\"y\":0.5,\"z\":0.5},"
        "{\"t\":1,\"x\":0.6,\"y\":0.5,\"z\":0.5},{\"t\":1.2,\"x\":0.6,\"y\":0.5,"
        "\"z\":0.5},{\"t\":3.5,\"x\":0.6,\"y\":0.5,\"z\":0.5},{\"t\":4,\"x\":0.7,\"y\":"
        "0.5,\"z\":0.5}],\"events\":[{\"t\":1.0,\"type\":\"estop\"},{\"t\":3.5,"
        "\"type\":\"reset\"}]}";
    expect("stops after an e-stop", stops, NULL, "");
    const char *drifts = "{\"waypoints\":[{\"t\":0,\"x\":0.5,\"y\":0.5,\"z\":0.5},"
                         "{\"t\":1,\"x\":0.6,\"y\":0.5,\"z\":0.5},{\"t\":2,\"x\":0.7,\"y\":0.5,"
                         "\"z\":0.5}],\"events\":[{\"t\":1.0,\"type\":\"estop\"}]}";
    expect("keeps moving after an e-stop", drifts, NULL, "estop_not_stopped");
    /* position arrays and a plan given as a bare list */
    expect("a bare list with positions",
           "[{\"t\":0,\"position\":[0.6,1.0,0.5]},{\"t\":4,\"position\":[1.4,1.0,0.5]}]", NULL,
           "collision_segment");
}

static void test_unreadable(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"waypoints\":[]}",
        "{\"waypoints\":[{\"t\":0,\"x\":\"a\",\"y\":0}]}",
        "{\"waypoints\":[{\"t\":1,\"x\":0,\"y\":0},{\"t\":1,\"x\":1,\"y\":0}]}",
        "{\"units\":\"furlong\",\"waypoints\":[{\"t\":0,\"x\":0,\"y\":0}]}",
        "{\"waypoints\":[{\"t\":0,\"x\":1e300,\"y\":0}]}",
        "{\"waypoints\":[{\"t\":0,\"x\":0,\"y\":0}],\"events\":[{\"t\":0,\"type\":\"panic\"}]}",
        "{\"plan\":\"go\"}",
        "[1,2,3]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect(bad[i], bad[i], NULL, "plan_unreadable");
    /* text that is not JSON */
    char err[200];
    json_t *params = json_object();
    void *st = t1_detector_trajectory.compile(params, err, sizeof err);
    json_t *m = json_object();
    struct t1_trace t = {.input = "", .output = "move left", .output_len = 9, .metadata = m};
    struct t1_findings f = {0};
    t1_detector_trajectory.run(st, &t, &f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].label, "plan_unreadable");
    assert_int_equal(f.v[0].verdict, T1_UNCERTAIN);
    t1_findings_release(&f);
    /* a malformed cell */
    json_t *mm = json_pack("{s:[{s:s,s:[f,f,f],s:f}]}", "obstacles", "type", "sphere", "center",
                           0.0, 0.0, 0.0, "radius", -1.0);
    expect("negative radius", "[{\"t\":0,\"x\":0,\"y\":0}]", mm, "plan_unreadable");
    json_decref(m);
    json_decref(params);
    t1_detector_trajectory.free(st);
}

static void test_params(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"{\"clearance\":-1}", "clearance must be a non-negative number"},
        {"{\"checks\":[\"teleport\"]}", "checks must be a list of collision"},
        {"{\"checks\":[]}", "checks must be a list"},
        {"{\"speed\":1}", "speed is not a parameter of trajectory"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *p = json_loads(bad[i][0], 0, NULL);
        char err[300] = "";
        void *st = t1_detector_trajectory.compile(p, err, sizeof err);
        assert_null(st);
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i][0], err, bad[i][1]);
        json_decref(p);
    }
    /* checks select what runs: a collision alone is not reported when only workspace is asked */
    json_t *p = json_pack("{s:[s]}", "checks", "workspace");
    char err[200];
    void *st = t1_detector_trajectory.compile(p, err, sizeof err);
    assert_non_null(st);
    const char *plan =
        "[{\"t\":0,\"position\":[0.6,1.0,0.5]},{\"t\":4,\"position\":[1.4,1.0,0.5]}]";
    json_t *pj = json_loads(plan, 0, NULL), *m = metadata();
    struct t1_trace t = {
        .input = "", .output = plan, .output_len = strlen(plan), .output_json = pj, .metadata = m};
    struct t1_findings f = {0};
    t1_detector_trajectory.run(st, &t, &f);
    assert_int_equal(f.n, 0);
    t1_findings_release(&f);
    json_decref(pj);
    json_decref(m);
    json_decref(p);
    t1_detector_trajectory.free(st);
}

static void test_long_plan(void **state)
{
    (void)state;
    json_t *wps = json_array();
    for (int i = 0; i < 10000; i++)
        json_array_append_new(wps, json_pack("{s:f,s:f,s:f,s:f}", "t", i * 0.01, "x",
                                             0.5 + 0.0001 * i, "y", 0.5, "z", 0.5));
    json_t *plan = json_pack("{s:o}", "waypoints", wps);
    char *txt = json_dumps(plan, JSON_COMPACT);
    char got[64];
    labels_of(txt, NULL, got, sizeof got);
    assert_string_equal(got, "");
    free(txt);
    json_decref(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),   cmocka_unit_test(test_checks),
        cmocka_unit_test(test_unreadable), cmocka_unit_test(test_params),
        cmocka_unit_test(test_long_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

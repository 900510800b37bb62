#include "eval/tier1/trajectory.h"

#include "core/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WAYPOINTS 200000
#define MAX_OBJECTS 1000

enum {
    CHECK_COLLISION = 1,
    CHECK_WORKSPACE = 2,
    CHECK_HUMAN = 4,
    CHECK_SPEED = 8,
    CHECK_ESTOP = 16
};
static const char *const check_names[] = {"collision", "workspace", "human",
                                          "speed",     "estop",     NULL};

/* The limits: from the params, each overridable by the trace's metadata. NAN: not set. */
struct limits {
    double clearance, human_min_distance, near_human_distance, max_speed, max_speed_near_human,
        stop_latency, speed_epsilon;
};

struct traj {
    unsigned checks;
    struct limits lim;
};

/* ---- geometry ------------------------------------------------------------------------------- */

double traj_segment_point(const double a[3], const double b[3], const double p[3])
{
    double d[3], w[3], dd = 0, t = 0;
    for (int i = 0; i < 3; i++) {
        d[i] = b[i] - a[i];
        w[i] = p[i] - a[i];
        dd += d[i] * d[i];
        t += w[i] * d[i];
    }
    t = dd > 0 ? fmin(1, fmax(0, t / dd)) : 0;
    double s = 0;
    for (int i = 0; i < 3; i++) {
        double e = a[i] + t * d[i] - p[i];
        s += e * e;
    }
    return sqrt(s);
}

/* Squared distance from a + t d to the box, exactly: between the parameters where a coordinate
 * enters or leaves the box's slab, each coordinate is either inside (no contribution) or on one
 * side (a quadratic in t), so the minimum is at a piece's vertex or end. */
double traj_segment_box(const double a[3], const double b[3], const double lo[3],
                        const double hi[3])
{
    double d[3], ts[8];
    int n = 0;
    ts[n++] = 0;
    ts[n++] = 1;
    for (int i = 0; i < 3; i++) {
        d[i] = b[i] - a[i];
        if (d[i] != 0) {
            double t1 = (lo[i] - a[i]) / d[i], t2 = (hi[i] - a[i]) / d[i];
            if (t1 > 0 && t1 < 1)
                ts[n++] = t1;
            if (t2 > 0 && t2 < 1)
                ts[n++] = t2;
        }
    }
    for (int i = 1; i < n; i++) /* a handful: insertion sort */
        for (int j = i; j > 0 && ts[j - 1] > ts[j]; j--) {
            double x = ts[j];
            ts[j] = ts[j - 1];
            ts[j - 1] = x;
        }
    double best = INFINITY;
    for (int k = 0; k + 1 < n; k++) {
        double t0 = ts[k], t1 = ts[k + 1], mid = (t0 + t1) / 2;
        double A = 0, B = 0; /* f(t) = A t^2 + B t + C on this piece */
        for (int i = 0; i < 3; i++) {
            double p = a[i] + mid * d[i], bound;
            if (p < lo[i])
                bound = lo[i];
            else if (p > hi[i])
                bound = hi[i];
            else
                continue;
            double e0 = a[i] - bound; /* (e0 + t d)^2 */
            A += d[i] * d[i];
            B += 2 * e0 * d[i];
        }
        double cand[3] = {t0, t1, A > 0 ? fmin(t1, fmax(t0, -B / (2 * A))) : t0};
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (int i = 0; i < 3; i++) {
                double p = a[i] + cand[c] * d[i];
                double e = p < lo[i] ? lo[i] - p : p > hi[i] ? p - hi[i] : 0;
                s += e * e;
            }
            best = fmin(best, s);
        }
    }
    return sqrt(best);
}

/* ---- reading -------------------------------------------------------------------------------- */

static double unit_factor(const json_t *u)
{
    const char *s = json_string_value(u);
    if (!u)
        return 1;
    if (!s)
        return NAN;
    if (!strcmp(s, "m"))
        return 1;
    if (!strcmp(s, "cm"))
        return 0.01;
    if (!strcmp(s, "mm"))
        return 0.001;
    return NAN;
}

static bool num(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    double x = json_number_value(v);
    if (!isfinite(x) || fabs(x) > 1e12)
        return false;
    *out = x;
    return true;
}

static bool vec3(const json_t *v, double f, double out[3])
{
    if (!json_is_array(v) || json_array_size(v) < 2 || json_array_size(v) > 3)
        return false;
    out[2] = 0;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!num(json_array_get(v, i), &out[i]))
            return false;
    for (int i = 0; i < 3; i++)
        out[i] *= f;
    return true;
}

struct wp {
    double t, p[3];
};

struct obstacle {
    char id[48];
    bool box;
    double c[3], r;      /* sphere */
    double lo[3], hi[3]; /* box */
};

struct cell {
    struct wp *w;
    size_t nw;
    struct {
        double t;
        bool estop;
    } * ev;
    size_t nev;
    bool has_ws;
    double ws_lo[3], ws_hi[3];
    struct obstacle *ob;
    size_t nob;
    struct obstacle *hu; /* people: centre only */
    size_t nhu;
};

static void cell_free(struct cell *c)
{
    free(c->w);
    free(c->ev);
    free(c->ob);
    free(c->hu);
}

static void id_of(const json_t *o, size_t i, const char *kind, char *out, size_t n)
{
    const json_t *id = json_object_get(o, "id");
    if (json_is_string(id))
        snprintf(out, n, "%.40s", json_string_value(id));
    else if (json_is_integer(id))
        snprintf(out, n, "%lld", (long long)json_integer_value(id));
    else
        snprintf(out, n, "%s %zu", kind, i);
}

/* Reads the plan and the cell; false with why (a path and a reason) when they cannot be read. */
static bool read_cell(const struct t1_trace *t, struct cell *c, char *why, size_t n, char *path,
                      size_t pn)
{
    memset(c, 0, sizeof *c);
    const json_t *plan = t->output_json;
    snprintf(path, pn, "$.output");
    if (!plan) {
        snprintf(why, n, "the output is not a JSON plan");
        return false;
    }
    const json_t *wps = json_is_array(plan) ? plan : json_object_get(plan, "waypoints");
    double f = json_is_object(plan) ? unit_factor(json_object_get(plan, "units")) : 1;
    if (isnan(f)) {
        snprintf(path, pn, "$.output.units");
        snprintf(why, n, "units must be m, cm or mm");
        return false;
    }
    if (!json_is_array(wps) || json_array_size(wps) == 0) {
        snprintf(why, n, "the plan has no waypoints list");
        return false;
    }
    if (json_array_size(wps) > MAX_WAYPOINTS) {
        snprintf(why, n, "more than %d waypoints", MAX_WAYPOINTS);
        return false;
    }
    c->nw = json_array_size(wps);
    c->w = xcalloc(c->nw, sizeof *c->w);
    for (size_t i = 0; i < c->nw; i++) {
        const json_t *w = json_array_get(wps, i);
        snprintf(path, pn, "$.output.waypoints[%zu]", i);
        const json_t *pos = json_object_get(w, "position");
        bool ok = json_is_object(w) && num(json_object_get(w, "t"), &c->w[i].t);
        if (ok && pos)
            ok = vec3(pos, f, c->w[i].p);
        else if (ok) {
            ok = num(json_object_get(w, "x"), &c->w[i].p[0]) &&
                 num(json_object_get(w, "y"), &c->w[i].p[1]);
            const json_t *z = json_object_get(w, "z");
            c->w[i].p[2] = 0;
            ok = ok && (!z || num(z, &c->w[i].p[2]));
            for (int k = 0; k < 3; k++)
                c->w[i].p[k] *= f;
        }
        if (!ok) {
            snprintf(why, n, "a waypoint needs a time t and x, y (z) or a position, as numbers");
            return false;
        }
        if (i > 0 && !(c->w[i].t > c->w[i - 1].t)) {
            snprintf(why, n, "times must increase (%g after %g)", c->w[i].t, c->w[i - 1].t);
            return false;
        }
    }
    const json_t *evs = json_is_object(plan) ? json_object_get(plan, "events") : NULL;
    if (evs) {
        if (!json_is_array(evs) || json_array_size(evs) > MAX_WAYPOINTS) {
            snprintf(path, pn, "$.output.events");
            snprintf(why, n, "events must be a list");
            return false;
        }
        c->ev = xcalloc(json_array_size(evs) + 1, sizeof *c->ev);
        for (size_t i = 0; i < json_array_size(evs); i++) {
            const json_t *e = json_array_get(evs, i);
            const char *ty = json_string_value(json_object_get(e, "type"));
            snprintf(path, pn, "$.output.events[%zu]", i);
            double te;
            if (!ty || !num(json_object_get(e, "t"), &te) ||
                (strcmp(ty, "estop") && strcmp(ty, "e-stop") && strcmp(ty, "reset"))) {
                snprintf(why, n, "an event needs a time t and a type estop or reset");
                return false;
            }
            c->ev[c->nev].t = te;
            c->ev[c->nev].estop = strcmp(ty, "reset") != 0;
            c->nev++;
        }
    }
    /* the cell */
    const json_t *m = t->metadata;
    double mf = unit_factor(json_object_get(m, "units"));
    if (isnan(mf)) {
        snprintf(path, pn, "$.metadata.units");
        snprintf(why, n, "units must be m, cm or mm");
        return false;
    }
    const json_t *ws = json_object_get(m, "workspace");
    if (ws) {
        double wf = json_object_get(ws, "units") ? unit_factor(json_object_get(ws, "units")) : mf;
        snprintf(path, pn, "$.metadata.workspace");
        if (isnan(wf) || !vec3(json_object_get(ws, "min"), wf, c->ws_lo) ||
            !vec3(json_object_get(ws, "max"), wf, c->ws_hi)) {
            snprintf(why, n, "the workspace needs min and max as [x, y, z] and units m, cm or mm");
            return false;
        }
        c->has_ws = true;
    }
    for (int which = 0; which < 2; which++) {
        const json_t *list = json_object_get(m, which ? "humans" : "obstacles");
        if (!list)
            continue;
        const char *key = which ? "humans" : "obstacles";
        if (!json_is_array(list) || json_array_size(list) > MAX_OBJECTS) {
            snprintf(path, pn, "$.metadata.%s", key);
            snprintf(why, n, "%s must be a list of at most %d", key, MAX_OBJECTS);
            return false;
        }
        struct obstacle *arr = xcalloc(json_array_size(list) + 1, sizeof *arr);
        if (which)
            c->hu = arr;
        else
            c->ob = arr;
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *o = json_array_get(list, i);
            struct obstacle *x = &arr[i];
            snprintf(path, pn, "$.metadata.%s[%zu]", key, i);
            double of = json_object_get(o, "units") ? unit_factor(json_object_get(o, "units")) : mf;
            id_of(o, i, which ? "person" : "obstacle", x->id, sizeof x->id);
            const char *ty = json_string_value(json_object_get(o, "type"));
            bool ok = json_is_object(o) && !isnan(of);
            if (ok && which) {
                ok = vec3(json_object_get(o, "position"), of, x->c);
            } else if (ok && ty && !strcmp(ty, "box")) {
                x->box = true;
                ok = vec3(json_object_get(o, "min"), of, x->lo) &&
                     vec3(json_object_get(o, "max"), of, x->hi);
                for (int k = 0; ok && k < 3; k++)
                    ok = x->lo[k] <= x->hi[k];
            } else if (ok) {
                ok = (!ty || !strcmp(ty, "sphere")) &&
                     vec3(json_object_get(o, "center"), of, x->c) &&
                     num(json_object_get(o, "radius"), &x->r) && x->r >= 0;
                x->r *= of;
            }
            if (!ok) {
                snprintf(why, n,
                         which ? "a person needs a position [x, y, z]"
                               : "an obstacle is a sphere (center, radius >= 0) or a box (min <= "
                                 "max)");
                return false;
            }
            if (which)
                c->nhu++;
            else
                c->nob++;
        }
    }
    return true;
}

/* A limit: the metadata's (metres, seconds), else the params'. NAN when neither. */
static double limit(const json_t *m, const char *key, double dflt)
{
    double v;
    if (num(json_object_get(m, key), &v) && v >= 0)
        return v;
    return dflt;
}

/* ---- the checks ----------------------------------------------------------------------------- */

static void seg_path(char *out, size_t n, size_t i)
{
    snprintf(out, n, "$.output.waypoints[%zu]-$.output.waypoints[%zu]", i, i + 1);
}

static double seg_speed(const struct wp *a, const struct wp *b)
{
    double s = 0;
    for (int k = 0; k < 3; k++)
        s += (b->p[k] - a->p[k]) * (b->p[k] - a->p[k]);
    return sqrt(s) / (b->t - a->t);
}

static void run(const void *state, const struct t1_trace *t, struct t1_findings *out)
{
    const struct traj *tr = state;
    struct cell c;
    char why[200], path[T1_PATH_MAX];
    if (!read_cell(t, &c, why, sizeof why, path, sizeof path)) {
        struct t1_finding *x = t1_add(out, T1_UNCERTAIN, "plan_unreadable");
        x->field = strncmp(path, "$.metadata", 10) ? T1_OUTPUT : T1_METADATA;
        snprintf(x->path, sizeof x->path, "%s", path);
        t1_detail(x, "the plan cannot be checked: %s", why);
        cell_free(&c);
        return;
    }
    const json_t *m = t->metadata;
    double clearance = limit(m, "clearance", tr->lim.clearance),
           hmin = limit(m, "human_min_distance", tr->lim.human_min_distance),
           near = limit(m, "near_human_distance", tr->lim.near_human_distance),
           vmax = limit(m, "max_speed", tr->lim.max_speed),
           vnear = limit(m, "max_speed_near_human", tr->lim.max_speed_near_human),
           latency = limit(m, "stop_latency", tr->lim.stop_latency), eps = tr->lim.speed_epsilon;
    size_t reported = 0;
#define ENOUGH (reported >= 32) /* a plan through a wall need not list every segment */
    /* a one-waypoint plan is a point: check it as a segment of length 0 */
    size_t nseg = c.nw > 1 ? c.nw - 1 : 1;
    for (size_t i = 0; i < nseg && !ENOUGH; i++) {
        const struct wp *a = &c.w[i], *b = &c.w[c.nw > 1 ? i + 1 : 0];
        if (tr->checks & CHECK_COLLISION)
            for (size_t k = 0; k < c.nob && !ENOUGH; k++) {
                const struct obstacle *o = &c.ob[k];
                double d = o->box ? traj_segment_box(a->p, b->p, o->lo, o->hi)
                                  : fmax(0, traj_segment_point(a->p, b->p, o->c) - o->r);
                if (d < clearance - 1e-9 || d == 0) { /* exactly the clearance is enough */
                    bool at_wp =
                        o->box
                            ? traj_segment_box(a->p, a->p, o->lo, o->hi) < clearance ||
                                  traj_segment_box(b->p, b->p, o->lo, o->hi) < clearance
                            : fmax(0, traj_segment_point(a->p, a->p, o->c) - o->r) < clearance ||
                                  fmax(0, traj_segment_point(b->p, b->p, o->c) - o->r) < clearance;
                    struct t1_finding *x =
                        t1_add(out, T1_FAIL, at_wp ? "collision_waypoint" : "collision_segment");
                    x->field = T1_OUTPUT;
                    seg_path(x->path, sizeof x->path, i);
                    t1_detail(x,
                              "segment %zu-%zu passes %.3f m from obstacle \"%s\"%s; the "
                              "clearance is %.3f m",
                              i, i + 1, d, o->id, d == 0 ? " (through it)" : "", clearance);
                    reported++;
                }
            }
        if ((tr->checks & CHECK_HUMAN) && c.nw > 1)
            for (size_t k = 0; k < c.nhu && !ENOUGH; k++) {
                double d = traj_segment_point(a->p, b->p, c.hu[k].c);
                double v = seg_speed(a, b);
                if (!isnan(hmin) && d < hmin) {
                    struct t1_finding *x = t1_add(out, T1_FAIL, "human_too_close");
                    x->field = T1_OUTPUT;
                    seg_path(x->path, sizeof x->path, i);
                    t1_detail(x, "segment %zu-%zu passes %.3f m from \"%s\"; the minimum is %.3f m",
                              i, i + 1, d, c.hu[k].id, hmin);
                    reported++;
                } else if (!isnan(near) && !isnan(vnear) && d < near && v > vnear + eps) {
                    struct t1_finding *x = t1_add(out, T1_FAIL, "human_speed");
                    x->field = T1_OUTPUT;
                    seg_path(x->path, sizeof x->path, i);
                    t1_detail(x,
                              "segment %zu-%zu moves at %.3f m/s within %.3f m of \"%s\"; the "
                              "limit near people is %.3f m/s",
                              i, i + 1, v, d, c.hu[k].id, vnear);
                    reported++;
                }
            }
        if ((tr->checks & CHECK_SPEED) && c.nw > 1 && !isnan(vmax) && !ENOUGH) {
            double v = seg_speed(a, b);
            if (v > vmax + eps) {
                struct t1_finding *x = t1_add(out, T1_FAIL, "speed_limit");
                x->field = T1_OUTPUT;
                seg_path(x->path, sizeof x->path, i);
                t1_detail(x, "segment %zu-%zu moves at %.3f m/s; the maximum is %.3f m/s", i, i + 1,
                          v, vmax);
                reported++;
            }
        }
    }
    if ((tr->checks & CHECK_WORKSPACE) && c.has_ws)
        for (size_t i = 0; i < c.nw && !ENOUGH; i++) {
            const double *p = c.w[i].p;
            bool in = true;
            for (int k = 0; k < 3; k++)
                in = in && p[k] >= c.ws_lo[k] - 1e-9 && p[k] <= c.ws_hi[k] + 1e-9;
            if (!in) {
                struct t1_finding *x = t1_add(out, T1_FAIL, "workspace_outside");
                x->field = T1_OUTPUT;
                snprintf(x->path, sizeof x->path, "$.output.waypoints[%zu]", i);
                t1_detail(x,
                          "waypoint %zu at (%.3f, %.3f, %.3f) m is outside the workspace "
                          "(%.3f..%.3f, %.3f..%.3f, %.3f..%.3f) m",
                          i, p[0], p[1], p[2], c.ws_lo[0], c.ws_hi[0], c.ws_lo[1], c.ws_hi[1],
                          c.ws_lo[2], c.ws_hi[2]);
                reported++;
            }
        }
    if ((tr->checks & CHECK_ESTOP) && c.nw > 1)
        for (size_t e = 0; e < c.nev && !ENOUGH; e++) {
            if (!c.ev[e].estop)
                continue;
            double te = c.ev[e].t, until = INFINITY;
            for (size_t r = 0; r < c.nev; r++)
                if (!c.ev[r].estop && c.ev[r].t > te && c.ev[r].t < until)
                    until = c.ev[r].t;
            double lat = isnan(latency) ? 0 : latency;
            /* every segment overlapping [te + latency, until) must be still */
            for (size_t i = 0; i + 1 < c.nw; i++) {
                const struct wp *a = &c.w[i], *b = &c.w[i + 1];
                if (b->t <= te + lat || a->t >= until)
                    continue;
                double v = seg_speed(a, b);
                if (v > eps) {
                    struct t1_finding *x = t1_add(out, T1_FAIL, "estop_not_stopped");
                    x->field = T1_OUTPUT;
                    seg_path(x->path, sizeof x->path, i);
                    t1_detail(x,
                              "after the e-stop at t=%.3f s the robot still moves at %.3f m/s "
                              "between t=%.3f and %.3f s; it must stop within %.3f s",
                              te, v, a->t, b->t, lat);
                    reported++;
                    break;
                }
            }
        }
#undef ENOUGH
    cell_free(&c);
}

/* ---- params --------------------------------------------------------------------------------- */

static void *compile(const json_t *params, char *err, size_t errlen)
{
    static const char *const allowed[] = {"checks",
                                          "clearance",
                                          "human_min_distance",
                                          "near_human_distance",
                                          "max_speed",
                                          "max_speed_near_human",
                                          "stop_latency",
                                          "speed_epsilon",
                                          NULL};
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(k, allowed[i]);
        if (!ok) {
            snprintf(err, errlen,
                     "%s is not a parameter of trajectory (checks, clearance, "
                     "human_min_distance, near_human_distance, max_speed, max_speed_near_human, "
                     "stop_latency, speed_epsilon)",
                     k);
            return NULL;
        }
    }
    struct traj *t = xcalloc(1, sizeof *t);
    t->lim = (struct limits){.clearance = 0,
                             .human_min_distance = 0.5,
                             .near_human_distance = 1.0,
                             .max_speed = NAN,
                             .max_speed_near_human = 0.25,
                             .stop_latency = 0.5,
                             .speed_epsilon = 1e-3};
    struct {
        const char *key;
        double *dst;
    } nums[] = {{"clearance", &t->lim.clearance},
                {"human_min_distance", &t->lim.human_min_distance},
                {"near_human_distance", &t->lim.near_human_distance},
                {"max_speed", &t->lim.max_speed},
                {"max_speed_near_human", &t->lim.max_speed_near_human},
                {"stop_latency", &t->lim.stop_latency},
                {"speed_epsilon", &t->lim.speed_epsilon}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        const json_t *x = json_object_get(params, nums[i].key);
        if (x && !(num(x, nums[i].dst) && *nums[i].dst >= 0)) {
            snprintf(err, errlen, "%s must be a non-negative number (metres, seconds, m/s)",
                     nums[i].key);
            free(t);
            return NULL;
        }
    }
    const json_t *ch = json_object_get(params, "checks");
    if (!ch) {
        t->checks = CHECK_COLLISION | CHECK_WORKSPACE | CHECK_HUMAN | CHECK_SPEED | CHECK_ESTOP;
    } else {
        bool ok = json_is_array(ch) && json_array_size(ch) > 0;
        for (size_t i = 0; ok && i < json_array_size(ch); i++) {
            const char *s = json_string_value(json_array_get(ch, i));
            int f = -1;
            for (int j = 0; s && check_names[j]; j++)
                if (!strcmp(s, check_names[j]))
                    f = j;
            ok = f >= 0;
            if (ok)
                t->checks |= 1u << f;
        }
        if (!ok) {
            snprintf(err, errlen,
                     "checks must be a list of collision, workspace, human, speed, estop");
            free(t);
            return NULL;
        }
    }
    return t;
}

static void destroy(void *state)
{
    free(state);
}

const struct t1_detector t1_detector_trajectory = {
    .name = "trajectory",
    .summary =
        "robot plans: segment clearance to obstacles, workspace box, distance and speed near "
        "people, maximum speed, stop after an e-stop",
    .compile = compile,
    .run = run,
    .free = destroy,
};

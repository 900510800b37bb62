/*
 * trajectory: the robotics detector. Reads a plan or execution log (timed waypoints with units and
 * optional e-stop/reset events; the format is docs/detectors/trajectory.md) from the trace's output
 * and the cell from its metadata (workspace box, obstacles as spheres and boxes, people, limits),
 * and checks, in metres and seconds whatever the units written:
 *   collision  the closest distance from every SEGMENT between waypoints to every obstacle is at
 *              least the clearance (not only the waypoints: a straight move can cut a corner);
 *   workspace  every waypoint (so every segment: the box is convex) inside the workspace box;
 *   human      every segment at least human_min_distance from every person, and no faster than
 *              max_speed_near_human within near_human_distance of one;
 *   speed      no segment faster than max_speed;
 *   estop      after an e-stop event the speed is zero from the stop latency on until a reset.
 * Labels start with the check's name (collision_*, workspace_*, human_*, speed_*, estop_*), so a
 * spec's rules select a check with `labels`; a plan that cannot be read gives one UNCERTAIN
 * `plan_unreadable` finding naming the first problem, and no other check runs on it.
 *
 * Pure, thread-safe (the compiled state is read-only). Work is O(segments x (obstacles + people)).
 */
#ifndef AEGIS_EVAL_TIER1_TRAJECTORY_H
#define AEGIS_EVAL_TIER1_TRAJECTORY_H

#include "eval/tier1/t1.h"

extern const struct t1_detector t1_detector_trajectory;

/* The closest distance between segment [a, b] and point p (3-vectors). */
double traj_segment_point(const double a[3], const double b[3], const double p[3]);
/* The closest distance between segment [a, b] and the axis-aligned box [lo, hi] (0 when they meet).
 */
double traj_segment_box(const double a[3], const double b[3], const double lo[3],
                        const double hi[3]);

#endif

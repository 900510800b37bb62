/*
 * citations: the legal detector for case citations in an output. Parses full citations (volume,
 * reporter, first page, pin cite, parenthetical with court and year: "Brown v. Board of Education,
 * 347 U.S. 483, 495 (1954)", "123 F.3d 456, 460 (9th Cir. 1997)") and short forms ("Id.",
 * "Id. at 460", "Brown, 347 U.S. at 495"), and checks each against a table of U.S. federal,
 * regional and major state reporters with the years each edition covers (citations_table.c).
 *
 * Findings (output spans): reporter_unknown (FAIL: a volume-reporter-page citation whose reporter
 * is in no table; statutes and regulations such as U.S.C., C.F.R., Stat., Fed. Reg. are not case
 * reporters and are skipped), year_out_of_range (FAIL: the year is outside the edition's years),
 * pin_before_page (FAIL), id_without_antecedent and short_form_without_full (UNCERTAIN), and with a
 * list of known citations (param `known`, or metadata.known_citations) not_in_known_list (FAIL when
 * param require_known is true, else UNCERTAIN). Params: known, require_known.
 *
 * Pure, thread-safe (the compiled state is read-only; one PCRE2 match data per run).
 */
#ifndef AEGIS_EVAL_TIER1_CITATIONS_H
#define AEGIS_EVAL_TIER1_CITATIONS_H

#include "eval/tier1/t1.h"

extern const struct t1_detector t1_detector_citations;

/* A reporter of the table by abbreviation (spacing and case of "F. Supp. 2d" / "F.Supp.2d"
 * ignored): its first and last years (last 9999 while current) in *from, *to; false when the
 * abbreviation is in no table. */
bool cite_reporter(const char *abbrev, int *from, int *to);

#endif

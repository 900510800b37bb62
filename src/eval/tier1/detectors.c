#include "eval/tier1/citations.h"
#include "eval/tier1/dosage.h"
#include "eval/tier1/legal.h"
#include "eval/tier1/orders.h"
#include "eval/tier1/phi.h"
#include "eval/tier1/t1.h"
#include "eval/tier1/trajectory.h"

#include <string.h>

/* The built-in detectors: each lives in its own file and is listed here once. */
const struct t1_detector *const t1_detectors[] = {
    &t1_detector_phi,        /* healthcare */
    &t1_detector_dosage,     /* healthcare */
    &t1_detector_citations,  /* legal */
    &t1_detector_privilege,  /* legal */
    &t1_detector_conflict,   /* legal */
    &t1_detector_trajectory, /* robotics */
    &t1_detector_orders,     /* trading */
    NULL,
};

const struct t1_detector *t1_detector_find(const char *name)
{
    for (size_t i = 0; name && t1_detectors[i]; i++)
        if (!strcmp(t1_detectors[i]->name, name))
            return t1_detectors[i];
    return NULL;
}

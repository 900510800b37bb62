/*
 * simulations: the service between the API, the job queue and the risk engine. A simulation run is a
 * row of simulation_runs plus a job of kind "risk.simulate"; an optimisation run a row of
 * optimization_runs plus a job of kind "risk.optimize". The job parses the run's stored parameters,
 * runs the engine (or the optimiser) and stores the results. Never sees HTTP types.
 */
#ifndef AEGIS_SERVICES_SIMULATIONS_H
#define AEGIS_SERVICES_SIMULATIONS_H

#include "jobs/jobs.h"

#define SIM_JOB_KIND "risk.simulate"
#define OPT_JOB_KIND "risk.optimize"

/* The job handler: payload {"run_id", "org_id", "threads"}. Idempotent: a rerun overwrites the run. */
int sim_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err);
/* The same for an optimisation run. */
int opt_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err);

extern const struct job_kind sim_job_kinds[];
extern const size_t sim_job_nkinds;

#endif

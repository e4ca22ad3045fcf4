/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_JOBS_PRIVATE_H
#define RPCI_JOBS_PRIVATE_H

/*
 * The table of jobs (jobs_table.c) and what a job holds. Private to
 * lib/jobs: programs use rpci_jobs.h.
 */

#include "rpci_jobs.h"

struct rpci_job {
	const struct job_type *type;
	struct rpci_job_params p;
	struct rpci_job_allocator alloc; /* inputs and output */
	struct rpci_split_job sj;        /* what rpci_split_run() takes; its buffers below */
	float *a, *b, *c;                /* inputs (NULL where the kind has none) */
	float *out;
	uint64_t out_count;
	float *ref;                      /* the reference (malloc), NULL until made */
	double *bound;                   /* sgemm, float data: each element's bound */
	double sum, mag;                 /* reduce: the exact sum and the sum of magnitudes */
	double ref_s;                    /* the reference's time */
};

/* One job of the table. */
struct job_type {
	const char *name;
	enum rpci_split_kernel kernel;
	/*
	 * The sizes' check (0, -EINVAL or -EOVERFLOW), then the scalars, the
	 * output's size and the inputs: allocated with job_buffer() and filled
	 * from the seed.
	 */
	int (*prepare)(struct rpci_job *job);
	/* job->ref (and job->bound, job->sum, job->mag): 0 or -ENOMEM */
	int (*reference)(struct rpci_job *job);
	/* Bytes a run moves in and out when used devices had a share. */
	void (*bytes)(const struct rpci_job *job, unsigned int used, uint64_t *h2d,
		      uint64_t *d2h);
	/* job->out against job->ref; v started by the caller */
	void (*verify)(const struct rpci_job *job, unsigned int nb_devs,
		       struct rpci_job_verdict *v);
};

extern const struct job_type g_job_types[RPCI_JOB_KINDS];

/* count floats of the job's allocator into *buf; 0, -EOVERFLOW or -ENOMEM. */
int job_buffer(struct rpci_job *job, float **buf, uint64_t count);

/* a * b if neither is 0 and it is at most RPCI_JOB_ELEMS_MAX; else 0. */
uint64_t job_elems(uint64_t a, uint64_t b);

#endif /* RPCI_JOBS_PRIVATE_H */

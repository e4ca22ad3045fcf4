/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_JOBS_H
#define RPCI_JOBS_H

/**
 * @file
 * The built-in jobs of rpci's programs: one table of data-parallel jobs
 * (vector-add, saxpy, sgemm, reduce) that rpci-run, rpci-bench and the
 * tests share. Each job makes its inputs from a seed, computes its CPU
 * reference, runs on one or several devices through librpci's
 * rpci_split_run(), and checks a result against the reference.
 *
 * The life of a job:
 *
 *   job = rpci_job_create(&params, allocator);  inputs made from the seed
 *   rpci_job_reference(job, &cpu_s);            the CPU's result, timed
 *   rpci_job_run(job, devs, nb_devs, &stats);   (or the caller's own launches
 *                                                on the buffers of rpci_job_data())
 *   rpci_job_verify(job, stats.used, &verdict);
 *   rpci_job_free(job);
 *
 * The same seed gives the same data everywhere (a splitmix64 sequence). With
 * integer data (-8..8) a device's result must equal the reference exactly;
 * with float data (uniform in [-1, 1)) it must lie within an error bound
 * that allows for a different order of summation.
 *
 * Uses librpci's public API only (rpci_client.h); no DPDK.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpci_client.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most devices one run spreads a job over (as rpci_split_run()). */
#define RPCI_JOB_DEVICES_MAX 16

/** Most elements of one buffer of a job (2^40). */
#define RPCI_JOB_ELEMS_MAX (1ull << 40)

/** The jobs of the table. */
enum rpci_job_kind {
	RPCI_JOB_VECTOR_ADD = 0, /**< out = a + b */
	RPCI_JOB_SAXPY = 1,      /**< out = alpha * a + b */
	RPCI_JOB_SGEMM = 2,      /**< out = alpha * A.B + beta * C (m x k, k x n, m x n) */
	RPCI_JOB_REDUCE = 3,     /**< out[0] = the sum of a */
	RPCI_JOB_KINDS = 4,      /**< how many kinds there are */
};

/** What job to make. */
struct rpci_job_params {
	enum rpci_job_kind kind;
	uint64_t n;    /**< vector length; sgemm: columns of B and C */
	uint64_t m;    /**< sgemm: rows of A and C; others: 0 */
	uint64_t k;    /**< sgemm: columns of A, rows of B; others: 0 */
	uint64_t seed; /**< the data's seed */
	bool int_data; /**< integers -8..8, checked exactly; else floats in [-1, 1) */
};

/**
 * Where a job's inputs and output live (rpci-bench gives memory of
 * rpci_client_host_alloc(), which copies move without staging). The
 * reference and the error bounds are the library's own (malloc).
 */
struct rpci_job_allocator {
	/** Memory of size bytes, or NULL. */
	void *(*alloc)(void *ctx, size_t size);
	/** Give back what alloc gave; ptr is never NULL. */
	void (*free)(void *ctx, void *ptr);
	/** Passed to both. */
	void *ctx;
};

/** What one run did, over all its devices. */
struct rpci_job_stats {
	/** Each device's share and timings, in the order of the devices. */
	struct rpci_split_part parts[RPCI_JOB_DEVICES_MAX];
	unsigned int nb_devs; /**< devices given */
	unsigned int used;    /**< devices that had a share (an empty share is not run) */
	double h2d_s;         /**< seconds copying in, summed over the devices */
	double kernel_s;      /**< seconds waiting for the kernels, summed */
	double d2h_s;         /**< seconds copying out, summed */
	double total_s;       /**< wall seconds of the whole run */
	uint64_t h2d_bytes;   /**< bytes copied into the devices (sgemm: B once per device) */
	uint64_t d2h_bytes;   /**< bytes copied out (reduce: one partial sum per device) */
};

/** A result against the reference. */
struct rpci_job_verdict {
	bool ok;             /**< every element within its bound */
	uint64_t bad_index;  /**< the first element out of its bound (when !ok) */
	double got;          /**< its value */
	double want;         /**< the reference's */
	double max_err;      /**< the largest error of any element (NaN counts as largest) */
	double bound_at_max; /**< the bound of that element (0: exact comparison) */
};

/**
 * The name of a kind of job (as rpci-run's --job takes it).
 *
 * @param kind
 *   A kind.
 * @return
 *   "vector-add", "saxpy", "sgemm" or "reduce"; NULL for another value.
 */
const char *rpci_job_name(enum rpci_job_kind kind);

/**
 * The kind of job of a name.
 *
 * @param name
 *   A name of rpci_job_name().
 * @param kind
 *   Receives the kind.
 * @return
 *   0, -EINVAL (NULL argument), -ENOENT (no job of that name).
 */
int rpci_job_lookup(const char *name, enum rpci_job_kind *kind);

/**
 * Prepare a job: allocate its inputs and output and fill the inputs from
 * the seed (the output is zeroed). Sizes: vector-add, saxpy and reduce take
 * n and leave m and k 0; sgemm takes all three.
 *
 * @param p
 *   What to make.
 * @param alloc
 *   Where the inputs and the output go; NULL: malloc.
 * @return
 *   The job, or NULL with errno set: EINVAL (NULL params, unknown kind, a
 *   size of 0, m or k given to a vector job, an allocator without both
 *   functions), EOVERFLOW (a buffer of more than RPCI_JOB_ELEMS_MAX
 *   elements, or sizes whose product overflows), ENOMEM (the allocator or
 *   malloc gave nothing).
 */
struct rpci_job *rpci_job_create(const struct rpci_job_params *p,
				 const struct rpci_job_allocator *alloc);

/**
 * Free a job: its buffers go back to its allocator.
 *
 * @param job
 *   The job; NULL is ignored.
 */
void rpci_job_free(struct rpci_job *job);

/**
 * The job as rpci_split_run() takes it: kernel, sizes, scalars, and the
 * buffers (inputs a, b, c as the kind uses them, and out, which the caller
 * may write: a result to verify goes there).
 *
 * @param job
 *   The job.
 * @return
 *   Its description, valid until rpci_job_free(); NULL if job is NULL.
 */
const struct rpci_split_job *rpci_job_data(const struct rpci_job *job);

/**
 * Elements of the job's output (n; sgemm: m x n; reduce: 1).
 *
 * @param job
 *   The job.
 * @return
 *   The count; 0 if job is NULL.
 */
uint64_t rpci_job_out_count(const struct rpci_job *job);

/**
 * Compute the job's result on this CPU, in float as a device does (reduce:
 * in double), and with float data each element's error bound. Done once;
 * a second call only gives the time of the first.
 *
 * @param job
 *   The job.
 * @param seconds
 *   If not NULL, receives the computation's time (monotonic clock).
 * @return
 *   0, -EINVAL (job is NULL), -ENOMEM.
 */
int rpci_job_reference(struct rpci_job *job, double *seconds);

/**
 * The reference result of rpci_job_reference().
 *
 * @param job
 *   The job.
 * @return
 *   rpci_job_out_count() floats, or NULL (no reference yet, or job NULL).
 */
const float *rpci_job_expected(const struct rpci_job *job);

/**
 * Run the job on devices with rpci_split_run(): each device gets an equal
 * share of the vectors (sgemm: of the rows of A and C), the kernels run
 * side by side, and the result lands in the job's output. The devices'
 * copy modes are the caller's (rpci_device_set_h2d_mode()).
 *
 * @param job
 *   The job.
 * @param devs
 *   The devices.
 * @param nb_devs
 *   How many: 1..RPCI_JOB_DEVICES_MAX.
 * @param stats
 *   Receives the shares, timings and bytes moved (also when the run fails:
 *   what was done until then).
 * @return
 *   0, -EINVAL (NULL argument, nb_devs out of range), or the error of
 *   rpci_split_run() (rpci_last_error() says more).
 */
int rpci_job_run(struct rpci_job *job, struct rpci_device *const *devs, unsigned int nb_devs,
		 struct rpci_job_stats *stats);

/**
 * Check the job's output against its reference: integer data exactly,
 * float data within each element's bound (reduce: a bound that grows with
 * the number of devices whose partial sums were rounded to float).
 *
 * @param job
 *   The job, its output holding a result.
 * @param nb_devs
 *   How many devices computed it (rpci_job_stats.used; 1 for one device).
 * @param v
 *   Receives the verdict.
 * @return
 *   0 (v says whether the result is right), -EINVAL (NULL argument, or no
 *   reference computed yet).
 */
int rpci_job_verify(const struct rpci_job *job, unsigned int nb_devs,
		    struct rpci_job_verdict *v);

/**
 * Start a verdict: right so far, no error.
 *
 * @param v
 *   The verdict.
 */
void rpci_job_verdict_init(struct rpci_job_verdict *v);

/**
 * Add one element to a verdict: wrong if it is NaN or further from want
 * than bound; the first wrong element is kept, and the largest error with
 * its bound.
 *
 * @param v
 *   The verdict.
 * @param index
 *   The element's index.
 * @param got
 *   Its value.
 * @param want
 *   The reference's value.
 * @param bound
 *   The error allowed (0: exact).
 */
void rpci_job_verdict_check(struct rpci_job_verdict *v, uint64_t index, double got, double want,
			    double bound);

/**
 * The next number of the jobs' random sequence (splitmix64).
 *
 * @param state
 *   The sequence's state; the seed at first.
 * @return
 *   64 random bits.
 */
uint64_t rpci_job_random(uint64_t *state);

/**
 * A value uniform in [-1, 1) from 64 random bits (their top 53 bits).
 *
 * @param bits
 *   A number of rpci_job_random().
 * @return
 *   The value.
 */
double rpci_job_random_signed(uint64_t bits);

/**
 * Fill floats as the jobs fill their inputs: one number of the sequence
 * each, as an integer -8..8 or a float in [-1, 1).
 *
 * @param v
 *   n floats.
 * @param n
 *   How many.
 * @param state
 *   The sequence's state (advanced by n).
 * @param int_data
 *   Integers or floats.
 */
void rpci_job_fill(float *v, uint64_t n, uint64_t *state, bool int_data);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_JOBS_H */

/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_BENCH_UTIL_H
#define RPCI_BENCH_UTIL_H

/*
 * rpci-bench's pure helpers (bench_util.c): the tests' names, option
 * parsing, percentiles and medians, the JSON line of a result. No DPDK, so
 * that test/unit/test_bench.c tests them alone. Private to app/bench.
 */

#include <stddef.h>
#include <stdint.h>

/* The tests, in the order a run does them (raw ones first: no session then). */
enum bench_test {
	BENCH_RAW_RTT = 0,
	BENCH_RAW_RATE,
	BENCH_MRD_RTT,
	BENCH_MRD_CACHED,
	BENCH_MWR_RATE,
	BENCH_H2D,
	BENCH_D2H,
	BENCH_H2D_PAGEABLE,
	BENCH_D2H_PAGEABLE,
	BENCH_LAUNCH,
	BENCH_JOB,
	BENCH_JOB_ASYNC,
	BENCH_WAIT_CPU,
	BENCH_TESTS,
};

/* Every test's bit. */
#define BENCH_ALL ((1u << BENCH_TESTS) - 1)

/* Most sizes of one --size list. */
#define BENCH_SIZES_MAX 16

/* The name of a test ("raw-rtt", "h2d"...), NULL for no test. */
const char *bench_test_name(unsigned int test);

/*
 * Parse a test list: names separated by commas, or "all". *mask gets a bit
 * (1 << enum bench_test) per test. 0, or -EINVAL with the first bad name
 * copied into bad.
 */
int bench_parse_tests(const char *s, uint32_t *mask, char *bad, size_t bad_len);

/*
 * Parse a size: a decimal number with an optional K, M or G suffix (powers
 * of 1024, either case), above 0. 0 or -EINVAL.
 */
int bench_parse_size(const char *s, uint64_t *v);

/* Parse a comma list of sizes (at most max). 0 or -EINVAL. */
int bench_parse_sizes(const char *s, uint64_t *sizes, unsigned int max, unsigned int *nb);

/* Parse a duration in seconds (a decimal, 0 < d <= 3600). 0 or -EINVAL. */
int bench_parse_duration(const char *s, double *secs);

/* A size for people: "4K", "64M", or bytes ("1500"). Returns buf. */
const char *bench_size_str(uint64_t v, char *buf, size_t len);

/* Sort values in place, ascending. */
void bench_sort_u64(uint64_t *v, size_t n);

/*
 * The p-th percentile (0 < p <= 100) of n sorted values, nearest rank (the
 * smallest value that at least p % of them do not exceed). 0 for n = 0.
 */
uint64_t bench_percentile(const uint64_t *v, size_t n, double p);

/* Median of n values (sorted in place; the mean of the middle two for even n). 0 for n = 0. */
double bench_median(double *v, size_t n);

/* One result: one JSON line. Optional members are left out when NaN (or verified < 0). */
struct bench_result {
	const char *test;  /* bench_test_name() */
	uint64_t size;     /* bytes: copy size, message size, frame length */
	double value;      /* the figure */
	const char *unit;  /* "us", "GB/s", "msg/s", "frames/s", "ms" */
	double raw;        /* the matching raw ceiling of the same run (NaN: none) */
	double ratio;      /* value / raw (NaN: none) */
	double p99;        /* latencies (NaN: not one) */
	double p999;
	double local_ms;   /* job: the same computation on the client's CPU */
	uint64_t raw_frame; /* frame length of the raw figure (0: none) */
	uint64_t samples;  /* measurements behind the figure */
	int verified;      /* 1 data checked and right, 0 wrong, -1 nothing to check */
	const char *path;  /* "embedded" (the proxy's core in-process), "proxy" (NULL: none) */
	double vs_embedded; /* value / the same figure embedded, this run (NaN: none) */
};

/* A result with every optional member unset. */
void bench_result_init(struct bench_result *r, const char *test, uint64_t size, const char *unit);

/*
 * Format a result as one JSON object and a newline. Returns the length, or
 * -ENOSPC if buf is too small, -EINVAL if test or unit is missing.
 */
int bench_json_line(char *buf, size_t len, const struct bench_result *r);

#endif /* RPCI_BENCH_UTIL_H */

/* SPDX-License-Identifier: BSD-3-Clause */

/* rpci-bench's pure helpers: see bench_util.h. */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

static const char *const g_bench_names[BENCH_TESTS] = {
	[BENCH_RAW_RTT] = "raw-rtt",
	[BENCH_RAW_RATE] = "raw-rate",
	[BENCH_MRD_RTT] = "mrd-rtt",
	[BENCH_MRD_CACHED] = "mrd-cached",
	[BENCH_MWR_RATE] = "mwr-rate",
	[BENCH_H2D] = "h2d",
	[BENCH_D2H] = "d2h",
	[BENCH_H2D_PAGEABLE] = "h2d-pageable",
	[BENCH_D2H_PAGEABLE] = "d2h-pageable",
	[BENCH_LAUNCH] = "launch",
	[BENCH_JOB] = "job",
	[BENCH_JOB_ASYNC] = "job-async",
	[BENCH_WAIT_CPU] = "wait-cpu",
};

const char *
bench_test_name(unsigned int test)
{
	return test < BENCH_TESTS ? g_bench_names[test] : NULL;
}

int
bench_parse_tests(const char *s, uint32_t *mask, char *bad, size_t bad_len)
{
	const char *p = s, *end;
	uint32_t m = 0;
	size_t len;
	unsigned int i;

	if (bad_len > 0) {
		bad[0] = '\0';
	}
	if (s == NULL || *s == '\0') {
		return -EINVAL;
	}
	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 3 && strncmp(p, "all", 3) == 0) {
			m |= BENCH_ALL;
		} else {
			for (i = 0; i < BENCH_TESTS; i++) {
				if (strlen(g_bench_names[i]) == len &&
				    strncmp(p, g_bench_names[i], len) == 0) {
					break;
				}
			}
			if (i == BENCH_TESTS) {
				if (bad_len > 0) {
					snprintf(bad, bad_len, "%.*s", (int)len, p);
				}
				return -EINVAL;
			}
			m |= 1u << i;
		}
		if (end == NULL) {
			break;
		}
		p = end + 1;
	}
	*mask = m;
	return 0;
}

/* A size from [s, s + len). */
static int
parse_size_n(const char *s, size_t len, uint64_t *v)
{
	char buf[32];
	char *end;
	unsigned long long x;
	unsigned int shift = 0;

	if (len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9') {
		return -EINVAL;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	x = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf) {
		return -EINVAL;
	}
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0' || x == 0 || x > (UINT64_MAX >> shift)) {
		return -EINVAL;
	}
	*v = (uint64_t)x << shift;
	return 0;
}

int
bench_parse_size(const char *s, uint64_t *v)
{
	if (s == NULL) {
		return -EINVAL;
	}
	return parse_size_n(s, strlen(s), v);
}

int
bench_parse_sizes(const char *s, uint64_t *sizes, unsigned int max, unsigned int *nb)
{
	const char *p = s, *end;
	unsigned int n = 0;
	size_t len;

	if (s == NULL) {
		return -EINVAL;
	}
	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == max || parse_size_n(p, len, &sizes[n]) < 0) {
			return -EINVAL;
		}
		n++;
		if (end == NULL) {
			break;
		}
		p = end + 1;
	}
	*nb = n;
	return 0;
}

int
bench_parse_duration(const char *s, double *secs)
{
	char *end;
	double d;

	if (s == NULL || *s == '\0') {
		return -EINVAL;
	}
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || d <= 0.0 || d > 3600.0) {
		return -EINVAL;
	}
	*secs = d;
	return 0;
}

const char *
bench_size_str(uint64_t v, char *buf, size_t len)
{
	if (v != 0 && (v & ((1ull << 30) - 1)) == 0) {
		snprintf(buf, len, "%" PRIu64 "G", v >> 30);
	} else if (v != 0 && (v & ((1ull << 20) - 1)) == 0) {
		snprintf(buf, len, "%" PRIu64 "M", v >> 20);
	} else if (v != 0 && (v & ((1ull << 10) - 1)) == 0) {
		snprintf(buf, len, "%" PRIu64 "K", v >> 10);
	} else {
		snprintf(buf, len, "%" PRIu64, v);
	}
	return buf;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
bench_sort_u64(uint64_t *v, size_t n)
{
	if (n > 1) {
		qsort(v, n, sizeof(*v), cmp_u64);
	}
}

uint64_t
bench_percentile(const uint64_t *v, size_t n, double p)
{
	double rank;
	size_t i;

	if (n == 0) {
		return 0;
	}
	/* p * n / 100 is often an integer that rounding puts just above itself */
	rank = ceil(p * (double)n / 100.0 - 1e-9);
	i = rank < 1.0 ? 0 : (size_t)rank - 1;
	if (i >= n) {
		i = n - 1;
	}
	return v[i];
}

double
bench_median(double *v, size_t n)
{
	if (n == 0) {
		return 0.0;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2 == 1) {
		return v[n / 2];
	}
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

void
bench_result_init(struct bench_result *r, const char *test, uint64_t size, const char *unit)
{
	memset(r, 0, sizeof(*r));
	r->test = test;
	r->size = size;
	r->unit = unit;
	r->value = NAN;
	r->raw = NAN;
	r->ratio = NAN;
	r->p99 = NAN;
	r->p999 = NAN;
	r->local_ms = NAN;
	r->verified = -1;
	r->vs_embedded = NAN;
}

/* A string JSON may carry unescaped: no quote, backslash or control character. */
static bool
plain_string(const char *s)
{
	if (s == NULL || *s == '\0') {
		return false;
	}
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) {
			return false;
		}
	}
	return true;
}

/* Append to buf at *pos; false once it no longer fits. */
static bool __attribute__((format(printf, 4, 5)))
put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len) {
		return false;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *pos) {
		*pos = len;
		return false;
	}
	*pos += (size_t)n;
	return true;
}

/* A number member (JSON has no NaN or infinity: null then). */
static bool
put_num(char *buf, size_t len, size_t *pos, const char *name, double v)
{
	if (!isfinite(v)) {
		return put(buf, len, pos, ", \"%s\": null", name);
	}
	return put(buf, len, pos, ", \"%s\": %.6g", name, v);
}

int
bench_json_line(char *buf, size_t len, const struct bench_result *r)
{
	size_t pos = 0;
	bool ok;

	if (r == NULL || !plain_string(r->test) || !plain_string(r->unit)) {
		return -EINVAL;
	}
	ok = put(buf, len, &pos, "{\"test\": \"%s\", \"size\": %" PRIu64, r->test, r->size);
	ok = ok && put_num(buf, len, &pos, "value", r->value);
	ok = ok && put(buf, len, &pos, ", \"unit\": \"%s\"", r->unit);
	ok = ok && put_num(buf, len, &pos, "raw", r->raw);
	ok = ok && put_num(buf, len, &pos, "ratio", r->ratio);
	if (ok && !isnan(r->p99)) {
		ok = put_num(buf, len, &pos, "p99", r->p99);
	}
	if (ok && !isnan(r->p999)) {
		ok = put_num(buf, len, &pos, "p999", r->p999);
	}
	if (ok && !isnan(r->local_ms)) {
		ok = put_num(buf, len, &pos, "local_ms", r->local_ms);
	}
	if (ok && r->raw_frame != 0) {
		ok = put(buf, len, &pos, ", \"raw_frame\": %" PRIu64, r->raw_frame);
	}
	if (ok && r->path != NULL && plain_string(r->path)) {
		ok = put(buf, len, &pos, ", \"path\": \"%s\"", r->path);
	}
	if (ok && !isnan(r->vs_embedded)) {
		ok = put_num(buf, len, &pos, "vs_embedded", r->vs_embedded);
	}
	ok = ok && put(buf, len, &pos, ", \"samples\": %" PRIu64, r->samples);
	if (ok && r->verified >= 0) {
		ok = put(buf, len, &pos, ", \"verified\": %s", r->verified ? "true" : "false");
	}
	ok = ok && put(buf, len, &pos, "}\n");
	if (!ok) {
		if (len > 0) {
			buf[0] = '\0';
		}
		return -ENOSPC;
	}
	return (int)pos;
}

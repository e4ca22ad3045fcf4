/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of rpci-bench's pure helpers (app/bench/bench_util.c): test
 * lists, sizes, durations, percentiles, medians and the JSON line.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <cjson/cJSON.h>

#include "../../app/bench/bench_util.c"

static void
test_tests(void)
{
	uint32_t mask = 0;
	char bad[32];

	CU_ASSERT_EQUAL(bench_parse_tests("all", &mask, bad, sizeof(bad)), 0);
	CU_ASSERT_EQUAL(mask, BENCH_ALL);
	CU_ASSERT_EQUAL(bench_parse_tests("h2d,raw-rtt", &mask, bad, sizeof(bad)), 0);
	CU_ASSERT_EQUAL(mask, (1u << BENCH_H2D) | (1u << BENCH_RAW_RTT));
	CU_ASSERT_EQUAL(bench_parse_tests("job", &mask, bad, sizeof(bad)), 0);
	CU_ASSERT_EQUAL(mask, 1u << BENCH_JOB);
	mask = 7;
	CU_ASSERT_EQUAL(bench_parse_tests("h2d,nope", &mask, bad, sizeof(bad)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(bad, "nope");
	CU_ASSERT_EQUAL(mask, 7);
	CU_ASSERT_EQUAL(bench_parse_tests("h2", &mask, bad, sizeof(bad)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(bad, "h2");
	CU_ASSERT_EQUAL(bench_parse_tests("h2d,", &mask, bad, sizeof(bad)), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_tests("", &mask, bad, sizeof(bad)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(bench_test_name(BENCH_MWR_RATE), "mwr-rate");
	CU_ASSERT_PTR_NULL(bench_test_name(BENCH_TESTS));
}

static void
test_sizes(void)
{
	uint64_t v = 0, s[BENCH_SIZES_MAX];
	unsigned int n = 0;
	char buf[32];

	CU_ASSERT_EQUAL(bench_parse_size("4K", &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(bench_parse_size("64m", &v), 0);
	CU_ASSERT_EQUAL(v, 64ull << 20);
	CU_ASSERT_EQUAL(bench_parse_size("1G", &v), 0);
	CU_ASSERT_EQUAL(v, 1ull << 30);
	CU_ASSERT_EQUAL(bench_parse_size("1500", &v), 0);
	CU_ASSERT_EQUAL(v, 1500);
	CU_ASSERT_EQUAL(bench_parse_size("0", &v), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_size("-4", &v), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_size("4KB", &v), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_size("4x", &v), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_size("", &v), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_size("99999999999999999999", &v), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_size("17179869184G", &v), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_sizes("4K,64K,1M,64M", s, BENCH_SIZES_MAX, &n), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(s[0], 4096);
	CU_ASSERT_EQUAL(s[3], 64ull << 20);
	CU_ASSERT_EQUAL(bench_parse_sizes("4K,,1M", s, BENCH_SIZES_MAX, &n), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_sizes("1,2,3", s, 2, &n), -EINVAL);
	CU_ASSERT_STRING_EQUAL(bench_size_str(4096, buf, sizeof(buf)), "4K");
	CU_ASSERT_STRING_EQUAL(bench_size_str(64ull << 20, buf, sizeof(buf)), "64M");
	CU_ASSERT_STRING_EQUAL(bench_size_str(1514, buf, sizeof(buf)), "1514");
	CU_ASSERT_STRING_EQUAL(bench_size_str(0, buf, sizeof(buf)), "0");
}

static void
test_duration(void)
{
	double d = 0.0;

	CU_ASSERT_EQUAL(bench_parse_duration("2", &d), 0);
	CU_ASSERT_DOUBLE_EQUAL(d, 2.0, 1e-12);
	CU_ASSERT_EQUAL(bench_parse_duration("0.2", &d), 0);
	CU_ASSERT_DOUBLE_EQUAL(d, 0.2, 1e-12);
	CU_ASSERT_EQUAL(bench_parse_duration("0", &d), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_duration("-1", &d), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_duration("1s", &d), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_duration("nan", &d), -EINVAL);
	CU_ASSERT_EQUAL(bench_parse_duration("7200", &d), -EINVAL);
}

static void
test_percentile(void)
{
	uint64_t v[1000];
	double m[4] = { 4.0, 1.0, 3.0, 2.0 };
	size_t i;

	/* 1000 values 1..1000, shuffled by a fixed permutation. */
	for (i = 0; i < 1000; i++) {
		v[i] = (i * 617) % 1000 + 1;
	}
	bench_sort_u64(v, 1000);
	for (i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(v[i], i + 1);
	}
	CU_ASSERT_EQUAL(bench_percentile(v, 1000, 50.0), 500);
	CU_ASSERT_EQUAL(bench_percentile(v, 1000, 99.0), 990);
	CU_ASSERT_EQUAL(bench_percentile(v, 1000, 99.9), 999);
	CU_ASSERT_EQUAL(bench_percentile(v, 1000, 100.0), 1000);
	CU_ASSERT_EQUAL(bench_percentile(v, 1000, 0.01), 1);
	CU_ASSERT_EQUAL(bench_percentile(v, 1, 99.9), 1);
	CU_ASSERT_EQUAL(bench_percentile(v, 0, 50.0), 0);
	/* three values: the median is the middle one, p99 the largest */
	v[0] = 30;
	v[1] = 10;
	v[2] = 20;
	bench_sort_u64(v, 3);
	CU_ASSERT_EQUAL(bench_percentile(v, 3, 50.0), 20);
	CU_ASSERT_EQUAL(bench_percentile(v, 3, 99.0), 30);
	CU_ASSERT_DOUBLE_EQUAL(bench_median(m, 4), 2.5, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(bench_median(m, 3), 2.0, 1e-12); /* 1 2 3 after the sort */
	CU_ASSERT_DOUBLE_EQUAL(bench_median(m, 0), 0.0, 1e-12);
}

static void
test_json(void)
{
	struct bench_result r;
	char buf[512];
	cJSON *j;
	int n;

	bench_result_init(&r, "h2d", 1048576, "GB/s");
	r.value = 1.25;
	r.raw = 2.5;
	r.ratio = 0.5;
	r.raw_frame = 1514;
	r.samples = 17;
	r.verified = 1;
	n = bench_json_line(buf, sizeof(buf), &r);
	CU_ASSERT(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	CU_ASSERT_EQUAL(buf[n - 1], '\n');
	j = cJSON_Parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "test")->valuestring, "h2d");
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "size")->valuedouble, 1048576.0);
	CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "value")->valuedouble, 1.25, 1e-9);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "unit")->valuestring, "GB/s");
	CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "raw")->valuedouble, 2.5, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "ratio")->valuedouble, 0.5, 1e-9);
	CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(j, "verified")));
	CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "p99"));
	CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "local_ms"));
	cJSON_Delete(j);

	/* a latency without a raw figure: raw and ratio null, percentiles there */
	bench_result_init(&r, "mrd-rtt", 8, "us");
	r.value = 12.5;
	r.p99 = 40.0;
	r.p999 = 90.0;
	r.verified = 0;
	CU_ASSERT(bench_json_line(buf, sizeof(buf), &r) > 0);
	j = cJSON_Parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "raw")));
	CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "ratio")));
	CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "p999")->valuedouble, 90.0, 1e-9);
	CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(j, "verified")));
	cJSON_Delete(j);

	/* too small a buffer, and names JSON could not carry as they are */
	CU_ASSERT_EQUAL(bench_json_line(buf, 20, &r), -ENOSPC);
	CU_ASSERT_EQUAL(buf[0], '\0');
	bench_result_init(&r, "a\"b", 1, "us");
	CU_ASSERT_EQUAL(bench_json_line(buf, sizeof(buf), &r), -EINVAL);
	bench_result_init(&r, "h2d", 1, NULL);
	CU_ASSERT_EQUAL(bench_json_line(buf, sizeof(buf), &r), -EINVAL);
}

int
main(void)
{
	CU_pSuite s;
	unsigned int n;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("bench", NULL, NULL);
	if (s == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(s, test_tests);
	CU_ADD_TEST(s, test_sizes);
	CU_ADD_TEST(s, test_duration);
	CU_ADD_TEST(s, test_percentile);
	CU_ADD_TEST(s, test_json);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}

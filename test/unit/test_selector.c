/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/selector, through its public header only: the status
 * table, requirement matching and rejection reasons, each policy, leases,
 * heartbeats and failover, idempotent requests, the learned policy.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "rpci_selector.h"

#define GIB (1024ULL * 1024 * 1024)
#define HB_US 1000ULL      /* heartbeat period of the tests */
#define LEASE_US 100000ULL /* lease of the tests */
#define NACT 32

static const uint8_t g_c1[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t g_c2[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static struct rpci_sel_action g_act[NACT];

static struct rpci_selector *
mk_sel_hb(enum rpci_sel_policy policy, double explore, uint64_t heartbeat_us)
{
	struct rpci_sel_params p;
	struct rpci_selector *sel;

	memset(&p, 0, sizeof(p));
	p.policy = policy;
	p.heartbeat_us = heartbeat_us;
	p.missed_heartbeats = 3;
	p.lease_us = LEASE_US;
	p.explore = explore;
	p.seed = 42;
	p.max_devices = 64;
	sel = rpci_selector_create(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sel);
	return sel;
}

static struct rpci_selector *
mk_sel(enum rpci_sel_policy policy, double explore)
{
	return mk_sel_hb(policy, explore, HB_US);
}

static struct rpci_sel_device_info
mk_info(const char *server, const char *device, uint64_t mem, const char *backend, uint32_t kinds)
{
	struct rpci_sel_device_info in;
	size_t i;

	memset(&in, 0, sizeof(in));
	snprintf(in.server, sizeof(in.server), "%s", server);
	snprintf(in.device, sizeof(in.device), "%s", device);
	for (i = 0; i < 6; i++) {
		in.server_mac[i] = (uint8_t)(0x10 + strlen(server) + i);
	}
	in.server_mac[5] = (uint8_t)server[strlen(server) - 1];
	in.function = (uint16_t)device[strlen(device) - 1];
	in.vendor_id = 0x1af4;
	in.device_id = 0x10f0;
	in.class_code = 0x030200;
	in.memory_bytes = mem;
	snprintf(in.backend, sizeof(in.backend), "%s", backend);
	in.module_kinds = kinds;
	in.compute_units = 4;
	in.nb_kernels = 2;
	snprintf(in.kernels[0], sizeof(in.kernels[0]), "saxpy");
	snprintf(in.kernels[1], sizeof(in.kernels[1]), "sgemm");
	return in;
}

static void
reg(struct rpci_selector *sel, const char *server, const char *device, uint64_t mem,
    const char *backend, uint32_t kinds, uint64_t now)
{
	struct rpci_sel_device_info in = mk_info(server, device, mem, backend, kinds);

	CU_ASSERT_FATAL(rpci_selector_register(sel, &in, now) == 0);
}

static int
status(struct rpci_selector *sel, const char *server, const char *device, uint64_t mem_free,
       double load, bool in_use, const uint8_t *client, uint64_t now)
{
	struct rpci_sel_device_status st;

	memset(&st, 0, sizeof(st));
	st.memory_free = mem_free;
	st.load = load;
	st.in_use = in_use;
	if (client != NULL) {
		memcpy(st.client_mac, client, 6);
	}
	return rpci_selector_status(sel, server, device, &st, now);
}

static struct rpci_sel_requirements
mk_req(uint64_t min_memory)
{
	struct rpci_sel_requirements r;

	memset(&r, 0, sizeof(r));
	r.min_memory = min_memory;
	r.failover = true;
	return r;
}

/* One device asked: returns the ATTACH's lease (0 and g_act[0] the REJECT if rejected). */
static uint64_t
ask(struct rpci_selector *sel, uint64_t id, const uint8_t *client,
    const struct rpci_sel_requirements *r, uint64_t now)
{
	int n = rpci_selector_request(sel, id, client, r, 1, now, g_act, NACT);

	CU_ASSERT_FATAL(n == 1);
	if (g_act[0].kind != RPCI_SEL_ACT_ATTACH) {
		CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_REJECT);
		return 0;
	}
	return g_act[0].att.lease_id;
}

/* The row of server/device. */
static struct rpci_sel_row
row_of(struct rpci_selector *sel, const char *server, const char *device)
{
	static struct rpci_sel_row rows[64];
	struct rpci_sel_row none;
	uint32_t n, i;

	n = rpci_selector_table(sel, rows, 64);
	for (i = 0; i < n && i < 64; i++) {
		if (strcmp(rows[i].info.server, server) == 0 &&
		    strcmp(rows[i].info.device, device) == 0) {
			return rows[i];
		}
	}
	CU_FAIL("no such row");
	memset(&none, 0, sizeof(none));
	return none;
}

static enum rpci_sel_state
state_of(struct rpci_selector *sel, const char *server, const char *device)
{
	return row_of(sel, server, device).state;
}

static void
test_names(void)
{
	enum rpci_sel_policy p;
	int i;

	for (i = RPCI_SEL_FIRST_FIT; i <= RPCI_SEL_LEARNED; i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(rpci_selector_policy_name(i));
		CU_ASSERT(rpci_selector_policy_parse(rpci_selector_policy_name(i), &p) == 0);
		CU_ASSERT(p == (enum rpci_sel_policy)i);
	}
	CU_ASSERT_STRING_EQUAL(rpci_selector_policy_name(RPCI_SEL_BEST_FIT), "best-fit");
	CU_ASSERT_STRING_EQUAL(rpci_selector_policy_name(RPCI_SEL_LEARNED), "learned");
	CU_ASSERT_PTR_NULL(rpci_selector_policy_name((enum rpci_sel_policy)4));
	CU_ASSERT(rpci_selector_policy_parse("fastest", &p) == -EINVAL);
	CU_ASSERT(rpci_selector_policy_parse(NULL, &p) == -EINVAL);
	CU_ASSERT_STRING_EQUAL(rpci_selector_state_name(RPCI_SEL_FREE), "free");
	CU_ASSERT_STRING_EQUAL(rpci_selector_state_name(RPCI_SEL_ATTACHED), "attached");
	CU_ASSERT_STRING_EQUAL(rpci_selector_state_name(RPCI_SEL_DRAINING), "draining");
	CU_ASSERT_STRING_EQUAL(rpci_selector_state_name(RPCI_SEL_DOWN), "down");
	CU_ASSERT_PTR_NULL(rpci_selector_state_name((enum rpci_sel_state)9));
}

static void
test_create_params(void)
{
	struct rpci_sel_params p;
	struct rpci_selector *sel;

	memset(&p, 0, sizeof(p));
	p.policy = (enum rpci_sel_policy)7;
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_selector_create(&p));
	CU_ASSERT(errno == EINVAL);
	p.policy = RPCI_SEL_LEARNED;
	p.explore = 1.5;
	CU_ASSERT_PTR_NULL(rpci_selector_create(&p));
	p.explore = -0.1;
	CU_ASSERT_PTR_NULL(rpci_selector_create(&p));
	CU_ASSERT_PTR_NULL(rpci_selector_create(NULL));
	p.explore = 0.2;
	sel = rpci_selector_create(&p); /* every other field defaulted */
	CU_ASSERT_PTR_NOT_NULL_FATAL(sel);
	CU_ASSERT(rpci_selector_policy(sel) == RPCI_SEL_LEARNED);
	CU_ASSERT(rpci_selector_set_policy(sel, RPCI_SEL_BEST_FIT) == 0);
	CU_ASSERT(rpci_selector_policy(sel) == RPCI_SEL_BEST_FIT);
	CU_ASSERT(rpci_selector_set_policy(sel, (enum rpci_sel_policy)4) == -EINVAL);
	CU_ASSERT(rpci_selector_policy(sel) == RPCI_SEL_BEST_FIT);
	rpci_selector_free(sel);
	rpci_selector_free(NULL);
}

static void
test_register_status_fields(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_device_info in = mk_info("srvA", "gpu1", 16 * GIB, "cuda", 5);
	struct rpci_sel_device_info bad;
	struct rpci_sel_row r;

	in.device_id = 0x2330;
	in.compute_units = 132;
	in.nb_kernels = 3;
	snprintf(in.kernels[2], sizeof(in.kernels[2]), "reduce-sum");
	CU_ASSERT(rpci_selector_register(sel, &in, 500) == 0);
	CU_ASSERT(rpci_selector_table(sel, NULL, 0) == 1);
	r = row_of(sel, "srvA", "gpu1");
	CU_ASSERT(memcmp(&r.info, &in, sizeof(in)) == 0);
	CU_ASSERT(r.state == RPCI_SEL_FREE);
	CU_ASSERT(r.last_heartbeat_us == 500);
	CU_ASSERT(!r.attached);
	CU_ASSERT(r.status.memory_free == 16 * GIB); /* before any status: the memory size */
	CU_ASSERT(!r.status.in_use);
	CU_ASSERT(r.predicted_us == 0.0);

	CU_ASSERT(status(sel, "srvA", "gpu1", 3 * GIB, 0.75, true, g_c2, 900) == 0);
	r = row_of(sel, "srvA", "gpu1");
	CU_ASSERT(r.status.memory_free == 3 * GIB);
	CU_ASSERT(r.status.load == 0.75);
	CU_ASSERT(r.status.in_use);
	CU_ASSERT(memcmp(r.status.client_mac, g_c2, 6) == 0);
	CU_ASSERT(r.last_heartbeat_us == 900);
	CU_ASSERT(r.info.memory_bytes == 16 * GIB);

	/* registered again (restart): the row is replaced */
	in.memory_bytes = 24 * GIB;
	in.nb_kernels = 1;
	snprintf(in.backend, sizeof(in.backend), "opencl");
	CU_ASSERT(rpci_selector_register(sel, &in, 1000) == 0);
	CU_ASSERT(rpci_selector_table(sel, NULL, 0) == 1);
	r = row_of(sel, "srvA", "gpu1");
	CU_ASSERT(r.info.memory_bytes == 24 * GIB);
	CU_ASSERT(r.status.memory_free == 24 * GIB);
	CU_ASSERT(!r.status.in_use);
	CU_ASSERT(r.status.load == 0.0);
	CU_ASSERT_STRING_EQUAL(r.info.backend, "opencl");
	CU_ASSERT(r.info.nb_kernels == 1);
	CU_ASSERT(r.info.kernels[1][0] == '\0');
	CU_ASSERT(r.last_heartbeat_us == 1000);

	/* errors */
	CU_ASSERT(status(sel, "srvA", "gpu9", GIB, 0.0, false, NULL, 1000) == -ENOENT);
	CU_ASSERT(status(sel, "srvB", "gpu1", GIB, 0.0, false, NULL, 1000) == -ENOENT);
	CU_ASSERT(status(sel, "srvA", "gpu1", GIB, -1.0, false, NULL, 1000) == -EINVAL);
	bad = in;
	bad.server[0] = '\0';
	CU_ASSERT(rpci_selector_register(sel, &bad, 0) == -EINVAL);
	bad = in;
	memset(bad.device, 'x', sizeof(bad.device)); /* not terminated */
	CU_ASSERT(rpci_selector_register(sel, &bad, 0) == -EINVAL);
	bad = in;
	bad.nb_kernels = RPCI_SEL_KERNELS_MAX + 1;
	CU_ASSERT(rpci_selector_register(sel, &bad, 0) == -EINVAL);
	bad = in;
	bad.nb_kernels = 2;
	bad.kernels[1][0] = '\0';
	CU_ASSERT(rpci_selector_register(sel, &bad, 0) == -EINVAL);
	CU_ASSERT(rpci_selector_register(sel, NULL, 0) == -EINVAL);
	CU_ASSERT(rpci_selector_table(sel, NULL, 0) == 1);
	rpci_selector_free(sel);
}

static void
test_table_order_full(void)
{
	static const char *const srv[] = { "zeta", "alpha", "mid", "alpha", "zeta", "mid" };
	static const char *const dev[] = { "d1", "d2", "d0", "d0", "d0", "d9" };
	struct rpci_sel_params p;
	struct rpci_sel_row rows[8];
	struct rpci_selector *sel;
	uint32_t i;

	memset(&p, 0, sizeof(p));
	p.max_devices = 6;
	sel = rpci_selector_create(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sel);
	for (i = 0; i < 6; i++) {
		reg(sel, srv[i], dev[i], GIB, "cpu", 1, 0);
	}
	reg(sel, "alpha", "d2", 2 * GIB, "cpu", 1, 1); /* again: no new row */
	CU_ASSERT(rpci_selector_table(sel, rows, 4) == 6); /* only 4 copied */
	CU_ASSERT(rpci_selector_table(sel, rows, 8) == 6);
	CU_ASSERT_STRING_EQUAL(rows[0].info.server, "alpha");
	CU_ASSERT_STRING_EQUAL(rows[0].info.device, "d0");
	CU_ASSERT_STRING_EQUAL(rows[1].info.device, "d2");
	CU_ASSERT(rows[1].info.memory_bytes == 2 * GIB);
	CU_ASSERT_STRING_EQUAL(rows[2].info.server, "mid");
	CU_ASSERT_STRING_EQUAL(rows[2].info.device, "d0");
	CU_ASSERT_STRING_EQUAL(rows[3].info.device, "d9");
	CU_ASSERT_STRING_EQUAL(rows[4].info.server, "zeta");
	CU_ASSERT_STRING_EQUAL(rows[4].info.device, "d0");
	CU_ASSERT_STRING_EQUAL(rows[5].info.device, "d1");
	{
		struct rpci_sel_device_info in = mk_info("beta", "d0", GIB, "cpu", 1);

		CU_ASSERT(rpci_selector_register(sel, &in, 0) == -ENOSPC);
	}
	CU_ASSERT(rpci_selector_table(sel, rows, 8) == 6);
	rpci_selector_free(sel);
}

/* A table with one device standing out in each property. */
static struct rpci_selector *
mk_varied(enum rpci_sel_policy policy)
{
	struct rpci_selector *sel = mk_sel(policy, 0.0);
	struct rpci_sel_device_info in;

	reg(sel, "s1", "cpu0", 4 * GIB, "cpu", 1, 0);
	in = mk_info("s1", "cl0", 8 * GIB, "opencl", 3);
	in.vendor_id = 0x1002;
	CU_ASSERT(rpci_selector_register(sel, &in, 0) == 0);
	in = mk_info("s2", "cuda0", 16 * GIB, "cuda", 5);
	in.vendor_id = 0x10de;
	in.class_code = 0x030000;
	in.nb_kernels = 3;
	snprintf(in.kernels[2], sizeof(in.kernels[2]), "fft");
	CU_ASSERT(rpci_selector_register(sel, &in, 0) == 0);
	in = mk_info("s3", "acc0", 2 * GIB, "cpu", 1);
	in.class_code = 0x120000;
	CU_ASSERT(rpci_selector_register(sel, &in, 0) == 0);
	return sel;
}

/* Asks r and checks it lands on server/device; releases it. */
static void
expect_match(struct rpci_selector *sel, const struct rpci_sel_requirements *r,
	     const char *server, const char *device)
{
	uint64_t lease = ask(sel, 0, g_c1, r, 10);

	CU_ASSERT(lease != 0);
	if (lease == 0) {
		printf("\n  rejected: %s\n", g_act[0].reason);
		return;
	}
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, server);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, device);
	CU_ASSERT(rpci_selector_release(sel, lease, 11) == 0);
}

static void
test_match_each(void)
{
	struct rpci_selector *sel = mk_varied(RPCI_SEL_FIRST_FIT);
	struct rpci_sel_requirements r;

	r = mk_req(0);
	expect_match(sel, &r, "s1", "cl0"); /* first in table order */
	r = mk_req(10 * GIB);
	expect_match(sel, &r, "s2", "cuda0");
	r = mk_req(0);
	r.vendor_id = 0x10de;
	expect_match(sel, &r, "s2", "cuda0");
	r = mk_req(0);
	snprintf(r.backend, sizeof(r.backend), "cpu");
	expect_match(sel, &r, "s1", "cpu0");
	r = mk_req(0);
	r.module_kinds = 2; /* OpenCL */
	expect_match(sel, &r, "s1", "cl0");
	r = mk_req(0);
	r.module_kinds = 4; /* PTX */
	expect_match(sel, &r, "s2", "cuda0");
	r = mk_req(0);
	snprintf(r.kernel, sizeof(r.kernel), "fft");
	expect_match(sel, &r, "s2", "cuda0");
	r = mk_req(0);
	r.class_code = 0x120000;
	expect_match(sel, &r, "s3", "acc0");
	r = mk_req(0);
	r.class_code = 0x030000; /* exact: only cuda0 is 0x030000 */
	expect_match(sel, &r, "s2", "cuda0");
	r = mk_req(0);
	r.class_code = 0x120000;
	r.class_mask = 0xff0000; /* base class only */
	expect_match(sel, &r, "s3", "acc0");
	r = mk_req(0);
	r.class_code = 0x030000;
	r.class_mask = 0xff0000; /* every display controller: the first */
	expect_match(sel, &r, "s1", "cl0");
	r = mk_req(0);
	snprintf(r.exclude_server, sizeof(r.exclude_server), "s1");
	expect_match(sel, &r, "s2", "cuda0");
	/* combinations */
	r = mk_req(3 * GIB);
	snprintf(r.backend, sizeof(r.backend), "cpu");
	expect_match(sel, &r, "s1", "cpu0");
	r = mk_req(GIB);
	snprintf(r.backend, sizeof(r.backend), "cpu");
	snprintf(r.exclude_server, sizeof(r.exclude_server), "s1");
	r.class_code = 0x120000;
	r.module_kinds = 1;
	snprintf(r.kernel, sizeof(r.kernel), "saxpy");
	expect_match(sel, &r, "s3", "acc0");
	r = mk_req(6 * GIB);
	r.vendor_id = 0x1002;
	r.module_kinds = 3;
	expect_match(sel, &r, "s1", "cl0");
	rpci_selector_free(sel);
}

/* Asks r, expects a REJECT with error and a reason equal to why. */
static void
expect_reject(struct rpci_selector *sel, const struct rpci_sel_requirements *r, uint32_t count,
	      int32_t error, const char *why)
{
	int n = rpci_selector_request(sel, 0, g_c1, r, count, 10, g_act, NACT);

	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_REJECT);
	CU_ASSERT(g_act[0].error == error);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, why);
	if (strcmp(g_act[0].reason, why) != 0) {
		printf("\n  reason: '%s'\n  wanted: '%s'\n", g_act[0].reason, why);
	}
}

static void
test_no_match_reasons(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	struct rpci_sel_row rows[8];

	expect_reject(sel, &r, 1, -ENODEV, "no device is registered");
	rpci_selector_free(sel);

	sel = mk_varied(RPCI_SEL_BEST_FIT);
	r = mk_req(64 * GIB);
	expect_reject(sel, &r, 1, -ENODEV,
		      "no device has 64.0 GiB of free memory (largest: 16.0 GiB)");
	r = mk_req(0);
	snprintf(r.backend, sizeof(r.backend), "rocm");
	expect_reject(sel, &r, 1, -ENODEV, "no device runs backend 'rocm'");
	r = mk_req(0);
	r.module_kinds = 6;
	expect_reject(sel, &r, 1, -ENODEV, "no device loads OpenCL and PTX modules");
	r = mk_req(0);
	r.module_kinds = 8;
	expect_reject(sel, &r, 1, -ENODEV, "no device loads kind-3 modules");
	r = mk_req(0);
	snprintf(r.kernel, sizeof(r.kernel), "conv2d");
	expect_reject(sel, &r, 1, -ENODEV, "no device has built-in kernel 'conv2d'");
	r = mk_req(0);
	r.vendor_id = 0x8086;
	expect_reject(sel, &r, 1, -ENODEV, "no device has vendor 0x8086");
	r = mk_req(0);
	r.class_code = 0x010802;
	expect_reject(sel, &r, 1, -ENODEV, "no device has class 0x010802");
	r = mk_req(0);
	r.class_code = 0x010802;
	r.class_mask = 0xff0000;
	expect_reject(sel, &r, 1, -ENODEV, "no device has class 0x010000 (mask 0xff0000)");
	/* the strictest: the one no device meets, even with others unmet too */
	r = mk_req(64 * GIB);
	snprintf(r.backend, sizeof(r.backend), "cuda");
	snprintf(r.kernel, sizeof(r.kernel), "conv2d");
	expect_reject(sel, &r, 1, -ENODEV, "no device has built-in kernel 'conv2d'");
	/* each met by some device, not together: largest among those meeting the others */
	r = mk_req(10 * GIB);
	snprintf(r.backend, sizeof(r.backend), "cpu");
	expect_reject(sel, &r, 1, -ENODEV,
		      "no device that meets the other requirements has 10.0 GiB of free memory "
		      "(largest: 4.0 GiB)");
	r = mk_req(0);
	r.vendor_id = 0x10de;
	r.module_kinds = 2;
	expect_reject(sel, &r, 1, -ENODEV,
		      "no device that meets the other requirements has vendor 0x10de");
	r = mk_req(0);
	r.vendor_id = 0x10de;
	snprintf(r.exclude_server, sizeof(r.exclude_server), "s2");
	expect_reject(sel, &r, 1, -ENODEV,
		      "no device that meets the other requirements is outside server 's2'");
	/* memory compares with the free memory the last status reported */
	CU_ASSERT(status(sel, "s2", "cuda0", 5 * GIB, 0.0, false, NULL, 10) == 0);
	r = mk_req(10 * GIB);
	expect_reject(sel, &r, 1, -ENODEV,
		      "no device has 10.0 GiB of free memory (largest: 8.0 GiB)");
	r = mk_req(5 * GIB);
	r.vendor_id = 0x10de;
	expect_match(sel, &r, "s2", "cuda0");
	/* nothing was attached by the rejections */
	CU_ASSERT(rpci_selector_table(sel, rows, 8) == 4);
	CU_ASSERT(!rows[0].attached && !rows[1].attached && !rows[2].attached && !rows[3].attached);
	rpci_selector_free(sel);
}

static void
test_busy_partial(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(8 * GIB);
	struct rpci_sel_row rows[8];
	uint64_t lease[3];
	uint32_t i;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "small", 2 * GIB, "cuda", 5, 0);
	for (i = 0; i < 3; i++) {
		lease[i] = ask(sel, 0, g_c1, &r, 10);
		CU_ASSERT(lease[i] != 0);
	}
	expect_reject(sel, &r, 1, -EBUSY, "all 3 matching devices are busy");
	CU_ASSERT(rpci_selector_release(sel, lease[1], 20) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease[2], 20) == 0);
	/* partial: 2 free of 3 asked; nothing attached */
	expect_reject(sel, &r, 3, -EBUSY, "only 2 of 3 requested devices are free");
	expect_reject(sel, &r, 5, -ENODEV, "only 2 of 5 requested devices are free (3 match)");
	CU_ASSERT(rpci_selector_table(sel, rows, 8) == 4);
	CU_ASSERT(rows[0].attached && !rows[1].attached && !rows[2].attached && !rows[3].attached);
	/* two of them: two ATTACH actions, two distinct devices and leases */
	CU_ASSERT(rpci_selector_request(sel, 0, g_c2, &r, 2, 30, g_act, NACT) == 2);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_ATTACH && g_act[1].kind == RPCI_SEL_ACT_ATTACH);
	CU_ASSERT(g_act[0].att.lease_id != g_act[1].att.lease_id);
	CU_ASSERT(g_act[0].att.lease_id != lease[0] && g_act[1].att.lease_id != lease[0]);
	CU_ASSERT(strcmp(g_act[0].att.server, g_act[1].att.server) != 0 ||
		  strcmp(g_act[0].att.device, g_act[1].att.device) != 0);
	CU_ASSERT(memcmp(g_act[1].att.client_mac, g_c2, 6) == 0);
	CU_ASSERT(g_act[0].att.expires_us == 30 + LEASE_US);
	CU_ASSERT(rpci_selector_table(sel, rows, 8) == 4);
	CU_ASSERT(rows[0].attached && rows[1].attached && rows[2].attached && !rows[3].attached);
	CU_ASSERT(rows[1].state == RPCI_SEL_ATTACHED);
	CU_ASSERT(rows[1].att.lease_id == g_act[0].att.lease_id);
	/* a device the server says is in use (outside any attachment) is busy too */
	r = mk_req(GIB);
	CU_ASSERT(status(sel, "s2", "small", 2 * GIB, 0.0, true, g_c2, 40) == 0);
	expect_reject(sel, &r, 1, -EBUSY, "all 4 matching devices are busy");
	CU_ASSERT(status(sel, "s2", "small", 2 * GIB, 0.0, false, NULL, 41) == 0);
	expect_match(sel, &r, "s2", "small");
	/* bad requests */
	CU_ASSERT(rpci_selector_request(sel, 0, g_c1, &r, 0, 50, g_act, NACT) == -EINVAL);
	CU_ASSERT(rpci_selector_request(sel, 0, g_c1, &r, 17, 50, g_act, NACT) == -EINVAL);
	CU_ASSERT(rpci_selector_request(sel, 0, g_c1, &r, 4, 50, g_act, 3) == -EINVAL);
	CU_ASSERT(rpci_selector_request(sel, 0, NULL, &r, 1, 50, g_act, NACT) == -EINVAL);
	CU_ASSERT(rpci_selector_request(sel, 0, g_c1, NULL, 1, 50, g_act, NACT) == -EINVAL);
	memset(r.backend, 'a', sizeof(r.backend));
	CU_ASSERT(rpci_selector_request(sel, 0, g_c1, &r, 1, 50, g_act, NACT) == -EINVAL);
	rpci_selector_free(sel);
}

static void
test_drain_down_excluded(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	struct rpci_sel_action a;
	uint64_t lease, t;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g0", 16 * GIB, "cuda", 5, 0);
	lease = ask(sel, 0, g_c1, &r, 10);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s1");
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "g0");
	CU_ASSERT(rpci_selector_drain(sel, "s1", true) == 2);
	CU_ASSERT(rpci_selector_drain(sel, "nope", true) == -ENOENT);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_DRAINING);
	CU_ASSERT(state_of(sel, "s1", "g1") == RPCI_SEL_DRAINING);
	CU_ASSERT(row_of(sel, "s1", "g0").attached); /* its client goes on */
	expect_match(sel, &r, "s2", "g0");           /* draining ones are skipped */
	/* s2 goes down (s1 keeps reporting) */
	for (t = HB_US; t <= 5 * HB_US; t += HB_US) {
		CU_ASSERT(status(sel, "s1", "g0", 16 * GIB, 0.0, true, g_c1, t) == 0);
		CU_ASSERT(status(sel, "s1", "g1", 16 * GIB, 0.0, false, NULL, t) == 0);
		CU_ASSERT(rpci_selector_tick(sel, t, g_act, NACT) == 0);
	}
	CU_ASSERT(state_of(sel, "s2", "g0") == RPCI_SEL_DOWN);
	expect_reject(sel, &r, 1, -EAGAIN, "all matching devices are down or draining");
	/* busy + draining + down */
	CU_ASSERT(rpci_selector_drain(sel, "s1", false) == 0);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_ATTACHED);
	CU_ASSERT(state_of(sel, "s1", "g1") == RPCI_SEL_FREE);
	CU_ASSERT(rpci_selector_attach(sel, "s1", "g1", g_c2, t, &a) == 0);
	CU_ASSERT(rpci_selector_drain(sel, "s1", true) == 2);
	expect_reject(sel, &r, 1, -EAGAIN, "all matching devices are down or draining");
	CU_ASSERT(rpci_selector_drain(sel, "s1", false) == 0);
	expect_reject(sel, &r, 1, -EBUSY, "all 3 matching devices are busy, down or draining");
	/* a draining device whose client leaves stays draining */
	CU_ASSERT(rpci_selector_drain(sel, "s1", true) == 2);
	CU_ASSERT(rpci_selector_release(sel, lease, t) == 0);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_DRAINING);
	CU_ASSERT(!row_of(sel, "s1", "g0").attached);
	CU_ASSERT(rpci_selector_drain(sel, "s1", false) == 0);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_FREE);
	rpci_selector_free(sel);
}

static void
test_policy_first_fit(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(4 * GIB);
	uint64_t l1, l2;

	/* registered out of order: first-fit takes table order (server, device) */
	reg(sel, "s3", "a", 32 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "b", 8 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "a", 2 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "a", 4 * GIB, "cuda", 5, 0);
	CU_ASSERT(status(sel, "s1", "b", 8 * GIB, 0.9, false, NULL, 0) == 0);
	l1 = ask(sel, 0, g_c1, &r, 10);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s1");
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "b");
	l2 = ask(sel, 0, g_c1, &r, 10);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s2");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s3");
	CU_ASSERT(rpci_selector_release(sel, l1, 20) == 0);
	CU_ASSERT(rpci_selector_release(sel, l2, 20) == 0);
	CU_ASSERT(rpci_selector_request(sel, 0, g_c2, &r, 2, 30, g_act, NACT) == 2);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s1");
	CU_ASSERT_STRING_EQUAL(g_act[1].att.server, "s2");
	rpci_selector_free(sel);
}

static void
test_policy_best_fit(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_BEST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(6 * GIB);

	reg(sel, "s1", "big", 80 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "mid", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "fit", 8 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "tiny", 4 * GIB, "cuda", 5, 0);
	reg(sel, "s3", "fit", 8 * GIB, "cuda", 5, 0);
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0); /* smallest that fits, table order on a tie */
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s2");
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "fit");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s3");
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "fit");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "mid");
	r = mk_req(GIB);
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "tiny");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "big");
	rpci_selector_free(sel);

	/* k of them: the k smallest that fit, smallest first */
	sel = mk_sel(RPCI_SEL_BEST_FIT, 0.0);
	reg(sel, "s1", "a", 40 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "b", 10 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "c", 30 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "d", 20 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "e", 5 * GIB, "cuda", 5, 0);
	r = mk_req(8 * GIB);
	CU_ASSERT(rpci_selector_request(sel, 0, g_c1, &r, 3, 30, g_act, NACT) == 3);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "b");
	CU_ASSERT_STRING_EQUAL(g_act[1].att.device, "d");
	CU_ASSERT_STRING_EQUAL(g_act[2].att.device, "c");
	rpci_selector_free(sel);
}

static void
test_policy_least_loaded(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_LEAST_LOADED, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s3", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s4", "g0", GIB / 2, "cuda", 5, 0);
	CU_ASSERT(status(sel, "s1", "g0", 16 * GIB, 0.7, false, NULL, 1) == 0);
	CU_ASSERT(status(sel, "s2", "g0", 16 * GIB, 0.2, false, NULL, 1) == 0);
	CU_ASSERT(status(sel, "s3", "g0", 16 * GIB, 0.5, false, NULL, 1) == 0);
	CU_ASSERT(status(sel, "s4", "g0", GIB / 2, 0.0, false, NULL, 1) == 0); /* too small */
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s2");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s3");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s1");
	rpci_selector_free(sel);

	/* the policy changes at run time */
	sel = mk_sel(RPCI_SEL_LEAST_LOADED, 0.0);
	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g0", 8 * GIB, "cuda", 5, 0);
	CU_ASSERT(status(sel, "s1", "g0", 16 * GIB, 0.9, false, NULL, 1) == 0);
	CU_ASSERT(status(sel, "s2", "g0", 8 * GIB, 0.1, false, NULL, 1) == 0);
	CU_ASSERT(ask(sel, 0, g_c1, &r, 10) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s2");
	CU_ASSERT(rpci_selector_release(sel, g_act[0].att.lease_id, 11) == 0);
	CU_ASSERT(rpci_selector_set_policy(sel, RPCI_SEL_FIRST_FIT) == 0);
	CU_ASSERT(ask(sel, 0, g_c1, &r, 12) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s1");
	rpci_selector_free(sel);
}

static void
test_lease_expiry_renew(void)
{
	/* heartbeats of a second: the server stays up while leases run out */
	struct rpci_selector *sel = mk_sel_hb(RPCI_SEL_FIRST_FIT, 0.0, 1000000);
	struct rpci_sel_requirements r = mk_req(GIB);
	uint64_t l1, l2, l3, t;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g2", 16 * GIB, "cuda", 5, 0);
	l1 = ask(sel, 0, g_c1, &r, 1000);
	CU_ASSERT(g_act[0].att.expires_us == 1000 + LEASE_US);
	l2 = ask(sel, 0, g_c1, &r, 2000);
	l3 = ask(sel, 0, g_c2, &r, 3000);
	CU_ASSERT(l1 != 0 && l2 != 0 && l3 != 0 && l1 != l2 && l2 != l3);
	/* the server keeps reporting, with the sessions in use */
	for (t = 10000; t < 1000 + LEASE_US; t += 10000) {
		CU_ASSERT(status(sel, "s1", "g0", GIB, 0.0, true, g_c1, t) == 0);
		CU_ASSERT(status(sel, "s1", "g1", GIB, 0.0, true, g_c1, t) == 0);
		CU_ASSERT(status(sel, "s1", "g2", GIB, 0.0, true, g_c2, t) == 0);
		CU_ASSERT(rpci_selector_tick(sel, t, g_act, NACT) == 0);
	}
	CU_ASSERT(rpci_selector_renew(sel, g_c1, 50000) == 2);
	CU_ASSERT(row_of(sel, "s1", "g0").att.expires_us == 50000 + LEASE_US);
	CU_ASSERT(row_of(sel, "s1", "g1").att.expires_us == 50000 + LEASE_US);
	CU_ASSERT(row_of(sel, "s1", "g2").att.expires_us == 3000 + LEASE_US);
	CU_ASSERT(rpci_selector_tick(sel, 3000 + LEASE_US - 1, g_act, NACT) == 0);
	/* c2's lease runs out: DETACH, device free */
	CU_ASSERT(rpci_selector_tick(sel, 3000 + LEASE_US, g_act, NACT) == 1);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_DETACH);
	CU_ASSERT(g_act[0].att.lease_id == l3);
	CU_ASSERT(memcmp(g_act[0].att.client_mac, g_c2, 6) == 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "g2");
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "lease expired");
	CU_ASSERT(g_act[0].error == -ETIMEDOUT);
	CU_ASSERT(!g_act[0].failover);
	CU_ASSERT(state_of(sel, "s1", "g2") == RPCI_SEL_FREE);
	CU_ASSERT(!row_of(sel, "s1", "g2").status.in_use);
	CU_ASSERT(rpci_selector_release(sel, l3, 3000 + LEASE_US) == -ENOENT);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_ATTACHED);
	/* c1's renewed leases last until 50000 + LEASE_US; both end then */
	CU_ASSERT(rpci_selector_tick(sel, 50000 + LEASE_US - 1, g_act, NACT) == 0);
	CU_ASSERT(rpci_selector_tick(sel, 50000 + LEASE_US, g_act, 1) == 1); /* room for one */
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_DETACH);
	CU_ASSERT(rpci_selector_tick(sel, 50000 + LEASE_US, g_act + 1, NACT) == 1); /* the rest */
	CU_ASSERT(g_act[1].kind == RPCI_SEL_ACT_DETACH);
	CU_ASSERT((g_act[0].att.lease_id == l1 && g_act[1].att.lease_id == l2) ||
		  (g_act[0].att.lease_id == l2 && g_act[1].att.lease_id == l1));
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_FREE);
	CU_ASSERT(state_of(sel, "s1", "g1") == RPCI_SEL_FREE);
	CU_ASSERT(rpci_selector_renew(sel, g_c1, 200000) == 0);
	rpci_selector_free(sel);
}

static void
test_release_manual(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	struct rpci_sel_action a;
	struct rpci_sel_row row;
	uint64_t lease;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, 0);
	lease = ask(sel, 0, g_c1, &r, 10);
	CU_ASSERT(rpci_selector_release(sel, lease, 20) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, 20) == -ENOENT);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_FREE);
	CU_ASSERT(rpci_selector_tick(sel, 30, g_act, NACT) == 0); /* no action for a release */

	/* by hand */
	CU_ASSERT(rpci_selector_attach(sel, "s1", "g1", g_c2, 40, &a) == 0);
	CU_ASSERT(a.kind == RPCI_SEL_ACT_ATTACH);
	CU_ASSERT(a.request_id == 0);
	CU_ASSERT_STRING_EQUAL(a.att.server, "s1");
	CU_ASSERT_STRING_EQUAL(a.att.device, "g1");
	CU_ASSERT(memcmp(a.att.client_mac, g_c2, 6) == 0);
	CU_ASSERT(a.att.function == (uint16_t)'1');
	CU_ASSERT(a.att.expires_us == 40 + LEASE_US);
	CU_ASSERT(a.att.lease_id != lease);
	row = row_of(sel, "s1", "g1");
	CU_ASSERT(row.state == RPCI_SEL_ATTACHED);
	CU_ASSERT(row.attached);
	CU_ASSERT(memcmp(&row.att, &a.att, sizeof(a.att)) == 0);
	CU_ASSERT(memcmp(row.att.server_mac, row.info.server_mac, 6) == 0);
	CU_ASSERT(rpci_selector_attach(sel, "s1", "g1", g_c1, 41, &a) == -EBUSY);
	CU_ASSERT(rpci_selector_attach(sel, "s1", "g7", g_c1, 41, &a) == -ENOENT);
	CU_ASSERT(rpci_selector_attach(sel, "s9", "g1", g_c1, 41, &a) == -ENOENT);
	lease = row.att.lease_id;
	CU_ASSERT(rpci_selector_detach(sel, lease, 50, &a) == 0);
	CU_ASSERT(a.kind == RPCI_SEL_ACT_DETACH);
	CU_ASSERT(a.att.lease_id == lease);
	CU_ASSERT(memcmp(a.att.client_mac, g_c2, 6) == 0);
	CU_ASSERT_STRING_EQUAL(a.reason, "detached by the operator");
	CU_ASSERT(a.error < 0);
	CU_ASSERT(state_of(sel, "s1", "g1") == RPCI_SEL_FREE);
	CU_ASSERT(rpci_selector_detach(sel, lease, 50, &a) == -ENOENT);
	rpci_selector_free(sel);
}

static void
test_idempotent(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	struct rpci_sel_action first[2];
	struct rpci_sel_row rows[4];
	uint64_t lease;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g2", 16 * GIB, "cuda", 5, 0);
	CU_ASSERT(rpci_selector_request(sel, 77, g_c1, &r, 2, 10, first, 2) == 2);
	CU_ASSERT(first[0].request_id == 77 && first[1].request_id == 77);
	/* the retry: same answer, no new attachment */
	CU_ASSERT(rpci_selector_request(sel, 77, g_c1, &r, 2, 20, g_act, NACT) == 2);
	CU_ASSERT(memcmp(&g_act[0], &first[0], sizeof(first[0])) == 0);
	CU_ASSERT(memcmp(&g_act[1], &first[1], sizeof(first[1])) == 0);
	CU_ASSERT(rpci_selector_table(sel, rows, 4) == 3);
	CU_ASSERT(rows[0].attached && rows[1].attached && !rows[2].attached);
	/* the same id from another client is another request */
	lease = ask(sel, 77, g_c2, &r, 30);
	CU_ASSERT(lease != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "g2");
	/* a rejected request is rejected again the same way, even if a device frees */
	CU_ASSERT(ask(sel, 78, g_c2, &r, 40) == 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "all 3 matching devices are busy");
	CU_ASSERT(rpci_selector_release(sel, lease, 50) == 0);
	CU_ASSERT(ask(sel, 78, g_c2, &r, 60) == 0);
	CU_ASSERT(g_act[0].request_id == 78);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "all 3 matching devices are busy");
	/* new id: a new lease, not the old one again */
	CU_ASSERT(ask(sel, 79, g_c2, &r, 60) != 0);
	CU_ASSERT(g_act[0].att.lease_id != lease);
	/* a retry after its attachment ended says so */
	CU_ASSERT(rpci_selector_release(sel, first[1].att.lease_id, 70) == 0);
	CU_ASSERT(rpci_selector_request(sel, 77, g_c1, &r, 2, 80, g_act, NACT) == 1);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_REJECT);
	CU_ASSERT(g_act[0].error == -ESTALE);
	CU_ASSERT(g_act[0].request_id == 77);
	rpci_selector_free(sel);
}

/* Heartbeats of every device of server s up to time t. */
static void
beat(struct rpci_selector *sel, const char *server, uint32_t nb, uint64_t t)
{
	char dev[RPCI_SEL_NAME_MAX];
	uint32_t i;

	for (i = 0; i < nb; i++) {
		snprintf(dev, sizeof(dev), "g%u", i);
		CU_ASSERT(status(sel, server, dev, 16 * GIB, 0.0, false, NULL, t) == 0);
	}
}

static void
test_heartbeat_failover(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	uint64_t l1, l2, l3, t;
	int n, i;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g2", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g1", 16 * GIB, "cuda", 5, 0);
	r.job_size = 5;
	l1 = ask(sel, 101, g_c1, &r, 10); /* s1 g0, failover */
	r.failover = false;
	l2 = ask(sel, 102, g_c2, &r, 10); /* s1 g1, no failover */
	r.failover = true;
	snprintf(r.exclude_server, sizeof(r.exclude_server), "s2");
	l3 = ask(sel, 103, g_c2, &r, 10); /* s1 g2, failover but nowhere else to go */
	CU_ASSERT(l1 && l2 && l3);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "g2");
	/* s2 reports, s1 falls silent after t = 0 */
	for (t = HB_US; t <= 3 * HB_US; t += HB_US) {
		beat(sel, "s2", 2, t);
		CU_ASSERT(rpci_selector_tick(sel, t, g_act, NACT) == 0);
	}
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_ATTACHED);
	t = 3 * HB_US + 1;
	n = rpci_selector_tick(sel, t, g_act, NACT);
	CU_ASSERT_FATAL(n == 4);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_DOWN);
	CU_ASSERT(state_of(sel, "s1", "g1") == RPCI_SEL_DOWN);
	CU_ASSERT(state_of(sel, "s1", "g2") == RPCI_SEL_DOWN);
	for (i = 0; i < n; i++) {
		if (g_act[i].kind == RPCI_SEL_ACT_DETACH && g_act[i].att.lease_id == l1) {
			/* failover: DETACH(failover), then an ATTACH elsewhere */
			CU_ASSERT(g_act[i].failover);
			CU_ASSERT(g_act[i].error == -EHOSTDOWN);
			CU_ASSERT_PTR_NOT_NULL(strstr(g_act[i].reason, "'s1'"));
			CU_ASSERT_FATAL(i + 1 < n);
			CU_ASSERT(g_act[i + 1].kind == RPCI_SEL_ACT_ATTACH);
			CU_ASSERT(g_act[i + 1].failover);
			CU_ASSERT(g_act[i + 1].request_id == 101);
			CU_ASSERT(memcmp(g_act[i + 1].att.client_mac, g_c1, 6) == 0);
			CU_ASSERT_STRING_EQUAL(g_act[i + 1].att.server, "s2");
			CU_ASSERT_STRING_EQUAL(g_act[i + 1].att.device, "g0");
			CU_ASSERT(g_act[i + 1].att.lease_id != l1);
			CU_ASSERT(g_act[i + 1].att.expires_us == t + LEASE_US);
		} else if (g_act[i].kind == RPCI_SEL_ACT_DETACH && g_act[i].att.lease_id == l2) {
			CU_ASSERT(!g_act[i].failover);
			CU_ASSERT(g_act[i].error == -EHOSTDOWN);
			CU_ASSERT(memcmp(g_act[i].att.client_mac, g_c2, 6) == 0);
			CU_ASSERT(i + 1 == n || g_act[i + 1].kind == RPCI_SEL_ACT_DETACH);
		} else if (g_act[i].kind == RPCI_SEL_ACT_DETACH && g_act[i].att.lease_id == l3) {
			/* asked for failover, but its requirements exclude s2 */
			CU_ASSERT(!g_act[i].failover);
			CU_ASSERT_PTR_NOT_NULL(strstr(g_act[i].reason, "no other device"));
			CU_ASSERT(i + 1 == n || g_act[i + 1].kind == RPCI_SEL_ACT_DETACH);
		} else {
			CU_ASSERT(g_act[i].kind == RPCI_SEL_ACT_ATTACH && i > 0 &&
				  g_act[i - 1].att.lease_id == l1);
		}
	}
	CU_ASSERT(state_of(sel, "s2", "g0") == RPCI_SEL_ATTACHED);
	CU_ASSERT(!row_of(sel, "s1", "g0").attached);
	CU_ASSERT(rpci_selector_release(sel, l1, t) == -ENOENT);
	CU_ASSERT(rpci_selector_tick(sel, t + 1, g_act, NACT) == 0); /* once only */
	/* s1 comes back: a status frees that device; REGISTER frees the others */
	t += HB_US;
	CU_ASSERT(status(sel, "s1", "g0", 16 * GIB, 0.0, false, NULL, t) == 0);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_FREE);
	CU_ASSERT(state_of(sel, "s1", "g1") == RPCI_SEL_DOWN);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, t);
	CU_ASSERT(state_of(sel, "s1", "g1") == RPCI_SEL_FREE);
	CU_ASSERT(row_of(sel, "s1", "g1").last_heartbeat_us == t);
	CU_ASSERT(rpci_selector_tick(sel, t, g_act, NACT) == 0);
	rpci_selector_free(sel);
}

static void
test_failover_chain(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_BEST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(10 * GIB);
	uint64_t t;
	int n;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g0", 4 * GIB, "cuda", 5, 0);  /* too small */
	reg(sel, "s3", "g0", 24 * GIB, "cuda", 5, 0);
	reg(sel, "s4", "g0", 32 * GIB, "cuda", 5, 0);
	CU_ASSERT(ask(sel, 5, g_c1, &r, 0) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "s1");
	/* s1 dies: to s3 (the best fit of those left) */
	for (t = HB_US; t <= 4 * HB_US; t += HB_US) {
		beat(sel, "s2", 1, t);
		beat(sel, "s3", 1, t);
		beat(sel, "s4", 1, t);
		n = rpci_selector_tick(sel, t, g_act, NACT);
		CU_ASSERT(n == (t == 4 * HB_US ? 2 : 0));
	}
	CU_ASSERT_STRING_EQUAL(g_act[1].att.server, "s3");
	/* s3 dies: to s4, with the same requirements */
	for (; t <= 8 * HB_US; t += HB_US) {
		beat(sel, "s2", 1, t);
		beat(sel, "s4", 1, t);
		n = rpci_selector_tick(sel, t, g_act, NACT);
		CU_ASSERT(n == (t == 8 * HB_US ? 2 : 0));
	}
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_DETACH && g_act[0].failover);
	CU_ASSERT(g_act[1].kind == RPCI_SEL_ACT_ATTACH && g_act[1].failover);
	CU_ASSERT_STRING_EQUAL(g_act[1].att.server, "s4");
	CU_ASSERT(g_act[1].request_id == 5);
	/* s4 dies: nothing else has 10 GiB; the DETACH says why */
	for (; t <= 12 * HB_US; t += HB_US) {
		beat(sel, "s2", 1, t);
		n = rpci_selector_tick(sel, t, g_act, NACT);
		CU_ASSERT(n == (t == 12 * HB_US ? 1 : 0));
	}
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_DETACH && !g_act[0].failover);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason,
			       "server 's4' missed its heartbeats; no other device: all matching "
			       "devices are down or draining");
	rpci_selector_free(sel);
}

static void
test_status_grace_reregister(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	struct rpci_sel_row row;
	uint64_t l1, l2;
	int n;

	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s1", "g1", 16 * GIB, "cuda", 5, 0);
	reg(sel, "s2", "g0", 16 * GIB, "cuda", 5, 0);
	l1 = ask(sel, 0, g_c1, &r, 1000);
	/* not in use yet, within one lease period: the client may still come */
	CU_ASSERT(status(sel, "s1", "g0", 16 * GIB, 0.0, false, NULL, 1000 + LEASE_US / 2) == 0);
	CU_ASSERT(state_of(sel, "s1", "g0") == RPCI_SEL_ATTACHED);
	/* in use by another client than the attachment's: shown as reported, kept */
	CU_ASSERT(status(sel, "s1", "g0", 9 * GIB, 0.3, true, g_c2, 1000 + LEASE_US) == 0);
	row = row_of(sel, "s1", "g0");
	CU_ASSERT(row.state == RPCI_SEL_ATTACHED);
	CU_ASSERT(row.status.in_use);
	CU_ASSERT(memcmp(row.status.client_mac, g_c2, 6) == 0);
	CU_ASSERT(memcmp(row.att.client_mac, g_c1, 6) == 0);
	CU_ASSERT(rpci_selector_renew(sel, g_c1, 1000 + LEASE_US) == 1);
	/* not in use past the grace: freed, the DETACH comes out of the next tick */
	CU_ASSERT(status(sel, "s1", "g0", 9 * GIB, 0.3, false, NULL, 2000 + LEASE_US) == 0);
	row = row_of(sel, "s1", "g0");
	CU_ASSERT(row.state == RPCI_SEL_FREE);
	CU_ASSERT(!row.attached);
	CU_ASSERT(row.status.memory_free == 9 * GIB); /* the status as reported */
	n = rpci_selector_tick(sel, 2000 + LEASE_US, g_act, NACT);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_DETACH);
	CU_ASSERT(g_act[0].att.lease_id == l1);
	CU_ASSERT(g_act[0].error == -ENOTCONN);

	/* a device registered again while attached: DETACH, and failover */
	r.failover = true;
	l2 = ask(sel, 9, g_c2, &r, 3000 + LEASE_US);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "g0");
	reg(sel, "s1", "g0", 16 * GIB, "cuda", 5, 4000 + LEASE_US);
	n = rpci_selector_tick(sel, 4000 + LEASE_US, g_act, NACT);
	CU_ASSERT_FATAL(n == 2);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_DETACH && g_act[0].att.lease_id == l2);
	CU_ASSERT(g_act[0].failover);
	CU_ASSERT(g_act[0].error == -ECONNRESET);
	CU_ASSERT(g_act[1].kind == RPCI_SEL_ACT_ATTACH && g_act[1].failover);
	CU_ASSERT(g_act[1].request_id == 9);
	CU_ASSERT(g_act[1].att.lease_id != l2);
	CU_ASSERT(memcmp(g_act[1].att.client_mac, g_c2, 6) == 0);
	/* the device is back and free: first-fit takes it again, with a new lease */
	CU_ASSERT_STRING_EQUAL(g_act[1].att.server, "s1");
	CU_ASSERT_STRING_EQUAL(g_act[1].att.device, "g0");
	CU_ASSERT(row_of(sel, "s1", "g0").att.lease_id == g_act[1].att.lease_id);
	rpci_selector_free(sel);
}

/*
 * Two servers, the second three times slower by the times clients report:
 * the learned policy must come to prefer the first, at sizes it has seen
 * and at sizes it has not.
 */
static void
run_job(struct rpci_selector *sel, uint64_t size, uint64_t now, uint32_t *fast)
{
	struct rpci_sel_requirements r = mk_req(GIB);
	uint64_t lease, elapsed;
	bool is_fast;

	snprintf(r.job, sizeof(r.job), "saxpy");
	r.job_size = size;
	lease = ask(sel, 0, g_c1, &r, now);
	CU_ASSERT_FATAL(lease != 0);
	is_fast = strcmp(g_act[0].att.server, "zfast") == 0;
	*fast += is_fast;
	/* 40 us of overhead + 1 ns an element; the slow server takes 3x; +-10% noise */
	elapsed = 40 + size / 1000;
	elapsed = is_fast ? elapsed : 3 * elapsed;
	elapsed = elapsed * (95 + (uint64_t)(rand() % 11)) / 100;
	CU_ASSERT(rpci_selector_report(sel, lease, "saxpy", size, elapsed) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, now + 1) == 0);
}

static void
test_learned_converges(void)
{
	static const uint64_t sizes[] = { 100000, 1000000, 4000000 };
	struct rpci_selector *sel = mk_sel(RPCI_SEL_LEARNED, 0.1);
	struct rpci_sel_requirements r = mk_req(GIB);
	uint32_t fast = 0, i;
	double pf, ps;

	srand(7);
	/* the slow one sorts first: table order alone would pick it */
	reg(sel, "aslow", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "zfast", "g0", 16 * GIB, "cpu", 1, 0);
	CU_ASSERT(rpci_selector_predict(sel, "zfast", "g0", "saxpy", 1000) < 0.0);
	for (i = 0; i < 50; i++) {
		run_job(sel, sizes[i % 3], 10 + i * 10, &fast);
	}
	CU_ASSERT(rpci_selector_predict(sel, "zfast", "g0", "saxpy", 1000000) > 0.0);
	CU_ASSERT(rpci_selector_predict(sel, "aslow", "g0", "saxpy", 1000000) > 0.0);
	fast = 0;
	for (i = 0; i < 200; i++) {
		run_job(sel, sizes[i % 3], 1000 + i * 10, &fast);
	}
	printf("\n  learned: fast server chosen %u of 200 (explore 0.1)\n", fast);
	CU_ASSERT(fast >= 170);
	CU_ASSERT(fast < 200); /* it explores */
	/* sizes it has not seen: the prediction and the choice */
	pf = rpci_selector_predict(sel, "zfast", "g0", "saxpy", 64000000);
	ps = rpci_selector_predict(sel, "aslow", "g0", "saxpy", 64000000);
	printf("  predicted at 64M: fast %.0f us, slow %.0f us\n", pf, ps);
	CU_ASSERT(pf > 0.0 && ps > 2.0 * pf);
	CU_ASSERT(pf > 64000 * 0.8 && pf < 64040 * 1.2);
	pf = rpci_selector_predict(sel, "zfast", "g0", "saxpy", 10000);
	ps = rpci_selector_predict(sel, "aslow", "g0", "saxpy", 10000);
	CU_ASSERT(pf > 0.0 && ps > pf);
	CU_ASSERT(rpci_selector_set_policy(sel, RPCI_SEL_LEARNED) == 0);
	fast = 0;
	for (i = 0; i < 100; i++) {
		run_job(sel, 64000000 + i, 5000 + i * 10, &fast);
	}
	CU_ASSERT(fast >= 80);
	/* the row carries the last decision's prediction */
	CU_ASSERT(row_of(sel, "zfast", "g0").predicted_us > 0.0);
	/* an unknown job: no prediction */
	CU_ASSERT(rpci_selector_predict(sel, "zfast", "g0", "sgemm", 1000) < 0.0);
	CU_ASSERT(rpci_selector_predict(sel, "zfast", "g9", "saxpy", 1000) < 0.0);
	CU_ASSERT(rpci_selector_report(sel, 999999, "saxpy", 1, 1) == -ENOENT);
	CU_ASSERT(rpci_selector_report(sel, 1, "", 1, 1) == -EINVAL);
	rpci_selector_free(sel);

	/* without exploration it always takes the fast one once both are known */
	sel = mk_sel(RPCI_SEL_LEARNED, 0.0);
	reg(sel, "aslow", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "zfast", "g0", 16 * GIB, "cpu", 1, 0);
	for (i = 0; i < 20; i++) {
		run_job(sel, sizes[i % 3], 10 + i * 10, &fast);
	}
	fast = 0;
	for (i = 0; i < 50; i++) {
		run_job(sel, 2000000, 1000 + i * 10, &fast);
	}
	CU_ASSERT(fast == 50);
	(void)r;
	rpci_selector_free(sel);
}

/*
 * One stall on the fast server (a report 50 times the usual) must not send
 * the next decisions to the slow one, where the fast one would get no
 * report to prove itself again; a fast server that really became slower
 * than the other is still noticed, within a few more reports.
 */
static void
test_learned_outlier(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_LEARNED, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	uint64_t lease, now = 10;
	unsigned int i, slow_after = 0;

	reg(sel, "fast", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "slow", "g0", 16 * GIB, "cpu", 1, 0);
	snprintf(r.job, sizeof(r.job), "sgemm");
	r.job_size = 1000;
	/* one report each (no data: each is tried), then 20 on the fast one */
	for (i = 0; i < 22; i++) {
		bool slow;

		lease = ask(sel, 0, g_c1, &r, now++);
		CU_ASSERT_FATAL(lease != 0);
		slow = strcmp(g_act[0].att.server, "slow") == 0;
		CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, slow ? 300 : 100) == 0);
		CU_ASSERT(rpci_selector_release(sel, lease, now++) == 0);
	}
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "fast");
	/* a stall: 5000 us once */
	lease = ask(sel, 0, g_c1, &r, now++);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "fast");
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 5000) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, now++) == 0);
	CU_ASSERT(rpci_selector_predict(sel, "fast", "g0", "sgemm", 1000) < 120.0);
	lease = ask(sel, 0, g_c1, &r, now++);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "fast");
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 100) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, now++) == 0);
	/* the fast one really became six times slower: the other is taken soon */
	for (i = 1; i <= 30 && slow_after == 0; i++) {
		lease = ask(sel, 0, g_c1, &r, now++);
		if (strcmp(g_act[0].att.server, "slow") == 0) {
			slow_after = i;
		}
		CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000,
					       slow_after != 0 ? 300 : 600) == 0);
		CU_ASSERT(rpci_selector_release(sel, lease, now++) == 0);
	}
	printf("\n  learned: a stall of 50x moved nothing; a real slowdown noticed after %u "
	       "reports\n", slow_after - 1);
	CU_ASSERT(slow_after >= 2 && slow_after <= 20);
	rpci_selector_free(sel);

	/*
	 * The stall in the fast server's first report: it is tried once more
	 * (two reports before a device is trusted), and its next report, far
	 * faster, outweighs the stall: the fast one is taken from then on.
	 */
	sel = mk_sel(RPCI_SEL_LEARNED, 0.0);
	reg(sel, "fast", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "slow", "g0", 16 * GIB, "cpu", 1, 0);
	for (i = 0; i < 14; i++) {
		bool fast = false;

		lease = ask(sel, 0, g_c1, &r, now++);
		CU_ASSERT_FATAL(lease != 0);
		fast = strcmp(g_act[0].att.server, "fast") == 0;
		if (i == 4) {
			CU_ASSERT(fast); /* both tried twice, then the fastest */
		}
		CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000,
					       fast ? (i == 0 ? 5000 : 100) : 300) == 0);
		CU_ASSERT(rpci_selector_release(sel, lease, now++) == 0);
		if (i >= 4) {
			CU_ASSERT(fast);
		}
	}
	CU_ASSERT(rpci_selector_predict(sel, "fast", "g0", "sgemm", 1000) < 150.0);
	rpci_selector_free(sel);
}

static void
test_learned_optimistic_load(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_LEARNED, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	uint64_t lease;
	double p0, p1;

	reg(sel, "a", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "b", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "c", "g0", 16 * GIB, "cpu", 1, 0);
	snprintf(r.job, sizeof(r.job), "sgemm");
	r.job_size = 1000;
	/* every device without a sample for the job is tried, in table order */
	lease = ask(sel, 0, g_c1, &r, 1);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "a");
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 100) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, 2) == 0);
	lease = ask(sel, 0, g_c1, &r, 3);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "b");
	CU_ASSERT(rpci_selector_release(sel, lease, 4) == 0);
	/* a report after the release still counts */
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 150) == 0);
	lease = ask(sel, 0, g_c1, &r, 5);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "c");
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 300) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, 6) == 0);
	/* one report each is not yet trusted: each is tried again, the fewest reports first */
	lease = ask(sel, 0, g_c1, &r, 7);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "a");
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 100) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, 8) == 0);
	lease = ask(sel, 0, g_c1, &r, 8);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "b");
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 150) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, 8) == 0);
	lease = ask(sel, 0, g_c1, &r, 8);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "c");
	CU_ASSERT(rpci_selector_report(sel, lease, "sgemm", 1000, 300) == 0);
	CU_ASSERT(rpci_selector_release(sel, lease, 8) == 0);
	/* then the fastest */
	lease = ask(sel, 0, g_c1, &r, 8);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "a");
	CU_ASSERT(rpci_selector_release(sel, lease, 8) == 0);
	/* one size seen: time proportional to size */
	p0 = rpci_selector_predict(sel, "a", "g0", "sgemm", 1000);
	p1 = rpci_selector_predict(sel, "a", "g0", "sgemm", 3000);
	CU_ASSERT(p0 > 99.0 && p0 < 101.0);
	CU_ASSERT(p1 > 299.0 && p1 < 301.0);
	CU_ASSERT(rpci_selector_predict(sel, "a", "g0", "sgemm", 0) > 99.0); /* size unknown */
	/* a loaded server is predicted slower in proportion: b wins now */
	CU_ASSERT(status(sel, "a", "g0", 16 * GIB, 1.0, false, NULL, 9) == 0);
	p0 = rpci_selector_predict(sel, "a", "g0", "sgemm", 1000);
	CU_ASSERT(p0 > 199.0 && p0 < 201.0);
	lease = ask(sel, 0, g_c1, &r, 10);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "b");
	CU_ASSERT(row_of(sel, "a", "g0").predicted_us > 199.0);
	CU_ASSERT(row_of(sel, "c", "g0").predicted_us > 299.0);
	CU_ASSERT(rpci_selector_release(sel, lease, 11) == 0);
	/* no job kind: nothing to learn from, least loaded */
	r.job[0] = '\0';
	CU_ASSERT(status(sel, "b", "g0", 16 * GIB, 0.5, false, NULL, 12) == 0);
	CU_ASSERT(status(sel, "c", "g0", 16 * GIB, 0.25, false, NULL, 12) == 0);
	CU_ASSERT(ask(sel, 0, g_c1, &r, 13) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "c");
	rpci_selector_free(sel);
}

/* More kernel names than a device's bit mask holds exactly: still exact answers. */
static void
test_many_kernel_names(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(0);
	struct rpci_sel_device_info in;
	char dev[RPCI_SEL_NAME_MAX];
	uint32_t i, k;

	for (i = 0; i < 10; i++) {
		snprintf(dev, sizeof(dev), "d%u", i);
		in = mk_info("s1", dev, GIB, "cpu", 1);
		in.nb_kernels = RPCI_SEL_KERNELS_MAX;
		for (k = 0; k < RPCI_SEL_KERNELS_MAX; k++) {
			snprintf(in.kernels[k], sizeof(in.kernels[k]), "k%u", i * 16 + k);
		}
		CU_ASSERT_FATAL(rpci_selector_register(sel, &in, 0) == 0);
	}
	/* 160 names: each is found on its one device only */
	for (i = 0; i < 160; i += 7) {
		snprintf(r.kernel, sizeof(r.kernel), "k%u", i);
		snprintf(dev, sizeof(dev), "d%u", i / 16);
		expect_match(sel, &r, "s1", dev);
	}
	snprintf(r.kernel, sizeof(r.kernel), "k150");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 20) != 0);
	CU_ASSERT(ask(sel, 0, g_c1, &r, 21) == 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "the only matching device is busy");
	snprintf(r.kernel, sizeof(r.kernel), "k160");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 22) == 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "no device has built-in kernel 'k160'");
	rpci_selector_free(sel);
}

/* Random attach, release, renew and expiry against a shadow of the leases. */
static void
test_lease_churn(void)
{
	struct rpci_sel_params p;
	struct rpci_sel_requirements r = mk_req(0);
	struct rpci_sel_action a[4];
	struct rpci_selector *sel;
	char dev[RPCI_SEL_NAME_MAX];
	uint64_t live[48], now = 0, id;
	uint32_t nb = 0, i, j, op;
	int n;

	memset(&p, 0, sizeof(p));
	p.heartbeat_us = 1ULL << 40; /* no heartbeat loss here */
	p.lease_us = 1000;
	p.max_devices = 48;
	sel = rpci_selector_create(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sel);
	for (i = 0; i < 48; i++) {
		snprintf(dev, sizeof(dev), "d%02u", i);
		reg(sel, i < 24 ? "s1" : "s2", dev, GIB, "cpu", 1, 0);
	}
	srand(11);
	for (i = 0; i < 20000; i++) {
		op = (uint32_t)rand() % 8;
		now += (uint64_t)(rand() % 3);
		if (op < 4) {
			n = rpci_selector_request(sel, 0, op == 0 ? g_c2 : g_c1, &r, 1 + op % 2,
						  now, a, 4);
			CU_ASSERT_FATAL(n >= 1);
			if (a[0].kind == RPCI_SEL_ACT_REJECT) {
				CU_ASSERT(nb + 1 + op % 2 > 48);
				continue;
			}
			CU_ASSERT_FATAL(n == (int)(1 + op % 2));
			for (j = 0; j < (uint32_t)n; j++) {
				live[nb++] = a[j].att.lease_id;
			}
		} else if (op < 6 && nb > 0) {
			j = (uint32_t)rand() % nb;
			CU_ASSERT(rpci_selector_release(sel, live[j], now) == 0);
			CU_ASSERT(rpci_selector_release(sel, live[j], now) == -ENOENT);
			live[j] = live[--nb];
		} else if (op == 6) {
			rpci_selector_renew(sel, g_c1, now);
		} else {
			while ((n = rpci_selector_tick(sel, now, a, 4)) > 0) {
				for (j = 0; j < (uint32_t)n; j++) {
					CU_ASSERT_FATAL(a[j].kind == RPCI_SEL_ACT_DETACH);
					id = a[j].att.lease_id;
					for (op = 0; op < nb && live[op] != id; op++) {
					}
					CU_ASSERT_FATAL(op < nb);
					live[op] = live[--nb];
				}
			}
		}
		/* the selector's leases are exactly the shadow's */
		if (i % 97 == 0) {
			struct rpci_sel_row rows[48];
			uint32_t att = 0, k;

			CU_ASSERT(rpci_selector_table(sel, rows, 48) == 48);
			for (k = 0; k < 48; k++) {
				att += rows[k].attached;
			}
			CU_ASSERT(att == nb);
			for (k = 0; k < nb; k++) {
				CU_ASSERT(rpci_selector_report(sel, live[k], "j", 1, 1) == 0);
			}
		}
	}
	rpci_selector_free(sel);
}

static void
test_10k_devices(void)
{
	struct rpci_sel_params p;
	struct rpci_sel_requirements r;
	struct rpci_sel_device_info in;
	struct rpci_selector *sel;
	struct rpci_sel_row *rows;
	struct timespec t0, t1;
	char s[RPCI_SEL_NAME_MAX], d[RPCI_SEL_NAME_MAX];
	uint32_t i, n;
	double us;

	memset(&p, 0, sizeof(p));
	p.policy = RPCI_SEL_BEST_FIT;
	p.max_devices = 10000;
	sel = rpci_selector_create(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sel);
	for (i = 0; i < 10000; i++) {
		snprintf(s, sizeof(s), "srv%04u", (i * 7919) % 1000);
		snprintf(d, sizeof(d), "gpu%u", i);
		in = mk_info(s, d, (uint64_t)(1 + i % 16) * GIB, i % 2 ? "cuda" : "opencl",
			     i % 2 ? 5 : 3);
		if (i == 6789) {
			in.memory_bytes = 48 * GIB;
			snprintf(in.kernels[1], sizeof(in.kernels[1]), "unique");
		}
		CU_ASSERT_FATAL(rpci_selector_register(sel, &in, 0) == 0);
	}
	in = mk_info("one", "more", GIB, "cpu", 1);
	CU_ASSERT(rpci_selector_register(sel, &in, 0) == -ENOSPC);
	r = mk_req(0);
	snprintf(r.kernel, sizeof(r.kernel), "unique");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = (uint32_t)rpci_selector_request(sel, 1, g_c1, &r, 1, 1, g_act, NACT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	printf("\n  one request over 10,000 devices: %.1f us\n", us);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_ATTACH);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "gpu6789");
	r = mk_req(40 * GIB);
	CU_ASSERT(ask(sel, 2, g_c1, &r, 2) == 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "the only matching device is busy");
	r = mk_req(15 * GIB + 1);
	snprintf(r.backend, sizeof(r.backend), "opencl"); /* opencl: even i, 16 GiB: i%16 == 15 */
	CU_ASSERT(ask(sel, 3, g_c1, &r, 3) == 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason,
			       "no device that meets the other requirements has 15.0 GiB of free "
			       "memory (largest: 15.0 GiB)");
	r.backend[0] = '\0';
	CU_ASSERT(ask(sel, 4, g_c1, &r, 4) != 0);
	CU_ASSERT(g_act[0].att.device[0] == 'g');
	rows = calloc(10000, sizeof(*rows));
	CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
	CU_ASSERT(rpci_selector_table(sel, rows, 10000) == 10000);
	for (i = 1; i < 10000; i++) {
		int c = strcmp(rows[i - 1].info.server, rows[i].info.server);

		CU_ASSERT(c < 0 || (c == 0 && strcmp(rows[i - 1].info.device,
						     rows[i].info.device) < 0));
	}
	free(rows);
	rpci_selector_free(sel);
}

/* Lease ids are random (53 bits, never 0), all different, and known by their holder. */
static void
test_lease_ids_and_holder(void)
{
	struct rpci_sel_requirements r = mk_req(0);
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	uint64_t l1, l2;
	uint8_t mac[6];

	reg(sel, "s0", "g0", 1 << 20, "cpu", 1, 1);
	reg(sel, "s0", "g1", 1 << 20, "cpu", 1, 1);
	l1 = ask(sel, 1, g_c1, &r, 2);
	l2 = ask(sel, 2, g_c2, &r, 2);
	CU_ASSERT(l1 != 0 && l2 != 0 && l1 != l2);
	CU_ASSERT(l1 < (1ULL << 53) && l2 < (1ULL << 53));
	/* not a counter: the next id is not the last one plus one (odds 2^-53) */
	CU_ASSERT(l2 != l1 + 1);
	CU_ASSERT(rpci_selector_lease_holder(sel, l1, mac) == 0);
	CU_ASSERT(memcmp(mac, g_c1, 6) == 0);
	CU_ASSERT(rpci_selector_lease_holder(sel, l2, mac) == 0);
	CU_ASSERT(memcmp(mac, g_c2, 6) == 0);
	CU_ASSERT(rpci_selector_lease_holder(sel, l1 ^ 1, mac) == -ENOENT);
	CU_ASSERT(rpci_selector_lease_holder(sel, 0, mac) == -ENOENT);
	CU_ASSERT(rpci_selector_lease_holder(NULL, l1, mac) == -EINVAL);
	/* an ended lease keeps its holder (a late REPORT is checked too) */
	CU_ASSERT(rpci_selector_release(sel, l1, 3) == 0);
	CU_ASSERT(rpci_selector_lease_holder(sel, l1, mac) == 0);
	CU_ASSERT(memcmp(mac, g_c1, 6) == 0);
	rpci_selector_free(sel);
}

/* A client over client_max_devices or client_max_requests is refused, with the reason. */
static void
test_client_limits(void)
{
	struct rpci_sel_requirements r = mk_req(0);
	struct rpci_sel_params p;
	struct rpci_selector *sel;
	uint64_t l1, l3;
	int n;

	memset(&p, 0, sizeof(p));
	p.policy = RPCI_SEL_FIRST_FIT;
	p.heartbeat_us = HB_US;
	p.lease_us = LEASE_US;
	p.max_devices = 64;
	p.client_max_devices = 3;
	p.client_max_requests = 2;
	sel = rpci_selector_create(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sel);
	reg(sel, "s0", "g0", 1 << 20, "cpu", 1, 1);
	reg(sel, "s0", "g1", 1 << 20, "cpu", 1, 1);
	reg(sel, "s0", "g2", 1 << 20, "cpu", 1, 1);
	reg(sel, "s0", "g3", 1 << 20, "cpu", 1, 1);
	reg(sel, "s0", "g4", 1 << 20, "cpu", 1, 1);
	/* four devices at once: over the three a client may hold */
	n = rpci_selector_request(sel, 1, g_c1, &r, 4, 2, g_act, NACT);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT(g_act[0].kind == RPCI_SEL_ACT_REJECT && g_act[0].error == -EDQUOT);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_act[0].reason, "client_max_devices"));
	/* one, then two: two requests, three devices */
	l1 = ask(sel, 2, g_c1, &r, 3);
	CU_ASSERT(l1 != 0);
	n = rpci_selector_request(sel, 3, g_c1, &r, 2, 3, g_act, NACT);
	CU_ASSERT_FATAL(n == 2 && g_act[0].kind == RPCI_SEL_ACT_ATTACH);
	l3 = g_act[0].att.lease_id;
	/* a fourth device: over the devices */
	CU_ASSERT(ask(sel, 4, g_c1, &r, 4) == 0);
	CU_ASSERT(g_act[0].error == -EDQUOT);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "the client holds 3 devices and may hold at "
			       "most 3 (selector.client_max_devices)");
	/* request 2 released: one more device, in a second request again */
	CU_ASSERT(rpci_selector_release(sel, l1, 5) == 0);
	CU_ASSERT(ask(sel, 5, g_c1, &r, 5) != 0);
	/* one device of request 3 released: room for a device, none for a request */
	CU_ASSERT(rpci_selector_release(sel, l3, 6) == 0);
	CU_ASSERT(ask(sel, 6, g_c1, &r, 6) == 0);
	CU_ASSERT(g_act[0].error == -EDQUOT);
	CU_ASSERT_STRING_EQUAL(g_act[0].reason, "the client has 2 requests in progress, the "
			       "most it may (selector.client_max_requests)");
	/* another client is not limited by the first one's */
	CU_ASSERT(ask(sel, 7, g_c2, &r, 6) != 0);
	rpci_selector_free(sel);
}

/* A STATUS with usage totals and a session's usage, at time now. */
static int
status_use(struct rpci_selector *sel, const char *server, bool in_use, const uint8_t *client,
	   uint64_t session, uint64_t kernel_ns_total, uint64_t s_bytes_in, uint64_t s_kernels,
	   uint64_t s_mem_high, uint64_t now)
{
	struct rpci_sel_device_status st;

	memset(&st, 0, sizeof(st));
	st.memory_free = 16 * GIB;
	st.in_use = in_use;
	if (client != NULL) {
		memcpy(st.client_mac, client, 6);
	}
	st.total.kernel_ns = kernel_ns_total;
	st.total.kernels = kernel_ns_total / 1000;
	st.session = session;
	st.usage.bytes_in = s_bytes_in;
	st.usage.bytes_out = s_bytes_in / 2;
	st.usage.kernels = s_kernels;
	st.usage.kernel_ns = s_kernels * 1000;
	st.usage.mem_high = s_mem_high;
	st.usage.errors = s_kernels / 10;
	return rpci_selector_status(sel, server, "g0", &st, now);
}

/* The load the policies use comes from the kernel time totals, smoothed. */
static void
test_load_from_kernel_time(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_LEAST_LOADED, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	uint64_t t = 1000000, lease;
	double l0, l1;
	int i;

	reg(sel, "a", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "b", "g0", 16 * GIB, "cpu", 1, 0);
	/* a: busy 50 % of each 200 ms period; b: idle. */
	for (i = 0; i < 20; i++) {
		CU_ASSERT(status_use(sel, "a", false, NULL, 0, (uint64_t)i * 100000000, 0, 0, 0,
				     t) == 0);
		CU_ASSERT(status_use(sel, "b", false, NULL, 0, 0, 0, 0, 0, t) == 0);
		t += 200000;
	}
	l0 = row_of(sel, "a", "g0").load_avg;
	CU_ASSERT(l0 > 0.49 && l0 < 0.51);
	CU_ASSERT(row_of(sel, "b", "g0").load_avg < 0.01);
	lease = ask(sel, 0, g_c1, &r, t);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "b");
	CU_ASSERT(rpci_selector_release(sel, lease, t) == 0);
	/* A lost report costs nothing: the totals span two periods. */
	t += 200000;
	CU_ASSERT(status_use(sel, "a", false, NULL, 0, 21ull * 100000000, 0, 0, 0, t) == 0);
	l1 = row_of(sel, "a", "g0").load_avg;
	CU_ASSERT(l1 > 0.49 && l1 < 0.51);
	/* One busy period moves the smoothed load part of the way only. */
	t += 200000;
	CU_ASSERT(status_use(sel, "a", false, NULL, 0, 21ull * 100000000 + 200000000, 0, 0, 0,
			     t) == 0);
	l1 = row_of(sel, "a", "g0").load_avg;
	CU_ASSERT(l1 > 0.6 && l1 < 0.7);
	/* Equal loads: the device that ran less kernel time first. */
	reg(sel, "c", "g0", 16 * GIB, "cpu", 1, t);
	CU_ASSERT(status_use(sel, "c", false, NULL, 0, 0, 0, 0, 0, t) == 0);
	CU_ASSERT(status_use(sel, "b", false, NULL, 0, 5ull << 30, 0, 0, 0, t) == 0);
	CU_ASSERT(status_use(sel, "b", false, NULL, 0, 5ull << 30, 0, 0, 0, t + 200000) == 0);
	CU_ASSERT(status_use(sel, "c", false, NULL, 0, 0, 0, 0, 0, t + 200000) == 0);
	ask(sel, 0, g_c1, &r, t + 200000);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "c");
	rpci_selector_free(sel);
}

/* Each client's usage, from its sessions' reports. */
static void
test_client_usage(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_client cl[4];
	uint32_t n;

	reg(sel, "a", "g0", 16 * GIB, "cpu", 1, 0);
	reg(sel, "b", "g0", 16 * GIB, "cpu", 1, 0);
	CU_ASSERT(rpci_selector_clients(sel, cl, 4) == 0);
	/* c1's session 1 on a: reported three times, growing; counted once. */
	status_use(sel, "a", true, g_c1, 1, 0, 100, 1, 1000, 10);
	status_use(sel, "a", true, g_c1, 1, 0, 300, 4, 5000, 20);
	status_use(sel, "a", true, g_c1, 1, 0, 300, 4, 5000, 30);
	/* its last report, the session ended */
	status_use(sel, "a", false, g_c1, 1, 0, 350, 5, 2000, 40);
	status_use(sel, "a", false, NULL, 0, 0, 0, 0, 0, 50);
	/* c1 again, session 2 (counted whole), and c2 on b */
	status_use(sel, "a", true, g_c1, 2, 0, 50, 1, 100, 60);
	status_use(sel, "b", true, g_c2, 7, 0, 1000, 10, 9000, 55);
	n = rpci_selector_clients(sel, cl, 4);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT(memcmp(cl[0].mac, g_c1, 6) == 0); /* the most recent first */
	CU_ASSERT_EQUAL(cl[0].sessions, 2);
	CU_ASSERT_EQUAL(cl[0].usage.bytes_in, 400);
	CU_ASSERT_EQUAL(cl[0].usage.bytes_out, 200);
	CU_ASSERT_EQUAL(cl[0].usage.kernels, 6);
	CU_ASSERT_EQUAL(cl[0].usage.kernel_ns, 6000);
	CU_ASSERT_EQUAL(cl[0].usage.mem_high, 5000);
	CU_ASSERT_EQUAL(cl[0].last_us, 60);
	CU_ASSERT(memcmp(cl[1].mac, g_c2, 6) == 0);
	CU_ASSERT_EQUAL(cl[1].sessions, 1);
	CU_ASSERT_EQUAL(cl[1].usage.kernels, 10);
	CU_ASSERT_EQUAL(cl[1].usage.errors, 1);
	/* Room for one: the newest. */
	CU_ASSERT_EQUAL(rpci_selector_clients(sel, cl, 1), 2);
	CU_ASSERT(memcmp(cl[0].mac, g_c1, 6) == 0);
	rpci_selector_free(sel);
}

/* More clients than kept: the least recently seen go. */
static void
test_client_usage_evict(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	static struct rpci_sel_client cl[RPCI_SEL_CLIENTS_MAX];
	uint8_t mac[6] = { 0x02, 0x10, 0, 0, 0, 0 };
	uint32_t i, n;
	bool first_gone = true;

	reg(sel, "a", "g0", 16 * GIB, "cpu", 1, 0);
	for (i = 0; i < RPCI_SEL_CLIENTS_MAX + 10; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		status_use(sel, "a", true, mac, i + 1, 0, 1, 1, 1, 100 + i);
	}
	n = rpci_selector_clients(sel, cl, RPCI_SEL_CLIENTS_MAX);
	CU_ASSERT_EQUAL(n, RPCI_SEL_CLIENTS_MAX);
	for (i = 0; i < RPCI_SEL_CLIENTS_MAX; i++) {
		first_gone &= !(cl[i].mac[4] == 0 && cl[i].mac[5] == 0);
		CU_ASSERT_EQUAL(cl[i].sessions, 1);
	}
	CU_ASSERT(first_gone);
	CU_ASSERT_EQUAL(cl[0].last_us, 100 + RPCI_SEL_CLIENTS_MAX + 9);
	rpci_selector_free(sel);
}

/* A STATUS with a new personality updates the row and matching. */
static void
test_status_personality(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(GIB);
	struct rpci_sel_device_status st;

	reg(sel, "a", "g0", 16 * GIB, "cpu", 1, 0);
	memset(&st, 0, sizeof(st));
	st.memory_free = 16 * GIB;
	st.vendor_id = 0x10de;
	st.device_id = 0x20b0;
	st.class_code = 0x030000;
	CU_ASSERT(rpci_selector_status(sel, "a", "g0", &st, 10) == 0);
	CU_ASSERT_EQUAL(row_of(sel, "a", "g0").info.vendor_id, 0x10de);
	CU_ASSERT_EQUAL(row_of(sel, "a", "g0").info.device_id, 0x20b0);
	CU_ASSERT_EQUAL(row_of(sel, "a", "g0").info.class_code, 0x030000);
	r.vendor_id = 0x1af4;
	CU_ASSERT(ask(sel, 0, g_c1, &r, 11) == 0);
	r.vendor_id = 0x10de;
	CU_ASSERT(ask(sel, 0, g_c1, &r, 12) != 0);
	/* A STATUS without one keeps the last. */
	st.vendor_id = st.device_id = 0;
	st.class_code = 0;
	CU_ASSERT(rpci_selector_status(sel, "a", "g0", &st, 13) == 0);
	CU_ASSERT_EQUAL(row_of(sel, "a", "g0").info.vendor_id, 0x10de);
	rpci_selector_free(sel);
}

/* A plain PCI function is given only to who asks for backend "pci". */
static void
test_pci_backend(void)
{
	struct rpci_selector *sel = mk_sel(RPCI_SEL_FIRST_FIT, 0.0);
	struct rpci_sel_requirements r = mk_req(0);

	reg(sel, "a", "net0", 0, "pci", 0, 0);
	CU_ASSERT(ask(sel, 0, g_c1, &r, 1) == 0);
	CU_ASSERT(strstr(g_act[0].reason, "not a plain PCI function") != NULL);
	snprintf(r.backend, sizeof(r.backend), "pci");
	CU_ASSERT(ask(sel, 0, g_c1, &r, 2) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.device, "net0");
	reg(sel, "b", "g0", 16 * GIB, "cpu", 1, 3);
	r.backend[0] = '\0';
	CU_ASSERT(ask(sel, 0, g_c2, &r, 4) != 0);
	CU_ASSERT_STRING_EQUAL(g_act[0].att.server, "b");
	rpci_selector_free(sel);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int n;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("selector_table", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_names);
	CU_ADD_TEST(suite, test_create_params);
	CU_ADD_TEST(suite, test_register_status_fields);
	CU_ADD_TEST(suite, test_table_order_full);

	suite = CU_add_suite("selector_matching", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_match_each);
	CU_ADD_TEST(suite, test_no_match_reasons);
	CU_ADD_TEST(suite, test_busy_partial);
	CU_ADD_TEST(suite, test_many_kernel_names);
	CU_ADD_TEST(suite, test_drain_down_excluded);
	CU_ADD_TEST(suite, test_10k_devices);

	suite = CU_add_suite("selector_policies", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_policy_first_fit);
	CU_ADD_TEST(suite, test_policy_best_fit);
	CU_ADD_TEST(suite, test_policy_least_loaded);
	CU_ADD_TEST(suite, test_learned_converges);
	CU_ADD_TEST(suite, test_learned_optimistic_load);
	CU_ADD_TEST(suite, test_learned_outlier);

	suite = CU_add_suite("selector_leases", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_lease_expiry_renew);
	CU_ADD_TEST(suite, test_release_manual);
	CU_ADD_TEST(suite, test_idempotent);
	CU_ADD_TEST(suite, test_heartbeat_failover);
	CU_ADD_TEST(suite, test_failover_chain);
	CU_ADD_TEST(suite, test_status_grace_reregister);
	CU_ADD_TEST(suite, test_lease_churn);
	CU_ADD_TEST(suite, test_lease_ids_and_holder);
	CU_ADD_TEST(suite, test_client_limits);
	CU_ADD_TEST(suite, test_load_from_kernel_time);
	CU_ADD_TEST(suite, test_client_usage);
	CU_ADD_TEST(suite, test_client_usage_evict);
	CU_ADD_TEST(suite, test_status_personality);
	CU_ADD_TEST(suite, test_pci_backend);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}

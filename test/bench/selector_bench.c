/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-selector-bench: lib/selector alone, no network. Fills a table of N
 * devices (default 10,000: servers of 8 devices, mixed backends, memory
 * sizes and loads, half of them attached), then times M decisions
 * (rpci_selector_request() with mixed requirements, each followed by an
 * untimed release) for each policy, and prints decisions per second and
 * the p50, p99 and p99.9 time of one decision. Not a test: doc/performance.md
 * ("Server selector") has the figures and how they were taken.
 *
 * A decision during which the process lost its CPU to another (an
 * involuntary context switch, getrusage() around the timed call) measures
 * the machine, not the selector: it is left out of the figures and counted
 * ("preempted"); the raw p99 of all decisions is in the JSON file too.
 *
 * usage: rpci-selector-bench [--devices N] [--decisions M] [--seed S] [--json FILE]
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rpci_selector.h"

#define GIB (1024ULL * 1024 * 1024)
#define DEVS_PER_SERVER 8
#define NB_POLICIES 4

struct bench_opts {
	uint32_t devices;
	uint32_t decisions;
	uint64_t seed;
	const char *json;
};

struct bench_result {
	const char *policy;
	double per_s;
	double mean_us;
	double p50_us;
	double p99_us;
	double p999_us;
	double max_us;
	double attach_p99_us; /* p99 of the decisions that attached */
	double reject_p99_us; /* p99 of the decisions that rejected (the reason's pass) */
	double raw_p99_us; /* p99 of every decision, preempted ones included */
	uint32_t preempted; /* decisions left out: the process was switched out */
	double rejected;    /* fraction of decisions that were REJECTs */
	double status_us; /* one rpci_selector_status() */
	double tick_us;   /* one rpci_selector_tick() over the table */
};

/* Times of single decisions, ns. */
struct bench_buf {
	uint64_t *lat; /* kept (not preempted) */
	uint64_t *raw; /* all */
	uint64_t *att; /* kept, attached */
	uint64_t *rej; /* kept, rejected */
};

static uint64_t g_rng;

static uint64_t
rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* p99 of n times (sorts them), in us; 0 if none. */
static double
p99(uint64_t *v, uint32_t n)
{
	if (n == 0) {
		return 0.0;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[(uint64_t)n * 99 / 100] / 1e3;
}

static long
nivcsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0) {
		return 0;
	}
	return ru.ru_nivcsw;
}

static void
mac_of(uint32_t n, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static void
dev_info(uint32_t i, struct rpci_sel_device_info *in)
{
	static const uint64_t mem[] = { 8, 16, 24, 40, 48, 80 };
	static const char *const backend[] = { "cuda", "opencl", "cpu" };
	static const uint32_t kinds[] = { 5, 3, 1 };
	uint32_t b = i % 3;

	memset(in, 0, sizeof(*in));
	snprintf(in->server, sizeof(in->server), "gpu-server-%05u", i / DEVS_PER_SERVER);
	snprintf(in->device, sizeof(in->device), "gpu%u", i % DEVS_PER_SERVER);
	mac_of(0x100000 + i / DEVS_PER_SERVER, in->server_mac);
	in->function = (uint16_t)(i % DEVS_PER_SERVER);
	in->vendor_id = b == 0 ? 0x10de : 0x1af4;
	in->device_id = 0x10f0;
	in->class_code = 0x030200;
	in->memory_bytes = mem[(i / 3) % 6] * GIB;
	snprintf(in->backend, sizeof(in->backend), "%s", backend[b]);
	in->module_kinds = kinds[b];
	in->compute_units = 16;
	in->nb_kernels = 4;
	snprintf(in->kernels[0], sizeof(in->kernels[0]), "vector-add");
	snprintf(in->kernels[1], sizeof(in->kernels[1]), "saxpy");
	snprintf(in->kernels[2], sizeof(in->kernels[2]), "sgemm");
	snprintf(in->kernels[3], sizeof(in->kernels[3]), i % 5 == 0 ? "fft" : "reduce-sum");
}

/* A request from the mix: mostly satisfiable, some only by few devices, ~5% not at all. */
static void
mk_request(struct rpci_sel_requirements *r)
{
	static const uint64_t mem[] = { 1, 8, 16, 24, 32, 40, 64, 80 };
	uint64_t x = rnd();

	memset(r, 0, sizeof(*r));
	r->min_memory = mem[x % 8] * GIB;
	switch ((x >> 8) % 10) {
	case 0:
	case 1:
	case 2:
		snprintf(r->backend, sizeof(r->backend), "cuda");
		break;
	case 3:
	case 4:
		snprintf(r->backend, sizeof(r->backend), "opencl");
		break;
	case 5:
		r->module_kinds = 4; /* PTX */
		break;
	case 6:
		snprintf(r->kernel, sizeof(r->kernel), "fft");
		break;
	case 7:
		r->vendor_id = 0x10de;
		break;
	case 8:
		r->min_memory = 96 * GIB; /* nobody: a REJECT with its reason */
		break;
	default:
		break;
	}
	snprintf(r->job, sizeof(r->job), "%s", (x >> 16) % 2 ? "saxpy" : "sgemm");
	r->job_size = 1000000 + (x >> 20) % 64000000;
	r->failover = true;
}

static struct rpci_selector *
build(const struct bench_opts *o, enum rpci_sel_policy policy)
{
	struct rpci_sel_device_info in;
	struct rpci_sel_device_status st;
	struct rpci_sel_params p;
	struct rpci_sel_action a;
	struct rpci_selector *sel;
	uint8_t mac[6];
	uint32_t i, j;

	memset(&p, 0, sizeof(p));
	p.policy = policy;
	p.heartbeat_us = 200000;
	p.missed_heartbeats = 3;
	p.lease_us = 5000000;
	p.explore = 0.1;
	p.seed = o->seed;
	p.max_devices = o->devices;
	sel = rpci_selector_create(&p);
	if (sel == NULL) {
		return NULL;
	}
	for (i = 0; i < o->devices; i++) {
		dev_info(i, &in);
		if (rpci_selector_register(sel, &in, 1) < 0) {
			goto fail;
		}
		memset(&st, 0, sizeof(st));
		st.memory_free = in.memory_bytes;
		st.load = (double)(rnd() % 1000) / 1000.0;
		if (rpci_selector_status(sel, in.server, in.device, &st, 2) < 0) {
			goto fail;
		}
		/* the learned policy's models: three reports per device and job */
		mac_of(i, mac);
		if (rpci_selector_attach(sel, in.server, in.device, mac, 3, &a) < 0) {
			goto fail;
		}
		for (j = 0; j < 3; j++) {
			uint64_t size = 1000000 * (1 + j * 4);
			double speed = 1.0 + (double)(i % 7);

			rpci_selector_report(sel, a.att.lease_id, "saxpy", size,
					     (uint64_t)((double)size / 1000.0 * speed));
			rpci_selector_report(sel, a.att.lease_id, "sgemm", size,
					     (uint64_t)((double)size / 100.0 * speed));
		}
		/* half the devices stay attached to someone else */
		if (i % 2 == 1) {
			rpci_selector_release(sel, a.att.lease_id, 4);
		}
	}
	return sel;
fail:
	rpci_selector_free(sel);
	return NULL;
}

static int
run(const struct bench_opts *o, enum rpci_sel_policy policy, struct bench_buf *b,
    struct bench_result *res)
{
	struct rpci_sel_action act[4];
	struct rpci_sel_requirements r;
	struct rpci_sel_device_status st;
	struct rpci_selector *sel;
	struct rpci_sel_row row;
	uint64_t t0, t1, total = 0, rejected = 0, now = 10, *lat;
	uint32_t i, kept = 0, nb_att = 0, nb_rej = 0;
	uint8_t mac[6];
	long cs;
	int n;

	g_rng = o->seed * 0x9e3779b97f4a7c15ULL + 1;
	sel = build(o, policy);
	if (sel == NULL) {
		return -ENOMEM;
	}
	mac_of(0xfffff0, mac);
	for (i = 0; i < o->decisions; i++) {
		mk_request(&r);
		cs = nivcsw();
		t0 = now_ns();
		n = rpci_selector_request(sel, i + 1, mac, &r, 1, now, act, 4);
		t1 = now_ns();
		if (n != 1) {
			rpci_selector_free(sel);
			return n < 0 ? n : -EPROTO;
		}
		b->raw[i] = t1 - t0;
		if (nivcsw() == cs) {
			b->lat[kept++] = t1 - t0;
			total += t1 - t0;
			if (act[0].kind == RPCI_SEL_ACT_ATTACH) {
				b->att[nb_att++] = t1 - t0;
			} else {
				b->rej[nb_rej++] = t1 - t0;
			}
		}
		if (act[0].kind == RPCI_SEL_ACT_REJECT) {
			rejected++;
		} else {
			rpci_selector_release(sel, act[0].att.lease_id, now);
		}
	}
	if (kept == 0) {
		rpci_selector_free(sel);
		return -EAGAIN;
	}
	res->attach_p99_us = p99(b->att, nb_att);
	res->reject_p99_us = p99(b->rej, nb_rej);
	lat = b->lat;
	qsort(lat, kept, sizeof(*lat), cmp_u64);
	qsort(b->raw, o->decisions, sizeof(*b->raw), cmp_u64);
	res->policy = rpci_selector_policy_name(policy);
	res->per_s = (double)kept / ((double)total / 1e9);
	res->mean_us = (double)total / kept / 1e3;
	res->p50_us = (double)lat[kept / 2] / 1e3;
	res->p99_us = (double)lat[(uint64_t)kept * 99 / 100] / 1e3;
	res->p999_us = (double)lat[(uint64_t)kept * 999 / 1000] / 1e3;
	res->max_us = (double)lat[kept - 1] / 1e3;
	res->raw_p99_us = (double)b->raw[(uint64_t)o->decisions * 99 / 100] / 1e3;
	res->preempted = o->decisions - kept;
	res->rejected = (double)rejected / o->decisions;

	/* the other hot paths: a heartbeat, and the timers over the whole table */
	rpci_selector_table(sel, &row, 1);
	memset(&st, 0, sizeof(st));
	st.memory_free = row.info.memory_bytes;
	t0 = now_ns();
	for (i = 0; i < o->decisions; i++) {
		rpci_selector_status(sel, row.info.server, row.info.device, &st, now);
	}
	res->status_us = (double)(now_ns() - t0) / o->decisions / 1e3;
	t0 = now_ns();
	for (i = 0; i < 1000; i++) {
		rpci_selector_tick(sel, now, act, 4);
	}
	res->tick_us = (double)(now_ns() - t0) / 1000 / 1e3;
	rpci_selector_free(sel);
	return 0;
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || x < min || x > max) {
		return -EINVAL;
	}
	*v = x;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: rpci-selector-bench [--devices N] [--decisions M] [--seed S] "
			"[--json FILE]\n");
}

static int
write_json(const struct bench_opts *o, const struct bench_result *res, int nb)
{
	FILE *f = fopen(o->json, "w");
	int i;

	if (f == NULL) {
		fprintf(stderr, "rpci-selector-bench: %s: %s\n", o->json, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"devices\": %u,\n  \"decisions\": %u,\n  \"seed\": %" PRIu64 ",\n"
		   "  \"policies\": [\n", o->devices, o->decisions, o->seed);
	for (i = 0; i < nb; i++) {
		fprintf(f,
			"    {\"policy\": \"%s\", \"decisions_per_s\": %.0f, \"mean_us\": %.3f, "
			"\"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f, "
			"\"attach_p99_us\": %.3f, \"reject_p99_us\": %.3f, "
			"\"raw_p99_us\": %.3f, \"preempted\": %u, \"rejected\": %.4f, "
			"\"status_us\": %.3f, \"tick_us\": %.3f}%s\n",
			res[i].policy, res[i].per_s, res[i].mean_us, res[i].p50_us, res[i].p99_us,
			res[i].p999_us, res[i].max_us, res[i].attach_p99_us, res[i].reject_p99_us,
			res[i].raw_p99_us, res[i].preempted,
			res[i].rejected, res[i].status_us, res[i].tick_us, i + 1 < nb ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "rpci-selector-bench: %s: %s\n", o->json, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench_opts o = { .devices = 10000, .decisions = 100000, .seed = 1, .json = NULL };
	struct bench_result res[NB_POLICIES];
	struct bench_buf b;
	uint64_t v;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			usage();
			return 2;
		}
		if (strcmp(argv[i], "--devices") == 0 &&
		    parse_u64(argv[i + 1], 1, 1u << 24, &v) == 0) {
			o.devices = (uint32_t)v;
		} else if (strcmp(argv[i], "--decisions") == 0 &&
			   parse_u64(argv[i + 1], 1, 100000000, &v) == 0) {
			o.decisions = (uint32_t)v;
		} else if (strcmp(argv[i], "--seed") == 0 &&
			   parse_u64(argv[i + 1], 1, UINT64_MAX, &v) == 0) {
			o.seed = v;
		} else if (strcmp(argv[i], "--json") == 0) {
			o.json = argv[i + 1];
		} else {
			usage();
			return 2;
		}
		i++;
	}
	b.lat = calloc(o.decisions, sizeof(*b.lat));
	b.raw = calloc(o.decisions, sizeof(*b.raw));
	b.att = calloc(o.decisions, sizeof(*b.att));
	b.rej = calloc(o.decisions, sizeof(*b.rej));
	if (b.lat == NULL || b.raw == NULL || b.att == NULL || b.rej == NULL) {
		fprintf(stderr, "rpci-selector-bench: out of memory\n");
		rc = 1;
		goto free_bufs;
	}
	printf("lib/selector: %u devices (%u servers, half attached), %u decisions a policy\n",
	       o.devices, (o.devices + DEVS_PER_SERVER - 1) / DEVS_PER_SERVER, o.decisions);
	printf("%-13s %11s %7s %7s %7s %8s %10s %10s %9s %8s %9s %7s\n", "policy",
	       "decisions/s", "mean us", "p50 us", "p99 us", "p99.9 us", "attach p99", "reject p99",
	       "preempted", "rejected", "status us", "tick us");
	for (i = 0; i < NB_POLICIES; i++) {
		rc = run(&o, (enum rpci_sel_policy)i, &b, &res[i]);
		if (rc < 0) {
			fprintf(stderr, "rpci-selector-bench: %s: %s\n",
				rpci_selector_policy_name((enum rpci_sel_policy)i), strerror(-rc));
			rc = 1;
			goto free_bufs;
		}
		printf("%-13s %11.0f %7.2f %7.2f %7.2f %8.2f %10.2f %10.2f %9u %7.1f%% %9.3f "
		       "%7.2f\n",
		       res[i].policy, res[i].per_s, res[i].mean_us, res[i].p50_us, res[i].p99_us,
		       res[i].p999_us, res[i].attach_p99_us, res[i].reject_p99_us, res[i].preempted,
		       res[i].rejected * 100.0, res[i].status_us, res[i].tick_us);
	}
	rc = 0;
	if (o.json != NULL && write_json(&o, res, NB_POLICIES) < 0) {
		rc = 1;
	}
free_bufs:
	free(b.rej);
	free(b.att);
	free(b.raw);
	free(b.lat);
	return rc;
}

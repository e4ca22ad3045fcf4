/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-bench: what rpci costs over the raw link, measured in one run.
 *
 *   rpci-bench [EAL args --] --config FILE --host NAME --test T[,T...]|all
 *              [--size S[,S...]] [--duration SECONDS] [--h2d push|pull]
 *              [--json FILE] [--server NAME] [--device NAME]
 *              [--path embedded|proxy|both] [--auth on|off|enc|both|all]
 *              [--rounds N]
 *   rpci-bench [--proxy SOCKET] --test T[,T...]|all [options]
 *
 * With --config and --host the bench owns the client host's port: it
 * embeds the client daemon's core (lib/proxy). The raw figures come first,
 * before the device is opened, so that no rpci frame is on the wire
 * meanwhile: frames of our own EtherType on the same port, lcore and link,
 * that rpci-server answers without any protocol (raw.c). Then the device's
 * tests from this process ("embedded"), then the same tests from a child
 * process that is an ordinary program of the core, through its socket and
 * shared memory ("proxy"); each row gives its figure, the raw figure of the
 * same frame size from this run and their ratio, and a proxy row its ratio
 * to the embedded one. Without --config (app_client.h) the bench is a
 * program of a running rpci-proxy: the device's tests only, no raw figures.
 *
 * --auth compares the protections of a session's frames in one run: the
 * embedded device's tests in alternated rounds, each round opening the
 * device once per protection asked (authenticated, not authenticated,
 * encrypted: rpci_proxy_set_session_security()), then the median of each
 * figure over the rounds and its ratio to the unauthenticated one. Frames
 * without authentication need a server whose auth.sessions is "optional".
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ether.h>

#include "app_client.h"
#include "app_common.h"
#include "bench.h"
#include "bench_util.h"
#include "rpci_client.h"
#include "rpci_conf.h"
#include "rpci_jobs.h"
#include "rpci_link.h"
#include "rpci_tlp.h"
#include "rpci_vgpu_hw.h"

/* Most latency samples kept per test (8 MiB). */
#define SAMPLES_MAX (1u << 20)
/* Most repetitions of a copy or a job. */
#define REPS_MAX 65536
/* Fewest repetitions of a copy, whatever the duration. */
#define REPS_MIN 3
/* Round trips before a latency test's samples count. */
#define WARMUP 32
/* A raw rate is the median of this many blasts, each a share of the duration. */
#define RATE_ROUNDS 5
/* Raw round trips without an answer before a raw test gives up. */
#define RAW_LOST_MAX 16
/* Where mwr-rate writes: this much device memory, 64 bytes at a time. */
#define MWR_AREA (1u << 20)
#define MWR_LEN 64
/* The job's default: saxpy of 16 M floats (bytes of one vector). */
#define JOB_DEFAULT_BYTES (64ull << 20)

static const uint64_t g_default_sizes[] = { 4096, 65536, 1u << 20, 64u << 20 };

/* Where the device's tests run from. */
#define PATH_EMBEDDED 0x1 /* this process, the proxy's core embedded */
#define PATH_PROXY 0x2    /* a program of the core (or of a running rpci-proxy) */
/* Figures kept from the embedded pass, for the proxy rows' ratios. */
#define EMB_FIGS_MAX 64
/* A kernel of about this long for wait-cpu. */
#define WAIT_KERNEL_S 2.0
/* Protections --auth compares (bits), and the figures kept per protection. */
#define AUTH_ON 0x1
#define AUTH_OFF 0x2
#define AUTH_ENC 0x4
#define AUTH_MODES 3
#define AUTH_FIGS_MAX 4096
#define ROUNDS_MAX 64

struct bench_opts {
	struct app_client ac; /* --proxy, or --config and --host */
	unsigned int paths;
	const char *server;
	const char *device;
	const char *json;
	uint32_t tests;
	uint64_t sizes[BENCH_SIZES_MAX];
	unsigned int nb_sizes;
	bool have_size;
	double duration;
	enum rpci_h2d_mode h2d;
	unsigned int auth;   /* AUTH_* compared in alternated rounds (0: the link's default) */
	unsigned int rounds; /* rounds of --auth (default 3) */
};

/* A raw figure of one frame length, measured once a run. */
struct raw_fig {
	uint32_t len;
	bool rtt_done;
	double p50_us, p99_us, p999_us;
	uint64_t rtt_samples;
	bool rate_done;
	double fps;       /* frames delivered per second (median of the rounds) */
	double gbps;      /* their bytes, Ethernet header included */
	double loss;      /* 1 - delivered / sent, over all rounds */
	uint64_t rounds;
};

#define RAW_FIGS_MAX 4

struct bench {
	struct bench_opts o;         /* o.ac: the deployment, the core (with --config) */
	const struct rpci_conf_host *server;
	struct rpci_client *client;
	struct rpci_device *dev;
	const char *path;          /* the pass running now: "embedded" or "proxy" */
	struct {
		const char *test;
		uint64_t size;
		double value;
	} emb[EMB_FIGS_MAX];       /* the embedded pass's figures */
	unsigned int nb_emb;
	struct rpci_device_info info;
	struct raw_port rp;
	bool rp_ok;
	FILE *json;
	double tsc_hz;
	/* frame lengths of rpci's frames (Ethernet header included, no FCS) */
	uint32_t frame_small;  /* an 8-byte completion (or its MRd) */
	uint32_t frame_msg64;  /* a 64-byte MWr */
	uint32_t frame_bulk;   /* a full frame of max_payload messages, as the link builds it */
	uint32_t frame_max;    /* the host's link's largest frame */
	bool crc_payload;      /* whether its CRC covers payloads */
	uint32_t max_payload;
	struct raw_fig figs[RAW_FIGS_MAX];
	unsigned int nb_figs;
	uint64_t *samples;
	int failures;
	/* --auth: the figures of every round, by protection (mode: index of AUTH_*) */
	int auth_mode;
	struct {
		int mode;
		const char *test;
		uint64_t size;
		double value;
		const char *unit;
	} auth_figs[AUTH_FIGS_MAX];
	unsigned int nb_auth_figs;
};

static const char *const g_auth_names[AUTH_MODES] = { "on", "off", "enc" };
static const char *const g_auth_paths[AUTH_MODES] = { "auth-on", "auth-off", "auth-enc" };
static const uint8_t g_auth_sec[AUTH_MODES] = {
	RPCI_LINK_SEC_MAC, RPCI_LINK_SEC_NONE, RPCI_LINK_SEC_ENCRYPT,
};

/* ------------------------------------------------------------- options */

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] --config FILE --host NAME --test T[,T...]|all [options]\n"
	       "       %s [--proxy SOCKET] --test T[,T...]|all [options]\n"
	       "\n"
	       "Measures rpci against the raw link in one run: raw frames first (no rpci\n"
	       "session open), then the device's tests, each with the raw figure of the same\n"
	       "frame size and the ratio. A program of a running rpci-proxy (no --config)\n"
	       "runs the device's tests only: the proxy owns the port, no raw figures.\n"
	       "\n"
	       "Tests:\n"
	       "  raw-rtt    raw frame round trip (small and full frames): p50, p99, p99.9\n"
	       "  raw-rate   raw frames blasted and counted by the server (64-byte-message and\n"
	       "             full frames): frames/s and GB/s\n"
	       "  mrd-rtt    an 8-byte MRd of device memory (BAR2) and its completion: p50,\n"
	       "             p99, p99.9\n"
	       "  mrd-cached an 8-byte MRd of a read-only register (BAR0's memory size): the\n"
	       "             proxy answers it without a round trip\n"
	       "  mwr-rate   64-byte posted MWr into device memory, then a read: writes/s\n"
	       "  h2d, d2h   copies into and out of device memory from memory of\n"
	       "             rpci_client_host_alloc(): GB/s, median of repeats\n"
	       "  h2d-pageable, d2h-pageable   the same from ordinary (malloc) memory\n"
	       "  launch     the built-in empty kernel, launched and synchronized\n"
	       "  job        saxpy end to end (copies in, kernel, copy out) beside the CPU\n"
	       "  job-async  the same with the copies queued (rpci_memcpy_*_async()) and one\n"
	       "             synchronize\n"
	       "  wait-cpu   the CPU time of a program waiting for a %.0f-second kernel, in %%\n"
	       "             of its wall time\n"
	       "After the device's tests, the raw figures they used are measured again\n"
	       "(raw-rtt-after, raw-rate-after; ratio: after / before, the host's drift).\n"
	       "\n"
	       "Options:\n"
	       APP_CLIENT_HELP
	       "  --size S[,S...]     copy sizes of h2d and d2h, bytes of a vector of job\n"
	       "                      (K, M, G suffixes; default 4K,64K,1M,64M; job 64M)\n"
	       "  --duration SECONDS  time of each measurement (default 2)\n"
	       "  --h2d push|pull     how host-to-device copies travel (default push)\n"
	       "  --json FILE         append one JSON object per result line\n"
	       "  --server NAME       the server host (default: the client's in the file)\n"
	       "  --device NAME       the device on it (default: the file's choice)\n"
	       "  --path embedded|proxy|both   with --config: the device's tests from this\n"
	       "                      process, from a child program through the core's\n"
	       "                      socket, or both, the proxy rows beside the embedded\n"
	       "                      ones (default both)\n"
	       "  --auth on|off|enc|both|all   with --config: the device's tests (embedded)\n"
	       "                      with sessions whose frames are authenticated (on), not\n"
	       "                      (off: the server's auth.sessions must be \"optional\"),\n"
	       "                      encrypted (enc); both = on,off; all = on,off,enc: in\n"
	       "                      alternated rounds, then each figure's median and its\n"
	       "                      ratio to off (a comma list works too)\n"
	       "  --rounds N          rounds of --auth (default 3, at most %u)\n"
	       "  --help\n", prog, prog, WAIT_KERNEL_S, ROUNDS_MAX);
}

/* --auth: on, off, enc, both (on,off), all, or a comma list; AUTH_* bits. */
static int
parse_auth(const char *s, unsigned int *auth)
{
	char buf[64], *tok, *save = NULL;
	unsigned int i;

	if (strcmp(s, "both") == 0) {
		*auth = AUTH_ON | AUTH_OFF;
		return 0;
	}
	if (strcmp(s, "all") == 0) {
		*auth = AUTH_ON | AUTH_OFF | AUTH_ENC;
		return 0;
	}
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf)) {
		return -1;
	}
	*auth = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < AUTH_MODES && strcmp(tok, g_auth_names[i]) != 0; i++) {
		}
		if (i == AUTH_MODES) {
			return -1;
		}
		*auth |= 1u << i;
	}
	return *auth != 0 ? 0 : -1;
}

static int
parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option opts[] = {
		APP_CLIENT_LONG_OPTIONS,
		{ "test", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "h2d", required_argument, NULL, 'p' },
		{ "json", required_argument, NULL, 'J' },
		{ "server", required_argument, NULL, 'S' },
		{ "device", required_argument, NULL, 'D' },
		{ "path", required_argument, NULL, 'P' },
		{ "auth", required_argument, NULL, 'A' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char bad[64];
	int opt;

	memset(o, 0, sizeof(*o));
	app_client_init(&o->ac, "rpci-bench", false);
	o->duration = 2.0;
	o->paths = PATH_EMBEDDED | PATH_PROXY;
	o->h2d = RPCI_H2D_PUSH;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (bench_parse_tests(optarg, &o->tests, bad, sizeof(bad)) < 0) {
				fprintf(stderr, "rpci-bench: unknown test '%s' (raw-rtt, raw-rate, "
					"mrd-rtt, mrd-cached, mwr-rate, h2d, d2h, h2d-pageable, "
					"d2h-pageable, launch, job, job-async, wait-cpu, "
					"all)\n", bad);
				return -1;
			}
			break;
		case 's':
			if (bench_parse_sizes(optarg, o->sizes, BENCH_SIZES_MAX,
					      &o->nb_sizes) < 0) {
				fprintf(stderr, "rpci-bench: --size '%s' is not a list of sizes "
					"(at most %u, each N[K|M|G] above 0)\n", optarg,
					BENCH_SIZES_MAX);
				return -1;
			}
			o->have_size = true;
			break;
		case 'd':
			if (bench_parse_duration(optarg, &o->duration) < 0) {
				fprintf(stderr, "rpci-bench: --duration '%s' is not a number of "
					"seconds (above 0, at most 3600)\n", optarg);
				return -1;
			}
			break;
		case 'p':
			if (app_client_parse_h2d(&o->ac, optarg, &o->h2d) < 0) {
				return -1;
			}
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'S':
			o->server = optarg;
			break;
		case 'D':
			o->device = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "embedded") == 0) {
				o->paths = PATH_EMBEDDED;
			} else if (strcmp(optarg, "proxy") == 0) {
				o->paths = PATH_PROXY;
			} else if (strcmp(optarg, "both") == 0) {
				o->paths = PATH_EMBEDDED | PATH_PROXY;
			} else {
				fprintf(stderr,
					"rpci-bench: --path must be embedded, proxy or both\n");
				return -1;
			}
			break;
		case 'A':
			if (parse_auth(optarg, &o->auth) < 0) {
				fprintf(stderr, "rpci-bench: --auth must be on, off, enc, both, "
					"all or a comma list of on, off, enc\n");
				return -1;
			}
			break;
		case 'R': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v == 0 || v > ROUNDS_MAX) {
				fprintf(stderr, "rpci-bench: --rounds must be 1..%u\n", ROUNDS_MAX);
				return -1;
			}
			o->rounds = (unsigned int)v;
			break;
		}
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			if (app_client_option(&o->ac, opt, optarg) == 0) {
				break;
			}
			fprintf(stderr, "rpci-bench: unknown or incomplete option '%s' "
				"(see --help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (app_client_check(&o->ac, argc, argv) < 0) {
		return -1;
	}
	if (o->tests == 0) {
		fprintf(stderr, "rpci-bench: --test is required (raw-rtt, raw-rate, mrd-rtt, "
			"mrd-cached, mwr-rate, h2d, d2h, h2d-pageable, d2h-pageable, launch, job, "
			"job-async, wait-cpu, or all)\n");
		return -1;
	}
	if (!o->have_size) {
		memcpy(o->sizes, g_default_sizes, sizeof(g_default_sizes));
		o->nb_sizes = RTE_DIM(g_default_sizes);
	}
	return 0;
}

static bool
want(const struct bench *b, enum bench_test t)
{
	return (b->o.tests & (1u << t)) != 0;
}

/* ------------------------------------------------------------- reporting */

static double
now_s(const struct bench *b)
{
	return (double)rte_rdtsc() / b->tsc_hz;
}

static double
us_of(const struct bench *b, uint64_t cycles)
{
	return (double)cycles * 1e6 / b->tsc_hz;
}

static void
print_header(void)
{
	printf("%-14s %6s %-8s %12s %-8s %12s %8s %8s  %s\n", "test", "size", "path", "value",
	       "unit", "raw", "ratio", "vs emb", "notes");
}

/* The embedded pass's figure of a test and size (NaN: none). */
static double
emb_value(const struct bench *b, const char *test, uint64_t size)
{
	unsigned int i;

	for (i = 0; i < b->nb_emb; i++) {
		if (strcmp(b->emb[i].test, test) == 0 && b->emb[i].size == size) {
			return b->emb[i].value;
		}
	}
	return NAN;
}

/* Print a result's row and write its JSON line. */
static void
report(struct bench *b, struct bench_result *r, const char *notes)
{
	char size[32], line[1024];
	int n;

	r->path = b->path;
	if (b->auth_mode >= 0 && b->nb_auth_figs < AUTH_FIGS_MAX) {
		b->auth_figs[b->nb_auth_figs].mode = b->auth_mode;
		b->auth_figs[b->nb_auth_figs].test = r->test;
		b->auth_figs[b->nb_auth_figs].size = r->size;
		b->auth_figs[b->nb_auth_figs].value = r->value;
		b->auth_figs[b->nb_auth_figs++].unit = r->unit;
	}
	if (b->path != NULL && strcmp(b->path, "embedded") == 0 && b->nb_emb < EMB_FIGS_MAX) {
		b->emb[b->nb_emb].test = r->test;
		b->emb[b->nb_emb].size = r->size;
		b->emb[b->nb_emb++].value = r->value;
	} else if (b->path != NULL && strcmp(b->path, "proxy") == 0) {
		double e = emb_value(b, r->test, r->size);

		r->vs_embedded = e > 0.0 ? r->value / e : NAN;
	}
	printf("%-14s %6s %-8s %12.4g %-8s %12.4g %8.3f %8.3f  %s\n", r->test,
	       bench_size_str(r->size, size, sizeof(size)), b->path != NULL ? b->path : "-",
	       r->value, r->unit, r->raw, r->ratio, r->vs_embedded, notes);
	fflush(stdout);
	if (b->json == NULL) {
		return;
	}
	n = bench_json_line(line, sizeof(line), r);
	if (n < 0 || fputs(line, b->json) == EOF || fflush(b->json) != 0) {
		fprintf(stderr, "rpci-bench: cannot write %s\n", b->o.json);
		b->failures++;
	}
}

static void
fail(struct bench *b, const char *test, uint64_t size, const char *what, int err)
{
	char s[32];

	fprintf(stderr, "rpci-bench: %s %s: %s: %s\n", test, bench_size_str(size, s, sizeof(s)),
		what, rpci_last_error()[0] != '\0' ? rpci_last_error() : strerror(-err));
	b->failures++;
}

/* ---------------------------------------------------------------- raw */

static struct raw_fig *
fig_get(struct bench *b, uint32_t len)
{
	unsigned int i;

	for (i = 0; i < b->nb_figs; i++) {
		if (b->figs[i].len == len) {
			return &b->figs[i];
		}
	}
	if (b->nb_figs == RAW_FIGS_MAX) {
		return NULL;
	}
	memset(&b->figs[b->nb_figs], 0, sizeof(b->figs[0]));
	b->figs[b->nb_figs].len = len;
	return &b->figs[b->nb_figs++];
}

/* Round trips of len-byte frames for the duration. 0 or a negative errno. */
static int
raw_rtt_measure(struct bench *b, struct raw_fig *f)
{
	uint64_t end, cycles, n = 0, lost = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < WARMUP; i++) {
		ret = raw_rtt_once(&b->rp, f->len, &cycles);
		if (ret == -ETIMEDOUT && ++lost < RAW_LOST_MAX) {
			continue;
		}
		if (ret < 0) {
			return ret;
		}
	}
	end = rte_rdtsc() + (uint64_t)(b->o.duration * b->tsc_hz);
	while (rte_rdtsc() < end && n < SAMPLES_MAX) {
		ret = raw_rtt_once(&b->rp, f->len, &cycles);
		if (ret == -ETIMEDOUT && ++lost < RAW_LOST_MAX) {
			continue;
		}
		if (ret < 0) {
			return ret;
		}
		b->samples[n++] = cycles;
	}
	bench_sort_u64(b->samples, n);
	f->p50_us = us_of(b, bench_percentile(b->samples, n, 50.0));
	f->p99_us = us_of(b, bench_percentile(b->samples, n, 99.0));
	f->p999_us = us_of(b, bench_percentile(b->samples, n, 99.9));
	f->rtt_samples = n;
	f->rtt_done = true;
	return 0;
}

/* Blasts of len-byte frames, RATE_ROUNDS of them over the duration. */
static int
raw_rate_measure(struct bench *b, struct raw_fig *f)
{
	double fps[RATE_ROUNDS];
	uint64_t cycles = (uint64_t)(b->o.duration * b->tsc_hz / RATE_ROUNDS);
	uint64_t sent, delivered, elapsed, all_sent = 0, all_delivered = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < RATE_ROUNDS; i++) {
		ret = raw_rate_once(&b->rp, f->len, cycles, &sent, &delivered, &elapsed);
		if (ret < 0) {
			return ret;
		}
		fps[i] = elapsed > 0 ? (double)delivered * b->tsc_hz / (double)elapsed : 0.0;
		all_sent += sent;
		all_delivered += delivered;
	}
	f->fps = bench_median(fps, RATE_ROUNDS);
	f->gbps = f->fps * f->len / 1e9;
	f->loss = all_sent > 0 ? 1.0 - (double)all_delivered / (double)all_sent : 0.0;
	f->rounds = RATE_ROUNDS;
	f->rate_done = f->fps > 0.0;
	return f->rate_done ? 0 : -EIO;
}

/* The raw round trip of len-byte frames: measured the first time. */
static const struct raw_fig *
raw_rtt(struct bench *b, uint32_t len)
{
	struct raw_fig *f = fig_get(b, len);
	int ret;

	if (f == NULL || f->rtt_done) {
		return f;
	}
	if (b->dev != NULL) {
		return NULL; /* never with a session open: measured before */
	}
	ret = raw_rtt_measure(b, f);
	if (ret < 0) {
		fail(b, "raw-rtt", len, "no echo from the server", ret);
		return NULL;
	}
	return f;
}

static const struct raw_fig *
raw_rate(struct bench *b, uint32_t len)
{
	struct raw_fig *f = fig_get(b, len);
	int ret;

	if (f == NULL || f->rate_done) {
		return f;
	}
	if (b->dev != NULL) {
		return NULL;
	}
	ret = raw_rate_measure(b, f);
	if (ret < 0) {
		fail(b, "raw-rate", len, "no count from the server", ret);
		return NULL;
	}
	return f;
}

/* Every raw figure the chosen tests need, and the raw tests' own rows. */
static void
raw_phase(struct bench *b)
{
	const struct raw_fig *f;
	struct bench_result r;
	char notes[160];
	uint32_t lens[2] = { b->frame_small, b->frame_bulk };
	uint32_t rate_lens[2] = { b->frame_msg64, b->frame_bulk };
	unsigned int i;

	if (want(b, BENCH_RAW_RTT)) {
		for (i = 0; i < RTE_DIM(lens); i++) {
			f = raw_rtt(b, lens[i]);
			if (f == NULL) {
				continue;
			}
			bench_result_init(&r, "raw-rtt", f->len, "us");
			r.value = f->p50_us;
			r.raw = f->p50_us;
			r.ratio = 1.0;
			r.p99 = f->p99_us;
			r.p999 = f->p999_us;
			r.raw_frame = f->len;
			r.samples = f->rtt_samples;
			snprintf(notes, sizeof(notes), "p99 %.2f p99.9 %.2f us, %" PRIu64
				 " round trips", f->p99_us, f->p999_us, f->rtt_samples);
			report(b, &r, notes);
		}
	}
	if (want(b, BENCH_RAW_RATE)) {
		for (i = 0; i < RTE_DIM(rate_lens); i++) {
			f = raw_rate(b, rate_lens[i]);
			if (f == NULL) {
				continue;
			}
			bench_result_init(&r, "raw-rate", f->len, "frames/s");
			r.value = f->fps;
			r.raw = f->fps;
			r.ratio = 1.0;
			r.raw_frame = f->len;
			r.samples = f->rounds;
			snprintf(notes, sizeof(notes), "%.3f GB/s of frames, %.2f %% lost",
				 f->gbps, f->loss * 100.0);
			report(b, &r, notes);
		}
	}
	if (want(b, BENCH_MRD_RTT) || want(b, BENCH_MRD_CACHED) || want(b, BENCH_LAUNCH)) {
		raw_rtt(b, b->frame_small);
	}
	if (want(b, BENCH_MWR_RATE)) {
		raw_rate(b, b->frame_msg64);
	}
	if (want(b, BENCH_H2D) || want(b, BENCH_D2H) || want(b, BENCH_H2D_PAGEABLE) ||
	    want(b, BENCH_D2H_PAGEABLE) || want(b, BENCH_JOB) || want(b, BENCH_JOB_ASYNC)) {
		raw_rate(b, b->frame_bulk);
	}
	if (b->rp.stray != 0) {
		printf("rpci-bench: %" PRIu64 " frames that were not answers arrived during the "
		       "raw tests\n", b->rp.stray);
	}
}

/* Set raw and ratio of a result (NaN when the raw figure is missing). */
static void
set_raw(struct bench_result *r, double raw, uint32_t frame)
{
	r->raw = raw;
	r->ratio = raw > 0.0 && !isnan(raw) ? r->value / raw : NAN;
	r->raw_frame = frame;
}

/*
 * The raw figures the ratios used, measured again once the device is
 * closed: the host's speed swings several-fold from one minute to the next,
 * so each comes back as <test>-after, its ratio the drift (after / before).
 * A drift far from 1 says the ratios of this run are not to be trusted.
 */
static void
raw_recheck(struct bench *b)
{
	struct bench_result r;
	struct raw_fig again;
	char notes[160];
	unsigned int i;

	for (i = 0; i < b->nb_figs; i++) {
		const struct raw_fig *f = &b->figs[i];

		if (f->rtt_done) {
			memset(&again, 0, sizeof(again));
			again.len = f->len;
			if (raw_rtt_measure(b, &again) < 0) {
				fail(b, "raw-rtt-after", f->len, "no echo from the server", -EIO);
			} else {
				bench_result_init(&r, "raw-rtt-after", f->len, "us");
				r.value = again.p50_us;
				set_raw(&r, f->p50_us, f->len);
				r.p99 = again.p99_us;
				r.p999 = again.p999_us;
				r.samples = again.rtt_samples;
				snprintf(notes, sizeof(notes),
					 "after the device's tests: p50 %+.0f %% from before",
					 (r.ratio - 1.0) * 100.0);
				report(b, &r, notes);
			}
		}
		if (f->rate_done) {
			memset(&again, 0, sizeof(again));
			again.len = f->len;
			if (raw_rate_measure(b, &again) < 0) {
				fail(b, "raw-rate-after", f->len, "no count from the server", -EIO);
			} else {
				bench_result_init(&r, "raw-rate-after", f->len, "frames/s");
				r.value = again.fps;
				set_raw(&r, f->fps, f->len);
				r.samples = again.rounds;
				snprintf(notes, sizeof(notes),
					 "after the device's tests: %+.0f %% from before "
					 "(%.3f GB/s of frames)", (r.ratio - 1.0) * 100.0,
					 again.gbps);
				report(b, &r, notes);
			}
		}
	}
}

/* A figure measured in the raw phase (NULL if it failed). */
static const struct raw_fig *
raw_cached(struct bench *b, uint32_t len, bool rate)
{
	unsigned int i;

	for (i = 0; i < b->nb_figs; i++) {
		if (b->figs[i].len == len && (rate ? b->figs[i].rate_done : b->figs[i].rtt_done)) {
			return &b->figs[i];
		}
	}
	return NULL;
}

/* ------------------------------------------------------------- latencies */

static void
latency_result(struct bench *b, struct bench_result *r, uint64_t n)
{
	const struct raw_fig *f = raw_cached(b, b->frame_small, false);

	bench_sort_u64(b->samples, n);
	r->value = us_of(b, bench_percentile(b->samples, n, 50.0));
	r->p99 = us_of(b, bench_percentile(b->samples, n, 99.0));
	r->p999 = us_of(b, bench_percentile(b->samples, n, 99.9));
	r->samples = n;
	set_raw(r, f != NULL ? f->p50_us : NAN, b->frame_small);
}

/*
 * 8-byte reads, timed one by one, of BAR at offset (a value checked): mrd-rtt
 * reads device memory (BAR2), a round trip each; mrd-cached a read-only
 * register (BAR0), which the proxy answers from what it read before.
 */
static void
test_reads(struct bench *b, const char *name, int bar, uint64_t offset, uint64_t want_value)
{
	struct bench_result r;
	uint64_t end, t0, v = 0, n = 0, i;
	char notes[160];
	bool ok = true;
	int ret;

	for (i = 0; i < WARMUP; i++) {
		ret = rpci_bar_read(b->dev, bar, offset, &v, sizeof(v));
		if (ret < 0) {
			fail(b, name, 8, "read", ret);
			return;
		}
	}
	end = rte_rdtsc() + (uint64_t)(b->o.duration * b->tsc_hz);
	while (rte_rdtsc() < end && n < SAMPLES_MAX) {
		v = 0;
		t0 = rte_rdtsc();
		ret = rpci_bar_read(b->dev, bar, offset, &v, sizeof(v));
		b->samples[n++] = rte_rdtsc() - t0;
		if (ret < 0) {
			fail(b, name, 8, "read", ret);
			return;
		}
		if (rte_le_to_cpu_64(v) != want_value) {
			ok = false;
		}
	}
	bench_result_init(&r, name, 8, "us");
	latency_result(b, &r, n);
	r.verified = ok;
	snprintf(notes, sizeof(notes), "p99 %.2f p99.9 %.2f us, %" PRIu64 " reads of BAR%d%s",
		 r.p99, r.p999, n, bar, ok ? ", value checked" : ", WRONG VALUE READ");
	report(b, &r, notes);
	if (!ok) {
		b->failures++;
	}
}

static void
test_mrd_rtt(struct bench *b)
{
	const uint64_t magic = 0x7270636962656e63ull; /* "rpcibenc" */
	uint64_t d = 0;
	int ret;

	ret = rpci_mem_alloc(b->dev, 4096, &d);
	if (ret == 0) {
		ret = rpci_memcpy_htod(b->dev, d, &magic, sizeof(magic));
	}
	if (ret < 0) {
		fail(b, "mrd-rtt", 8, "device memory", ret);
		return;
	}
	test_reads(b, "mrd-rtt", 2, d, magic);
	rpci_mem_free(b->dev, d);
}

static void
test_launch(struct bench *b)
{
	static const uint32_t one[3] = { 1, 1, 1 };
	struct rpci_module *mod = NULL;
	struct rpci_function *fn;
	struct bench_result r;
	uint64_t end, t0, n = 0, i;
	char notes[160];
	int ret;

	ret = rpci_module_load(b->dev, RPCI_MODULE_BUILTIN, NULL, 0, &mod, NULL, 0);
	if (ret < 0) {
		fail(b, "launch", 0, "built-in module", ret);
		return;
	}
	ret = rpci_function_get(mod, "empty", &fn);
	if (ret < 0) {
		fail(b, "launch", 0, "kernel 'empty'", ret);
		goto unload;
	}
	for (i = 0; i < WARMUP && ret == 0; i++) {
		ret = rpci_launch(fn, one, one, NULL, 0);
		if (ret == 0) {
			ret = rpci_synchronize(b->dev);
		}
	}
	end = rte_rdtsc() + (uint64_t)(b->o.duration * b->tsc_hz);
	while (ret == 0 && rte_rdtsc() < end && n < SAMPLES_MAX) {
		t0 = rte_rdtsc();
		ret = rpci_launch(fn, one, one, NULL, 0);
		if (ret == 0) {
			ret = rpci_synchronize(b->dev);
		}
		b->samples[n++] = rte_rdtsc() - t0;
	}
	if (ret < 0) {
		fail(b, "launch", 0, "launch and synchronize", ret);
		goto unload;
	}
	bench_result_init(&r, "launch", 0, "us");
	latency_result(b, &r, n);
	snprintf(notes, sizeof(notes), "p99 %.2f p99.9 %.2f us, %" PRIu64 " launches", r.p99,
		 r.p999, n);
	report(b, &r, notes);
unload:
	rpci_module_unload(mod);
}

/* ------------------------------------------------------------- posted writes */

static void
mwr_fill(uint8_t *buf, uint64_t i)
{
	unsigned int k;

	for (k = 0; k < MWR_LEN; k++) {
		buf[k] = (uint8_t)(i * 131 + k * 7 + 1);
	}
}

/* Whether device memory at d holds the last of n writes of each 64-byte slot (not timed). */
static bool
mwr_check(struct bench *b, uint64_t d, uint64_t n)
{
	uint64_t slots = MWR_AREA / MWR_LEN, k, i;
	uint8_t want[MWR_LEN];
	uint8_t *area = malloc(MWR_AREA);
	bool ok;

	if (area == NULL) {
		return false;
	}
	ok = rpci_memcpy_dtoh(b->dev, area, d, MWR_AREA) == 0;
	for (k = 0; ok && k < slots && k < n; k++) {
		/* the last write to slot k: the largest i < n with i % slots == k */
		i = k + (n - 1 - k) / slots * slots;
		mwr_fill(want, i);
		ok = memcmp(area + k * MWR_LEN, want, MWR_LEN) == 0;
	}
	free(area);
	return ok;
}

static void
test_mwr_rate(struct bench *b)
{
	const struct raw_fig *f = raw_cached(b, b->frame_msg64, true);
	uint8_t buf[MWR_LEN], back[MWR_LEN];
	struct bench_result r;
	uint64_t d = 0, off = 0, n = 0, end, t0, t1;
	char notes[160];
	bool ok;
	int ret;

	ret = rpci_mem_alloc(b->dev, MWR_AREA, &d);
	if (ret < 0) {
		fail(b, "mwr-rate", MWR_LEN, "device memory", ret);
		return;
	}
	t0 = rte_rdtsc();
	end = t0 + (uint64_t)(b->o.duration * b->tsc_hz);
	do {
		off = d + (n * MWR_LEN) % MWR_AREA;
		mwr_fill(buf, n);
		ret = rpci_bar_write_posted(b->dev, 2, off, buf, MWR_LEN);
		n++;
	} while (ret == 0 && rte_rdtsc() < end);
	/* a read does not pass the writes before it: all of them have landed then */
	if (ret == 0) {
		ret = rpci_bar_read(b->dev, 2, off, back, MWR_LEN);
	}
	t1 = rte_rdtsc();
	if (ret < 0) {
		fail(b, "mwr-rate", MWR_LEN, "posted write", ret);
		goto free_mem;
	}
	ok = memcmp(back, buf, MWR_LEN) == 0 && mwr_check(b, d, n);
	bench_result_init(&r, "mwr-rate", MWR_LEN, "msg/s");
	r.value = (double)n * b->tsc_hz / (double)(t1 - t0);
	r.samples = n;
	r.verified = ok;
	set_raw(&r, f != NULL ? f->fps : NAN, b->frame_msg64);
	snprintf(notes, sizeof(notes), "%" PRIu64 " posted writes, then a read; the area read "
		 "back: %s", n, ok ? "right" : "WRONG");
	report(b, &r, notes);
	if (!ok) {
		b->failures++;
	}
free_mem:
	rpci_mem_free(b->dev, d);
}

/* ------------------------------------------------------------- copies */

/* A pattern that differs with the seed and the position. */
static void
pattern_fill(uint8_t *buf, uint64_t len, uint32_t seed)
{
	uint64_t i, words = len / 4;
	uint32_t w;

	for (i = 0; i < words; i++) {
		w = (uint32_t)(i * 2654435761u) ^ seed;
		memcpy(buf + i * 4, &w, 4);
	}
	for (i = words * 4; i < len; i++) {
		buf[i] = (uint8_t)(seed + i);
	}
}

/* Whether buf holds pattern_fill(len, seed). */
static bool
pattern_check(const uint8_t *buf, uint64_t len, uint32_t seed)
{
	uint64_t i, words = len / 4;
	uint32_t w, want;

	for (i = 0; i < words; i++) {
		memcpy(&w, buf + i * 4, 4);
		want = (uint32_t)(i * 2654435761u) ^ seed;
		if (w != want) {
			return false;
		}
	}
	for (i = words * 4; i < len; i++) {
		if (buf[i] != (uint8_t)(seed + i)) {
			return false;
		}
	}
	return true;
}

/* Run one copy direction of one size, repeatedly; GB/s of each copy in gbps. */
static int
copy_reps(struct bench *b, bool h2d, uint64_t d, uint8_t *host, uint64_t size, double *gbps,
	  unsigned int *nb)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(b->o.duration * b->tsc_hz), t0, dt;
	unsigned int n = 0;
	int ret;

	*nb = 0;
	while (n < REPS_MAX && (n < REPS_MIN || rte_rdtsc() < end)) {
		t0 = rte_rdtsc();
		ret = h2d ? rpci_memcpy_htod(b->dev, d, host, size) :
			rpci_memcpy_dtoh(b->dev, host, d, size);
		dt = rte_rdtsc() - t0;
		if (ret < 0) {
			return ret;
		}
		gbps[n++] = dt > 0 ? (double)size * b->tsc_hz / (double)dt / 1e9 : 0.0;
	}
	*nb = n;
	return 0;
}

/* Host memory of a copy test: shared with the proxy (pinned), or malloc's. */
static uint8_t *
host_buf(struct bench *b, uint64_t size, bool pinned)
{
	void *p = NULL;

	if (pinned) {
		return rpci_client_host_alloc(b->client, size);
	}
	return posix_memalign(&p, 64, size) == 0 ? p : NULL;
}

static void
host_buf_free(struct bench *b, uint8_t *p, bool pinned)
{
	if (pinned) {
		rpci_client_host_free(b->client, p);
	} else {
		free(p);
	}
}

static void
test_copies(struct bench *b, bool h2d, bool pinned)
{
	const char *name = pinned ? (h2d ? "h2d" : "d2h") : (h2d ? "h2d-pageable" : "d2h-pageable");
	const struct raw_fig *f = raw_cached(b, b->frame_bulk, true);
	uint64_t max = 0, d = 0, size;
	uint8_t *src = NULL, *dst = NULL;
	double *gbps;
	struct bench_result r;
	char notes[160];
	unsigned int i, n;
	uint32_t seed;
	bool ok;
	int ret;

	for (i = 0; i < b->o.nb_sizes; i++) {
		max = RTE_MAX(max, b->o.sizes[i]);
	}
	gbps = calloc(REPS_MAX, sizeof(*gbps));
	src = host_buf(b, max, pinned);
	dst = host_buf(b, max, pinned);
	if (gbps == NULL || src == NULL || dst == NULL) {
		fprintf(stderr, "rpci-bench: %s: no memory for %" PRIu64 "-byte buffers%s\n", name,
			max, pinned ? " (shared memory: RPCI_SHM_SIZE)" : "");
		b->failures++;
		goto free_host;
	}
	ret = rpci_mem_alloc(b->dev, max, &d);
	if (ret < 0) {
		fail(b, name, max, "device memory", ret);
		goto free_host;
	}
	for (i = 0; i < b->o.nb_sizes; i++) {
		size = b->o.sizes[i];
		seed = (uint32_t)(size * 31 + (h2d ? 1 : 2));
		pattern_fill(src, size, seed);
		memset(dst, 0, size);
		if (h2d) {
			ret = copy_reps(b, true, d, src, size, gbps, &n);
			if (ret == 0) {
				/* what the last copy left on the device, read back */
				ret = rpci_memcpy_dtoh(b->dev, dst, d, size);
			}
			ok = ret == 0 && pattern_check(dst, size, seed);
		} else {
			ret = rpci_memcpy_htod(b->dev, d, src, size);
			if (ret == 0) {
				ret = rpci_memcpy_dtoh(b->dev, dst, d, size);
			}
			ok = ret == 0 && pattern_check(dst, size, seed);
			if (ret == 0) {
				ret = copy_reps(b, false, d, dst, size, gbps, &n);
			}
			ok = ok && ret == 0 && pattern_check(dst, size, seed);
		}
		if (ret < 0) {
			fail(b, name, size, "copy", ret);
			continue;
		}
		bench_result_init(&r, name, size, "GB/s");
		r.value = bench_median(gbps, n);
		r.samples = n;
		r.verified = ok;
		set_raw(&r, f != NULL ? f->gbps : NAN, b->frame_bulk);
		snprintf(notes, sizeof(notes), "median of %u copies (%.3f..%.3f), %s%s", n, gbps[0],
			 gbps[n - 1], h2d ? (b->o.h2d == RPCI_H2D_PULL ? "pull, " : "push, ") : "",
			 ok ? "data checked" : "DATA WRONG");
		report(b, &r, notes);
		if (!ok) {
			b->failures++;
		}
	}
	rpci_mem_free(b->dev, d);
free_host:
	host_buf_free(b, src, pinned);
	host_buf_free(b, dst, pinned);
	free(gbps);
}

/* ------------------------------------------------------------- the job */

/* The job's data: saxpy of integers (lib/jobs), the device's result checked exactly. */
#define JOB_SEED 1

/* What a program after speed does: its vectors in memory shared with the proxy. */
static void *
job_host_alloc(void *client, size_t size)
{
	return rpci_client_host_alloc(client, size);
}

static void
job_host_free(void *client, void *ptr)
{
	rpci_client_host_free(client, ptr);
}

/*
 * One saxpy end to end: copies in, kernel, copy out; blocking calls, or
 * (async) all queued behind one another and one synchronize.
 */
static int
job_once(struct bench *b, struct rpci_function *fn, uint64_t dx, uint64_t dy,
	 const struct rpci_split_job *j, bool async)
{
	uint64_t n = j->n;
	uint32_t grid[3] = { (uint32_t)((n + 255) / 256), 1, 1 };
	uint32_t block[3] = { 256, 1, 1 };
	struct rpci_kernel_arg args[] = {
		rpci_arg_f32(j->alpha), rpci_arg_ptr(dx), rpci_arg_ptr(dy), rpci_arg_u64(n),
	};
	int ret;

	if (async) {
		ret = rpci_memcpy_htod_async(b->dev, dx, j->a, n * sizeof(float));
		if (ret == 0) {
			ret = rpci_memcpy_htod_async(b->dev, dy, j->b, n * sizeof(float));
		}
		if (ret == 0) {
			ret = rpci_launch(fn, grid, block, args, RTE_DIM(args));
		}
		if (ret == 0) {
			ret = rpci_memcpy_dtoh_async(b->dev, j->out, dy, n * sizeof(float));
		}
		return ret == 0 ? rpci_synchronize(b->dev) : ret;
	}
	ret = rpci_memcpy_htod(b->dev, dx, j->a, n * sizeof(float));
	if (ret == 0) {
		ret = rpci_memcpy_htod(b->dev, dy, j->b, n * sizeof(float));
	}
	if (ret == 0) {
		ret = rpci_launch(fn, grid, block, args, RTE_DIM(args));
	}
	if (ret == 0) {
		ret = rpci_synchronize(b->dev);
	}
	if (ret == 0) {
		ret = rpci_memcpy_dtoh(b->dev, j->out, dy, n * sizeof(float));
	}
	return ret;
}

static void
test_job_size(struct bench *b, struct rpci_function *fn, uint64_t bytes, bool async)
{
	const char *name = async ? "job-async" : "job";
	const struct raw_fig *f = raw_cached(b, b->frame_bulk, true);
	uint64_t n = RTE_MAX(bytes / sizeof(float), (uint64_t)1), dx = 0, dy = 0, end;
	const struct rpci_job_allocator shared = { job_host_alloc, job_host_free, b->client };
	const struct rpci_job_params p = {
		.kind = RPCI_JOB_SAXPY, .n = n, .seed = JOB_SEED, .int_data = true,
	};
	const struct rpci_split_job *j;
	struct rpci_job_verdict v;
	struct rpci_job *job;
	struct bench_result r;
	double *ms = NULL, t0, local_s = 0.0;
	unsigned int reps = 0;
	char notes[160];
	bool ok = true;
	int ret;

	bytes = n * sizeof(float);
	job = rpci_job_create(&p, &shared);
	ms = calloc(REPS_MAX, sizeof(*ms));
	if (job == NULL || ms == NULL || rpci_job_reference(job, &local_s) < 0) {
		fprintf(stderr, "rpci-bench: job: no memory for %" PRIu64 " floats\n", n);
		b->failures++;
		goto free_host;
	}
	j = rpci_job_data(job);
	ret = rpci_mem_alloc(b->dev, bytes, &dx);
	if (ret == 0) {
		ret = rpci_mem_alloc(b->dev, bytes, &dy);
		if (ret < 0) {
			rpci_mem_free(b->dev, dx);
		}
	}
	if (ret < 0) {
		fail(b, name, bytes, "device memory for two vectors", ret);
		goto free_host;
	}
	end = rte_rdtsc() + (uint64_t)(b->o.duration * b->tsc_hz);
	do {
		t0 = now_s(b);
		ret = job_once(b, fn, dx, dy, j, async);
		ms[reps++] = (now_s(b) - t0) * 1e3;
		if (ret == 0 && (rpci_job_verify(job, 1, &v) < 0 || !v.ok)) {
			ok = false;
		}
		memset(j->out, 0, bytes);
	} while (ret == 0 && reps < REPS_MAX && rte_rdtsc() < end);
	if (ret < 0) {
		fail(b, name, bytes, "saxpy", ret);
		goto free_dev;
	}
	bench_result_init(&r, name, bytes, "ms");
	r.value = bench_median(ms, reps);
	r.samples = reps;
	r.verified = ok;
	r.local_ms = local_s * 1e3;
	/* the raw link moving the same bytes: two vectors in, one out */
	set_raw(&r, f != NULL ? 3.0 * (double)bytes / (f->gbps * 1e9) * 1e3 : NAN,
		b->frame_bulk);
	snprintf(notes, sizeof(notes), "saxpy n=%" PRIu64 "%s, median of %u; local CPU %.3f ms; "
		 "%s", n, async ? " queued (async copies)" : "", reps, r.local_ms,
		 ok ? "verified" : "MISMATCH");
	report(b, &r, notes);
	if (!ok) {
		b->failures++;
	}
free_dev:
	rpci_mem_free(b->dev, dx);
	rpci_mem_free(b->dev, dy);
free_host:
	rpci_job_free(job);
	free(ms);
}

static void
test_job(struct bench *b, bool async)
{
	const char *name = async ? "job-async" : "job";
	struct rpci_module *mod = NULL;
	struct rpci_function *fn;
	unsigned int i;
	int ret;

	ret = rpci_module_load(b->dev, RPCI_MODULE_BUILTIN, NULL, 0, &mod, NULL, 0);
	if (ret < 0) {
		fail(b, name, 0, "built-in module", ret);
		return;
	}
	ret = rpci_function_get(mod, "saxpy", &fn);
	if (ret < 0) {
		fail(b, name, 0, "kernel 'saxpy'", ret);
	} else if (!b->o.have_size) {
		test_job_size(b, fn, JOB_DEFAULT_BYTES, async);
	} else {
		for (i = 0; i < b->o.nb_sizes; i++) {
			test_job_size(b, fn, b->o.sizes[i], async);
		}
	}
	rpci_module_unload(mod);
}

/*
 * The CPU a program uses while it waits for a long kernel: an sgemm sized
 * from a short one to take about WAIT_KERNEL_S, launched and synchronized,
 * with this thread's CPU time (getrusage) over the wall time of the wait.
 */
static void
test_wait_cpu(struct bench *b)
{
	struct rpci_module *mod = NULL;
	struct rpci_function *fn;
	struct rusage r0, r1;
	struct bench_result r;
	uint64_t n = 128, da = 0, db = 0, dc = 0, bytes;
	double t0, t1, cpu_s, wall_s = 0.0;
	char notes[160];
	int pass, ret;

	ret = rpci_module_load(b->dev, RPCI_MODULE_BUILTIN, NULL, 0, &mod, NULL, 0);
	if (ret == 0) {
		ret = rpci_function_get(mod, "sgemm", &fn);
	}
	if (ret < 0) {
		fail(b, "wait-cpu", 0, "built-in sgemm", ret);
		goto unload;
	}
	for (pass = 0; pass < 2; pass++) {
		uint32_t grid[3] = { (uint32_t)((n * n + 255) / 256), 1, 1 };
		uint32_t block[3] = { 256, 1, 1 };

		bytes = n * n * sizeof(float);
		if ((ret = rpci_mem_alloc(b->dev, bytes, &da)) < 0 ||
		    (ret = rpci_mem_alloc(b->dev, bytes, &db)) < 0 ||
		    (ret = rpci_mem_alloc(b->dev, bytes, &dc)) < 0) {
			fail(b, "wait-cpu", bytes, "device memory", ret);
			goto unload;
		}
		{
			struct rpci_kernel_arg args[] = {
				rpci_arg_ptr(da), rpci_arg_ptr(db), rpci_arg_ptr(dc),
				rpci_arg_u64(n), rpci_arg_u64(n), rpci_arg_u64(n),
				rpci_arg_f32(1.0f), rpci_arg_f32(0.0f),
			};

			getrusage(RUSAGE_THREAD, &r0);
			t0 = now_s(b);
			ret = rpci_launch(fn, grid, block, args, RTE_DIM(args));
			if (ret == 0) {
				ret = rpci_synchronize(b->dev);
			}
			t1 = now_s(b);
			getrusage(RUSAGE_THREAD, &r1);
		}
		rpci_mem_free(b->dev, da);
		rpci_mem_free(b->dev, db);
		rpci_mem_free(b->dev, dc);
		if (ret < 0) {
			fail(b, "wait-cpu", n, "sgemm", ret);
			goto unload;
		}
		wall_s = t1 - t0;
		if (pass == 0) {
			/* the work grows as n^3: the size of a WAIT_KERNEL_S kernel */
			double scale = cbrt(WAIT_KERNEL_S / (wall_s > 1e-4 ? wall_s : 1e-4));
			uint64_t room = (uint64_t)sqrt((double)b->info.memory_bytes / 16.0);
			uint64_t want = (uint64_t)((double)n * scale);

			if (room > 8192) {
				room = 8192;
			}
			n = want < 128 ? 128 : want > room ? room : want;
		}
	}
	cpu_s = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
		(double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) * 1e-6 +
		(double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
		(double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6;
	bench_result_init(&r, "wait-cpu", 0, "%");
	r.value = wall_s > 0.0 ? cpu_s / wall_s * 100.0 : NAN;
	r.samples = 1;
	snprintf(notes, sizeof(notes), "%.3f s of CPU over a %.3f s wait for an sgemm of %" PRIu64,
		 cpu_s, wall_s, n);
	report(b, &r, notes);
unload:
	rpci_module_unload(mod);
}

/* ------------------------------------------------------------- main */

/* The TSC's rate without EAL (a program of a running proxy): 100 ms of the clock. */
static double
tsc_hz_measured(void)
{
	struct timespec a, b;
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = rte_rdtsc();
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9 < 0.1);
	t1 = rte_rdtsc();
	return (double)(t1 - t0) /
	       ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9);
}

/*
 * rpci's frame lengths on this host's link (its port is up): frames of up
 * to the host's frame size, a bulk frame as many max_payload writes as the
 * link puts in one. 0, or -1 with a message.
 */
static int
frame_lengths(struct bench *b)
{
	const struct rpci_conf_link *l = &b->o.ac.conf->link;
	const struct rpci_conf_host *host = b->o.ac.conf_host;
	/* with keys, a frame of a session carries a counter and a tag after its header */
	uint32_t base = RTE_ETHER_HDR_LEN + RPCI_LINK_HDR_LEN +
			(b->o.ac.conf->auth.mode == RPCI_AUTH_KEYS ? RPCI_LINK_AUTH_LEN : 0);
	uint32_t mwr = (uint32_t)rpci_tlp_hdr_len(RPCI_TLP_MWR);
	struct rpci_port_info pi;
	char err[256];
	uint32_t mp;
	int ret;

	ret = rpci_port_info_get(host->port, l->mtu, &pi);
	if (ret == 0) {
		ret = rpci_link_host_frame(b->o.ac.conf, host, &pi, &b->frame_max,
					   &b->crc_payload, err, sizeof(err));
	} else {
		snprintf(err, sizeof(err), "port %u: %s", host->port, strerror(-ret));
	}
	if (ret < 0) {
		fprintf(stderr, "rpci-bench: %s\n", err);
		return -1;
	}
	mp = rpci_link_max_payload_for_mtu(b->frame_max - RTE_ETHER_HDR_LEN);
	if (l->max_payload != 0 && l->max_payload < mp) {
		mp = l->max_payload;
	}
	b->max_payload = mp;
	b->frame_small = RTE_MAX((uint32_t)RAW_FRAME_MIN,
				 base + (uint32_t)rpci_tlp_hdr_len(RPCI_TLP_CPLD) + 8);
	b->frame_msg64 = RTE_MAX((uint32_t)RAW_FRAME_MIN, base + mwr + MWR_LEN);
	b->frame_bulk = base + (b->frame_max - base) / (mwr + mp) * (mwr + mp);
	return 0;
}

static int
server_find(struct bench *b)
{
	const struct rpci_conf_host *host = b->o.ac.conf_host;
	const char *name = b->o.server != NULL ? b->o.server : host->server;

	if (name == NULL || name[0] == '\0') {
		fprintf(stderr, "rpci-bench: host '%s' names no server (the selector chooses): "
			"give --server NAME\n", host->name);
		return -1;
	}
	b->server = rpci_conf_host_find(b->o.ac.conf, name);
	if (b->server == NULL || (b->server->roles & RPCI_ROLE_SERVER) == 0) {
		fprintf(stderr, "rpci-bench: '%s' is not a server host of %s\n", name,
			b->o.ac.config);
		return -1;
	}
	return 0;
}

static void
device_phase(struct bench *b)
{
	int ret;

	b->dev = rpci_device_open(b->client, b->server != NULL ? b->server->name : b->o.server,
				  b->o.device);
	if (b->dev == NULL) {
		fprintf(stderr, "rpci-bench: %s\n", rpci_last_error());
		b->failures++;
		return;
	}
	ret = rpci_device_info(b->dev, &b->info);
	if (ret == 0) {
		ret = rpci_device_set_h2d_mode(b->dev, b->o.h2d);
	}
	if (ret < 0) {
		fprintf(stderr, "rpci-bench: device: %s\n", rpci_last_error());
		b->failures++;
		goto close;
	}
	if (b->max_payload != 0 && b->info.max_payload != b->max_payload) {
		printf("rpci-bench: the link's max payload is %u, %u expected from the file\n",
		       b->info.max_payload, b->max_payload);
	}
	if (want(b, BENCH_MRD_RTT)) {
		test_mrd_rtt(b);
	}
	if (want(b, BENCH_MRD_CACHED)) {
		test_reads(b, "mrd-cached", 0, RPCI_VGPU_REG_MEM_SIZE, b->info.memory_bytes);
	}
	if (want(b, BENCH_MWR_RATE)) {
		test_mwr_rate(b);
	}
	if (want(b, BENCH_H2D)) {
		test_copies(b, true, true);
	}
	if (want(b, BENCH_D2H)) {
		test_copies(b, false, true);
	}
	if (want(b, BENCH_H2D_PAGEABLE)) {
		test_copies(b, true, false);
	}
	if (want(b, BENCH_D2H_PAGEABLE)) {
		test_copies(b, false, false);
	}
	if (want(b, BENCH_LAUNCH)) {
		test_launch(b);
	}
	if (want(b, BENCH_JOB)) {
		test_job(b, false);
	}
	if (want(b, BENCH_JOB_ASYNC)) {
		test_job(b, true);
	}
	if (want(b, BENCH_WAIT_CPU)) {
		test_wait_cpu(b);
	}
close:
	if (rpci_device_close(b->dev) < 0) {
		fprintf(stderr, "rpci-bench: close: %s\n", rpci_last_error());
		b->failures++;
	}
	b->dev = NULL;
}

/*
 * The device's tests again from a child process that is an ordinary
 * program of our core, through its socket and shared memory, while this
 * process runs the core's poll loop as rpci-proxy would. The child prints
 * its rows (each beside the embedded figure of the same test) and exits.
 */
static void
proxy_phase(struct bench *b)
{
	char path[108];
	pid_t child;
	int status, ret;

	snprintf(path, sizeof(path), "/tmp/rpci-bench-%d.sock", (int)getpid());
	ret = rpci_proxy_listen_at(b->o.ac.core, path, 0600);
	if (ret < 0) {
		fprintf(stderr, "rpci-bench: cannot listen on %s: %s\n", path, strerror(-ret));
		b->failures++;
		return;
	}
	fflush(stdout);
	if (b->json != NULL) {
		fflush(b->json);
	}
	child = fork();
	if (child < 0) {
		fprintf(stderr, "rpci-bench: fork: %s\n", strerror(errno));
		b->failures++;
		return;
	}
	if (child == 0) {
		/* The child: librpci only (no DPDK call from here on). */
		b->client = rpci_client_create(path);
		if (b->client == NULL) {
			fprintf(stderr, "rpci-bench: through the proxy: %s\n", rpci_last_error());
			_exit(1);
		}
		b->path = "proxy";
		device_phase(b);
		rpci_client_destroy(b->client);
		fflush(stdout);
		if (b->json != NULL) {
			fflush(b->json);
		}
		_exit(b->failures == 0 ? 0 : 1);
	}
	while (waitpid(child, &status, WNOHANG) == 0) {
		rpci_proxy_idle(b->o.ac.core, rpci_proxy_poll(b->o.ac.core));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		b->failures++;
	}
}

/* The figures of one protection for a test and size, over the rounds. */
static unsigned int
auth_values(const struct bench *b, int mode, const char *test, uint64_t size, double *v)
{
	unsigned int i, n = 0;

	for (i = 0; i < b->nb_auth_figs; i++) {
		if (b->auth_figs[i].mode == mode && strcmp(b->auth_figs[i].test, test) == 0 &&
		    b->auth_figs[i].size == size && n < ROUNDS_MAX) {
			v[n++] = b->auth_figs[i].value;
		}
	}
	return n;
}

/*
 * --auth: each figure's median over the rounds, per protection, and its
 * ratio to the frames without authentication (a latency's ratio above 1,
 * a rate's below 1, is what authenticating costs).
 */
static void
auth_summary(struct bench *b)
{
	double v[ROUNDS_MAX], off;
	char size[32];
	unsigned int i, k, n;
	int m;

	printf("\nauthentication in %u alternated rounds (medians; ratio: against auth-off)\n",
	       b->o.rounds);
	printf("%-14s %6s %-8s %12s %-8s %8s %8s\n", "test", "size", "frames", "median", "unit",
	       "rounds", "vs off");
	for (i = 0; i < b->nb_auth_figs; i++) {
		const char *test = b->auth_figs[i].test;
		uint64_t sz = b->auth_figs[i].size;

		/* each test and size once, where it first appears */
		for (k = 0; k < i; k++) {
			if (strcmp(b->auth_figs[k].test, test) == 0 && b->auth_figs[k].size == sz) {
				break;
			}
		}
		if (k < i) {
			continue;
		}
		n = auth_values(b, 1, test, sz, v);
		off = n > 0 ? bench_median(v, n) : NAN;
		for (m = 0; m < AUTH_MODES; m++) {
			double med, ratio;

			n = auth_values(b, m, test, sz, v);
			if (n == 0) {
				continue;
			}
			med = bench_median(v, n);
			ratio = off > 0.0 ? med / off : NAN;
			printf("%-14s %6s %-8s %12.4g %-8s %8u %8.3f\n", test,
			       bench_size_str(sz, size, sizeof(size)), g_auth_names[m], med,
			       b->auth_figs[i].unit, n, ratio);
			if (b->json != NULL) {
				fprintf(b->json, "{\"test\": \"%s\", \"size\": %" PRIu64
					", \"auth\": \"%s\", \"median\": %.6g, \"unit\": \"%s\", "
					"\"rounds\": %u, \"vs_off\": %.6g}\n", test, sz,
					g_auth_names[m], med, b->auth_figs[i].unit, n,
					isnan(ratio) ? -1.0 : ratio);
			}
		}
	}
	if (b->json != NULL) {
		fflush(b->json);
	}
}

/* The embedded device's tests in alternated rounds, once per protection asked. */
static void
auth_rounds(struct bench *b)
{
	unsigned int r;
	int m;

	for (r = 0; r < b->o.rounds; r++) {
		for (m = 0; m < AUTH_MODES; m++) {
			if (!(b->o.auth & (1u << m))) {
				continue;
			}
			if (rpci_proxy_set_session_security(b->o.ac.core, g_auth_sec[m]) < 0) {
				fprintf(stderr, "rpci-bench: --auth %s: this host's link cannot "
					"(has it keys?)\n", g_auth_names[m]);
				b->failures++;
				return;
			}
			b->auth_mode = m;
			b->path = g_auth_paths[m];
			device_phase(b);
		}
	}
	b->auth_mode = -1;
	rpci_proxy_set_session_security(b->o.ac.core, RPCI_LINK_SEC_DEFAULT);
	auth_summary(b);
}

int
main(int argc, char **argv)
{
	const struct rpci_conf_host *host;
	struct app_args args;
	struct bench b;
	char err[256];
	int ret = 1;

	memset(&b, 0, sizeof(b));
	b.auth_mode = -1;
	app_split_args(argc, argv, &args);
	if (parse_args(args.app_argc, args.app_argv, &b.o) < 0) {
		return 2;
	}
	if (b.o.json != NULL) {
		b.json = fopen(b.o.json, "a");
		if (b.json == NULL) {
			fprintf(stderr, "rpci-bench: cannot open %s: %s\n", b.o.json,
				strerror(errno));
			return 2;
		}
	}
	b.samples = malloc(SAMPLES_MAX * sizeof(*b.samples));
	if (b.samples == NULL) {
		fprintf(stderr, "rpci-bench: no memory\n");
		goto close_json;
	}
	if (app_client_load(&b.o.ac, &args) < 0) {
		ret = 2;
		goto free_samples;
	}
	if (b.o.rounds == 0) {
		b.o.rounds = 3;
	}
	if (b.o.auth != 0 && !app_client_embedded(&b.o.ac)) {
		fprintf(stderr, "rpci-bench: --auth needs --config and --host (the embedded core "
			"opens the sessions)\n");
		ret = 2;
		goto close;
	}
	if (!app_client_embedded(&b.o.ac)) {
		/* a program of a running rpci-proxy: the device's tests only */
		b.client = app_client_open(&b.o.ac, &args);
		if (b.client == NULL) {
			goto close;
		}
		b.tsc_hz = tsc_hz_measured();
		printf("rpci-bench: a program of the proxy at %s; %.3g s a measurement (no raw "
		       "figures: the proxy owns the port)\n", app_client_socket(&b.o.ac),
		       b.o.duration);
		print_header();
		b.path = "proxy";
		device_phase(&b);
		ret = b.failures == 0 ? 0 : 1;
		goto close;
	}
	host = b.o.ac.conf_host;
	if (server_find(&b) < 0) {
		ret = 2;
		goto close;
	}
	b.client = app_client_open(&b.o.ac, &args);
	if (b.client == NULL) {
		goto close;
	}
	b.tsc_hz = (double)rte_get_tsc_hz();
	/* the port is up: what it carries decides the frames */
	if (frame_lengths(&b) < 0) {
		goto close;
	}
	if (raw_port_init(&b.rp, b.o.ac.conf, host, b.server, b.frame_bulk, err, sizeof(err)) < 0) {
		fprintf(stderr, "rpci-bench: raw frames: %s\n", err);
		goto close;
	}
	printf("rpci-bench: %s -> %s over port %u, MTU %u, frames of up to %u bytes (CRC over "
	       "%s): frames of %u (8-byte read), %u (64-byte write), %u bytes (%u-byte payloads); "
	       "%.3g s a measurement\n",
	       host->name, b.server->name, host->port, b.o.ac.conf->link.mtu, b.frame_max,
	       b.crc_payload ? "payloads" : "headers", b.frame_small, b.frame_msg64,
	       b.frame_bulk, b.max_payload, b.o.duration);
	print_header();
	raw_phase(&b);
	/* the server may still be sending echoes of lost round trips: not into the session */
	raw_drain(&b.rp, 20);
	if ((b.o.tests & ~((1u << BENCH_RAW_RTT) | (1u << BENCH_RAW_RATE))) != 0) {
		if (b.o.auth != 0) {
			auth_rounds(&b);
		} else {
			if (b.o.paths & PATH_EMBEDDED) {
				b.path = "embedded";
				device_phase(&b);
			}
			if (b.o.paths & PATH_PROXY) {
				proxy_phase(&b);
			}
		}
		b.path = NULL;
		raw_drain(&b.rp, 20);
		raw_recheck(&b);
	}
	ret = b.failures == 0 ? 0 : 1;
close:
	app_client_disconnect(&b.o.ac);
	/* after the port is closed: nothing of our pool is left in its queues */
	raw_port_fini(&b.rp);
	app_client_close(&b.o.ac);
free_samples:
	free(b.samples);
close_json:
	if (b.json != NULL) {
		fclose(b.json);
	}
	return ret;
}

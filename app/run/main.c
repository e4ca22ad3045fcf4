/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-run: run a job on a remote virtual GPU, check it against the same
 * computation done locally, and print the timings.
 *
 *   rpci-run [--proxy SOCKET] --job JOB [sizes] [options]
 *   rpci-run [EAL args --] --config FILE --host NAME --job JOB [sizes] [options]
 *   rpci-run ... --job cl --source FILE --kernel NAME
 *            --global X[,Y[,Z]] [--local X[,Y[,Z]]] --arg SPEC... [--check NAME] [--dump FILE]
 *
 * An ordinary program of the host's rpci-proxy (librpci) by default; with
 * --config and --host it owns the host's port itself, embedding the
 * proxy's core (lib/proxy) as the daemon does (app_client.h).
 *
 * The first form runs a built-in job (lib/jobs: its data, CPU reference and
 * check); the second a user's kernel from a file, of the module kind the job
 * names (user_job.c). This file is the command line, the choice of devices
 * and the reports.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <rte_common.h>

#include "app_client.h"
#include "app_common.h"
#include "rpci_client.h"
#include "rpci_jobs.h"
#include "run.h"
#include "user_job.h"

#define RUN_DEVICES_MAX RPCI_JOB_DEVICES_MAX /* --devices */

struct run_opts {
	struct app_client ac;    /* --proxy, or --config and --host */
	const char *server;
	const char *device;
	const char *json;
	enum rpci_job_kind job;  /* a built-in job, unless user */
	bool user;               /* a user's kernel from a file (--job cl, ptx) */
	bool have_job;
	unsigned long long n, m, k;
	bool have_n, have_m, have_k;
	unsigned long long seed;
	bool int_data;
	enum rpci_h2d_mode h2d;
	bool info_only;
	bool reset;              /* --reset: a function-level reset first (with --info) */
	bool stats;
	struct user_job u;       /* user */
	struct run_files files;  /* --load-file ... (no job then) */
	const char *send_to;     /* --send HOST TEXT */
	const char *send_text;
	bool recv;               /* --recv */
	double recv_wait_s;      /* --wait S */
	/* the selector */
	unsigned int nb_devices;       /* --devices (0: not given) */
	struct rpci_requirements req;  /* what the devices must have */
	bool have_req;                 /* a requirement was given */
	/* the deployment has a selector: devices come from it, told the job */
	bool with_selector;
};

/* What a job did: its timings, its verdict, and (a built-in job) each device's share. */
struct run_result {
	struct run_times t;
	struct rpci_job_verdict v;
	struct rpci_job_stats st;
	unsigned int nb_devs;
};

static void
usage(const char *prog)
{
	printf("usage: %s [--proxy SOCKET] --job JOB [sizes] [options]\n"
	       "       %s [EAL args --] --config FILE --host NAME --job JOB [sizes] [options]\n"
	       APP_CLIENT_HELP
	       "  --job vector-add|saxpy|sgemm|reduce   a built-in kernel of the backend\n"
	       "  --n N               vector length (vector-add, saxpy, reduce),\n"
	       "                      or columns of C (sgemm)\n"
	       "  --m M --k K         sgemm: C is M x N, A is M x K, B is K x N\n"
	       "  --seed S            input data seed (default 1)\n"
	       "  --data int|float    integer-valued data checked exactly, or random floats\n"
	       "                      checked against an error bound (default float)\n"
	       "  --h2d push|pull     host-to-device copies: posted writes, or device DMA reads\n"
	       "  --server S --device D   another server or device than the config names\n"
	       "  --json FILE         append the result as one JSON object\n"
	       "  --info              print the device's description and exit\n"
	       "  --reset             reset the device first (function-level reset), then --info\n"
	       "  --stats             print the link's counters at the end\n"
	       "Files in and out of device memory (no --job):\n"
	       "  --load-file F       load file F of this host (streamed over the link)\n"
	       "  --load-server NAME  load file NAME of the server's file directory (read there)\n"
	       "  --save-file F       then save that device memory to file F of this host\n"
	       "  --save-server NAME  ... or to NAME in the server's directory (--replace: an\n"
	       "                      existing file may be replaced)\n"
	       "Texts between client hosts, through the selector (no --job):\n"
	       "  --send HOST TEXT    send TEXT to client host HOST\n"
	       "  --recv              wait for a text (--wait S seconds, default 10) and print it\n"
	       "Devices from the server selector (a deployment with a selector section):\n"
	       "  --devices N         N devices (1..16); a built-in job is split across them\n"
	       "                      (vectors by range, sgemm by rows) and gathered\n"
	       "  --min-memory SIZE   each with at least SIZE bytes of free memory\n"
	       "  --backend NAME      of that compute backend (cpu, opencl, cuda)\n"
	       "  --vendor ID --class CODE   of that personality\n"
	       "  --need-kernel NAME  that has this built-in kernel\n"
	       "  --need-module KIND  that loads modules of this kind (cl, ptx)\n"
	       "  --no-failover       if a device's server goes down, fail instead of moving\n"
	       "                      the work to another device\n"
	       "A user's kernel from a file (--seed, --h2d, --json, --stats apply too):\n"
	       "  --job cl            the file is OpenCL C source\n"
	       "  --job ptx           the file is NVIDIA PTX (a server with the cuda backend)\n"
	       "  --source FILE --kernel NAME   the file, and the kernel in it\n"
	       "  --global X[,Y[,Z]]  work items in all, per dimension\n"
	       "  --local X[,Y[,Z]]   work items per work group (each divides the global size;\n"
	       "                      default: the largest power of two dividing it, up to 256\n"
	       "                      in 1-D, 16 in 2-D, 8 in 3-D)\n"
	       "  --arg SPEC          the kernel's arguments in order, one --arg each:\n"
	       "      in:T:COUNT[:FILL]     a buffer of COUNT elements of type T, filled,\n"
	       "                            copied in\n"
	       "      inout:T:COUNT[:FILL]  the same, copied out at the end too\n"
	       "      out:T:COUNT           a buffer of zeros, copied out at the end\n"
	       "      T:VALUE               a scalar (i32:-5, u64:0x10, f32:2.5)\n"
	       "      local:BYTES           local memory\n"
	       "    T: u8 i8 u16 i16 u32 i32 u64 i64 f32 f64; COUNT: N or NxM or NxMxK;\n"
	       "    FILL: rand (default; floats in [-1, 1), integers over the type), small\n"
	       "    (integers -8..8, 0..16 unsigned), seq (element i is i), zero, or a value\n"
	       "  --check saxpy|sgemm|histogram|scan   verify the outputs against the CPU\n"
	       "                      reference of that kernel of test/kernels\n"
	       "  --dump FILE         write the out and inout buffers to FILE, raw, in order\n"
	       "Sizes take K, M, G suffixes. Exit: 0 verified (a user's kernel without --check:\n"
	       "ran, prints done), 1 mismatch or error, 2 bad usage.\n",
	       prog, prog);
}

/* ------------------------------------------------------------ the options */

/* --devices and the requirements of the selector's devices. 0 or -1. */
static int
parse_requirement(int opt, const char *arg, struct run_opts *o)
{
	struct rpci_requirements *r = &o->req;
	unsigned long long v;

	if (opt == 'F') {
		r->no_failover = true;
		o->have_req = true;
		return 0;
	}
	if (opt == 'B' || opt == 'E') {
		char *dst = opt == 'B' ? r->backend : r->kernel;

		if (strlen(arg) == 0 || strlen(arg) >= sizeof(r->backend)) {
			fprintf(stderr, "rpci-run: --%s takes a name of 1..%zu characters\n",
				opt == 'B' ? "backend" : "need-kernel", sizeof(r->backend) - 1);
			return -1;
		}
		snprintf(dst, sizeof(r->backend), "%s", arg);
		o->have_req = true;
		return 0;
	}
	if (opt == 'O') {
		const struct module_kind_desc *mk = user_module_kind_find(arg);

		if (mk == NULL) {
			fprintf(stderr, "rpci-run: --need-module takes %s\n",
				user_module_kind_names());
			return -1;
		}
		r->module_kinds |= 1u << mk->kind;
		o->have_req = true;
		return 0;
	}
	if (app_parse_u64(arg, &v) < 0) {
		fprintf(stderr, "rpci-run: '%s' is not a number\n", arg);
		return -1;
	}
	switch (opt) {
	case 'N':
		if (v < 1 || v > RUN_DEVICES_MAX) {
			fprintf(stderr, "rpci-run: --devices takes 1..%d\n", RUN_DEVICES_MAX);
			return -1;
		}
		o->nb_devices = (unsigned int)v;
		return 0;
	case 'M':
		r->min_memory = v;
		break;
	case 'V':
		if (v > 0xffff) {
			fprintf(stderr, "rpci-run: --vendor takes a 16-bit id\n");
			return -1;
		}
		r->vendor_id = (uint16_t)v;
		break;
	default: /* 'L' */
		if (v > 0xffffff) {
			fprintf(stderr, "rpci-run: --class takes a 24-bit class code\n");
			return -1;
		}
		r->class_code = (uint32_t)v;
		break;
	}
	o->have_req = true;
	return 0;
}

/* Options without a short letter. */
enum {
	OPT_LOAD_FILE = 0x100,
	OPT_LOAD_SERVER,
	OPT_SAVE_FILE,
	OPT_SAVE_SERVER,
	OPT_REPLACE,
	OPT_SEND,
	OPT_RECV,
	OPT_WAIT,
	OPT_RESET,
};

/* The options of files and messages: 0, 1 (not one of them), -1 (bad). */
static int
parse_extra(int opt, int argc, char **argv, struct run_opts *o)
{
	char *end;

	switch (opt) {
	case OPT_LOAD_FILE:
		o->files.load_file = optarg;
		return 0;
	case OPT_LOAD_SERVER:
		o->files.load_server = optarg;
		return 0;
	case OPT_SAVE_FILE:
		o->files.save_file = optarg;
		return 0;
	case OPT_SAVE_SERVER:
		o->files.save_server = optarg;
		return 0;
	case OPT_REPLACE:
		o->files.replace = true;
		return 0;
	case OPT_SEND:
		if (optind >= argc) {
			fprintf(stderr, "rpci-run: --send HOST TEXT: no text\n");
			return -1;
		}
		o->send_to = optarg;
		o->send_text = argv[optind++];
		return 0;
	case OPT_RECV:
		o->recv = true;
		return 0;
	case OPT_RESET:
		o->reset = true;
		o->info_only = true;
		return 0;
	case OPT_WAIT:
		o->recv_wait_s = strtod(optarg, &end);
		if (*end != '\0' || !(o->recv_wait_s > 0 && o->recv_wait_s <= 3600)) {
			fprintf(stderr, "rpci-run: --wait '%s' is not a number of seconds "
				"(0..3600)\n", optarg);
			return -1;
		}
		return 0;
	default:
		return 1;
	}
}

/* The modes that are not a job: files, messages. 0, or -1 (said why). */
static int
check_extra(const struct run_opts *o)
{
	const struct run_files *f = &o->files;
	bool files = run_files_given(f), msg = o->send_to != NULL || o->recv;

	if (!files && !msg) {
		return 0;
	}
	if (o->have_job || o->info_only || (files && msg) || (o->send_to != NULL && o->recv)) {
		fprintf(stderr, "rpci-run: a job, --info, the file options, --send and --recv "
			"go one at a time\n");
		return -1;
	}
	if (files && ((f->load_file != NULL) == (f->load_server != NULL))) {
		fprintf(stderr, "rpci-run: one of --load-file and --load-server is needed\n");
		return -1;
	}
	if (files && f->replace && f->save_server == NULL) {
		fprintf(stderr, "rpci-run: --replace is for --save-server\n");
		return -1;
	}
	return 0;
}


/* --job NAME: a built-in job or a module kind; 0 or -1 (said why). */
static int
parse_job(const char *name, struct run_opts *o)
{
	o->have_job = true;
	if (rpci_job_lookup(name, &o->job) == 0) {
		o->user = false;
		return 0;
	}
	o->u.mkind = user_module_kind_find(name);
	if (o->u.mkind == NULL) {
		fprintf(stderr, "rpci-run: unknown job '%s' (vector-add, saxpy, sgemm, reduce, "
			"%s)\n", name, user_module_kind_names());
		return -1;
	}
	o->user = true;
	return 0;
}

/* --n, --m, --k; 0 or -1 (said why). */
static int
parse_size(int opt, const char *arg, struct run_opts *o)
{
	unsigned long long v;

	if (app_parse_u64(arg, &v) < 0) {
		fprintf(stderr, "rpci-run: --%c '%s' is not a size\n", opt, arg);
		return -1;
	}
	if (v == 0) {
		fprintf(stderr, "rpci-run: --%c must be at least 1\n", opt);
		return -1;
	}
	if (opt == 'n') {
		o->n = v;
		o->have_n = true;
	} else if (opt == 'm') {
		o->m = v;
		o->have_m = true;
	} else {
		o->k = v;
		o->have_k = true;
	}
	return 0;
}

/* What a job needs once every option is read; 0 or -1 (said why). */
static int
check_job(struct run_opts *o)
{
	if (!o->have_job) {
		fprintf(stderr, "rpci-run: --job is required (vector-add, saxpy, sgemm, reduce, "
			"%s)\n", user_module_kind_names());
		return -1;
	}
	if (o->user) {
		if (o->nb_devices > 1) {
			fprintf(stderr, "rpci-run: --devices N splits the built-in jobs only\n");
			return -1;
		}
		if (o->have_n || o->have_m || o->have_k || o->int_data) {
			fprintf(stderr, "rpci-run: --n, --m, --k and --data are for the built-in "
				"jobs\n");
			return -1;
		}
		return user_job_validate(&o->u);
	}
	if (o->u.options_given) {
		fprintf(stderr, "rpci-run: --source, --kernel, --global, --local, --arg, --check "
			"and --dump are for --job %s\n", user_module_kind_names());
		return -1;
	}
	if (o->job == RPCI_JOB_SGEMM) {
		if (!o->have_m || !o->have_n || !o->have_k) {
			fprintf(stderr, "rpci-run: --job sgemm needs --m, --n and --k\n");
			return -1;
		}
		if (o->m > 65536 || o->n > 65536 || o->k > 65536) {
			fprintf(stderr, "rpci-run: sgemm sizes are at most 65536 each\n");
			return -1;
		}
		return 0;
	}
	if (!o->have_n) {
		fprintf(stderr, "rpci-run: --job %s needs --n\n", rpci_job_name(o->job));
		return -1;
	}
	if (o->have_m || o->have_k) {
		fprintf(stderr, "rpci-run: --m and --k are for sgemm only\n");
		return -1;
	}
	if (o->n > (1ull << 32)) {
		fprintf(stderr, "rpci-run: --n is at most 4G elements\n");
		return -1;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		APP_CLIENT_LONG_OPTIONS,
		USER_JOB_LONG_OPTIONS,
		{ "job", required_argument, NULL, 'j' },
		{ "n", required_argument, NULL, 'n' },
		{ "m", required_argument, NULL, 'm' },
		{ "k", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "data", required_argument, NULL, 'd' },
		{ "h2d", required_argument, NULL, 'p' },
		{ "server", required_argument, NULL, 'S' },
		{ "device", required_argument, NULL, 'D' },
		{ "json", required_argument, NULL, 'J' },
		{ "info", no_argument, NULL, 'I' },
		{ "stats", no_argument, NULL, 'T' },
		{ "devices", required_argument, NULL, 'N' },
		{ "min-memory", required_argument, NULL, 'M' },
		{ "backend", required_argument, NULL, 'B' },
		{ "vendor", required_argument, NULL, 'V' },
		{ "class", required_argument, NULL, 'L' },
		{ "need-kernel", required_argument, NULL, 'E' },
		{ "need-module", required_argument, NULL, 'O' },
		{ "no-failover", no_argument, NULL, 'F' },
		{ "load-file", required_argument, NULL, OPT_LOAD_FILE },
		{ "load-server", required_argument, NULL, OPT_LOAD_SERVER },
		{ "save-file", required_argument, NULL, OPT_SAVE_FILE },
		{ "save-server", required_argument, NULL, OPT_SAVE_SERVER },
		{ "replace", no_argument, NULL, OPT_REPLACE },
		{ "send", required_argument, NULL, OPT_SEND },
		{ "recv", no_argument, NULL, OPT_RECV },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "reset", no_argument, NULL, OPT_RESET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, ret;

	memset(o, 0, sizeof(*o));
	app_client_init(&o->ac, "rpci-run", false);
	o->seed = 1;
	o->recv_wait_s = 10.0;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			if (parse_job(optarg, o) < 0) {
				return -1;
			}
			break;
		case 'n':
		case 'm':
		case 'k':
			if (parse_size(opt, optarg, o) < 0) {
				return -1;
			}
			break;
		case 's':
			if (app_parse_u64(optarg, &o->seed) < 0) {
				fprintf(stderr, "rpci-run: --seed '%s' is not a number\n", optarg);
				return -1;
			}
			break;
		case 'd':
			if (strcmp(optarg, "int") == 0) {
				o->int_data = true;
			} else if (strcmp(optarg, "float") == 0) {
				o->int_data = false;
			} else {
				fprintf(stderr, "rpci-run: --data must be int or float\n");
				return -1;
			}
			break;
		case 'p':
			if (app_client_parse_h2d(&o->ac, optarg, &o->h2d) < 0) {
				return -1;
			}
			break;
		case 'S':
			o->server = optarg;
			break;
		case 'D':
			o->device = optarg;
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'I':
			o->info_only = true;
			break;
		case 'T':
			o->stats = true;
			break;
		case 'N':
		case 'M':
		case 'B':
		case 'V':
		case 'L':
		case 'E':
		case 'O':
		case 'F':
			if (parse_requirement(opt, optarg, o) < 0) {
				return -1;
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			ret = app_client_option(&o->ac, opt, optarg);
			if (ret > 0) {
				ret = user_job_option(&o->u, opt, optarg);
			}
			if (ret > 0) {
				ret = parse_extra(opt, argc, argv, o);
			}
			if (ret < 0) {
				return -1;
			}
			if (ret > 0) {
				fprintf(stderr, "rpci-run: unknown or incomplete option '%s' "
					"(see --help)\n", argv[optind - 1]);
				return -1;
			}
			break;
		}
	}
	if (app_client_check(&o->ac, argc, argv) < 0) {
		return -1;
	}
	if ((o->nb_devices != 0 || o->have_req) && (o->server != NULL || o->device != NULL)) {
		fprintf(stderr, "rpci-run: --server and --device name a device; --devices and "
			"the requirements ask the selector for one\n");
		return -1;
	}
	if (check_extra(o) < 0) {
		return -1;
	}
	if (o->info_only || run_files_given(&o->files) || o->send_to != NULL || o->recv) {
		return 0;
	}
	return check_job(o);
}

/* -------------------------------------------------------- the built-in jobs */

/*
 * A built-in job's data and reference result are made before any device is
 * opened (a long local computation must not leave a session silent past the
 * link's dead time or the selector's lease). NULL with the reason printed.
 */
static struct rpci_job *
builtin_prepare(const struct run_opts *o, double *local_s)
{
	struct rpci_job_params p = {
		.kind = o->job,
		.n = o->n,
		.m = o->job == RPCI_JOB_SGEMM ? o->m : 0,
		.k = o->job == RPCI_JOB_SGEMM ? o->k : 0,
		.seed = o->seed,
		.int_data = o->int_data,
	};
	struct rpci_job *job = rpci_job_create(&p, NULL);

	if (job == NULL) {
		fprintf(stderr, "rpci-run: %s\n", errno == ENOMEM ?
			"no memory for the job's data" : strerror(errno));
		return NULL;
	}
	if (rpci_job_reference(job, local_s) < 0) {
		fprintf(stderr, "rpci-run: no memory for the reference computation\n");
		rpci_job_free(job);
		return NULL;
	}
	return job;
}

/* Run the job on the devices (rpci_split_run(): a share each) and check it. */
static int
builtin_run(struct rpci_device **devs, unsigned int nb_devs, const struct run_opts *o,
	    struct rpci_job *job, struct run_result *r)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < nb_devs && ret == 0; i++) {
		ret = rpci_device_set_h2d_mode(devs[i], o->h2d);
	}
	if (ret < 0) {
		return ret;
	}
	ret = rpci_job_run(job, devs, nb_devs, &r->st);
	r->t.h2d = r->st.h2d_s;
	r->t.kernel = r->st.kernel_s;
	r->t.d2h = r->st.d2h_s;
	r->t.total = r->st.total_s;
	r->t.h2d_bytes = r->st.h2d_bytes;
	r->t.d2h_bytes = r->st.d2h_bytes;
	if (ret == 0) {
		rpci_job_verify(job, r->st.used, &r->v);
	}
	return ret;
}

/* ------------------------------------------------------------ reporting */

static double
gbps(uint64_t bytes, double s)
{
	return s > 0 ? bytes / s / 1e9 : 0.0;
}

/* The job's name: a built-in's, or the module kind's (cl). */
static const char *
job_name(const struct run_opts *o)
{
	return o->user ? o->u.mkind->job : rpci_job_name(o->job);
}

static void
print_sizes(const struct run_opts *o, char *buf, size_t len)
{
	if (o->user) {
		char g[64], l[64];

		user_job_dims(o->u.global, g, sizeof(g));
		user_job_dims(o->u.local, l, sizeof(l));
		snprintf(buf, len, "%s global=%s local=%s", o->u.kernel, g, l);
	} else if (o->job == RPCI_JOB_SGEMM) {
		snprintf(buf, len, "m=%llu n=%llu k=%llu", o->m, o->n, o->k);
	} else {
		snprintf(buf, len, "n=%llu", o->n);
	}
}

static int
write_json(const struct run_opts *o, const struct run_result *r, const char *status)
{
	cJSON *j = cJSON_CreateObject();
	char *text;
	FILE *f;
	int ret = -1;

	if (j == NULL) {
		return -1;
	}
	cJSON_AddStringToObject(j, "job", job_name(o));
	if (o->user) {
		char dims[64];

		cJSON_AddStringToObject(j, "source", o->u.source);
		cJSON_AddStringToObject(j, "kernel", o->u.kernel);
		user_job_dims(o->u.global, dims, sizeof(dims));
		cJSON_AddStringToObject(j, "global", dims);
		user_job_dims(o->u.local, dims, sizeof(dims));
		cJSON_AddStringToObject(j, "local", dims);
		cJSON_AddStringToObject(j, "check", o->u.check != NULL ? o->u.check->name : "none");
		cJSON_AddNumberToObject(j, "build_ms", r->t.build * 1e3);
	} else {
		if (o->job == RPCI_JOB_SGEMM) {
			cJSON_AddNumberToObject(j, "m", (double)o->m);
			cJSON_AddNumberToObject(j, "k", (double)o->k);
		}
		cJSON_AddNumberToObject(j, "n", (double)o->n);
	}
	cJSON_AddNumberToObject(j, "seed", (double)o->seed);
	cJSON_AddNumberToObject(j, "devices", r->nb_devs != 0 ? r->nb_devs : 1);
	if (!o->user) {
		cJSON_AddStringToObject(j, "data", o->int_data ? "int" : "float");
	}
	cJSON_AddStringToObject(j, "h2d_mode", o->h2d == RPCI_H2D_PULL ? "pull" : "push");
	cJSON_AddNumberToObject(j, "h2d_bytes", (double)r->t.h2d_bytes);
	cJSON_AddNumberToObject(j, "h2d_ms", r->t.h2d * 1e3);
	cJSON_AddNumberToObject(j, "kernel_ms", r->t.kernel * 1e3);
	cJSON_AddNumberToObject(j, "d2h_bytes", (double)r->t.d2h_bytes);
	cJSON_AddNumberToObject(j, "d2h_ms", r->t.d2h * 1e3);
	cJSON_AddNumberToObject(j, "total_ms", r->t.total * 1e3);
	cJSON_AddNumberToObject(j, "local_ms", r->t.local * 1e3);
	cJSON_AddNumberToObject(j, "max_error", r->v.max_err);
	cJSON_AddStringToObject(j, "result", status);
	text = cJSON_PrintUnformatted(j);
	f = fopen(o->json, "a");
	if (text != NULL && f != NULL && fprintf(f, "%s\n", text) > 0) {
		ret = 0;
	}
	if (f != NULL) {
		fclose(f);
	}
	cJSON_free(text);
	cJSON_Delete(j);
	return ret;
}

static void
print_info(struct rpci_device *dev)
{
	struct rpci_device_info info;

	if (rpci_device_info(dev, &info) < 0) {
		fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
		return;
	}
	printf("rpci-run: device on %s: %04x:%04x (subsystem %04x:%04x) class %06x rev %u, "
	       "%s backend on %s, %u compute units, %" PRIu64 " MiB (%" PRIu64 " MiB free), "
	       "function %04x, max payload %u\n",
	       info.server, info.vendor_id, info.device_id, info.subsystem_vendor_id,
	       info.subsystem_id, info.class_code, info.revision, info.backend, info.device_name,
	       info.compute_units, info.memory_bytes >> 20, info.memory_free >> 20,
	       info.completer_id, info.max_payload);
}

static void
print_link_stats(struct rpci_client *client)
{
	struct rpci_client_link_stats s;

	if (rpci_client_link_stats(client, &s) < 0) {
		fprintf(stderr, "rpci-run: link counters: %s\n", rpci_last_error());
		return;
	}
	printf("rpci-run: link: rx %" PRIu64 " frames (%" PRIu64 " data, %" PRIu64
	       " duplicate, %" PRIu64 " out of order, %" PRIu64 " bad CRC, %" PRIu64
	       " bad header, %" PRIu64 " not ours), tx %" PRIu64 " frames (%" PRIu64 " data, %"
	       PRIu64 " retransmitted), %" PRIu64 " time-outs, NAK %" PRIu64 " sent %" PRIu64
	       " received, %" PRIu64 " malformed messages, %" PRIu64 " dropped\n",
	       s.rx_frames, s.rx_data, s.rx_duplicate, s.rx_out_of_order, s.rx_bad_crc,
	       s.rx_bad_header, s.rx_not_ours, s.tx_frames, s.tx_data, s.retransmits,
	       s.timeouts, s.nak_sent, s.nak_rcvd, s.rx_malformed, s.rx_dropped);
}

/* The end of a checked job's report: the JSON line, then verified or MISMATCH. */
static int
report_verdict(const struct run_opts *o, const struct run_result *r)
{
	if (o->json != NULL && write_json(o, r, r->v.ok ? "verified" : "mismatch") < 0) {
		fprintf(stderr, "rpci-run: cannot write %s\n", o->json);
	}
	if (!r->v.ok) {
		printf("rpci-run: element %" PRIu64 " is %.9g, expected %.9g\n", r->v.bad_index,
		       r->v.got, r->v.want);
		printf("MISMATCH\n");
		return 1;
	}
	printf("verified\n");
	return 0;
}

/* A user's kernel: built on the device, run, checked if asked; its report. */
static int
run_user_job(struct rpci_device *dev, struct run_opts *o, struct run_result *r)
{
	struct user_job *u = &o->u;
	char sizes[192];
	const struct run_times *t = &r->t;

	print_sizes(o, sizes, sizeof(sizes));
	if (user_job_run(dev, u, o->seed, o->h2d, &r->t, &r->v) < 0) {
		if (o->json != NULL) {
			write_json(o, r, "error");
		}
		return 1;
	}
	printf("rpci-run: job %s %s: build %.3f ms, h2d %.3f MB in %.3f ms (%.2f GB/s, %s), "
	       "kernel %.3f ms, d2h %.3f MB in %.3f ms (%.2f GB/s), total %.3f ms",
	       job_name(o), sizes, t->build * 1e3, t->h2d_bytes / 1e6, t->h2d * 1e3,
	       gbps(t->h2d_bytes, t->h2d), o->h2d == RPCI_H2D_PULL ? "pull" : "push",
	       t->kernel * 1e3, t->d2h_bytes / 1e6, t->d2h * 1e3, gbps(t->d2h_bytes, t->d2h),
	       t->total * 1e3);
	if (u->check == NULL) {
		printf("\n");
		if (o->json != NULL && write_json(o, r, "done") < 0) {
			fprintf(stderr, "rpci-run: cannot write %s\n", o->json);
		}
		printf("done\n");
		return 0;
	}
	printf("; local CPU %.3f ms\n", t->local * 1e3);
	printf("rpci-run: --check %s: max error %g (bound there %g)\n", u->check->name,
	       r->v.max_err, r->v.bound_at_max);
	return report_verdict(o, r);
}

static int
run_job(struct rpci_device **devs, unsigned int nb_devs, struct run_opts *o,
	struct rpci_job *job, double local_s, struct run_result *r)
{
	const struct run_times *t = &r->t;
	char sizes[96];
	int ret;

	memset(r, 0, sizeof(*r));
	if (o->user) {
		double t0 = run_now_s();

		ret = run_user_job(devs[0], o, r);
		/* what the selector is told: the whole of it, the build included */
		r->t.total = run_now_s() - t0;
		return ret;
	}
	r->nb_devs = nb_devs;
	r->t.local = local_s;
	ret = builtin_run(devs, nb_devs, o, job, r);
	print_sizes(o, sizes, sizeof(sizes));
	if (ret < 0) {
		fprintf(stderr, "rpci-run: job %s %s failed: %s\n", job_name(o), sizes,
			rpci_last_error()[0] ? rpci_last_error() : strerror(-ret));
		if (o->json != NULL) {
			write_json(o, r, "error");
		}
		return 1;
	}
	printf("rpci-run: job %s %s data=%s: h2d %.3f MB in %.3f ms (%.2f GB/s, %s), "
	       "kernel %.3f ms, d2h %.3f MB in %.3f ms (%.2f GB/s), total %.3f ms; "
	       "local CPU %.3f ms\n",
	       job_name(o), sizes, o->int_data ? "int" : "float", t->h2d_bytes / 1e6,
	       t->h2d * 1e3, gbps(t->h2d_bytes, t->h2d),
	       o->h2d == RPCI_H2D_PULL ? "pull" : "push",
	       t->kernel * 1e3, t->d2h_bytes / 1e6, t->d2h * 1e3, gbps(t->d2h_bytes, t->d2h),
	       t->total * 1e3, t->local * 1e3);
	printf("rpci-run: max error %g (bound there %g, %s)\n", r->v.max_err, r->v.bound_at_max,
	       o->int_data ? "exact comparison" : "float error bound");
	return report_verdict(o, r);
}

/* ------------------------------------------------------------- the devices */

/* The job's size in its own measure, for the selector's learned policy. */
static uint64_t
job_size(const struct run_opts *o, uint64_t share)
{
	if (o->user) {
		return o->u.global[0] * RTE_MAX(o->u.global[1], 1ULL) *
			RTE_MAX(o->u.global[2], 1ULL);
	}
	if (o->job == RPCI_JOB_SGEMM) {
		return share * o->n * o->k; /* multiply-adds */
	}
	return share;
}

/* The devices: from the selector by requirements, or the one named. */
static int
devices_get(struct rpci_client *client, struct run_opts *o, struct rpci_device **devs,
	    unsigned int *nb_devs)
{
	struct rpci_requirements req = o->req;
	unsigned int i;
	int ret;

	if (o->nb_devices == 0 && !o->have_req && (!o->with_selector || o->server != NULL)) {
		*nb_devs = 1;
		devs[0] = rpci_device_open(client, o->server, o->device);
		if (devs[0] == NULL) {
			fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
			return -1;
		}
	} else {
		*nb_devs = RTE_MAX(o->nb_devices, 1u);
		if (o->have_job) {
			snprintf(req.job, sizeof(req.job), "%s", job_name(o));
			req.job_size = job_size(o, o->job == RPCI_JOB_SGEMM ? o->m : o->n);
		}
		ret = rpci_device_request(client, &req, *nb_devs, devs);
		if (ret < 0) {
			fprintf(stderr, "rpci-run: no device: %s\n",
				rpci_last_error()[0] ? rpci_last_error() : strerror(-ret));
			return -1;
		}
	}
	for (i = 0; i < *nb_devs; i++) {
		struct rpci_device_info info;

		if (rpci_device_lease(devs[i]) != 0 && rpci_device_info(devs[i], &info) == 0) {
			printf("rpci-run: device %u of %u: %s on %s, %" PRIu64 " MiB, lease %"
			       PRIu64 "\n", i + 1, *nb_devs, info.backend, info.server,
			       info.memory_bytes >> 20, rpci_device_lease(devs[i]));
		}
	}
	return 0;
}

/* After the job: tell the selector each device's time, and what moved. */
static void
devices_report(const struct run_opts *o, const struct run_result *r, struct rpci_device **devs,
	       unsigned int nb_devs)
{
	unsigned int i;

	for (i = 0; i < nb_devs; i++) {
		const struct rpci_split_part *p = &r->st.parts[i];
		struct rpci_device_stats st;
		double s = p->h2d_s + p->wait_s + p->d2h_s;

		if (o->user) {
			s = r->t.total;
		}
		if (nb_devs > 1) {
			printf("rpci-run: share %u: %s %" PRIu64 "..%" PRIu64 ": h2d %.3f ms, "
			       "kernel wait %.3f ms, d2h %.3f ms\n", i + 1,
			       o->job == RPCI_JOB_SGEMM ? "rows" : "elements", p->first,
			       p->first + p->count, p->h2d_s * 1e3, p->wait_s * 1e3,
			       p->d2h_s * 1e3);
		}
		if (rpci_device_lease(devs[i]) != 0 && s > 0.0) {
			rpci_device_report(devs[i], job_name(o),
					   job_size(o, o->user ? 0 : p->count),
					   (uint64_t)(s * 1e6));
		}
		rpci_device_stats(devs[i], &st);
		if (st.resets != 0) {
			printf("rpci-run: device %u was reset %" PRIu64 " time%s (function-level "
			       "reset) and brought up again\n", i + 1, st.resets,
			       st.resets == 1 ? "" : "s");
		}
		if (st.failovers != 0) {
			printf("rpci-run: device %u moved to another server %" PRIu64 " time%s "
			       "(%" PRIu64 " commands replayed there)\n", i + 1, st.failovers,
			       st.failovers == 1 ? "" : "s", st.replayed);
		}
	}
}


int
main(int argc, char **argv)
{
	struct app_args args;
	struct run_opts o;
	struct rpci_client *client;
	struct rpci_device *devs[RUN_DEVICES_MAX];
	struct rpci_job *job = NULL;
	struct run_result r;
	unsigned int nb_devs = 0, i;
	double local_s = 0.0;
	int ret = 1;

	memset(&r, 0, sizeof(r));
	app_split_args(argc, argv, &args);
	if (parse_args(args.app_argc, args.app_argv, &o) < 0) {
		return 2;
	}
	if (o.user && o.have_job && !o.info_only && user_job_read_source(&o.u) < 0) {
		return 2;
	}
	if (app_client_load(&o.ac, &args) < 0) {
		user_job_free(&o.u);
		return 2;
	}
	if (o.have_job && !o.user && !o.info_only) {
		job = builtin_prepare(&o, &local_s);
		if (job == NULL) {
			goto close;
		}
	}
	client = app_client_open(&o.ac, &args);
	if (client == NULL) {
		goto close;
	}
	o.with_selector = rpci_client_has_selector(client);
	if (o.send_to != NULL || o.recv) {
		/* Texts between clients: no device. */
		ret = o.recv ? run_recv(client, o.recv_wait_s) :
			       run_send(client, o.send_to, o.send_text);
		goto close;
	}
	if (devices_get(client, &o, devs, &nb_devs) < 0) {
		goto close;
	}
	if (run_files_given(&o.files)) {
		ret = run_files(devs[0], &o.files);
	} else if (o.info_only) {
		ret = 0;
		for (i = 0; i < nb_devs; i++) {
			if (o.reset && rpci_device_reset(devs[i]) < 0) {
				fprintf(stderr, "rpci-run: reset: %s\n", rpci_last_error());
				ret = 1;
				continue;
			}
			if (o.reset) {
				printf("rpci-run: device %u reset (function-level reset) and up "
				       "again\n", i + 1);
			}
			print_info(devs[i]);
		}
	} else {
		ret = run_job(devs, nb_devs, &o, job, local_s, &r);
		devices_report(&o, &r, devs, nb_devs);
	}
	for (i = 0; i < nb_devs; i++) {
		if (rpci_device_close(devs[i]) < 0 && ret == 0) {
			fprintf(stderr, "rpci-run: close: %s\n", rpci_last_error());
			ret = 1;
		}
	}
	if (o.stats) {
		print_link_stats(client);
	}
close:
	app_client_close(&o.ac);
	rpci_job_free(job);
	user_job_free(&o.u);
	return ret;
}

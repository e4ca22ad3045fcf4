/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The server selector's logic (rpci_selector.h, doc/selector.md).
 *
 * Layout, chosen so that one decision over 10,000 devices is one pass over
 * a compact array with no allocation:
 *   - dev[]: one row per device, everything the selector knows (cold);
 *   - hot[]: what a decision reads, 80 bytes a device (state, memory, load,
 *     personality, interned backend id, a bit mask of its kernel names, the
 *     job ids of its models);
 *   - order[]: device indices sorted by (server, device): the table's order,
 *     the order first-fit takes and the tie-break of every policy;
 *   - open-addressing hash indexes for (server, device), servers and names
 *     (backend, kernel and job names are interned once, into small ids);
 *   - leases[]: the live attachments, dense (renew and tick scan it);
 *   - a queue of actions decided outside rpci_selector_request() (status,
 *     register, tick), handed out by rpci_selector_tick().
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rpci_selector.h"

#define SEL_DEFAULT_MAX_DEVICES 16384
#define SEL_DEFAULT_HEARTBEAT_US 200000ULL /* as lib/conf's heartbeat_ms */
#define SEL_DEFAULT_MISSED 3
#define SEL_DEFAULT_LEASE_US 5000000ULL /* as lib/conf's lease_ms */
#define SEL_DEVICES_LIMIT (1u << 24)
#define SEL_COUNT_MAX 16        /* devices one request may ask */
#define SEL_NAMES_MAX 4096      /* distinct backend, kernel and job names */
#define SEL_MODELS 4            /* job models kept per device */
#define SEL_REPLAY_MAX 256      /* answered requests kept for retries */
#define SEL_ENDED_MAX 1024      /* ended leases kept for late job reports */
#define SEL_DECAY 0.95          /* learned policy: weight of the past per new sample */
#define SEL_OUTLIER 2.0         /* learned policy: a report this far off is a surprise */
#define SEL_WARMUP 2            /* learned policy: reports before a device is trusted for a job */
#define SEL_PEND_MIN 64
#define SEL_NONE UINT32_MAX
#define SEL_CLASS_ALL 0xffffffu
#define SEL_LOAD_ALPHA 0.3      /* weight of a new load sample in the smoothed load */
#define SEL_CLIENT_BUCKETS 2048 /* hash of client MACs (a power of two) */
/* A device a server serves as a plain PCI function: only asked for by name. */
#define SEL_PCI_BACKEND "pci"
#define SEL_DIM(a) (sizeof(a) / sizeof((a)[0]))

/* The requirements, in the order a rejection's reason considers them. */
enum sel_req {
	SEL_REQ_BACKEND = 0,
	SEL_REQ_MODULES,
	SEL_REQ_KERNEL,
	SEL_REQ_VENDOR,
	SEL_REQ_CLASS,
	SEL_REQ_MEMORY,
	SEL_REQ_EXCLUDE,
	SEL_REQ_NB,
};

/*
 * Learned policy, one per (device, job kind): weighted least squares of
 * y = elapsed / (1 + load) against x = size, y = a + b x, where each new
 * sample multiplies the weight of the older ones by SEL_DECAY (the sums
 * below are those weighted sums; this is recursive least squares with
 * forgetting, solved in closed form since there are two unknowns).
 */
struct sel_model {
	uint64_t stamp; /* sel->model_stamp at the last update (replacement) */
	uint32_t n;     /* samples */
	double w;       /* sum of weights */
	double sx;
	double sxx;
	double sy;
	double sxy;
};

/* A model's fit, kept for decisions: time = (a + b size) (1 + load). */
struct sel_coef {
	double a;
	double b;
	double typical; /* a + b (mean size seen): the prediction for size 0 (unknown) */
};

/* What a decision reads about a device: one cache line. */
struct sel_hot {
	uint64_t mem_eff;   /* memory_free of the last status (memory_bytes before one) */
	uint64_t mem_total; /* memory_bytes */
	uint64_t kmask;     /* its built-in kernels' name ids: sel_kbit() */
	double load;
	uint32_t class_code;
	uint32_t module_kinds;
	uint32_t server; /* index in srv[] */
	uint16_t vendor_id;
	uint16_t backend;               /* name id */
	uint16_t model_job[SEL_MODELS]; /* job name id of each model (0: empty) */
	uint8_t state;                  /* enum rpci_sel_state */
	uint8_t in_use;                 /* the server says it has a session on it */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct sel_hot) == 64, "a device's hot row is one cache line");

/* Everything else about a device. */
struct sel_dev {
	struct rpci_sel_device_info info;
	struct rpci_sel_device_status status;
	uint64_t last_heartbeat_us;
	struct rpci_sel_attachment att;     /* valid when attached */
	struct rpci_sel_requirements req;   /* the attachment's requirements (failover) */
	uint64_t attach_us;                 /* when the attachment began */
	uint64_t request_id;                /* the request it answered */
	struct sel_model model[SEL_MODELS]; /* matches hot.model_job */
	double load_avg;                    /* smoothed load (hot.load is its copy) */
	bool have_load;                     /* load_avg has a sample */
	bool have_total;                    /* a STATUS with usage totals came */
	uint64_t total_us;                  /* when (for the load from kernel time) */
	uint64_t session;                   /* the session last reported (0: none) */
	struct rpci_sel_usage session_usage; /* its usage then */
	uint16_t kernel_id[RPCI_SEL_KERNELS_MAX];
	uint32_t lease_pos;      /* in sel->lease[] when attached */
	uint32_t next_in_server; /* next device of the same server (SEL_NONE: last) */
	bool attached;
	bool down;
};

struct sel_server {
	char name[RPCI_SEL_NAME_MAX];
	uint64_t last_heard_us; /* last REGISTER or STATUS of any of its devices */
	uint32_t first_dev;
	uint32_t nb_devs;
	bool down;
	bool drain;
};

/* A live attachment. */
struct sel_lease {
	uint64_t lease_id;
	uint64_t expires_us;
	uint32_t dev;
	uint8_t client_mac[6];
};

/* An answered request, for retries. */
struct sel_replay {
	uint64_t request_id;
	uint8_t client_mac[6];
	bool valid;
	bool rejected;
	int32_t error;
	uint32_t nb;
	uint64_t lease_id[SEL_COUNT_MAX];
	char reason[RPCI_SEL_REASON_MAX];
};

/* An ended attachment, so that a job report after a release still counts. */
struct sel_ended {
	uint64_t lease_id;
	uint32_t dev;
	uint8_t client_mac[6];
};

/* A request compiled against the name tables. */
struct sel_query {
	const struct rpci_sel_requirements *req;
	uint64_t kbit;
	uint32_t class_mask;
	uint32_t class_want;
	uint32_t exclude; /* server index, SEL_NONE: none */
	uint16_t backend; /* 0: any */
	uint16_t kernel;  /* 0: none required */
	uint16_t job;     /* 0: unknown or never reported */
	bool impossible;  /* a required backend or kernel name nobody has */
};

/* A client's usage; chained in a hash of MACs. */
struct sel_client {
	struct rpci_sel_client c;
	uint32_t next; /* in its bucket's chain, SEL_NONE: last */
	bool used;
};

struct rpci_selector {
	struct rpci_sel_params p;
	uint16_t pci_backend; /* name id of SEL_PCI_BACKEND */
	struct sel_client *client; /* RPCI_SEL_CLIENTS_MAX */
	uint32_t *client_bucket;   /* SEL_CLIENT_BUCKETS chain heads */
	uint32_t nb_clients;
	uint64_t rng;
	uint64_t next_lease;
	uint64_t model_stamp;
	uint32_t nb_devs;
	uint32_t nb_servers;
	uint32_t nb_leases;
	struct sel_hot *hot;
	struct sel_coef *coef; /* SEL_MODELS per device, as hot.model_job */
	double *predicted_us;  /* per device: the learned policy's last prediction */
	struct sel_dev *dev;
	uint32_t *order;
	uint32_t *dev_slot;
	uint32_t dev_mask;
	struct sel_server *srv;
	uint32_t *srv_slot;
	uint32_t srv_mask;
	struct sel_lease *lease;
	uint32_t *lease_slot; /* hash of lease ids: device index, SEL_NONE empty */
	uint32_t lease_mask;
	char (*name)[RPCI_SEL_NAME_MAX]; /* id 1..nb_names */
	uint32_t nb_names;
	uint16_t *name_slot;
	uint32_t name_mask;
	struct sel_replay replay[SEL_REPLAY_MAX];
	uint32_t replay_next;
	struct sel_ended ended[SEL_ENDED_MAX];
	uint32_t ended_next;
	struct rpci_sel_action *pend; /* ring, pend_cap a power of two */
	uint32_t pend_cap;
	uint32_t pend_head;
	uint32_t pend_nb;
	uint64_t pend_dropped;
};

static const char *const g_policy_names[] = {
	[RPCI_SEL_FIRST_FIT] = "first-fit",
	[RPCI_SEL_BEST_FIT] = "best-fit",
	[RPCI_SEL_LEAST_LOADED] = "least-loaded",
	[RPCI_SEL_LEARNED] = "learned",
};

static const char *const g_state_names[] = {
	[RPCI_SEL_FREE] = "free",
	[RPCI_SEL_ATTACHED] = "attached",
	[RPCI_SEL_DRAINING] = "draining",
	[RPCI_SEL_DOWN] = "down",
};

static const char *const g_module_names[] = { "built-in", "OpenCL", "PTX" };

/* --- small helpers --- */

static bool
sel_str_ok(const char *s, bool nonempty)
{
	if (s == NULL || strnlen(s, RPCI_SEL_NAME_MAX) == RPCI_SEL_NAME_MAX) {
		return false;
	}
	return !nonempty || s[0] != '\0';
}

static uint64_t
sel_hash(const char *a, const char *b)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < RPCI_SEL_NAME_MAX && a[i] != '\0'; i++) {
		h = (h ^ (uint8_t)a[i]) * 1099511628211ULL;
	}
	if (b != NULL) {
		h = (h ^ 0xffu) * 1099511628211ULL;
		for (i = 0; i < RPCI_SEL_NAME_MAX && b[i] != '\0'; i++) {
			h = (h ^ (uint8_t)b[i]) * 1099511628211ULL;
		}
	}
	return h ^ (h >> 31);
}

static uint32_t
sel_pow2_at_least(uint32_t n)
{
	uint32_t v = 1;

	while (v < n) {
		v <<= 1;
	}
	return v;
}

/* xorshift64*: exploration only, deterministic for a seed. */
static uint64_t
sel_rand(struct rpci_selector *sel)
{
	uint64_t x = sel->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sel->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static double
sel_rand01(struct rpci_selector *sel)
{
	return (double)(sel_rand(sel) >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t
sel_rand_below(struct rpci_selector *sel, uint32_t n)
{
	return (uint32_t)(((sel_rand(sel) >> 32) * (uint64_t)n) >> 32);
}

static bool
sel_mac_eq(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 6) == 0;
}

/* Reasons are for people: one cut short at RPCI_SEL_REASON_MAX is fine. */
static void __attribute__((format(printf, 3, 4)))
sel_text(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* "64.0 GiB", "512.0 MiB", "100 B". */
static void
sel_fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double x = (double)v;
	int u = -1;

	while (x >= 1024.0 && u + 1 < (int)SEL_DIM(units)) {
		x /= 1024.0;
		u++;
	}
	if (u < 0) {
		snprintf(buf, len, "%" PRIu64 " B", v);
	} else {
		snprintf(buf, len, "%.1f %s", x, units[u]);
	}
}

/* "PTX", "OpenCL and PTX". */
static void
sel_fmt_modules(uint32_t kinds, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int bit;
	int n;

	buf[0] = '\0';
	for (bit = 0; bit < 32; bit++) {
		if (!(kinds & (1u << bit))) {
			continue;
		}
		if (bit < SEL_DIM(g_module_names)) {
			n = snprintf(buf + off, len - off, "%s%s", off ? " and " : "",
				     g_module_names[bit]);
		} else {
			n = snprintf(buf + off, len - off, "%skind-%u", off ? " and " : "", bit);
		}
		if (n < 0 || (size_t)n >= len - off) {
			return;
		}
		off += (size_t)n;
	}
}

/* --- names (backend, kernel, job): interned into ids 1..SEL_NAMES_MAX --- */

/*
 * A kernel name id's bit in a device's kmask: bit id for ids below 63
 * (exact), bit 63 for the others (then the device's list is looked at).
 */
static inline uint64_t
sel_kbit(uint16_t id)
{
	return 1ULL << (id < 63 ? id : 63);
}

static uint16_t
sel_name_find(const struct rpci_selector *sel, const char *s)
{
	uint32_t i = (uint32_t)sel_hash(s, NULL) & sel->name_mask;
	uint16_t id;

	for (;;) {
		id = sel->name_slot[i];
		if (id == 0 || strcmp(sel->name[id], s) == 0) {
			return id;
		}
		i = (i + 1) & sel->name_mask;
	}
}

static int
sel_name_intern(struct rpci_selector *sel, const char *s, uint16_t *id)
{
	uint32_t i = (uint32_t)sel_hash(s, NULL) & sel->name_mask;

	for (;;) {
		*id = sel->name_slot[i];
		if (*id == 0) {
			break;
		}
		if (strcmp(sel->name[*id], s) == 0) {
			return 0;
		}
		i = (i + 1) & sel->name_mask;
	}
	if (sel->nb_names >= SEL_NAMES_MAX) {
		return -ENOSPC;
	}
	*id = (uint16_t)++sel->nb_names;
	memcpy(sel->name[*id], s, strlen(s) + 1);
	sel->name_slot[i] = *id;
	return 0;
}

/* --- devices and servers --- */

static uint32_t
sel_dev_find(const struct rpci_selector *sel, const char *server, const char *device)
{
	uint32_t i = (uint32_t)sel_hash(server, device) & sel->dev_mask;
	const struct sel_dev *dv;
	uint32_t d;

	for (;;) {
		d = sel->dev_slot[i];
		if (d == SEL_NONE) {
			return SEL_NONE;
		}
		dv = &sel->dev[d];
		if (strcmp(dv->info.server, server) == 0 && strcmp(dv->info.device, device) == 0) {
			return d;
		}
		i = (i + 1) & sel->dev_mask;
	}
}

static uint32_t
sel_srv_find(const struct rpci_selector *sel, const char *server, uint32_t *slot)
{
	uint32_t i = (uint32_t)sel_hash(server, NULL) & sel->srv_mask;
	uint32_t s;

	for (;;) {
		s = sel->srv_slot[i];
		if (s == SEL_NONE || strcmp(sel->srv[s].name, server) == 0) {
			if (slot != NULL) {
				*slot = i;
			}
			return s;
		}
		i = (i + 1) & sel->srv_mask;
	}
}

static int
sel_devcmp(const struct rpci_selector *sel, uint32_t a, uint32_t b)
{
	int c = strcmp(sel->dev[a].info.server, sel->dev[b].info.server);

	return c != 0 ? c : strcmp(sel->dev[a].info.device, sel->dev[b].info.device);
}

/* The state follows from the flags: down, then draining, then attached. */
static void
sel_refresh(struct rpci_selector *sel, uint32_t d)
{
	const struct sel_dev *dv = &sel->dev[d];
	struct sel_hot *h = &sel->hot[d];

	if (dv->down) {
		h->state = RPCI_SEL_DOWN;
	} else if (sel->srv[h->server].drain) {
		h->state = RPCI_SEL_DRAINING;
	} else if (dv->attached) {
		h->state = RPCI_SEL_ATTACHED;
	} else {
		h->state = RPCI_SEL_FREE;
	}
}

static void
sel_server_heard(struct rpci_selector *sel, uint32_t s, uint64_t now_us)
{
	if (now_us > sel->srv[s].last_heard_us) {
		sel->srv[s].last_heard_us = now_us;
	}
	sel->srv[s].down = false;
}

/* --- the queue of actions handed out by tick --- */

static void
sel_push(struct rpci_selector *sel, const struct rpci_sel_action *a)
{
	struct rpci_sel_action *ring;
	uint32_t cap, i;

	if (sel->pend_nb == sel->pend_cap) {
		cap = sel->pend_cap ? sel->pend_cap * 2 : SEL_PEND_MIN;
		ring = malloc((size_t)cap * sizeof(*ring));
		if (ring == NULL) {
			/* the attachment has ended anyway; its peers learn it by status */
			sel->pend_dropped++;
			return;
		}
		for (i = 0; i < sel->pend_nb; i++) {
			ring[i] = sel->pend[(sel->pend_head + i) & (sel->pend_cap - 1)];
		}
		free(sel->pend);
		sel->pend = ring;
		sel->pend_cap = cap;
		sel->pend_head = 0;
	}
	sel->pend[(sel->pend_head + sel->pend_nb) & (sel->pend_cap - 1)] = *a;
	sel->pend_nb++;
}

/* --- leases: dense array lease[], hashed by id (linear probing) --- */

static uint32_t
sel_lease_home(const struct rpci_selector *sel, uint64_t lease_id)
{
	return (uint32_t)((lease_id * 0x9e3779b97f4a7c15ULL) >> 32) & sel->lease_mask;
}

/* Position of the lease in lease[], or SEL_NONE. */
static uint32_t
sel_lease_find(const struct rpci_selector *sel, uint64_t lease_id)
{
	uint32_t i = sel_lease_home(sel, lease_id), d;

	for (;;) {
		d = sel->lease_slot[i];
		if (d == SEL_NONE) {
			return SEL_NONE;
		}
		if (sel->dev[d].att.lease_id == lease_id) {
			return sel->dev[d].lease_pos;
		}
		i = (i + 1) & sel->lease_mask;
	}
}

static void
sel_lease_hash_add(struct rpci_selector *sel, uint64_t lease_id, uint32_t d)
{
	uint32_t i = sel_lease_home(sel, lease_id);

	while (sel->lease_slot[i] != SEL_NONE) {
		i = (i + 1) & sel->lease_mask;
	}
	sel->lease_slot[i] = d;
}

/* Remove (backward-shift deletion keeps every probe chain unbroken). */
static void
sel_lease_hash_del(struct rpci_selector *sel, uint64_t lease_id)
{
	uint32_t i = sel_lease_home(sel, lease_id), j, home, d;

	while (sel->dev[sel->lease_slot[i]].att.lease_id != lease_id) {
		i = (i + 1) & sel->lease_mask;
	}
	for (j = (i + 1) & sel->lease_mask;; j = (j + 1) & sel->lease_mask) {
		d = sel->lease_slot[j];
		if (d == SEL_NONE) {
			break;
		}
		home = sel_lease_home(sel, sel->dev[d].att.lease_id);
		/* move d back to i unless its home lies cyclically in (i, j] */
		if (((j - home) & sel->lease_mask) >= ((j - i) & sel->lease_mask)) {
			sel->lease_slot[i] = d;
			i = j;
		}
	}
	sel->lease_slot[i] = SEL_NONE;
}

/* Whether a lease id is live or among the ended ones. */
static bool
sel_lease_known(const struct rpci_selector *sel, uint64_t lease_id)
{
	uint32_t i;

	if (sel_lease_find(sel, lease_id) != SEL_NONE) {
		return true;
	}
	for (i = 0; i < SEL_ENDED_MAX; i++) {
		if (sel->ended[i].lease_id == lease_id) {
			return true;
		}
	}
	return false;
}

/*
 * A new lease id: 53 random bits (a JSON number stays exact), never 0 nor
 * one in use, so that a lease cannot be named by guessing the next one.
 */
static uint64_t
sel_new_lease_id(struct rpci_selector *sel)
{
	uint64_t id;

	do {
		if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
			/* no kernel randomness (never seen): the generator, mixed */
			id = sel_rand(sel) ^ (++sel->next_lease * 0x9e3779b97f4a7c15ULL);
		}
		id &= (1ULL << 53) - 1;
	} while (id == 0 || sel_lease_known(sel, id));
	return id;
}

/* Attach device d (free) to a client; fills an ATTACH action. */
static void
sel_attach(struct rpci_selector *sel, uint32_t d, const uint8_t client_mac[6],
	   const struct rpci_sel_requirements *req, uint64_t request_id, bool failover,
	   uint64_t now_us, struct rpci_sel_action *act)
{
	struct sel_dev *dv = &sel->dev[d];
	struct sel_lease *l = &sel->lease[sel->nb_leases];

	memset(&dv->att, 0, sizeof(dv->att));
	dv->att.lease_id = sel_new_lease_id(sel);
	memcpy(dv->att.client_mac, client_mac, 6);
	memcpy(dv->att.server, dv->info.server, RPCI_SEL_NAME_MAX);
	memcpy(dv->att.server_mac, dv->info.server_mac, 6);
	memcpy(dv->att.device, dv->info.device, RPCI_SEL_NAME_MAX);
	dv->att.function = dv->info.function;
	dv->att.expires_us = now_us + sel->p.lease_us;
	dv->req = *req;
	dv->attach_us = now_us;
	dv->request_id = request_id;
	dv->attached = true;

	l->lease_id = dv->att.lease_id;
	l->expires_us = dv->att.expires_us;
	l->dev = d;
	memcpy(l->client_mac, client_mac, 6);
	dv->lease_pos = sel->nb_leases++;
	sel_lease_hash_add(sel, dv->att.lease_id, d);
	sel_refresh(sel, d);

	memset(act, 0, sizeof(*act));
	act->kind = RPCI_SEL_ACT_ATTACH;
	act->request_id = request_id;
	act->att = dv->att;
	act->failover = failover;
}

/*
 * End the attachment of device d; fills a DETACH action. The server frees a
 * dedicated device's memory with its session, so the row shows it unused
 * with all its memory until the next status says otherwise.
 */
static void
sel_end(struct rpci_selector *sel, uint32_t d, int32_t error, const char *reason,
	struct rpci_sel_action *act)
{
	struct sel_dev *dv = &sel->dev[d];
	struct sel_ended *e = &sel->ended[sel->ended_next++ % SEL_ENDED_MAX];
	uint32_t pos = dv->lease_pos;

	memset(act, 0, sizeof(*act));
	act->kind = RPCI_SEL_ACT_DETACH;
	act->request_id = dv->request_id;
	act->att = dv->att;
	act->error = error;
	snprintf(act->reason, sizeof(act->reason), "%s", reason);

	e->lease_id = dv->att.lease_id;
	e->dev = d;
	memcpy(e->client_mac, dv->att.client_mac, 6);

	sel_lease_hash_del(sel, dv->att.lease_id);
	sel->nb_leases--;
	if (pos != sel->nb_leases) {
		sel->lease[pos] = sel->lease[sel->nb_leases];
		sel->dev[sel->lease[pos].dev].lease_pos = pos;
	}
	dv->attached = false;
	memset(&dv->att, 0, sizeof(dv->att));
	dv->status.in_use = false;
	memset(dv->status.client_mac, 0, 6);
	dv->status.memory_free = dv->info.memory_bytes;
	sel->hot[d].in_use = 0;
	sel->hot[d].mem_eff = dv->info.memory_bytes;
	sel_refresh(sel, d);
}

/* --- matching --- */

static void
sel_query_init(const struct rpci_selector *sel, const struct rpci_sel_requirements *req,
	       struct sel_query *q)
{
	memset(q, 0, sizeof(*q));
	q->req = req;
	if (req->backend[0] != '\0') {
		q->backend = sel_name_find(sel, req->backend);
		q->impossible |= q->backend == 0;
	}
	if (req->kernel[0] != '\0') {
		q->kernel = sel_name_find(sel, req->kernel);
		q->impossible |= q->kernel == 0;
		q->kbit = sel_kbit(q->kernel);
	}
	if (req->class_code != 0) {
		q->class_mask = req->class_mask != 0 ? req->class_mask & SEL_CLASS_ALL :
						       SEL_CLASS_ALL;
		q->class_want = req->class_code & q->class_mask;
	}
	q->exclude = SEL_NONE;
	if (req->exclude_server[0] != '\0') {
		q->exclude = sel_srv_find(sel, req->exclude_server, NULL);
	}
	if (req->job[0] != '\0') {
		q->job = sel_name_find(sel, req->job);
	}
}

static bool
sel_has_kernel(const struct rpci_selector *sel, uint32_t d, uint16_t kernel)
{
	const struct sel_dev *dv = &sel->dev[d];
	uint32_t i;

	for (i = 0; i < dv->info.nb_kernels; i++) {
		if (dv->kernel_id[i] == kernel) {
			return true;
		}
	}
	return false;
}

/* Bit per requirement device d does not meet, memory compared with mem. */
static uint32_t
sel_unmet(const struct rpci_selector *sel, const struct sel_query *q, uint32_t d, uint64_t mem)
{
	const struct rpci_sel_requirements *r = q->req;
	const struct sel_hot *h = &sel->hot[d];
	uint32_t m = 0;

	if ((r->backend[0] != '\0' && (q->backend == 0 || h->backend != q->backend)) ||
	    (h->backend == sel->pci_backend && q->backend != sel->pci_backend)) {
		m |= 1u << SEL_REQ_BACKEND;
	}
	if ((h->module_kinds & r->module_kinds) != r->module_kinds) {
		m |= 1u << SEL_REQ_MODULES;
	}
	if (r->kernel[0] != '\0' &&
	    (q->kernel == 0 || !(h->kmask & q->kbit) ||
	     (q->kernel >= 63 && !sel_has_kernel(sel, d, q->kernel)))) {
		m |= 1u << SEL_REQ_KERNEL;
	}
	if (r->vendor_id != 0 && h->vendor_id != r->vendor_id) {
		m |= 1u << SEL_REQ_VENDOR;
	}
	if ((h->class_code & q->class_mask) != q->class_want) {
		m |= 1u << SEL_REQ_CLASS;
	}
	if (mem < r->min_memory) {
		m |= 1u << SEL_REQ_MEMORY;
	}
	if (h->server == q->exclude) {
		m |= 1u << SEL_REQ_EXCLUDE;
	}
	return m;
}

/* A device a decision may take: free, not in use, meets every requirement. */
static inline bool
sel_candidate(const struct rpci_selector *sel, const struct sel_query *q, uint32_t d)
{
	const struct rpci_sel_requirements *r = q->req;
	const struct sel_hot *h = &sel->hot[d];

	if (h->state != RPCI_SEL_FREE || h->in_use || h->mem_eff < r->min_memory) {
		return false;
	}
	if (h->backend == sel->pci_backend && q->backend != sel->pci_backend) {
		return false; /* a plain PCI function: only for who asks for one */
	}
	if ((q->backend != 0 && h->backend != q->backend) ||
	    (h->module_kinds & r->module_kinds) != r->module_kinds ||
	    (r->vendor_id != 0 && h->vendor_id != r->vendor_id) ||
	    (h->class_code & q->class_mask) != q->class_want || h->server == q->exclude) {
		return false;
	}
	if (q->kernel != 0 && (!(h->kmask & q->kbit) ||
				(q->kernel >= 63 && !sel_has_kernel(sel, d, q->kernel)))) {
		return false;
	}
	return true;
}

/* What requirement i asks, for a reason: "runs backend 'cuda'", ... */
static void
sel_fmt_req(const struct sel_query *q, enum sel_req i, uint64_t largest, char *buf, size_t len)
{
	const struct rpci_sel_requirements *r = q->req;
	char a[48], b[48];

	switch (i) {
	case SEL_REQ_BACKEND:
		if (r->backend[0] == '\0') {
			snprintf(buf, len, "runs a compute backend (not a plain PCI function)");
		} else {
			snprintf(buf, len, "runs backend '%s'", r->backend);
		}
		break;
	case SEL_REQ_MODULES:
		sel_fmt_modules(r->module_kinds, a, sizeof(a));
		snprintf(buf, len, "loads %s modules", a);
		break;
	case SEL_REQ_KERNEL:
		snprintf(buf, len, "has built-in kernel '%s'", r->kernel);
		break;
	case SEL_REQ_VENDOR:
		snprintf(buf, len, "has vendor 0x%04x", r->vendor_id);
		break;
	case SEL_REQ_CLASS:
		if (q->class_mask == SEL_CLASS_ALL) {
			snprintf(buf, len, "has class 0x%06x", q->class_want);
		} else {
			snprintf(buf, len, "has class 0x%06x (mask 0x%06x)", q->class_want,
				 q->class_mask);
		}
		break;
	case SEL_REQ_MEMORY:
		sel_fmt_bytes(r->min_memory, a, sizeof(a));
		sel_fmt_bytes(largest, b, sizeof(b));
		snprintf(buf, len, "has %s of free memory (largest: %s)", a, b);
		break;
	case SEL_REQ_EXCLUDE:
	default:
		snprintf(buf, len, "is outside server '%s'", r->exclude_server);
		break;
	}
}

/*
 * Why a request for count devices cannot be met (fewer than count
 * candidates). Capabilities are judged over every device whatever its
 * state: memory against what a device could offer (its free memory if it
 * is free, its size if someone holds it, since that memory comes back).
 * A requirement no device meets is named first (in enum sel_req order);
 * else the first that empties the set of devices meeting those before it;
 * else the states of the devices that match say it (busy, down, draining).
 * Returns the negative errno of the REJECT.
 */
static int32_t
sel_diagnose(const struct rpci_selector *sel, const struct sel_query *q, uint32_t count,
	     char *reason, size_t len)
{
	uint32_t fails[SEL_REQ_NB] = { 0 }, first[SEL_REQ_NB + 1] = { 0 };
	uint32_t matching = 0, nfree = 0, busy = 0, i, d, m, left;
	uint64_t largest_all = 0, largest_prefix = 0, mem;
	const struct sel_hot *h;
	char what[RPCI_SEL_REASON_MAX];
	bool avail;

	if (sel->nb_devs == 0) {
		snprintf(reason, len, "no device is registered");
		return -ENODEV;
	}
	for (d = 0; d < sel->nb_devs; d++) {
		h = &sel->hot[d];
		avail = h->state == RPCI_SEL_FREE && !h->in_use;
		mem = avail ? h->mem_eff : h->mem_total;
		largest_all = mem > largest_all ? mem : largest_all;
		m = sel_unmet(sel, q, d, mem);
		if (m == 0) {
			first[SEL_REQ_NB]++;
			largest_prefix = mem > largest_prefix ? mem : largest_prefix;
			matching++;
			nfree += avail;
			busy += !avail &&
				(h->state == RPCI_SEL_ATTACHED || h->state == RPCI_SEL_FREE);
			continue;
		}
		first[__builtin_ctz(m)]++;
		if ((m & ((1u << SEL_REQ_MEMORY) - 1)) == 0 && mem > largest_prefix) {
			largest_prefix = mem;
		}
		do {
			fails[__builtin_ctz(m)]++;
			m &= m - 1;
		} while (m != 0);
	}
	if (matching == 0) {
		for (i = 0; i < SEL_REQ_NB; i++) {
			if (fails[i] == sel->nb_devs) {
				sel_fmt_req(q, i, largest_all, what, sizeof(what));
				sel_text(reason, len, "no device %s", what);
				return -ENODEV;
			}
		}
		/* devices meeting requirements 0..i-1: left; the first i that empties it */
		left = sel->nb_devs;
		for (i = 0; i < SEL_REQ_NB; i++) {
			left -= first[i];
			if (left == 0) {
				break;
			}
		}
		sel_fmt_req(q, i < SEL_REQ_NB ? i : SEL_REQ_EXCLUDE, largest_prefix, what,
			    sizeof(what));
		sel_text(reason, len, "no device that meets the other requirements %s", what);
		return -ENODEV;
	}
	if (nfree == 0) {
		if (busy == matching) {
			if (matching == 1) {
				snprintf(reason, len, "the only matching device is busy");
			} else {
				snprintf(reason, len, "all %u matching devices are busy", matching);
			}
			return -EBUSY;
		}
		if (busy == 0) {
			snprintf(reason, len, "all matching devices are down or draining");
			return -EAGAIN;
		}
		snprintf(reason, len, "all %u matching devices are busy, down or draining",
			 matching);
		return -EBUSY;
	}
	if (matching < count) {
		snprintf(reason, len, "only %u of %u requested devices are free (%u match)", nfree,
			 count, matching);
		return -ENODEV;
	}
	snprintf(reason, len, "only %u of %u requested devices are free", nfree, count);
	return -EBUSY;
}

/* --- learned policy --- */

/* The fit of device d's model for a job (NULL: no report for it), and its reports. */
static const struct sel_coef *
sel_coef_get(const struct rpci_selector *sel, uint32_t d, uint16_t job, uint32_t *reports)
{
	const struct sel_hot *h = &sel->hot[d];
	uint32_t i;

	*reports = 0;
	if (job == 0) {
		return NULL;
	}
	for (i = 0; i < SEL_MODELS; i++) {
		if (h->model_job[i] == job) {
			*reports = sel->dev[d].model[i].n;
			return &sel->coef[(size_t)d * SEL_MODELS + i];
		}
	}
	return NULL;
}

static double
sel_predict(const struct sel_coef *c, uint64_t size, double load)
{
	double y = (size != 0 ? c->a + c->b * (double)size : c->typical) * (1.0 + load);

	return y > 0.0 ? y : 0.0;
}

/*
 * Fit a model after a sample: y = a + b x. With sizes spread enough, the
 * weighted least-squares fit (kept >= 0); with one size seen, time is
 * taken as proportional to size (b = y/x).
 */
static void
sel_model_fit(const struct sel_model *m, struct sel_coef *c)
{
	double xm = m->sx / m->w, ym = m->sy / m->w, var, cov, a, b;

	var = m->sxx / m->w - xm * xm;
	if (m->n >= 2 && var > 1e-4 * xm * xm && var > 0.0) {
		cov = m->sxy / m->w - xm * ym;
		b = cov / var;
		a = ym - b * xm;
		if (b < 0.0) {
			b = 0.0;
			a = ym;
		} else if (a < 0.0) {
			a = 0.0;
			b = m->sxx > 0.0 ? m->sxy / m->sxx : 0.0;
		}
	} else if (xm > 0.0) {
		a = 0.0;
		b = ym / xm;
	} else {
		a = ym;
		b = 0.0;
	}
	c->a = a;
	c->b = b;
	c->typical = a + b * xm;
}

/* --- decisions --- */

/*
 * Choose k (1..SEL_COUNT_MAX) candidates by the policy into picks, in one
 * pass over the table in order; returns how many were found (< k: not
 * enough). The k best scores are kept sorted; a tie keeps table order.
 */
static uint32_t
sel_pick(struct rpci_selector *sel, const struct sel_query *q, uint32_t k, uint32_t *picks)
{
	enum rpci_sel_policy pol = sel->p.policy;
	double score[SEL_COUNT_MAX], s = 0.0;
	uint32_t n = 0, ncand = 0, i, j, d, r, reports;
	const struct sel_coef *c;
	bool unknown = false, taken;

	if (q->impossible) {
		return 0;
	}
	if (pol == RPCI_SEL_LEARNED && q->req->job[0] == '\0') {
		pol = RPCI_SEL_LEAST_LOADED; /* nothing to learn from */
	}
	for (i = 0; i < sel->nb_devs; i++) {
		d = sel->order[i];
		if (!sel_candidate(sel, q, d)) {
			continue;
		}
		ncand++;
		switch (pol) {
		case RPCI_SEL_FIRST_FIT:
			picks[n++] = d;
			if (n == k) {
				return n;
			}
			continue;
		case RPCI_SEL_BEST_FIT:
			s = (double)sel->hot[d].mem_total;
			break;
		case RPCI_SEL_LEAST_LOADED:
			/* equal loads (idle devices): the one that has run kernels least */
			s = sel->hot[d].load + (double)(sel->dev[d].status.total.kernel_ns >> 30) *
						       1e-12;
			break;
		case RPCI_SEL_LEARNED:
		default:
			c = sel_coef_get(sel, d, q->job, &reports);
			/*
			 * Fewer than SEL_WARMUP reports for the job: tried first, the
			 * fewest first (one slow first report, a hiccup of the host,
			 * must not decide for good)
			 */
			s = c != NULL && reports >= SEL_WARMUP ?
			    sel_predict(c, q->req->job_size, sel->hot[d].load) :
			    -(double)(SEL_WARMUP - (reports < SEL_WARMUP ? reports : SEL_WARMUP));
			sel->predicted_us[d] = s >= 0.0 ? s : 0.0;
			break;
		}
		if (n == k && !(s < score[n - 1])) {
			continue;
		}
		j = n < k ? n++ : n - 1;
		while (j > 0 && score[j - 1] > s) {
			score[j] = score[j - 1];
			picks[j] = picks[j - 1];
			j--;
		}
		score[j] = s;
		picks[j] = d;
	}
	if (pol != RPCI_SEL_LEARNED || n < k || ncand == n || sel->p.explore <= 0.0) {
		return n;
	}
	for (j = 0; j < n; j++) {
		unknown |= score[j] < 0.0;
	}
	if (unknown || sel_rand01(sel) >= sel->p.explore) {
		return n;
	}
	/* explore: the last pick becomes a uniformly chosen other candidate */
	r = sel_rand_below(sel, ncand - n);
	for (i = 0; i < sel->nb_devs; i++) {
		d = sel->order[i];
		if (!sel_candidate(sel, q, d)) {
			continue;
		}
		taken = false;
		for (j = 0; j < n; j++) {
			taken |= picks[j] == d;
		}
		if (taken) {
			continue;
		}
		if (r-- == 0) {
			picks[n - 1] = d;
			break;
		}
	}
	return n;
}

/*
 * Failover of an attachment that ends because its device is gone (server
 * down, device re-registered): a DETACH, then, if the client asked for it
 * and a device matches, an ATTACH to it with the same requirements.
 */
static void
sel_failover(struct rpci_selector *sel, uint32_t d, int32_t error, const char *why,
	     uint64_t now_us)
{
	struct rpci_sel_requirements req = sel->dev[d].req;
	uint64_t request_id = sel->dev[d].request_id;
	struct rpci_sel_action det, att;
	char diag[RPCI_SEL_REASON_MAX];
	uint8_t mac[6];
	struct sel_query q;
	uint32_t pick;

	memcpy(mac, sel->dev[d].att.client_mac, 6);
	sel_end(sel, d, error, why, &det);
	if (!req.failover) {
		sel_push(sel, &det);
		return;
	}
	sel_query_init(sel, &req, &q);
	if (sel_pick(sel, &q, 1, &pick) == 1) {
		det.failover = true;
		sel_push(sel, &det);
		sel_attach(sel, pick, mac, &req, request_id, true, now_us, &att);
		sel_push(sel, &att);
		return;
	}
	sel_diagnose(sel, &q, 1, diag, sizeof(diag));
	sel_text(det.reason, sizeof(det.reason), "%s; no other device: %s", why, diag);
	sel_push(sel, &det);
}

static void
sel_server_down(struct rpci_selector *sel, uint32_t s, uint64_t now_us)
{
	struct sel_server *sv = &sel->srv[s];
	char why[RPCI_SEL_REASON_MAX];
	uint32_t d;

	sv->down = true;
	/* all its devices first, so that failover takes none of them */
	for (d = sv->first_dev; d != SEL_NONE; d = sel->dev[d].next_in_server) {
		sel->dev[d].down = true;
		sel_refresh(sel, d);
	}
	snprintf(why, sizeof(why), "server '%s' missed its heartbeats", sv->name);
	for (d = sv->first_dev; d != SEL_NONE; d = sel->dev[d].next_in_server) {
		if (sel->dev[d].attached) {
			sel_failover(sel, d, -EHOSTDOWN, why, now_us);
		}
	}
}

static void
sel_replay_store(struct rpci_selector *sel, uint64_t request_id, const uint8_t client_mac[6],
		 const struct rpci_sel_action *actions, uint32_t nb)
{
	struct sel_replay *r;
	uint32_t i;

	if (request_id == 0) {
		return;
	}
	r = &sel->replay[sel->replay_next++ % SEL_REPLAY_MAX];
	memset(r, 0, sizeof(*r));
	r->valid = true;
	r->request_id = request_id;
	memcpy(r->client_mac, client_mac, 6);
	r->rejected = actions[0].kind == RPCI_SEL_ACT_REJECT;
	r->error = actions[0].error;
	memcpy(r->reason, actions[0].reason, sizeof(r->reason));
	r->nb = nb;
	for (i = 0; i < nb && !r->rejected; i++) {
		r->lease_id[i] = actions[i].att.lease_id;
	}
}

static void
sel_reject(struct rpci_sel_action *act, uint64_t request_id, const uint8_t client_mac[6],
	   int32_t error, const char *reason)
{
	memset(act, 0, sizeof(*act));
	act->kind = RPCI_SEL_ACT_REJECT;
	act->request_id = request_id;
	memcpy(act->att.client_mac, client_mac, 6);
	act->error = error;
	snprintf(act->reason, sizeof(act->reason), "%s", reason);
}

/*
 * The answer to a retried request: the same rejection, or the same
 * attachments as they are now; if one of them has ended since, a
 * rejection saying so (the client must ask again, with a new id).
 */
static int
sel_replay(struct rpci_selector *sel, const struct sel_replay *r, struct rpci_sel_action *actions,
	   uint32_t max_actions)
{
	uint32_t i, pos;

	if (r->rejected) {
		sel_reject(&actions[0], r->request_id, r->client_mac, r->error, r->reason);
		return 1;
	}
	if (r->nb > max_actions) {
		return -EINVAL;
	}
	for (i = 0; i < r->nb; i++) {
		pos = sel_lease_find(sel, r->lease_id[i]);
		if (pos == SEL_NONE) {
			sel_reject(&actions[0], r->request_id, r->client_mac, -ESTALE,
				   "the attachment made for this request has ended");
			return 1;
		}
		memset(&actions[i], 0, sizeof(actions[i]));
		actions[i].kind = RPCI_SEL_ACT_ATTACH;
		actions[i].request_id = r->request_id;
		actions[i].att = sel->dev[sel->lease[pos].dev].att;
	}
	return (int)r->nb;
}

/*
 * Whether a client asking for count more devices goes over its limits
 * (devices held, requests with live leases); reason says which.
 */
static bool
sel_over_limit(const struct rpci_selector *sel, const uint8_t client_mac[6], uint32_t count,
	       char *reason, size_t len)
{
	uint64_t req_ids[SEL_COUNT_MAX * 4];
	uint32_t i, j, held = 0, nb_req = 0;
	uint64_t rid;

	if (sel->p.client_max_devices == 0 && sel->p.client_max_requests == 0) {
		return false;
	}
	for (i = 0; i < sel->nb_leases; i++) {
		if (!sel_mac_eq(sel->lease[i].client_mac, client_mac)) {
			continue;
		}
		held++;
		rid = sel->dev[sel->lease[i].dev].request_id;
		for (j = 0; j < nb_req && req_ids[j] != rid; j++) {
		}
		if (j == nb_req && nb_req < sizeof(req_ids) / sizeof(req_ids[0])) {
			req_ids[nb_req++] = rid;
		}
	}
	if (sel->p.client_max_devices != 0 && held + count > sel->p.client_max_devices) {
		sel_text(reason, len, "the client holds %u device%s and may hold at most %u "
			 "(selector.client_max_devices)", held, held == 1 ? "" : "s",
			 sel->p.client_max_devices);
		return true;
	}
	if (sel->p.client_max_requests != 0 && nb_req >= sel->p.client_max_requests) {
		sel_text(reason, len, "the client has %u request%s in progress, the most it may "
			 "(selector.client_max_requests)", nb_req, nb_req == 1 ? "" : "s");
		return true;
	}
	return false;
}

/* --- public API --- */

struct rpci_selector *
rpci_selector_create(const struct rpci_sel_params *params)
{
	struct rpci_selector *sel;
	uint32_t max, slots;

	if (params == NULL || (unsigned int)params->policy > RPCI_SEL_LEARNED ||
	    !(params->explore >= 0.0 && params->explore <= 1.0) ||
	    params->max_devices > SEL_DEVICES_LIMIT) {
		errno = EINVAL;
		return NULL;
	}
	sel = calloc(1, sizeof(*sel));
	if (sel == NULL) {
		goto fail;
	}
	sel->p = *params;
	if (sel->p.heartbeat_us == 0) {
		sel->p.heartbeat_us = SEL_DEFAULT_HEARTBEAT_US;
	}
	if (sel->p.missed_heartbeats == 0) {
		sel->p.missed_heartbeats = SEL_DEFAULT_MISSED;
	}
	if (sel->p.lease_us == 0) {
		sel->p.lease_us = SEL_DEFAULT_LEASE_US;
	}
	if (sel->p.max_devices == 0) {
		sel->p.max_devices = SEL_DEFAULT_MAX_DEVICES;
	}
	max = sel->p.max_devices;
	sel->rng = params->seed != 0 ? params->seed : 0x9e3779b97f4a7c15ULL;
	sel->next_lease = 1;
	slots = sel_pow2_at_least(max * 2);

	sel->hot = aligned_alloc(64, (size_t)max * sizeof(*sel->hot));
	sel->coef = calloc((size_t)max * SEL_MODELS, sizeof(*sel->coef));
	sel->predicted_us = calloc(max, sizeof(*sel->predicted_us));
	sel->dev = calloc(max, sizeof(*sel->dev));
	sel->order = calloc(max, sizeof(*sel->order));
	sel->dev_slot = malloc((size_t)slots * sizeof(*sel->dev_slot));
	sel->srv = calloc(max, sizeof(*sel->srv));
	sel->srv_slot = malloc((size_t)slots * sizeof(*sel->srv_slot));
	sel->lease = calloc(max, sizeof(*sel->lease));
	sel->lease_slot = malloc((size_t)slots * sizeof(*sel->lease_slot));
	sel->name = calloc(SEL_NAMES_MAX + 1, sizeof(*sel->name));
	sel->name_slot = calloc(SEL_NAMES_MAX * 2, sizeof(*sel->name_slot));
	sel->client = calloc(RPCI_SEL_CLIENTS_MAX, sizeof(*sel->client));
	sel->client_bucket = malloc(SEL_CLIENT_BUCKETS * sizeof(*sel->client_bucket));
	if (sel->hot == NULL || sel->coef == NULL || sel->predicted_us == NULL ||
	    sel->dev == NULL || sel->order == NULL || sel->dev_slot == NULL || sel->srv == NULL ||
	    sel->srv_slot == NULL || sel->lease == NULL || sel->lease_slot == NULL ||
	    sel->name == NULL || sel->name_slot == NULL || sel->client == NULL ||
	    sel->client_bucket == NULL) {
		goto free_sel;
	}
	memset(sel->client_bucket, 0xff, SEL_CLIENT_BUCKETS * sizeof(*sel->client_bucket));
	memset(sel->hot, 0, (size_t)max * sizeof(*sel->hot));
	memset(sel->dev_slot, 0xff, (size_t)slots * sizeof(*sel->dev_slot));
	memset(sel->srv_slot, 0xff, (size_t)slots * sizeof(*sel->srv_slot));
	memset(sel->lease_slot, 0xff, (size_t)slots * sizeof(*sel->lease_slot));
	sel->dev_mask = slots - 1;
	sel->srv_mask = slots - 1;
	sel->lease_mask = slots - 1;
	sel->name_mask = SEL_NAMES_MAX * 2 - 1;
	if (sel_name_intern(sel, SEL_PCI_BACKEND, &sel->pci_backend) < 0) {
		goto free_sel;
	}
	return sel;

free_sel:
	rpci_selector_free(sel);
fail:
	errno = ENOMEM;
	return NULL;
}

void
rpci_selector_free(struct rpci_selector *sel)
{
	if (sel == NULL) {
		return;
	}
	free(sel->pend);
	free(sel->client_bucket);
	free(sel->client);
	free(sel->name_slot);
	free(sel->name);
	free(sel->lease_slot);
	free(sel->lease);
	free(sel->srv_slot);
	free(sel->srv);
	free(sel->dev_slot);
	free(sel->order);
	free(sel->dev);
	free(sel->predicted_us);
	free(sel->coef);
	free(sel->hot);
	free(sel);
}

static bool
sel_info_ok(const struct rpci_sel_device_info *info)
{
	uint32_t i;

	if (!sel_str_ok(info->server, true) || !sel_str_ok(info->device, true) ||
	    !sel_str_ok(info->backend, false) || info->nb_kernels > RPCI_SEL_KERNELS_MAX) {
		return false;
	}
	for (i = 0; i < info->nb_kernels; i++) {
		if (!sel_str_ok(info->kernels[i], true)) {
			return false;
		}
	}
	return true;
}

/* A new row for info (room checked), in the hash, the order and its server. */
static uint32_t
sel_dev_add(struct rpci_selector *sel, const struct rpci_sel_device_info *info, uint32_t s)
{
	uint32_t d = sel->nb_devs++, i, lo = 0, hi;

	memcpy(sel->dev[d].info.server, info->server, RPCI_SEL_NAME_MAX);
	memcpy(sel->dev[d].info.device, info->device, RPCI_SEL_NAME_MAX);
	i = (uint32_t)sel_hash(info->server, info->device) & sel->dev_mask;
	while (sel->dev_slot[i] != SEL_NONE) {
		i = (i + 1) & sel->dev_mask;
	}
	sel->dev_slot[i] = d;

	hi = d;
	while (lo < hi) {
		i = lo + (hi - lo) / 2;
		if (sel_devcmp(sel, sel->order[i], d) < 0) {
			lo = i + 1;
		} else {
			hi = i;
		}
	}
	memmove(&sel->order[lo + 1], &sel->order[lo], (size_t)(d - lo) * sizeof(*sel->order));
	sel->order[lo] = d;

	sel->hot[d].server = s;
	sel->dev[d].next_in_server = sel->srv[s].first_dev;
	sel->srv[s].first_dev = d;
	sel->srv[s].nb_devs++;
	return d;
}

int
rpci_selector_register(struct rpci_selector *sel, const struct rpci_sel_device_info *info,
		       uint64_t now_us)
{
	uint16_t backend = 0, kernel[RPCI_SEL_KERNELS_MAX];
	struct sel_dev *dv;
	struct sel_hot *h;
	uint32_t d, s, slot, i;
	bool was_attached;
	int rc;

	if (sel == NULL || info == NULL || !sel_info_ok(info)) {
		return -EINVAL;
	}
	d = sel_dev_find(sel, info->server, info->device);
	if (d == SEL_NONE && sel->nb_devs >= sel->p.max_devices) {
		return -ENOSPC;
	}
	if (info->backend[0] != '\0') {
		rc = sel_name_intern(sel, info->backend, &backend);
		if (rc < 0) {
			return rc;
		}
	}
	for (i = 0; i < info->nb_kernels; i++) {
		rc = sel_name_intern(sel, info->kernels[i], &kernel[i]);
		if (rc < 0) {
			return rc;
		}
	}
	if (d == SEL_NONE) {
		s = sel_srv_find(sel, info->server, &slot);
		if (s == SEL_NONE) {
			s = sel->nb_servers++;
			memset(&sel->srv[s], 0, sizeof(sel->srv[s]));
			memcpy(sel->srv[s].name, info->server, RPCI_SEL_NAME_MAX);
			sel->srv[s].first_dev = SEL_NONE;
			sel->srv_slot[slot] = s;
		}
		d = sel_dev_add(sel, info, s);
	}
	dv = &sel->dev[d];
	h = &sel->hot[d];
	was_attached = dv->attached;

	dv->info = *info;
	for (i = info->nb_kernels; i < RPCI_SEL_KERNELS_MAX; i++) {
		memset(dv->info.kernels[i], 0, RPCI_SEL_NAME_MAX);
	}
	memset(&dv->status, 0, sizeof(dv->status));
	dv->status.memory_free = info->memory_bytes;
	dv->last_heartbeat_us = now_us;
	dv->down = false;
	memcpy(dv->kernel_id, kernel, info->nb_kernels * sizeof(kernel[0]));
	h->mem_eff = info->memory_bytes;
	h->mem_total = info->memory_bytes;
	h->kmask = 0;
	for (i = 0; i < info->nb_kernels; i++) {
		h->kmask |= sel_kbit(kernel[i]);
	}
	h->load = 0.0;
	dv->load_avg = 0.0;
	dv->have_load = false;
	dv->have_total = false;
	dv->session = 0;
	h->class_code = info->class_code & SEL_CLASS_ALL;
	h->module_kinds = info->module_kinds;
	h->vendor_id = info->vendor_id;
	h->backend = backend;
	h->in_use = 0;
	sel_server_heard(sel, h->server, now_us);
	sel_refresh(sel, d);
	if (was_attached) {
		/* the server restarted: what the client had on the device is gone */
		sel_failover(sel, d, -ECONNRESET, "the device registered again (server restart)",
			     now_us);
	}
	return 0;
}

/* --- usage --- */

static uint32_t
sel_client_bucket(const uint8_t mac[6])
{
	uint32_t h = 2166136261u, i;

	for (i = 0; i < 6; i++) {
		h = (h ^ mac[i]) * 16777619u;
	}
	return h & (SEL_CLIENT_BUCKETS - 1);
}

/* The usage record of a client MAC, made if new (the least recently seen one goes when full). */
static struct rpci_sel_client *
sel_client_get(struct rpci_selector *sel, const uint8_t mac[6], uint64_t now_us)
{
	uint32_t b = sel_client_bucket(mac), i, *pp, victim = 0;
	struct sel_client *e;

	for (i = sel->client_bucket[b]; i != SEL_NONE; i = sel->client[i].next) {
		if (sel_mac_eq(sel->client[i].c.mac, mac)) {
			return &sel->client[i].c;
		}
	}
	if (sel->nb_clients < RPCI_SEL_CLIENTS_MAX) {
		victim = sel->nb_clients++;
	} else {
		for (i = 1; i < RPCI_SEL_CLIENTS_MAX; i++) {
			if (sel->client[i].c.last_us < sel->client[victim].c.last_us) {
				victim = i;
			}
		}
		pp = &sel->client_bucket[sel_client_bucket(sel->client[victim].c.mac)];
		while (*pp != victim) {
			pp = &sel->client[*pp].next;
		}
		*pp = sel->client[victim].next;
	}
	e = &sel->client[victim];
	memset(e, 0, sizeof(*e));
	memcpy(e->c.mac, mac, 6);
	e->c.last_us = now_us;
	e->used = true;
	e->next = sel->client_bucket[b];
	sel->client_bucket[b] = victim;
	return &e->c;
}

static uint64_t
sel_delta(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

/*
 * A session's usage reported again: what is new since the last report of
 * the same session goes to its client (a new session counts whole).
 */
static void
sel_usage_account(struct rpci_selector *sel, struct sel_dev *dv,
		  const struct rpci_sel_device_status *st, uint64_t now_us)
{
	static const struct rpci_sel_usage zero;
	const struct rpci_sel_usage *was = &zero;
	struct rpci_sel_client *c;
	static const uint8_t nomac[6];

	if (st->session == 0 || sel_mac_eq(st->client_mac, nomac)) {
		dv->session = 0;
		return;
	}
	c = sel_client_get(sel, st->client_mac, now_us);
	if (dv->session == st->session) {
		was = &dv->session_usage;
	} else {
		c->sessions++;
	}
	c->usage.bytes_in += sel_delta(st->usage.bytes_in, was->bytes_in);
	c->usage.bytes_out += sel_delta(st->usage.bytes_out, was->bytes_out);
	c->usage.kernels += sel_delta(st->usage.kernels, was->kernels);
	c->usage.kernel_ns += sel_delta(st->usage.kernel_ns, was->kernel_ns);
	c->usage.errors += sel_delta(st->usage.errors, was->errors);
	if (st->usage.mem_high > c->usage.mem_high) {
		c->usage.mem_high = st->usage.mem_high;
	}
	c->last_us = now_us;
	/* (after a session's last report, the next report names another session or none) */
	dv->session = st->session;
	dv->session_usage = st->usage;
}

/*
 * The load the policies use: the share of time the device spent in
 * kernels, from the kernel time totals of two reports (a lost report costs
 * nothing), or the server's own figure without totals; smoothed.
 */
static void
sel_load_update(struct sel_dev *dv, struct sel_hot *h, const struct rpci_sel_device_status *st,
		uint64_t now_us)
{
	bool totals = st->total.kernel_ns != 0 || st->total.kernels != 0 ||
		      st->total.bytes_in != 0 || st->total.bytes_out != 0;
	double sample = st->load;

	if (totals && dv->have_total && now_us > dv->total_us &&
	    st->total.kernel_ns >= dv->status.total.kernel_ns) {
		sample = (double)(st->total.kernel_ns - dv->status.total.kernel_ns) /
			 ((double)(now_us - dv->total_us) * 1e3);
	}
	if (!(sample >= 0.0) || !isfinite(sample)) {
		sample = 0.0;
	}
	if (totals && sample > 1.0) {
		sample = 1.0; /* a device runs one kernel at a time: busy all the time at most */
	}
	/* the first sample is taken as it is */
	dv->load_avg = dv->have_load ? dv->load_avg * (1.0 - SEL_LOAD_ALPHA) +
				       sample * SEL_LOAD_ALPHA : sample;
	dv->have_load = true;
	dv->have_total = totals;
	dv->total_us = now_us;
	h->load = dv->load_avg;
}

uint32_t
rpci_selector_clients(const struct rpci_selector *sel, struct rpci_sel_client *clients,
		      uint32_t max)
{
	uint32_t i, j, n = 0;

	if (sel == NULL) {
		return 0;
	}
	/* Insertion by last report, newest first (at most RPCI_SEL_CLIENTS_MAX). */
	for (i = 0; clients != NULL && i < sel->nb_clients; i++) {
		const struct rpci_sel_client *c = &sel->client[i].c;

		if (n == max && (max == 0 || c->last_us <= clients[n - 1].last_us)) {
			continue;
		}
		j = n < max ? n++ : n - 1;
		while (j > 0 && clients[j - 1].last_us < c->last_us) {
			clients[j] = clients[j - 1];
			j--;
		}
		clients[j] = *c;
	}
	return sel->nb_clients;
}

int
rpci_selector_status(struct rpci_selector *sel, const char *server, const char *device,
		     const struct rpci_sel_device_status *status, uint64_t now_us)
{
	struct rpci_sel_action act;
	struct sel_dev *dv;
	struct sel_hot *h;
	uint32_t d;

	if (sel == NULL || status == NULL || !sel_str_ok(server, true) ||
	    !sel_str_ok(device, true) || !(status->load >= 0.0 && isfinite(status->load))) {
		return -EINVAL;
	}
	d = sel_dev_find(sel, server, device);
	if (d == SEL_NONE) {
		return -ENOENT;
	}
	dv = &sel->dev[d];
	h = &sel->hot[d];
	/*
	 * Attached, but the server has no session from anyone, one lease
	 * period after the attachment: the client never came or left without
	 * a release. A session from another client than the attachment's is
	 * shown as the server reports it and changes nothing (the server is
	 * the authority on its sessions; the lease still ends by its rules).
	 */
	if (dv->attached && !status->in_use && now_us >= dv->attach_us + sel->p.lease_us) {
		sel_end(sel, d, -ENOTCONN, "the server reports no session from the client", &act);
		sel_push(sel, &act);
	}
	sel_load_update(dv, h, status, now_us);
	sel_usage_account(sel, dv, status, now_us);
	dv->status = *status;
	dv->last_heartbeat_us = now_us;
	dv->down = false;
	/* a new personality (a function-level reset gave it): the table shows it */
	if (status->vendor_id != 0 || status->device_id != 0 || status->class_code != 0) {
		dv->info.vendor_id = status->vendor_id;
		dv->info.device_id = status->device_id;
		dv->info.class_code = status->class_code & SEL_CLASS_ALL;
		h->vendor_id = status->vendor_id;
		h->class_code = status->class_code & SEL_CLASS_ALL;
	}
	/* a server cannot have more free than it has */
	h->mem_eff = status->memory_free < dv->info.memory_bytes ? status->memory_free :
								   dv->info.memory_bytes;
	h->in_use = status->in_use;
	sel_server_heard(sel, h->server, now_us);
	sel_refresh(sel, d);
	return 0;
}

int
rpci_selector_request(struct rpci_selector *sel, uint64_t request_id,
		      const uint8_t client_mac[6], const struct rpci_sel_requirements *req,
		      uint32_t count, uint64_t now_us, struct rpci_sel_action *actions,
		      uint32_t max_actions)
{
	uint32_t picks[SEL_COUNT_MAX], n, i;
	char reason[RPCI_SEL_REASON_MAX];
	struct sel_query q;
	int32_t error;

	if (sel == NULL || client_mac == NULL || req == NULL || actions == NULL || count == 0 ||
	    count > SEL_COUNT_MAX || max_actions < count || !sel_str_ok(req->backend, false) ||
	    !sel_str_ok(req->kernel, false) || !sel_str_ok(req->job, false) ||
	    !sel_str_ok(req->exclude_server, false)) {
		return -EINVAL;
	}
	if (request_id != 0) {
		for (i = 0; i < SEL_REPLAY_MAX; i++) {
			if (sel->replay[i].valid && sel->replay[i].request_id == request_id &&
			    sel_mac_eq(sel->replay[i].client_mac, client_mac)) {
				return sel_replay(sel, &sel->replay[i], actions, max_actions);
			}
		}
	}
	if (sel_over_limit(sel, client_mac, count, reason, sizeof(reason))) {
		sel_reject(&actions[0], request_id, client_mac, -EDQUOT, reason);
		sel_replay_store(sel, request_id, client_mac, actions, 1);
		return 1;
	}
	sel_query_init(sel, req, &q);
	n = sel_pick(sel, &q, count, picks);
	if (n < count) {
		error = sel_diagnose(sel, &q, count, reason, sizeof(reason));
		sel_reject(&actions[0], request_id, client_mac, error, reason);
		sel_replay_store(sel, request_id, client_mac, actions, 1);
		return 1;
	}
	for (i = 0; i < count; i++) {
		sel_attach(sel, picks[i], client_mac, req, request_id, false, now_us, &actions[i]);
	}
	sel_replay_store(sel, request_id, client_mac, actions, count);
	return (int)count;
}

int
rpci_selector_lease_holder(const struct rpci_selector *sel, uint64_t lease_id,
			   uint8_t client_mac[6])
{
	uint32_t pos, i;

	if (sel == NULL || client_mac == NULL) {
		return -EINVAL;
	}
	pos = sel_lease_find(sel, lease_id);
	if (pos != SEL_NONE) {
		memcpy(client_mac, sel->lease[pos].client_mac, 6);
		return 0;
	}
	for (i = 0; i < SEL_ENDED_MAX && lease_id != 0; i++) {
		if (sel->ended[i].lease_id == lease_id) {
			memcpy(client_mac, sel->ended[i].client_mac, 6);
			return 0;
		}
	}
	return -ENOENT;
}

int
rpci_selector_release(struct rpci_selector *sel, uint64_t lease_id, uint64_t now_us)
{
	struct rpci_sel_action act;
	uint32_t pos;

	(void)now_us;
	if (sel == NULL) {
		return -EINVAL;
	}
	pos = sel_lease_find(sel, lease_id);
	if (pos == SEL_NONE) {
		return -ENOENT;
	}
	sel_end(sel, sel->lease[pos].dev, 0, "released by the client", &act);
	return 0;
}

int
rpci_selector_renew(struct rpci_selector *sel, const uint8_t client_mac[6], uint64_t now_us)
{
	struct sel_lease *l;
	uint32_t i;
	int n = 0;

	if (sel == NULL || client_mac == NULL) {
		return 0;
	}
	for (i = 0; i < sel->nb_leases; i++) {
		l = &sel->lease[i];
		if (!sel_mac_eq(l->client_mac, client_mac)) {
			continue;
		}
		l->expires_us = now_us + sel->p.lease_us;
		sel->dev[l->dev].att.expires_us = l->expires_us;
		n++;
	}
	return n;
}

int
rpci_selector_report(struct rpci_selector *sel, uint64_t lease_id, const char *job,
		     uint64_t job_size, uint64_t elapsed_us)
{
	struct sel_model *m = NULL;
	uint32_t d = SEL_NONE, pos, i, slot = 0;
	struct sel_coef *c;
	struct sel_hot *h;
	double x, y, load, wt, p, decay;
	uint16_t id;
	int rc;

	if (sel == NULL || !sel_str_ok(job, true)) {
		return -EINVAL;
	}
	pos = sel_lease_find(sel, lease_id);
	if (pos != SEL_NONE) {
		d = sel->lease[pos].dev;
	} else {
		for (i = 0; i < SEL_ENDED_MAX; i++) {
			if (sel->ended[i].lease_id == lease_id && lease_id != 0) {
				d = sel->ended[i].dev;
				break;
			}
		}
	}
	if (d == SEL_NONE) {
		return -ENOENT;
	}
	rc = sel_name_intern(sel, job, &id);
	if (rc < 0) {
		return rc;
	}
	h = &sel->hot[d];
	for (i = 0; i < SEL_MODELS; i++) {
		if (h->model_job[i] == id) {
			m = &sel->dev[d].model[i];
			break;
		}
		/* else the slot updated longest ago (an empty one first) */
		if (h->model_job[i] == 0 ||
		    (h->model_job[slot] != 0 &&
		     sel->dev[d].model[i].stamp < sel->dev[d].model[slot].stamp)) {
			slot = i;
		}
	}
	if (m == NULL) {
		m = &sel->dev[d].model[slot];
		memset(m, 0, sizeof(*m));
		h->model_job[slot] = id;
	}
	c = &sel->coef[(size_t)d * SEL_MODELS + (uint32_t)(m - sel->dev[d].model)];
	load = h->load;
	x = (double)job_size;
	y = (double)elapsed_us / (1.0 + load);
	/*
	 * A report far slower than the model predicts (more than twice) is
	 * most likely the host's hiccup, not the device: it counts the less
	 * the further it is (weight p / (y - p)), so that one stall does not
	 * send the next decisions to a slower device that then never lets
	 * this one prove itself again; a device that did become slower is
	 * still learned, over a few more reports. Faster ones count fully.
	 */
	wt = 1.0;
	decay = SEL_DECAY;
	if (m->n > 0) {
		p = sel_predict(c, job_size, 0.0);
		if (p > 0.0 && y > SEL_OUTLIER * p) {
			wt = p / (y - p);
		} else if (p > 0.0 && y * SEL_OUTLIER < p) {
			/*
			 * Far faster than predicted: the host only ever adds time,
			 * so the reports before were inflated (or the device got
			 * faster): the past weighs the less the bigger the surprise.
			 */
			decay *= y / (p - y);
		}
	}
	m->w = m->w * decay + wt;
	m->sx = m->sx * decay + wt * x;
	m->sxx = m->sxx * decay + wt * x * x;
	m->sy = m->sy * decay + wt * y;
	m->sxy = m->sxy * decay + wt * x * y;
	m->n++;
	m->stamp = ++sel->model_stamp;
	sel_model_fit(m, c);
	return 0;
}

int
rpci_selector_tick(struct rpci_selector *sel, uint64_t now_us, struct rpci_sel_action *actions,
		   uint32_t max_actions)
{
	uint64_t limit;
	struct rpci_sel_action act;
	uint32_t s, i, n = 0;

	if (sel == NULL) {
		return 0;
	}
	limit = sel->p.heartbeat_us * sel->p.missed_heartbeats;
	for (s = 0; s < sel->nb_servers; s++) {
		if (!sel->srv[s].down && now_us > sel->srv[s].last_heard_us &&
		    now_us - sel->srv[s].last_heard_us > limit) {
			sel_server_down(sel, s, now_us);
		}
	}
	/* downwards: an end moves the last lease (visited, or new) into i */
	for (i = sel->nb_leases; i-- > 0;) {
		if (i < sel->nb_leases && sel->lease[i].expires_us <= now_us) {
			sel_end(sel, sel->lease[i].dev, -ETIMEDOUT, "lease expired", &act);
			sel_push(sel, &act);
		}
	}
	while (actions != NULL && n < max_actions && sel->pend_nb > 0) {
		actions[n++] = sel->pend[sel->pend_head];
		sel->pend_head = (sel->pend_head + 1) & (sel->pend_cap - 1);
		sel->pend_nb--;
	}
	return (int)n;
}

int
rpci_selector_attach(struct rpci_selector *sel, const char *server, const char *device,
		     const uint8_t client_mac[6], uint64_t now_us,
		     struct rpci_sel_action *action)
{
	struct rpci_sel_requirements req;
	uint32_t d;

	if (sel == NULL || client_mac == NULL || action == NULL || !sel_str_ok(server, true) ||
	    !sel_str_ok(device, true)) {
		return -EINVAL;
	}
	d = sel_dev_find(sel, server, device);
	if (d == SEL_NONE) {
		return -ENOENT;
	}
	if (sel->hot[d].state != RPCI_SEL_FREE || sel->hot[d].in_use) {
		return -EBUSY;
	}
	/* the operator chose this device: no failover to another one */
	memset(&req, 0, sizeof(req));
	sel_attach(sel, d, client_mac, &req, 0, false, now_us, action);
	return 0;
}

int
rpci_selector_detach(struct rpci_selector *sel, uint64_t lease_id, uint64_t now_us,
		     struct rpci_sel_action *action)
{
	uint32_t pos;

	(void)now_us;
	if (sel == NULL || action == NULL) {
		return -EINVAL;
	}
	pos = sel_lease_find(sel, lease_id);
	if (pos == SEL_NONE) {
		return -ENOENT;
	}
	sel_end(sel, sel->lease[pos].dev, -ECONNABORTED, "detached by the operator", action);
	return 0;
}

int
rpci_selector_drain(struct rpci_selector *sel, const char *server, bool drain)
{
	uint32_t s, d;
	int n = 0;

	if (sel == NULL || !sel_str_ok(server, true)) {
		return -EINVAL;
	}
	s = sel_srv_find(sel, server, NULL);
	if (s == SEL_NONE) {
		return -ENOENT;
	}
	sel->srv[s].drain = drain;
	for (d = sel->srv[s].first_dev; d != SEL_NONE; d = sel->dev[d].next_in_server) {
		sel_refresh(sel, d);
		n += sel->hot[d].state == RPCI_SEL_DRAINING;
	}
	return n;
}

int
rpci_selector_set_policy(struct rpci_selector *sel, enum rpci_sel_policy policy)
{
	if (sel == NULL || (unsigned int)policy > RPCI_SEL_LEARNED) {
		return -EINVAL;
	}
	sel->p.policy = policy;
	return 0;
}

enum rpci_sel_policy
rpci_selector_policy(const struct rpci_selector *sel)
{
	if (sel == NULL) {
		return RPCI_SEL_FIRST_FIT;
	}
	return sel->p.policy;
}

const char *
rpci_selector_policy_name(enum rpci_sel_policy policy)
{
	if ((unsigned int)policy >= SEL_DIM(g_policy_names)) {
		return NULL;
	}
	return g_policy_names[policy];
}

int
rpci_selector_policy_parse(const char *name, enum rpci_sel_policy *policy)
{
	unsigned int i;

	if (name == NULL || policy == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < SEL_DIM(g_policy_names); i++) {
		if (strcmp(name, g_policy_names[i]) == 0) {
			*policy = (enum rpci_sel_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
rpci_selector_state_name(enum rpci_sel_state state)
{
	if ((unsigned int)state >= SEL_DIM(g_state_names)) {
		return NULL;
	}
	return g_state_names[state];
}

uint32_t
rpci_selector_table(const struct rpci_selector *sel, struct rpci_sel_row *rows, uint32_t max)
{
	const struct sel_dev *dv;
	struct rpci_sel_row *r;
	uint32_t i, d;

	if (sel == NULL) {
		return 0;
	}
	for (i = 0; rows != NULL && i < max && i < sel->nb_devs; i++) {
		d = sel->order[i];
		dv = &sel->dev[d];
		r = &rows[i];
		memset(r, 0, sizeof(*r));
		r->info = dv->info;
		r->status = dv->status;
		r->state = (enum rpci_sel_state)sel->hot[d].state;
		r->last_heartbeat_us = dv->last_heartbeat_us;
		r->attached = dv->attached;
		if (dv->attached) {
			r->att = dv->att;
		}
		r->predicted_us = sel->predicted_us[d];
		r->load_avg = dv->load_avg;
	}
	return sel->nb_devs;
}

double
rpci_selector_predict(const struct rpci_selector *sel, const char *server, const char *device,
		      const char *job, uint64_t job_size)
{
	const struct sel_coef *c;
	uint32_t d, reports;

	if (sel == NULL || !sel_str_ok(server, true) || !sel_str_ok(device, true) ||
	    !sel_str_ok(job, true)) {
		return -1.0;
	}
	d = sel_dev_find(sel, server, device);
	if (d == SEL_NONE) {
		return -1.0;
	}
	c = sel_coef_get(sel, d, sel_name_find(sel, job), &reports);
	if (c == NULL) {
		return -1.0;
	}
	return sel_predict(c, job_size, sel->hot[d].load);
}

/* SPDX-License-Identifier: BSD-3-Clause */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_spinlock.h>

#include "app_telemetry.h"
#include "rpci_port_tcp.h"

#define TEL_CMDS_MAX 16
#define TEL_WAIT_MS 1000      /* a loop that answers later than this is stuck */

struct tel_cmd {
	char name[64];
	app_tel_builder fn;
	void *arg;
};

enum tel_state { TEL_IDLE, TEL_PENDING, TEL_RUNNING, TEL_DONE };

static struct tel_cmd g_cmds[TEL_CMDS_MAX];
static unsigned int g_nb_cmds;
static pthread_mutex_t g_one_request = PTHREAD_MUTEX_INITIALIZER; /* telemetry threads */
static rte_spinlock_t g_lock = RTE_SPINLOCK_INITIALIZER;          /* handler vs loop */
static struct {
	int state; /* enum tel_state */
	bool stopped;
	const struct tel_cmd *cmd;
	const char *params;
	struct rte_tel_data *d;
	int ret;
} g_req;
/* The table, read on the loop's thread into one buffer reused by every request. */
static struct rpci_sel_row *g_rows;
static uint32_t g_rows_room;

/* Telemetry thread: hand the request to the loop and wait for its answer. */
static int
tel_handler(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 50000 };
	const struct tel_cmd *c = NULL;
	unsigned int i, waited_us = 0;
	int ret;

	for (i = 0; i < g_nb_cmds && c == NULL; i++) {
		if (strcmp(g_cmds[i].name, cmd) == 0) {
			c = &g_cmds[i];
		}
	}
	if (c == NULL) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_one_request);
	rte_spinlock_lock(&g_lock);
	if (g_req.stopped) {
		rte_spinlock_unlock(&g_lock);
		pthread_mutex_unlock(&g_one_request);
		return -ESHUTDOWN;
	}
	g_req.cmd = c;
	g_req.params = params;
	g_req.d = d;
	__atomic_store_n(&g_req.state, TEL_PENDING, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&g_lock);
	for (;;) {
		rte_spinlock_lock(&g_lock);
		if (g_req.state == TEL_DONE) {
			ret = g_req.ret;
			g_req.state = TEL_IDLE;
			rte_spinlock_unlock(&g_lock);
			break;
		}
		if (g_req.state == TEL_PENDING &&
		    (waited_us >= TEL_WAIT_MS * 1000 || g_req.stopped)) {
			/* not taken: take it back, the loop will not touch d */
			g_req.state = TEL_IDLE;
			rte_spinlock_unlock(&g_lock);
			ret = -ETIMEDOUT;
			break;
		}
		rte_spinlock_unlock(&g_lock); /* RUNNING: the builder is short; wait */
		nanosleep(&pause, NULL);
		waited_us += 50;
	}
	pthread_mutex_unlock(&g_one_request);
	return ret;
}

int
app_telemetry_register(const char *cmd, app_tel_builder fn, void *arg, const char *help)
{
	struct tel_cmd *c;
	int ret;

	if (g_nb_cmds == TEL_CMDS_MAX) {
		return -ENOSPC;
	}
	c = &g_cmds[g_nb_cmds];
	snprintf(c->name, sizeof(c->name), "%s", cmd);
	c->fn = fn;
	c->arg = arg;
	ret = rte_telemetry_register_cmd(c->name, tel_handler, help);
	if (ret == 0) {
		g_nb_cmds++; /* before any request can name it: registration runs first */
	}
	return ret;
}

int
app_telemetry_poll(void)
{
	const struct tel_cmd *c;
	int ret;

	if (likely(__atomic_load_n(&g_req.state, __ATOMIC_ACQUIRE) != TEL_PENDING)) {
		return 0;
	}
	rte_spinlock_lock(&g_lock);
	if (g_req.state != TEL_PENDING) {
		rte_spinlock_unlock(&g_lock);
		return 0;
	}
	g_req.state = TEL_RUNNING;
	c = g_req.cmd;
	rte_spinlock_unlock(&g_lock);

	ret = c->fn(c->arg, g_req.params, g_req.d);

	rte_spinlock_lock(&g_lock);
	g_req.ret = ret;
	g_req.state = TEL_DONE;
	rte_spinlock_unlock(&g_lock);
	return 1;
}

void
app_telemetry_stop(void)
{
	rte_spinlock_lock(&g_lock);
	g_req.stopped = true;
	rte_spinlock_unlock(&g_lock);
	free(g_rows); /* builders run only in app_telemetry_poll(), which is over */
	g_rows = NULL;
	g_rows_room = 0;
}

/* ------------------------------------------------------------- builders */

static void
mac_string(char *buf, size_t len, const uint8_t mac[6])
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static int
build_link(void *arg, const char *params, struct rte_tel_data *d)
{
	struct rpci_link_stats s;

	RTE_SET_USED(params);
	rpci_link_stats_get(arg, &s);
	rte_tel_data_start_dict(d);
#define LINK_U64(f) rte_tel_data_add_dict_u64(d, #f, s.f)
	LINK_U64(rx_frames);
	LINK_U64(rx_bytes);
	LINK_U64(tx_frames);
	LINK_U64(tx_bytes);
	LINK_U64(rx_msgs);
	LINK_U64(tx_msgs);
	LINK_U64(rx_not_ours);
	LINK_U64(rx_bad_header);
	LINK_U64(rx_bad_crc);
	LINK_U64(rx_bad_chain);
	LINK_U64(rx_unknown_session);
	LINK_U64(rx_duplicate);
	LINK_U64(rx_out_of_order);
	LINK_U64(rx_kept);
	LINK_U64(rx_queue_full);
	LINK_U64(tx_no_credit);
	LINK_U64(rx_malformed_msg);
	LINK_U64(rx_refused_msg);
	LINK_U64(tx_retransmit);
	LINK_U64(timeouts);
	LINK_U64(nak_sent);
	LINK_U64(nak_rcvd);
	LINK_U64(tx_dropped);
	LINK_U64(no_mbuf);
	LINK_U64(zero_copy);
	LINK_U64(tx_split);
	LINK_U64(rx_gathered);
	LINK_U64(copied);
	LINK_U64(sessions_dead);
	LINK_U64(tx_sealed);
	LINK_U64(rx_verified);
	LINK_U64(rx_auth_bad_tag);
	LINK_U64(rx_auth_replay);
	LINK_U64(rx_auth_missing);
	LINK_U64(open_unsigned);
	LINK_U64(open_bad_tag);
	LINK_U64(open_stale);
	LINK_U64(open_replay);
	LINK_U64(open_unknown_host);
	LINK_U64(open_refused);
	LINK_U64(open_ack_refused);
	LINK_U64(log_suppressed);
#undef LINK_U64
	rte_tel_data_add_dict_u64(d, "port_faults_survived", rpci_port_faults());
	{
		struct rpci_port_tcp_stats ts;

		/* a kernel-TCP port: its connections, and the new ones refused (probation) */
		if (rpci_port_tcp_stats_get(rpci_link_port_id(arg), &ts) == 0) {
			rte_tel_data_add_dict_u64(d, "tcp_connects", ts.connects);
			rte_tel_data_add_dict_u64(d, "tcp_disconnects", ts.disconnects);
			rte_tel_data_add_dict_u64(d, "tcp_takeovers", ts.takeovers);
			rte_tel_data_add_dict_u64(d, "tcp_takeovers_refused",
						  ts.takeovers_refused);
		}
	}
	return 0;
}

int
app_telemetry_register_link(struct rpci_link *link)
{
	return app_telemetry_register("/rpci/link", build_link, link,
				      "The link's counters. No parameters");
}

/*
 * Telemetry 22.11 nests only arrays of scalars in a container, and a reply
 * is at most 16 KiB: tables come as columns (a dict of arrays, one value
 * per row in each), at most TEL_ROWS_REPLY rows a reply (a full /rpci/table
 * row is about 400 bytes at the longest names).
 */
#define TEL_ROWS_REPLY 32

/* Start a column of strings (str) or of numbers. */
unsigned int
col_new(struct tel_cols *t, const char *name, bool str)
{
	unsigned int i = t->nb;

	if (i == TEL_COLS_MAX) {
		t->no_memory = true;
		return 0;
	}
	t->col[i] = rte_tel_data_alloc();
	if (t->col[i] == NULL) {
		t->no_memory = true;
		return 0;
	}
	rte_tel_data_start_array(t->col[i], str ? RTE_TEL_STRING_VAL : RTE_TEL_U64_VAL);
	t->name[i] = name;
	t->nb++;
	return i;
}

void
col_str(struct tel_cols *t, unsigned int i, const char *v)
{
	if (i < t->nb) {
		rte_tel_data_add_array_string(t->col[i], v);
	}
}

void
col_u64(struct tel_cols *t, unsigned int i, uint64_t v)
{
	if (i < t->nb) {
		rte_tel_data_add_array_u64(t->col[i], v);
	}
}

static void
col_mac(struct tel_cols *t, unsigned int i, const uint8_t mac[6])
{
	char buf[RTE_ETHER_ADDR_FMT_SIZE];

	mac_string(buf, sizeof(buf), mac);
	col_str(t, i, buf);
}

/* Put the columns in the reply (or free them). 0 or -ENOMEM. */
int
cols_end(struct tel_cols *t)
{
	unsigned int i;

	for (i = 0; i < t->nb; i++) {
		if (t->no_memory || rte_tel_data_add_dict_container(t->d, t->name[i],
								    t->col[i], 0) < 0) {
			rte_tel_data_free(t->col[i]);
		}
	}
	return t->no_memory ? -ENOMEM : 0;
}

static uint64_t
ms_between(uint64_t from_us, uint64_t to_us)
{
	return to_us > from_us ? (to_us - from_us) / 1000 : 0;
}


/* Read the table; returns the rows read (fewer than the table: ENOMEM). */
static uint32_t
read_table(struct rpci_ctrlnode_selector *n, uint32_t *total)
{
	struct rpci_selector *sel = rpci_ctrlnode_selector_logic(n);
	uint32_t nb = rpci_selector_table(sel, NULL, 0);

	if (nb > g_rows_room) {
		struct rpci_sel_row *rows = realloc(g_rows, (size_t)nb * sizeof(*rows));

		if (rows != NULL) {
			g_rows = rows;
			g_rows_room = nb;
		}
	}
	*total = nb;
	if (g_rows == NULL) {
		return 0;
	}
	nb = rpci_selector_table(sel, g_rows, g_rows_room);
	return RTE_MIN(nb, g_rows_room);
}

/*
 * /rpci/table[,FIRST|SERVER]: the rows from number FIRST, or the rows of
 * server SERVER; at most TEL_ROWS_REPLY.
 */
static int
build_table(void *arg, const char *params, struct rte_tel_data *d)
{
	struct rpci_ctrlnode_selector *n = arg;
	struct tel_cols t = { .d = d };
	uint64_t now = rpci_ctrlnode_selector_now_us(n);
	uint32_t i, total, nb = read_table(n, &total), first = 0, count = 0;
	const char *server = NULL;
	unsigned int c_srv, c_mac, c_dev, c_backend, c_name, c_mem, c_free, c_state, c_load, c_hb;
	unsigned int c_client, c_lease, c_left;
	char *end;

	if (params != NULL && params[0] != '\0') {
		unsigned long v = strtoul(params, &end, 10);

		if (*end == '\0') {
			first = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		} else {
			server = params;
		}
	}
	rte_tel_data_start_dict(d);
	c_srv = col_new(&t, "server", true);
	c_mac = col_new(&t, "server_mac", true);
	c_dev = col_new(&t, "device", true);
	c_backend = col_new(&t, "backend", true);
	c_name = col_new(&t, "device_name", true);
	c_mem = col_new(&t, "memory", false);
	c_free = col_new(&t, "memory_free", false);
	c_state = col_new(&t, "state", true);
	c_load = col_new(&t, "load_permille", false);
	c_hb = col_new(&t, "heartbeat_age_ms", false);
	c_client = col_new(&t, "client", true);
	c_lease = col_new(&t, "lease", false);
	c_left = col_new(&t, "lease_left_ms", false);
	for (i = first; i < nb && count < TEL_ROWS_REPLY; i++) {
		const struct rpci_sel_row *r = &g_rows[i];
		static const uint8_t no_mac[6];

		if (server != NULL && strcmp(server, r->info.server) != 0) {
			continue;
		}
		count++;
		col_str(&t, c_srv, r->info.server);
		col_mac(&t, c_mac, r->info.server_mac);
		col_str(&t, c_dev, r->info.device);
		col_str(&t, c_backend, r->info.backend);
		col_str(&t, c_name, r->info.device_name);
		col_u64(&t, c_mem, r->info.memory_bytes);
		col_u64(&t, c_free, r->status.memory_free);
		col_str(&t, c_state, rpci_selector_state_name(r->state));
		col_u64(&t, c_load, (uint64_t)(r->status.load * 1000.0 + 0.5));
		col_u64(&t, c_hb, ms_between(r->last_heartbeat_us, now));
		col_mac(&t, c_client, r->attached ? r->att.client_mac : no_mac);
		col_u64(&t, c_lease, r->attached ? r->att.lease_id : 0);
		col_u64(&t, c_left, r->attached ? ms_between(now, r->att.expires_us) : 0);
	}
	rte_tel_data_add_dict_u64(d, "rows_total", total);
	rte_tel_data_add_dict_u64(d, "rows", count);
	return cols_end(&t);
}

/* /rpci/sessions: the attachments. */
static int
build_sessions(void *arg, const char *params, struct rte_tel_data *d)
{
	struct rpci_ctrlnode_selector *n = arg;
	struct tel_cols t = { .d = d };
	uint64_t now = rpci_ctrlnode_selector_now_us(n);
	uint32_t i, total, nb = read_table(n, &total), count = 0;
	unsigned int c_lease, c_client, c_srv, c_dev, c_state, c_left;

	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	c_lease = col_new(&t, "lease", false);
	c_client = col_new(&t, "client", true);
	c_srv = col_new(&t, "server", true);
	c_dev = col_new(&t, "device", true);
	c_state = col_new(&t, "state", true);
	c_left = col_new(&t, "lease_left_ms", false);
	for (i = 0; i < nb && count < TEL_ROWS_REPLY; i++) {
		const struct rpci_sel_row *r = &g_rows[i];

		if (!r->attached) {
			continue;
		}
		count++;
		col_u64(&t, c_lease, r->att.lease_id);
		col_mac(&t, c_client, r->att.client_mac);
		col_str(&t, c_srv, r->att.server);
		col_str(&t, c_dev, r->att.device);
		col_str(&t, c_state, rpci_selector_state_name(r->state));
		col_u64(&t, c_left, ms_between(now, r->att.expires_us));
	}
	rte_tel_data_add_dict_u64(d, "sessions", count);
	return cols_end(&t);
}

/* /rpci/servers: one entry per server, its devices summed up. */
static int
build_servers(void *arg, const char *params, struct rte_tel_data *d)
{
	struct rpci_ctrlnode_selector *n = arg;
	struct tel_cols t = { .d = d };
	uint64_t now = rpci_ctrlnode_selector_now_us(n);
	uint32_t i, j, total, nb = read_table(n, &total), count = 0;
	unsigned int c_srv, c_mac, c_devs, c_state[4], c_mem, c_free, c_load, c_hb, k;

	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	c_srv = col_new(&t, "server", true);
	c_mac = col_new(&t, "mac", true);
	c_devs = col_new(&t, "devices", false);
	for (k = 0; k < 4; k++) {
		c_state[k] = col_new(&t, rpci_selector_state_name((enum rpci_sel_state)k), false);
	}
	c_mem = col_new(&t, "memory", false);
	c_free = col_new(&t, "memory_free", false);
	c_load = col_new(&t, "load_permille", false);
	c_hb = col_new(&t, "heartbeat_age_ms", false);
	for (i = 0; i < nb && count < TEL_ROWS_REPLY; i = j) {
		const struct rpci_sel_row *r = &g_rows[i];
		uint64_t states[4] = { 0 }, mem = 0, mem_free = 0;

		/* rows come ordered by server */
		for (j = i; j < nb && strcmp(g_rows[j].info.server, r->info.server) == 0; j++) {
			states[g_rows[j].state & 3]++;
			mem += g_rows[j].info.memory_bytes;
			mem_free += g_rows[j].status.memory_free;
		}
		count++;
		col_str(&t, c_srv, r->info.server);
		col_mac(&t, c_mac, r->info.server_mac);
		col_u64(&t, c_devs, j - i);
		for (k = 0; k < 4; k++) {
			col_u64(&t, c_state[k], states[k]);
		}
		col_u64(&t, c_mem, mem);
		col_u64(&t, c_free, mem_free);
		col_u64(&t, c_load, (uint64_t)(r->status.load * 1000.0 + 0.5));
		col_u64(&t, c_hb, ms_between(r->last_heartbeat_us, now));
	}
	rte_tel_data_add_dict_u64(d, "servers", count);
	return cols_end(&t);
}

static int
build_selector(void *arg, const char *params, struct rte_tel_data *d)
{
	struct rpci_ctrlnode_selector *n = arg;
	struct rpci_selector *sel = rpci_ctrlnode_selector_logic(n);
	struct rpci_ctrlnode_selector_stats st, *s = &st;

	RTE_SET_USED(params);
	rpci_ctrlnode_selector_stats(n, &st);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "policy",
				     rpci_selector_policy_name(rpci_selector_policy(sel)));
	rte_tel_data_add_dict_u64(d, "devices", rpci_selector_table(sel, NULL, 0));
#define SEL_U64(f) rte_tel_data_add_dict_u64(d, #f, s->f)
	SEL_U64(registers);
	SEL_U64(statuses);
	SEL_U64(requests);
	SEL_U64(attaches);
	SEL_U64(rejects);
	SEL_U64(detaches);
	SEL_U64(failovers);
	SEL_U64(releases);
	SEL_U64(reports);
	SEL_U64(messages);
	SEL_U64(messages_refused);
	SEL_U64(unexpected);
#undef SEL_U64
	{
		struct rpci_ctrl_chan_stats cs;

		rpci_ctrl_chan_stats(rpci_ctrlnode_selector_chan(n), &cs);
		rte_tel_data_add_dict_u64(d, "ctrl_rx", cs.rx);
		rte_tel_data_add_dict_u64(d, "ctrl_rx_bad", cs.rx_bad);
		rte_tel_data_add_dict_u64(d, "ctrl_tx", cs.tx);
		rte_tel_data_add_dict_u64(d, "ctrl_retries", cs.retries);
		rte_tel_data_add_dict_u64(d, "ctrl_given_up", cs.given_up);
	}
	return 0;
}

int
app_telemetry_register_selnode(struct rpci_ctrlnode_selector *n)
{
	int ret;

	ret = app_telemetry_register("/rpci/servers", build_servers, n,
				     "The selector's servers, a summary of each. No parameters");
	if (ret == 0) {
		ret = app_telemetry_register("/rpci/table", build_table, n,
					     "The selector's status table, a row per device. "
					     "Parameters: server name (optional)");
	}
	if (ret == 0) {
		ret = app_telemetry_register("/rpci/sessions", build_sessions, n,
					     "Attachments: lease, client, device. No parameters");
	}
	if (ret == 0) {
		ret = app_telemetry_register("/rpci/selector", build_selector, n,
					     "The selector's policy and counters. No parameters");
	}
	return ret;
}

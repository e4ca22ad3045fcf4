/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/ctrlnode: the client endpoint, the server agent and
 * the selector node, each driven by control messages fed to it directly.
 * There is no link: the endpoints' channels send through a fake fabric (a
 * queue of datagrams that the tests deliver, inspect or drop) and run on a
 * fake clock. A deployment with authentication off (the sender is the host
 * whose address a datagram comes from, as on a lab fabric) lets the tests
 * forge messages from any host; a second one with keys runs a request end
 * to end sealed, and shows an unsealed message refused.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_ctrlnode.h"

#define FRAME_MAX (RPCI_CTRL_MAX + RPCI_AUTH_OVERHEAD)
#define QUEUE_MAX 512
#define LOG_MAX 512
#define T0 1000000000ull /* the fake clock's start, microseconds */

/* ------------------------------------------------------- the deployments */

enum { SEL = 0, S1, S2, C1, C2, NB_HOSTS };

static const char *const g_names[NB_HOSTS] = { "sel", "s1", "s2", "c1", "c2" };

/* Devices of s1 (g0, g1) and s2 (g0): cpu backend, 64 MiB, 7270:0001 class 030200. */
#define HOSTS_TEXT \
	"hosts = (\n" \
	" { name = \"sel\"; roles = [ \"selector\" ]; mac = \"02:00:00:00:00:01\";" \
	"   eal = { lcores = \"0\"; }; },\n" \
	" { name = \"s1\"; roles = [ \"server\" ]; mac = \"02:00:00:00:01:01\";" \
	"   eal = { lcores = \"0\"; }; devices = (" \
	"   { name = \"g0\"; backend = \"cpu\"; memory_mb = 64; vendor_id = 0x7270;" \
	"     device_id = 1; class_code = 0x030200; }," \
	"   { name = \"g1\"; backend = \"cpu\"; memory_mb = 64; vendor_id = 0x7270;" \
	"     device_id = 1; class_code = 0x030200; } ); },\n" \
	" { name = \"s2\"; roles = [ \"server\" ]; mac = \"02:00:00:00:01:02\";" \
	"   eal = { lcores = \"0\"; }; devices = (" \
	"   { name = \"g0\"; backend = \"cpu\"; memory_mb = 64; vendor_id = 0x7270;" \
	"     device_id = 1; class_code = 0x030200; } ); },\n" \
	" { name = \"c1\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:01\";" \
	"   eal = { lcores = \"0\"; }; },\n" \
	" { name = \"c2\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:02\";" \
	"   eal = { lcores = \"0\"; }; }\n" \
	");\n"

#define SELECTOR_TEXT \
	"selector = { host = \"sel\"; heartbeat_ms = 100; missed_heartbeats = 3;" \
	" lease_ms = 3000; };\n"

static const char g_conf_text[] = "auth = { mode = \"none\"; };\n" SELECTOR_TEXT HOSTS_TEXT;

/* A host that is both the selector and a server (rpci-server runs both), and a client. */
static const char g_conf_both_text[] =
	"auth = { mode = \"none\"; };\n"
	"selector = { host = \"ctl\"; heartbeat_ms = 100; lease_ms = 3000; };\n"
	"hosts = (\n"
	" { name = \"ctl\"; roles = [ \"selector\", \"server\" ]; mac = \"02:00:00:00:00:09\";"
	"   eal = { lcores = \"0\"; }; devices = ("
	"   { name = \"g0\"; backend = \"cpu\"; memory_mb = 64; vendor_id = 0x7270;"
	"     device_id = 1; class_code = 0x030200; } ); },\n"
	" { name = \"c1\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:01\";"
	"   eal = { lcores = \"0\"; }; }\n"
	");\n";

/* A pair without a selector. */
static const char g_conf_nosel_text[] =
	"auth = { mode = \"none\"; };\n"
	"hosts = (\n"
	" { name = \"s1\"; roles = [ \"server\" ]; mac = \"02:00:00:00:01:01\";"
	"   eal = { lcores = \"0\"; }; devices = ("
	"   { name = \"g0\"; backend = \"cpu\"; memory_mb = 64; vendor_id = 0x7270;"
	"     device_id = 1; class_code = 0x030200; } ); },\n"
	" { name = \"c1\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:01\";"
	"   eal = { lcores = \"0\"; }; server = \"s1\"; }\n"
	");\n";

static struct rpci_conf *g_conf;
static struct rpci_conf *g_conf_both;
static struct rpci_conf *g_conf_nosel;
static struct rpci_conf *g_conf_keys;
static struct rpci_auth *g_auth[NB_HOSTS];
static struct rpci_auth *g_auth_both[2];
static struct rpci_auth *g_auth_keys[NB_HOSTS];
static char g_key_dir[64];

/* ------------------------------------------------------------ the clock */

static uint64_t g_now = T0;

static uint64_t
fake_now(void *arg)
{
	(void)arg;
	return g_now;
}

/* ----------------------------------------------------------- the fabric */

/* An endpoint on the fabric: its address, and where its datagrams go in. */
struct fab_ep {
	uint8_t mac[6];
	void (*rx)(void *ep, const uint8_t src[6], const void *body, uint16_t len);
	void *ep;
	bool attached; /* on the fabric: datagrams to it are delivered */
};

struct fab_frame {
	uint8_t src[6];
	uint8_t dst[6];
	uint16_t len;
	uint8_t body[FRAME_MAX];
};

/* Datagrams waiting for delivery, and every one sent (decoded when plain). */
static struct fab_frame g_queue[QUEUE_MAX];
static unsigned int g_q_head, g_q_tail;
static struct {
	uint8_t src[6];
	uint8_t dst[6];
	bool plain; /* decoded (not sealed) */
	struct rpci_ctrl_msg m;
} g_log[LOG_MAX];
static unsigned int g_nb_log;
static struct fab_ep g_eps[8];
static unsigned int g_nb_eps;

static int
fab_tx(void *arg, const uint8_t dst[6], const void *body, uint16_t len)
{
	struct fab_ep *from = arg;
	struct fab_frame *f;

	if (len > FRAME_MAX || g_q_tail - g_q_head == QUEUE_MAX || g_nb_log == LOG_MAX) {
		return -ENOBUFS;
	}
	f = &g_queue[g_q_tail++ % QUEUE_MAX];
	memcpy(f->src, from->mac, 6);
	memcpy(f->dst, dst, 6);
	f->len = len;
	memcpy(f->body, body, len);
	memcpy(g_log[g_nb_log].src, from->mac, 6);
	memcpy(g_log[g_nb_log].dst, dst, 6);
	g_log[g_nb_log].plain = rpci_ctrl_decode(body, len, &g_log[g_nb_log].m, NULL) == 0;
	g_nb_log++;
	return 0;
}

static void
fab_reset(void)
{
	g_q_head = g_q_tail = 0;
	g_nb_log = 0;
	g_nb_eps = 0;
	g_now = T0;
}

/* Deliver what is queued (and what that makes), to the endpoints on the fabric. */
static unsigned int
fab_run(void)
{
	unsigned int n = 0, i;

	while (g_q_head != g_q_tail && n < 10000) {
		struct fab_frame f = g_queue[g_q_head++ % QUEUE_MAX];

		n++;
		for (i = 0; i < g_nb_eps; i++) {
			if (g_eps[i].attached && memcmp(g_eps[i].mac, f.dst, 6) == 0) {
				g_eps[i].rx(g_eps[i].ep, f.src, f.body, f.len);
			}
		}
	}
	return n;
}

static struct fab_ep *
fab_add(const struct rpci_conf_host *h)
{
	struct fab_ep *e = &g_eps[g_nb_eps++];

	memset(e, 0, sizeof(*e));
	memcpy(e->mac, h->mac, 6);
	return e;
}

/* Sent so far: how many of type from src to dst (NULL: any). */
static unsigned int
sent_count(enum rpci_ctrl_type type, const uint8_t *src, const uint8_t *dst)
{
	unsigned int i, n = 0;

	for (i = 0; i < g_nb_log; i++) {
		if (g_log[i].plain && g_log[i].m.type == type &&
		    (src == NULL || memcmp(g_log[i].src, src, 6) == 0) &&
		    (dst == NULL || memcmp(g_log[i].dst, dst, 6) == 0)) {
			n++;
		}
	}
	return n;
}

/* What sent_last() and sent_ack() give when nothing was sent: no type, all zero. */
static const struct rpci_ctrl_msg g_none;

/* The last message of type from src to dst (NULL: any), or &g_none. */
static const struct rpci_ctrl_msg *
sent_last(enum rpci_ctrl_type type, const uint8_t *src, const uint8_t *dst)
{
	unsigned int i;

	for (i = g_nb_log; i-- > 0;) {
		if (g_log[i].plain && g_log[i].m.type == type &&
		    (src == NULL || memcmp(g_log[i].src, src, 6) == 0) &&
		    (dst == NULL || memcmp(g_log[i].dst, dst, 6) == 0)) {
			return &g_log[i].m;
		}
	}
	return &g_none;
}

/* The ACK of message id sent to dst, or &g_none. */
static const struct rpci_ctrl_msg *
sent_ack(const uint8_t *dst, uint64_t id)
{
	unsigned int i;

	for (i = g_nb_log; i-- > 0;) {
		if (g_log[i].plain && g_log[i].m.type == RPCI_CTRL_ACK &&
		    g_log[i].m.u.ack.acked_id == id && memcmp(g_log[i].dst, dst, 6) == 0) {
			return &g_log[i].m;
		}
	}
	return &g_none;
}

/* Feed an endpoint a plain message as if host src sent it (from its address). */
static void
feed(struct fab_ep *to, const uint8_t src[6], struct rpci_ctrl_msg *m)
{
	static uint64_t next_id = 1000000;
	char buf[RPCI_CTRL_MAX + 1];
	int len;

	if (m->id == 0) {
		m->id = next_id++;
	}
	len = rpci_ctrl_encode(m, buf, sizeof(buf));
	CU_ASSERT_FATAL(len > 0);
	to->rx(to->ep, src, buf, (uint16_t)len);
}

static const uint8_t *
mac_of(const struct rpci_conf *conf, unsigned int h)
{
	return conf->hosts[h].mac;
}

static void
params_init(struct rpci_ctrlnode_params *p, const struct rpci_conf *conf, unsigned int h,
	    struct rpci_auth *auth, struct fab_ep *e)
{
	memset(p, 0, sizeof(*p));
	p->conf = conf;
	p->host = &conf->hosts[h];
	p->auth = auth;
	p->io.tx = fab_tx;
	p->io.now_us = fake_now;
	p->io.arg = e;
}

static struct rpci_ctrl_chan_stats
chan_stats(struct rpci_ctrl_chan *c)
{
	struct rpci_ctrl_chan_stats st;

	rpci_ctrl_chan_stats(c, &st);
	return st;
}

/* ------------------------------------------------- messages the tests feed */

/* A REGISTER of device dev of server s as the deployment file has it. */
static struct rpci_ctrl_msg
msg_register(const struct rpci_conf *conf, unsigned int s, unsigned int dev)
{
	const struct rpci_conf_host *h = &conf->hosts[s];
	const struct rpci_conf_device *d = &h->devices[dev];
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REGISTER;
	snprintf(m.u.reg.server, sizeof(m.u.reg.server), "%s", h->name);
	memcpy(m.u.reg.server_mac, h->mac, 6);
	snprintf(m.u.reg.device, sizeof(m.u.reg.device), "%s", d->name);
	m.u.reg.function = (uint16_t)dev;
	m.u.reg.vendor_id = d->vendor_id;
	m.u.reg.device_id = d->device_id;
	m.u.reg.class_code = d->class_code;
	m.u.reg.memory_bytes = d->memory_bytes;
	snprintf(m.u.reg.backend, sizeof(m.u.reg.backend), "%s", d->backend);
	return m;
}

static struct rpci_ctrl_msg
msg_request(uint64_t min_memory, uint32_t count)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REQUEST;
	m.u.request.req.min_memory = min_memory;
	m.u.request.count = count;
	return m;
}

static struct rpci_ctrl_msg
msg_attach(const struct rpci_conf *conf, uint64_t request_id, uint64_t lease, unsigned int s,
	   unsigned int dev, unsigned int client, bool failover)
{
	const struct rpci_conf_host *h = &conf->hosts[s];
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_ATTACH;
	m.u.attach.request_id = request_id;
	m.u.attach.failover = failover;
	m.u.attach.att.lease_id = lease;
	snprintf(m.u.attach.att.server, sizeof(m.u.attach.att.server), "%s", h->name);
	memcpy(m.u.attach.att.server_mac, h->mac, 6);
	snprintf(m.u.attach.att.device, sizeof(m.u.attach.att.device), "%s",
		 dev < h->nb_devices ? h->devices[dev].name : "nosuch");
	m.u.attach.att.function = (uint16_t)dev;
	memcpy(m.u.attach.att.client_mac, conf->hosts[client].mac, 6);
	m.u.attach.att.expires_us = g_now + 3000000;
	return m;
}

static struct rpci_ctrl_msg
msg_detach(uint64_t lease, const char *reason, bool failover)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_DETACH;
	m.u.detach.lease_id = lease;
	m.u.detach.failover = failover;
	snprintf(m.u.detach.reason, sizeof(m.u.detach.reason), "%s", reason);
	return m;
}

static struct rpci_ctrl_msg
msg_ack(uint64_t id, int32_t status)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_ACK;
	m.u.ack.acked_id = id;
	m.u.ack.status = status;
	return m;
}

static struct rpci_ctrl_msg
msg_text(const char *from, const char *to, const char *text)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_MESSAGE;
	snprintf(m.u.message.from, sizeof(m.u.message.from), "%s", from);
	snprintf(m.u.message.to, sizeof(m.u.message.to), "%s", to);
	snprintf(m.u.message.text, sizeof(m.u.message.text), "%s", text);
	return m;
}

/* ------------------------------------------------------ the endpoints */

static void
selector_rx(void *ep, const uint8_t src[6], const void *body, uint16_t len)
{
	rpci_ctrlnode_selector_rx(ep, src, body, len);
}

static void
server_rx(void *ep, const uint8_t src[6], const void *body, uint16_t len)
{
	rpci_ctrlnode_server_rx(ep, src, body, len);
}

static void
client_rx(void *ep, const uint8_t src[6], const void *body, uint16_t len)
{
	rpci_ctrlnode_client_rx(ep, src, body, len);
}

static struct rpci_ctrlnode_selector *
selector_on(const struct rpci_conf *conf, unsigned int h, struct rpci_auth *auth)
{
	struct rpci_ctrlnode_params p;
	struct fab_ep *e = fab_add(&conf->hosts[h]);

	params_init(&p, conf, h, auth, e);
	e->rx = selector_rx;
	e->ep = rpci_ctrlnode_selector_create(&p);
	e->attached = e->ep != NULL;
	return e->ep;
}

/* What a server agent's owner was asked and told. */
static struct {
	unsigned int infos;
	unsigned int statuses;
	unsigned int attached;
	unsigned int detached;
	unsigned int last_dev;
	struct rpci_sel_attachment last_att;
	uint64_t last_lease;
	char last_reason[RPCI_SEL_REASON_MAX];
	uint64_t kernel_ns;   /* what device_status says of device 0 */
	/* the client of each device's session (as a server opens one for its attachment) */
	bool in_use[RPCI_CONF_DEVICES_MAX];
	uint8_t client[RPCI_CONF_DEVICES_MAX][6];
} g_srv;

static void
srv_device_info(void *arg, unsigned int dev, struct rpci_sel_device_info *info)
{
	const struct rpci_conf_device *d = &((const struct rpci_conf_host *)arg)->devices[dev];

	g_srv.infos++;
	info->vendor_id = d->vendor_id;
	info->device_id = d->device_id;
	info->class_code = d->class_code;
	info->memory_bytes = d->memory_bytes;
	snprintf(info->backend, sizeof(info->backend), "%s", d->backend);
	/* what the agent must set itself, set wrong here */
	snprintf(info->server, sizeof(info->server), "wrong");
	info->function = 99;
}

static void
srv_device_status(void *arg, unsigned int dev, struct rpci_sel_device_status *st)
{
	const struct rpci_conf_device *d = &((const struct rpci_conf_host *)arg)->devices[dev];

	g_srv.statuses++;
	st->memory_free = d->memory_bytes / 2;
	st->vendor_id = d->vendor_id;
	st->device_id = d->device_id;
	st->class_code = d->class_code;
	st->total.kernel_ns = dev == 0 ? g_srv.kernel_ns : 0;
	st->in_use = g_srv.in_use[dev];
	memcpy(st->client_mac, g_srv.client[dev], 6);
}

static void
srv_attached(void *arg, unsigned int dev, const struct rpci_sel_attachment *att)
{
	(void)arg;
	g_srv.attached++;
	g_srv.last_dev = dev;
	g_srv.last_att = *att;
	g_srv.in_use[dev] = true;
	memcpy(g_srv.client[dev], att->client_mac, 6);
}

static void
srv_detached(void *arg, unsigned int dev, uint64_t lease_id, const char *reason)
{
	(void)arg;
	g_srv.detached++;
	g_srv.in_use[dev] = false;
	g_srv.last_dev = dev;
	g_srv.last_lease = lease_id;
	snprintf(g_srv.last_reason, sizeof(g_srv.last_reason), "%s", reason);
}

static const struct rpci_ctrlnode_server_ops g_srv_ops = {
	.device_info = srv_device_info,
	.device_status = srv_device_status,
	.attached = srv_attached,
	.detached = srv_detached,
};

static struct rpci_ctrlnode_server *
server_on(const struct rpci_conf *conf, unsigned int h, struct rpci_auth *auth,
	  struct rpci_ctrlnode_selector *local)
{
	struct rpci_ctrlnode_params p;
	struct fab_ep *e;

	memset(&g_srv, 0, sizeof(g_srv));
	if (local != NULL) {
		/* the selector's endpoint on the fabric takes the agent's place */
		e = &g_eps[g_nb_eps - 1];
	} else {
		e = fab_add(&conf->hosts[h]);
	}
	params_init(&p, conf, h, auth, e);
	e->rx = server_rx;
	e->ep = rpci_ctrlnode_server_create(&p, &g_srv_ops, (void *)&conf->hosts[h], local);
	e->attached = e->ep != NULL;
	return e->ep;
}

/* What a client endpoint's owner was told. */
static struct {
	unsigned int attached;
	unsigned int failed;
	unsigned int lost;
	unsigned int texts;
	void *last_req_arg;
	uint64_t last_request;
	struct rpci_sel_attachment att[RPCI_CTRLNODE_REQUEST_COUNT_MAX];
	uint32_t nb_att;
	int error;
	char reason[256];
	uint64_t lost_lease;
	bool lost_failover;
	char from[64];
	char text[RPCI_CTRL_TEXT_MAX];
	bool holds_leases;
	unsigned int asked_leases;
} g_cli;

static void
cli_attached(void *arg, void *req_arg, uint64_t request_id, const struct rpci_sel_attachment *att,
	     uint32_t count)
{
	(void)arg;
	g_cli.attached++;
	g_cli.last_req_arg = req_arg;
	g_cli.last_request = request_id;
	g_cli.nb_att = count;
	memcpy(g_cli.att, att, count * sizeof(*att));
}

static void
cli_request_failed(void *arg, void *req_arg, uint64_t request_id, int error, const char *reason)
{
	(void)arg;
	g_cli.failed++;
	g_cli.last_req_arg = req_arg;
	g_cli.last_request = request_id;
	g_cli.error = error;
	snprintf(g_cli.reason, sizeof(g_cli.reason), "%s", reason);
}

static void
cli_lease_lost(void *arg, uint64_t lease_id, const char *reason, bool failover)
{
	(void)arg;
	g_cli.lost++;
	g_cli.lost_lease = lease_id;
	g_cli.lost_failover = failover;
	snprintf(g_cli.reason, sizeof(g_cli.reason), "%s", reason);
}

static void
cli_text(void *arg, const char *from, const char *text)
{
	(void)arg;
	g_cli.texts++;
	snprintf(g_cli.from, sizeof(g_cli.from), "%s", from);
	snprintf(g_cli.text, sizeof(g_cli.text), "%s", text);
}

static bool
cli_holds_leases(void *arg)
{
	(void)arg;
	g_cli.asked_leases++;
	return g_cli.holds_leases;
}

static const struct rpci_ctrlnode_client_ops g_cli_ops = {
	.attached = cli_attached,
	.request_failed = cli_request_failed,
	.lease_lost = cli_lease_lost,
	.text = cli_text,
	.holds_leases = cli_holds_leases,
};

static struct rpci_ctrlnode_client *
client_on(const struct rpci_conf *conf, unsigned int h, struct rpci_auth *auth)
{
	struct rpci_ctrlnode_params p;
	struct fab_ep *e = fab_add(&conf->hosts[h]);

	memset(&g_cli, 0, sizeof(g_cli));
	params_init(&p, conf, h, auth, e);
	e->rx = client_rx;
	e->ep = rpci_ctrlnode_client_create(&p, &g_cli_ops, NULL);
	e->attached = e->ep != NULL;
	return e->ep;
}

/* The fabric endpoint of an endpoint. */
static struct fab_ep *
ep_of(const void *ep)
{
	unsigned int i;

	for (i = 0; i < g_nb_eps; i++) {
		if (g_eps[i].ep == ep) {
			return &g_eps[i];
		}
	}
	CU_FAIL("no such endpoint");
	return &g_eps[0];
}

/* --------------------------------------------------------------- making */

static void
test_create_refused(void)
{
	struct rpci_ctrlnode_client_ops cops = g_cli_ops;
	struct rpci_ctrlnode_server_ops sops = g_srv_ops;
	struct rpci_ctrlnode_params p;
	struct fab_ep *e;

	fab_reset();
	e = fab_add(&g_conf->hosts[C1]);
	/* no parameters, no keys, no transport, two transports */
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_client_create(NULL, &g_cli_ops, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params_init(&p, g_conf, C1, NULL, e);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_client_create(&p, &g_cli_ops, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params_init(&p, g_conf, C1, g_auth[C1], e);
	p.io.tx = NULL;
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_client_create(&p, &g_cli_ops, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	p.io.tx = fab_tx;
	p.io.link = (struct rpci_link *)(uintptr_t)1;
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_client_create(&p, &g_cli_ops, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* an op missing */
	params_init(&p, g_conf, C1, g_auth[C1], e);
	cops.holds_leases = NULL;
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_client_create(&p, &cops, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	sops.detached = NULL;
	params_init(&p, g_conf, S1, g_auth[S1], e);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_server_create(&p, &sops, NULL, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* the wrong role: a server as a client, a client as a server, a server as selector */
	params_init(&p, g_conf, S1, g_auth[S1], e);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_client_create(&p, &g_cli_ops, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params_init(&p, g_conf, C1, g_auth[C1], e);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_server_create(&p, &g_srv_ops, NULL, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params_init(&p, g_conf, S1, g_auth[S1], e);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_selector_create(&p));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* a deployment without a selector */
	params_init(&p, g_conf_nosel, 1, g_auth[C1], e);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_client_create(&p, &g_cli_ops, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params_init(&p, g_conf_nosel, 0, g_auth[S1], e);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_server_create(&p, &g_srv_ops, NULL, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* nothing was sent by any of them */
	CU_ASSERT_EQUAL(g_nb_log, 0);
	/* freeing nothing */
	rpci_ctrlnode_client_free(NULL);
	rpci_ctrlnode_server_free(NULL);
	rpci_ctrlnode_selector_free(NULL);
}

/* ------------------------------------------------------------- selector */

static void
test_selector_register_request_attach(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *s1 = mac_of(g_conf, S1);
	const uint8_t *c1 = mac_of(g_conf, C1);
	struct rpci_ctrlnode_selector_stats st;
	struct rpci_ctrlnode_selector *n;
	const struct rpci_ctrl_msg *a, *ack;
	struct rpci_ctrl_msg m;
	struct fab_ep *e;

	fab_reset();
	n = selector_on(g_conf, SEL, g_auth[SEL]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	e = ep_of(n);
	m = msg_register(g_conf, S1, 0);
	feed(e, s1, &m);
	ack = sent_ack(s1, m.id);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(ack, &g_none);
	CU_ASSERT_EQUAL(ack->u.ack.status, 0);
	CU_ASSERT_EQUAL(rpci_selector_table(rpci_ctrlnode_selector_logic(n), NULL, 0), 1);
	/* a heartbeat is taken silently */
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_STATUS;
	snprintf(m.u.status.server, sizeof(m.u.status.server), "s1");
	snprintf(m.u.status.device, sizeof(m.u.status.device), "g0");
	m.u.status.st.memory_free = 1 << 20;
	g_now += 1000;
	feed(e, s1, &m);
	CU_ASSERT_PTR_EQUAL(sent_ack(s1, m.id), &g_none);
	/* a request: ATTACH to the server and to the client, each until acknowledged */
	m = msg_request(0, 1);
	feed(e, c1, &m);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ATTACH, sel, s1), 1);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ATTACH, sel, c1), 1);
	a = sent_last(RPCI_CTRL_ATTACH, sel, c1);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(a, &g_none);
	CU_ASSERT_EQUAL(a->u.attach.request_id, m.id);
	CU_ASSERT_STRING_EQUAL(a->u.attach.att.server, "s1");
	CU_ASSERT_STRING_EQUAL(a->u.attach.att.device, "g0");
	CU_ASSERT_EQUAL(memcmp(a->u.attach.att.client_mac, c1, 6), 0);
	CU_ASSERT_EQUAL(memcmp(a->u.attach.att.server_mac, s1, 6), 0);
	CU_ASSERT(a->u.attach.att.lease_id != 0);
	CU_ASSERT_FALSE(a->u.attach.failover);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).pending, 2);
	/* the same request again (the client's retry): the same answer, no second device */
	feed(e, c1, &m);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ATTACH, sel, c1), 2);
	CU_ASSERT_EQUAL(sent_last(RPCI_CTRL_ATTACH, sel, c1)->u.attach.att.lease_id,
			a->u.attach.att.lease_id);
	/* both ends acknowledge: nothing is sent again */
	m = msg_ack(sent_last(RPCI_CTRL_ATTACH, sel, s1)->id, 0);
	feed(e, s1, &m);
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.registers, 1);
	CU_ASSERT_EQUAL(st.statuses, 1);
	CU_ASSERT_EQUAL(st.requests, 2);
	CU_ASSERT(st.attaches >= 1);
	CU_ASSERT_EQUAL(st.rejects, 0);
	rpci_ctrlnode_selector_free(n);
}

static void
test_selector_reject(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	struct rpci_ctrlnode_selector_stats st;
	struct rpci_ctrlnode_selector *n;
	const struct rpci_ctrl_msg *r;
	struct rpci_ctrl_msg m;

	fab_reset();
	n = selector_on(g_conf, SEL, g_auth[SEL]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	m = msg_register(g_conf, S1, 0);
	feed(ep_of(n), mac_of(g_conf, S1), &m);
	/* 1 TiB: nobody has it */
	m = msg_request(1ull << 40, 1);
	feed(ep_of(n), c1, &m);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ATTACH, sel, NULL), 0);
	r = sent_last(RPCI_CTRL_REJECT, sel, c1);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(r, &g_none);
	CU_ASSERT_EQUAL(r->u.reject.request_id, m.id);
	CU_ASSERT(r->u.reject.error < 0);
	CU_ASSERT(strstr(r->u.reject.reason, "memory") != NULL);
	/* not reliable: the client asks again until it has an answer */
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).pending, 0);
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.rejects, 1);
	rpci_ctrlnode_selector_free(n);
}

/* What the channel refuses before the selector sees it, and what the node refuses itself. */
static void
test_selector_refusals(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *s1 = mac_of(g_conf, S1);
	const uint8_t *c1 = mac_of(g_conf, C1), *c2 = mac_of(g_conf, C2);
	static const uint8_t stranger[6] = { 2, 0, 0, 0, 9, 9 };
	struct rpci_ctrlnode_selector_stats st;
	struct rpci_ctrl_chan_stats cs;
	struct rpci_ctrlnode_selector *n;
	const struct rpci_ctrl_msg *ack;
	struct rpci_ctrl_msg m;
	uint64_t lease;
	struct fab_ep *e;

	fab_reset();
	n = selector_on(g_conf, SEL, g_auth[SEL]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	e = ep_of(n);
	/* a REGISTER from a client: not its role */
	m = msg_register(g_conf, S1, 0);
	feed(e, c1, &m);
	/* a REGISTER from s2 of s1's device: forged */
	m = msg_register(g_conf, S1, 0);
	feed(e, mac_of(g_conf, S2), &m);
	/* a REQUEST from a server; one from no host of the deployment */
	m = msg_request(0, 1);
	feed(e, s1, &m);
	m = msg_request(0, 1);
	feed(e, stranger, &m);
	/* an ATTACH to the selector: no endpoint of that role takes it */
	m = msg_attach(g_conf, 1, 1, S1, 0, C1, false);
	feed(e, sel, &m);
	/* not JSON */
	e->rx(e->ep, c1, "{\"v\":1,", 7);
	cs = chan_stats(rpci_ctrlnode_selector_chan(n));
	CU_ASSERT_EQUAL(cs.rx_role, 3);
	CU_ASSERT_EQUAL(cs.rx_forged, 1);
	CU_ASSERT_EQUAL(cs.rx_unknown, 1);
	CU_ASSERT_EQUAL(cs.rx_bad, 1);
	CU_ASSERT_EQUAL(cs.rx, 0);
	CU_ASSERT_EQUAL(rpci_selector_table(rpci_ctrlnode_selector_logic(n), NULL, 0), 0);
	CU_ASSERT_EQUAL(g_nb_log, 0); /* nothing answered */
	/* c1 gets a device; c2 may not release it nor report on it */
	m = msg_register(g_conf, S1, 0);
	feed(e, s1, &m);
	m = msg_request(0, 1);
	feed(e, c1, &m);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(sent_last(RPCI_CTRL_ATTACH, sel, c1), &g_none);
	lease = sent_last(RPCI_CTRL_ATTACH, sel, c1)->u.attach.att.lease_id;
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_RELEASE;
	m.u.release.lease_id = lease;
	feed(e, c2, &m);
	ack = sent_ack(c2, m.id);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(ack, &g_none);
	CU_ASSERT_EQUAL(ack->u.ack.status, -EPERM);
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REPORT;
	m.u.report.lease_id = lease;
	snprintf(m.u.report.job, sizeof(m.u.report.job), "saxpy");
	m.u.report.elapsed_us = 10;
	feed(e, c2, &m);
	CU_ASSERT_EQUAL(sent_ack(c2, m.id)->u.ack.status, -EPERM);
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.not_holder, 2);
	CU_ASSERT_EQUAL(st.releases, 0);
	CU_ASSERT_EQUAL(st.reports, 0);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).rx_refused, 2);
	/* the lease is still c1's: its own RELEASE is taken and detaches nothing else */
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_RELEASE;
	m.u.release.lease_id = lease;
	feed(e, c1, &m);
	CU_ASSERT_EQUAL(sent_ack(c1, m.id)->u.ack.status, 0);
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.releases, 1);
	/* a client over its limits (8 live requests by default) is refused and counted */
	rpci_ctrlnode_selector_free(n);
}

static void
test_selector_over_limit(void)
{
	const uint8_t *c1 = mac_of(g_conf, C1);
	struct rpci_ctrlnode_selector_stats st;
	struct rpci_ctrlnode_selector *n;
	struct rpci_ctrl_msg m;
	unsigned int i;

	fab_reset();
	n = selector_on(g_conf, SEL, g_auth[SEL]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	m = msg_register(g_conf, S1, 0);
	feed(ep_of(n), mac_of(g_conf, S1), &m);
	m = msg_register(g_conf, S1, 1);
	feed(ep_of(n), mac_of(g_conf, S1), &m);
	m = msg_register(g_conf, S2, 0);
	feed(ep_of(n), mac_of(g_conf, S2), &m);
	/* more devices at once than a client may hold (default 4... or all three free) */
	for (i = 0; i < 12; i++) {
		m = msg_request(0, 1);
		feed(ep_of(n), c1, &m);
	}
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.requests, 12);
	/* three devices: three attachments, then "busy" rejects or the limit */
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ATTACH, NULL, c1), 3);
	CU_ASSERT_EQUAL(st.rejects, 9);
	CU_ASSERT_EQUAL(st.over_limit, chan_stats(rpci_ctrlnode_selector_chan(n)).rx_refused);
	rpci_ctrlnode_selector_free(n);
}

static void
test_selector_message(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	const uint8_t *c2 = mac_of(g_conf, C2);
	struct rpci_ctrlnode_selector_stats st;
	struct rpci_ctrlnode_selector *n;
	const struct rpci_ctrl_msg *fwd;
	struct rpci_ctrl_msg m;
	uint64_t id;

	fab_reset();
	n = selector_on(g_conf, SEL, g_auth[SEL]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	m = msg_text("c1", "c2", "hello from c1");
	feed(ep_of(n), c1, &m);
	id = m.id;
	CU_ASSERT_EQUAL(sent_ack(c1, id)->u.ack.status, 0);
	fwd = sent_last(RPCI_CTRL_MESSAGE, sel, c2);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(fwd, &g_none);
	CU_ASSERT_STRING_EQUAL(fwd->u.message.from, "c1");
	CU_ASSERT_STRING_EQUAL(fwd->u.message.text, "hello from c1");
	CU_ASSERT(fwd->id != id); /* a message of the selector's own */
	/* the sender's retry: acknowledged, not passed on twice */
	feed(ep_of(n), c1, &m);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_MESSAGE, sel, c2), 1);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ACK, sel, c1), 2);
	/* to no client host */
	m = msg_text("c1", "s1", "hello server");
	feed(ep_of(n), c1, &m);
	CU_ASSERT_EQUAL(sent_ack(c1, m.id)->u.ack.status, -ENOENT);
	/* signed with another client's name: forged (the channel refuses it) */
	m = msg_text("c2", "c1", "I am c2");
	feed(ep_of(n), c1, &m);
	CU_ASSERT_PTR_EQUAL(sent_ack(c1, m.id), &g_none);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).rx_forged, 1);
	/* from a server: not its role */
	m = msg_text("s1", "c1", "hello client");
	feed(ep_of(n), mac_of(g_conf, S1), &m);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).rx_role, 1);
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.messages, 1);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_MESSAGE, sel, NULL), 1);
	rpci_ctrlnode_selector_free(n);
}

/* The node's own check of a MESSAGE's sender: the host of the address, not the name. */
static void
test_selector_message_sender(void)
{
	const uint8_t *c1 = mac_of(g_conf, C1), *c2 = mac_of(g_conf, C2);
	static const uint8_t stranger[6] = { 2, 0, 0, 0, 9, 9 };
	struct rpci_ctrl_msg m = msg_text("c1", "c2", "x");
	const char *why = NULL;

	CU_ASSERT_PTR_EQUAL(rpci_ctrlnode_message_sender(g_conf, c1, &m, &why),
			    &g_conf->hosts[C1]);
	CU_ASSERT_PTR_NULL(why);
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_message_sender(g_conf, c2, &m, &why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "another sender"));
	m = msg_text("s1", "c2", "x");
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_message_sender(g_conf, mac_of(g_conf, S1), &m, &why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a client"));
	CU_ASSERT_PTR_NULL(rpci_ctrlnode_message_sender(g_conf, stranger, &m, &why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no host"));
}

/* Timers: a lease not renewed ends (DETACH to both ends); operator actions. */
static void
test_selector_timers_and_operator(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *s1 = mac_of(g_conf, S1);
	const uint8_t *c1 = mac_of(g_conf, C1);
	struct rpci_ctrlnode_selector *n;
	const struct rpci_ctrl_msg *d;
	struct rpci_ctrl_msg m;
	char msg[128];
	uint64_t lease, t;

	fab_reset();
	n = selector_on(g_conf, SEL, g_auth[SEL]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(rpci_ctrlnode_selector_now_us(n), T0);
	m = msg_register(g_conf, S1, 0);
	feed(ep_of(n), s1, &m);
	m = msg_request(0, 1);
	feed(ep_of(n), c1, &m);
	lease = sent_last(RPCI_CTRL_ATTACH, sel, c1)->u.attach.att.lease_id;
	/* the server keeps reporting (the device is in use), the client never renews */
	for (t = 0; t < 4000000 && sent_count(RPCI_CTRL_DETACH, sel, c1) == 0; t += 100000) {
		g_now += 100000;
		memset(&m, 0, sizeof(m));
		m.type = RPCI_CTRL_STATUS;
		snprintf(m.u.status.server, sizeof(m.u.status.server), "s1");
		snprintf(m.u.status.device, sizeof(m.u.status.device), "g0");
		m.u.status.st.in_use = true;
		memcpy(m.u.status.st.client_mac, c1, 6);
		feed(ep_of(n), s1, &m);
		rpci_ctrlnode_selector_poll(n);
	}
	d = sent_last(RPCI_CTRL_DETACH, sel, c1);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(d, &g_none);
	CU_ASSERT_EQUAL(d->u.detach.lease_id, lease);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_DETACH, sel, s1), 1);
	CU_ASSERT(t >= 3000000 - 100000); /* not before the lease ran out */
	/* the operator: attach, detach, drain */
	CU_ASSERT_EQUAL(rpci_ctrlnode_selector_attach(n, "s1", "g0", c1, msg, sizeof(msg)), 0);
	CU_ASSERT(strstr(msg, "attached") != NULL);
	CU_ASSERT_EQUAL(rpci_ctrlnode_selector_attach(n, "s1", "g0", c1, msg, sizeof(msg)),
			-EBUSY);
	CU_ASSERT_EQUAL(rpci_ctrlnode_selector_attach(n, "s1", "g9", c1, msg, sizeof(msg)),
			-ENOENT);
	lease = sent_last(RPCI_CTRL_ATTACH, sel, c1)->u.attach.att.lease_id;
	CU_ASSERT_EQUAL(rpci_ctrlnode_selector_detach(n, lease, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(sent_last(RPCI_CTRL_DETACH, sel, s1)->u.detach.lease_id, lease);
	CU_ASSERT(rpci_ctrlnode_selector_detach(n, 424242, msg, sizeof(msg)) < 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_selector_drain(n, "s1", true, msg, sizeof(msg)), 0);
	m = msg_request(0, 1);
	feed(ep_of(n), c1, &m);
	CU_ASSERT_PTR_NOT_EQUAL(sent_last(RPCI_CTRL_REJECT, sel, c1), &g_none);
	CU_ASSERT(rpci_ctrlnode_selector_drain(n, "nosuch", true, msg, sizeof(msg)) < 0);
	rpci_ctrlnode_selector_free(n);
}

/* --------------------------------------------------------------- server */

static void
test_server_register_and_heartbeat(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *s1 = mac_of(g_conf, S1);
	struct rpci_ctrlnode_server_stats st;
	struct rpci_ctrlnode_server *a;
	const struct rpci_ctrl_msg *r0 = NULL, *r1 = NULL, *s;
	struct rpci_ctrl_msg m;
	unsigned int i;

	fab_reset();
	a = server_on(g_conf, S1, g_auth[S1], NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* a REGISTER per device at once, under the names of the file */
	CU_ASSERT_EQUAL(g_srv.infos, 2);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 2);
	for (i = 0; i < g_nb_log; i++) {
		if (g_log[i].m.type == RPCI_CTRL_REGISTER && g_log[i].m.u.reg.function == 0) {
			r0 = &g_log[i].m;
		} else if (g_log[i].m.type == RPCI_CTRL_REGISTER) {
			r1 = &g_log[i].m;
		}
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(r0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
	CU_ASSERT_STRING_EQUAL(r0->u.reg.server, "s1");
	CU_ASSERT_STRING_EQUAL(r0->u.reg.device, "g0");
	CU_ASSERT_EQUAL(memcmp(r0->u.reg.server_mac, s1, 6), 0);
	CU_ASSERT_STRING_EQUAL(r1->u.reg.device, "g1");
	CU_ASSERT_EQUAL(r1->u.reg.function, 1);
	CU_ASSERT_EQUAL(r1->u.reg.memory_bytes, 64ull << 20);
	CU_ASSERT_FALSE(rpci_ctrlnode_server_registered(a, 0));
	/* the selector takes g0 and refuses g1 */
	m = msg_ack(r0->id, 0);
	feed(ep_of(a), sel, &m);
	m = msg_ack(r1->id, -ENOSPC);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_TRUE(rpci_ctrlnode_server_registered(a, 0));
	CU_ASSERT_FALSE(rpci_ctrlnode_server_registered(a, 1));
	CU_ASSERT_FALSE(rpci_ctrlnode_server_registered(a, 7));
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_server_chan(a)).pending, 0);
	/* no heartbeat before its time */
	g_now += 99999;
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_STATUS, s1, sel), 0);
	/* then: STATUS of g0 (load: a quarter of the period in kernels), REGISTER of g1 again */
	g_srv.kernel_ns = 25000000;
	g_now += 1;
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_STATUS, s1, sel), 1);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 3);
	CU_ASSERT_EQUAL(sent_last(RPCI_CTRL_REGISTER, s1, sel)->u.reg.function, 1);
	s = sent_last(RPCI_CTRL_STATUS, s1, sel);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(s, &g_none);
	CU_ASSERT_STRING_EQUAL(s->u.status.server, "s1");
	CU_ASSERT_STRING_EQUAL(s->u.status.device, "g0");
	CU_ASSERT_EQUAL(s->u.status.st.memory_free, 32ull << 20);
	CU_ASSERT_DOUBLE_EQUAL(s->u.status.st.load, 0.25, 1e-9);
	CU_ASSERT_EQUAL(g_srv.statuses, 1);
	/* the selector does not know g0 any more (it restarted): it registers again */
	m = msg_ack(s->id, -ENOENT);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_FALSE(rpci_ctrlnode_server_registered(a, 0));
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 4);
	rpci_ctrlnode_server_stats(a, &st);
	CU_ASSERT_EQUAL(st.registers, 4);
	CU_ASSERT_EQUAL(st.registered, 1);
	CU_ASSERT_EQUAL(st.register_refused, 1);
	CU_ASSERT_EQUAL(st.statuses, 1);
	rpci_ctrlnode_server_free(a);
}

/*
 * A REGISTER never acknowledged is sent again every 50 ms, 40 times in all;
 * once the channel has given up, the next heartbeat registers again.
 */
static void
test_server_register_retries(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *s1 = mac_of(g_conf, S1);
	struct rpci_ctrlnode_server *a;
	struct rpci_ctrl_msg m;
	unsigned int i;

	fab_reset();
	a = server_on(g_conf, S1, g_auth[S1], NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 2);
	g_now += RPCI_CTRLNODE_RETRY_MS * 1000 - 1;
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 2);
	g_now += 1;
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 4);
	/* the heartbeats meanwhile (every 100 ms) leave them to the channel */
	for (i = 2; i < RPCI_CTRLNODE_MAX_TRIES; i++) {
		g_now += RPCI_CTRLNODE_RETRY_MS * 1000;
		rpci_ctrlnode_server_poll(a);
	}
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 2 * RPCI_CTRLNODE_MAX_TRIES);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_server_chan(a)).given_up, 0);
	/* 2 s: the channel gives up, the heartbeat of that moment registers again */
	g_now += RPCI_CTRLNODE_RETRY_MS * 1000;
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_server_chan(a)).given_up, 2);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REGISTER, s1, sel), 2 * RPCI_CTRLNODE_MAX_TRIES + 2);
	CU_ASSERT_FALSE(rpci_ctrlnode_server_registered(a, 0));
	/* the selector is back: it answers the new one */
	m = msg_ack(sent_last(RPCI_CTRL_REGISTER, s1, sel)->id, 0);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_TRUE(rpci_ctrlnode_server_registered(a, 0) ||
		       rpci_ctrlnode_server_registered(a, 1));
	rpci_ctrlnode_server_free(a);
}

static void
test_server_attach_detach(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	const uint8_t *c2 = mac_of(g_conf, C2);
	struct rpci_ctrlnode_server_stats st;
	struct rpci_ctrlnode_server *a;
	struct rpci_ctrl_msg m;
	char why[128];

	fab_reset();
	a = server_on(g_conf, S1, g_auth[S1], NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* not attached: nobody may open g1 yet (the ATTACH may be on its way) */
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 1, 5, c1, why, sizeof(why)),
			-EAGAIN);
	CU_ASSERT(strstr(why, "g1 is not attached") != NULL);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 9, 5, c1, why, sizeof(why)),
			-ENODEV);
	m = msg_attach(g_conf, 77, 5, S1, 1, C1, false);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	CU_ASSERT_EQUAL(g_srv.attached, 1);
	CU_ASSERT_EQUAL(g_srv.last_dev, 1);
	CU_ASSERT_EQUAL(g_srv.last_att.lease_id, 5);
	CU_ASSERT_EQUAL(memcmp(g_srv.last_att.client_mac, c1, 6), 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, 1), 5);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, 0), 0);
	/* only that client, only under that lease */
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 1, 5, c1, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 1, 5, c2, why, sizeof(why)),
			-EAGAIN);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 1, 6, c1, why, sizeof(why)),
			-EAGAIN);
	/* the selector's retry: acknowledged again, the owner is not told twice */
	feed(ep_of(a), sel, &m);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ACK, NULL, sel), 2);
	CU_ASSERT_EQUAL(g_srv.attached, 1);
	/* a device this host does not have, or another server's */
	m = msg_attach(g_conf, 78, 6, S1, 5, C1, false);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, -ENOENT);
	m = msg_attach(g_conf, 78, 6, S2, 0, C1, false);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, -ENOENT);
	CU_ASSERT_EQUAL(g_srv.attached, 1);
	/* the selector ends the lease: the owner ends the session, nobody may open */
	m = msg_detach(5, "released", false);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	CU_ASSERT_EQUAL(g_srv.detached, 1);
	CU_ASSERT_EQUAL(g_srv.last_dev, 1);
	CU_ASSERT_EQUAL(g_srv.last_lease, 5);
	CU_ASSERT_STRING_EQUAL(g_srv.last_reason, "released");
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, 1), 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 1, 5, c1, why, sizeof(why)),
			-EAGAIN);
	/* a DETACH of no lease here: acknowledged, nothing ends */
	m = msg_detach(99, "unknown", false);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	CU_ASSERT_EQUAL(g_srv.detached, 1);
	rpci_ctrlnode_server_stats(a, &st);
	CU_ASSERT_EQUAL(st.attaches, 1);
	CU_ASSERT_EQUAL(st.attach_unknown, 2);
	CU_ASSERT_EQUAL(st.detaches, 1);
	rpci_ctrlnode_server_free(a);
}

/* ATTACH and DETACH from another than the selector are refused and counted. */
static void
test_server_refusals(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	static const uint8_t stranger[6] = { 2, 0, 0, 0, 9, 9 };
	struct rpci_ctrl_chan_stats cs;
	struct rpci_ctrlnode_server *a;
	struct rpci_ctrl_msg m;
	char why[128];

	fab_reset();
	a = server_on(g_conf, S1, g_auth[S1], NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* a client attaches a device to itself */
	m = msg_attach(g_conf, 1, 5, S1, 0, C1, false);
	feed(ep_of(a), c1, &m);
	/* another server, and a stranger, too */
	feed(ep_of(a), mac_of(g_conf, S2), &m);
	feed(ep_of(a), stranger, &m);
	CU_ASSERT_EQUAL(g_srv.attached, 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 0, 5, c1, why, sizeof(why)),
			-EAGAIN);
	/* the selector's attachment, then a DETACH forged by the client */
	m = msg_attach(g_conf, 1, 5, S1, 0, C1, false);
	feed(ep_of(a), sel, &m);
	CU_ASSERT_EQUAL(g_srv.attached, 1);
	m = msg_detach(5, "forged", false);
	feed(ep_of(a), c1, &m);
	CU_ASSERT_EQUAL(g_srv.detached, 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, 0), 5);
	/* a REQUEST or REGISTER to a server: not what it takes */
	m = msg_request(0, 1);
	feed(ep_of(a), c1, &m);
	m = msg_register(g_conf, S2, 0);
	feed(ep_of(a), mac_of(g_conf, S2), &m);
	cs = chan_stats(rpci_ctrlnode_server_chan(a));
	CU_ASSERT_EQUAL(cs.rx_role, 5);
	CU_ASSERT_EQUAL(cs.rx_unknown, 1);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ACK, NULL, c1), 0);
	rpci_ctrlnode_server_free(a);
}

static void
test_server_session_end(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *s1 = mac_of(g_conf, S1);
	const uint8_t *c1 = mac_of(g_conf, C1);
	struct rpci_sel_usage u = { .bytes_in = 100, .bytes_out = 200, .kernels = 3 };
	struct rpci_ctrlnode_server *a;
	const struct rpci_ctrl_msg *s;
	struct rpci_ctrl_msg m;
	char why[128];
	unsigned int i;

	fab_reset();
	a = server_on(g_conf, S1, g_auth[S1], NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (i = 0; i < g_nb_log; i++) {
		if (g_log[i].m.type == RPCI_CTRL_REGISTER && g_log[i].m.u.reg.function == 0) {
			m = msg_ack(g_log[i].m.id, 0);
		}
	}
	feed(ep_of(a), sel, &m);
	m = msg_attach(g_conf, 1, 5, S1, 0, C1, false);
	feed(ep_of(a), sel, &m);
	m = msg_attach(g_conf, 2, 6, S1, 1, C1, false);
	feed(ep_of(a), sel, &m);
	/* g0's session ends: its STATUS at the next poll, not before */
	rpci_ctrlnode_server_session_ended(a, 0, c1, 42, &u);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_STATUS, s1, sel), 0);
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_STATUS, s1, sel), 1);
	s = sent_last(RPCI_CTRL_STATUS, s1, sel);
	CU_ASSERT_EQUAL(memcmp(s->u.status.st.client_mac, c1, 6), 0);
	CU_ASSERT_EQUAL(s->u.status.st.session, 42);
	CU_ASSERT_EQUAL(s->u.status.st.usage.bytes_out, 200);
	CU_ASSERT_EQUAL(s->u.status.st.usage.kernels, 3);
	CU_ASSERT_STRING_EQUAL(s->u.status.device, "g0");
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_STATUS, s1, sel), 1);
	/* a session ending does not end the lease; its client leaving does */
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, 0), 5);
	rpci_ctrlnode_server_lease_ended(a, 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, 0), 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, 0, 5, c1, why, sizeof(why)),
			-EAGAIN);
	/* g1 is not registered: its session's end is not reported */
	rpci_ctrlnode_server_session_ended(a, 1, c1, 43, &u);
	rpci_ctrlnode_server_poll(a);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_STATUS, s1, sel), 1);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, 1), 6);
	rpci_ctrlnode_server_free(a);
}

/* A host that is the selector and a server: their messages stay in the process. */
static void
test_server_with_selector(void)
{
	const uint8_t *ctl = mac_of(g_conf_both, 0), *c1 = mac_of(g_conf_both, 1);
	struct rpci_ctrlnode_selector_stats st;
	struct rpci_ctrlnode_selector *n;
	struct rpci_ctrlnode_server *a;
	struct rpci_ctrl_msg m;
	char why[128];

	fab_reset();
	n = selector_on(g_conf_both, 0, g_auth_both[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	a = server_on(g_conf_both, 0, g_auth_both[0], n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* registered within the call, nothing on the fabric */
	CU_ASSERT_TRUE(rpci_ctrlnode_server_registered(a, 0));
	CU_ASSERT_EQUAL(g_q_tail, 0);
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.registers, 1);
	/* a client's request arrives at the process: the selector attaches, the agent takes it */
	m = msg_request(0, 1);
	feed(ep_of(a), c1, &m);
	CU_ASSERT_EQUAL(g_srv.attached, 1);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ATTACH, ctl, c1), 1);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(
				a, 0, sent_last(RPCI_CTRL_ATTACH, ctl, c1)->u.attach.att.lease_id,
				c1, why, sizeof(why)), 0);
	/* the client's ACK reaches the selector through the agent: nothing left to resend */
	m = msg_ack(sent_last(RPCI_CTRL_ATTACH, ctl, c1)->id, 0);
	feed(ep_of(a), c1, &m);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).pending, 0);
	/* heartbeats reach the selector too, and the selector's timers run from the agent's */
	g_now += 100000;
	rpci_ctrlnode_server_poll(a);
	rpci_ctrlnode_selector_stats(n, &st);
	CU_ASSERT_EQUAL(st.statuses, 1);
	rpci_ctrlnode_server_free(a);
	rpci_ctrlnode_selector_free(n);
}

/* --------------------------------------------------------------- client */

static void
test_client_request_attach(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	struct rpci_sel_requirements req = { .min_memory = 1 << 20, .failover = true };
	struct rpci_ctrlnode_client_stats st;
	struct rpci_ctrlnode_client *c;
	const struct rpci_ctrl_msg *r;
	struct rpci_ctrl_msg m;
	uint64_t id = 0;
	int cookie;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 0, &cookie, &id), -EINVAL);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, RPCI_CTRLNODE_REQUEST_COUNT_MAX + 1,
						     &cookie, &id), -EINVAL);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 2, &cookie, &id), 0);
	r = sent_last(RPCI_CTRL_REQUEST, c1, sel);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(r, &g_none);
	CU_ASSERT_EQUAL(r->id, id);
	CU_ASSERT_EQUAL(r->u.request.count, 2);
	CU_ASSERT_EQUAL(r->u.request.req.min_memory, 1 << 20);
	CU_ASSERT_TRUE(r->u.request.req.failover);
	/* the first attachment: acknowledged, not yet the owner's */
	m = msg_attach(g_conf, id, 11, S1, 0, C1, false);
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	CU_ASSERT_EQUAL(g_cli.attached, 0);
	feed(ep_of(c), sel, &m); /* a repeat */
	CU_ASSERT_EQUAL(g_cli.attached, 0);
	/* the second: the owner opens both */
	m = msg_attach(g_conf, id, 12, S2, 0, C1, false);
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(g_cli.attached, 1);
	CU_ASSERT_PTR_EQUAL(g_cli.last_req_arg, &cookie);
	CU_ASSERT_EQUAL(g_cli.last_request, id);
	CU_ASSERT_EQUAL(g_cli.nb_att, 2);
	CU_ASSERT_EQUAL(g_cli.att[0].lease_id, 11);
	CU_ASSERT_EQUAL(g_cli.att[1].lease_id, 12);
	CU_ASSERT_STRING_EQUAL(g_cli.att[1].server, "s2");
	/* the request is over: a late repeat is acknowledged and ignored */
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	CU_ASSERT_EQUAL(g_cli.attached, 1);
	/* and it is not asked again */
	g_now += 1000000;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REQUEST, c1, sel), 1);
	rpci_ctrlnode_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.requests, 1);
	CU_ASSERT_EQUAL(st.attachments, 2);
	CU_ASSERT_EQUAL(st.attach_unknown, 1);
	rpci_ctrlnode_client_free(c);
}

static void
test_client_reject(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL);
	struct rpci_sel_requirements req = { 0 };
	struct rpci_ctrlnode_client_stats st;
	struct rpci_ctrlnode_client *c;
	struct rpci_ctrl_msg m;
	uint64_t id;
	int cookie;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 1, &cookie, &id), 0);
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REJECT;
	m.u.reject.request_id = id;
	m.u.reject.error = -EDQUOT;
	snprintf(m.u.reject.reason, sizeof(m.u.reject.reason), "client holds 4 devices");
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(g_cli.failed, 1);
	CU_ASSERT_PTR_EQUAL(g_cli.last_req_arg, &cookie);
	CU_ASSERT_EQUAL(g_cli.error, -EDQUOT);
	CU_ASSERT_STRING_EQUAL(g_cli.reason, "the selector refused: client holds 4 devices");
	/* answered: the selector's answer to a retry changes nothing */
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(g_cli.failed, 1);
	/* another reason, another error */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 1, NULL, &id), 0);
	m.id = 0;
	m.u.reject.request_id = id;
	m.u.reject.error = -ENODEV;
	snprintf(m.u.reject.reason, sizeof(m.u.reject.reason), "no device loads PTX");
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(g_cli.failed, 2);
	CU_ASSERT_EQUAL(g_cli.error, -ENODEV);
	CU_ASSERT_PTR_NULL(g_cli.last_req_arg);
	CU_ASSERT(strstr(g_cli.reason, "PTX") != NULL);
	/* a REJECT from another than the selector is refused by the channel */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 1, NULL, &id), 0);
	m.id = 0;
	m.u.reject.request_id = id;
	feed(ep_of(c), mac_of(g_conf, C2), &m);
	CU_ASSERT_EQUAL(g_cli.failed, 2);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_client_chan(c)).rx_role, 1);
	rpci_ctrlnode_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.rejects, 2);
	rpci_ctrlnode_client_free(c);
}

/* An ATTACH for no request of ours, and one from another than the selector. */
static void
test_client_unknown_attach(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL);
	struct rpci_ctrlnode_client_stats st;
	struct rpci_ctrlnode_client *c;
	struct rpci_ctrl_msg m;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	m = msg_attach(g_conf, 4242, 11, S1, 0, C1, false);
	feed(ep_of(c), sel, &m);
	/* acknowledged (the selector stops), nothing for the owner: its lease lapses */
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	CU_ASSERT_EQUAL(g_cli.attached, 0);
	rpci_ctrlnode_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.attach_unknown, 1);
	/* from a server: refused, not acknowledged */
	m = msg_attach(g_conf, 4242, 11, S1, 0, C1, false);
	feed(ep_of(c), mac_of(g_conf, S1), &m);
	CU_ASSERT_PTR_EQUAL(sent_ack(mac_of(g_conf, S1), m.id), &g_none);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_client_chan(c)).rx_role, 1);
	rpci_ctrlnode_client_free(c);
}

/* Unanswered: asked again every 250 ms with the same id, given up after 5 s. */
static void
test_client_request_timeout(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	struct rpci_sel_requirements req = { 0 };
	struct rpci_ctrlnode_client_stats st;
	struct rpci_ctrlnode_client *c;
	struct rpci_ctrl_msg m;
	uint64_t id, t;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 2, NULL, &id), 0);
	g_now += RPCI_CTRLNODE_REQUEST_RETRY_MS * 1000;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REQUEST, c1, sel), 1);
	g_now += 1;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_REQUEST, c1, sel), 2);
	CU_ASSERT_EQUAL(sent_last(RPCI_CTRL_REQUEST, c1, sel)->id, id);
	/* one of the two attachments came */
	m = msg_attach(g_conf, id, 11, S1, 0, C1, false);
	feed(ep_of(c), sel, &m);
	for (t = 0; t < 6000000 && g_cli.failed == 0; t += 10000) {
		g_now += 10000;
		rpci_ctrlnode_client_poll(c);
	}
	CU_ASSERT_EQUAL(g_cli.failed, 1);
	CU_ASSERT_EQUAL(g_cli.error, -ETIMEDOUT);
	CU_ASSERT(strstr(g_cli.reason, "(sel) did not answer") != NULL);
	CU_ASSERT(g_now - T0 > RPCI_CTRLNODE_REQUEST_TIMEOUT_MS * 1000ull);
	CU_ASSERT(g_now - T0 <= RPCI_CTRLNODE_REQUEST_TIMEOUT_MS * 1000ull + 20000);
	/* about 20 asks in 5 s; the attachment that came goes back */
	CU_ASSERT(sent_count(RPCI_CTRL_REQUEST, c1, sel) >= 18);
	CU_ASSERT(sent_count(RPCI_CTRL_REQUEST, c1, sel) <= 21);
	CU_ASSERT_EQUAL(sent_last(RPCI_CTRL_RELEASE, c1, sel)->u.release.lease_id, 11);
	rpci_ctrlnode_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.timeouts, 1);
	rpci_ctrlnode_client_free(c);
}

static void
test_client_cancel_and_limits(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	struct rpci_sel_requirements req = { 0 };
	struct rpci_ctrlnode_client *c;
	struct rpci_ctrl_msg m;
	uint64_t id, other;
	unsigned int i;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 2, NULL, &id), 0);
	m = msg_attach(g_conf, id, 11, S1, 0, C1, false);
	feed(ep_of(c), sel, &m);
	/* the owner gives up: what came goes back, what comes later is left to lapse */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request_cancel(c, id), 0);
	CU_ASSERT_EQUAL(sent_last(RPCI_CTRL_RELEASE, c1, sel)->u.release.lease_id, 11);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request_cancel(c, id), -ENOENT);
	m = msg_attach(g_conf, id, 12, S2, 0, C1, false);
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(g_cli.attached, 0);
	CU_ASSERT_EQUAL(g_cli.failed, 0);
	/* no more than RPCI_CTRLNODE_REQUESTS_MAX at once */
	for (i = 0; i < RPCI_CTRLNODE_REQUESTS_MAX; i++) {
		CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 1, NULL, &other), 0);
	}
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 1, NULL, &other), -EAGAIN);
	rpci_ctrlnode_client_free(c);
}

/* RENEW a third of a lease apart, only while the owner holds leases. */
static void
test_client_renewal(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	struct rpci_ctrlnode_client *c;
	const struct rpci_ctrl_msg *r;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	/* lease_ms 3000: every second */
	g_now += 999999;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(g_cli.asked_leases, 0);
	g_now += 1;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(g_cli.asked_leases, 1);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_RENEW, c1, sel), 0); /* no lease: no renewal */
	g_cli.holds_leases = true;
	g_now += 500000;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_RENEW, c1, sel), 0);
	g_now += 500000;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_RENEW, c1, sel), 1);
	r = sent_last(RPCI_CTRL_RENEW, c1, sel);
	CU_ASSERT_EQUAL(memcmp(r->u.renew.client_mac, c1, 6), 0);
	g_now += 1000000;
	rpci_ctrlnode_client_poll(c);
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_RENEW, c1, sel), 2);
	/* not reliable: the next one follows */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_pending(c), 0);
	rpci_ctrlnode_client_free(c);
}

static void
test_client_detach(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL);
	struct rpci_ctrlnode_client *c;
	struct rpci_ctrl_msg m;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	m = msg_detach(11, "server s1 is down", true);
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(g_cli.lost, 1);
	CU_ASSERT_EQUAL(g_cli.lost_lease, 11);
	CU_ASSERT_TRUE(g_cli.lost_failover);
	CU_ASSERT_STRING_EQUAL(g_cli.reason, "server s1 is down");
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	/* forged by a server, or by the other client: refused, the lease stays */
	m = msg_detach(12, "forged", false);
	feed(ep_of(c), mac_of(g_conf, S1), &m);
	feed(ep_of(c), mac_of(g_conf, C2), &m);
	CU_ASSERT_EQUAL(g_cli.lost, 1);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_client_chan(c)).rx_role, 2);
	rpci_ctrlnode_client_free(c);
}

static void
test_client_failover(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL);
	struct rpci_ctrlnode_client_stats st;
	struct rpci_sel_attachment att;
	struct rpci_ctrlnode_client *c;
	struct rpci_ctrl_msg m;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_FALSE(rpci_ctrlnode_client_take_failover(c, 7, &att));
	/* a failover attachment for request 7 (of no request in flight): kept */
	m = msg_attach(g_conf, 7, 21, S2, 0, C1, true);
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	feed(ep_of(c), sel, &m); /* a repeat */
	CU_ASSERT_EQUAL(g_cli.attached, 0);
	CU_ASSERT_FALSE(rpci_ctrlnode_client_take_failover(c, 8, &att));
	CU_ASSERT_TRUE(rpci_ctrlnode_client_take_failover(c, 7, &att));
	CU_ASSERT_EQUAL(att.lease_id, 21);
	CU_ASSERT_STRING_EQUAL(att.server, "s2");
	CU_ASSERT_FALSE(rpci_ctrlnode_client_take_failover(c, 7, &att)); /* taken once */
	rpci_ctrlnode_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.failovers, 1);
	rpci_ctrlnode_client_free(c);
}

static void
test_client_texts(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	const uint8_t *c2 = mac_of(g_conf, C2);
	struct rpci_ctrlnode_client_stats st;
	struct rpci_ctrlnode_client *c;
	const struct rpci_ctrl_msg *r;
	struct rpci_ctrl_msg m;
	char big[RPCI_CTRL_TEXT_MAX + 8];

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	m = msg_text("c2", "c1", "hello from c2");
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(g_cli.texts, 1);
	CU_ASSERT_STRING_EQUAL(g_cli.from, "c2");
	CU_ASSERT_STRING_EQUAL(g_cli.text, "hello from c2");
	CU_ASSERT_EQUAL(sent_ack(sel, m.id)->u.ack.status, 0);
	/* straight from the other client, not through the selector: dropped */
	m = msg_text("c2", "c1", "psst");
	feed(ep_of(c), c2, &m);
	CU_ASSERT_EQUAL(g_cli.texts, 1);
	CU_ASSERT_PTR_EQUAL(sent_ack(c2, m.id), &g_none);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_client_chan(c)).rx_role, 1);
	/* sending: signed with our own name, until the selector acknowledges */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_message(c, "c2", "hi"), 0);
	r = sent_last(RPCI_CTRL_MESSAGE, c1, sel);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(r, &g_none);
	CU_ASSERT_STRING_EQUAL(r->u.message.from, "c1");
	CU_ASSERT_STRING_EQUAL(r->u.message.to, "c2");
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_pending(c), 1);
	m = msg_ack(r->id, 0);
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_pending(c), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_message(c, "c2", big), -EINVAL);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_message(c, NULL, "x"), -EINVAL);
	rpci_ctrlnode_client_stats(c, &st);
	CU_ASSERT_EQUAL(st.texts, 1);
	rpci_ctrlnode_client_free(c);
}

static void
test_client_release_report(void)
{
	const uint8_t *sel = mac_of(g_conf, SEL), *c1 = mac_of(g_conf, C1);
	struct rpci_ctrlnode_client *c;
	const struct rpci_ctrl_msg *r;
	struct rpci_ctrl_msg m;

	fab_reset();
	c = client_on(g_conf, C1, g_auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_release(c, 0), -EINVAL);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_release(c, 11), 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_report(c, 11, "saxpy", 1 << 20, 1234), 0);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_report(c, 0, "saxpy", 1, 1), -EINVAL);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_report(c, 11, "a-job-name-longer-than-the-field-has",
						    1, 1), -EINVAL);
	CU_ASSERT_EQUAL(sent_last(RPCI_CTRL_RELEASE, c1, sel)->u.release.lease_id, 11);
	r = sent_last(RPCI_CTRL_REPORT, c1, sel);
	CU_ASSERT_PTR_NOT_EQUAL_FATAL(r, &g_none);
	CU_ASSERT_STRING_EQUAL(r->u.report.job, "saxpy");
	CU_ASSERT_EQUAL(r->u.report.job_size, 1 << 20);
	CU_ASSERT_EQUAL(r->u.report.elapsed_us, 1234);
	/* both until acknowledged, and sent again meanwhile */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_pending(c), 2);
	g_now += RPCI_CTRLNODE_RETRY_MS * 1000;
	rpci_ctrlnode_client_poll(c);
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_RELEASE, c1, sel), 2);
	m = msg_ack(sent_last(RPCI_CTRL_RELEASE, c1, sel)->id, 0);
	feed(ep_of(c), sel, &m);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_pending(c), 1);
	/* an ACK from another host does not end the selector's retries */
	m = msg_ack(r->id, 0);
	feed(ep_of(c), mac_of(g_conf, C2), &m);
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_pending(c), 1);
	rpci_ctrlnode_client_free(c);
}

/* ------------------------------------------------------------ together */

/* Devices the selector has free. */
static unsigned int
free_devices(struct rpci_ctrlnode_selector *n)
{
	struct rpci_sel_row rows[8];
	uint32_t i, nb = rpci_selector_table(rpci_ctrlnode_selector_logic(n), rows, 8);
	unsigned int free_rows = 0;

	for (i = 0; i < nb && i < 8; i++) {
		free_rows += rows[i].state == RPCI_SEL_FREE;
	}
	return free_rows;
}

/* The three on one fabric: a server registers, a client asks, both ends are attached. */
static void
run_end_to_end(const struct rpci_conf *conf, struct rpci_auth **auth)
{
	const uint8_t *c1 = mac_of(conf, C1);
	struct rpci_sel_requirements req = { 0 };
	struct rpci_ctrlnode_selector *n;
	struct rpci_ctrlnode_server *a;
	struct rpci_ctrlnode_client *c;
	char why[128];
	uint64_t id;

	fab_reset();
	n = selector_on(conf, SEL, auth[SEL]);
	a = server_on(conf, S1, auth[S1], NULL);
	c = client_on(conf, C1, auth[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	fab_run();
	CU_ASSERT_TRUE(rpci_ctrlnode_server_registered(a, 0));
	CU_ASSERT_TRUE(rpci_ctrlnode_server_registered(a, 1));
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_request(c, &req, 2, NULL, &id), 0);
	fab_run();
	CU_ASSERT_EQUAL(g_cli.attached, 1);
	CU_ASSERT_EQUAL(g_cli.nb_att, 2);
	CU_ASSERT_EQUAL(g_srv.attached, 2);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_open_allowed(a, g_cli.att[0].function,
							  g_cli.att[0].lease_id, c1, why,
							  sizeof(why)), 0);
	/* every reliable message acknowledged */
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).pending, 0);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_server_chan(a)).pending, 0);
	/*
	 * The client releases one (it has closed its session: the server's
	 * lease ended with it): the selector frees the device.
	 */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_release(c, g_cli.att[1].lease_id), 0);
	rpci_ctrlnode_server_lease_ended(a, g_cli.att[1].function);
	g_srv.in_use[g_cli.att[1].function] = false;
	fab_run();
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_pending(c), 0);
	CU_ASSERT_EQUAL(free_devices(n), 1);
	/* a text to c1 from itself, through the selector */
	CU_ASSERT_EQUAL(rpci_ctrlnode_client_message(c, "c1", "loop"), 0);
	fab_run();
	CU_ASSERT_EQUAL(g_cli.texts, 1);
	/* heartbeats keep the devices; the client's renewals keep its lease */
	g_cli.holds_leases = true;
	for (id = 0; id < 50; id++) {
		g_now += 100000;
		rpci_ctrlnode_server_poll(a);
		rpci_ctrlnode_client_poll(c);
		rpci_ctrlnode_selector_poll(n);
		fab_run();
	}
	CU_ASSERT_EQUAL(g_cli.lost, 0);
	CU_ASSERT(rpci_ctrlnode_server_lease(a, g_cli.att[0].function) != 0);
	CU_ASSERT_EQUAL(free_devices(n), 1);
	/* the client stops renewing: the lease ends at both ends */
	g_cli.holds_leases = false;
	for (id = 0; id < 50 && g_cli.lost == 0; id++) {
		g_now += 100000;
		rpci_ctrlnode_server_poll(a);
		rpci_ctrlnode_client_poll(c);
		rpci_ctrlnode_selector_poll(n);
		fab_run();
	}
	CU_ASSERT_EQUAL(g_cli.lost, 1);
	CU_ASSERT_EQUAL(g_cli.lost_lease, g_cli.att[0].lease_id);
	CU_ASSERT_EQUAL(g_srv.detached, 1);
	CU_ASSERT_EQUAL(rpci_ctrlnode_server_lease(a, g_cli.att[0].function), 0);
	/* no refusals anywhere */
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_selector_chan(n)).rx_bad, 0);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_client_chan(c)).rx_unauth, 0);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_server_chan(a)).rx_role, 0);
	rpci_ctrlnode_client_free(c);
	rpci_ctrlnode_server_free(a);
	rpci_ctrlnode_selector_free(n);
}

static void
test_end_to_end(void)
{
	run_end_to_end(g_conf, g_auth);
}

/* With keys: the same conversation sealed; a plain DETACH from the selector's address refused. */
static void
test_end_to_end_keys(void)
{
	struct rpci_ctrlnode_client *c;
	struct rpci_ctrl_msg m;

	if (g_conf_keys == NULL) {
		CU_FAIL("no keyed deployment");
		return;
	}
	run_end_to_end(g_conf_keys, g_auth_keys);
	/* nothing on the fabric was plain */
	CU_ASSERT_EQUAL(sent_count(RPCI_CTRL_ATTACH, NULL, NULL), 0);
	CU_ASSERT(g_nb_log > 10);
	fab_reset();
	c = client_on(g_conf_keys, C1, g_auth_keys[C1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	m = msg_detach(11, "forged", false);
	feed(ep_of(c), mac_of(g_conf_keys, SEL), &m);
	CU_ASSERT_EQUAL(g_cli.lost, 0);
	CU_ASSERT_EQUAL(chan_stats(rpci_ctrlnode_client_chan(c)).rx_unauth, 1);
	CU_ASSERT_EQUAL(g_nb_log, 0);
	rpci_ctrlnode_client_free(c);
}

/* ---------------------------------------------------------------- runner */

static int
suite_init(void)
{
	char err[512], text[sizeof(g_conf_text) + 256];
	unsigned int i;

	g_conf = rpci_conf_load_string(g_conf_text, "ctrlnode.cfg", err, sizeof(err));
	g_conf_both = rpci_conf_load_string(g_conf_both_text, "both.cfg", err, sizeof(err));
	g_conf_nosel = rpci_conf_load_string(g_conf_nosel_text, "nosel.cfg", err, sizeof(err));
	if (g_conf == NULL || g_conf_both == NULL || g_conf_nosel == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	for (i = 0; i < NB_HOSTS; i++) {
		g_auth[i] = rpci_auth_create(g_conf, g_names[i], err, sizeof(err));
		if (g_auth[i] == NULL) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	g_auth_both[0] = rpci_auth_create(g_conf_both, "ctl", err, sizeof(err));
	g_auth_both[1] = rpci_auth_create(g_conf_both, "c1", err, sizeof(err));
	if (g_auth_both[0] == NULL || g_auth_both[1] == NULL) {
		return -1;
	}
	/* the keyed deployment: keys made in a directory of our own */
	snprintf(g_key_dir, sizeof(g_key_dir), "/tmp/rpci-test-ctrlnode-XXXXXX");
	if (mkdtemp(g_key_dir) == NULL) {
		return -1;
	}
	snprintf(text, sizeof(text), "auth = { mode = \"keys\"; dir = \"%s/keys\"; };\n%s",
		 g_key_dir, strchr(g_conf_text, '\n') + 1);
	g_conf_keys = rpci_conf_load_string(text, "keys.cfg", err, sizeof(err));
	if (g_conf_keys == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	for (i = 0; i < NB_HOSTS; i++) {
		if (rpci_auth_keygen(g_conf_keys->auth.key_dir, g_names[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	for (i = 0; i < NB_HOSTS; i++) {
		g_auth_keys[i] = rpci_auth_create(g_conf_keys, g_names[i], err, sizeof(err));
		if (g_auth_keys[i] == NULL) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	return 0;
}

static int
suite_fini(void)
{
	char cmd[128];
	unsigned int i;

	for (i = 0; i < NB_HOSTS; i++) {
		rpci_auth_free(g_auth[i]);
		rpci_auth_free(g_auth_keys[i]);
	}
	rpci_auth_free(g_auth_both[0]);
	rpci_auth_free(g_auth_both[1]);
	rpci_conf_free(g_conf);
	rpci_conf_free(g_conf_both);
	rpci_conf_free(g_conf_nosel);
	rpci_conf_free(g_conf_keys);
	if (g_key_dir[0] == '\0' || strncmp(g_key_dir, "/tmp/rpci-test-ctrlnode-", 24) != 0) {
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_key_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("ctrlnode", suite_init, suite_fini);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_create_refused);
	CU_ADD_TEST(suite, test_selector_register_request_attach);
	CU_ADD_TEST(suite, test_selector_reject);
	CU_ADD_TEST(suite, test_selector_refusals);
	CU_ADD_TEST(suite, test_selector_over_limit);
	CU_ADD_TEST(suite, test_selector_message);
	CU_ADD_TEST(suite, test_selector_message_sender);
	CU_ADD_TEST(suite, test_selector_timers_and_operator);
	CU_ADD_TEST(suite, test_server_register_and_heartbeat);
	CU_ADD_TEST(suite, test_server_register_retries);
	CU_ADD_TEST(suite, test_server_attach_detach);
	CU_ADD_TEST(suite, test_server_refusals);
	CU_ADD_TEST(suite, test_server_session_end);
	CU_ADD_TEST(suite, test_server_with_selector);
	CU_ADD_TEST(suite, test_client_request_attach);
	CU_ADD_TEST(suite, test_client_reject);
	CU_ADD_TEST(suite, test_client_unknown_attach);
	CU_ADD_TEST(suite, test_client_request_timeout);
	CU_ADD_TEST(suite, test_client_cancel_and_limits);
	CU_ADD_TEST(suite, test_client_renewal);
	CU_ADD_TEST(suite, test_client_detach);
	CU_ADD_TEST(suite, test_client_failover);
	CU_ADD_TEST(suite, test_client_texts);
	CU_ADD_TEST(suite, test_client_release_report);
	CU_ADD_TEST(suite, test_end_to_end);
	CU_ADD_TEST(suite, test_end_to_end_keys);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return (int)(failures > 255 ? 255 : failures);
}

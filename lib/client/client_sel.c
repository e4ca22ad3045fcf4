/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * lib/client and the server selector: requests for devices by
 * requirements, lease renewal and release, job reports, texts between
 * clients, and the attachments that replace devices whose server went down.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>

#include "client_private.h"

#define RETRY_MS 50
#define RETRY_MAX 40
#define REQUEST_RETRY_MS 250
#define REQUEST_TIMEOUT_MS 5000
#define RELEASE_WAIT_MS 300
/* A server may not know of an attachment yet when its client opens. */
#define OPEN_RETRY_MS 100
#define OPEN_RETRIES 30

int
cl_sel_init(struct rpci_client *c)
{
	const struct rpci_conf_selector *cs = &c->conf->selector;
	const struct rpci_conf_host *sh;

	if (!cs->present) {
		return 0;
	}
	sh = rpci_conf_host_find(c->conf, cs->host);
	if (sh == NULL) {
		return cl_fail(-EINVAL, "selector host '%s' is not in %s", cs->host, c->conf->path);
	}
	memcpy(c->selector_mac, sh->mac, 6);
	c->chan = rpci_ctrl_chan_create(c->link, RETRY_MS, RETRY_MAX, 64,
					(rte_get_timer_cycles() & 0xffffffffull) << 28);
	if (c->chan == NULL) {
		return cl_fail(-ENOMEM, "cannot create the control channel");
	}
	c->with_selector = true;
	/* Renew three times a lease. */
	c->renew_tsc = rte_get_timer_hz() * cs->lease_ms / 3000;
	c->next_renew_tsc = rte_get_timer_cycles() + c->renew_tsc;
	/* Long enough for the selector to notice the server is down and answer. */
	c->failover_wait_tsc = rte_get_timer_hz() *
			       ((uint64_t)cs->heartbeat_ms * (cs->missed_heartbeats + 2) +
				c->conf->link.dead_ms + 2000) / 1000;
	return 0;
}

void
cl_sel_fini(struct rpci_client *c)
{
	rpci_ctrl_chan_free(c->chan);
	c->chan = NULL;
}

static void
on_attach(struct rpci_client *c, const struct rpci_ctrl_msg *m)
{
	const struct rpci_sel_attachment *att = &m->u.attach.att;
	uint32_t i;

	if (m->u.attach.failover) {
		for (i = 0; i < CL_FAILOVER_MAX; i++) {
			if (c->fo[i].used && c->fo[i].att.lease_id == att->lease_id) {
				return; /* a repeat */
			}
		}
		for (i = 0; i < CL_FAILOVER_MAX; i++) {
			if (!c->fo[i].used) {
				c->fo[i].used = true;
				c->fo[i].request_id = m->u.attach.request_id;
				c->fo[i].att = *att;
				CLIENT_LOG(INFO, "the selector moves request %" PRIu64 " to %s/%s",
					   m->u.attach.request_id, att->server, att->device);
				return;
			}
		}
		return;
	}
	if (m->u.attach.request_id != c->req_id || c->req_answered) {
		return;
	}
	for (i = 0; i < c->req_nb_att; i++) {
		if (c->req_att[i].lease_id == att->lease_id) {
			return; /* a repeat */
		}
	}
	if (c->req_nb_att < CL_REQ_MAX) {
		c->req_att[c->req_nb_att++] = *att;
	}
	if (c->req_nb_att == c->req_count) {
		c->req_answered = true;
		c->req_error = 0;
	}
}

static void
on_detach(struct rpci_client *c, const struct rpci_ctrl_msg *m)
{
	struct rpci_device *dev;

	for (dev = c->devices; dev != NULL; dev = dev->next) {
		if (dev->lease_id != 0 && dev->lease_id == m->u.detach.lease_id) {
			CLIENT_LOG(WARNING, "the selector ended lease %" PRIu64 " of %s: %s",
				   dev->lease_id, dev->info.server, m->u.detach.reason);
			if (c->nb_detached < CL_FAILOVER_MAX) {
				c->detached[c->nb_detached++] = dev->lease_id;
			}
			dev->lost = true;
		}
	}
}

void
cl_rx_ctrl(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
	   uint16_t len, void *arg)
{
	struct rpci_client *c = arg;
	struct rpci_ctrl_msg m;
	uint32_t t;

	RTE_SET_USED(link);
	if (c->chan == NULL ||
	    rpci_ctrl_chan_rx(c->chan, src->addr_bytes, body, len, &m) < 0) {
		return;
	}
	switch (m.type) {
	case RPCI_CTRL_ATTACH:
		on_attach(c, &m);
		rpci_ctrl_chan_ack(c->chan, src->addr_bytes, m.id, 0);
		break;
	case RPCI_CTRL_REJECT:
		if (m.u.reject.request_id == c->req_id && !c->req_answered) {
			c->req_answered = true;
			c->req_error = m.u.reject.error < 0 ? m.u.reject.error : -ENODEV;
			memcpy(c->req_reason, m.u.reject.reason, sizeof(c->req_reason));
		}
		break;
	case RPCI_CTRL_DETACH:
		on_detach(c, &m);
		rpci_ctrl_chan_ack(c->chan, src->addr_bytes, m.id, 0);
		break;
	case RPCI_CTRL_MESSAGE:
		/* Only the selector passes texts on (it checked who sent them). */
		if (memcmp(src->addr_bytes, c->selector_mac, 6) != 0) {
			break;
		}
		t = c->inbox_tail;
		if (t - c->inbox_head < CL_INBOX_MAX) {
			memcpy(c->inbox[t % CL_INBOX_MAX].from, m.u.message.from,
			       sizeof(c->inbox[0].from));
			memcpy(c->inbox[t % CL_INBOX_MAX].text, m.u.message.text,
			       sizeof(c->inbox[0].text));
			c->inbox_tail++;
		}
		rpci_ctrl_chan_ack(c->chan, src->addr_bytes, m.id, 0);
		break;
	default:
		break;
	}
}

void
cl_sel_timers(struct rpci_client *c)
{
	struct rpci_ctrl_msg m;
	uint64_t now;

	if (!c->with_selector) {
		return;
	}
	rpci_ctrl_chan_poll(c->chan);
	now = rte_get_timer_cycles();
	if (now >= c->next_renew_tsc) {
		struct rpci_device *dev;

		for (dev = c->devices; dev != NULL && dev->lease_id == 0; dev = dev->next) {
		}
		if (dev != NULL) {
			memset(&m, 0, sizeof(m));
			m.type = RPCI_CTRL_RENEW;
			memcpy(m.u.renew.client_mac, c->host->mac, 6);
			rpci_ctrl_chan_send(c->chan, c->selector_mac, &m);
		}
		c->next_renew_tsc = now + c->renew_tsc;
	}
}

bool
cl_sel_detached(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	uint32_t i;

	for (i = 0; i < c->nb_detached; i++) {
		if (c->detached[i] == dev->lease_id && dev->lease_id != 0) {
			return true;
		}
	}
	return false;
}

/* Poll the client's link (no device to wait on). */
static int
client_turn(struct rpci_client *c, struct rpci_idle *idle)
{
	int work = rpci_link_poll(c->link);

	cl_sel_timers(c);
	rpci_idle_account(idle, work);
	return work;
}

int
rpci_client_poll(struct rpci_client *client)
{
	int work;

	if (client == NULL) {
		return 0;
	}
	work = rpci_link_poll(client->link);
	cl_sel_timers(client);
	return work;
}

void
cl_sel_release(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	struct rpci_ctrl_chan_stats st;
	struct rpci_ctrl_msg m;
	struct rpci_idle idle;
	uint64_t deadline;

	if (!c->with_selector || dev->lease_id == 0) {
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_RELEASE;
	m.u.release.lease_id = dev->lease_id;
	if (rpci_ctrl_chan_send_reliable(c->chan, c->selector_mac, &m) < 0) {
		return;
	}
	/* Give it a moment to be acknowledged: the program may exit next. */
	rpci_idle_init(&idle, true, 100, 100);
	deadline = rte_get_timer_cycles() + rte_get_timer_hz() * RELEASE_WAIT_MS / 1000;
	do {
		client_turn(c, &idle);
		rpci_ctrl_chan_stats(c->chan, &st);
	} while (st.pending > 0 && rte_get_timer_cycles() < deadline);
	rpci_ctrl_chan_cancel(c->chan, m.id);
}

/* Connect a device to an attachment, trying again while its server learns of it. */
static int
connect_att(struct rpci_device *dev, const struct rpci_sel_attachment *att)
{
	struct rpci_client *c = dev->client;
	struct rpci_idle idle;
	int ret, tries;

	/*
	 * The new lease from now on: the old one's DETACH must not count
	 * against the new session (cl_sel_detached()) while it comes up.
	 */
	dev->lease_id = att->lease_id;
	for (tries = 0; tries < OPEN_RETRIES; tries++) {
		ret = cl_device_connect(dev, att->server_mac, att->function, att->lease_id,
					att->server);
		if (ret != -EAGAIN) {
			break;
		}
		rpci_idle_init(&idle, true, 100, 100);
		{
			uint64_t until = rte_get_timer_cycles() +
					 rte_get_timer_hz() * OPEN_RETRY_MS / 1000;

			while (rte_get_timer_cycles() < until) {
				client_turn(c, &idle);
			}
		}
	}
	return ret;
}

static void
req_to_sel(const struct rpci_requirements *r, struct rpci_sel_requirements *s)
{
	memset(s, 0, sizeof(*s));
	if (r == NULL) {
		s->failover = true;
		return;
	}
	s->vendor_id = r->vendor_id;
	s->class_code = r->class_code;
	s->class_mask = r->class_mask;
	s->min_memory = r->min_memory;
	snprintf(s->backend, sizeof(s->backend), "%s", r->backend);
	s->module_kinds = r->module_kinds;
	snprintf(s->kernel, sizeof(s->kernel), "%s", r->kernel);
	snprintf(s->job, sizeof(s->job), "%s", r->job);
	s->job_size = r->job_size;
	s->failover = !r->no_failover;
}

int
rpci_device_request(struct rpci_client *client, const struct rpci_requirements *req,
		    unsigned int count, struct rpci_device **devs)
{
	struct rpci_client *c = client;
	struct rpci_ctrl_msg m;
	struct rpci_idle idle;
	uint64_t start, last_sent;
	unsigned int i, opened = 0;
	int ret;

	if (c == NULL || devs == NULL || count == 0 || count > CL_REQ_MAX) {
		return cl_fail(-EINVAL, "bad request (count %u: 1..%u)", count, CL_REQ_MAX);
	}
	if (!c->with_selector) {
		return cl_fail(-ENOTSUP, "%s has no selector to ask", c->conf->path);
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REQUEST;
	req_to_sel(req, &m.u.request.req);
	m.u.request.count = count;
	m.id = rpci_ctrl_chan_next_id(c->chan);
	c->req_id = m.id;
	c->req_count = count;
	c->req_answered = false;
	c->req_nb_att = 0;
	c->req_error = 0;
	c->req_reason[0] = '\0';
	rpci_idle_init(&idle, true, 100, 100);
	start = last_sent = rte_get_timer_cycles();
	rpci_ctrl_chan_send(c->chan, c->selector_mac, &m);
	/* Asked again with the same id until answered: the selector answers once. */
	while (!c->req_answered) {
		uint64_t now = rte_get_timer_cycles();

		if (now - start > rte_get_timer_hz() * REQUEST_TIMEOUT_MS / 1000) {
			return cl_fail(-ETIMEDOUT, "the selector (%s) did not answer",
				       c->conf->selector.host);
		}
		if (now - last_sent > rte_get_timer_hz() * REQUEST_RETRY_MS / 1000) {
			rpci_ctrl_chan_send(c->chan, c->selector_mac, &m);
			last_sent = now;
		}
		client_turn(c, &idle);
	}
	if (c->req_error < 0) {
		return cl_fail(c->req_error, "the selector refused: %s", c->req_reason);
	}
	for (i = 0; i < count; i++) {
		const struct rpci_sel_attachment *att = &c->req_att[i];
		struct rpci_device *dev = cl_device_alloc(c, att->server);

		if (dev == NULL) {
			ret = cl_fail(-ENOMEM, "out of memory");
			goto close_opened;
		}
		dev->request_id = c->req_id;
		dev->failover = req == NULL || !req->no_failover;
		if (req != NULL) {
			dev->req = *req;
		}
		ret = connect_att(dev, att);
		if (ret < 0) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", rpci_last_error());
			cl_device_free(dev);
			ret = cl_fail(ret, "%s/%s: %s", att->server, att->device, msg);
			goto close_opened;
		}
		devs[opened++] = dev;
	}
	return 0;

close_opened:
	/* The attachments not opened are given back too. */
	for (; i < count; i++) {
		struct rpci_ctrl_msg rel;

		memset(&rel, 0, sizeof(rel));
		rel.type = RPCI_CTRL_RELEASE;
		rel.u.release.lease_id = c->req_att[i].lease_id;
		rpci_ctrl_chan_send_reliable(c->chan, c->selector_mac, &rel);
	}
	while (opened > 0) {
		rpci_device_close(devs[--opened]);
	}
	return ret;
}

int
rpci_device_report(struct rpci_device *dev, const char *job, uint64_t job_size,
		   uint64_t elapsed_us)
{
	struct rpci_ctrl_msg m;

	if (dev == NULL || job == NULL) {
		return cl_fail(-EINVAL, "bad report");
	}
	if (!dev->client->with_selector || dev->lease_id == 0) {
		return cl_fail(-ENOTSUP, "device not from the selector");
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REPORT;
	m.u.report.lease_id = dev->lease_id;
	snprintf(m.u.report.job, sizeof(m.u.report.job), "%s", job);
	m.u.report.job_size = job_size;
	m.u.report.elapsed_us = elapsed_us;
	return rpci_ctrl_chan_send_reliable(dev->client->chan, dev->client->selector_mac, &m);
}

uint64_t
rpci_device_lease(const struct rpci_device *dev)
{
	return dev != NULL ? dev->lease_id : 0;
}

int
rpci_client_message_send(struct rpci_client *client, const char *to, const char *text)
{
	struct rpci_ctrl_msg m;

	if (client == NULL || to == NULL || text == NULL ||
	    strlen(text) >= RPCI_CTRL_TEXT_MAX || strlen(to) >= RPCI_SEL_NAME_MAX) {
		return cl_fail(-EINVAL, "bad message");
	}
	if (!client->with_selector) {
		return cl_fail(-ENOTSUP, "%s has no selector to pass messages",
			       client->conf->path);
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_MESSAGE;
	snprintf(m.u.message.from, sizeof(m.u.message.from), "%s", client->host->name);
	snprintf(m.u.message.to, sizeof(m.u.message.to), "%s", to);
	snprintf(m.u.message.text, sizeof(m.u.message.text), "%s", text);
	return rpci_ctrl_chan_send_reliable(client->chan, client->selector_mac, &m);
}

int
rpci_client_message_recv(struct rpci_client *client, char *from, size_t from_len, char *text,
			 size_t text_len)
{
	uint32_t h;

	if (client == NULL) {
		return 0;
	}
	rpci_client_poll(client);
	if (client->inbox_head == client->inbox_tail) {
		return 0;
	}
	h = client->inbox_head++ % CL_INBOX_MAX;
	if (from != NULL && from_len > 0) {
		snprintf(from, from_len, "%s", client->inbox[h].from);
	}
	if (text != NULL && text_len > 0) {
		snprintf(text, text_len, "%s", client->inbox[h].text);
	}
	return 1;
}

/* A failover attachment for this device's request, taken (0) or none yet. */
int
cl_sel_take_failover(struct rpci_device *dev, struct rpci_sel_attachment *att)
{
	struct rpci_client *c = dev->client;
	uint32_t i;

	for (i = 0; i < CL_FAILOVER_MAX; i++) {
		if (c->fo[i].used && c->fo[i].request_id == dev->request_id) {
			*att = c->fo[i].att;
			c->fo[i].used = false;
			return 0;
		}
	}
	return -EAGAIN;
}

/* Wait for the failover attachment of a lost device and connect to it. */
int
cl_sel_reconnect(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	struct rpci_sel_attachment att;
	struct rpci_idle idle;
	uint64_t deadline = rte_get_timer_cycles() + c->failover_wait_tsc;

	rpci_idle_init(&idle, true, 100, 100);
	while (cl_sel_take_failover(dev, &att) < 0) {
		if (rte_get_timer_cycles() > deadline) {
			return -ETIMEDOUT;
		}
		client_turn(c, &idle);
	}
	return connect_att(dev, &att);
}

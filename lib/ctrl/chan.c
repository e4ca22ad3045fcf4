/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * A control channel: control messages over a link's CTRL frames, with the
 * retries that make the ones that matter arrive (until the peer's ACK).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "rpci_ctrl.h"
#include "rpci_link.h"

RTE_LOG_REGISTER(rpci_ctrl_logtype, rpci.lib.ctrl, INFO);

#define CHAN_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_ctrl_logtype, "rpci.ctrl: %s(): " fmt "\n", \
		__func__, ##__VA_ARGS__)

struct chan_pending {
	bool used;
	uint8_t dst[6];
	struct rpci_ctrl_msg msg;
	uint64_t next_tsc;
	uint32_t tries;
};

struct rpci_ctrl_chan {
	struct rpci_link *link;
	uint64_t next_id;
	uint64_t retry_tsc;
	uint32_t max_tries;
	uint32_t nb_pending;
	struct chan_pending *pending;
	uint32_t pending_max;
	struct rpci_ctrl_chan_stats stats;
	/* messages to our own address: handed over in the process */
	uint8_t own_mac[6];
	void (*local_rx)(void *arg, const uint8_t src[6], const void *body, uint16_t len);
	void *local_arg;
};

struct rpci_ctrl_chan *
rpci_ctrl_chan_create(struct rpci_link *link, uint32_t retry_ms, uint32_t max_tries,
		      uint32_t pending_max, uint64_t id_base)
{
	struct rpci_ctrl_chan *c;

	if (link == NULL || retry_ms == 0 || max_tries == 0 || pending_max == 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	c->pending = calloc(pending_max, sizeof(*c->pending));
	if (c->pending == NULL) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->link = link;
	c->pending_max = pending_max;
	c->retry_tsc = rte_get_timer_hz() * retry_ms / 1000;
	c->max_tries = max_tries;
	/* Ids differ between processes, so that a restarted one is not confused. */
	c->next_id = id_base != 0 ? id_base : 1;
	return c;
}

void
rpci_ctrl_chan_free(struct rpci_ctrl_chan *c)
{
	if (c == NULL) {
		return;
	}
	free(c->pending);
	free(c);
}

static int
chan_tx(struct rpci_ctrl_chan *c, const uint8_t dst[6], const struct rpci_ctrl_msg *msg)
{
	char buf[RPCI_CTRL_MAX + 1];
	struct rte_ether_addr to;
	int len, ret;

	len = rpci_ctrl_encode(msg, buf, sizeof(buf));
	if (len < 0) {
		c->stats.tx_fail++;
		CHAN_LOG(ERR, "cannot encode a %s message: %s", rpci_ctrl_type_name(msg->type),
			 strerror(-len));
		return len;
	}
	if (c->local_rx != NULL && memcmp(dst, c->own_mac, 6) == 0) {
		/* The frame would not come back from the port: deliver it here. */
		c->stats.tx++;
		c->local_rx(c->local_arg, c->own_mac, buf, (uint16_t)len);
		return 0;
	}
	memcpy(to.addr_bytes, dst, 6);
	ret = rpci_link_send_ctrl(c->link, &to, buf, (uint16_t)len);
	if (ret < 0) {
		c->stats.tx_fail++;
		return ret;
	}
	c->stats.tx++;
	return 0;
}

void
rpci_ctrl_chan_set_local(struct rpci_ctrl_chan *c, const uint8_t own_mac[6],
			 void (*rx)(void *arg, const uint8_t src[6], const void *body,
				      uint16_t len),
			 void *arg)
{
	memcpy(c->own_mac, own_mac, 6);
	c->local_rx = rx;
	c->local_arg = arg;
}

uint64_t
rpci_ctrl_chan_next_id(struct rpci_ctrl_chan *c)
{
	return c->next_id++;
}

int
rpci_ctrl_chan_send(struct rpci_ctrl_chan *c, const uint8_t dst[6], struct rpci_ctrl_msg *msg)
{
	if (c == NULL || dst == NULL || msg == NULL) {
		return -EINVAL;
	}
	if (msg->id == 0) {
		msg->id = c->next_id++;
	}
	return chan_tx(c, dst, msg);
}

int
rpci_ctrl_chan_send_reliable(struct rpci_ctrl_chan *c, const uint8_t dst[6],
			     struct rpci_ctrl_msg *msg)
{
	uint32_t i;

	if (c == NULL || dst == NULL || msg == NULL) {
		return -EINVAL;
	}
	if (msg->id == 0) {
		msg->id = c->next_id++;
	}
	for (i = 0; i < c->pending_max; i++) {
		if (!c->pending[i].used) {
			break;
		}
	}
	if (i == c->pending_max) {
		c->stats.tx_fail++;
		return -ENOSPC;
	}
	c->pending[i].used = true;
	memcpy(c->pending[i].dst, dst, 6);
	c->pending[i].msg = *msg;
	c->pending[i].tries = 1;
	c->pending[i].next_tsc = rte_get_timer_cycles() + c->retry_tsc;
	c->nb_pending++;
	/* A send that fails now is retried like a lost one. */
	chan_tx(c, dst, msg);
	return 0;
}

int
rpci_ctrl_chan_ack(struct rpci_ctrl_chan *c, const uint8_t dst[6], uint64_t acked_id,
		   int32_t status)
{
	struct rpci_ctrl_msg ack;

	memset(&ack, 0, sizeof(ack));
	ack.type = RPCI_CTRL_ACK;
	ack.u.ack.acked_id = acked_id;
	ack.u.ack.status = status;
	return rpci_ctrl_chan_send(c, dst, &ack);
}

int
rpci_ctrl_chan_rx(struct rpci_ctrl_chan *c, const uint8_t src[6], const void *body,
		  uint16_t len, struct rpci_ctrl_msg *msg)
{
	const char *why = NULL;
	uint32_t i;
	int ret;

	ret = rpci_ctrl_decode(body, len, msg, &why);
	if (ret < 0) {
		char mac[18];

		c->stats.rx_bad++;
		CHAN_LOG(DEBUG, "control message from %s dropped: %s", rpci_ctrl_mac_str(src, mac),
			 why != NULL ? why : strerror(-ret));
		return ret;
	}
	c->stats.rx++;
	if (msg->type != RPCI_CTRL_ACK) {
		return 0;
	}
	/* An ACK ends the retries of what it acknowledges. */
	for (i = 0; i < c->pending_max && c->nb_pending > 0; i++) {
		struct chan_pending *p = &c->pending[i];

		if (p->used && p->msg.id == msg->u.ack.acked_id && memcmp(p->dst, src, 6) == 0) {
			p->used = false;
			c->nb_pending--;
			break;
		}
	}
	return 0;
}

void
rpci_ctrl_chan_cancel(struct rpci_ctrl_chan *c, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < c->pending_max && c->nb_pending > 0; i++) {
		if (c->pending[i].used && c->pending[i].msg.id == id) {
			c->pending[i].used = false;
			c->nb_pending--;
		}
	}
}

int
rpci_ctrl_chan_poll(struct rpci_ctrl_chan *c)
{
	uint64_t now;
	uint32_t i;
	int work = 0;

	if (c->nb_pending == 0) {
		return 0;
	}
	now = rte_get_timer_cycles();
	for (i = 0; i < c->pending_max; i++) {
		struct chan_pending *p = &c->pending[i];

		if (!p->used || now < p->next_tsc) {
			continue;
		}
		if (p->tries >= c->max_tries) {
			char mac[18];

			CHAN_LOG(WARNING, "%s %" PRIu64 " to %s not acknowledged after %u tries",
				 rpci_ctrl_type_name(p->msg.type), p->msg.id,
				 rpci_ctrl_mac_str(p->dst, mac), p->tries);
			p->used = false;
			c->nb_pending--;
			c->stats.given_up++;
			continue;
		}
		p->tries++;
		p->next_tsc = now + c->retry_tsc;
		c->stats.retries++;
		chan_tx(c, p->dst, &p->msg);
		work++;
	}
	return work;
}

void
rpci_ctrl_chan_stats(const struct rpci_ctrl_chan *c, struct rpci_ctrl_chan_stats *stats)
{
	*stats = c->stats;
	stats->pending = c->nb_pending;
}

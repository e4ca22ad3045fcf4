/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * A control channel: control messages over a link's CTRL frames (or over
 * another transport's datagrams, rpci_ctrl_chan_create_io()), with the
 * retries that make the ones that matter arrive (until the peer's ACK).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_link.h"

_Static_assert(RPCI_CTRL_MAX + RPCI_AUTH_OVERHEAD <= RPCI_LINK_CTRL_MAX,
	       "a sealed control message fits a CTRL frame");

RTE_LOG_REGISTER(rpci_ctrl_logtype, rpci.lib.ctrl, INFO);

#define CHAN_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_ctrl_logtype, "rpci.ctrl: %s(): " fmt "\n", \
		__func__, ##__VA_ARGS__)

struct chan_pending {
	bool used;
	uint8_t dst[6];
	struct rpci_ctrl_msg msg;
	uint64_t next_tick;
	uint32_t tries;
};

struct rpci_ctrl_chan {
	struct rpci_ctrl_chan_io io; /* where datagrams go; the clock */
	uint64_t hz;                 /* ticks of the clock (chan_now()) a second */
	uint64_t next_id;
	uint64_t retry_ticks;
	uint32_t max_tries;
	uint32_t nb_pending;
	struct chan_pending *pending;
	uint32_t pending_max;
	struct rpci_ctrl_chan_stats stats;
	/* messages to our own address: handed over in the process */
	uint8_t own_mac[6];
	void (*local_rx)(void *arg, const uint8_t src[6], const void *body, uint16_t len);
	void *local_arg;
	/* rpci_ctrl_chan_secure() */
	struct rpci_auth *auth;      /* NULL: not secured */
	struct rpci_auth_ep *ep;     /* the envelope's endpoint (keys on) */
	const struct rpci_conf *conf;
	unsigned int roles;
	struct rpci_auth_log_limit log; /* rate limit of the refusals' log */
};

/* The time: the TSC, or the io's clock in microseconds. */
static uint64_t
chan_now(const struct rpci_ctrl_chan *c)
{
	return c->io.now_us != NULL ? c->io.now_us(c->io.arg) : rte_get_timer_cycles();
}

static int
chan_link_tx(struct rpci_link *link, const uint8_t dst[6], const void *body, uint16_t len)
{
	struct rte_ether_addr to;

	memcpy(to.addr_bytes, dst, 6);
	return rpci_link_send_ctrl(link, &to, body, len);
}

struct rpci_ctrl_chan *
rpci_ctrl_chan_create(struct rpci_link *link, uint32_t retry_ms, uint32_t max_tries,
		      uint32_t pending_max, uint64_t id_base)
{
	struct rpci_ctrl_chan_io io = { .link = link };

	return rpci_ctrl_chan_create_io(&io, retry_ms, max_tries, pending_max, id_base);
}

struct rpci_ctrl_chan *
rpci_ctrl_chan_create_io(const struct rpci_ctrl_chan_io *io, uint32_t retry_ms,
			 uint32_t max_tries, uint32_t pending_max, uint64_t id_base)
{
	struct rpci_ctrl_chan *c;

	if (io == NULL || (io->link == NULL) == (io->tx == NULL) || retry_ms == 0 ||
	    max_tries == 0 || pending_max == 0) {
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
	c->io = *io;
	c->hz = io->now_us != NULL ? 1000000 : rte_get_timer_hz();
	c->pending_max = pending_max;
	c->retry_ticks = c->hz * retry_ms / 1000;
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
	rpci_auth_ep_free(c->ep);
	free(c->pending);
	free(c);
}

int
rpci_ctrl_chan_secure(struct rpci_ctrl_chan *c, struct rpci_auth *auth, unsigned int roles)
{
	if (c == NULL || auth == NULL || roles == 0) {
		return -EINVAL;
	}
	rpci_auth_ep_free(c->ep);
	c->ep = NULL;
	if (rpci_auth_enabled(auth)) {
		c->ep = rpci_auth_ep_create(auth, rpci_auth_now_us());
		if (c->ep == NULL) {
			return -errno;
		}
	}
	c->auth = auth;
	c->conf = rpci_auth_conf(auth);
	c->roles = roles;
	return 0;
}

/* Log a refusal, at most RPCI_AUTH_LOG_BURST at once and RPCI_AUTH_LOG_PER_S a second after. */
static void __attribute__((format(printf, 2, 0)))
chan_vlog_refusal(struct rpci_ctrl_chan *c, const char *fmt, va_list ap)
{
	uint64_t skipped = 0;
	char line[256];

	if (!rpci_auth_log_allow(&c->log, chan_now(c), c->hz, &skipped)) {
		c->stats.log_suppressed++;
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	if (skipped > 0) {
		CHAN_LOG(WARNING, "refused: %s (and %" PRIu64 " more refusals not logged)", line,
			 skipped);
	} else {
		CHAN_LOG(WARNING, "refused: %s", line);
	}
}

static void __attribute__((format(printf, 2, 3)))
chan_log_refusal(struct rpci_ctrl_chan *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	chan_vlog_refusal(c, fmt, ap);
	va_end(ap);
}

void
rpci_ctrl_chan_refuse(struct rpci_ctrl_chan *c, const char *fmt, ...)
{
	va_list ap;

	if (c == NULL) {
		return;
	}
	c->stats.rx_refused++;
	va_start(ap, fmt);
	chan_vlog_refusal(c, fmt, ap);
	va_end(ap);
}

void
rpci_ctrl_chan_auth_stats(const struct rpci_ctrl_chan *c, struct rpci_auth_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	if (c != NULL && c->ep != NULL) {
		rpci_auth_ep_stats(c->ep, stats);
	}
}

/* The JSON of a datagram: inside the envelope when keys are on. */
static int
chan_json(const struct rpci_ctrl_chan *c, const void *body, uint16_t len, const void **json,
	  size_t *json_len)
{
	if (c->ep == NULL) {
		*json = body;
		*json_len = len;
		return 0;
	}
	if (len < RPCI_AUTH_OVERHEAD) {
		return -EBADMSG;
	}
	*json = (const uint8_t *)body + RPCI_AUTH_HDR_LEN;
	*json_len = len - RPCI_AUTH_OVERHEAD;
	return 0;
}

int
rpci_ctrl_chan_peek_type(const struct rpci_ctrl_chan *c, const void *body, uint16_t len)
{
	struct rpci_ctrl_msg m;
	const void *json;
	size_t json_len;
	int ret;

	if (c == NULL || body == NULL) {
		return -EINVAL;
	}
	ret = chan_json(c, body, len, &json, &json_len);
	if (ret == 0) {
		ret = rpci_ctrl_decode(json, json_len, &m, NULL);
	}
	return ret < 0 ? ret : (int)m.type;
}

static int
chan_tx(struct rpci_ctrl_chan *c, const uint8_t dst[6], const struct rpci_ctrl_msg *msg)
{
	char sealed[RPCI_AUTH_HDR_LEN + RPCI_CTRL_MAX + 1 + RPCI_AUTH_TAG_LEN];
	char *buf = c->ep != NULL ? sealed + RPCI_AUTH_HDR_LEN : sealed;
	const struct rpci_conf_host *h;
	int len, ret;

	len = rpci_ctrl_encode(msg, buf, RPCI_CTRL_MAX + 1);
	if (len < 0) {
		c->stats.tx_fail++;
		CHAN_LOG(ERR, "cannot encode a %s message: %s", rpci_ctrl_type_name(msg->type),
			 strerror(-len));
		return len;
	}
	if (c->auth != NULL) {
		h = rpci_conf_host_by_mac(c->conf, dst);
		if (h == NULL) {
			char mac[18];

			c->stats.tx_fail++;
			c->stats.tx_no_host++;
			CHAN_LOG(ERR, "%s not sent: %s is no host of %s",
				 rpci_ctrl_type_name(msg->type), rpci_ctrl_mac_str(dst, mac),
				 c->conf->path);
			return -EHOSTUNREACH;
		}
		if (c->ep != NULL) {
			len = rpci_auth_seal(c->ep, (unsigned int)rpci_conf_host_index(c->conf, h),
					     buf, (size_t)len, sealed, sizeof(sealed),
					     rpci_auth_now_us());
			if (len < 0) {
				c->stats.tx_fail++;
				CHAN_LOG(ERR, "cannot seal a %s message: %s",
					 rpci_ctrl_type_name(msg->type), strerror(-len));
				return len;
			}
			buf = sealed;
		}
	}
	if (c->local_rx != NULL && memcmp(dst, c->own_mac, 6) == 0) {
		/* The frame would not come back from the port: deliver it here. */
		c->stats.tx++;
		c->local_rx(c->local_arg, c->own_mac, buf, (uint16_t)len);
		return 0;
	}
	ret = c->io.link != NULL ? chan_link_tx(c->io.link, dst, buf, (uint16_t)len) :
				   c->io.tx(c->io.arg, dst, buf, (uint16_t)len);
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
	c->pending[i].next_tick = chan_now(c) + c->retry_ticks;
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

/*
 * Who sent a datagram: the host whose key sealed it (keys), or whose
 * address it came from (none); the message inside. 0 or -EACCES (counted).
 */
static int
chan_open(struct rpci_ctrl_chan *c, const uint8_t src[6], const void *body, uint16_t len,
	  const struct rpci_conf_host **sender, const void **json, size_t *json_len)
{
	enum rpci_auth_refusal why;
	unsigned int from;
	char mac[18];

	if (c->ep == NULL) {
		*sender = rpci_conf_host_by_mac(c->conf, src);
		if (*sender == NULL) {
			c->stats.rx_unknown++;
			chan_log_refusal(c, "a message from %s, no host of the deployment",
					 rpci_ctrl_mac_str(src, mac));
			return -EACCES;
		}
		*json = body;
		*json_len = len;
		return 0;
	}
	if (rpci_auth_open(c->ep, body, len, rpci_auth_now_us(), &from, json, json_len,
			   &why) < 0) {
		c->stats.rx_unauth++;
		chan_log_refusal(c, "a message from %s: %s", rpci_ctrl_mac_str(src, mac),
				 rpci_auth_refusal_name(why));
		return -EACCES;
	}
	*sender = &c->conf->hosts[from];
	if (memcmp((*sender)->mac, src, 6) != 0) {
		c->stats.rx_unknown++;
		chan_log_refusal(c, "a message of host '%s' from another address, %s",
				 (*sender)->name, rpci_ctrl_mac_str(src, mac));
		return -EACCES;
	}
	/* authentic, fresh and new: a kernel-TCP port may keep the connection it came on */
	if (c->io.link != NULL) {
		rpci_link_rx_authentic(c->io.link);
	}
	return 0;
}

int
rpci_ctrl_chan_rx(struct rpci_ctrl_chan *c, const uint8_t src[6], const void *body,
		  uint16_t len, struct rpci_ctrl_msg *msg)
{
	const struct rpci_conf_host *sender;

	return rpci_ctrl_chan_rx_from(c, src, body, len, msg, &sender);
}

int
rpci_ctrl_chan_rx_from(struct rpci_ctrl_chan *c, const uint8_t src[6], const void *body,
		       uint16_t len, struct rpci_ctrl_msg *msg,
		       const struct rpci_conf_host **sender)
{
	const char *why = NULL;
	const void *json = body;
	size_t json_len = len;
	enum rpci_ctrl_verdict v;
	uint32_t i;
	int ret;

	*sender = NULL;
	if (c->auth != NULL && chan_open(c, src, body, len, sender, &json, &json_len) < 0) {
		memset(msg, 0, sizeof(*msg));
		return -EACCES;
	}
	ret = rpci_ctrl_decode(json, json_len, msg, &why);
	if (ret < 0) {
		char mac[18];

		c->stats.rx_bad++;
		CHAN_LOG(DEBUG, "control message from %s dropped: %s", rpci_ctrl_mac_str(src, mac),
			 why != NULL ? why : strerror(-ret));
		return ret;
	}
	if (c->auth != NULL) {
		v = rpci_ctrl_check(c->conf, *sender, c->roles, msg, &why);
		if (v != RPCI_CTRL_ALLOWED) {
			if (v == RPCI_CTRL_ROLE) {
				c->stats.rx_role++;
			} else {
				c->stats.rx_forged++;
			}
			chan_log_refusal(c, "%s from host '%s': %s", rpci_ctrl_type_name(msg->type),
					 (*sender)->name, why);
			memset(msg, 0, sizeof(*msg));
			return -EACCES;
		}
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
	now = chan_now(c);
	for (i = 0; i < c->pending_max; i++) {
		struct chan_pending *p = &c->pending[i];

		if (!p->used || now < p->next_tick) {
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
		p->next_tick = now + c->retry_ticks;
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

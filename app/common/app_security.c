/* SPDX-License-Identifier: BSD-3-Clause */

/* A daemon's keys and its refusals (see app_security.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cmdline.h>
#include <rte_telemetry.h>

#include "app_security.h"
#include "app_telemetry.h"

int
app_security_init(struct app_security *s, const char *prog, const struct rpci_conf *conf,
		  const struct rpci_conf_host *host)
{
	char err[512];

	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->auth = rpci_auth_create(conf, host->name, err, sizeof(err));
	if (s->auth == NULL) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	return 0;
}

void
app_security_fini(struct app_security *s)
{
	rpci_auth_free(s->auth);
	s->auth = NULL;
}

int
app_security_add_chan(struct app_security *s, const char *name, struct rpci_ctrl_chan *c)
{
	if (s->nb_chans == APP_SECURITY_CHANS) {
		return -1;
	}
	s->chan[s->nb_chans] = c;
	s->chan_name[s->nb_chans] = name;
	s->nb_chans++;
	return 0;
}

void
app_security_totals(const struct app_security *s, struct app_security_totals *t)
{
	struct rpci_ctrl_chan_stats cs;
	struct rpci_auth_stats as;
	unsigned int i, r;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < s->nb_chans; i++) {
		rpci_ctrl_chan_stats(s->chan[i], &cs);
		rpci_ctrl_chan_auth_stats(s->chan[i], &as);
		t->chan.rx += cs.rx;
		t->chan.rx_bad += cs.rx_bad;
		t->chan.rx_unauth += cs.rx_unauth;
		t->chan.rx_unknown += cs.rx_unknown;
		t->chan.rx_role += cs.rx_role;
		t->chan.rx_forged += cs.rx_forged;
		t->chan.rx_refused += cs.rx_refused;
		t->chan.log_suppressed += cs.log_suppressed;
		t->chan.tx_no_host += cs.tx_no_host;
		t->auth.sealed += as.sealed;
		t->auth.opened += as.opened;
		for (r = 0; r < RPCI_AUTH_NB_REFUSALS; r++) {
			t->auth.refused[r] += as.refused[r];
		}
	}
	if (s->node != NULL) {
		struct rpci_ctrlnode_selector_stats ns;

		rpci_ctrlnode_selector_stats(s->node, &ns);
		t->not_holder = ns.not_holder;
		t->over_limit = ns.over_limit;
	}
	if (s->link != NULL) {
		rpci_link_stats_get(s->link, &t->link);
		t->link_refused = t->link.rx_auth_bad_tag + t->link.rx_auth_replay +
				  t->link.rx_auth_missing + t->link.open_unsigned +
				  t->link.open_bad_tag + t->link.open_stale + t->link.open_replay +
				  t->link.open_unknown_host + t->link.open_refused +
				  t->link.open_ack_refused;
	}
	t->refused = t->chan.rx_unauth + t->chan.rx_unknown + t->chan.rx_role +
		     t->chan.rx_forged + t->chan.rx_refused + t->link_refused;
}

/* The file's mode (a process without a control channel holds no keys here: its link does). */
static bool
keys_on(const struct app_security *s)
{
	return s->conf->auth.mode == RPCI_AUTH_KEYS;
}

static const char *
mode_name(const struct app_security *s)
{
	return keys_on(s) ? "keys" : "none";
}

int
app_security_show(void *arg, struct cmdline *cl)
{
	struct app_security *s = arg;
	struct app_security_totals t;
	unsigned int r;

	app_security_totals(s, &t);
	cmdline_printf(cl, "auth %s%s; keys in %s\n", mode_name(s),
		       keys_on(s) ? "" : " (NOTHING IS AUTHENTICATED)",
		       s->conf->auth.key_dir);
	cmdline_printf(cl, "taken %" PRIu64 ", refused %" PRIu64 " (%" PRIu64
		       " not logged: rate limit)\n", t.chan.rx, t.refused, t.chan.log_suppressed);
	cmdline_printf(cl, "  unauthenticated %" PRIu64 ":", t.chan.rx_unauth);
	for (r = 1; r < RPCI_AUTH_NB_REFUSALS; r++) {
		cmdline_printf(cl, " %s %" PRIu64, rpci_auth_refusal_name(r), t.auth.refused[r]);
	}
	cmdline_printf(cl, "\n  unknown sender %" PRIu64 ", wrong role %" PRIu64 ", forged %" PRIu64
		       ", not the lease holder %" PRIu64 ", over a client limit %" PRIu64 "\n",
		       t.chan.rx_unknown, t.chan.rx_role, t.chan.rx_forged, t.not_holder,
		       t.over_limit);
	cmdline_printf(cl, "  malformed (not counted as refusals) %" PRIu64
		       ", not sent to unknown hosts %" PRIu64 "\n", t.chan.rx_bad,
		       t.chan.tx_no_host);
	if (s->link == NULL) {
		return 0;
	}
	cmdline_printf(cl, "sessions: %s; frames verified %" PRIu64 ", sealed %" PRIu64
		       ", refused %" PRIu64 " (%" PRIu64 " not logged: rate limit)\n",
		       !rpci_link_auth_on(s->link) ? "NOT AUTHENTICATED" :
		       s->conf->link.encrypt ? "authenticated, encrypted" : "authenticated",
		       t.link.rx_verified, t.link.tx_sealed, t.link_refused,
		       t.link.log_suppressed);
	cmdline_printf(cl, "  frames: bad-tag %" PRIu64 " replay %" PRIu64 " no-tag %" PRIu64
		       "\n", t.link.rx_auth_bad_tag, t.link.rx_auth_replay,
		       t.link.rx_auth_missing);
	cmdline_printf(cl, "  OPENs: unsigned %" PRIu64 " bad-tag %" PRIu64 " stale %" PRIu64
		       " replay %" PRIu64 " unknown-host %" PRIu64 " not-allowed %" PRIu64
		       "; OPEN_ACKs refused %" PRIu64 "\n", t.link.open_unsigned,
		       t.link.open_bad_tag, t.link.open_stale, t.link.open_replay,
		       t.link.open_unknown_host, t.link.open_refused, t.link.open_ack_refused);
	return 0;
}

static int
build_security(void *arg, const char *params, struct rte_tel_data *d)
{
	struct app_security *s = arg;
	struct app_security_totals t;
	char name[32];
	unsigned int r;

	(void)params;
	app_security_totals(s, &t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "auth", mode_name(s));
	rte_tel_data_add_dict_u64(d, "taken", t.chan.rx);
	rte_tel_data_add_dict_u64(d, "refused", t.refused);
	rte_tel_data_add_dict_u64(d, "unauthenticated", t.chan.rx_unauth);
	for (r = 1; r < RPCI_AUTH_NB_REFUSALS; r++) {
		snprintf(name, sizeof(name), "auth_%s", rpci_auth_refusal_name(r));
		for (char *p = name; *p != '\0'; p++) {
			if (*p == '-') {
				*p = '_';
			}
		}
		rte_tel_data_add_dict_u64(d, name, t.auth.refused[r]);
	}
	rte_tel_data_add_dict_u64(d, "unknown_sender", t.chan.rx_unknown);
	rte_tel_data_add_dict_u64(d, "wrong_role", t.chan.rx_role);
	rte_tel_data_add_dict_u64(d, "forged", t.chan.rx_forged);
	rte_tel_data_add_dict_u64(d, "not_holder", t.not_holder);
	rte_tel_data_add_dict_u64(d, "over_limit", t.over_limit);
	rte_tel_data_add_dict_u64(d, "malformed", t.chan.rx_bad);
	rte_tel_data_add_dict_u64(d, "log_suppressed", t.chan.log_suppressed);
	rte_tel_data_add_dict_u64(d, "tx_no_host", t.chan.tx_no_host);
	if (s->link != NULL) {
		rte_tel_data_add_dict_string(d, "sessions", !rpci_link_auth_on(s->link) ? "none" :
					     s->conf->link.encrypt ? "encrypted" : "authenticated");
		rte_tel_data_add_dict_u64(d, "session_verified", t.link.rx_verified);
		rte_tel_data_add_dict_u64(d, "session_sealed", t.link.tx_sealed);
		rte_tel_data_add_dict_u64(d, "session_refused", t.link_refused);
		rte_tel_data_add_dict_u64(d, "session_bad_tag", t.link.rx_auth_bad_tag);
		rte_tel_data_add_dict_u64(d, "session_replay", t.link.rx_auth_replay);
		rte_tel_data_add_dict_u64(d, "session_no_tag", t.link.rx_auth_missing);
		rte_tel_data_add_dict_u64(d, "open_unsigned", t.link.open_unsigned);
		rte_tel_data_add_dict_u64(d, "open_bad_tag", t.link.open_bad_tag);
		rte_tel_data_add_dict_u64(d, "open_stale", t.link.open_stale);
		rte_tel_data_add_dict_u64(d, "open_replay", t.link.open_replay);
		rte_tel_data_add_dict_u64(d, "open_unknown_host", t.link.open_unknown_host);
		rte_tel_data_add_dict_u64(d, "open_not_allowed", t.link.open_refused);
		rte_tel_data_add_dict_u64(d, "open_ack_refused", t.link.open_ack_refused);
		rte_tel_data_add_dict_u64(d, "session_log_suppressed", t.link.log_suppressed);
	}
	return 0;
}

int
app_security_register_telemetry(struct app_security *s)
{
	return app_telemetry_register("/rpci/security", build_security, s,
				      "Authentication mode and refused control messages by "
				      "reason. No parameters");
}

/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Console commands of the port and the link: show port, show link stats,
 * and the link's fault injector (set link faults ...).
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>

#include "console_private.h"

/* The link commands print why they cannot run when there is no link. */
static bool
need_link(struct rpci_console *c, struct cmdline *cl, const char *cmd)
{
	if (c->env.link != NULL) {
		return true;
	}
	console_err(c, cl, "%s: %s has no link", cmd, console_prog(c));
	return false;
}

static const char *const g_dir_name[2] = { "tx", "rx" };

static void
print_faults(struct rpci_console *c, struct cmdline *cl)
{
	unsigned int d;

	for (d = 0; d < 2; d++) {
		const struct rpci_link_faults *f = &c->faults[d];

		cmdline_printf(cl, "faults %s: drop %g dup %g reorder %g corrupt %g\n",
			       g_dir_name[d], f->drop, f->dup, f->reorder, f->corrupt);
	}
	cmdline_printf(cl, "faults seed: %" PRIu64 "\n", c->faults_seed);
}

/* Apply c->faults and c->faults_seed to the link; print the outcome. */
static void
apply_faults(struct rpci_console *c, struct cmdline *cl)
{
	int ret;

	ret = rpci_link_set_faults(c->env.link, &c->faults[0], &c->faults[1], c->faults_seed);
	if (ret < 0) {
		console_err(c, cl, "set link faults: %s", strerror(-ret));
		return;
	}
	print_faults(c, cl);
}

/* A rate: a number from 0 to 1. */
static int
parse_rate(struct rpci_console *c, struct cmdline *cl, const char *name, const char *s,
	   double *rate)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0) {
		console_err(c, cl, "set link faults: %s rate '%s' is not a number from 0 to 1",
			    name, s);
		return -EINVAL;
	}
	*rate = v;
	return 0;
}

/* *** show port *** */
struct cmd_show_port_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t port;
};

static void
cmd_show_port_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	uint16_t port = c->env.port_id;
	struct rte_eth_dev_info info;
	struct rte_eth_link link;
	struct rte_eth_stats st;
	struct rte_ether_addr mac;
	char link_str[RTE_ETH_LINK_MAX_STR_LEN];
	char mac_str[RTE_ETHER_ADDR_FMT_SIZE];
	char link_mac_str[RTE_ETHER_ADDR_FMT_SIZE];
	uint16_t mtu = 0;
	int ret;

	RTE_SET_USED(parsed_result);
	if (!need_link(c, cl, "show port")) {
		return;
	}
	if (!rte_eth_dev_is_valid_port(port)) {
		console_err(c, cl, "show port: port %u does not exist", port);
		return;
	}
	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0) {
		console_err(c, cl, "show port: port %u: %s", port, strerror(-ret));
		return;
	}
	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(port, &link) != 0 ||
	    rte_eth_link_to_str(link_str, sizeof(link_str), &link) < 0) {
		snprintf(link_str, sizeof(link_str), "link status unknown");
	}
	memset(&mac, 0, sizeof(mac));
	rte_eth_macaddr_get(port, &mac);
	rte_ether_format_addr(mac_str, sizeof(mac_str), &mac);
	rte_ether_format_addr(link_mac_str, sizeof(link_mac_str), rpci_link_mac(c->env.link));
	rte_eth_dev_get_mtu(port, &mtu);
	/* the port may not take our address (net_ring): it is promiscuous then */
	cmdline_printf(cl, "port %u: driver %s, link MAC %s, port MAC %s, MTU %u\n", port,
		       info.driver_name != NULL ? info.driver_name : "?", link_mac_str, mac_str,
		       mtu);
	/* the link's frames may be larger than the MTU where the port carries them */
	cmdline_printf(cl, "  link frames of up to %u bytes, max payload %u\n",
		       rpci_link_frame_max(c->env.link), rpci_link_max_payload(c->env.link));
	cmdline_printf(cl, "  %s\n", link_str);
	memset(&st, 0, sizeof(st));
	ret = rte_eth_stats_get(port, &st);
	if (ret != 0) {
		console_err(c, cl, "show port: port %u counters: %s", port, strerror(-ret));
		return;
	}
	cmdline_printf(cl, "  rx: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " missed, %"
		       PRIu64 " errors, %" PRIu64 " no mbuf\n",
		       st.ipackets, st.ibytes, st.imissed, st.ierrors, st.rx_nombuf);
	cmdline_printf(cl, "  tx: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " errors\n",
		       st.opackets, st.obytes, st.oerrors);
	cmdline_printf(cl, "  burst faults survived: %" PRIu64 "\n", rpci_port_faults());
}

static cmdline_parse_token_string_t cmd_show_port_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_port_result, show, "show");
static cmdline_parse_token_string_t cmd_show_port_port =
	TOKEN_STRING_INITIALIZER(struct cmd_show_port_result, port, "port");

static cmdline_parse_inst_t cmd_show_port = {
	.f = cmd_show_port_parsed,
	.data = NULL,
	.help_str = "show port: the link's port: id, driver, MAC addresses, MTU, link status, "
		    "ethdev counters",
	.tokens = {
		(void *)&cmd_show_port_show,
		(void *)&cmd_show_port_port,
		NULL,
	},
};

/* *** show link stats *** */
struct cmd_show_link_stats_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t link;
	cmdline_fixed_string_t stats;
};

static void
cmd_show_link_stats_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	struct rpci_link_stats s;
	const struct {
		const char *name;
		const uint64_t *v;
	} rows[] = {
		{ "rx_frames", &s.rx_frames },
		{ "rx_bytes", &s.rx_bytes },
		{ "tx_frames", &s.tx_frames },
		{ "tx_bytes", &s.tx_bytes },
		{ "rx_data", &s.rx_data },
		{ "rx_msgs", &s.rx_msgs },
		{ "tx_data", &s.tx_data },
		{ "tx_msgs", &s.tx_msgs },
		{ "rx_not_ours", &s.rx_not_ours },
		{ "rx_bad_header", &s.rx_bad_header },
		{ "rx_bad_crc", &s.rx_bad_crc },
		{ "rx_bad_chain", &s.rx_bad_chain },
		{ "rx_unknown_session", &s.rx_unknown_session },
		{ "rx_duplicate", &s.rx_duplicate },
		{ "rx_out_of_order", &s.rx_out_of_order },
		{ "rx_kept", &s.rx_kept },
		{ "rx_queue_full", &s.rx_queue_full },
		{ "tx_no_credit", &s.tx_no_credit },
		{ "rx_malformed_msg", &s.rx_malformed_msg },
		{ "rx_refused_msg", &s.rx_refused_msg },
		{ "tx_retransmit", &s.tx_retransmit },
		{ "timeouts", &s.timeouts },
		{ "nak_sent", &s.nak_sent },
		{ "nak_rcvd", &s.nak_rcvd },
		{ "ack_sent", &s.ack_sent },
		{ "tx_dropped", &s.tx_dropped },
		{ "no_mbuf", &s.no_mbuf },
		{ "zero_copy", &s.zero_copy },
		{ "tx_split", &s.tx_split },
		{ "rx_gathered", &s.rx_gathered },
		{ "copied", &s.copied },
		{ "sessions_dead", &s.sessions_dead },
		{ "tx_sealed", &s.tx_sealed },
		{ "rx_verified", &s.rx_verified },
		{ "rx_auth_bad_tag", &s.rx_auth_bad_tag },
		{ "rx_auth_replay", &s.rx_auth_replay },
		{ "rx_auth_missing", &s.rx_auth_missing },
		{ "open_unsigned", &s.open_unsigned },
		{ "open_bad_tag", &s.open_bad_tag },
		{ "open_stale", &s.open_stale },
		{ "open_replay", &s.open_replay },
		{ "open_unknown_host", &s.open_unknown_host },
		{ "open_refused", &s.open_refused },
		{ "open_ack_refused", &s.open_ack_refused },
		{ "fault_drop_tx", &s.fault_drop[0] },
		{ "fault_drop_rx", &s.fault_drop[1] },
		{ "fault_dup_tx", &s.fault_dup[0] },
		{ "fault_dup_rx", &s.fault_dup[1] },
		{ "fault_reorder_tx", &s.fault_reorder[0] },
		{ "fault_reorder_rx", &s.fault_reorder[1] },
		{ "fault_corrupt_tx", &s.fault_corrupt[0] },
		{ "fault_corrupt_rx", &s.fault_corrupt[1] },
	};
	unsigned int i;

	RTE_SET_USED(parsed_result);
	if (!need_link(c, cl, "show link stats")) {
		return;
	}
	memset(&s, 0, sizeof(s));
	rpci_link_stats_get(c->env.link, &s);
	for (i = 0; i < RTE_DIM(rows); i++) {
		cmdline_printf(cl, "%-20s %20" PRIu64 "%s", rows[i].name, *rows[i].v,
			       i % 2 == 1 || i + 1 == RTE_DIM(rows) ? "\n" : "    ");
	}
	print_faults(c, cl);
}

static cmdline_parse_token_string_t cmd_show_link_stats_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_link_stats_result, show, "show");
static cmdline_parse_token_string_t cmd_show_link_stats_link =
	TOKEN_STRING_INITIALIZER(struct cmd_show_link_stats_result, link, "link");
static cmdline_parse_token_string_t cmd_show_link_stats_stats =
	TOKEN_STRING_INITIALIZER(struct cmd_show_link_stats_result, stats, "stats");

static cmdline_parse_inst_t cmd_show_link_stats = {
	.f = cmd_show_link_stats_parsed,
	.data = NULL,
	.help_str = "show link stats: the link's counters, the fault injector's included, and "
		    "its settings",
	.tokens = {
		(void *)&cmd_show_link_stats_show,
		(void *)&cmd_show_link_stats_link,
		(void *)&cmd_show_link_stats_stats,
		NULL,
	},
};

/* *** set link faults tx|rx drop D dup D reorder D corrupt D *** */
struct cmd_set_faults_all_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t link;
	cmdline_fixed_string_t faults;
	cmdline_fixed_string_t dir;
	cmdline_fixed_string_t drop;
	cmdline_fixed_string_t drop_rate;
	cmdline_fixed_string_t dup;
	cmdline_fixed_string_t dup_rate;
	cmdline_fixed_string_t reorder;
	cmdline_fixed_string_t reorder_rate;
	cmdline_fixed_string_t corrupt;
	cmdline_fixed_string_t corrupt_rate;
};

static void
cmd_set_faults_all_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_set_faults_all_result *res = parsed_result;
	struct rpci_console *c = data;
	struct rpci_link_faults f;
	unsigned int d = strcmp(res->dir, "rx") == 0;

	if (!need_link(c, cl, "set link faults")) {
		return;
	}
	if (parse_rate(c, cl, "drop", res->drop_rate, &f.drop) < 0 ||
	    parse_rate(c, cl, "dup", res->dup_rate, &f.dup) < 0 ||
	    parse_rate(c, cl, "reorder", res->reorder_rate, &f.reorder) < 0 ||
	    parse_rate(c, cl, "corrupt", res->corrupt_rate, &f.corrupt) < 0) {
		return;
	}
	c->faults[d] = f;
	apply_faults(c, cl);
}

static cmdline_parse_token_string_t cmd_set_faults_all_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, set, "set");
static cmdline_parse_token_string_t cmd_set_faults_all_link =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, link, "link");
static cmdline_parse_token_string_t cmd_set_faults_all_faults =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, faults, "faults");
static cmdline_parse_token_string_t cmd_set_faults_all_dir =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, dir, "tx#rx");
static cmdline_parse_token_string_t cmd_set_faults_all_drop =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, drop, "drop");
static cmdline_parse_token_string_t cmd_set_faults_all_drop_rate =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, drop_rate, NULL);
static cmdline_parse_token_string_t cmd_set_faults_all_dup =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, dup, "dup");
static cmdline_parse_token_string_t cmd_set_faults_all_dup_rate =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, dup_rate, NULL);
static cmdline_parse_token_string_t cmd_set_faults_all_reorder =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, reorder, "reorder");
static cmdline_parse_token_string_t cmd_set_faults_all_reorder_rate =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, reorder_rate, NULL);
static cmdline_parse_token_string_t cmd_set_faults_all_corrupt =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, corrupt, "corrupt");
static cmdline_parse_token_string_t cmd_set_faults_all_corrupt_rate =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_all_result, corrupt_rate, NULL);

static cmdline_parse_inst_t cmd_set_faults_all = {
	.f = cmd_set_faults_all_parsed,
	.data = NULL,
	.help_str = "set link faults tx|rx drop <D> dup <D> reorder <D> corrupt <D>: the fault "
		    "injector's rates (0..1 per frame) in one direction",
	.tokens = {
		(void *)&cmd_set_faults_all_set,
		(void *)&cmd_set_faults_all_link,
		(void *)&cmd_set_faults_all_faults,
		(void *)&cmd_set_faults_all_dir,
		(void *)&cmd_set_faults_all_drop,
		(void *)&cmd_set_faults_all_drop_rate,
		(void *)&cmd_set_faults_all_dup,
		(void *)&cmd_set_faults_all_dup_rate,
		(void *)&cmd_set_faults_all_reorder,
		(void *)&cmd_set_faults_all_reorder_rate,
		(void *)&cmd_set_faults_all_corrupt,
		(void *)&cmd_set_faults_all_corrupt_rate,
		NULL,
	},
};

/* *** set link faults tx|rx drop|dup|reorder|corrupt D *** */
struct cmd_set_faults_one_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t link;
	cmdline_fixed_string_t faults;
	cmdline_fixed_string_t dir;
	cmdline_fixed_string_t kind;
	cmdline_fixed_string_t rate;
};

static void
cmd_set_faults_one_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_set_faults_one_result *res = parsed_result;
	struct rpci_console *c = data;
	struct rpci_link_faults f;
	unsigned int d = strcmp(res->dir, "rx") == 0;
	double rate;

	if (!need_link(c, cl, "set link faults")) {
		return;
	}
	if (parse_rate(c, cl, res->kind, res->rate, &rate) < 0) {
		return;
	}
	f = c->faults[d];
	if (strcmp(res->kind, "drop") == 0) {
		f.drop = rate;
	} else if (strcmp(res->kind, "dup") == 0) {
		f.dup = rate;
	} else if (strcmp(res->kind, "reorder") == 0) {
		f.reorder = rate;
	} else {
		f.corrupt = rate;
	}
	c->faults[d] = f;
	apply_faults(c, cl);
}

static cmdline_parse_token_string_t cmd_set_faults_one_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_one_result, set, "set");
static cmdline_parse_token_string_t cmd_set_faults_one_link =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_one_result, link, "link");
static cmdline_parse_token_string_t cmd_set_faults_one_faults =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_one_result, faults, "faults");
static cmdline_parse_token_string_t cmd_set_faults_one_dir =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_one_result, dir, "tx#rx");
static cmdline_parse_token_string_t cmd_set_faults_one_kind =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_one_result, kind,
				 "drop#dup#reorder#corrupt");
static cmdline_parse_token_string_t cmd_set_faults_one_rate =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_one_result, rate, NULL);

static cmdline_parse_inst_t cmd_set_faults_one = {
	.f = cmd_set_faults_one_parsed,
	.data = NULL,
	.help_str = "set link faults tx|rx drop|dup|reorder|corrupt <D>: one rate (0..1), the "
		    "others kept",
	.tokens = {
		(void *)&cmd_set_faults_one_set,
		(void *)&cmd_set_faults_one_link,
		(void *)&cmd_set_faults_one_faults,
		(void *)&cmd_set_faults_one_dir,
		(void *)&cmd_set_faults_one_kind,
		(void *)&cmd_set_faults_one_rate,
		NULL,
	},
};

/* *** set link faults off *** */
struct cmd_set_faults_off_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t link;
	cmdline_fixed_string_t faults;
	cmdline_fixed_string_t off;
};

static void
cmd_set_faults_off_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;

	RTE_SET_USED(parsed_result);
	if (!need_link(c, cl, "set link faults")) {
		return;
	}
	memset(c->faults, 0, sizeof(c->faults));
	apply_faults(c, cl);
}

static cmdline_parse_token_string_t cmd_set_faults_off_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_off_result, set, "set");
static cmdline_parse_token_string_t cmd_set_faults_off_link =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_off_result, link, "link");
static cmdline_parse_token_string_t cmd_set_faults_off_faults =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_off_result, faults, "faults");
static cmdline_parse_token_string_t cmd_set_faults_off_off =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_off_result, off, "off");

static cmdline_parse_inst_t cmd_set_faults_off = {
	.f = cmd_set_faults_off_parsed,
	.data = NULL,
	.help_str = "set link faults off: every rate to 0, both directions",
	.tokens = {
		(void *)&cmd_set_faults_off_set,
		(void *)&cmd_set_faults_off_link,
		(void *)&cmd_set_faults_off_faults,
		(void *)&cmd_set_faults_off_off,
		NULL,
	},
};

/* *** set link faults seed N *** */
struct cmd_set_faults_seed_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t link;
	cmdline_fixed_string_t faults;
	cmdline_fixed_string_t seed;
	cmdline_fixed_string_t value;
};

static void
cmd_set_faults_seed_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_set_faults_seed_result *res = parsed_result;
	struct rpci_console *c = data;
	uint64_t seed;

	if (!need_link(c, cl, "set link faults")) {
		return;
	}
	if (console_parse_u64(res->value, &seed) < 0) {
		console_err(c, cl, "set link faults seed: '%s' is not an unsigned integer",
			    res->value);
		return;
	}
	c->faults_seed = seed;
	apply_faults(c, cl);
}

static cmdline_parse_token_string_t cmd_set_faults_seed_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_seed_result, set, "set");
static cmdline_parse_token_string_t cmd_set_faults_seed_link =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_seed_result, link, "link");
static cmdline_parse_token_string_t cmd_set_faults_seed_faults =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_seed_result, faults, "faults");
static cmdline_parse_token_string_t cmd_set_faults_seed_seed =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_seed_result, seed, "seed");
static cmdline_parse_token_string_t cmd_set_faults_seed_value =
	TOKEN_STRING_INITIALIZER(struct cmd_set_faults_seed_result, value, NULL);

static cmdline_parse_inst_t cmd_set_faults_seed = {
	.f = cmd_set_faults_seed_parsed,
	.data = NULL,
	.help_str = "set link faults seed <N>: seed the injector's generator again (the rates "
		    "are kept), for a repeatable run",
	.tokens = {
		(void *)&cmd_set_faults_seed_set,
		(void *)&cmd_set_faults_seed_link,
		(void *)&cmd_set_faults_seed_faults,
		(void *)&cmd_set_faults_seed_seed,
		(void *)&cmd_set_faults_seed_value,
		NULL,
	},
};

static cmdline_parse_inst_t *const g_link_cmds[] = {
	&cmd_show_port,
	&cmd_show_link_stats,
	&cmd_set_faults_all,
	&cmd_set_faults_one,
	&cmd_set_faults_off,
	&cmd_set_faults_seed,
	NULL,
};

static cmdline_parse_inst_t *const g_link_changes[] = {
	&cmd_set_faults_all,
	&cmd_set_faults_one,
	&cmd_set_faults_off,
	&cmd_set_faults_seed,
	NULL,
};

const struct console_area g_console_area_link = {
	.name = "link",
	.what = "the port and the link (rpci-server, rpci-selector, rpci-run)",
	.cmds = g_link_cmds,
	.changes = g_link_changes,
};

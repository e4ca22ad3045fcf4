/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-faultfwd: a fault-injecting Ethernet forwarder for tests.
 *
 * Sits between two hosts, as a switch on a bad network would: every frame
 * that arrives on interface A leaves on interface B and the other way round,
 * and on the way each direction drops, duplicates, reorders, delays and
 * corrupts frames at the configured rates. The decisions come from a seeded
 * generator per direction, so that the same seed and the same frames give
 * the same faults. The two hosts do not know it is there.
 *
 *   rpci-faultfwd --a IFACE --b IFACE [--a2b SPEC] [--b2a SPEC] [--both SPEC]
 *                 [--seed N] [--duration S] [--stats-file F] [--only-ethertype T]
 *                 [--hold-us US]
 *
 * SPEC: comma-separated key=value, keys drop, dup, reorder, corrupt (rates in
 * 0..1) and delay_us (a fixed extra delay). Linux AF_PACKET raw sockets, one
 * per interface; no DPDK.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define FWD_BATCH 64		/* frames per recvmmsg / sendmmsg */
#define FWD_TXQ (FWD_BATCH * 4)	/* frames waiting to leave, per direction */
#define FWD_DELAYQ 8192		/* frames in the delay line, per direction */
#define FWD_HOLD_US 1000	/* a reordered frame waits at most this long */
#define FWD_SOCKBUF (8 << 20)
#define FWD_TX_RETRIES 200	/* 50 us apart: 10 ms, then the frames are lost */
#define ETH_HDR_LEN 14

struct fault_cfg {
	double drop;
	double dup;
	double reorder;
	double corrupt;
	uint32_t delay_us;
};

struct dir_stats {
	uint64_t rx;		/* frames received on the input */
	uint64_t forwarded;	/* frames sent on the output (duplicates included) */
	uint64_t dropped;
	uint64_t duplicated;
	uint64_t reordered;	/* frames held back to leave after the next one */
	uint64_t delayed;
	uint64_t corrupted;
	uint64_t passed;	/* not of --only-ethertype: forwarded untouched */
	uint64_t oversize;	/* longer than the interfaces' MTU: not forwarded */
	uint64_t tx_errors;	/* the output refused them for 10 ms: lost */
	uint64_t kernel_drops;	/* lost in our socket's receive queue */
};

struct frame {
	uint64_t due_ns;
	uint32_t len;
	uint8_t *data;
};

struct direction {
	const char *name;
	int in_fd;
	int out_fd;
	struct fault_cfg cfg;
	uint64_t rng;
	struct dir_stats st;
	/* the frame held back by a reorder */
	bool held;
	uint64_t held_since_ns;
	struct frame hold;
	/* the delay line, a FIFO: a fixed delay keeps the order */
	struct frame *dq;
	uint32_t dq_head;
	uint32_t dq_count;
	/* frames to send, copied */
	struct frame txq[FWD_TXQ];
	uint32_t tx_count;
	struct mmsghdr tx_msgs[FWD_TXQ];
	struct iovec tx_iov[FWD_TXQ];
	/* receive buffers */
	struct mmsghdr rx_msgs[FWD_BATCH];
	struct iovec rx_iov[FWD_BATCH];
	uint8_t *rx_mem;
	uint8_t *frame_mem;
};

struct fwd_opts {
	const char *a;
	const char *b;
	struct fault_cfg a2b;
	struct fault_cfg b2a;
	uint64_t seed;
	double duration;
	const char *stats_file;
	int ethertype;		/* -1: faults apply to every frame */
	uint32_t hold_us;
};

static volatile sig_atomic_t g_quit;
static volatile sig_atomic_t g_dump;
static uint32_t g_frame_max;	/* largest frame forwarded, bytes */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1) {
		g_dump = 1;
	} else {
		g_quit = 1;
	}
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: one stream per direction, from the seed. */
static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double
rng_unit(uint64_t *state)
{
	return (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

static void
usage(const char *prog)
{
	printf("usage: %s --a IFACE --b IFACE [options]\n"
	       "  Forwards every frame between IFACE a and IFACE b, with faults.\n"
	       "  --a2b SPEC, --b2a SPEC  faults of one direction; --both SPEC: of both\n"
	       "      SPEC: key=value[,key=value...], keys drop, dup, reorder, corrupt\n"
	       "      (rates 0..1) and delay_us (fixed extra delay, 0..10000000);\n"
	       "      e.g. drop=0.01,dup=0.01,reorder=0.01,delay_us=0,corrupt=0.001\n"
	       "  --seed N            fault generator seed (default 1)\n"
	       "  --duration S        exit after S seconds (default 0: until SIGINT/SIGTERM)\n"
	       "  --stats-file F      write the counters as one JSON object at exit\n"
	       "                      (and on SIGUSR1)\n"
	       "  --only-ethertype T  faults only for frames of EtherType T (e.g. 0x88B5);\n"
	       "                      others are forwarded untouched\n"
	       "  --hold-us US        longest wait of a reordered frame (default %u)\n"
	       "Exit: 0 after a clean stop, 1 on a runtime error, 2 on bad usage.\n",
	       prog, FWD_HOLD_US);
}

static int
parse_rate(const char *key, const char *val, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (errno != 0 || end == val || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
		fprintf(stderr, "rpci-faultfwd: %s=%s: a rate must be a number in 0..1\n", key,
			val);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "drop=0.01,dup=0.01,...": every key optional, unknown keys refused. */
static int
parse_spec(const char *spec, struct fault_cfg *cfg)
{
	char buf[512], *p, *next, *eq, *end;
	unsigned long long us;
	size_t len = strlen(spec);
	int ret;

	if (len >= sizeof(buf)) {
		fprintf(stderr, "rpci-faultfwd: fault spec too long\n");
		return -EINVAL;
	}
	memcpy(buf, spec, len + 1);
	memset(cfg, 0, sizeof(*cfg));
	for (p = buf; p != NULL && *p != '\0'; p = next) {
		next = strchr(p, ',');
		if (next != NULL) {
			*next++ = '\0';
		}
		eq = strchr(p, '=');
		if (eq == NULL) {
			fprintf(stderr, "rpci-faultfwd: '%s' in a fault spec is not key=value\n",
				p);
			return -EINVAL;
		}
		*eq++ = '\0';
		if (strcmp(p, "drop") == 0) {
			ret = parse_rate(p, eq, &cfg->drop);
		} else if (strcmp(p, "dup") == 0) {
			ret = parse_rate(p, eq, &cfg->dup);
		} else if (strcmp(p, "reorder") == 0) {
			ret = parse_rate(p, eq, &cfg->reorder);
		} else if (strcmp(p, "corrupt") == 0) {
			ret = parse_rate(p, eq, &cfg->corrupt);
		} else if (strcmp(p, "delay_us") == 0) {
			errno = 0;
			us = strtoull(eq, &end, 10);
			if (errno != 0 || end == eq || *end != '\0' || *eq == '-' ||
			    us > 10000000ull) {
				fprintf(stderr, "rpci-faultfwd: delay_us=%s: must be 0..10000000\n",
					eq);
				return -EINVAL;
			}
			cfg->delay_us = (uint32_t)us;
			ret = 0;
		} else {
			fprintf(stderr, "rpci-faultfwd: unknown fault '%s' (drop, dup, reorder, "
				"corrupt, delay_us)\n", p);
			return -EINVAL;
		}
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct fwd_opts *o)
{
	static const struct option opts[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "a2b", required_argument, NULL, 'A' },
		{ "b2a", required_argument, NULL, 'B' },
		{ "both", required_argument, NULL, 'C' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stats-file", required_argument, NULL, 'f' },
		{ "only-ethertype", required_argument, NULL, 'e' },
		{ "hold-us", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	char *end;
	int opt;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->ethertype = -1;
	o->hold_us = FWD_HOLD_US;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			o->a = optarg;
			break;
		case 'b':
			o->b = optarg;
			break;
		case 'A':
			if (parse_spec(optarg, &o->a2b) < 0) {
				return -EINVAL;
			}
			break;
		case 'B':
			if (parse_spec(optarg, &o->b2a) < 0) {
				return -EINVAL;
			}
			break;
		case 'C':
			if (parse_spec(optarg, &o->a2b) < 0) {
				return -EINVAL;
			}
			o->b2a = o->a2b;
			break;
		case 's':
			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0' || *optarg == '-') {
				fprintf(stderr, "rpci-faultfwd: --seed '%s' is not a number\n",
					optarg);
				return -EINVAL;
			}
			o->seed = v;
			break;
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->duration >= 0.0) ||
			    o->duration > 1e6) {
				fprintf(stderr, "rpci-faultfwd: --duration '%s' is not a number of "
					"seconds\n", optarg);
				return -EINVAL;
			}
			break;
		case 'f':
			o->stats_file = optarg;
			break;
		case 'e':
			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0' || *optarg == '-' ||
			    v < 0x600 || v > 0xffff) {
				fprintf(stderr, "rpci-faultfwd: --only-ethertype '%s': an "
					"EtherType is 0x0600..0xFFFF\n", optarg);
				return -EINVAL;
			}
			o->ethertype = (int)v;
			break;
		case 'o':
			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0' || *optarg == '-' ||
			    v == 0 || v > 1000000) {
				fprintf(stderr, "rpci-faultfwd: --hold-us must be 1..1000000\n");
				return -EINVAL;
			}
			o->hold_us = (uint32_t)v;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			fprintf(stderr, "rpci-faultfwd: unknown or incomplete option '%s' "
				"(see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rpci-faultfwd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->a == NULL || o->b == NULL) {
		fprintf(stderr, "rpci-faultfwd: --a IFACE and --b IFACE are required\n");
		return -EINVAL;
	}
	if (strcmp(o->a, o->b) == 0) {
		fprintf(stderr, "rpci-faultfwd: --a and --b must be two interfaces\n");
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------- sockets */

static int
iface_mtu(int fd, const char *name, uint32_t *mtu)
{
	struct ifreq ifr;
	size_t len = strlen(name);

	if (len >= sizeof(ifr.ifr_name)) {
		return -ENAMETOOLONG;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len + 1);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		return -errno;
	}
	*mtu = (uint32_t)ifr.ifr_mtu;
	return 0;
}

/*
 * A raw socket that sees every frame arriving on one interface, none of
 * those leaving it (ours above all), and sends on it.
 */
static int
open_port(const char *name, uint32_t *mtu)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	unsigned int ifindex = if_nametoindex(name);
	int fd, one = 1, buf = FWD_SOCKBUF, ret;

	if (ifindex == 0) {
		ret = -errno;
		fprintf(stderr, "rpci-faultfwd: no interface '%s': %s\n", name, strerror(errno));
		return ret;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "rpci-faultfwd: AF_PACKET socket: %s\n", strerror(errno));
		return ret;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
		ret = -errno;
		fprintf(stderr, "rpci-faultfwd: %s: PACKET_IGNORE_OUTGOING: %s\n", name,
			strerror(errno));
		goto close_fd;
	}
	/* Our own sends need not be seen by taps; best effort. */
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		ret = -errno;
		fprintf(stderr, "rpci-faultfwd: bind to %s: %s\n", name, strerror(errno));
		goto close_fd;
	}
	/* A switch port takes frames for any address. */
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		ret = -errno;
		fprintf(stderr, "rpci-faultfwd: %s: promiscuous mode: %s\n", name,
			strerror(errno));
		goto close_fd;
	}
	ret = iface_mtu(fd, name, mtu);
	if (ret < 0) {
		fprintf(stderr, "rpci-faultfwd: %s: MTU: %s\n", name, strerror(-ret));
		goto close_fd;
	}
	return fd;

close_fd:
	close(fd);
	return ret;
}

/* Frames our receive queue lost since the last call (the kernel resets it). */
static uint64_t
socket_drops(int fd)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
		return 0;
	}
	return st.tp_drops;
}

/* Throw away what queued before we were ready (half-configured frames). */
static void
drain(int fd)
{
	uint8_t buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0) {
		continue;
	}
	(void)socket_drops(fd);
}

/* ----------------------------------------------------------- directions */

static int
dir_init(struct direction *d, const char *name, int in_fd, int out_fd,
	 const struct fault_cfg *cfg, uint64_t seed, unsigned int index)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->name = name;
	d->in_fd = in_fd;
	d->out_fd = out_fd;
	d->cfg = *cfg;
	/* Independent streams: the seed, then the direction. */
	d->rng = seed * 0x100000001b3ull + index + 1;
	(void)rng_next(&d->rng);
	d->rx_mem = malloc((size_t)FWD_BATCH * (g_frame_max + 1));
	/* FWD_TXQ send slots, FWD_DELAYQ delay slots, one hold slot */
	d->frame_mem = malloc((size_t)(FWD_TXQ + FWD_DELAYQ + 1) * g_frame_max);
	d->dq = calloc(FWD_DELAYQ, sizeof(*d->dq));
	if (d->rx_mem == NULL || d->frame_mem == NULL || d->dq == NULL) {
		free(d->rx_mem);
		free(d->frame_mem);
		free(d->dq);
		return -ENOMEM;
	}
	for (i = 0; i < FWD_BATCH; i++) {
		d->rx_iov[i].iov_base = d->rx_mem + (size_t)i * (g_frame_max + 1);
		d->rx_iov[i].iov_len = g_frame_max + 1;
		d->rx_msgs[i].msg_hdr.msg_iov = &d->rx_iov[i];
		d->rx_msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (i = 0; i < FWD_TXQ; i++) {
		d->txq[i].data = d->frame_mem + (size_t)i * g_frame_max;
	}
	for (i = 0; i < FWD_DELAYQ; i++) {
		d->dq[i].data = d->frame_mem + (size_t)(FWD_TXQ + i) * g_frame_max;
	}
	d->hold.data = d->frame_mem + (size_t)(FWD_TXQ + FWD_DELAYQ) * g_frame_max;
	return 0;
}

static void
dir_free(struct direction *d)
{
	free(d->rx_mem);
	free(d->frame_mem);
	free(d->dq);
}

/* Send everything queued for the output, in order. */
static void
tx_flush(struct direction *d)
{
	uint32_t done = 0, i, tries = 0;
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 50000 };
	int n;

	for (i = 0; i < d->tx_count; i++) {
		d->tx_iov[i].iov_base = d->txq[i].data;
		d->tx_iov[i].iov_len = d->txq[i].len;
		memset(&d->tx_msgs[i], 0, sizeof(d->tx_msgs[i]));
		d->tx_msgs[i].msg_hdr.msg_iov = &d->tx_iov[i];
		d->tx_msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < d->tx_count) {
		n = sendmmsg(d->out_fd, &d->tx_msgs[done], d->tx_count - done, MSG_DONTWAIT);
		if (n > 0) {
			done += (uint32_t)n;
			d->st.forwarded += (uint64_t)n;
			tries = 0;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS) && ++tries < FWD_TX_RETRIES) {
			nanosleep(&pause, NULL);
			continue;
		}
		/* The output will not take it (down, or full for 10 ms): lost. */
		d->st.tx_errors += d->tx_count - done;
		break;
	}
	d->tx_count = 0;
}

static void
tx_put(struct direction *d, const uint8_t *data, uint32_t len)
{
	if (d->tx_count == FWD_TXQ) {
		tx_flush(d);
	}
	memcpy(d->txq[d->tx_count].data, data, len);
	d->txq[d->tx_count].len = len;
	d->tx_count++;
}

/* The frame at the head of the delay line leaves now. */
static void
dq_pop(struct direction *d)
{
	struct frame *f = &d->dq[d->dq_head];

	tx_put(d, f->data, f->len);
	d->dq_head = (d->dq_head + 1) % FWD_DELAYQ;
	d->dq_count--;
}

/* A frame leaves: after the configured delay, or now. */
static void
emit(struct direction *d, const uint8_t *data, uint32_t len, uint64_t now)
{
	struct frame *f;

	if (d->cfg.delay_us == 0) {
		tx_put(d, data, len);
		return;
	}
	if (d->dq_count == FWD_DELAYQ) {
		/* The line is full: its oldest frame leaves early rather than be lost. */
		dq_pop(d);
	}
	f = &d->dq[(d->dq_head + d->dq_count) % FWD_DELAYQ];
	memcpy(f->data, data, len);
	f->len = len;
	f->due_ns = now + (uint64_t)d->cfg.delay_us * 1000ull;
	d->dq_count++;
	d->st.delayed++;
}

static void
release_held(struct direction *d, uint64_t now)
{
	if (d->held) {
		d->held = false;
		emit(d, d->hold.data, d->hold.len, now);
	}
}

static bool
faulted_kind(const uint8_t *frame, uint32_t len, int ethertype)
{
	if (ethertype < 0) {
		return true;
	}
	return len >= ETH_HDR_LEN && ((frame[12] << 8) | frame[13]) == ethertype;
}

/* One frame in from the input: decide its fate. */
static void
handle_frame(struct direction *d, uint8_t *frame, uint32_t len, int ethertype, uint64_t now)
{
	double u_drop, u_corrupt, u_dup, u_reorder;
	uint64_t bit;
	unsigned int copies = 1;

	d->st.rx++;
	if (!faulted_kind(frame, len, ethertype)) {
		d->st.passed++;
		tx_put(d, frame, len);
		return;
	}
	/* Always the same draws per frame, whatever they decide. */
	u_drop = rng_unit(&d->rng);
	u_corrupt = rng_unit(&d->rng);
	u_dup = rng_unit(&d->rng);
	u_reorder = rng_unit(&d->rng);
	bit = rng_next(&d->rng);
	if (u_drop < d->cfg.drop) {
		d->st.dropped++;
		return;
	}
	if (u_corrupt < d->cfg.corrupt && len > ETH_HDR_LEN) {
		/* One bit past the Ethernet header. */
		bit %= (uint64_t)(len - ETH_HDR_LEN) * 8;
		frame[ETH_HDR_LEN + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		d->st.corrupted++;
	}
	if (u_dup < d->cfg.dup) {
		copies = 2;
		d->st.duplicated++;
	}
	if (u_reorder < d->cfg.reorder && !d->held) {
		/* Held back: it leaves after the next frame, or after hold_us. */
		memcpy(d->hold.data, frame, len);
		d->hold.len = len;
		d->held = true;
		d->held_since_ns = now;
		d->st.reordered++;
		copies--;
		if (copies == 0) {
			return;
		}
	}
	while (copies-- > 0) {
		emit(d, frame, len, now);
	}
	release_held(d, now);
}

/* Receive what is there (a bounded amount, so that the other side has its turn). */
static int
dir_rx(struct direction *d, int ethertype)
{
	unsigned int round, i;
	uint64_t now;
	int n;

	for (round = 0; round < 8; round++) {
		for (i = 0; i < FWD_BATCH; i++) {
			d->rx_msgs[i].msg_hdr.msg_flags = 0;
			d->rx_msgs[i].msg_len = 0;
		}
		n = recvmmsg(d->in_fd, d->rx_msgs, FWD_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				return 0;
			}
			fprintf(stderr, "rpci-faultfwd: receive on the %s input: %s\n", d->name,
				strerror(errno));
			return -errno;
		}
		now = now_ns();
		for (i = 0; i < (unsigned int)n; i++) {
			uint32_t len = d->rx_msgs[i].msg_len;

			if (len > g_frame_max || (d->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				d->st.rx++;
				d->st.oversize++;
				continue;
			}
			handle_frame(d, d->rx_iov[i].iov_base, len, ethertype, now);
		}
		tx_flush(d);
		if (n < FWD_BATCH) {
			break;
		}
	}
	return 0;
}

/* Held and delayed frames whose time has come; the next deadline. */
static uint64_t
dir_timers(struct direction *d, uint64_t now, uint64_t hold_ns)
{
	uint64_t next = UINT64_MAX;

	if (d->held && now - d->held_since_ns >= hold_ns) {
		release_held(d, now);
	}
	while (d->dq_count > 0 && d->dq[d->dq_head].due_ns <= now) {
		dq_pop(d);
	}
	tx_flush(d);
	if (d->held) {
		next = d->held_since_ns + hold_ns;
	}
	if (d->dq_count > 0 && d->dq[d->dq_head].due_ns < next) {
		next = d->dq[d->dq_head].due_ns;
	}
	return next;
}

/* At exit nothing stays behind: held and delayed frames leave. */
static void
dir_drain(struct direction *d, uint64_t now)
{
	release_held(d, now);
	while (d->dq_count > 0) {
		dq_pop(d);
	}
	tx_flush(d);
}

/* ------------------------------------------------------------ reporting */

static void
stats_json(FILE *f, const char *name, const struct dir_stats *s, const struct fault_cfg *c)
{
	fprintf(f, "\"%s\":{\"rx\":%" PRIu64 ",\"forwarded\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"delayed\":%" PRIu64
		",\"corrupted\":%" PRIu64 ",\"passed\":%" PRIu64 ",\"oversize\":%" PRIu64
		",\"tx_errors\":%" PRIu64 ",\"kernel_drops\":%" PRIu64
		",\"config\":{\"drop\":%g,\"dup\":%g,\"reorder\":%g,\"corrupt\":%g,"
		"\"delay_us\":%u}}",
		name, s->rx, s->forwarded, s->dropped, s->duplicated, s->reordered, s->delayed,
		s->corrupted, s->passed, s->oversize, s->tx_errors, s->kernel_drops, c->drop,
		c->dup, c->reorder, c->corrupt, c->delay_us);
}

/* The counters as one JSON object, written whole (a temporary file, renamed). */
static int
write_stats(const struct fwd_opts *o, const struct direction *ab, const struct direction *ba,
	    double elapsed)
{
	char tmp[4096];
	FILE *f;
	int ret = 0;

	if (o->stats_file == NULL) {
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", o->stats_file) >= (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	f = fopen(tmp, "w");
	if (f == NULL) {
		ret = -errno;
		fprintf(stderr, "rpci-faultfwd: cannot write %s: %s\n", tmp, strerror(errno));
		return ret;
	}
	fprintf(f, "{\"a\":\"%s\",\"b\":\"%s\",\"seed\":%" PRIu64 ",\"seconds\":%.3f,", o->a,
		o->b, o->seed, elapsed);
	stats_json(f, "a2b", &ab->st, &ab->cfg);
	fputc(',', f);
	stats_json(f, "b2a", &ba->st, &ba->cfg);
	fputs("}\n", f);
	if (fclose(f) != 0) {
		ret = -errno;
	}
	if (ret == 0 && rename(tmp, o->stats_file) != 0) {
		ret = -errno;
	}
	if (ret < 0) {
		fprintf(stderr, "rpci-faultfwd: cannot write %s: %s\n", o->stats_file,
			strerror(-ret));
	}
	return ret;
}

static void
print_dir(const struct direction *d)
{
	const struct dir_stats *s = &d->st;

	printf("rpci-faultfwd: %s: rx %" PRIu64 ", forwarded %" PRIu64 ", dropped %" PRIu64
	       ", duplicated %" PRIu64 ", reordered %" PRIu64 ", delayed %" PRIu64
	       ", corrupted %" PRIu64 ", passed %" PRIu64 ", oversize %" PRIu64
	       ", tx errors %" PRIu64 ", kernel drops %" PRIu64 "\n",
	       d->name, s->rx, s->forwarded, s->dropped, s->duplicated, s->reordered,
	       s->delayed, s->corrupted, s->passed, s->oversize, s->tx_errors, s->kernel_drops);
}

static void
print_cfg(const char *name, const struct fault_cfg *c)
{
	printf(" %s drop=%g,dup=%g,reorder=%g,corrupt=%g,delay_us=%u", name, c->drop, c->dup,
	       c->reorder, c->corrupt, c->delay_us);
}

/* ---------------------------------------------------------------- main */

static int
forward(const struct fwd_opts *o, struct direction *ab, struct direction *ba)
{
	struct pollfd pfd[2];
	uint64_t start = now_ns(), now, next, end = UINT64_MAX;
	uint64_t hold_ns = (uint64_t)o->hold_us * 1000ull, wait;
	struct timespec ts;
	int n, ret = 0;

	if (o->duration > 0) {
		end = start + (uint64_t)(o->duration * 1e9);
	}
	pfd[0].fd = ab->in_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ba->in_fd;
	pfd[1].events = POLLIN;
	while (!g_quit) {
		now = now_ns();
		if (now >= end) {
			break;
		}
		next = dir_timers(ab, now, hold_ns);
		wait = dir_timers(ba, now, hold_ns);
		if (wait < next) {
			next = wait;
		}
		if (end < next) {
			next = end;
		}
		/* Wake at least every 100 ms, for SIGUSR1 and the clock. */
		wait = next == UINT64_MAX || next - now > 100000000ull ? 100000000ull :
		       next > now ? next - now : 0;
		ts.tv_sec = (time_t)(wait / 1000000000ull);
		ts.tv_nsec = (long)(wait % 1000000000ull);
		if (g_dump) {
			g_dump = 0;
			ab->st.kernel_drops += socket_drops(ab->in_fd);
			ba->st.kernel_drops += socket_drops(ba->in_fd);
			write_stats(o, ab, ba, (now - start) / 1e9);
		}
		n = ppoll(pfd, 2, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			ret = -errno;
			fprintf(stderr, "rpci-faultfwd: poll: %s\n", strerror(errno));
			break;
		}
		if ((pfd[0].revents | pfd[1].revents) & (POLLERR | POLLNVAL)) {
			fprintf(stderr, "rpci-faultfwd: an interface went away\n");
			ret = -EIO;
			break;
		}
		if ((pfd[0].revents & POLLIN) && (ret = dir_rx(ab, o->ethertype)) < 0) {
			break;
		}
		if ((pfd[1].revents & POLLIN) && (ret = dir_rx(ba, o->ethertype)) < 0) {
			break;
		}
	}
	now = now_ns();
	dir_drain(ab, now);
	dir_drain(ba, now);
	ab->st.kernel_drops += socket_drops(ab->in_fd);
	ba->st.kernel_drops += socket_drops(ba->in_fd);
	printf("rpci-faultfwd: stopped after %.3f s\n", (now - start) / 1e9);
	print_dir(ab);
	print_dir(ba);
	if (write_stats(o, ab, ba, (now - start) / 1e9) < 0 && ret == 0) {
		ret = -EIO;
	}
	return ret;
}

int
main(int argc, char **argv)
{
	struct fwd_opts o;
	struct direction *ab, *ba;
	struct sigaction sa;
	uint32_t mtu_a, mtu_b;
	int fd_a, fd_b, ret = 1;

	if (parse_args(argc, argv, &o) < 0) {
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: ppoll returns on a signal. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd_a = open_port(o.a, &mtu_a);
	if (fd_a < 0) {
		return 1;
	}
	fd_b = open_port(o.b, &mtu_b);
	if (fd_b < 0) {
		goto close_a;
	}
	/* Ethernet header and one VLAN tag past the larger MTU. */
	g_frame_max = (mtu_a > mtu_b ? mtu_a : mtu_b) + ETH_HDR_LEN + 4;
	ab = malloc(sizeof(*ab));
	ba = malloc(sizeof(*ba));
	if (ab == NULL || ba == NULL) {
		fprintf(stderr, "rpci-faultfwd: out of memory\n");
		goto free_dirs;
	}
	if (dir_init(ab, "a2b", fd_a, fd_b, &o.a2b, o.seed, 0) < 0) {
		fprintf(stderr, "rpci-faultfwd: out of memory\n");
		goto free_dirs;
	}
	if (dir_init(ba, "b2a", fd_b, fd_a, &o.b2a, o.seed, 1) < 0) {
		fprintf(stderr, "rpci-faultfwd: out of memory\n");
		goto free_ab;
	}
	drain(fd_a);
	drain(fd_b);
	printf("rpci-faultfwd: forwarding %s <-> %s, seed %" PRIu64, o.a, o.b, o.seed);
	print_cfg("a2b", &o.a2b);
	print_cfg("b2a", &o.b2a);
	if (o.ethertype >= 0) {
		printf(", faults only on EtherType 0x%04x", o.ethertype);
	}
	printf("\n");
	fflush(stdout);

	ret = forward(&o, ab, ba) < 0 ? 1 : 0;
	fflush(stdout);

	dir_free(ba);
free_ab:
	dir_free(ab);
free_dirs:
	free(ab);
	free(ba);
	close(fd_b);
close_a:
	close(fd_a);
	return ret;
}

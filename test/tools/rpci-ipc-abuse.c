/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-ipc-abuse: a malicious local program, for the integration test of
 * rpci-proxy (test/integration/proxy.sh). It connects to a proxy's socket
 * and breaks the program-to-proxy protocol (lib/ipc) in every way it knows,
 * one connection each: HELLOs that are not, memory the proxy must not take,
 * ring indices out of range, random request slots, requests for devices it
 * does not hold, a flood. It checks that each is refused, cut off or
 * answered with an error, as doc/proxy.md says, and prints a line per
 * attack. The proxy must serve its other programs all along (the test
 * checks that).
 *
 *   rpci-ipc-abuse SOCKET [--seed S] [--rounds N]
 *
 * Exit: 0 every attack got the answer expected, 1 one did not, 2 usage.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rpci_ipc.h"

#define SHM_SIZE RPCI_IPC_SHM_MIN
#define WAIT_MS 3000

static const char *g_path;
static uint64_t g_rng;
static int g_failed;

static uint64_t
rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

static void
verdict(const char *attack, bool ok, const char *what)
{
	printf("%-34s %s%s\n", attack, ok ? "" : "UNEXPECTED: ", what);
	if (!ok) {
		g_failed++;
	}
}

static int
connect_proxy(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", g_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

static int
make_memfd(uint64_t size, bool seal)
{
	int fd = memfd_create("abuse", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		return -1;
	}
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		return -1;
	}
	return fd;
}

/* Send a HELLO (raw bytes) with up to two descriptors. */
static int
send_hello(int sock, const void *msg, size_t len, const int *fds, int nb_fds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nb_fds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nb_fds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nb_fds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nb_fds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* The proxy's answer: its status (fds closed), or -ETIMEDOUT / -EPIPE. */
static int
recv_ack(int sock, struct rpci_ipc_hello_ack *ack, int *fds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t raw[sizeof(*ack) + 16];
	struct iovec iov = { .iov_base = raw, .iov_len = sizeof(raw) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *cm;
	int nb = 0;
	ssize_t n;

	if (poll(&pfd, 1, WAIT_MS) <= 0) {
		return -ETIMEDOUT;
	}
	n = recvmsg(sock, &mh, 0);
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)), i;

		for (i = 0; i < k && nb < 2; i++) {
			memcpy(&fds[nb++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		}
	}
	if (n <= 0 || rpci_ipc_hello_ack_check(raw, (size_t)n, ack) < 0) {
		return -EPIPE;
	}
	return ack->status;
}

static void
hello_fill(struct rpci_ipc_hello *h, uint64_t size)
{
	memset(h, 0, sizeof(*h));
	h->magic = RPCI_IPC_MAGIC;
	h->version = RPCI_IPC_VERSION;
	h->type = RPCI_IPC_HELLO;
	h->shm_size = size;
	snprintf(h->name, sizeof(h->name), "abuse");
}

/* A HELLO the proxy must refuse: its answer is an error status. */
static void
hello_refused(const char *attack, const struct rpci_ipc_hello *h, size_t len, int memfd)
{
	struct rpci_ipc_hello_ack ack;
	int sock = connect_proxy(), fds[2] = { -1, -1 }, ret;
	char what[160];

	if (sock < 0) {
		verdict(attack, false, "cannot connect");
		return;
	}
	send_hello(sock, h, len, &memfd, memfd >= 0 ? 1 : 0);
	ret = recv_ack(sock, &ack, fds);
	snprintf(what, sizeof(what), "refused: %s", ret < 0 && ret != -EPIPE &&
		 ret != -ETIMEDOUT ? ack.reason : strerror(-ret));
	verdict(attack, ret < 0 && ret != -ETIMEDOUT && ret != -EPIPE, what);
	close(sock);
}

/* A program that passed HELLO: its socket, memory, rings. */
struct prog {
	int sock;
	int wake;
	int bell;
	uint8_t *shm;
	struct rpci_ipc_ctrl_page *cp;
	uint32_t prod;
	uint32_t cons;
};

static int
prog_open(struct prog *g)
{
	struct rpci_ipc_hello h;
	struct rpci_ipc_hello_ack ack;
	int memfd = make_memfd(SHM_SIZE, true), fds[2] = { -1, -1 };

	memset(g, 0, sizeof(*g));
	g->sock = connect_proxy();
	if (g->sock < 0 || memfd < 0) {
		return -1;
	}
	g->shm = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (g->shm == MAP_FAILED) {
		return -1;
	}
	g->cp = (struct rpci_ipc_ctrl_page *)g->shm;
	hello_fill(&h, SHM_SIZE);
	if (send_hello(g->sock, &h, sizeof(h), &memfd, 1) < 0 ||
	    recv_ack(g->sock, &ack, fds) != 0) {
		return -1;
	}
	close(memfd);
	g->wake = fds[0];
	g->bell = fds[1];
	return 0;
}

static void
prog_close(struct prog *g)
{
	if (g->sock >= 0) {
		close(g->sock);
	}
	if (g->wake > 0) {
		close(g->wake);
	}
	if (g->bell > 0) {
		close(g->bell);
	}
	if (g->shm != NULL && g->shm != MAP_FAILED) {
		munmap(g->shm, SHM_SIZE);
	}
}

static void
ring_bell(struct prog *g)
{
	uint64_t one = 1;

	if (write(g->bell, &one, sizeof(one)) < 0) {
		/* the proxy may be gone: the caller sees it */
	}
}

/* Whether the proxy closed our socket (cut us off) within ms. */
static bool
cut_off(struct prog *g, int ms)
{
	struct pollfd pfd = { .fd = g->sock, .events = POLLIN | POLLRDHUP };
	char b;

	while (ms > 0) {
		ring_bell(g);
		if (poll(&pfd, 1, 50) > 0 &&
		    ((pfd.revents & (POLLHUP | POLLRDHUP)) ||
		     recv(g->sock, &b, 1, MSG_DONTWAIT) == 0)) {
			return true;
		}
		ms -= 50;
	}
	return false;
}

static void
post(struct prog *g, const struct rpci_ipc_req *r)
{
	struct rpci_ipc_req *slots = rpci_ipc_req_slots(g->shm);

	slots[g->prod & (RPCI_IPC_REQ_SLOTS - 1)] = *r;
	g->prod++;
	rpci_ipc_store(&g->cp->req.prod, g->prod);
	ring_bell(g);
}

/* The next completion, within ms: 1 (in *out), 0 none. */
static int
take_cpl(struct prog *g, struct rpci_ipc_cpl *out, int ms)
{
	struct timespec ts = { 0, 1000000 };

	for (; ms > 0; ms--) {
		if (rpci_ipc_load(&g->cp->cpl.prod) != g->cons) {
			*out = rpci_ipc_cpl_slots(g->shm)[g->cons & (RPCI_IPC_CPL_SLOTS - 1)];
			g->cons++;
			rpci_ipc_store(&g->cp->cpl.cons, g->cons);
			return 1;
		}
		ring_bell(g);
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void
attack_hellos(void)
{
	struct rpci_ipc_hello h;
	int fd;

	hello_fill(&h, SHM_SIZE);
	h.magic = 0xdeadbeef;
	fd = make_memfd(SHM_SIZE, true);
	hello_refused("HELLO with a bad magic", &h, sizeof(h), fd);
	close(fd);
	hello_fill(&h, SHM_SIZE);
	h.version = RPCI_IPC_VERSION + 7;
	fd = make_memfd(SHM_SIZE, true);
	hello_refused("HELLO of another version", &h, sizeof(h), fd);
	close(fd);
	hello_fill(&h, SHM_SIZE);
	hello_refused("HELLO without memory", &h, sizeof(h), -1);
	fd = make_memfd(SHM_SIZE, false);
	hello_refused("HELLO with unsealed memory", &h, sizeof(h), fd);
	close(fd);
	fd = make_memfd(SHM_SIZE, true);
	hello_fill(&h, SHM_SIZE * 2);
	hello_refused("HELLO with a size that lies", &h, sizeof(h), fd);
	close(fd);
	hello_fill(&h, 4096);
	fd = make_memfd(4096, true);
	hello_refused("HELLO with too little memory", &h, sizeof(h), fd);
	close(fd);
	hello_fill(&h, SHM_SIZE);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	hello_refused("HELLO with /dev/null for memory", &h, sizeof(h), fd);
	close(fd);
	hello_refused("HELLO cut short", &h, 12, -1);
}

static void
attack_ring_index(void)
{
	struct prog g;

	if (prog_open(&g) < 0) {
		verdict("request index out of range", false, "HELLO refused");
		return;
	}
	rpci_ipc_store(&g.cp->req.prod, RPCI_IPC_REQ_SLOTS * 3 + 5);
	verdict("request index out of range", cut_off(&g, WAIT_MS), "cut off");
	prog_close(&g);

	if (prog_open(&g) < 0) {
		verdict("completion index out of range", false, "HELLO refused");
		return;
	}
	rpci_ipc_store(&g.cp->cpl.cons, 0x80000000u);
	{
		struct rpci_ipc_req r = { .op = RPCI_IPC_OP_FENCE, .nslots = 1, .dev = 3 };

		post(&g, &r);
	}
	verdict("completion index out of range", cut_off(&g, WAIT_MS), "cut off");
	prog_close(&g);
}

/* Random slots: every malformed request cuts the program off. */
static void
attack_random(unsigned int rounds)
{
	unsigned int i, cut = 0, k;
	char what[96];

	for (i = 0; i < rounds; i++) {
		struct prog g;
		struct rpci_ipc_req *slots;

		if (prog_open(&g) < 0) {
			verdict("random requests", false, "HELLO refused");
			return;
		}
		slots = rpci_ipc_req_slots(g.shm);
		for (k = 0; k < 64; k++) {
			uint64_t w[8];
			unsigned int j;

			for (j = 0; j < 8; j++) {
				w[j] = rnd();
			}
			memcpy(&slots[k], w, sizeof(w));
			if (k == 0) {
				slots[0].op = (uint8_t)(rnd() % 20); /* near the real ops, too */
			}
		}
		g.prod = 64;
		rpci_ipc_store(&g.cp->req.prod, g.prod);
		cut += cut_off(&g, 1000);
		prog_close(&g);
	}
	snprintf(what, sizeof(what), "cut off %u of %u programs, the proxy lives", cut, rounds);
	verdict("random requests", cut > 0, what);
}

/* Well-formed requests for devices it does not hold: errors, nothing else. */
static void
attack_foreign_devices(void)
{
	struct prog g;
	struct rpci_ipc_cpl c;
	unsigned int errors = 0, answers = 0, i;
	char what[96];

	if (prog_open(&g) < 0) {
		verdict("devices it does not hold", false, "HELLO refused");
		return;
	}
	for (i = 0; i < 16; i++) {
		struct rpci_ipc_req r = {
			.nslots = 1,
			.dev = (uint8_t)(i % RPCI_IPC_DEVICES_MAX),
			.cookie = 1000 + i,
		};

		switch (i % 4) {
		case 0:
			r.op = RPCI_IPC_OP_MRD;
			r.len = 64;
			r.addr = 0x1000000000ull;
			r.buf = RPCI_IPC_HEAP_OFF;
			break;
		case 1:
			r.op = RPCI_IPC_OP_CFGRD;
			r.arg = 0xfull << 32;
			break;
		case 2:
			r.op = RPCI_IPC_OP_FENCE;
			break;
		default:
			r.op = RPCI_IPC_OP_RECONNECT;
			r.arg = RPCI_IPC_HEAP_OFF;
			r.arg2 = sizeof(struct rpci_ipc_open_reply);
			break;
		}
		post(&g, &r);
	}
	while (take_cpl(&g, &c, 2000) == 1) {
		answers++;
		errors += c.status < 0;
	}
	snprintf(what, sizeof(what), "%u answers, %u errors", answers, errors);
	verdict("devices it does not hold", answers == 16 && errors == 16 && !cut_off(&g, 100),
		what);
	prog_close(&g);
}

/* A flood of posted writes to nothing: the proxy takes a budget a turn. */
static void
attack_flood(void)
{
	struct prog g;
	struct rpci_ipc_cpl c;
	unsigned int i, n = 0;
	char what[96];

	if (prog_open(&g) < 0) {
		verdict("flood", false, "HELLO refused");
		return;
	}
	for (i = 0; i < 200000; i++) {
		struct rpci_ipc_req r = {
			.op = RPCI_IPC_OP_MWR,
			.nslots = 1,
			.dev = 7,
			.len = 1 << 20,
			.addr = 0x1000000000ull,
			.buf = RPCI_IPC_HEAP_OFF,
		};

		while (g.prod - rpci_ipc_load(&g.cp->req.cons) >= RPCI_IPC_REQ_SLOTS) {
			ring_bell(&g);
		}
		post(&g, &r);
		n++;
	}
	{
		struct rpci_ipc_req r = { .op = RPCI_IPC_OP_FENCE, .nslots = 1, .dev = 7,
					  .cookie = 77 };

		post(&g, &r);
	}
	snprintf(what, sizeof(what), "%u requests taken, then a fence answered", n);
	verdict("flood", take_cpl(&g, &c, 10000) == 1 && c.cookie == 77 && c.status < 0, what);
	prog_close(&g);
}

int
main(int argc, char **argv)
{
	unsigned int rounds = 20;
	int i;

	g_rng = 0x9e3779b97f4a7c15ull;
	if (argc < 2) {
		fprintf(stderr, "usage: %s SOCKET [--seed S] [--rounds N]\n", argv[0]);
		return 2;
	}
	g_path = argv[1];
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seed") == 0) {
			g_rng = strtoull(argv[i + 1], NULL, 0) | 1;
		} else if (strcmp(argv[i], "--rounds") == 0) {
			rounds = (unsigned int)strtoul(argv[i + 1], NULL, 0);
		} else {
			fprintf(stderr, "usage: %s SOCKET [--seed S] [--rounds N]\n", argv[0]);
			return 2;
		}
	}
	attack_hellos();
	attack_ring_index();
	attack_random(rounds);
	attack_foreign_devices();
	attack_flood();
	printf("%d attack%s with an unexpected answer\n", g_failed, g_failed == 1 ? "" : "s");
	return g_failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Fuzz harness of the control-message codec (lib/ctrl, rpci_ctrl.h).
 *
 * The input is the payload of a CTRL frame. Decoding it gives 0 or one of
 * the documented errors with a reason (-EMSGSIZE exactly when it is over
 * RPCI_CTRL_MAX), and a refused message leaves the struct zeroed. A message
 * that decodes encodes again (it can only be too big because a load's
 * shortest text is longer than the way the input wrote it); that text
 * decodes to the same struct and encodes to the same bytes, and is refused
 * one byte short of room. Then the decoded struct is damaged a few bytes at
 * a time, by a generator seeded from the input (its bools only ever set to
 * true or false): whenever the encoder accepts a damaged struct, the decoder
 * must accept what it wrote and encoding that again must give the same
 * bytes, so the encoder never writes what the decoder would refuse. The
 * input is also given to the MAC parser.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "rpci_ctrl.h"
#include "fuzz.h"

/* Damaged copies of each decoded message. */
#define ROUNDS 24
/* A load's text grows by at most this much when encoded again. */
#define LOAD_GROWTH 32

static char g_enc[RPCI_CTRL_MAX + 1];
static char g_enc2[RPCI_CTRL_MAX + 1];

/* The generator of the damage (xorshift64), seeded from the input. */
static uint64_t g_rng;

static uint64_t
rng(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] != 0) {
			return false;
		}
	}
	return true;
}

/* Bytes of the union that the type uses, and where its bool is (0: none). */
static void
type_layout(enum rpci_ctrl_type type, size_t *size, size_t *bool_at)
{
	const struct rpci_ctrl_msg *m = NULL;
	const size_t base = offsetof(struct rpci_ctrl_msg, u);

	*bool_at = 0;
	switch (type) {
	case RPCI_CTRL_REGISTER:
		*size = sizeof(m->u.reg);
		break;
	case RPCI_CTRL_STATUS:
		*size = sizeof(m->u.status);
		*bool_at = offsetof(struct rpci_ctrl_msg, u.status.st.in_use) - base;
		break;
	case RPCI_CTRL_REQUEST:
		*size = sizeof(m->u.request);
		*bool_at = offsetof(struct rpci_ctrl_msg, u.request.req.failover) - base;
		break;
	case RPCI_CTRL_ATTACH:
		*size = sizeof(m->u.attach);
		*bool_at = offsetof(struct rpci_ctrl_msg, u.attach.failover) - base;
		break;
	case RPCI_CTRL_REJECT:
		*size = sizeof(m->u.reject);
		break;
	case RPCI_CTRL_DETACH:
		*size = sizeof(m->u.detach);
		*bool_at = offsetof(struct rpci_ctrl_msg, u.detach.failover) - base;
		break;
	case RPCI_CTRL_RELEASE:
		*size = sizeof(m->u.release);
		break;
	case RPCI_CTRL_RENEW:
		*size = sizeof(m->u.renew);
		break;
	case RPCI_CTRL_REPORT:
		*size = sizeof(m->u.report);
		break;
	case RPCI_CTRL_MESSAGE:
		*size = sizeof(m->u.message);
		break;
	default:
		*size = sizeof(m->u.ack);
		break;
	}
}

/* A byte that tends to matter: limits of names, MACs, numbers, UTF-8. */
static uint8_t
damage_byte(void)
{
	static const uint8_t bytes[] = { 0, 1, 0x7f, 0x80, 0xff, 0xfe, ' ', '"', '\\', '/', 'a',
					 'Z', '0', '-', '.', '_', 0xc3, 0xa9, 0xed, 0xa0, 0xf4,
					 0x90, 0x1f, 0x10 };

	if (rng() % 2 == 0) {
		return (uint8_t)rng();
	}
	return bytes[rng() % sizeof(bytes)];
}

/* msg encodes to what decodes back to itself and encodes to the same bytes. */
static void
check_stable(const struct rpci_ctrl_msg *msg, const char *text, int n)
{
	struct rpci_ctrl_msg back;
	const char *why = "unset";
	int rc;

	FUZZ_CHECK(n > 0 && n <= RPCI_CTRL_MAX);
	FUZZ_CHECK(text[n] == '\0' && strlen(text) == (size_t)n);
	rc = rpci_ctrl_decode(text, (size_t)n, &back, &why);
	if (rc != 0) {
		fprintf(stderr, "encoded %s\nrefused: %d %s\n", text, rc, why);
	}
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(back.type == msg->type);
	FUZZ_CHECK(rpci_ctrl_encode(&back, g_enc2, sizeof(g_enc2)) == n);
	FUZZ_CHECK(memcmp(g_enc2, text, (size_t)n) == 0);
	FUZZ_CHECK(rpci_ctrl_encode(&back, g_enc2, (size_t)n - 1) == -EMSGSIZE);
	FUZZ_CHECK(rpci_ctrl_encode(&back, g_enc2, (size_t)n) == n);
}

/* Damaged copies of a decoded message: the encoder accepts only what decodes. */
static void
check_damaged(const struct rpci_ctrl_msg *msg)
{
	const size_t base = offsetof(struct rpci_ctrl_msg, u);
	struct rpci_ctrl_msg m;
	size_t size, bool_at, pos;
	unsigned int round, k, edits;
	uint8_t *u;
	int n;

	type_layout(msg->type, &size, &bool_at);
	for (round = 0; round < ROUNDS; round++) {
		m = *msg;
		u = (uint8_t *)&m + base;
		edits = 1 + (unsigned int)(rng() % 4);
		for (k = 0; k < edits; k++) {
			if (rng() % 8 == 0) {
				m.id ^= UINT64_C(1) << (rng() % 64);
				continue;
			}
			pos = rng() % size;
			if (bool_at != 0 && pos == bool_at) {
				u[pos] = (uint8_t)(rng() % 2);
			} else if (rng() % 4 == 0) {
				/* Near a limit: end of a string, or the top bytes of a number. */
				u[pos] = 0;
			} else {
				u[pos] = damage_byte();
			}
		}
		n = rpci_ctrl_encode(&m, g_enc, sizeof(g_enc));
		FUZZ_CHECK(n > 0 || n == -EINVAL || n == -EMSGSIZE);
		if (n > 0) {
			check_stable(&m, g_enc, n);
		}
	}
}

static void
check_mac(const uint8_t *data, size_t size)
{
	char s[24], out[18];
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1, i;
	char c;

	memcpy(s, data, n);
	s[n] = '\0';
	if (rpci_ctrl_mac_parse(s, mac) != 0) {
		FUZZ_CHECK(mac[0] == 1 && mac[5] == 6);
		return;
	}
	/* Parsed: 17 characters, the same as the formatted address but for case. */
	FUZZ_CHECK(strlen(s) == 17);
	rpci_ctrl_mac_str(mac, out);
	for (i = 0; i < 17; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'F') {
			c = (char)(c - 'A' + 'a');
		}
		FUZZ_CHECK(out[i] == c);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpci_ctrl_msg msg, quiet;
	const char *why = "unset";
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;
	int rc, n;

	check_mac(data, size);
	rc = rpci_ctrl_decode(data, size, &msg, &why);
	/* The same without a reason. */
	FUZZ_CHECK(rpci_ctrl_decode(data, size, &quiet, NULL) == rc);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EBADMSG || rc == -EPROTO || rc == -EMSGSIZE);
		FUZZ_CHECK((rc == -EMSGSIZE) == (size > RPCI_CTRL_MAX));
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(all_zero(&msg, sizeof(msg)));
		return 0;
	}
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(memcmp(&msg, &quiet, sizeof(msg)) == 0);
	FUZZ_CHECK(size <= RPCI_CTRL_MAX);
	FUZZ_CHECK(rpci_ctrl_type_name(msg.type) != NULL);
	n = rpci_ctrl_encode(&msg, g_enc, sizeof(g_enc));
	if (n == -EMSGSIZE) {
		FUZZ_CHECK(msg.type == RPCI_CTRL_STATUS && size > RPCI_CTRL_MAX - LOAD_GROWTH);
		return 0;
	}
	check_stable(&msg, g_enc, n);
	/* The struct it decodes to is the one that was decoded. */
	{
		struct rpci_ctrl_msg back;

		FUZZ_CHECK(rpci_ctrl_decode(g_enc, (size_t)n, &back, NULL) == 0);
		FUZZ_CHECK(memcmp(&back, &msg, sizeof(msg)) == 0);
	}
	for (i = 0; i < size; i++) {
		h = (h ^ data[i]) * 0x100000001b3ull;
	}
	g_rng = h != 0 ? h : 1;
	check_damaged(&msg);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_BENCH_FRAME_H
#define RPCI_BENCH_FRAME_H

/*
 * rpci-bench's raw frames: the ceiling that every rpci figure is compared
 * with. Ethernet II with an EtherType of their own, then this header, then
 * padding up to the frame size measured. No link header, no sequence, no
 * CRC of ours: what the port alone does. rpci-server answers them from its
 * link's rx_other callback (app/server/main.c). Private to app/; fields
 * big-endian.
 */

#include <stdint.h>

/* EtherType of the raw frames (IEEE local experimental 2; rpci's own is 0x88B5). */
#define BENCH_ETHERTYPE 0x88B6
/* "RPCB": a bench frame, not just any frame of that EtherType. */
#define BENCH_MAGIC 0x52504342u

/* What the server does with a frame. */
enum bench_op {
	BENCH_OP_ECHO = 1,  /* send it straight back (MACs swapped) */
	BENCH_OP_SINK = 2,  /* count it and drop it */
	BENCH_OP_COUNT = 3, /* send it back with the SINK counts since the last RESET */
	BENCH_OP_RESET = 4, /* zero the SINK counts, then as ECHO */
};

/* After the Ethernet header. */
struct bench_hdr {
	uint32_t magic;  /* BENCH_MAGIC */
	uint8_t op;      /* enum bench_op */
	uint8_t pad[3];  /* 0 */
	uint64_t seq;    /* the sender's, echoed */
	uint64_t frames; /* COUNT answer: SINK frames since the last RESET */
	uint64_t bytes;  /* COUNT answer: their bytes, Ethernet header included */
} __attribute__((packed));

#endif /* RPCI_BENCH_FRAME_H */

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
#
# Raw Ethernet frames for testing rpci-faultfwd by itself: a sender of
# numbered, checksummed frames and a receiver that counts what arrived
# (faults.sh runs them in the client's and the server's namespaces).
#
#   rpci-frames.py send IFACE N [--ctrl-every K]
#   rpci-frames.py recv IFACE
#
# send: N frames of EtherType 0x88B5, frame i carries i, a filler and the
# CRC32 of both, lengths 60..1514 by i; every K-th also a frame of EtherType
# 0x88B6 (which the forwarder is told to leave alone); then END frames of
# 0x88B6. recv: prints "ready", then at END (or 5 s of silence) one JSON
# object: frames received, good and damaged ones, the control frames, how
# often a frame came before one it followed, when the first one came
# (CLOCK_MONOTONIC, the same in every namespace; the sender prints when it
# started) and a digest of the multiset of good frame numbers (equal
# digests: the same frames were lost and repeated).

import hashlib
import json
import socket
import struct
import sys
import time
import zlib

ETH_P_ALL = 0x0003
DATA_TYPE = 0x88B5
CTRL_TYPE = 0x88B6
DST = bytes.fromhex("027270636901")
SRC = bytes.fromhex("027270636902")


def open_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((iface, 0))
    return s


def data_frame(i):
    length = 60 + (i * 97) % (1514 - 60 + 1)
    body = struct.pack("!I", i)
    filler = bytes(((i + k) * 31) & 0xFF for k in range(length - 14 - 4 - 4))
    body += filler
    return DST + SRC + struct.pack("!H", DATA_TYPE) + body + struct.pack("!I", zlib.crc32(body))


def ctrl_frame(text):
    payload = text.encode().ljust(46, b".")
    return DST + SRC + struct.pack("!H", CTRL_TYPE) + payload


def send(iface, n, ctrl_every):
    s = open_socket(iface)
    frames = [data_frame(i) for i in range(n)]
    ctrl = 0
    t_start = time.monotonic()
    for i in range(n):
        s.send(frames[i])
        if ctrl_every and i % ctrl_every == 0:
            s.send(ctrl_frame("CTRL %d" % ctrl))
            ctrl += 1
        if i % 32 == 31:
            time.sleep(0.001)
    time.sleep(0.05)
    for _ in range(3):
        s.send(ctrl_frame("END %d" % ctrl))
        time.sleep(0.01)
    print(json.dumps({"sent": n, "ctrl": ctrl, "t_start": t_start}))


def recv(iface):
    s = open_socket(iface)
    s.settimeout(5.0)
    print("ready", flush=True)
    st = {"rx": 0, "good": 0, "bad": 0, "ctrl": 0, "ctrl_bad": 0, "ctrl_sent": -1,
          "ooo": 0, "t_first": 0.0}
    seqs = {}
    last = -1
    while True:
        try:
            frame = s.recv(4096)
        except socket.timeout:
            break
        if len(frame) < 14:
            continue
        etype = struct.unpack("!H", frame[12:14])[0]
        if etype == CTRL_TYPE:
            text = frame[14:].rstrip(b".").decode(errors="replace")
            if text.startswith("END "):
                st["ctrl_sent"] = int(text[4:])
                break
            if frame[:12] != DST + SRC or not text.startswith("CTRL "):
                st["ctrl_bad"] += 1
            else:
                st["ctrl"] += 1
            continue
        if etype != DATA_TYPE:
            continue
        st["rx"] += 1
        if st["rx"] == 1:
            st["t_first"] = time.monotonic()
        body, crc = frame[14:-4], frame[-4:]
        if len(body) < 4 or struct.unpack("!I", crc)[0] != zlib.crc32(body):
            st["bad"] += 1
            continue
        st["good"] += 1
        i = struct.unpack("!I", body[:4])[0]
        seqs[i] = seqs.get(i, 0) + 1
        if i < last:
            st["ooo"] += 1
        last = max(last, i)
    h = hashlib.sha256()
    for i in sorted(seqs):
        h.update(struct.pack("!II", i, seqs[i]))
    st["distinct"] = len(seqs)
    st["digest"] = h.hexdigest()[:16]
    print(json.dumps(st), flush=True)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "send":
        every = 0
        if len(sys.argv) == 6 and sys.argv[4] == "--ctrl-every":
            every = int(sys.argv[5])
        send(sys.argv[2], int(sys.argv[3]), every)
    elif len(sys.argv) == 3 and sys.argv[1] == "recv":
        recv(sys.argv[2])
    else:
        print(__doc__ if __doc__ else "usage: rpci-frames.py send IFACE N | recv IFACE",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

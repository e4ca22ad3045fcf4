#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
#
# Raw Ethernet frames for testing rpci-faultfwd by itself: a sender of
# numbered, checksummed frames and a receiver that counts what arrived
# (faults.sh runs them in the client's and the server's namespaces); and
# rpci frames as a host without the keys, or one that misbehaves, would
# send them (security.sh, tcp.sh: below).
#
#   rpci-frames.py send IFACE N [--ctrl-every K]
#   rpci-frames.py recv IFACE
#   rpci-frames.py ctrl IFACE SRC_MAC DST_MAC JSON [SEAL]
#   rpci-frames.py capture IFACE FILE SECONDS [KINDS [SRC_MAC [MAX]]]
#   rpci-frames.py replay IFACE FILE [SRC_MAC]
#   rpci-frames.py data IFACE SRC_MAC DST_MAC SESSION SEQ plain|garbage
#   rpci-frames.py open IFACE SRC_MAC DST_MAC SESSION FUNCTION LEASE MAX_PAYLOAD SEAL
#   rpci-frames.py tcp-rogue HOST:PORT SRC_MAC DST_MAC FRAMES
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
import hmac
import json
import os
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


# --- rpci CTRL frames, as a host on the segment would send them (security.sh).
# ctrl: one CTRL frame (link header with its CRC32C) carrying JSON, sealed as
# SEAL says: "none" (plain JSON), "garbage:FROM_INDEX:TO_INDEX" (an envelope
# with a made-up tag: a host that claims an identity without its key), or
# "key:KEY_DIR:FROM_NAME:FROM_INDEX:TO_NAME:TO_INDEX" (sealed with FROM's real
# private key: a host of the deployment that misbehaves). capture: the rpci
# frames of KINDS (a comma list of link kinds, 4 (CTRL) by default; only those
# from SRC_MAC if given, "-" for any) seen on IFACE for SECONDS or until MAX of
# them, one hex line each; replay: send them again (from SRC_MAC if given: an
# attacker need not take the sender's address).

RPCI_TYPE = 0x88B5
LINK_DATA = 1
LINK_CTRL = 4
LINK_OPEN = 5
F_CRC_PAYLOAD = 0x0001
F_AUTH = 0x0040


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc


def mac_bytes(text):
    return bytes.fromhex(text.replace(":", ""))


def link_hdr(kind, flags, session, seq, payload_len):
    """A link header (32 bytes), its CRC field zero."""
    return bytearray(struct.pack("!BBHIIIHHHHII", 1, kind, flags, session, seq, 0,
                                 payload_len, 256, 128, 128, 0, 0))


def link_frame(src, dst, body, kind=LINK_CTRL, session=0, seq=0, flags=F_CRC_PAYLOAD,
               ext=b""):
    """A link frame: header (its CRC over the payload where flags say), ext, body."""
    hdr = link_hdr(kind, flags, session, seq, len(body))
    covered = bytes(hdr) + (body if flags & F_CRC_PAYLOAD else b"")
    hdr[24:28] = struct.pack("!I", crc32c(covered) ^ 0xFFFFFFFF)
    return dst + src + struct.pack("!H", RPCI_TYPE) + bytes(hdr) + ext + body


def envelope(body, frm, to, key=None):
    now_us = time.time_ns() // 1000
    hdr = struct.pack("!BBBB4xQQQ", 1, 1, frm, to, int.from_bytes(os.urandom(8), "big"), 1,
                      now_us)
    if key is None:
        return hdr + body + os.urandom(16)
    return hdr + body + hmac.new(key, hdr + body, "sha256").digest()[:16]


def pair_key(key_dir, frm, to):
    """The message key of frm -> to, as lib/auth derives it, from frm's private key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    with open(os.path.join(key_dir, frm + ".key"), "rb") as f:
        priv = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(key_dir, to + ".pub"), "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    shared = priv.exchange(pub)
    info = priv.public_key().public_bytes(*raw) + pub.public_bytes(*raw)
    return HKDF(hashes.SHA256(), 32, b"rpci ctrl v1", info).derive(shared)


def ctrl(iface, src, dst, text, seal="none"):
    body = text.encode()
    if seal.startswith("garbage:"):
        _, frm, to = seal.split(":")
        body = envelope(body, int(frm), int(to))
    elif seal.startswith("key:"):
        _, key_dir, frm, frm_i, to, to_i = seal.split(":")
        body = envelope(body, int(frm_i), int(to_i), pair_key(key_dir, frm, to))
    s = open_socket(iface)
    s.send(link_frame(mac_bytes(src), mac_bytes(dst), body))


def capture(iface, path, seconds, kinds="4", src="-", most="0"):
    """The rpci frames of KINDS (from src, "-": any) seen on iface, for seconds or most of them."""
    want = {int(k) for k in kinds.split(",")}
    sender = None if src == "-" else mac_bytes(src)
    most = int(most)
    s = open_socket(iface)
    s.settimeout(0.2)
    end = time.monotonic() + seconds
    n = 0
    with open(path, "w") as out:
        while time.monotonic() < end and (most == 0 or n < most):
            try:
                frame = s.recv(65536)
            except socket.timeout:
                continue
            if len(frame) > 46 and struct.unpack("!H", frame[12:14])[0] == RPCI_TYPE and \
                    frame[15] in want and (sender is None or frame[6:12] == sender):
                out.write(frame.hex() + "\n")
                n += 1
    print(json.dumps({"captured": n}))


def replay(iface, path, src=None):
    s = open_socket(iface)
    n = 0
    with open(path) as f:
        for line in f:
            frame = bytes.fromhex(line.strip())
            if src is not None:
                frame = frame[:6] + mac_bytes(src) + frame[12:]
            s.send(frame)
            n += 1
            time.sleep(0.002)
    print(json.dumps({"replayed": n}))


# --- rpci session frames, as a host on the segment would make them (security.sh,
# tcp.sh). data: a DATA frame of a session whose id and peer addresses were
# seen on the wire, carrying one 64-byte MWr: "plain" without a tag (its CRC
# right), "garbage" with flag AUTH, its counter SEQ and a made-up tag. open: an
# OPEN (96-byte body) for FUNCTION under LEASE, sealed as SEAL says: "none"
# (no block), "garbage:FROM_INDEX:TO_INDEX" (a block with a made-up tag), or
# "key:KEY_DIR:FROM_NAME:FROM_INDEX:TO_NAME:TO_INDEX" (a real block: a fresh
# ephemeral key, HMAC-SHA256 under FROM's key). tcp-rogue: a TCP peer without
# the keys that connects to a listening port and sends an OPEN without a block
# and FRAMES plain DATA frames (a session of its own, from SRC_MAC), then says
# whether the server hung up on it within 8 s.

def mwr64(tag):
    """An MWr of 64 bytes to 0x1000 (doc/protocol-tlp.md: 24-byte header, then the payload)."""
    hdr = struct.pack("!BBBBHHHHQI", 2, 0, 0xFF, 0, 16, 0x0100, tag & 0xFFFF, 0, 0x1000, 0)
    return hdr + bytes(range(64))


def session_data_frame(src, dst, session, seq, mode):
    body = mwr64(seq)
    if mode == "plain":
        return link_frame(src, dst, body, LINK_DATA, session, seq, F_CRC_PAYLOAD)
    ext = struct.pack("!Q", seq) + os.urandom(16)
    return link_frame(src, dst, body, LINK_DATA, session, seq, F_AUTH, ext)


def data(iface, src, dst, session, seq, mode):
    s = open_socket(iface)
    s.send(session_data_frame(mac_bytes(src), mac_bytes(dst), int(session, 0), int(seq, 0),
                              mode))


def open_body(function, lease, max_payload, requester=0x0600):
    return struct.pack("!iHHHHIHHHH64sQ", 0, function, requester, 0, max_payload, 512,
                       256, 128, 128, 0, b"", lease)


def open_frame(src, dst, session, function, lease, max_payload, seal):
    body = open_body(function, lease, max_payload)
    flags = F_CRC_PAYLOAD
    if seal == "none":
        return link_frame(src, dst, body, LINK_OPEN, session, 0, flags)
    hdr = link_hdr(LINK_OPEN, flags, session, 0, len(body) + 80)
    now_us = time.time_ns() // 1000
    if seal.startswith("garbage:"):
        _, frm, to = seal.split(":")
        block = struct.pack("!BBBB4xQ", 1, 0, int(frm), int(to), now_us) + os.urandom(48)
        block += os.urandom(16)
    else:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        _, key_dir, frm, frm_i, to, to_i = seal.split(":")
        eph = X25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        block = struct.pack("!BBBB4xQ", 1, 0, int(frm_i), int(to_i), now_us) + eph + \
            os.urandom(16)
        key = pair_key(key_dir, frm, to)
        block += hmac.new(key, bytes(hdr) + body + block, "sha256").digest()[:16]
    return link_frame(src, dst, body + block, LINK_OPEN, session, 0, flags)


def open_cmd(iface, src, dst, session, function, lease, max_payload, seal):
    s = open_socket(iface)
    s.send(open_frame(mac_bytes(src), mac_bytes(dst), int(session, 0), int(function),
                      int(lease), int(max_payload), seal))


def tcp_rogue(addr, src, dst, frames):
    host, port = addr.rsplit(":", 1)
    c = socket.create_connection((host, int(port)), timeout=5)
    out = [open_frame(mac_bytes(src), mac_bytes(dst), 0x7e57, 0, 0, 1408, "none")]
    out += [session_data_frame(mac_bytes(src), mac_bytes(dst), 0x7e57, i, "plain")
            for i in range(int(frames))]
    sent = 0
    closed = False
    try:
        for f in out:
            c.sendall(struct.pack("!H", len(f)) + f)
            sent += 1
            time.sleep(0.002)
        c.settimeout(8)
        while c.recv(65536):
            pass
        closed = True
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    print(json.dumps({"sent": sent, "closed_by_peer": closed}))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "send":
        every = 0
        if len(sys.argv) == 6 and sys.argv[4] == "--ctrl-every":
            every = int(sys.argv[5])
        send(sys.argv[2], int(sys.argv[3]), every)
    elif len(sys.argv) == 3 and sys.argv[1] == "recv":
        recv(sys.argv[2])
    elif len(sys.argv) in (6, 7) and sys.argv[1] == "ctrl":
        ctrl(*sys.argv[2:])
    elif 5 <= len(sys.argv) <= 8 and sys.argv[1] == "capture":
        capture(sys.argv[2], sys.argv[3], float(sys.argv[4]), *sys.argv[5:])
    elif len(sys.argv) == 8 and sys.argv[1] == "data":
        data(*sys.argv[2:])
    elif len(sys.argv) == 10 and sys.argv[1] == "open":
        open_cmd(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "tcp-rogue":
        tcp_rogue(*sys.argv[2:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "replay":
        replay(*sys.argv[2:])
    else:
        print(__doc__ if __doc__ else "usage: rpci-frames.py send IFACE N | recv IFACE",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

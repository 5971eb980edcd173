#!/usr/bin/env python3
"""Raw Ethernet frame I/O for byPassRT's tests (AF_PACKET, no dependencies beyond python3).

Run inside a test namespace only. Prints one JSON object on stdout.

  pktio.py echo    --iface IF --dst-mac MAC --count N --seed S [--port P] [--timeout T] [--gap-us G]
                   [--payload-min B --payload-max B]   (above 1400: jumbo frames)
      send N IPv4/UDP frames with random payloads (random lengths) to MAC in batches of 50 (G us
      apart), collect frames that come back, and check each is the sent frame with source and
      destination MAC swapped.
  pktio.py send    --iface IF --dst-mac MAC --count N --port P [--seed S] [--size L]
      send N UDP frames to port P.
  pktio.py capture --iface IF --port P --count N [--timeout T]
      count incoming IPv4/UDP frames to port P until N seen or T seconds pass.
  pktio.py stream  --iface IF --count N --seed S --port P [--min L] [--max L] [--gap-us G]
      send N UDP frames to port P (broadcast MAC unless --dst-mac) of random lengths L in
      min..max (each carries its index), the same frames for the same seed.
  pktio.py expect  --iface IF --count N --seed S --port P [--min L] [--max L] [--timeout T]
      receive the frames `stream` sends with these arguments (incoming UDP to port P) and
      compare them, in order, byte for byte: received, matched, mismatched, out_of_order, extra.
  pktio.py raw     --iface IF --hexfile F
      send each hex-encoded frame (one per line) of F.
  pktio.py exchange --iface IF --hexfile F [--timeout T]
      send each frame of F and print every frame received meanwhile and T seconds after (hex).

Received frames are shown as they were on the wire: the kernel moves an 802.1Q/802.1ad tag into
packet metadata before packet sockets see the frame, so it is put back from PACKET_AUXDATA.
"""
import argparse, json, random, select, socket, struct, sys, time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def iface_mac(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return mac_bytes(f.read().strip())


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp_frame(dst, src, sport, dport, payload, src_ip="10.0.0.2", dst_ip="10.0.0.1"):
    sip, dip = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    udp_len = 8 + len(payload)
    pseudo = sip + dip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    uc = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", uc) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst + src + b"\x08\x00" + ip + udp


SO_RCVBUFFORCE = 33


def open_sock(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    # SO_RCVBUF is capped by net.core.rmem_max (~200 KB): as root, force a buffer that holds
    # thousands of frames, jumbo ones too (a 9 KB frame takes ~16 KB of buffer).
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    except OSError:
        pass
    s.bind((iface, ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    return s


def recv_frame(s):
    """One frame and its address, with a tag the kernel stripped into metadata put back."""
    data, anc, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(20))
    for level, kind, blob in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(blob) >= 20:
            status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", blob[:20])
            if status & TP_STATUS_VLAN_VALID:
                tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data, addr


def recv_incoming(s, deadline, want, keep):
    got = 0
    while got < want and time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        data, addr = recv_frame(s)
        if addr[2] == PACKET_OUTGOING:
            continue
        if keep(data):
            got += 1
    return got


def udp_dport(frame):
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return -1
    ihl = (frame[14] & 0x0F) * 4
    if len(frame) < 14 + ihl + 8:
        return -1
    return struct.unpack("!H", frame[14 + ihl + 2:14 + ihl + 4])[0]


def cmd_echo(a):
    rnd = random.Random(a.seed)
    s = open_sock(a.iface)
    src = iface_mac(a.iface)
    dst = mac_bytes(a.dst_mac)
    sent = {}
    for i in range(a.count):
        if a.payload_max > 1400:
            # Jumbo payloads: randbytes (a generator per byte is too slow for 9 KB frames).
            payload = struct.pack("!I", i) + rnd.randbytes(rnd.randint(a.payload_min, a.payload_max))
        else:
            payload = struct.pack("!I", i) + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(14, 1400)))
        f = udp_frame(dst, src, 10000 + (i % 1000), a.port, payload)
        sent[i] = f
    result = {"sent": 0, "received": 0, "matched": 0, "mismatched": 0, "duplicates": 0, "unexpected": 0}
    seen = set()

    def keep(frame):
        if udp_dport(frame) != a.port:
            return False
        result["received"] += 1
        ihl = (frame[14] & 0x0F) * 4
        idx = struct.unpack("!I", frame[14 + ihl + 8:14 + ihl + 12])[0] if len(frame) >= 14 + ihl + 12 else -1
        orig = sent.get(idx)
        if orig is None:
            result["unexpected"] += 1
            return True
        if idx in seen:
            result["duplicates"] += 1
            return True
        seen.add(idx)
        expect = orig[6:12] + orig[0:6] + orig[12:]
        if frame == expect:
            result["matched"] += 1
        else:
            result["mismatched"] += 1
        return True

    deadline_total = time.time() + a.timeout
    batch = 50
    for start in range(0, a.count, batch):
        for i in range(start, min(a.count, start + batch)):
            s.send(sent[i])
            result["sent"] += 1
        # Drain what came back so far, so the socket buffer never overflows (and, with
        # --gap-us, wait that long between batches of 50).
        recv_incoming(s, time.time() + max(0.002, a.gap_us / 1e6), 10 ** 9, keep)
    recv_incoming(s, deadline_total, a.count - result["received"], keep)
    print(json.dumps(result))


def cmd_send(a):
    rnd = random.Random(a.seed)
    s = open_sock(a.iface)
    src, dst = iface_mac(a.iface), mac_bytes(a.dst_mac)
    n = 0
    for i in range(a.count):
        payload = bytes(rnd.getrandbits(8) for _ in range(max(18, a.size - 42)))
        s.send(udp_frame(dst, src, 20000, a.port, payload))
        n += 1
        if a.gap_us and i % 16 == 15:
            time.sleep(a.gap_us / 1e6)
    print(json.dumps({"sent": n}))


def cmd_capture(a):
    s = open_sock(a.iface)
    print(json.dumps({"listening": True}), flush=True)
    sizes = {}

    def keep(frame):
        if udp_dport(frame) != a.port:
            return False
        sizes[len(frame)] = sizes.get(len(frame), 0) + 1
        return True

    got = recv_incoming(s, time.time() + a.timeout, a.count, keep)
    # Anything beyond the expected count arriving right after is counted too (exactness).
    got += recv_incoming(s, time.time() + a.linger, 10 ** 9, keep)
    print(json.dumps({"captured": got, "sizes": sizes}))


def stream_frames(a, src):
    """The frames `stream` sends for these arguments (deterministic in --seed)."""
    rnd = random.Random(a.seed)
    dst = mac_bytes(a.dst_mac)
    out = []
    for i in range(a.count):
        size = rnd.randint(a.min, a.max)
        payload = struct.pack("!I", i) + rnd.randbytes(size - 46)
        out.append(udp_frame(dst, src, 20000, a.port, payload))
    return out


def cmd_stream(a):
    s = open_sock(a.iface)
    n = 0
    for i, f in enumerate(stream_frames(a, mac_bytes(a.src_mac) if a.src_mac else iface_mac(a.iface))):
        s.send(f)
        n += 1
        if a.gap_us and i % 16 == 15:
            time.sleep(a.gap_us / 1e6)
    print(json.dumps({"sent": n}))


def cmd_expect(a):
    s = open_sock(a.iface)
    want = stream_frames(a, mac_bytes(a.src_mac))
    r = {"received": 0, "matched": 0, "mismatched": 0, "out_of_order": 0, "extra": 0}
    print(json.dumps({"listening": True}), flush=True)

    def keep(frame):
        if udp_dport(frame) != a.port:
            return False
        k = r["received"]
        r["received"] += 1
        if k >= len(want):
            r["extra"] += 1
        elif frame == want[k]:
            r["matched"] += 1
        elif frame in want:
            r["out_of_order"] += 1
        else:
            r["mismatched"] += 1
        return True

    recv_incoming(s, time.time() + a.timeout, a.count, keep)
    recv_incoming(s, time.time() + a.linger, 10 ** 9, keep)
    print(json.dumps(r))


def cmd_raw(a):
    s = open_sock(a.iface)
    n = 0
    with open(a.hexfile) as f:
        for line in f:
            line = line.strip()
            if line:
                s.send(bytes.fromhex(line))
                n += 1
    print(json.dumps({"sent": n}))


def cmd_exchange(a):
    """Send the frames of --hexfile one by one and collect every incoming frame (as hex)."""
    s = open_sock(a.iface)
    frames = [bytes.fromhex(l.strip()) for l in open(a.hexfile) if l.strip()]
    got = []

    def keep(frame):
        got.append(frame.hex())
        return True

    for f in frames:
        s.send(f)
        recv_incoming(s, time.time() + 0.01, 10 ** 9, keep)
    recv_incoming(s, time.time() + a.timeout, 10 ** 9, keep)
    print(json.dumps({"sent": len(frames), "received": got}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["echo", "send", "capture", "raw", "exchange", "stream", "expect"])
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", default="ff:ff:ff:ff:ff:ff")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--size", type=int, default=60)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--linger", type=float, default=0.5)
    p.add_argument("--gap-us", type=int, default=0)
    p.add_argument("--hexfile")
    p.add_argument("--payload-min", type=int, default=14, help="echo: random payload bytes, at least")
    p.add_argument("--payload-max", type=int, default=1400, help="echo: at most (above 1400: jumbo)")
    p.add_argument("--min", type=int, default=60)
    p.add_argument("--max", type=int, default=1514)
    p.add_argument("--src-mac", help="stream: source MAC (default the interface's); expect: the sender's")
    a = p.parse_args()
    cmds = {"echo": cmd_echo, "send": cmd_send, "capture": cmd_capture, "raw": cmd_raw,
            "exchange": cmd_exchange, "stream": cmd_stream, "expect": cmd_expect}
    cmds[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Feed generator and snapshot client for examples/feed_handler.ts (python3 standard library only).

Writes raw Ethernet frames with an AF_PACKET socket (root or CAP_NET_RAW). Run it ONLY inside a
test network namespace, or on a veth you created and own: it sends whatever it is told to onto
that link. The feed format is documented at the top of examples/feed_handler.ts.

  feed_gen.py feed --iface IF [--seed S] [--packets N] [--gap SEQ,..] [--dup SEQ,..] [--late SEQ,..]
      send N feed packets (sequence numbers --start-seq .. --start-seq+N-1, 1..--max-messages
      random messages each, for instruments 0..--instruments-1), deterministic for a seed.
      --gap leaves those sequence numbers out, --dup sends those packets twice in a row, --late
      sends those packets after the next one; --gap-rate/--dup-rate do the same at random (seeded).
      Prints one JSON object: what was sent, what a handler should count, and the book it should
      hold (--dump adds every sent packet with its messages).
  feed_gen.py snapshot --iface IF --dst-mac MAC --instrument ID
      send one snapshot request, wait for the reply and print it decoded as JSON (exit 1 without
      a reply).
"""
import argparse, json, os, random, select, socket, struct, sys, time

sys.dont_write_bytecode = True  # importing pktio must not leave a __pycache__ in the checkout
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
from pktio import csum, iface_mac, mac_bytes, open_sock, udp_frame, PACKET_OUTGOING  # noqa: E402

HEADER = struct.Struct("!QH6x")        # sequence, count, padding
MESSAGE = struct.Struct("!IB3xII")     # instrument, side, padding, price, quantity
REPLY = struct.Struct("!IB3xIIIIQ")    # instrument, status, padding, bid px/qty, ask px/qty, seq
MAX_MESSAGES = (1472 - HEADER.size) // MESSAGE.size  # one packet fits a 1500-byte MTU


def seq_list(text):
    return {int(x) for x in text.split(",") if x.strip()} if text else set()


def group_mac(group):
    """The Ethernet multicast address of an IPv4 group (01:00:5e + its low 23 bits)."""
    g = socket.inet_aton(group)
    return bytes([0x01, 0x00, 0x5E, g[1] & 0x7F, g[2], g[3]])


def make_packets(a):
    """{seq: [(instrument, side, price, quantity), ...]} for every sequence number, from the seed
    alone: leaving packets out or repeating them changes nothing else."""
    rnd = random.Random(a.seed)
    packets = {}
    for seq in range(a.start_seq, a.start_seq + a.packets):
        msgs = []
        for _ in range(rnd.randint(1, a.max_messages)):
            inst = rnd.randrange(a.instruments)
            side = rnd.randrange(2)
            mid = 1_000_000 + 10_000 * inst           # 100.0000 + instrument id
            tick = rnd.randint(1, 500)
            price = mid - tick if side == 0 else mid + tick
            qty = 0 if rnd.randrange(16) == 0 else rnd.randint(1, 5000)
            msgs.append((inst, side, price, qty))
        packets[seq] = msgs
    return packets


def send_order(a, seqs):
    """The sequence numbers in the order they go out: gaps left out, duplicates twice in a row,
    late packets after the next one sent."""
    rnd = random.Random(a.seed ^ 0x5EED)
    gaps, dups, late = seq_list(a.gap), seq_list(a.dup), seq_list(a.late)
    for s in seqs:
        if a.gap_rate and rnd.random() < a.gap_rate:
            gaps.add(s)
        if a.dup_rate and rnd.random() < a.dup_rate:
            dups.add(s)
    order, held = [], []
    for s in seqs:
        if s in gaps:
            continue
        if s in late:
            held.append(s)
            continue
        order.append(s)
        if s in dups:
            order.append(s)
        order.extend(held)
        held = []
    order.extend(held)
    return order, sorted(gaps & set(seqs))


def expected(order, packets):
    """What the handler's rules (examples/feed_handler.ts) make of `order`."""
    book, last, out = {}, None, {"packets": 0, "messages": 0, "gaps": 0, "missing": 0,
                                  "duplicates": 0}
    for s in order:
        out["packets"] += 1
        if last is not None and s <= last:
            out["duplicates"] += 1
            continue
        if last is not None and s > last + 1:
            out["gaps"] += 1
            out["missing"] += s - last - 1
        last = s
        for inst, side, price, qty in packets[s]:
            b = book.setdefault(inst, {"bid_price": 0, "bid_qty": 0, "ask_price": 0, "ask_qty": 0})
            b["bid_price" if side == 0 else "ask_price"] = price
            b["bid_qty" if side == 0 else "ask_qty"] = qty
            out["messages"] += 1
    out["last_seq"] = last or 0
    out["book"] = {str(k): book[k] for k in sorted(book)}
    return out


def cmd_feed(a):
    if not 1 <= a.max_messages <= MAX_MESSAGES:
        sys.exit(f"--max-messages must be 1..{MAX_MESSAGES}")
    if a.instruments < 1 or a.packets < 0 or a.start_seq < 0 or a.start_seq + a.packets >= 2**53:
        sys.exit("--instruments must be >= 1, --packets and --start-seq >= 0 (below 2^53)")
    packets = make_packets(a)
    order, gaps = send_order(a, sorted(packets))
    s = open_sock(a.iface)
    src = iface_mac(a.iface)
    dst = mac_bytes(a.dst_mac) if a.dst_mac else group_mac(a.group)
    frames = {}
    for seq in set(order):
        msgs = packets[seq]
        payload = HEADER.pack(seq, len(msgs)) + b"".join(MESSAGE.pack(i, sd, p, q)
                                                         for i, sd, p, q in msgs)
        frames[seq] = udp_frame(dst, src, a.src_port, a.port, payload, a.src_ip, a.group)
    for k, seq in enumerate(order):
        s.send(frames[seq])
        if a.gap_us and k % 16 == 15:
            time.sleep(a.gap_us / 1e6)
    out = {"frames": len(order), "gaps_injected": gaps,
           "duplicates_injected": sorted(seq_list(a.dup) & set(order)),
           "late_injected": sorted(seq_list(a.late) & set(order)),
           "expected": expected(order, packets)}
    if a.dump:
        out["sent"] = [[seq, [list(m) for m in packets[seq]]] for seq in order]
    print(json.dumps(out))


def decode_reply(frame, sport, port):
    """The decoded snapshot reply in `frame`, or None when it is not one (to our port, from the
    snapshot port)."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[14] != 0x45 or frame[23] != 17:
        return None
    ip, udp = frame[14:34], frame[34:]
    if struct.unpack("!HH", udp[:4]) != (port, sport):
        return None
    total, ulen = struct.unpack("!H", ip[2:4])[0], struct.unpack("!H", udp[4:6])[0]
    if ulen != 8 + REPLY.size or total != 20 + ulen or len(frame) < 14 + total:
        return {"error": f"reply has IP length {total}, UDP length {ulen}", "frame": frame.hex()}
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
    inst, status, bp, bq, ap, aq, seq = REPLY.unpack(udp[8:8 + REPLY.size])
    return {"instrument": inst, "status": status, "bid_price": bp, "bid_qty": bq,
            "ask_price": ap, "ask_qty": aq, "last_seq": seq,
            "ip_checksum_ok": csum(ip) == 0, "udp_checksum_ok": csum(pseudo + udp[:ulen]) == 0,
            "frame": frame[:14 + total].hex()}


def cmd_snapshot(a):
    if a.dst_mac is None or a.instrument is None:
        sys.exit("snapshot needs --dst-mac and --instrument")
    s = open_sock(a.iface)
    # A UDP socket on the request's source port (when the address is ours), so the kernel takes
    # the reply quietly instead of answering it with an ICMP port unreachable.
    quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        quiet.bind((a.src_ip, a.src_port))
    except OSError:
        pass
    req = udp_frame(mac_bytes(a.dst_mac), iface_mac(a.iface), a.src_port, a.port,
                    struct.pack("!I", a.instrument), a.src_ip, a.dst_ip)
    s.send(req)
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        frame, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        reply = decode_reply(frame, a.src_port, a.port)
        if reply is not None:
            print(json.dumps(reply))
            return 0 if "error" not in reply else 1
    print(json.dumps({"error": f"no reply within {a.timeout} s"}))
    return 1


def main():
    p = argparse.ArgumentParser(
        description="Feed generator and snapshot client for examples/feed_handler.ts.\n"
        "It writes raw frames to --iface: run it ONLY inside a test network namespace, or on a\n"
        "veth you created and own.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples (from the peer end of a veth pair):\n"
        "  feed_gen.py feed --iface veth-peer --seed 7 --packets 1000 --gap 10,11 --dup 20\n"
        "  feed_gen.py snapshot --iface veth-peer --dst-mac MAC_OF_THE_OTHER_END --instrument 3")
    p.add_argument("cmd", choices=["feed", "snapshot"])
    p.add_argument("--iface", required=True, help="interface to send on (the peer's veth end)")
    p.add_argument("--dst-mac", help="feed: destination MAC [the group's multicast MAC]; "
                   "snapshot: the handler's interface MAC (required)")
    p.add_argument("--src-ip", default="10.0.0.2", help="source address [10.0.0.2]")
    p.add_argument("--src-port", type=int, default=45000, help="source UDP port [45000]")
    p.add_argument("--port", type=int, help="destination UDP port [feed 9000, snapshot 9001]")
    g = p.add_argument_group("feed")
    g.add_argument("--group", default="239.1.1.1", help="destination (group) address [239.1.1.1]")
    g.add_argument("--seed", type=int, default=1, help="random seed: same seed, same feed [1]")
    g.add_argument("--packets", type=int, default=100, help="sequence numbers to generate [100]")
    g.add_argument("--start-seq", type=int, default=1, help="first sequence number [1]")
    g.add_argument("--instruments", type=int, default=16, help="instrument ids 0..N-1 [16]")
    g.add_argument("--max-messages", type=int, default=8,
                   help=f"messages per packet, 1..this [8, at most {MAX_MESSAGES}]")
    g.add_argument("--gap", help="sequence numbers to leave out, e.g. 10,11,40")
    g.add_argument("--dup", help="sequence numbers to send twice in a row")
    g.add_argument("--late", help="sequence numbers to send after the next packet (reordering)")
    g.add_argument("--gap-rate", type=float, default=0.0, help="leave out each packet with this "
                   "probability (seeded) [0]")
    g.add_argument("--dup-rate", type=float, default=0.0, help="send each packet twice with this "
                   "probability (seeded) [0]")
    g.add_argument("--gap-us", type=int, default=0, help="pause this many us every 16 frames [0]")
    g.add_argument("--dump", action="store_true", help="print every sent packet and its messages")
    g = p.add_argument_group("snapshot")
    g.add_argument("--instrument", type=int, help="instrument id to ask for")
    g.add_argument("--dst-ip", default="10.0.0.1", help="destination address [10.0.0.1]")
    g.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the reply [2]")
    a = p.parse_args()
    if a.cmd == "feed":
        a.port = a.port or 9000
        return cmd_feed(a)
    a.port = a.port or 9001
    return cmd_snapshot(a)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""UDP round-trip probe for byPassRT's benchmark (run it inside the generator namespace only).

  udp_rtt.py --iface IF --dst-mac MAC --count N [--port 9001] [--gap-us 500] [--timeout-ms 100]

Sends N IPv4/UDP frames one at a time over AF_PACKET to MAC (10.0.0.2 -> 10.0.0.1, destination
port --port), each carrying a sequence number, and waits for the same frame to come back with the
MACs swapped (an l2fwd/macswap forwarder on the other end). Prints one JSON object: samples, lost,
and round-trip times in microseconds (min, p50, p90, p99, max, mean) as seen by this process, so
they include Python's own send/receive overhead (the same for every forwarder measured).
Frame building and the raw socket come from testing/pktio.py.
"""
import argparse, json, os, select, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
from pktio import PACKET_OUTGOING, iface_mac, mac_bytes, open_sock, udp_dport, udp_frame  # noqa: E402


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--port", type=int, default=9001)
    p.add_argument("--gap-us", type=int, default=500)
    p.add_argument("--timeout-ms", type=int, default=100)
    p.add_argument("--warmup", type=int, default=20)
    a = p.parse_args()

    s = open_sock(a.iface)
    src, dst = iface_mac(a.iface), mac_bytes(a.dst_mac)
    rtts, lost = [], 0
    for i in range(a.warmup + a.count):
        frame = udp_frame(dst, src, 10001, a.port, struct.pack("!I", i) + b"\0" * 14)
        t0 = time.perf_counter_ns()
        s.send(frame)
        deadline = t0 + a.timeout_ms * 1_000_000
        got = False
        while True:
            left = (deadline - time.perf_counter_ns()) / 1e9
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            data, addr = s.recvfrom(2048)
            t1 = time.perf_counter_ns()
            if addr[2] == PACKET_OUTGOING or udp_dport(data) != a.port:
                continue
            if len(data) >= 46 and struct.unpack("!I", data[42:46])[0] == i:
                got = True
                break
        if i >= a.warmup:
            if got:
                rtts.append((t1 - t0) / 1000.0)
            else:
                lost += 1
        if a.gap_us:
            time.sleep(a.gap_us / 1e6)
    rtts.sort()
    out = {"samples": len(rtts), "lost": lost}
    if rtts:
        out.update({
            "min_us": round(rtts[0], 2),
            "p50_us": round(pct(rtts, 50), 2),
            "p90_us": round(pct(rtts, 90), 2),
            "p99_us": round(pct(rtts, 99), 2),
            "max_us": round(rtts[-1], 2),
            "mean_us": round(sum(rtts) / len(rtts), 2),
        })
    print(json.dumps(out))


if __name__ == "__main__":
    main()

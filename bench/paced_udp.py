#!/usr/bin/env python3
"""Paced UDP sender for byPassRT's per-frame clock benchmark (generator namespace only).

  paced_udp.py --iface IF --dst-mac MAC --rate R --seconds S [--port 9999]

Sends one 60-byte IPv4/UDP frame (10.0.0.2 -> 10.0.0.1) every 1/R s over AF_PACKET, each on its
own deadline (sleep to 200 us before it, then spin), so frames arrive one by one, never in
batches. Prints one JSON object: sent, seconds, rate (achieved), late (frames sent more than
100 us after their deadline).
"""
import argparse, json, os, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
from pktio import iface_mac, mac_bytes, open_sock, udp_frame  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--rate", type=float, default=1000.0)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--port", type=int, default=9999)
    a = p.parse_args()
    s = open_sock(a.iface)
    frame = udp_frame(mac_bytes(a.dst_mac), iface_mac(a.iface), 9998, a.port, bytes(18))
    n = int(a.rate * a.seconds)
    gap = 1.0 / a.rate
    t0 = time.perf_counter()
    late = 0
    for i in range(n):
        due = t0 + i * gap
        rest = due - time.perf_counter()
        if rest > 0.0002:
            time.sleep(rest - 0.0002)
        while time.perf_counter() < due:
            pass
        if time.perf_counter() - due > 0.0001:
            late += 1
        s.send(frame)
    took = time.perf_counter() - t0
    print(json.dumps({"sent": n, "seconds": round(took, 3), "rate": round(n / took, 1), "late": late}))


if __name__ == "__main__":
    main()

// SPDX-License-Identifier: MIT
/*
 * rtt_probe: the latency benchmark's round-trip probe (bench/latency.ts runs it inside the
 * generator namespace only, on the benchmark's own veth).
 *
 *   rtt_probe --iface IF --dst-mac MAC --kind udp|icmp --count N [--warmup W]
 *             [--gap-us G] [--warmup-gap-us G] [--timeout-ms T] [--give-up K]
 *
 * Sends one 60-byte IPv4 frame at a time over AF_PACKET to MAC (10.0.0.2 -> 10.0.0.1): a UDP
 * datagram to port 9001 carrying a sequence number (for a MAC-swapping forwarder), or an ICMP
 * echo request (for a responder or the kernel), and waits for the matching frame to come back
 * (UDP: same port and sequence; ICMP: echo reply, same id and sequence). W warm-up round trips
 * first (not recorded, --warmup-gap-us apart), then N measured ones, --gap-us apart. After K
 * round trips in a row without an answer (default 100: the responder is gone) it stops and counts
 * every measured round trip left as lost ("gave_up": true), instead of waiting out each timeout.
 *
 * Each round trip is timed twice:
 * - kernel: the veth's software TX timestamp (skb_tx_timestamp in veth_xmit, read back from the
 *   socket's error queue once the answer is in, so reading it delays nothing) to the software RX timestamp the kernel put on the reply when it
 *   entered this namespace's receive path (SO_TIMESTAMPING). This is the frame's time on the
 *   other side of the veth plus the veth itself, without this process's own system calls and
 *   wake-up. The main figure.
 * - user: CLOCK_MONOTONIC before send() to after recvmsg() returned, for comparison.
 * A missing TX stamp falls back to the user send time (counted in "tx_fallback").
 *
 * Prints one JSON line:
 * {"kind","samples","lost","gave_up","tx_fallback","rtt_ns":[...],"user_rtt_ns":[...]}.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define FRAME_LEN 60
#define UDP_PORT 9001
#define ICMP_ID 0x4250

static void die(const char *what) {
	fprintf(stderr, "rtt_probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(const char *why) {
	fprintf(stderr,
		"rtt_probe: %s\nusage: rtt_probe --iface IF --dst-mac MAC --kind udp|icmp --count N "
		"[--warmup W] [--gap-us G] [--warmup-gap-us G] [--timeout-ms T] [--give-up K]\n",
		why);
	exit(2);
}

static int64_t mono_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_us(long us) {
	if (us <= 0) return;
	struct timespec t = {us / 1000000, (us % 1000000) * 1000};
	while (nanosleep(&t, &t) && errno == EINTR) {
	}
}

static uint16_t csum(const uint8_t *p, size_t n) {
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1) s += (uint32_t)p[n - 1] << 8;
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) {
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v) {
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint32_t get32(const uint8_t *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ethernet + IPv4 (10.0.0.2 -> 10.0.0.1) + UDP to UDP_PORT or ICMP echo request, seq in it. */
static void build(uint8_t *f, const uint8_t *dst, const uint8_t *src, int icmp, uint32_t seq) {
	memset(f, 0, FRAME_LEN);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, ETHERTYPE_IP);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	put16(ip + 2, FRAME_LEN - 14);
	put16(ip + 4, (uint16_t)seq);
	ip[8] = 64;
	ip[9] = icmp ? 1 : 17;
	put32(ip + 12, 0x0a000002);
	put32(ip + 16, 0x0a000001);
	put16(ip + 10, csum(ip, 20));
	uint8_t *l4 = ip + 20;
	if (icmp) {
		l4[0] = 8;
		put16(l4 + 4, ICMP_ID);
		put16(l4 + 6, (uint16_t)seq);
		put32(l4 + 8, seq);
		put16(l4 + 2, csum(l4, FRAME_LEN - 34));
	} else {
		put16(l4, 10001);
		put16(l4 + 2, UDP_PORT);
		put16(l4 + 4, FRAME_LEN - 34);
		put32(l4 + 8, seq); /* UDP checksum 0: none */
	}
}

/* Is `f` the answer to round trip `seq`? */
static int matches(const uint8_t *f, ssize_t n, int icmp, uint32_t seq) {
	if (n < 46 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4) return 0;
	const uint8_t *l4 = f + 14 + (f[14] & 15) * 4;
	if (l4 + 12 > f + n) return 0;
	if (icmp) {
		return f[23] == 1 && l4[0] == 0 && l4[4] == (ICMP_ID >> 8) &&
		       l4[5] == (ICMP_ID & 0xff) && get32(l4 + 8) == seq;
	}
	return f[23] == 17 && l4[2] == (UDP_PORT >> 8) && l4[3] == (UDP_PORT & 0xff) &&
	       get32(l4 + 8) == seq;
}

/* The software timestamp in a message's control data (ns, CLOCK_REALTIME), or -1. */
static int64_t stamp_of(struct msghdr *m) {
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
			struct scm_timestamping *ts = (struct scm_timestamping *)CMSG_DATA(c);
			return (int64_t)ts->ts[0].tv_sec * 1000000000 + ts->ts[0].tv_nsec;
		}
	}
	return -1;
}

/* The next TX stamp on the error queue, or -1 if none within `tries` looks (~1 ms apart after
 * the first few). */
static int64_t tx_stamp(int fd, int tries) {
	uint8_t data[256], ctrl[512];
	for (int i = 0; i < tries; i++) {
		struct iovec iov = {data, sizeof data};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl,
				   .msg_controllen = sizeof ctrl};
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0) {
			int64_t t = stamp_of(&m);
			if (t > 0) return t;
			continue;
		}
		if (errno != EAGAIN) die("recvmsg(MSG_ERRQUEUE)");
		struct pollfd p = {fd, POLLERR, 0};
		poll(&p, 1, i < 3 ? 0 : 1);
	}
	return -1;
}

static void parse_mac(const char *s, uint8_t *mac) {
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		   &mac[4], &mac[5]) != 6)
		usage("--dst-mac: give a MAC like 02:00:00:00:00:01");
}

static long num(const char *name, const char *v, long min, long max) {
	char *end;
	long n = strtol(v, &end, 10);
	if (*v == 0 || *end || n < min || n > max) {
		fprintf(stderr, "rtt_probe: %s \"%s\": give a number from %ld to %ld\n", name, v, min,
			max);
		exit(2);
	}
	return n;
}

static void print_list(const char *key, const int64_t *v, long n) {
	printf(",\"%s\":[", key);
	for (long i = 0; i < n; i++) printf(i ? ",%lld" : "%lld", (long long)v[i]);
	printf("]");
}

int main(int argc, char **argv) {
	const char *iface = NULL, *kind = NULL;
	uint8_t dst[6], src[6];
	int have_dst = 0;
	long count = 0, warmup = 0, gap_us = 1000, warmup_gap_us = 20, timeout_ms = 100;
	long give_up = 100;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc) usage("every option takes a value");
		const char *v = argv[++i];
		if (!strcmp(a, "--iface")) iface = v;
		else if (!strcmp(a, "--dst-mac")) parse_mac(v, dst), have_dst = 1;
		else if (!strcmp(a, "--kind")) kind = v;
		else if (!strcmp(a, "--count")) count = num(a, v, 1, 10000000);
		else if (!strcmp(a, "--warmup")) warmup = num(a, v, 0, 10000000);
		else if (!strcmp(a, "--gap-us")) gap_us = num(a, v, 0, 10000000);
		else if (!strcmp(a, "--warmup-gap-us")) warmup_gap_us = num(a, v, 0, 10000000);
		else if (!strcmp(a, "--timeout-ms")) timeout_ms = num(a, v, 1, 60000);
		else if (!strcmp(a, "--give-up")) give_up = num(a, v, 1, 1000000000);
		else usage("unknown option");
	}
	if (!iface || !have_dst || !kind || !count) usage("--iface, --dst-mac, --kind, --count needed");
	if (strcmp(kind, "udp") && strcmp(kind, "icmp")) usage("--kind: udp or icmp");
	int icmp = !strcmp(kind, "icmp");

	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	if (fd < 0) die("socket(AF_PACKET)");
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) die(iface);
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR");
	memcpy(src, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				  .sll_ifindex = ifindex};
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind");
	int one = 1;
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
		die("PACKET_IGNORE_OUTGOING");
	int tsf = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
		  SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &tsf, sizeof tsf) < 0) die("SO_TIMESTAMPING");

	int64_t *rtt = calloc(count, sizeof *rtt), *user = calloc(count, sizeof *user);
	if (!rtt || !user) die("calloc");
	long samples = 0, lost = 0, fallback = 0, streak = 0, gave_up = 0;
	uint8_t frame[FRAME_LEN], buf[2048], ctrl[512];
	for (long i = 0; i < warmup + count; i++) {
		uint32_t seq = (uint32_t)i;
		build(frame, dst, src, icmp, seq);
		/* A late stamp of an earlier frame must not be taken for this one's. */
		while (tx_stamp(fd, 1) >= 0) {
		}
		int64_t u0 = mono_ns();
		if (send(fd, frame, FRAME_LEN, 0) != FRAME_LEN) die("send");
		int64_t deadline = u0 + timeout_ms * 1000000, t1 = -1, u1 = 0;
		int got = 0;
		for (;;) {
			int64_t left = deadline - mono_ns();
			if (left <= 0) break;
			struct pollfd p = {fd, POLLIN, 0};
			int r = poll(&p, 1, (int)((left + 999999) / 1000000));
			if (r < 0 && errno == EINTR) continue;
			if (r < 0) die("poll");
			if (r == 0) break;
			struct iovec iov = {buf, sizeof buf};
			struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl,
					   .msg_controllen = sizeof ctrl};
			ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN) continue;
			if (n < 0) die("recvmsg");
			if (matches(buf, n, icmp, seq)) {
				u1 = mono_ns();
				t1 = stamp_of(&m);
				got = 1;
				break;
			}
		}
		/* veth stamps in veth_xmit, inside send(): read it now, off the timed path. */
		int64_t t0 = tx_stamp(fd, 10);
		/* No answer to --give-up frames in a row: the responder is gone; count the rest lost. */
		streak = got ? 0 : streak + 1;
		if (streak >= give_up) {
			lost += i >= warmup ? warmup + count - i : count;
			gave_up = 1;
			break;
		}
		if (i >= warmup) {
			if (!got) {
				lost++;
			} else {
				user[samples] = u1 - u0;
				/* A stamp missing: the user-space time stands in for the round trip. */
				if (t0 < 0 || t1 < 0) fallback++;
				rtt[samples++] = t0 < 0 || t1 < 0 ? u1 - u0 : t1 - t0;
			}
		}
		sleep_us(i + 1 < warmup ? warmup_gap_us : gap_us);
	}
	printf("{\"kind\":\"%s\",\"samples\":%ld,\"lost\":%ld,\"gave_up\":%s,\"tx_fallback\":%ld",
	       kind, samples, lost, gave_up ? "true" : "false", fallback);
	print_list("rtt_ns", rtt, samples);
	print_list("user_rtt_ns", user, samples);
	printf("}\n");
	return 0;
}

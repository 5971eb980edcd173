// SPDX-License-Identifier: BSD-2-Clause
/*
 * xsk_ref: the C REFERENCE of byPassRT's benchmark. A BASELINE ONLY: it exists to measure how
 * close the TypeScript engine comes to the same work done in C; it is never on byPassRT's product
 * path and nothing in the product links to it. Built by bench/run.sh into build/xsk_ref.
 *
 * Same setup as byPassRT so the comparison is about the per-packet loop only:
 *   - our own steering program build/xdp_steer.o, loaded with libbpf, configured through its
 *     `config` map (steer_all = 1, or respond_ip for --mode respond) and attached natively with
 *     a bpf_link (detached by the kernel when the process exits);
 *   - one AF_XDP socket on queue 0 made with libxdp's xsk.h helpers and
 *     XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, copy mode, need_wakeup, inserted into our xsks_map;
 *   - byPassRT's defaults: 4096 frames of 2048 bytes, all rings 2048, 2048 frames on FILL at
 *     start, bursts of 64, frames kept on a LIFO free stack between rings, FILL topped up from
 *     it before each RX peek, COMPLETION reclaimed into it before each TX burst, TX kicked with
 *     sendto only when the kernel set need_wakeup and has not consumed every TX descriptor yet.
 *
 * Modes: rxdrop (count, free), l2fwd (swap MACs, send back), respond (answer ARP for --ip and
 * ICMP echo requests to --ip: MACs and IPs swapped, type 0, checksum fixed incrementally).
 *
 * Output (stdout, NDJSON, flushed): every --interval {"elapsed", "rx_packets", "tx_packets"},
 * then a line with "final": true on SIGINT/SIGTERM or after --duration seconds.
 *
 * --stamp: loads our program with its timestamp flag on (stamp_frames = 1, as byPassRT does
 * without --no-timestamps) and, like byPassRT's per-frame clock, reads CLOCK_MONOTONIC once per
 * RX burst and records each frame's age (now - the u64 stamp at umem + addr - 8) into the same
 * log-linear histogram (engine/latency_histogram.ts: 16 exact buckets, then 16 per power of two);
 * every line (from the first stamped frame on) carries "xdp_to_handler": {"count", "sum", "max",
 * "unstamped", "buckets": [[bucket, count], ...]}, so far (bench/frame_window.ts takes two lines'
 * difference). rxdrop reads the stamps at once (bench/clock.ts runs it side by side with
 * byPassRT). l2fwd and respond do what byPassRT's loop does: the RX read after the burst's
 * descriptors are read and released, just before the frames are handled; a second read just
 * before the kick's sendto (the TX point); and each frame's ages recorded after the kick, sent
 * frames at both points ("xdp_to_tx" as well), dropped ones at RX. So the C reference pays for
 * the same clock, read at the same points (bench/contenders.ts, "C xsk_ref --stamp").
 *
 *   xsk_ref --iface IF --mode rxdrop|l2fwd|respond [--ip A.B.C.D] [--duration S] [--interval S]
 *           [--obj build/xdp_steer.o] [--stamp]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#define FRAMES 4096
#define FRAME_SIZE 2048
#define RING_SIZE 2048
#define BURST 64

enum mode { RXDROP, L2FWD, RESPOND };

static volatile sig_atomic_t stop_flag;

/* The per-frame clock's histogram (engine/latency_histogram.ts's layout). */
#define SUB_BUCKETS 16
#define SUB_BITS 4
#define HBUCKETS (SUB_BUCKETS + (32 - SUB_BITS) * SUB_BUCKETS)
struct hist {
	uint64_t count, sum, max, unstamped;
	uint64_t b[HBUCKETS];
};
/* XDP-to-handler, and XDP-to-TX (l2fwd and respond). */
static struct hist H, HT;
/* --stamp: the burst's RX read; the last kick's read (0 after each RX read: no kick since). */
static int stamping;
static uint64_t rx_at, kick_at;

static inline uint32_t bucket_of(uint32_t v)
{
	uint32_t k;

	if (v < SUB_BUCKETS)
		return v;
	k = 31 - (uint32_t)__builtin_clz(v);
	return SUB_BUCKETS + ((k - SUB_BITS) << SUB_BITS) + ((v >> (k - SUB_BITS)) & (SUB_BUCKETS - 1));
}

static struct {
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	uint8_t *area;
	int fd;
	/* Free frames (LIFO). */
	uint64_t stack[FRAMES];
	uint32_t top;
	uint64_t rx_packets, tx_packets, tx_outstanding, tx_kicks;
	uint8_t mac[6];
	uint32_t ip; /* network order */
} P;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "xsk_ref: %s: %s (errno %d)\n", what, strerror(err), err);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The age of the frame at `addr` at `now` into `h`; the same plausibility rules as frame_clock.ts. */
static inline void record(struct hist *h, uint64_t addr, uint64_t now)
{
	uint64_t stamp, age;

	if (addr < 8) {
		h->unstamped++;
		return;
	}
	memcpy(&stamp, P.area + addr - 8, 8);
	if (stamp == 0 || stamp > now + 2000 || now - stamp >= (1ull << 32)) {
		h->unstamped++;
		return;
	}
	age = stamp > now ? 0 : now - stamp;
	h->count++;
	h->sum += age;
	if (age > h->max)
		h->max = age;
	h->b[bucket_of((uint32_t)age)]++;
}

/* rxdrop: one clock read per burst, then each frame's age. */
static void stamp_burst(uint32_t idx, uint32_t n)
{
	uint64_t now = now_ns();

	for (uint32_t i = 0; i < n; i++)
		record(&H, xsk_ring_cons__rx_desc(&P.rx, idx + i)->addr, now);
}

static void refill(void)
{
	uint32_t idx, want = P.top, free = xsk_prod_nb_free(&P.fill, RING_SIZE);

	if (want > free)
		want = free;
	if (want == 0)
		return;
	idx = P.fill.cached_prod;
	P.fill.cached_prod += want;
	for (uint32_t i = 0; i < want; i++)
		*xsk_ring_prod__fill_addr(&P.fill, idx + i) = P.stack[--P.top];
	xsk_ring_prod__submit(&P.fill, want);
}

static void reclaim(void)
{
	uint32_t idx, n = xsk_ring_cons__peek(&P.comp, RING_SIZE, &idx);

	for (uint32_t i = 0; i < n; i++)
		P.stack[P.top++] = *xsk_ring_cons__comp_addr(&P.comp, idx + i) & ~(uint64_t)(FRAME_SIZE - 1);
	if (n) {
		xsk_ring_cons__release(&P.comp, n);
		P.tx_outstanding -= n;
		P.tx_packets += n;
	}
}

static void kick(void)
{
	/* Nothing queued, no wake-up wanted, or the kernel already took every descriptor. */
	if (P.tx_outstanding == 0 || !xsk_ring_prod__needs_wakeup(&P.tx) ||
	    __atomic_load_n(P.tx.consumer, __ATOMIC_ACQUIRE) == *P.tx.producer)
		return;
	P.tx_kicks++;
	if (stamping)
		kick_at = now_ns();
	sendto(P.fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
}

/* Queue descs[0..n) on TX (as many as fit); free the rest. */
static void tx_burst(const struct xdp_desc *descs, uint32_t n)
{
	uint32_t idx, k = xsk_prod_nb_free(&P.tx, n);

	reclaim();
	if (k > n)
		k = n;
	idx = P.tx.cached_prod;
	P.tx.cached_prod += k;
	for (uint32_t i = 0; i < k; i++)
		*xsk_ring_prod__tx_desc(&P.tx, idx + i) = descs[i];
	if (k)
		xsk_ring_prod__submit(&P.tx, k);
	for (uint32_t i = k; i < n; i++)
		P.stack[P.top++] = descs[i].addr & ~(uint64_t)(FRAME_SIZE - 1);
	P.tx_outstanding += k;
	kick();
}

static inline void mac_swap(uint8_t *p)
{
	uint8_t t[6];

	memcpy(t, p, 6);
	memcpy(p, p + 6, 6);
	memcpy(p + 6, t, 6);
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Answer ARP requests and ICMP echo requests for P.ip in place; returns the reply length or 0. */
static uint32_t respond(uint8_t *p, uint32_t len)
{
	if (len < 14)
		return 0;
	if (rd16(p + 12) == ETH_P_ARP) {
		uint8_t *a = p + 14;

		/* Ethernet/IPv4 request for our address. */
		if (len < 42 || rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4 ||
		    rd16(a + 6) != 1 || memcmp(a + 24, &P.ip, 4) != 0)
			return 0;
		a[7] = 2;                 /* reply */
		memcpy(a + 18, a + 8, 10); /* target = sender (MAC + IP) */
		memcpy(a + 8, P.mac, 6);
		memcpy(a + 14, &P.ip, 4);
		memcpy(p, p + 6, 6);
		memcpy(p + 6, P.mac, 6);
		return len;
	}
	if (rd16(p + 12) == ETH_P_IP) {
		uint8_t *ip = p + 14, *icmp, t[4];
		uint32_t ihl, sum;

		if (len < 34 || (ip[0] >> 4) != 4)
			return 0;
		ihl = (ip[0] & 15) * 4u;
		if (ihl < 20 || ip[9] != 1 || len < 14 + ihl + 8 || memcmp(ip + 16, &P.ip, 4) != 0)
			return 0;
		icmp = ip + ihl;
		if (icmp[0] != 8 || icmp[1] != 0)
			return 0;
		icmp[0] = 0;
		/* RFC 1624: type 8 -> 0 lowers the sum by 0x0800, so the checksum rises by 0x0800. */
		sum = (uint32_t)rd16(icmp + 2) + 0x0800;
		sum = (sum & 0xffff) + (sum >> 16);
		icmp[2] = (uint8_t)(sum >> 8);
		icmp[3] = (uint8_t)sum;
		memcpy(t, ip + 12, 4); /* swapping the addresses keeps the IP checksum */
		memcpy(ip + 12, ip + 16, 4);
		memcpy(ip + 16, t, 4);
		memcpy(p, p + 6, 6);
		memcpy(p + 6, P.mac, 6);
		return len;
	}
	return 0;
}

static void print_hist(const char *name, const struct hist *h)
{
	const char *sep = "";

	printf(",\"%s\":{\"count\":%llu,\"sum\":%llu,\"max\":%llu,\"unstamped\":%llu,"
	       "\"buckets\":[",
	       name, (unsigned long long)h->count, (unsigned long long)h->sum,
	       (unsigned long long)h->max, (unsigned long long)h->unstamped);
	for (uint32_t b = 0; b < HBUCKETS; b++)
		if (h->b[b]) {
			printf("%s[%u,%llu]", sep, b, (unsigned long long)h->b[b]);
			sep = ",";
		}
	printf("]}");
}

static void print_line(double t0, int final)
{
	struct xdp_statistics st = { 0 };
	socklen_t sl = sizeof(st);

	if (final)
		getsockopt(P.fd, SOL_XDP, XDP_STATISTICS, &st, &sl);
	printf("{\"elapsed\":%.6f,\"rx_packets\":%llu,\"tx_packets\":%llu,\"tx_kicks\":%llu,"
	       "\"free_frames\":%u",
	       now_s() - t0, (unsigned long long)P.rx_packets, (unsigned long long)P.tx_packets,
	       (unsigned long long)P.tx_kicks, P.top);
	if (H.count + H.unstamped > 0)
		print_hist("xdp_to_handler", &H);
	if (HT.count + HT.unstamped > 0)
		print_hist("xdp_to_tx", &HT);
	if (final)
		printf(",\"xdp_statistics\":{\"rx_dropped\":%llu,\"rx_invalid_descs\":%llu,"
		       "\"rx_ring_full\":%llu,\"rx_fill_ring_empty_descs\":%llu}",
		       (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_invalid_descs,
		       (unsigned long long)st.rx_ring_full,
		       (unsigned long long)st.rx_fill_ring_empty_descs);
	printf(",\"final\":%s}\n", final ? "true" : "false");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *iface = NULL, *obj_path = "build/xdp_steer.o", *ip_str = NULL;
	double duration = 0, interval = 1;
	enum mode mode = RXDROP;
	int stamp = 0;
	static const struct option longopts[] = {
		{ "iface", required_argument, 0, 'i' },    { "mode", required_argument, 0, 'm' },
		{ "ip", required_argument, 0, 'a' },       { "duration", required_argument, 0, 'd' },
		{ "interval", required_argument, 0, 't' }, { "obj", required_argument, 0, 'o' },
		{ "stamp", no_argument, 0, 's' },
		{ 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': iface = optarg; break;
		case 'a': ip_str = optarg; break;
		case 'd': duration = atof(optarg); break;
		case 't': interval = atof(optarg); break;
		case 'o': obj_path = optarg; break;
		case 's': stamp = 1; break;
		case 'm':
			if (!strcmp(optarg, "rxdrop"))
				mode = RXDROP;
			else if (!strcmp(optarg, "l2fwd"))
				mode = L2FWD;
			else if (!strcmp(optarg, "respond"))
				mode = RESPOND;
			else
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (!iface || (mode == RESPOND && !ip_str) || interval <= 0)
		goto usage;
	if (ip_str && inet_pton(AF_INET, ip_str, &P.ip) != 1)
		goto usage;

	unsigned int ifindex = if_nametoindex(iface);
	if (!ifindex)
		die(iface, errno);
	{
		char path[64];
		FILE *f;
		unsigned int m[6];

		snprintf(path, sizeof(path), "/sys/class/net/%s/address", iface);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
			die("reading the interface MAC", errno);
		fclose(f);
		for (int i = 0; i < 6; i++)
			P.mac[i] = (uint8_t)m[i];
	}

	/* Our steering program, configured, attached with a bpf_link. */
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	if (!obj)
		die(obj_path, errno);
	/* The timestamp flag (const volatile stamp_frames, the program's 4-byte .rodata). */
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	uint32_t stamp_frames = (uint32_t)stamp;

	stamping = stamp && mode != RXDROP;
	if (!rodata || bpf_map__value_size(rodata) != 4 ||
	    bpf_map__set_initial_value(rodata, &stamp_frames, 4))
		die("xdp_steer.o: no 4-byte .rodata (stamp_frames); rebuild with 'deno task build'",
		    EINVAL);
	int err = bpf_object__load(obj);
	if (err)
		die("bpf_object__load", -err);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "bypass_steer");
	int xsks_map = bpf_object__find_map_fd_by_name(obj, "xsks_map");
	int config_map = bpf_object__find_map_fd_by_name(obj, "config");
	if (!prog || xsks_map < 0 || config_map < 0)
		die("xdp_steer.o lacks bypass_steer/xsks_map/config", EINVAL);
	struct {
		uint32_t steer_all, respond_ip;
	} cfg = { mode != RESPOND, mode == RESPOND ? P.ip : 0 };
	uint32_t zero = 0;
	if (bpf_map_update_elem(config_map, &zero, &cfg, 0))
		die("config map", errno);
	LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = XDP_FLAGS_DRV_MODE);
	int link = bpf_link_create(bpf_program__fd(prog), (int)ifindex, BPF_XDP, &lopts);
	if (link < 0)
		die("bpf_link_create (native XDP)", -link);

	/* UMEM and socket. */
	P.area = mmap(NULL, (size_t)FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (P.area == MAP_FAILED)
		die("mmap", errno);
	struct xsk_umem_config ucfg = { RING_SIZE, RING_SIZE, FRAME_SIZE, 0, 0 };
	err = xsk_umem__create(&P.umem, P.area, (uint64_t)FRAMES * FRAME_SIZE, &P.fill, &P.comp,
			       &ucfg);
	if (err)
		die("xsk_umem__create", -err);
	struct xsk_socket_config scfg = {
		.rx_size = RING_SIZE,
		.tx_size = RING_SIZE,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	for (int attempt = 0; attempt < 50; attempt++) {
		err = xsk_socket__create(&P.xsk, iface, 0, P.umem, &P.rx, &P.tx, &scfg);
		if (err != -EBUSY)
			break;
		usleep(10000); /* a queue just released can stay busy for a few tens of ms */
	}
	if (err)
		die("xsk_socket__create (copy mode)", -err);
	P.fd = xsk_socket__fd(P.xsk);
	if (bpf_map_update_elem(xsks_map, &zero, &P.fd, 0))
		die("xsks_map insert", errno);

	for (uint32_t i = 0; i < FRAMES; i++)
		P.stack[i] = (uint64_t)(FRAMES - 1 - i) * FRAME_SIZE;
	P.top = FRAMES;
	{
		/* byPassRT posts min(ring, frames / 2) frames to FILL at start. */
		uint32_t idx = 0, n = RING_SIZE < FRAMES / 2 ? RING_SIZE : FRAMES / 2;

		xsk_ring_prod__reserve(&P.fill, n, &idx);
		for (uint32_t i = 0; i < n; i++)
			*xsk_ring_prod__fill_addr(&P.fill, idx + i) = P.stack[--P.top];
		xsk_ring_prod__submit(&P.fill, n);
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	double t0 = now_s(), next = t0 + interval, end = duration > 0 ? t0 + duration : 1e300;
	struct xdp_desc in[BURST], out[BURST];
	uint64_t dropped[BURST];
	uint64_t loops = 0;

	print_line(t0, 0);
	while (!stop_flag) {
		uint32_t idx = 0, n;

		refill();
		n = xsk_ring_cons__peek(&P.rx, BURST, &idx);
		if (n == 0) {
			if (xsk_ring_prod__needs_wakeup(&P.fill))
				recvfrom(P.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
			if (mode != RXDROP) {
				kick();
				reclaim();
			}
		} else if (mode == RXDROP) {
			if (stamp)
				stamp_burst(idx, n);
			for (uint32_t i = 0; i < n; i++)
				P.stack[P.top++] = xsk_ring_cons__rx_desc(&P.rx, idx + i)->addr &
						   ~(uint64_t)(FRAME_SIZE - 1);
			xsk_ring_cons__release(&P.rx, n);
		} else {
			uint32_t k = 0, nd = 0;

			/* The burst first (as byPassRT's rxBurst), then the clock's RX point, just
			 * before the frames are handled: where byPassRT reads it. */
			for (uint32_t i = 0; i < n; i++)
				in[i] = *xsk_ring_cons__rx_desc(&P.rx, idx + i);
			xsk_ring_cons__release(&P.rx, n);
			if (stamping) {
				rx_at = now_ns();
				kick_at = 0;
			}
			for (uint32_t i = 0; i < n; i++) {
				const struct xdp_desc *d = &in[i];
				uint8_t *pkt = xsk_umem__get_data(P.area, d->addr);
				uint32_t len = d->len;

				if (mode == L2FWD)
					mac_swap(pkt);
				else
					len = respond(pkt, len);
				if (len) {
					out[k].addr = d->addr;
					out[k].len = len;
					out[k++].options = 0;
				} else {
					P.stack[P.top++] = d->addr & ~(uint64_t)(FRAME_SIZE - 1);
					if (stamping)
						dropped[nd++] = d->addr;
				}
			}
			tx_burst(out, k);
			/* After the kick, as byPassRT records: the TX point is the kick's read. */
			if (stamping) {
				uint64_t tx_at = kick_at ? kick_at : now_ns();

				for (uint32_t i = 0; i < k; i++) {
					record(&H, out[i].addr, rx_at);
					record(&HT, out[i].addr, tx_at);
				}
				for (uint32_t i = 0; i < nd; i++)
					record(&H, dropped[i], rx_at);
			}
		}
		P.rx_packets += n;
		if ((++loops & 63) == 0) {
			double t = now_s();

			if (t >= next) {
				print_line(t0, 0);
				next += interval;
			}
			if (t >= end)
				break;
		}
	}
	for (double until = now_s() + 0.2; P.tx_outstanding && now_s() < until;) {
		kick();
		reclaim();
	}
	print_line(t0, 1);
	bpf_map_delete_elem(xsks_map, &zero);
	xsk_socket__delete(P.xsk);
	xsk_umem__delete(P.umem);
	close(link);
	bpf_object__close(obj);
	return 0;

usage:
	fprintf(stderr, "usage: xsk_ref --iface IF --mode rxdrop|l2fwd|respond [--ip A.B.C.D] "
			"[--duration S] [--interval S] [--obj build/xdp_steer.o] [--stamp]\n");
	return 2;
}

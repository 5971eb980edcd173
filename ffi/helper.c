// SPDX-License-Identifier: BSD-2-Clause
/*
 * byPassRT's C helper: only what Deno FFI cannot express cleanly. The rings, the mempool and the
 * polling loop are TypeScript; the one thing here on the per-burst path is bpx_reinject_burst()
 * (one FFI call for a burst's frames handed back to the kernel, see below).
 *
 *  bpx_log_capture()   libbpf and libxdp report errors through printf-style callbacks taking a
 *                      va_list, which FFI cannot format. We install callbacks that vsnprintf the
 *                      message into a static buffer (keeping the last warning) and stay quiet.
 *  bpx_last_log()      the last warning/error line libbpf or libxdp printed ("" if none).
 *  bpx_live_frames()   one BPF_PROG_RUN of an XDP program with BPF_F_TEST_XDP_LIVE_FRAMES (the
 *                      benchmark's traffic generator). struct bpf_test_run_opts has a size-versioned
 *                      layout; filling it in C keeps that ABI out of TypeScript. Called through a
 *                      nonblocking FFI symbol so it runs on its own thread.
 *  bpx_xsk_layout()    sizeof/offsetof of the libxdp structs TypeScript fills in or reads, as the
 *                      compiler sees them in the installed <xdp/xsk.h> (checked against
 *                      XSK_LAYOUT in ffi/libxdp.ts before the first UMEM is created).
 *  bpx_reinject_open(), bpx_reinject_burst()   kernel reinjection, described where they are.
 *  bpx_kick_at()       a TX kick that reads CLOCK_MONOTONIC first: the per-frame clock's TX point
 *                      at the moment the frames are handed to the kernel, in the XDP stamps' own
 *                      clock, inside the one FFI call the burst makes anyway.
 *  bpx_now()           CLOCK_MONOTONIC in ns: the per-frame clock's RX point, in the stamps' clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

static char last_log[512];
static int verbose;

static void keep(enum libbpf_print_level level, const char *fmt, va_list args)
{
	va_list copy;

	if (level == LIBBPF_DEBUG && !verbose)
		return;
	va_copy(copy, args);
	if (verbose)
		vfprintf(stderr, fmt, args);
	vsnprintf(last_log, sizeof(last_log), fmt, copy);
	va_end(copy);
	last_log[strcspn(last_log, "\n")] = '\0';
}

static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	keep(level, fmt, args);
	return 0;
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list args)
{
	keep((enum libbpf_print_level)level, fmt, args);
	return 0;
}

/* Install the capturing callbacks; verbose != 0 also echoes everything to stderr. */
void bpx_log_capture(int verbose_flag)
{
	verbose = verbose_flag;
	libbpf_set_print(bpf_print);
	libxdp_set_print(xdp_print);
}

const char *bpx_last_log(void)
{
	return last_log;
}

void bpx_clear_log(void)
{
	last_log[0] = '\0';
}

/*
 * Transmit `repeat` copies of the frame through the XDP program `prog_fd` as live frames (the
 * program decides: XDP_TX sends them out of the interface the test run is bound to by ifindex).
 * Returns 0 or a negative errno.
 */
int bpx_live_frames(int prog_fd, int ifindex, const void *frame, unsigned int len,
		    unsigned int repeat, unsigned int batch_size)
{
	/* The kernel checks that the context describes the frame: data_end must equal its length. */
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = (unsigned int)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = len,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = repeat,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.batch_size = batch_size,
	);

	return bpf_prog_test_run_opts(prog_fd, &opts);
}

#define XSK_SIZE(s) { #s ".sizeof", sizeof(struct s) }
#define XSK_OFF(s, f) { #s "." #f, offsetof(struct s, f) }
#define XSK_RING(s) XSK_SIZE(s), XSK_OFF(s, mask), XSK_OFF(s, size), XSK_OFF(s, producer), \
	XSK_OFF(s, consumer), XSK_OFF(s, ring), XSK_OFF(s, flags)

static const struct {
	const char *name;
	size_t value;
} xsk_layout[] = {
	XSK_RING(xsk_ring_prod),
	XSK_RING(xsk_ring_cons),
	XSK_SIZE(xsk_umem_config),
	XSK_OFF(xsk_umem_config, fill_size),
	XSK_OFF(xsk_umem_config, comp_size),
	XSK_OFF(xsk_umem_config, frame_size),
	XSK_OFF(xsk_umem_config, frame_headroom),
	XSK_OFF(xsk_umem_config, flags),
	XSK_SIZE(xsk_socket_config),
	XSK_OFF(xsk_socket_config, rx_size),
	XSK_OFF(xsk_socket_config, tx_size),
	XSK_OFF(xsk_socket_config, libxdp_flags),
	XSK_OFF(xsk_socket_config, xdp_flags),
	XSK_OFF(xsk_socket_config, bind_flags),
};

/*
 * "struct.sizeof" or "struct.field" (e.g. "xsk_socket_config.bind_flags") -> its size or offset
 * in bytes as compiled against the installed <xdp/xsk.h>; -1 for a name not in the table.
 */
int bpx_xsk_layout(const char *name)
{
	for (size_t i = 0; i < sizeof(xsk_layout) / sizeof(xsk_layout[0]); i++)
		if (strcmp(xsk_layout[i].name, name) == 0)
			return (int)xsk_layout[i].value;
	return -1;
}

/*
 * Kernel reinjection (b.toKernel, --mode inspect): frames go back to the kernel stack as if they
 * had been received on the served interface.
 *
 *  bpx_reinject_open()   creates a TAP device of ours (not persistent: it vanishes when its fd
 *                        closes, on every exit path) and attaches to its tc ingress a 4-instruction
 *                        program, bpf_redirect(served ifindex, BPF_F_INGRESS): every frame we write
 *                        to the TAP is delivered to the served interface's receive path (skb->dev
 *                        = that interface: its addresses, rp_filter, ARP and neighbour entries
 *                        apply as for any received frame). Native XDP does not see it (it runs in
 *                        the driver's poll, not for frames that enter through netif_rx), and
 *                        generic XDP skips redirected skbs: it is never steered back to us.
 *  bpx_reinject_burst()  one write (writev) per frame to the TAP for a whole burst: one FFI call.
 *                        Each write carries a virtio_net_hdr: TCP/UDP frames whose checksum field
 *                        holds only the pseudo-header sum (a CHECKSUM_PARTIAL frame from a local
 *                        sender, e.g. over a veth) are marked NEEDS_CSUM, as they were before XDP;
 *                        every other frame is checked by the kernel as usual.
 */

static int reinject_fail(int fd, int err, const char *what)
{
	snprintf(last_log, sizeof(last_log), "%s: %s", what, strerror(err));
	if (fd >= 0)
		close(fd);
	return -err;
}

/*
 * Create the TAP (name from `name_fmt`, e.g. "bpxk%d"; the kernel picks the number), up, no ARP,
 * no IPv6, with the redirect to `target_ifindex` on its ingress. Writes its name to `name_out`
 * (IFNAMSIZ bytes). Returns the TAP fd (O_NONBLOCK) or a negative errno, with bpx_last_log()
 * naming the step that failed; nothing is left behind on failure.
 */
int bpx_reinject_open(const char *name_fmt, int target_ifindex, char *name_out)
{
	struct ifreq ifr;
	char path[96];
	int fd, s, err, prog_fd, tap_ifindex;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return reinject_fail(-1, errno, "open /dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name_fmt);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return reinject_fail(fd, errno, "create the TAP device (TUNSETIFF)");
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	/* No IPv6 on it (no router solicitations, no MLD): set before it goes up. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifr.ifr_name);
	s = open(path, O_WRONLY | O_CLOEXEC);
	if (s >= 0) {
		if (write(s, "1", 1) != 1) {
			err = errno;
			close(s);
			return reinject_fail(fd, err, "disable IPv6 on the TAP device");
		}
		close(s);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return reinject_fail(fd, errno, "socket");
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0 || (tap_ifindex = ifr.ifr_ifindex,
	    ioctl(s, SIOCGIFFLAGS, &ifr) < 0)) {
		err = errno;
		close(s);
		return reinject_fail(fd, err, "read the TAP device's flags");
	}
	ifr.ifr_flags |= IFF_UP | IFF_NOARP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		err = errno;
		close(s);
		return reinject_fail(fd, err, "bring the TAP device up");
	}
	close(s);

	/* r1 = target_ifindex; r2 = BPF_F_INGRESS; return bpf_redirect(r1, r2); */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = target_ifindex },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = BPF_F_INGRESS },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "bpx_reinject", "GPL", insns,
				sizeof(insns) / sizeof(insns[0]), NULL);
	if (prog_fd < 0)
		return reinject_fail(fd, -prog_fd, "load the reinjection tc program");
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tap_ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	err = bpf_tc_hook_create(&hook);
	if (!err || err == -EEXIST)
		err = bpf_tc_attach(&hook, &opts);
	/* The filter holds the program now; it goes with the TAP device (clsact, filter, program). */
	close(prog_fd);
	if (err)
		return reinject_fail(fd, -err, "attach the reinjection program to the TAP's tc ingress");
	return fd;
}

static inline uint32_t sum16(const uint8_t *p, uint32_t n, uint32_t s)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	return s;
}

static inline uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * If `f` (len bytes) is an unfragmented IPv4 or IPv6 (no extension headers) TCP/UDP frame whose
 * checksum field equals the pseudo-header sum (what a CHECKSUM_PARTIAL sender leaves there), fill
 * `h` with NEEDS_CSUM. If the field happens to be a complete checksum too, completing it gives the
 * same bytes, so the mark is harmless; a corrupt frame whose field equals that sum by chance
 * (2^-16) is accepted unchecked.
 */
static void partial_csum(const uint8_t *f, uint32_t len, struct virtio_net_hdr *h)
{
	uint32_t l4, l4len, s;
	uint8_t proto;

	if (len < 14 + 20)
		return;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x0800) {
		const uint8_t *ip = f + 14;
		uint32_t ihl = (ip[0] & 15u) * 4, tot = (uint32_t)(ip[2] << 8 | ip[3]);
		if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || 14 + tot > len)
			return;
		if ((ip[6] & 0x3f) || ip[7]) /* MF or a fragment offset */
			return;
		proto = ip[9];
		l4 = 14 + ihl;
		l4len = tot - ihl;
		s = sum16(ip + 12, 8, 0);
	} else if (type == 0x86dd) {
		const uint8_t *ip = f + 14;
		if (len < 14 + 40)
			return;
		proto = ip[6];
		l4 = 14 + 40;
		l4len = (uint32_t)(ip[4] << 8 | ip[5]);
		if (l4 + l4len > len)
			return;
		s = sum16(ip + 8, 32, 0);
	} else {
		return;
	}
	uint32_t off = proto == 6 ? 16 : proto == 17 ? 6 : 0;
	if (!off || l4len < off + 2 || l4 + off + 2 > len)
		return;
	uint16_t field = (uint16_t)(f[l4 + off] << 8 | f[l4 + off + 1]);
	if (proto == 17 && field == 0 && type == 0x0800) /* IPv4 UDP without a checksum */
		return;
	s += proto + (l4len >> 16) + (l4len & 0xffff);
	if (fold(s) != field)
		return;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = (uint16_t)off;
}

/*
 * Write frames i < n (UMEM offsets `addrs[i]`, lengths `lens[i]`) to the TAP `fd`, one writev
 * each. Returns how many the kernel took; the caller gives every frame back to its pool (the
 * write copied it).
 */
uint32_t bpx_reinject_burst(int fd, const uint8_t *umem, const uint32_t *addrs,
			    const uint32_t *lens, uint32_t n)
{
	struct virtio_net_hdr h;
	struct iovec iov[2] = { { .iov_base = &h, .iov_len = sizeof(h) } };
	uint32_t taken = 0;

	for (uint32_t i = 0; i < n; i++) {
		memset(&h, 0, sizeof(h));
		iov[1].iov_base = (void *)(umem + addrs[i]);
		iov[1].iov_len = lens[i];
		partial_csum(iov[1].iov_base, lens[i], &h);
		if (writev(fd, iov, 2) == (ssize_t)(sizeof(h) + lens[i]))
			taken++;
	}
	return taken;
}

/* CLOCK_MONOTONIC in ns, as a double (exact below 2^53 ns, 104 days of uptime). */
static inline double monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * The TX kick of a port whose per-frame clock is on: store CLOCK_MONOTONIC (ns, the clock
 * bpf_ktime_get_ns() stamps frames with) in at_ns[0], then sendto(fd, NULL, 0, MSG_DONTWAIT).
 * Returns sendto's result, or -errno when it failed (no second call to read errno). fd -1 keeps
 * this way warm while idle: the kernel refuses it at once (-EBADF).
 */
int bpx_kick_at(int fd, double *at_ns)
{
	at_ns[0] = monotonic_ns();
	ssize_t r = sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	return r < 0 ? -errno : (int)r;
}

/*
 * CLOCK_MONOTONIC in ns: the per-frame clock's RX point. A vDSO read behind an FFI fast call:
 * ~40 ns here, where Deno's performance.now() takes ~115 ns (and then needs an offset to this
 * clock).
 */
double bpx_now(void)
{
	return monotonic_ns();
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * byPassRT's C helper: only what Deno FFI cannot express cleanly. Nothing here is on the per-packet
 * path; the rings, the mempool and the polling loop are TypeScript.
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
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

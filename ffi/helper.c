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
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

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

// SPDX-License-Identifier: BSD-2-Clause
/*
 * cold_cache: how a spinning vCPU of this machine loses its caches. Not part of byPassRT; it
 * measures the environment that the latency figures in BENCHMARKS.md ("Where a round trip's
 * time goes") depend on. Pinned to CPU 1 (the polling CPU of the benchmarks).
 *
 *   gcc -O2 -o build/cold_cache bench/cold_cache.c
 *   build/cold_cache lines                 for spins of 2 us .. 1 ms: the time to read 16 lines
 *                                           (in 16 pages) that were read before the spin
 *   build/cold_cache gaps [SECONDS]        spin for SECONDS (2) reading CLOCK_MONOTONIC and count
 *                                           the gaps between two reads by length: the times the
 *                                           vCPU did not run this loop
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define RUNS 2000
#define LINES 16
#define STRIDE (65536 + 64) /* a new page and a new cache set each time */

static void lines(void)
{
	static const long spins[] = { 2000, 10000, 50000, 100000, 250000, 500000, 1000000 };
	char *a = malloc((size_t)LINES * STRIDE);
	static uint64_t r[RUNS];
	volatile char sink = 0;

	if (!a) {
		perror("malloc");
		exit(1);
	}
	memset(a, 1, (size_t)LINES * STRIDE);
	for (size_t s = 0; s < sizeof(spins) / sizeof(spins[0]); s++) {
		for (int it = 0; it < RUNS; it++) {
			uint64_t t0 = now_ns(), t1;

			while (now_ns() - t0 < (uint64_t)spins[s])
				;
			t1 = now_ns();
			for (int p = 0; p < LINES; p++)
				sink += a[(size_t)p * STRIDE];
			r[it] = now_ns() - t1;
		}
		qsort(r, RUNS, sizeof(r[0]), cmp_u64);
		printf("{\"spin_ns\": %ld, \"lines\": %d, \"p50_ns\": %lu, \"p90_ns\": %lu, "
		       "\"p99_ns\": %lu}\n",
		       spins[s], LINES, (unsigned long)r[RUNS / 2], (unsigned long)r[RUNS * 9 / 10],
		       (unsigned long)r[RUNS * 99 / 100]);
	}
	free(a);
}

static void gaps(double seconds)
{
	static const uint64_t edge[] = { 200, 1000, 2000, 5000, 20000, 100000 };
	long n[7] = { 0 };
	uint64_t t0 = now_ns(), prev = t0, end = t0 + (uint64_t)(seconds * 1e9), max = 0, lost = 0;

	for (;;) {
		uint64_t t = now_ns(), d = t - prev;
		int b = 0;

		prev = t;
		if (t > end)
			break;
		while (b < 6 && d >= edge[b])
			b++;
		n[b]++;
		if (b > 0)
			lost += d;
		if (d > max)
			max = d;
	}
	printf("{\"seconds\": %.1f, \"gaps\": {\"<0.2us\": %ld, \"0.2-1us\": %ld, \"1-2us\": %ld, "
	       "\"2-5us\": %ld, \"5-20us\": %ld, \"20-100us\": %ld, \">100us\": %ld}, "
	       "\"max_ns\": %lu, \"share_not_running\": %.4f}\n",
	       seconds, n[0], n[1], n[2], n[3], n[4], n[5], n[6], (unsigned long)max,
	       (double)lost / (seconds * 1e9));
}

int main(int argc, char **argv)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity (CPU 1)");
	if (argc >= 2 && !strcmp(argv[1], "lines"))
		lines();
	else if (argc >= 2 && !strcmp(argv[1], "gaps"))
		gaps(argc >= 3 ? atof(argv[2]) : 2.0);
	else {
		fprintf(stderr, "usage: cold_cache lines | gaps [SECONDS]\n");
		return 2;
	}
	return 0;
}

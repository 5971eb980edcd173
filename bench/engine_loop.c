// The l2fwd engine loop of bench/engine_loop.ts in C, over the same in-memory rings: the fake
// kernel delivers a burst (FILL -> RX, 18 header bytes written per packet), the application does
// rx burst -> MAC swap -> tx burst (which first reclaims COMPLETION into the mempool), and the
// fake kernel transmits (TX -> COMPLETION). Rings use libxdp's cached-index algorithm (acquire
// load of the other side's index only when the cache runs out, release store once per burst);
// the mempool is the same LIFO stack with an in-pool byte per frame; sizes are byPassRT's
// defaults (4096 frames of 2048 bytes, rings of 2048). No libxdp, no system calls.
//
// The fake kernel (UMEM, ring memory, fk_deliver/fk_transmit) is build/libfakekernel.so, built
// from testing/fake_kernel.c: the same library bench/engine_loop.ts calls through Deno.dlopen, so
// both engines run identical kernel code and both pay one call into it per kernel step.
//
// Build: gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o build/libfakekernel.so testing/fake_kernel.c
//        gcc -O2 -Itesting -o build/engine_loop bench/engine_loop.c -Lbuild -lfakekernel '-Wl,-rpath,$ORIGIN'
// Run:   build/engine_loop [packets=50000000] [burst=64]
// Prints: c: packets=N burst=B ns_per_pkt=X mpps=Y ...
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_kernel.h"

#define FRAMES 4096u
#define FRAME_SIZE 2048u
#define FRAME_SHIFT 11u
#define RING_SIZE 2048u
#define HEADROOM 256u
#define PKT_LEN 64u
#define MAX_BURST 1024u

struct xdp_desc {
  uint64_t addr;
  uint32_t len;
  uint32_t options;
};

// Our view (struct xsk_ring_prod / xsk_ring_cons).
struct ring {
  uint32_t cached_prod, cached_cons, mask, size, cursor;
  uint32_t *producer, *consumer, *flags;
  void *entries;
};

// View ring `which` of fake kernel `kid` (the memory libxdp would have mmapped).
static void ring_init(struct ring *r, int32_t kid, uint32_t which, int prod_side) {
  struct fk_ring_shared *s = fk_ring_shared(kid, which);
  r->size = fk_ring_size(kid, which);
  r->mask = r->size - 1;
  r->producer = &s->producer;
  r->consumer = &s->consumer;
  r->flags = &s->flags;
  r->entries = fk_ring_entries(kid, which);
  r->cached_prod = *r->producer;
  r->cached_cons = *r->consumer + (prod_side ? r->size : 0);
  r->cursor = 0;
}

static inline uint32_t prod_reserve(struct ring *r, uint32_t n) {
  uint32_t free_entries = r->cached_cons - r->cached_prod;
  if (free_entries < n) {
    r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE) + r->size;
    free_entries = r->cached_cons - r->cached_prod;
  }
  uint32_t k = free_entries < n ? free_entries : n;
  r->cursor = r->cached_prod;
  r->cached_prod += k;
  return k;
}

static inline void prod_submit(struct ring *r, uint32_t n) {
  __atomic_store_n(r->producer, *r->producer + n, __ATOMIC_RELEASE);
}

static inline uint32_t cons_peek(struct ring *r, uint32_t n) {
  uint32_t entries = r->cached_prod - r->cached_cons;
  if (entries == 0) {
    r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
    entries = r->cached_prod - r->cached_cons;
  }
  uint32_t k = entries < n ? entries : n;
  r->cursor = r->cached_cons;
  r->cached_cons += k;
  return k;
}

static inline void cons_release(struct ring *r, uint32_t n) {
  __atomic_store_n(r->consumer, *r->consumer + n, __ATOMIC_RELEASE);
}

static inline int needs_wakeup(const struct ring *r) { return (*r->flags & 1) != 0; }

// Mempool: LIFO stack of frame addresses plus an in-pool byte per frame.
static uint32_t pool_stack[FRAMES];
static uint8_t pool_in[FRAMES];
static uint32_t pool_top;

static void pool_init(void) {
  for (uint32_t i = 0; i < FRAMES; i++) {
    pool_stack[i] = (FRAMES - 1 - i) * FRAME_SIZE;
    pool_in[i] = 1;
  }
  pool_top = FRAMES;
}

static inline uint32_t pool_alloc(void) {
  uint32_t addr = pool_stack[--pool_top];
  pool_in[addr >> FRAME_SHIFT] = 0;
  return addr;
}

static void pool_reject(uint64_t addr) {
  fprintf(stderr, "frame ownership error at address %llu\n", (unsigned long long)addr);
  exit(1);
}

static inline void pool_free(uint64_t addr) {
  uint32_t frame = (uint32_t)(addr >> FRAME_SHIFT);
  if (frame >= FRAMES || pool_in[frame] != 0) pool_reject(addr);
  pool_in[frame] = 1;
  pool_stack[pool_top++] = frame << FRAME_SHIFT;
}

// The fake kernel, its UMEM, and our views of its rings.
static int32_t kid;
static uint8_t *umem;
static struct ring fill, comp, rx, tx;

// Port state and counters (as byPassRT's Port).
static uint32_t tx_len[FRAMES];
static uint64_t c_rx_packets, c_rx_bytes, c_tx_packets, c_tx_bytes, c_tx_queued, c_tx_ring_full;
static uint64_t c_tx_kicks, c_rx_wakeups;
static int64_t app_held, tx_outstanding;
static const uint32_t fill_frames = RING_SIZE < FRAMES / 2 ? RING_SIZE : FRAMES / 2;

static inline void refill(uint32_t max) {
  uint32_t want = pool_top < max ? pool_top : max;
  if (want == 0) return;
  uint32_t k = prod_reserve(&fill, want);
  if (k == 0) return;
  uint64_t *e = fill.entries;
  for (uint32_t i = 0; i < k; i++) e[(fill.cursor + i) & fill.mask] = pool_alloc();
  prod_submit(&fill, k);
}

static inline uint32_t rx_burst(uint32_t *addrs, uint32_t *lens, uint32_t n) {
  refill(fill.size);
  uint32_t k = cons_peek(&rx, n);
  if (k == 0) {
    if (needs_wakeup(&fill)) c_rx_wakeups++; // (recvfrom would go here)
    return 0;
  }
  const struct xdp_desc *e = rx.entries;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < k; i++) {
    const struct xdp_desc *d = &e[(rx.cursor + i) & rx.mask];
    addrs[i] = (uint32_t)d->addr;
    lens[i] = d->len;
    bytes += d->len;
  }
  cons_release(&rx, k);
  app_held += k;
  c_rx_packets += k;
  c_rx_bytes += bytes;
  return k;
}

static inline uint32_t reclaim(void) {
  uint32_t k = cons_peek(&comp, comp.size);
  if (k == 0) return 0;
  const uint64_t *e = comp.entries;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < k; i++) {
    uint64_t addr = e[(comp.cursor + i) & comp.mask];
    bytes += tx_len[addr >> FRAME_SHIFT];
    pool_free(addr);
  }
  cons_release(&comp, k);
  tx_outstanding -= k;
  c_tx_packets += k;
  c_tx_bytes += bytes;
  return k;
}

static inline void kick(void) {
  if (tx_outstanding == 0 || !needs_wakeup(&tx)) return;
  c_tx_kicks++; // (sendto would go here)
}

static inline uint32_t tx_burst(const uint32_t *addrs, const uint32_t *lens, uint32_t n) {
  reclaim();
  uint32_t k = prod_reserve(&tx, n);
  struct xdp_desc *e = tx.entries;
  for (uint32_t i = 0; i < k; i++) {
    struct xdp_desc *d = &e[(tx.cursor + i) & tx.mask];
    d->addr = addrs[i];
    d->len = lens[i];
    d->options = 0;
    tx_len[addrs[i] >> FRAME_SHIFT] = lens[i];
  }
  if (k > 0) prod_submit(&tx, k);
  if (k < n) c_tx_ring_full += n - k;
  app_held -= k;
  tx_outstanding += k;
  c_tx_queued += k;
  kick();
  return k;
}

static inline void port_free(const uint32_t *addrs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) pool_free(addrs[i]);
  app_held -= n;
}

static inline void mac_swap(uint8_t *p) {
  for (int i = 0; i < 6; i++) {
    uint8_t t = p[i];
    p[i] = p[6 + i];
    p[6 + i] = t;
  }
}

static uint64_t l2fwd_bursts(uint32_t *addrs, uint32_t *lens, uint32_t burst, uint64_t iters) {
  uint64_t pkts = 0;
  for (uint64_t it = 0; it < iters; it++) {
    fk_deliver(kid, burst, PKT_LEN);
    uint32_t n = rx_burst(addrs, lens, burst);
    for (uint32_t i = 0; i < n; i++) mac_swap(umem + addrs[i]);
    uint32_t sent = tx_burst(addrs, lens, n);
    if (sent < n) port_free(addrs + sent, n - sent);
    fk_transmit(kid);
    pkts += n;
  }
  return pkts;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  uint64_t packets = argc > 1 ? strtoull(argv[1], NULL, 10) : 50000000ull;
  uint32_t burst = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 64;
  if (burst < 1 || burst > MAX_BURST || packets < burst) {
    fprintf(stderr, "usage: engine_loop [packets >= burst] [burst 1..%u]\n", MAX_BURST);
    return 2;
  }
  kid = fk_create(FRAMES, FRAME_SIZE, RING_SIZE, RING_SIZE, 0);
  if (kid < 0) {
    fprintf(stderr, "fk_create failed\n");
    return 1;
  }
  umem = fk_umem(kid);
  ring_init(&fill, kid, FK_FILL, 1);
  ring_init(&comp, kid, FK_COMP, 0);
  ring_init(&rx, kid, FK_RX, 0);
  ring_init(&tx, kid, FK_TX, 1);
  pool_init();
  refill(fill_frames);

  static uint32_t addrs[MAX_BURST], lens[MAX_BURST];
  uint64_t iters = packets / burst;
  uint64_t warm = l2fwd_bursts(addrs, lens, burst, iters / 10 > 0 ? iters / 10 : 1);
  double t0 = now_ns();
  uint64_t done = l2fwd_bursts(addrs, lens, burst, iters);
  double t1 = now_ns();
  double ns = (t1 - t0) / (double)done;

  uint64_t total = warm + done;
  uint64_t k_transmitted = fk_stats(kid)->transmitted;
  if (c_rx_packets != total || c_tx_queued != total || k_transmitted != total) {
    fprintf(stderr, "lost packets: rx %llu tx %llu sent %llu\n", (unsigned long long)c_rx_packets,
            (unsigned long long)c_tx_queued, (unsigned long long)k_transmitted);
    return 1;
  }
  // Frame audit: pool + FILL + RX + app + TX + COMPLETION == FRAMES.
#define PENDING(r) (uint32_t)(*(r).producer - *(r).consumer)
  int64_t seen = (int64_t)pool_top + PENDING(fill) + PENDING(rx) + app_held + PENDING(tx) +
                 PENDING(comp);
  if (seen != FRAMES) {
    fprintf(stderr, "frame audit failed: %lld of %u\n", (long long)seen, FRAMES);
    return 1;
  }
  // A byte of the UMEM, so the MAC swaps cannot be optimised away.
  unsigned sample = umem[HEADROOM] ^ umem[HEADROOM + 5];
  printf("c: packets=%llu burst=%u ns_per_pkt=%.2f mpps=%.2f tx_completed=%llu audit=balanced "
         "sample=%u\n",
         (unsigned long long)done, burst, ns, 1e3 / ns, (unsigned long long)c_tx_packets, sample);
  fk_destroy(kid);
  return 0;
}

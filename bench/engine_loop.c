// The engine benchmark, C side: bench/engine_loop.ts's two loops written in C, over the same
// in-memory rings and the same fake kernel, following the same protocol.
//
// - "real": engine/loop.ts's polling loop in C. A port (engine/port.ts: rx burst with FILL
//   refill and top-up, tx burst with COMPLETION reclaim and kick), a burst with a verdict per
//   frame (BurstState: send(i) checks the index and the length), a handler called through a
//   function pointer the compiler cannot see through (handlers/l2fwd.ts: MAC swap, send), the
//   verdict pass that splits the burst into frames to send and frames to free, a frame budget
//   (LoopOptions.count), and every 64 loops the counters published to a stats block and the
//   control block read (stop, reload).
// - "direct": rx burst -> MAC swap -> tx burst written out on the same port, no handler, no
//   verdicts, no budget, no publication (bench/engine_loop.ts's "direct").
//
// The fake kernel (UMEM, ring memory, fk_deliver/fk_transmit) is build/libfakekernel.so, built
// from testing/fake_kernel.c: the same library bench/engine_loop.ts calls through Deno.dlopen.
// It runs only when the port makes a system call, as a real kernel under need_wakeup:
// NEED_WAKEUP is set on FILL and TX; when a poll finds RX empty the port makes the FILL wake-up
// (recvfrom), in which the kernel delivers one burst (fk_deliver: FILL -> RX); the TX burst's
// kick (sendto) transmits it (fk_transmit: TX -> COMPLETION). Two protocols:
// - "loaded" (default; a forwarder under load): the next burst arrives while this one is being
//   processed, i.e. the kernel also delivers B in the kick. Per burst: one poll (RX peek B, FILL
//   refill B, process, TX reclaim, TX reserve/submit B, kick -> transmit B and deliver B); RX is
//   never found empty after the first burst. One fk_transmit and one fk_deliver per burst.
// - "wakeup" (traffic that arrives only when asked for): each burst is one empty poll (RX peek
//   empty, FILL top-up check, wake-up -> deliver B; then, frames being in flight, the kick check
//   and the COMPLETION reclaim of the previous burst) and one full poll as above without the
//   delivery in the kick: one fk_deliver and one fk_transmit per burst, twice the polls.
// Here a "system call" is a direct call into the library; on the TS side it goes through the
// fake port's stub libc (a closure and the hook's closure) and then one FFI call.
//
// Rings use libxdp's cached-index algorithm (acquire load of the other side's index only when the
// cache runs out, release store once per burst); the mempool is the same LIFO stack with an
// in-pool byte per frame; sizes are byPassRT's defaults (4096 frames of 2048 bytes, rings of 2048).
//
// Build: gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o build/libfakekernel.so testing/fake_kernel.c
//        gcc -O2 -Itesting -o build/engine_loop bench/engine_loop.c -Lbuild -lfakekernel '-Wl,-rpath,$ORIGIN'
// Run:   build/engine_loop [packets=50000000] [burst=64] [real|direct] [loaded|wakeup]
//        build/engine_loop calls [n=10000000]   (cost of one fk_deliver(id, 0, 64) call)
// Prints: c: variant=V protocol=P packets=N burst=B ns_per_pkt=X mpps=Y wakeups_per_burst=W
//         kicks_per_burst=K loops_per_burst=L ...
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
#define PUBLISH_EVERY 64u
#define TICK_MASK (PUBLISH_EVERY - 1)

struct xdp_desc {
  uint64_t addr;
  uint32_t len;
  uint32_t options;
};

// ---- Rings (ring/xsk_ring.ts; struct xsk_ring_prod / xsk_ring_cons) ----

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

static inline uint32_t load_acquire(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static inline uint32_t prod_free_slots(struct ring *r, uint32_t n) {
  uint32_t free_entries = r->cached_cons - r->cached_prod;
  if (free_entries >= n) return free_entries;
  r->cached_cons = load_acquire(r->consumer) + r->size;
  return r->cached_cons - r->cached_prod;
}

static inline uint32_t prod_reserve(struct ring *r, uint32_t n) {
  uint32_t free_entries = prod_free_slots(r, n);
  uint32_t k = free_entries < n ? free_entries : n;
  r->cursor = r->cached_prod;
  r->cached_prod += k;
  return k;
}

static inline void prod_submit(struct ring *r, uint32_t n) {
  __atomic_store_n(r->producer, *r->producer + n, __ATOMIC_RELEASE);
}

static inline uint32_t prod_pending(const struct ring *r) {
  return load_acquire(r->producer) - load_acquire(r->consumer);
}

static inline uint32_t cons_peek(struct ring *r, uint32_t n) {
  uint32_t entries = r->cached_prod - r->cached_cons;
  if (entries == 0) {
    r->cached_prod = load_acquire(r->producer);
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

// ---- Mempool (mempool/mempool.ts): LIFO stack of frame addresses, an in-pool byte per frame ----

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

// ---- Port (engine/port.ts) ----

enum { RX_PACKETS, RX_BYTES, TX_PACKETS, TX_BYTES, TX_QUEUED, TX_RING_FULL, TX_KICKS,
       TX_KICK_ERRORS, RX_WAKEUPS, DRAINED_AT_STOP, PORT_COUNTERS };

static int32_t kid;
static uint8_t *umem;
static struct ring fill, comp, rx, tx;
static uint32_t tx_len[FRAMES];
static uint64_t pc[PORT_COUNTERS];
static int64_t app_held, tx_outstanding;
static int top_up;
static const uint32_t fill_frames = RING_SIZE < FRAMES / 2 ? RING_SIZE : FRAMES / 2;
// What the fake kernel delivers per FILL wake-up (and, loaded, per TX kick).
static uint32_t wake_burst;
// The "loaded" protocol: the next burst arrives while this one is processed, i.e. the kernel
// delivers it in the TX kick too, so RX is never found empty (after the first burst).
static int deliver_on_kick;

// The system calls: here the fake kernel's work, called directly.
static inline void sys_recvfrom(void) { fk_deliver(kid, wake_burst, PKT_LEN); }
static inline void sys_sendto(void) {
  fk_transmit(kid);
  if (deliver_on_kick) fk_deliver(kid, wake_burst, PKT_LEN);
}

// Post pool frames to FILL, as many as fit; `hint` as Port.#refill. True when the pool could not
// cover every known free slot.
static inline int refill(uint32_t hint) {
  uint32_t free_slots = prod_free_slots(&fill, hint);
  uint32_t want = pool_top < free_slots ? pool_top : free_slots;
  if (want > 0) {
    uint32_t k = prod_reserve(&fill, want);
    uint64_t *e = fill.entries;
    uint32_t top = pool_top;
    pool_top = top - k;
    for (uint32_t i = 0; i < k; i++) {
      uint32_t addr = pool_stack[top - 1 - i];
      pool_in[addr >> FRAME_SHIFT] = 0;
      e[(fill.cursor + i) & fill.mask] = addr;
    }
    prod_submit(&fill, k);
  }
  return want < free_slots;
}

// Port.#refillBatch: refill FILL once a quarter of the ring (at most 256) is owed.
static const uint32_t refill_batch = RING_SIZE / 4 < 256 ? RING_SIZE / 4 : 256;
static uint32_t owed;

static inline uint32_t rx_burst(uint32_t *addrs, uint32_t *lens, uint32_t n) {
  uint32_t k = cons_peek(&rx, n);
  if (k == 0) {
    if (top_up) {
      top_up = refill(fill.size);
      owed = 0;
    }
    if (needs_wakeup(&fill)) {
      pc[RX_WAKEUPS]++;
      sys_recvfrom();
    }
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
  owed += k;
  if (owed >= refill_batch) {
    refill(owed);
    owed = 0;
  }
  top_up = 1;
  app_held += k;
  pc[RX_PACKETS] += k;
  pc[RX_BYTES] += bytes;
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
  pc[TX_PACKETS] += k;
  pc[TX_BYTES] += bytes;
  return k;
}

static inline void send_kick(void) {
  pc[TX_KICKS]++;
  sys_sendto();
}

static inline void kick(void) {
  if (tx_outstanding == 0 || !needs_wakeup(&tx) || prod_pending(&tx) == 0) return;
  send_kick();
}

static inline uint32_t tx_burst(const uint32_t *addrs, const uint32_t *lens, uint32_t n) {
  reclaim();
  uint32_t k = prod_reserve(&tx, n);
  struct xdp_desc *e = tx.entries;
  for (uint32_t i = 0; i < k; i++) {
    struct xdp_desc *d = &e[(tx.cursor + i) & tx.mask];
    d->addr = addrs[i];
    d->len = lens[i];
    tx_len[addrs[i] >> FRAME_SHIFT] = lens[i];
  }
  if (k < n) pc[TX_RING_FULL] += n - k;
  app_held -= k;
  tx_outstanding += k;
  pc[TX_QUEUED] += k;
  if (k > 0) {
    prod_submit(&tx, k);
    // Just submitted, so descriptors are pending: no need to read the kernel's index first.
    if (needs_wakeup(&tx)) send_kick();
  } else {
    kick();
  }
  return k;
}

static inline void port_free(const uint32_t *addrs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) pool_free(addrs[i]);
  app_held -= n;
}

static void drain_tx(double ms);

// ---- The polling loop (engine/loop.ts) ----

// Stats block slots (engine/counters.ts QUEUE_COUNTERS): the port's counters, then the loop's.
enum { S_APP_DROPPED = PORT_COUNTERS, S_UNHANDLED, S_HANDLER_ERRORS, S_ERROR_DROPPED,
       S_ORIGINATED, S_HANDLER_RELOADS, S_LOOPS, S_IDLE_POLLS, S_FREE_FRAMES, STATS_SLOTS };
enum { CONTROL_STOP, CONTROL_STATE, CONTROL_RELOAD };
enum loop_exit { EXIT_STOP, EXIT_COUNT, EXIT_RELOAD };
#define DROP (-1)
#define SEND 1

struct burst {
  uint32_t length;
  uint8_t *bytes;
  uint32_t addrs[2 * MAX_BURST], lens[2 * MAX_BURST]; // room for the originated frames too
  int32_t act[MAX_BURST];
  uint32_t frame_mask;
};

struct ctx {
  int64_t budget; // frames that may still be received or originated
  uint32_t pending, capacity;
  uint32_t pend_addrs[MAX_BURST], pend_lens[MAX_BURST];
};

struct handler {
  const char *name;
  void (*burst)(struct burst *b, struct ctx *ctx);
  void (*idle)(struct ctx *ctx);
};

static void bad_index(const struct burst *b, uint32_t i) {
  fprintf(stderr, "frame index %u is outside this burst (0..%u)\n", i, b->length - 1);
  exit(1);
}

static void bad_len(uint32_t i, int64_t len, uint32_t room) {
  fprintf(stderr, "send(%u, %lld): length must be 1..%u for this frame\n", i, (long long)len, room);
  exit(1);
}

// BurstState.send: `len` < 0 means the frame's own size.
static inline void burst_send(struct burst *b, uint32_t i, int64_t len) {
  if (i >= b->length) bad_index(b, i);
  if (len >= 0) {
    uint32_t room = b->frame_mask + 1 - (b->addrs[i] & b->frame_mask);
    if (len < 1 || len > room) bad_len(i, len, room);
    b->lens[i] = (uint32_t)len;
  }
  b->act[i] = SEND;
}

// LoopContext.flush: send the originated frames now.
static void ctx_flush(struct ctx *ctx) {
  uint32_t k = ctx->pending;
  if (k == 0) return;
  ctx->pending = 0;
  uint32_t sent = tx_burst(ctx->pend_addrs, ctx->pend_lens, k);
  if (sent < k) port_free(ctx->pend_addrs + sent, k - sent);
}

static inline void mac_swap(uint8_t *p) {
  for (int i = 0; i < 6; i++) {
    uint8_t t = p[i];
    p[i] = p[6 + i];
    p[6 + i] = t;
  }
}

// handlers/l2fwd.ts
static void l2fwd_burst(struct burst *b, struct ctx *ctx) {
  (void)ctx;
  uint32_t n = b->length;
  for (uint32_t i = 0; i < n; i++) {
    mac_swap(b->bytes + b->addrs[i]);
    burst_send(b, i, -1);
  }
}

static const struct handler handlers[] = {{"l2fwd", l2fwd_burst, NULL}};
// Read once at run time: the loop calls the handler through a pointer, as an engine that loads
// handler modules would, not through a call the compiler could inline.
static const struct handler *volatile chosen_handler = &handlers[0];

static double stats[STATS_SLOTS];
static int32_t control[4];

static void publish(void) {
  for (int i = 0; i < PORT_COUNTERS; i++) stats[i] = (double)pc[i];
  stats[S_FREE_FRAMES] = pool_top;
}

static inline void on_empty(void) {
  if (tx_outstanding > 0) {
    kick();
    reclaim();
  }
}

static enum loop_exit loop(const struct handler *h, struct burst *b, struct ctx *ctx,
                           uint32_t burst, uint64_t count, int32_t generation) {
  if (__atomic_load_n(&control[CONTROL_STOP], __ATOMIC_ACQUIRE) != 0) return EXIT_STOP;
  if (__atomic_load_n(&control[CONTROL_RELOAD], __ATOMIC_ACQUIRE) != generation) return EXIT_RELOAD;
  uint32_t *addrs = b->addrs, *lens = b->lens;
  int32_t *act = b->act;
  static uint32_t drop_addrs[MAX_BURST];
  ctx->budget = count > 0 ? (int64_t)count - (int64_t)pc[RX_PACKETS] - (int64_t)stats[S_ORIGINATED]
                          : INT64_MAX;
  uint64_t loops = 0;
  while (ctx->budget >= 1) {
    int64_t room = ctx->budget;
    uint32_t n = rx_burst(addrs, lens, room < burst ? (uint32_t)room : burst);
    if (n > 0) {
      ctx->budget -= n;
      b->length = n;
      memset(act, 0, n * sizeof(*act));
      h->burst(b, ctx);
      // Frames to send move to the front, in order (in place); the rest are freed.
      uint32_t k = 0, d = 0, dropped = 0;
      for (uint32_t i = 0; i < n; i++) {
        int32_t v = act[i];
        if (v == SEND) {
          if (k != i) {
            addrs[k] = addrs[i];
            lens[k] = lens[i];
          }
          k++;
        } else {
          drop_addrs[d++] = addrs[i];
          if (v == DROP) dropped++;
        }
      }
      if (d > 0) {
        port_free(drop_addrs, d);
        if (dropped > 0) stats[S_APP_DROPPED] += dropped;
        if (d > dropped) stats[S_UNHANDLED] += d - dropped;
      }
      uint32_t p = ctx->pending;
      if (p > 0) {
        for (uint32_t j = 0; j < p; j++) {
          addrs[k] = ctx->pend_addrs[j];
          lens[k++] = ctx->pend_lens[j];
        }
        ctx->pending = 0;
      }
      if (k > 0) {
        uint32_t sent = tx_burst(addrs, lens, k);
        if (sent < k) port_free(addrs + sent, k - sent);
      }
    } else {
      if (h->idle) h->idle(ctx);
      if (ctx->pending > 0) ctx_flush(ctx);
      on_empty();
    }
    if ((++loops & TICK_MASK) == 0) {
      stats[S_LOOPS] += PUBLISH_EVERY;
      publish();
      if (__atomic_load_n(&control[CONTROL_STOP], __ATOMIC_ACQUIRE) != 0) return EXIT_STOP;
      if (__atomic_load_n(&control[CONTROL_RELOAD], __ATOMIC_ACQUIRE) != generation)
        return EXIT_RELOAD;
    }
  }
  stats[S_LOOPS] += (double)(loops & TICK_MASK);
  return EXIT_COUNT;
}

// runLoop: the loop, then flush, finish TX, publish.
static enum loop_exit run_loop(const struct handler *h, struct burst *b, struct ctx *ctx,
                               uint32_t burst, uint64_t count) {
  __atomic_store_n(&control[CONTROL_STATE], 1, __ATOMIC_RELEASE);
  enum loop_exit exit_reason = loop(h, b, ctx, burst, count, 0);
  ctx_flush(ctx);
  drain_tx(200);
  publish();
  return exit_reason;
}

// ---- The direct loop: rx burst -> MAC swap -> tx burst, no handler ----

static uint64_t direct_loop(uint32_t *addrs, uint32_t *lens, uint32_t burst, uint64_t packets) {
  uint64_t pkts = 0;
  while (pkts < packets) {
    uint64_t left = packets - pkts;
    uint32_t n = rx_burst(addrs, lens, left < burst ? (uint32_t)left : burst);
    if (n > 0) {
      for (uint32_t i = 0; i < n; i++) mac_swap(umem + addrs[i]);
      uint32_t sent = tx_burst(addrs, lens, n);
      if (sent < n) port_free(addrs + sent, n - sent);
      pkts += n;
    } else if (tx_outstanding > 0) {
      kick();
      reclaim();
    }
  }
  return pkts;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void drain_tx(double ms) {
  double end = now_ns() + ms * 1e6;
  while (tx_outstanding > 0 && now_ns() < end) {
    kick();
    reclaim();
  }
}

static struct burst bst;
static struct ctx cx;

// Run `packets` more packets through the chosen variant; returns how many were received.
static uint64_t run(int real, uint32_t burst, uint64_t packets) {
  if (!real) return direct_loop(bst.addrs, bst.lens, burst, packets);
  uint64_t before = pc[RX_PACKETS];
  if (run_loop(chosen_handler, &bst, &cx, burst, before + packets) != EXIT_COUNT) {
    fprintf(stderr, "the loop stopped before its count\n");
    exit(1);
  }
  return pc[RX_PACKETS] - before;
}

static int calls_main(uint64_t n) {
  double t0 = now_ns();
  for (uint64_t i = 0; i < n; i++) fk_deliver(kid, 0, PKT_LEN);
  double t1 = now_ns();
  printf("c: fk_deliver_call_ns=%.2f calls=%llu\n", (t1 - t0) / (double)n, (unsigned long long)n);
  return 0;
}

int main(int argc, char **argv) {
  int calls = argc > 1 && strcmp(argv[1], "calls") == 0;
  uint64_t packets = argc > 1 && !calls ? strtoull(argv[1], NULL, 10) : 50000000ull;
  uint32_t burst = argc > 2 && !calls ? (uint32_t)strtoul(argv[2], NULL, 10) : 64;
  const char *variant = argc > 3 ? argv[3] : "real";
  const char *protocol = argc > 4 ? argv[4] : "loaded";
  int real = strcmp(variant, "real") == 0;
  deliver_on_kick = strcmp(protocol, "loaded") == 0;
  if (burst < 1 || burst > MAX_BURST || packets < burst ||
      (!real && strcmp(variant, "direct") != 0) ||
      (!deliver_on_kick && strcmp(protocol, "wakeup") != 0)) {
    fprintf(stderr,
            "usage: engine_loop [packets >= burst] [burst 1..%u] [real|direct] [loaded|wakeup]\n"
            "       engine_loop calls [n]\n",
            MAX_BURST);
    return 2;
  }
  kid = fk_create(FRAMES, FRAME_SIZE, RING_SIZE, RING_SIZE, 0);
  if (kid < 0) {
    fprintf(stderr, "fk_create failed\n");
    return 1;
  }
  if (calls) return calls_main(argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000ull);
  umem = fk_umem(kid);
  ring_init(&fill, kid, FK_FILL, 1);
  ring_init(&comp, kid, FK_COMP, 0);
  ring_init(&rx, kid, FK_RX, 0);
  ring_init(&tx, kid, FK_TX, 1);
  pool_init();
  refill(fill_frames);
  // The kernel asks for wake-ups on FILL and TX (XDP_RING_NEED_WAKEUP) and delivers a burst on
  // each FILL wake-up.
  fk_ring_shared(kid, FK_FILL)->flags |= 1;
  fk_ring_shared(kid, FK_TX)->flags |= 1;
  wake_burst = burst;
  bst.bytes = umem;
  bst.frame_mask = FRAME_SIZE - 1;
  cx.capacity = burst;

  // Whole bursts only: the kernel delivers `burst` per wake-up and the loop stops on a count.
  uint64_t timed = packets / burst * burst;
  uint64_t warm = timed / 10 > 4000000ull ? timed / 10 : 4000000ull;
  warm = warm / burst * burst;
  uint64_t warmed = 0;
  for (int i = 0; i < 4; i++) warmed += run(real, burst, warm / burst / 4 * burst);
  double t0 = now_ns();
  uint64_t done = run(real, burst, timed);
  double t1 = now_ns();
  double ns = (t1 - t0) / (double)done;

#define PENDING(r) (uint32_t)(*(r).producer - *(r).consumer)
  // Sanity after timing: every packet delivered, received, queued and sent (loaded: the burst
  // the last kick delivered is still on RX); frames balanced.
  uint64_t total = warmed + done;
  const struct fk_stats *ks = fk_stats(kid);
  if (done != timed || pc[RX_PACKETS] != total || pc[TX_QUEUED] != total ||
      ks->transmitted != total || ks->delivered != total + PENDING(rx) || ks->dropped != 0) {
    fprintf(stderr, "lost packets: rx %llu tx %llu delivered %llu sent %llu of %llu\n",
            (unsigned long long)pc[RX_PACKETS], (unsigned long long)pc[TX_QUEUED],
            (unsigned long long)ks->delivered, (unsigned long long)ks->transmitted,
            (unsigned long long)total);
    return 1;
  }
  if (real && (stats[S_UNHANDLED] != 0 || stats[S_APP_DROPPED] != 0)) {
    fprintf(stderr, "the handler dropped frames\n");
    return 1;
  }
  // Frame audit: pool + FILL + RX + app + TX + COMPLETION == FRAMES.
  int64_t seen = (int64_t)pool_top + PENDING(fill) + PENDING(rx) + app_held + PENDING(tx) +
                 PENDING(comp);
  if (seen != FRAMES) {
    fprintf(stderr, "frame audit failed: %lld of %u\n", (long long)seen, FRAMES);
    return 1;
  }
  double bursts = (double)total / burst;
  // A byte of the UMEM, so the MAC swaps cannot be optimised away.
  unsigned sample = umem[HEADROOM] ^ umem[HEADROOM + 5];
  printf("c: variant=%s protocol=%s packets=%llu burst=%u ns_per_pkt=%.2f mpps=%.2f "
         "wakeups_per_burst=%.3f "
         "kicks_per_burst=%.3f loops_per_burst=%.3f tx_completed=%llu audit=balanced sample=%u\n",
         variant, protocol, (unsigned long long)done, burst, ns, 1e3 / ns,
         (double)pc[RX_WAKEUPS] / bursts,
         (double)pc[TX_KICKS] / bursts, real ? stats[S_LOOPS] / bursts : 0.0,
         (unsigned long long)pc[TX_PACKETS], sample);
  fk_destroy(kid);
  return 0;
}

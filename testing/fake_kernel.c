// A fake AF_XDP kernel: the UMEM, the four rings (FILL, COMPLETION, RX, TX) with their shared
// producer/consumer/flags words (each on its own cache line) and entry arrays, and the kernel's
// side of those rings. Both engine benchmarks use this one library: bench/engine_loop.c links it,
// testing/fake_kernel.ts calls it through Deno.dlopen, so the TS/C comparison measures the engines,
// not two implementations of the fake kernel. A real kernel is C as well, and the engine pays
// one call into it per burst here as it would pay one system call there.
//
// Semantics (aligned UMEM mode):
// - fk_deliver(id, n, len): for each packet take one address from FILL, mask it to its frame,
//   produce the RX descriptor { addr: frame + 256 (XDP_PACKET_HEADROOM), len } and write 18
//   header bytes: dst MAC 02:00:00:00:00:d1, src MAC 02:00:00:00:00:51, ethertype 0x0800 and a
//   u32 little-endian sequence number at byte 14. Stops early (counting drops) when FILL is
//   empty or RX is full, like xsk_rcv does. Returns how many made it onto RX.
// - fk_transmit(id): consume every TX descriptor and produce its address on COMPLETION (as much
//   as COMPLETION has room for), summing the descriptor lengths. Returns how many.
// Indices are free-running u32; both start at start_index (try 2^32 - 3 to test wrapping).
//
// Build: gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o build/libfakekernel.so testing/fake_kernel.c
#define _GNU_SOURCE
#include "fake_kernel.h"

#include <stdlib.h>
#include <string.h>

#define FK_HEADROOM 256u

struct xdp_desc {
  uint64_t addr;
  uint32_t len;
  uint32_t options;
};

struct fk_ring {
  struct fk_ring_shared *sh;
  void *entries;
  uint32_t size, mask;
};

struct fake_kernel {
  struct fk_stats stats;
  uint8_t *umem;
  uint64_t umem_size;
  uint64_t frame_mask;
  struct fk_ring ring[4]; // FK_FILL, FK_COMP, FK_RX, FK_TX
};

static struct fake_kernel **kernels;
static uint32_t n_kernels;

static inline struct fake_kernel *get(int32_t id) { return kernels[id]; }

static int ring_alloc(struct fk_ring *r, uint32_t size, uint32_t entry_bytes, uint32_t start) {
  void *sh, *entries;
  if (posix_memalign(&sh, 64, sizeof(struct fk_ring_shared)) != 0) return -1;
  if (posix_memalign(&entries, 64, (size_t)size * entry_bytes) != 0) {
    free(sh);
    return -1;
  }
  memset(sh, 0, sizeof(struct fk_ring_shared));
  memset(entries, 0, (size_t)size * entry_bytes);
  r->sh = sh;
  r->entries = entries;
  r->size = size;
  r->mask = size - 1;
  r->sh->producer = start;
  r->sh->consumer = start;
  return 0;
}

static int pow2(uint32_t x) { return x != 0 && (x & (x - 1)) == 0; }

void fk_destroy(int32_t id) {
  if (id < 0 || (uint32_t)id >= n_kernels || !kernels[id]) return;
  struct fake_kernel *k = kernels[id];
  for (int i = 0; i < 4; i++) {
    free(k->ring[i].sh);
    free(k->ring[i].entries);
  }
  free(k->umem);
  free(k);
  kernels[id] = NULL;
}

// Returns the new kernel's id, or -1: ring sizes and frame_size must be powers of two, frames at
// least 512 bytes (room for the 256-byte headroom and the header), the UMEM at most 4 GiB; or no
// memory.
int32_t fk_create(uint32_t frames, uint32_t frame_size, uint32_t rx_size, uint32_t tx_size,
                  uint32_t start_index) {
  if (frames == 0 || !pow2(frame_size) || frame_size < 512 || !pow2(rx_size) || !pow2(tx_size))
    return -1;
  uint64_t umem_size = (uint64_t)frames * frame_size;
  if (umem_size > (1ull << 32)) return -1; // addresses are u32 on the TS side
  uint32_t id = 0;
  while (id < n_kernels && kernels[id]) id++;
  if (id == n_kernels) {
    uint32_t n = n_kernels ? n_kernels * 2 : 16;
    struct fake_kernel **t = realloc(kernels, n * sizeof(*t));
    if (!t) return -1;
    memset(t + n_kernels, 0, (n - n_kernels) * sizeof(*t));
    kernels = t;
    n_kernels = n;
  }
  struct fake_kernel *k = calloc(1, sizeof(*k));
  if (!k) return -1;
  kernels[id] = k;
  void *umem;
  if (posix_memalign(&umem, 4096, umem_size) != 0) goto fail;
  memset(umem, 0, umem_size);
  k->umem = umem;
  k->umem_size = umem_size;
  k->frame_mask = ~(uint64_t)(frame_size - 1);
  if (ring_alloc(&k->ring[FK_FILL], rx_size, 8, start_index) ||
      ring_alloc(&k->ring[FK_RX], rx_size, sizeof(struct xdp_desc), start_index) ||
      ring_alloc(&k->ring[FK_TX], tx_size, sizeof(struct xdp_desc), start_index) ||
      ring_alloc(&k->ring[FK_COMP], tx_size, 8, start_index))
    goto fail;
  return (int32_t)id;
fail:
  fk_destroy((int32_t)id);
  return -1;
}

// Plain loads and stores of the shared indices: the engine runs on the same thread.
uint32_t fk_deliver(int32_t id, uint32_t n, uint32_t len) {
  struct fake_kernel *k = get(id);
  struct fk_ring_shared *fs = k->ring[FK_FILL].sh, *rs = k->ring[FK_RX].sh;
  const uint64_t *fe = k->ring[FK_FILL].entries;
  struct xdp_desc *re = k->ring[FK_RX].entries;
  const uint32_t fmask = k->ring[FK_FILL].mask, rmask = k->ring[FK_RX].mask;
  const uint32_t rsize = k->ring[FK_RX].size;
  const uint64_t frame_mask = k->frame_mask;
  uint8_t *const umem = k->umem;
  const uint32_t fc = fs->consumer, rp = rs->producer;
  const uint32_t avail = fs->producer - fc;
  const uint32_t room = rsize - (rp - rs->consumer);
  uint32_t cnt = n < avail ? n : avail;
  if (room < cnt) cnt = room;
  uint32_t seq = k->stats.seq;
  for (uint32_t i = 0; i < cnt; i++) {
    const uint64_t pkt = (fe[(fc + i) & fmask] & frame_mask) + FK_HEADROOM;
    struct xdp_desc *d = &re[(rp + i) & rmask];
    d->addr = pkt;
    d->len = len;
    d->options = 0;
    uint8_t *p = umem + pkt;
    p[0] = 0x02, p[1] = 0x00, p[2] = 0x00, p[3] = 0x00, p[4] = 0x00, p[5] = 0xd1;
    p[6] = 0x02, p[7] = 0x00, p[8] = 0x00, p[9] = 0x00, p[10] = 0x00, p[11] = 0x51;
    p[12] = 0x08, p[13] = 0x00;
    p[14] = (uint8_t)seq, p[15] = (uint8_t)(seq >> 8);
    p[16] = (uint8_t)(seq >> 16), p[17] = (uint8_t)(seq >> 24);
    seq++;
  }
  k->stats.seq = seq;
  fs->consumer = fc + cnt;
  rs->producer = rp + cnt;
  k->stats.delivered += cnt;
  k->stats.dropped += n - cnt;
  return cnt;
}

uint32_t fk_transmit(int32_t id) {
  struct fake_kernel *k = get(id);
  struct fk_ring_shared *ts = k->ring[FK_TX].sh, *cs = k->ring[FK_COMP].sh;
  const struct xdp_desc *te = k->ring[FK_TX].entries;
  uint64_t *ce = k->ring[FK_COMP].entries;
  const uint32_t tmask = k->ring[FK_TX].mask, cmask = k->ring[FK_COMP].mask;
  const uint32_t csize = k->ring[FK_COMP].size;
  const uint32_t tc = ts->consumer, cp = cs->producer;
  const uint32_t avail = ts->producer - tc;
  const uint32_t room = csize - (cp - cs->consumer);
  const uint32_t cnt = avail < room ? avail : room;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < cnt; i++) {
    const struct xdp_desc *d = &te[(tc + i) & tmask];
    ce[(cp + i) & cmask] = d->addr;
    bytes += d->len;
  }
  ts->consumer = tc + cnt;
  cs->producer = cp + cnt;
  k->stats.transmitted += cnt;
  k->stats.transmitted_bytes += bytes;
  return cnt;
}

uint8_t *fk_umem(int32_t id) { return get(id)->umem; }
uint64_t fk_umem_size(int32_t id) { return get(id)->umem_size; }
struct fk_ring_shared *fk_ring_shared(int32_t id, uint32_t ring) {
  return get(id)->ring[ring & 3].sh;
}
void *fk_ring_entries(int32_t id, uint32_t ring) { return get(id)->ring[ring & 3].entries; }
uint32_t fk_ring_size(int32_t id, uint32_t ring) { return get(id)->ring[ring & 3].size; }
struct fk_stats *fk_stats(int32_t id) { return &get(id)->stats; }

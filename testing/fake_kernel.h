// The fake AF_XDP kernel of testing/fake_kernel.c: see there. Shared by bench/engine_loop.c (linked
// against build/libfakekernel.so) and testing/fake_kernel.ts (Deno.dlopen of the same library).
#ifndef BYPASSRT_FAKE_KERNEL_H
#define BYPASSRT_FAKE_KERNEL_H
#include <stdint.h>

// Ring numbers for the accessors.
#define FK_FILL 0
#define FK_COMP 1
#define FK_RX 2
#define FK_TX 3

// Shared part of a ring: each index on its own cache line, like the kernel's mmap layout.
struct fk_ring_shared {
  _Alignas(64) uint32_t producer;
  _Alignas(64) uint32_t consumer;
  _Alignas(64) uint32_t flags;
};

// Counters; u64 each (TS reads them as two u32 words), then the next sequence number.
struct fk_stats {
  uint64_t delivered;         // packets put on RX
  uint64_t dropped;           // packets deliver() was asked for but could not deliver
  uint64_t transmitted;       // packets moved from TX to COMPLETION
  uint64_t transmitted_bytes; // sum of their descriptor lengths
  uint32_t seq;               // sequence number stamped into the next delivered packet
  uint32_t pad;
};

// Kernels are named by a small integer id (so the hot calls take only u32 arguments).
int32_t fk_create(uint32_t frames, uint32_t frame_size, uint32_t rx_size, uint32_t tx_size,
                  uint32_t start_index);
void fk_destroy(int32_t id);
uint32_t fk_deliver(int32_t id, uint32_t n, uint32_t len);
uint32_t fk_transmit(int32_t id);

uint8_t *fk_umem(int32_t id);
uint64_t fk_umem_size(int32_t id);
struct fk_ring_shared *fk_ring_shared(int32_t id, uint32_t ring);
void *fk_ring_entries(int32_t id, uint32_t ring);
uint32_t fk_ring_size(int32_t id, uint32_t ring);
struct fk_stats *fk_stats(int32_t id);

#endif

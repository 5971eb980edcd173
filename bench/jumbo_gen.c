// Jumbo-frame generator for bench/fwd_jumbo.ts: sends one UDP/IPv4 frame of SIZE bytes to DST_MAC
// out of IFACE as fast as AF_PACKET sendmmsg allows (batches of 64), for SECONDS seconds, then
// prints {"sent": N}. The live-frames XDP generator (bench/xdp_gen.c) cannot: the kernel refuses
// BPF_PROG_RUN live frames larger than a page. Run it in a namespace of the benchmark's own.
//
//   jumbo_gen IFACE DST_MAC SIZE SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: jumbo_gen IFACE DST_MAC SIZE SECONDS\n");
    return 2;
  }
  const char *iface = argv[1];
  unsigned m[6];
  if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
    fprintf(stderr, "jumbo_gen: bad MAC %s\n", argv[2]);
    return 2;
  }
  int size = atoi(argv[3]);
  double seconds = atof(argv[4]);
  if (size < 60 || size > 9014) {
    fprintf(stderr, "jumbo_gen: SIZE must be 60..9014\n");
    return 2;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) {
    perror("jumbo_gen: socket");
    return 1;
  }
  struct sockaddr_ll sll = {0};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)if_nametoindex(iface);
  sll.sll_protocol = htons(ETH_P_ALL);
  if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
    perror("jumbo_gen: bind");
    return 1;
  }
  static uint8_t f[9014];
  for (int i = 0; i < 6; i++) f[i] = (uint8_t)m[i];
  uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x99};
  memcpy(f + 6, src, 6);
  f[12] = 0x08, f[13] = 0x00;
  uint8_t *ip = f + 14;
  int iplen = size - 14, udplen = iplen - 20;
  ip[0] = 0x45, ip[2] = iplen >> 8, ip[3] = iplen & 0xff, ip[6] = 0x40, ip[8] = 64, ip[9] = 17;
  ip[12] = 10, ip[13] = 0, ip[14] = 0, ip[15] = 2, ip[16] = 10, ip[17] = 0, ip[18] = 0, ip[19] = 1;
  uint16_t c = csum(ip, 20);
  ip[10] = c >> 8, ip[11] = c & 0xff;
  uint8_t *udp = ip + 20;
  udp[0] = 0x4e, udp[1] = 0x20, udp[2] = 0x23, udp[3] = 0x28; // 20000 -> 9000
  udp[4] = udplen >> 8, udp[5] = udplen & 0xff;             // checksum 0: none
  for (int i = 8; i < udplen; i++) udp[i] = (uint8_t)(i * 7);
  struct iovec iov = {f, (size_t)size};
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof(msgs));
  for (int i = 0; i < BATCH; i++) msgs[i].msg_hdr.msg_iov = &iov, msgs[i].msg_hdr.msg_iovlen = 1;
  uint64_t sent = 0;
  double end = now() + seconds;
  while (now() < end) {
    int r = sendmmsg(fd, msgs, BATCH, 0);
    if (r > 0) sent += (uint64_t)r;
    else if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
      perror("jumbo_gen: sendmmsg");
      return 1;
    }
  }
  printf("{\"sent\": %llu}\n", (unsigned long long)sent);
  return 0;
}

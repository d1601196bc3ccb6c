// The DPDK peer of router.bench.mjs: DPDK's DIR-24-8 tables on the same routes and addresses as gnet.
// Usage: rte-lpm-peer <EAL args> -- lpm|fib ROUTES ADDRS REPS
//   lpm: rte_lpm (lookups with rte_lpm_lookup_bulk, rte_lpm_lookupx4 and rte_lpm_lookup); its rule
//        table makes each add linear in the routes of that length, so a full table loads in minutes.
//   fib: rte_fib with the DIR24_8 algorithm and 4-byte entries (rte_fib_lookup_bulk); loads in seconds.
//   ROUTES: "a.b.c.d/len nexthop" lines; ADDRS: u32 addresses (host byte order), raw.
// Prints one JSON line: load time, best-of-REPS lookup rates (millions per second), and the sum of
// nexthop + 1 over matched addresses, which the bench compares with gnet's answers.
#include <rte_eal.h>
#include <rte_fib.h>
#include <rte_lpm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  int used = rte_eal_init(argc, argv);
  if (used < 0) return fprintf(stderr, "rte_eal_init failed\n"), 1;
  argc -= used;
  argv += used;
  if (argc < 5) return fprintf(stderr, "usage: rte-lpm-peer <EAL args> -- lpm|fib ROUTES ADDRS REPS\n"), 2;
  int useFib = strcmp(argv[1], "fib") == 0;
  int reps = atoi(argv[4]);
  struct rte_lpm* lpm = NULL;
  struct rte_fib* fib = NULL;
  if (useFib) {
    struct rte_fib_conf conf = {.type = RTE_FIB_DIR24_8, .default_nh = 0, .max_routes = 2000000};
    conf.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
    conf.dir24_8.num_tbl8 = 1 << 14;
    fib = rte_fib_create("bench", SOCKET_ID_ANY, &conf);
  } else {
    struct rte_lpm_config conf = {.max_rules = 2000000, .number_tbl8s = 1 << 14, .flags = 0};
    lpm = rte_lpm_create("bench", SOCKET_ID_ANY, &conf);
  }
  if (lpm == NULL && fib == NULL) return fprintf(stderr, "table create failed\n"), 1;

  FILE* f = fopen(argv[2], "r");
  if (f == NULL) return perror(argv[2]), 1;
  unsigned a, b, c, d, len, hop, routes = 0;
  double t0 = now();
  while (fscanf(f, "%u.%u.%u.%u/%u %u", &a, &b, &c, &d, &len, &hop) == 6) {
    uint32_t ip = (a << 24) | (b << 16) | (c << 8) | d;
    // fib: next hop + 1, so that 0 (default_nh) means "no route".
    int rc = useFib ? rte_fib_add(fib, ip, (uint8_t)len, hop + 1) : rte_lpm_add(lpm, ip, (uint8_t)len, hop);
    if (rc != 0) return fprintf(stderr, "add failed at route %u\n", routes), 1;
    routes++;
  }
  double loadS = now() - t0;
  fclose(f);

  f = fopen(argv[3], "rb");
  if (f == NULL) return perror(argv[3]), 1;
  fseek(f, 0, SEEK_END);
  size_t n = (size_t)ftell(f) / 4 & ~(size_t)3;
  fseek(f, 0, SEEK_SET);
  uint32_t* addrs = malloc(n * 4);
  uint32_t* hops = malloc(n * 4);
  uint64_t* hops64 = malloc(n * 8);
  if (fread(addrs, 4, n, f) != n) return fprintf(stderr, "short read\n"), 1;
  fclose(f);

  double bulk = 1e30, x4 = 1e30, single = 1e30;
  unsigned long long sum = 0, sumX4 = 0, sumSingle = 0;
  for (int r = 0; r < reps; r++) {
    t0 = now();
    if (useFib)
      rte_fib_lookup_bulk(fib, addrs, hops64, (int)n);
    else
      for (size_t i = 0; i < n; i += 64) rte_lpm_lookup_bulk(lpm, addrs + i, hops + i, n - i < 64 ? n - i : 64);
    double t = now() - t0;
    if (t < bulk) bulk = t;
  }
  for (size_t i = 0; i < n; i++) {
    if (useFib)
      sum += hops64[i];
    else if (hops[i] & RTE_LPM_LOOKUP_SUCCESS)
      sum += (hops[i] & 0x00ffffff) + 1;
  }
  if (!useFib) {
    for (int r = 0; r < reps; r++) {
      t0 = now();
      for (size_t i = 0; i < n; i += 4) rte_lpm_lookupx4(lpm, _mm_loadu_si128((const __m128i*)(addrs + i)), hops + i, UINT32_MAX);
      double t = now() - t0;
      if (t < x4) x4 = t;
    }
    for (size_t i = 0; i < n; i++)
      if (hops[i] != UINT32_MAX) sumX4 += hops[i] + 1;
    for (int r = 0; r < reps; r++) {
      unsigned long long s = 0;
      t0 = now();
      for (size_t i = 0; i < n; i++) {
        uint32_t h;
        if (rte_lpm_lookup(lpm, addrs[i], &h) == 0) s += h + 1;
      }
      double t = now() - t0;
      if (t < single) single = t;
      sumSingle = s;
    }
    if (sumX4 != sum || sumSingle != sum) return fprintf(stderr, "rte_lpm lookup functions disagree\n"), 1;
  }
  printf("{\"routes\":%u,\"lookups\":%zu,\"loadMs\":%.1f,\"bulkMlps\":%.2f,\"x4Mlps\":%.2f,\"singleMlps\":%.2f,\"sum\":%llu}\n",
         routes, n, loadS * 1e3, n / bulk / 1e6, useFib ? 0 : n / x4 / 1e6, useFib ? 0 : n / single / 1e6, sum);
  return 0;
}

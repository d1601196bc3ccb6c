// acl.cu: batch 5-tuple classification, first match wins, over the flattened decision trees built
// by src/classifier.ts (the same walk as classifyTables there; see AclTables for the layout).
//
//   tree   internal node at p >= 0: header word | shift<<2 | mask<<7, then children; p < 0: the
//          leaf at leaves[~p] (leaves[0] is the empty leaf)
//   leaves rule count, then per rule 8 words: id, src lo/hi, dst lo/hi, sport lo<<16|hi,
//          dport lo<<16|hi, proto value|mask<<8
//   roots  nMain, nFragment, then (root pointer, lowest rule id) per tree, each list by lowest id
//   keys   4 words per packet: src, dst, sport<<16|dport, proto (| 0x100 for a non-first fragment)
#include "gnet_kernel.h"

#define ACL_KEY_FRAGMENT 0x100u
#define ACL_NONE 0x7fffffff

/** One thread per packet: out[i] = index of the first rule matching keys[i], or -1. */
extern "C" __global__ void gnet_acl_classify(const int32_t* __restrict__ tree, const uint32_t* __restrict__ leaves,
                                             const int32_t* __restrict__ roots, const uint32_t* __restrict__ keys,
                                             int32_t* __restrict__ out, uint32_t n) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const uint32_t* key = keys + 4u * i;
  uint32_t src = key[0], dst = key[1], ports = key[2], proto = key[3];
  uint32_t sp = ports >> 16, dp = ports & 0xffffu;
  int32_t nMain = roots[0], nFrag = roots[1];
  int32_t first = (proto & ACL_KEY_FRAGMENT) ? nMain : 0;
  int32_t end = (proto & ACL_KEY_FRAGMENT) ? nMain + nFrag : nMain;
  int32_t best = ACL_NONE;
  for (int32_t t = first; t < end; t++) {
    if (roots[3 + 2 * t] >= best) break;
    int32_t p = roots[2 + 2 * t];
    while (p >= 0) {
      uint32_t h = (uint32_t)tree[p];
      p = tree[p + 1 + (int32_t)((key[h & 3u] >> ((h >> 2) & 31u)) & (h >> 7))];
    }
    const uint32_t* leaf = leaves + ~p;
    const uint32_t* rule = leaf + 1;
    const uint32_t* end = rule + 8u * leaf[0];
    for (; rule < end; rule += 8) {
      int32_t r = (int32_t)rule[0];
      if (r >= best) break;
      if (src < rule[1] || src > rule[2] || dst < rule[3] || dst > rule[4]) continue;
      uint32_t s = rule[5];
      if (sp < (s >> 16) || sp > (s & 0xffffu)) continue;
      uint32_t d = rule[6];
      if (dp < (d >> 16) || dp > (d & 0xffffu)) continue;
      uint32_t pm = rule[7];
      if ((proto & (pm >> 8)) != (pm & 0xffu)) continue;
      best = r;
      break;
    }
  }
  out[i] = best == ACL_NONE ? -1 : best;
}

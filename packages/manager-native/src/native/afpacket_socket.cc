// AF_PACKET I/O with mmap'ed rings (see the kernel's Documentation/networking/packet_mmap.rst):
// RX is a TPACKET_V3 block ring (the kernel fills variable-size frames into blocks and retires a block
// when it is full or its timer runs out), TX is a ring of fixed slots that one send() flushes.
#include "afpacket_socket.h"

#ifdef __linux__

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// Newer than some distributions' UAPI headers (Linux 6.2); older kernels refuse it with EINVAL.
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

namespace gnet {
namespace afpacket {
namespace {

// Frame data in a V3 slot starts right after the aligned header (no PACKET_TX_HAS_OFF).
constexpr uint32_t kSlotDataOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));
constexpr uint32_t kTxMinBlock = 1u << 16;
// txCopy: frames per sendmmsg() call.
constexpr uint32_t kCopyChunk = 256;

const char* errnoName(int err) {
  switch (err) {
    case EPERM:
      return "EPERM";
    case EACCES:
      return "EACCES";
    case ENOENT:
      return "ENOENT";
    case ENODEV:
      return "ENODEV";
    case ENXIO:
      return "ENXIO";
    case EINVAL:
      return "EINVAL";
    case ENOMEM:
      return "ENOMEM";
    case EBUSY:
      return "EBUSY";
    case EBADF:
      return "EBADF";
    case EFAULT:
      return "EFAULT";
    case EMSGSIZE:
      return "EMSGSIZE";
    case ENETDOWN:
      return "ENETDOWN";
    case ENOBUFS:
      return "ENOBUFS";
    case ENOPROTOOPT:
      return "ENOPROTOOPT";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    case EALREADY:
      return "EALREADY";
    case ENAMETOOLONG:
      return "ENAMETOOLONG";
    default:
      return "EIO";
  }
}

[[noreturn]] void fail(int err, const std::string& what) {
  throw Error(errnoName(err), what + ": " + std::strerror(err));
}

bool isPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint32_t roundUpPow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// Runs a scope in another network namespace on the calling thread only, then returns to the original.
// Only socket() needs it: a socket keeps the namespace it was created in for its whole life.
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& ns) {
    if (ns.empty()) return;
    const std::string path = ns.find('/') == std::string::npos ? "/run/netns/" + ns : ns;
    int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      int e = errno;
      if (e == ENOENT)
        throw Error("ENOENT", "network namespace '" + ns + "' not found (" + path + "): create it with `ip netns add " +
                                  ns + "` or pass a path to a namespace file");
      fail(e, "cannot open network namespace " + path);
    }
    saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_ < 0) {
      int e = errno;
      ::close(target);
      fail(e, "cannot open this thread's network namespace (/proc/thread-self/ns/net)");
    }
    if (::setns(target, CLONE_NEWNET) != 0) {
      int e = errno;
      ::close(target);
      ::close(saved_);
      saved_ = -1;
      if (e == EPERM) throw Error("EPERM", "entering network namespace '" + ns + "' needs CAP_SYS_ADMIN: run as root");
      fail(e, "cannot enter network namespace " + path);
    }
    ::close(target);
  }
  ~NetnsScope() {
    if (saved_ < 0) return;
    if (::setns(saved_, CLONE_NEWNET) != 0) {
      // The thread would go on in the wrong namespace and every later socket would land there.
      std::fprintf(stderr, "gnet: cannot return to the original network namespace: %s\n", std::strerror(errno));
      std::abort();
    }
    ::close(saved_);
  }
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int saved_ = -1;
};

void validate(const Config& cfg) {
  const auto bad = [](const std::string& m) { throw Error("EINVAL", "AF_PACKET: " + m); };
  if (cfg.ifname.empty()) bad("an interface name is required");
  if (cfg.ifname.size() >= IFNAMSIZ)
    bad("interface name '" + cfg.ifname + "' is longer than " + std::to_string(IFNAMSIZ - 1) + " characters");
  if (!cfg.rx && !cfg.tx) bad("open the socket for rx, tx or both");
  const long page = ::sysconf(_SC_PAGESIZE);
  if (cfg.frameSize < 128 || cfg.frameSize % TPACKET_ALIGNMENT != 0)
    bad("frameSize must be a multiple of " + std::to_string(TPACKET_ALIGNMENT) + " and at least 128");
  if (cfg.rx) {
    if (!isPowerOfTwo(cfg.blockSize) || cfg.blockSize % page != 0)
      bad("ringBlockSize must be a power of two and a multiple of the page size (" + std::to_string(page) + ")");
    if (cfg.blockSize < cfg.frameSize) bad("ringBlockSize must be at least frameSize");
    if (cfg.blockCount == 0) bad("ringBlocks must be at least 1");
  }
  if (cfg.tx && cfg.txFrames == 0) bad("txFrames must be at least 1");
}

bool isVlanTagged(const uint8_t* frame) {
  const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
  return type == ETH_P_8021Q || type == ETH_P_8021AD;
}

}  // namespace

PacketSocket::PacketSocket(const Config& cfg) : ifname_(cfg.ifname) {
  validate(cfg);
  {
    NetnsScope inNamespace(cfg.netns);
    // Protocol 0: nothing is queued to the socket before its rings exist and bind() names the protocol.
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  }
  if (fd_ < 0) {
    int e = errno;
    if (e == EPERM || e == EACCES)
      throw Error("EPERM", "AF_PACKET on '" + ifname_ +
                               "' needs CAP_NET_RAW: run as root, or grant it to node with "
                               "`sudo setcap cap_net_raw+ep $(readlink -f $(which node))`");
    if (e == EAFNOSUPPORT) throw Error("EAFNOSUPPORT", "this kernel has no AF_PACKET support (CONFIG_PACKET)");
    fail(e, "AF_PACKET socket for '" + ifname_ + "'");
  }
  try {
    setup(cfg);
  } catch (...) {
    close();
    throw;
  }
}

PacketSocket::~PacketSocket() { close(); }

void PacketSocket::setup(const Config& cfg) {
  const std::string where = cfg.netns.empty() ? "this network namespace" : "network namespace '" + cfg.netns + "'";
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname_.c_str(), ifname_.size());
  if (::ioctl(fd_, SIOCGIFINDEX, &ifr) != 0) {
    int e = errno;
    if (e == ENODEV)
      throw Error("ENODEV", "AF_PACKET: no interface named '" + ifname_ + "' in " + where + " (see `ip link show`)");
    fail(e, "looking up interface '" + ifname_ + "'");
  }
  ifindex_ = ifr.ifr_ifindex;
  if (::ioctl(fd_, SIOCGIFMTU, &ifr) != 0) fail(errno, "reading the MTU of '" + ifname_ + "'");
  mtu_ = static_cast<uint32_t>(ifr.ifr_mtu);

  const auto setInt = [this](int level, int opt, int value, const char* what) {
    if (::setsockopt(fd_, level, opt, &value, sizeof(value)) != 0) fail(errno, std::string("AF_PACKET ") + what);
  };
  setInt(SOL_PACKET, PACKET_VERSION, TPACKET_V3, "PACKET_VERSION TPACKET_V3 (needs Linux >= 3.2; 4.11 for TX)");

  if (cfg.tx) {
    // Frames the kernel cannot send are skipped instead of stalling the ring (set before any ring exists).
    setInt(SOL_PACKET, PACKET_LOSS, 1, "PACKET_LOSS");
    if (cfg.qdiscBypass) setInt(SOL_PACKET, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
  }

  size_t rxLen = 0, txLen = 0;
  if (cfg.rx) {
    tpacket_req3 req{};
    req.tp_block_size = cfg.blockSize;
    req.tp_block_nr = cfg.blockCount;
    req.tp_frame_size = cfg.frameSize;
    req.tp_frame_nr = (cfg.blockSize / cfg.frameSize) * cfg.blockCount;
    req.tp_retire_blk_tov = cfg.retireTimeoutMs;
    if (::setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
      fail(errno, "AF_PACKET RX ring of " + std::to_string(cfg.blockCount) + " x " + std::to_string(cfg.blockSize) +
                      " bytes (try fewer or smaller blocks)");
    rxBlockSize_ = cfg.blockSize;
    rxBlocks_ = cfg.blockCount;
    rxLen = static_cast<size_t>(cfg.blockSize) * cfg.blockCount;
  }
  if (cfg.tx && cfg.txCopy) {
    txCopy_ = true;
    txMsgs_.resize(kCopyChunk);
    txIov_.resize(kCopyChunk);
    maxTxFrame_ = mtu_ + ETH_HLEN;
  } else if (cfg.tx) {
    txFrameSize_ = cfg.frameSize;
    txBlockSize_ = std::max(kTxMinBlock, roundUpPow2(cfg.frameSize));
    txFramesPerBlock_ = txBlockSize_ / txFrameSize_;
    const uint32_t blocks = (cfg.txFrames + txFramesPerBlock_ - 1) / txFramesPerBlock_;
    txFrames_ = blocks * txFramesPerBlock_;
    tpacket_req3 req{};
    req.tp_block_size = txBlockSize_;
    req.tp_block_nr = blocks;
    req.tp_frame_size = txFrameSize_;
    req.tp_frame_nr = txFrames_;
    if (::setsockopt(fd_, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) != 0)
      fail(errno, "AF_PACKET TX ring of " + std::to_string(txFrames_) + " x " + std::to_string(txFrameSize_) +
                      " bytes (needs Linux >= 4.11 for TPACKET_V3 TX)");
    txLen = static_cast<size_t>(txBlockSize_) * blocks;
    maxTxFrame_ = std::min(txFrameSize_ - kSlotDataOffset, mtu_ + ETH_HLEN);
  }

  mapLen_ = rxLen + txLen;
  if (mapLen_ != 0) {  // a copy-mode TX-only socket has no ring
    void* map = ::mmap(nullptr, mapLen_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, 0);
    if (map == MAP_FAILED) {
      mapLen_ = 0;
      fail(errno, "mapping the AF_PACKET rings");
    }
    map_ = static_cast<uint8_t*>(map);
  }
  if (cfg.rx) rxRing_ = map_;
  if (cfg.tx && !txCopy_) txRing_ = map_ + rxLen;

  // Until a fanout group is joined the socket would receive every frame by itself: keep it empty.
  const bool gate = cfg.rx && cfg.fanout;
  if (gate) {
    sock_filter dropAll{BPF_RET | BPF_K, 0, 0, 0};
    sock_fprog prog{1, &dropAll};
    if (::setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
      fail(errno, "AF_PACKET fanout gate filter");
  }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  // A TX-only socket binds with protocol 0, so the kernel never queues received frames to it.
  sll.sll_protocol = cfg.rx ? htons(ETH_P_ALL) : 0;
  sll.sll_ifindex = ifindex_;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) fail(errno, "binding to '" + ifname_ + "'");

  if (cfg.rx) {
    if (cfg.promisc) {
      packet_mreq mr{};
      mr.mr_ifindex = ifindex_;
      mr.mr_type = PACKET_MR_PROMISC;
      if (::setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
        fail(errno, "promiscuous mode on '" + ifname_ + "'");
    }
    // Linux >= 4.20. Where it is missing, receive() still skips PACKET_OUTGOING frames itself.
    int one = 1;
    (void)::setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
  }
  if (cfg.rx && cfg.fanout) joinFanout(cfg);
  if (gate) {
    int unused = 0;
    if (::setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) != 0)
      fail(errno, "AF_PACKET fanout gate filter");
  }
}

void PacketSocket::joinFanout(const Config& cfg) {
  uint32_t type = 0;
  switch (cfg.fanoutMode) {
    case FanoutMode::Hash:
      type = PACKET_FANOUT_HASH;
      break;
    case FanoutMode::LoadBalance:
      type = PACKET_FANOUT_LB;
      break;
    case FanoutMode::Cpu:
      type = PACKET_FANOUT_CPU;
      break;
    case FanoutMode::Rollover:
      type = PACKET_FANOUT_ROLLOVER;
      break;
    case FanoutMode::Random:
      type = PACKET_FANOUT_RND;
      break;
    case FanoutMode::QueueMapping:
      type = PACKET_FANOUT_QM;
      break;
  }
  // Hash over reassembled IP datagrams, so every fragment of one datagram lands on the same socket.
  if (cfg.fanoutMode == FanoutMode::Hash && cfg.fanoutDefrag) type |= PACKET_FANOUT_FLAG_DEFRAG;
  if (cfg.fanoutRollover && cfg.fanoutMode != FanoutMode::Rollover) type |= PACKET_FANOUT_FLAG_ROLLOVER;
  const bool unique = cfg.fanoutGroup < 0;
  if (unique) type |= PACKET_FANOUT_FLAG_UNIQUEID;
  const uint32_t id = unique ? 0 : static_cast<uint32_t>(cfg.fanoutGroup);

  // A fanout group has one receive hook, so the per-socket PACKET_IGNORE_OUTGOING does not apply to it:
  // ask for the group-wide flag, and fall back to filtering in receive() on kernels without it.
  uint32_t arg = id | (type | PACKET_FANOUT_FLAG_IGNORE_OUTGOING) << 16;
  int rc = ::setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg));
  if (rc != 0 && errno == EINVAL) {
    arg = id | type << 16;
    rc = ::setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg));
  }
  if (rc != 0) {
    int e = errno;
    if (e == EINVAL && !unique)
      throw Error("EINVAL", "AF_PACKET: cannot join fanout group " + std::to_string(id) + " on '" + ifname_ +
                                "': the group exists with another mode or flags, or on another interface");
    fail(e, "AF_PACKET fanout on '" + ifname_ + "'");
  }
  if (unique) {
    uint32_t val = 0;
    socklen_t len = sizeof(val);
    if (::getsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &val, &len) != 0) fail(errno, "reading the fanout group id");
    fanoutGroup_ = static_cast<int>(val & 0xffff);
  } else {
    fanoutGroup_ = static_cast<int>(id);
  }
}

RxResult PacketSocket::receive(const RxBatch& b) {
  RxResult r;
  if (rxRing_ == nullptr) return r;
  const size_t align = b.align == 0 ? 1 : b.align;
  const bool byFlit = b.flitLens != nullptr;
  // A flit-layout length is 16 bits wide.
  const uint32_t maxLen = byFlit ? 0xffff : UINT32_MAX;
  uint32_t n = 0;
  size_t pos = 0;
  while (n < b.maxFrames) {
    auto* block = reinterpret_cast<tpacket_block_desc*>(rxRing_ + static_cast<size_t>(rxBlock_) * rxBlockSize_);
    if ((__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
    const uint32_t numPkts = block->hdr.bh1.num_pkts;
    if (rxPktIndex_ == 0) rxPktOffset_ = block->hdr.bh1.offset_to_first_pkt;
    bool full = false;
    while (rxPktIndex_ < numPkts && n < b.maxFrames) {
      auto* hdr = reinterpret_cast<const tpacket3_hdr*>(reinterpret_cast<const uint8_t*>(block) + rxPktOffset_);
      const auto* sll = reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<const uint8_t*>(hdr) +
                                                             TPACKET_ALIGN(sizeof(tpacket3_hdr)));
      if (sll->sll_pkttype == PACKET_OUTGOING) {
        ++stats_.rxOutgoingSkipped;
      } else {
        const uint8_t* frame = reinterpret_cast<const uint8_t*>(hdr) + hdr->tp_mac;
        const uint32_t snap = hdr->tp_snaplen;
        // A tag the NIC stripped into metadata goes back into the frame: NFs see what was on the wire.
        const bool vlan = (hdr->tp_status & TP_STATUS_VLAN_VALID) != 0 && snap >= 2 * ETH_ALEN;
        const uint32_t len = snap + (vlan ? 4 : 0);
        const size_t at = (pos + align - 1) & ~(align - 1);
        if (at + len > b.dstLen || len > maxLen) {
          if (n != 0 && len <= maxLen) {
            full = true;  // resume with this frame on the next call
            break;
          }
          ++stats_.rxOversize;  // would not fit even an empty buffer
        } else {
          uint8_t* out = b.dst + at;
          if (vlan) {
            const uint16_t tpid =
                (hdr->tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? hdr->hv1.tp_vlan_tpid : ETH_P_8021Q;
            const uint16_t tci = hdr->hv1.tp_vlan_tci;
            std::memcpy(out, frame, 2 * ETH_ALEN);
            out[12] = static_cast<uint8_t>(tpid >> 8);
            out[13] = static_cast<uint8_t>(tpid);
            out[14] = static_cast<uint8_t>(tci >> 8);
            out[15] = static_cast<uint8_t>(tci);
            std::memcpy(out + 16, frame + 2 * ETH_ALEN, snap - 2 * ETH_ALEN);
          } else {
            std::memcpy(out, frame, snap);
          }
          if (byFlit) {
            const size_t fi = at >> 6;
            b.flitLens[fi] = static_cast<uint16_t>(len);
            b.tsSec[fi] = hdr->tp_sec;
            b.tsNsec[fi] = hdr->tp_nsec;
          } else {
            b.offsets[n] = static_cast<uint32_t>(at);
            b.lengths[n] = len;
            b.tsSec[n] = hdr->tp_sec;
            b.tsNsec[n] = hdr->tp_nsec;
          }
          ++n;
          pos = at + len;
          ++stats_.rxPackets;
          stats_.rxBytes += len;
          if (snap < hdr->tp_len) ++stats_.rxTruncated;
        }
      }
      rxPktOffset_ += hdr->tp_next_offset;
      ++rxPktIndex_;
    }
    if (full || rxPktIndex_ < numPkts) break;
    // Block consumed: hand it back to the kernel and move on.
    __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    rxBlock_ = rxBlock_ + 1 == rxBlocks_ ? 0 : rxBlock_ + 1;
    rxPktIndex_ = 0;
  }
  r.frames = n;
  r.bytes = (pos + align - 1) & ~(align - 1);
  return r;
}

uint8_t* PacketSocket::txSlot(uint32_t index) const {
  return txRing_ + static_cast<size_t>(index / txFramesPerBlock_) * txBlockSize_ +
         static_cast<size_t>(index % txFramesPerBlock_) * txFrameSize_;
}

bool PacketSocket::kick() {
  if (::send(fd_, nullptr, 0, MSG_DONTWAIT) >= 0) return true;
  const int e = errno;
  // Transient (no buffer, link down, interrupted): frames stay queued and go out with the next kick.
  if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR || e == ENETDOWN || e == ENXIO) {
    ++stats_.txKickErrors;
    return false;
  }
  fail(e, "AF_PACKET send on '" + ifname_ + "'");
}

bool PacketSocket::txFrameValid(const uint8_t* src, size_t srcLen, size_t off, uint32_t len) const {
  return off <= srcLen && len <= srcLen - off && len >= ETH_HLEN &&
         (txCopy_ || len <= txFrameSize_ - kSlotDataOffset) && len <= maxTxFrame_ + (isVlanTagged(src + off) ? 4u : 0u);
}

TxResult PacketSocket::transmitCopy(const TxBatch& b) {
  TxResult r;
  const bool byFlit = b.flitLens != nullptr;
  size_t cursor = b.flitStart;
  while (r.consumed < b.count) {
    // Gather a chunk of valid frames (invalid ones are consumed and counted on the way).
    uint32_t n = 0;
    while (n < kCopyChunk && r.consumed < b.count) {
      size_t off;
      uint32_t len;
      if (byFlit) {
        if (cursor >= b.flitEnd) break;
        off = cursor;
        len = b.flitLens[cursor >> 6];
        cursor += std::max<size_t>(64, (static_cast<size_t>(len) + 63) & ~static_cast<size_t>(63));
      } else {
        off = b.offsets[r.consumed];
        len = b.lengths[r.consumed];
      }
      ++r.consumed;
      if (!txFrameValid(b.src, byFlit ? std::min(b.flitEnd, b.srcLen) : b.srcLen, off, len)) {
        ++stats_.txInvalid;
        continue;
      }
      txIov_[n].iov_base = const_cast<uint8_t*>(b.src + off);
      txIov_[n].iov_len = len;
      msghdr& h = txMsgs_[n].msg_hdr;
      h = msghdr{};
      h.msg_iov = &txIov_[n];
      h.msg_iovlen = 1;
      ++n;
    }
    if (n == 0) break;
    // The kernel stops at the first frame it refuses. ENOBUFS refuses that frame alone: it is
    // dropped and the rest go on. A full send buffer or a link that is down refuses the rest as well:
    // they are dropped together, not tried one syscall each. EINTR tries the frame again.
    for (uint32_t at = 0; at < n;) {
      const int sent = ::sendmmsg(fd_, txMsgs_.data() + at, n - at, MSG_DONTWAIT);
      if (sent > 0) {
        for (int k = 0; k < sent; ++k) stats_.txBytes += txIov_[at + k].iov_len;
        stats_.txPackets += static_cast<uint64_t>(sent);
        r.queued += static_cast<uint32_t>(sent);
        at += static_cast<uint32_t>(sent);
        continue;
      }
      const int e = errno;
      if (e == EINTR) continue;
      if (e == ENOBUFS) {
        ++stats_.txDropped;
        ++at;
        continue;
      }
      if (e != EAGAIN && e != EWOULDBLOCK && e != ENETDOWN && e != ENXIO)
        fail(e, "AF_PACKET send on '" + ifname_ + "'");
      stats_.txDropped += n - at;
      break;
    }
  }
  return r;
}

TxResult PacketSocket::transmit(const TxBatch& b) {
  if (txCopy_) return transmitCopy(b);
  if (txRing_ == nullptr) throw Error("EINVAL", "AF_PACKET socket on '" + ifname_ + "' was not opened for tx");
  TxResult r;
  const bool byFlit = b.flitLens != nullptr;
  size_t cursor = b.flitStart;  // flit layout: where the next frame starts
  uint32_t pending = 0;         // queued since the last kick
  bool retried = false;
  bool ringFull = false;
  while (r.consumed < b.count) {
    size_t off;
    uint32_t len;
    size_t next = 0;
    if (byFlit) {
      if (cursor >= b.flitEnd) break;
      off = cursor;
      len = b.flitLens[cursor >> 6];
      next = cursor + std::max<size_t>(64, (static_cast<size_t>(len) + 63) & ~static_cast<size_t>(63));
    } else {
      off = b.offsets[r.consumed];
      len = b.lengths[r.consumed];
    }
    if (!txFrameValid(b.src, byFlit ? std::min(b.flitEnd, b.srcLen) : b.srcLen, off, len)) {
      ++stats_.txInvalid;
      ++r.consumed;
      cursor = next;
      continue;
    }
    uint8_t* slot = txSlot(txHead_);
    auto* hdr = reinterpret_cast<tpacket3_hdr*>(slot);
    if (__atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) {
      // Still in flight: push out what is queued once, which often completes slots, then look again.
      if (!retried) {
        retried = true;
        kick();
        pending = 0;
        continue;
      }
      ringFull = true;
      break;
    }
    std::memcpy(slot + kSlotDataOffset, b.src + off, len);
    hdr->tp_len = len;
    hdr->tp_snaplen = len;
    hdr->tp_next_offset = 0;
    __atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    txHead_ = txHead_ + 1 == txFrames_ ? 0 : txHead_ + 1;
    ++pending;
    ++r.consumed;
    ++r.queued;
    ++stats_.txPackets;
    stats_.txBytes += len;
    cursor = next;
  }
  if (pending != 0) kick();
  if (ringFull) {
    if (!byFlit) {
      stats_.txRingFull += b.count - r.consumed;
    } else {
      // Count the frames left in the region (count may be a mere upper bound here).
      for (uint32_t k = r.consumed; k < b.count && cursor < b.flitEnd; ++k) {
        ++stats_.txRingFull;
        cursor += std::max<size_t>(64, (static_cast<size_t>(b.flitLens[cursor >> 6]) + 63) & ~static_cast<size_t>(63));
      }
    }
  }
  return r;
}

bool PacketSocket::rxReady() const {
  if (rxRing_ == nullptr) return false;
  const auto* block =
      reinterpret_cast<const tpacket_block_desc*>(rxRing_ + static_cast<size_t>(rxBlock_) * rxBlockSize_);
  return (__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

bool PacketSocket::wait(int timeoutMs) {
  if (rxRing_ == nullptr || rxReady()) return rxReady();
  pollfd p{fd_, POLLIN | POLLERR, 0};
  if (::poll(&p, 1, timeoutMs) < 0 && errno != EINTR) fail(errno, "poll on '" + ifname_ + "'");
  if ((p.revents & POLLERR) != 0) {
    // A link flap leaves ENETDOWN pending on the socket; reading it clears it, or every later poll
    // would return at once. Receiving resumes by itself when the link comes back.
    int err = 0;
    socklen_t len = sizeof(err);
    (void)::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  }
  return rxReady();
}

void PacketSocket::readKernelStats() {
  if (fd_ < 0 || rxRing_ == nullptr) return;
  tpacket_stats_v3 st{};
  socklen_t len = sizeof(st);
  if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) fail(errno, "PACKET_STATISTICS");
  stats_.kernelPackets += st.tp_packets;
  stats_.kernelDrops += st.tp_drops;
  stats_.kernelFreezes += st.tp_freeze_q_cnt;
}

Stats PacketSocket::stats() {
  readKernelStats();
  return stats_;
}

void PacketSocket::close() {
  if (fd_ < 0) return;
  try {
    readKernelStats();  // keep the final totals readable after close
  } catch (const Error&) {
  }
  if (map_ != nullptr) ::munmap(map_, mapLen_);
  map_ = rxRing_ = txRing_ = nullptr;
  mapLen_ = 0;
  ::close(fd_);
  fd_ = -1;
}

}  // namespace afpacket
}  // namespace gnet

#else  // !__linux__

namespace gnet {
namespace afpacket {

// AF_PACKET exists only on Linux; elsewhere the class is present so the addon builds and says why.
PacketSocket::PacketSocket(const Config&) { throw Error("ENOSYS", "AF_PACKET needs Linux"); }
PacketSocket::~PacketSocket() = default;
RxResult PacketSocket::receive(const RxBatch&) { return RxResult(); }
TxResult PacketSocket::transmit(const TxBatch&) { return TxResult(); }
bool PacketSocket::rxReady() const { return false; }
bool PacketSocket::wait(int) { return false; }
Stats PacketSocket::stats() { return stats_; }
void PacketSocket::close() {}

}  // namespace afpacket
}  // namespace gnet

#endif

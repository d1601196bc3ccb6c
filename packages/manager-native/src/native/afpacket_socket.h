// One AF_PACKET socket bound to one interface: a TPACKET_V3 RX block ring and a TX frame ring, both
// mmap'ed, moved in batches. No Node-API here: afpacket.cc wraps it for JavaScript.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef __linux__
#include <sys/socket.h>
#include <sys/uio.h>
#endif

namespace gnet {
namespace afpacket {

// How a fanout group spreads packets over its sockets (PACKET_FANOUT_*).
enum class FanoutMode { Hash, LoadBalance, Cpu, Rollover, Random, QueueMapping };

struct Config {
  std::string ifname;
  // Network namespace the socket is created in: a name under /run/netns, or a path to a netns
  // file. Empty: the calling thread's namespace.
  std::string netns;
  bool rx = true;
  bool tx = true;
  bool promisc = true;
  bool fanout = false;
  // Group to join or create; -1 asks the kernel for a unique new id (PACKET_FANOUT_FLAG_UNIQUEID).
  int fanoutGroup = -1;
  FanoutMode fanoutMode = FanoutMode::Hash;
  bool fanoutDefrag = true;
  bool fanoutRollover = false;
  // Many small blocks rather than a few big ones: with sparse traffic every block retires after
  // retireTimeoutMs, so the block count bounds how long the reader may stall before drops.
  uint32_t blockSize = 1u << 18;  // RX ring block (power of two, page multiple)
  uint32_t blockCount = 64;
  uint32_t retireTimeoutMs = 1;  // the kernel hands a partly filled block over after this
  uint32_t frameSize = 2048;     // TX slot size, header included (multiple of 16)
  uint32_t txFrames = 1024;
  bool qdiscBypass = false;
  // Transmit with sendmmsg() from the caller's memory instead of through a TX ring: the kernel copies
  // each frame into a linear skb. Cheaper on veth (a TX ring's frames are zero-copy page frags that
  // veth must copy into freshly allocated pages); refused frames are dropped, not kept queued.
  bool txCopy = false;
};

// Monotonic counters since open. The kernel's PACKET_STATISTICS reset on read, so they are summed here.
struct Stats {
  uint64_t rxPackets = 0;          // frames copied out to the caller
  uint64_t rxBytes = 0;            // their bytes (VLAN tag re-inserted where the kernel stripped it)
  uint64_t rxOutgoingSkipped = 0;  // our own or other local transmissions seen on the ring
  uint64_t rxTruncated = 0;        // frames longer than a ring block, delivered cut short
  uint64_t rxOversize = 0;         // frames larger than the caller's whole buffer, dropped
  uint64_t kernelPackets = 0;      // tp_packets: frames the kernel passed to this socket
  uint64_t kernelDrops = 0;        // tp_drops: frames lost because the ring was full
  uint64_t kernelFreezes = 0;      // tp_freeze_q_cnt: times the ring was full
  uint64_t txPackets = 0;          // frames queued on the TX ring
  uint64_t txBytes = 0;
  uint64_t txInvalid = 0;     // frames refused before queuing: out of bounds, runt, above MTU
  uint64_t txRingFull = 0;    // frames refused because every TX slot was still in flight
  uint64_t txKickErrors = 0;  // transient send() failures (ENOBUFS, EAGAIN); the frames stay queued
  uint64_t txDropped = 0;     // txCopy: frames the kernel refused (no buffers, link down), dropped
};

// Where receive() copies frames: back to back into dst, each starting on an `align` boundary. Each
// frame's length and receive time go either to index i for the i-th frame (offsets/lengths), or, in
// flit layout (flitLens set, align 64), to index o / 64 for the frame at byte o of dst.
struct RxBatch {
  uint8_t* dst = nullptr;
  size_t dstLen = 0;
  uint32_t maxFrames = 0;
  uint32_t align = 1;  // power of two
  uint32_t* offsets = nullptr;
  uint32_t* lengths = nullptr;
  uint16_t* flitLens = nullptr;
  uint32_t* tsSec = nullptr;
  uint32_t* tsNsec = nullptr;
};

struct RxResult {
  uint32_t frames = 0;
  size_t bytes = 0;  // end of the last frame, rounded up to align
};

// Frames to transmit: frame i is src[offsets[i], offsets[i] + lengths[i]); or, in flit layout
// (flitLens set), the frames of src[flitStart, flitEnd) with the frame at byte o (a multiple of 64)
// flitLens[o / 64] bytes long and the next one at the following 64-byte boundary.
struct TxBatch {
  const uint8_t* src = nullptr;
  size_t srcLen = 0;
  uint32_t count = 0;  // frames at most
  const uint32_t* offsets = nullptr;
  const uint32_t* lengths = nullptr;
  const uint16_t* flitLens = nullptr;
  size_t flitStart = 0;
  size_t flitEnd = 0;
};

struct TxResult {
  uint32_t consumed = 0;  // frames taken from the front: queued, or refused as invalid
  uint32_t queued = 0;
};

// A failure with an errno-style code ("EPERM", "ENODEV", ...) and a message that says what to do.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

class PacketSocket {
 public:
  explicit PacketSocket(const Config& cfg);
  ~PacketSocket();
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;

  // Copies up to maxFrames received frames out of the ring. Never blocks.
  RxResult receive(const RxBatch& batch);
  // Queues the batch on the TX ring and kicks the kernel once; stops early only when the ring is full.
  TxResult transmit(const TxBatch& batch);
  // True when a retired block is waiting, i.e. receive() would return frames.
  bool rxReady() const;
  // Blocks up to timeoutMs (-1: forever) until frames can be received; returns rxReady().
  bool wait(int timeoutMs);
  Stats stats();
  void close();

  bool closed() const { return fd_ < 0; }
  int fd() const { return fd_; }
  int ifindex() const { return ifindex_; }
  uint32_t mtu() const { return mtu_; }
  // The fanout group joined, or -1.
  int fanoutGroup() const { return fanoutGroup_; }
  // Longest frame transmit() accepts (without an 802.1Q tag; tagged frames may be 4 bytes longer).
  uint32_t maxTxFrame() const { return maxTxFrame_; }

 private:
  void setup(const Config& cfg);
  void joinFanout(const Config& cfg);
  void readKernelStats();
  bool kick();
  TxResult transmitCopy(const TxBatch& batch);
  uint8_t* txSlot(uint32_t index) const;
  bool txFrameValid(const uint8_t* src, size_t srcLen, size_t off, uint32_t len) const;

  std::string ifname_;
  int fd_ = -1;
  int ifindex_ = 0;
  uint32_t mtu_ = 0;
  int fanoutGroup_ = -1;
  uint32_t maxTxFrame_ = 0;

  uint8_t* map_ = nullptr;
  size_t mapLen_ = 0;
  // RX ring walk state: current block, and the next packet inside it when a batch stopped mid-block.
  uint8_t* rxRing_ = nullptr;
  uint32_t rxBlockSize_ = 0;
  uint32_t rxBlocks_ = 0;
  uint32_t rxBlock_ = 0;
  uint32_t rxPktIndex_ = 0;
  uint32_t rxPktOffset_ = 0;
  // TX ring: fixed-size slots, filled in order.
  uint8_t* txRing_ = nullptr;
  uint32_t txBlockSize_ = 0;
  uint32_t txFrameSize_ = 0;
  uint32_t txFramesPerBlock_ = 0;
  uint32_t txFrames_ = 0;
  uint32_t txHead_ = 0;
  // txCopy: one message per frame, pointing into the caller's memory, handed to sendmmsg() in chunks.
  bool txCopy_ = false;
#ifdef __linux__
  std::vector<mmsghdr> txMsgs_;
  std::vector<iovec> txIov_;
#endif

  Stats stats_;
};

}  // namespace afpacket
}  // namespace gnet

/**
 * The ESP tunnel-mode gateway (RFC 4303) on batches, independent of where the crypto runs:
 * {@link EspGateway.prepare} lays out each packet (outbound: outer IPv4 + ESP header + IV, the inner
 * packet moved behind them, padding and trailer; inbound: SA by SPI, anti-replay pre-check) and
 * records one crypto job per packet; a back end then encrypts+MACs or verifies+decrypts the jobs in
 * place (OpenSSL through the addon, node:crypto, or kernels/esp.cu); {@link EspGateway.finish}
 * applies the results (anti-replay window update, trailer checks, inner packet moved to the front,
 * actions and counters). All state lives in typed arrays; nothing is allocated per packet.
 *
 * Both directions shift the inner packet by 36 bytes. Those shifts are gathered and done in one
 * native `memmove` call per batch ({@link moveRanges}): in the embedded manager's shared pool V8's
 * own `copyWithin` copies byte by byte when source and destination differ in alignment mod 8, as a
 * 36-byte shift does (about 2.5 bytes per ns), which cost more than the crypto at 512 bytes.
 *
 * MTU policy: an outbound packet whose outer IPv4 packet would exceed `mtu` is dropped and counted
 * (`mtu_exceeded`); gnet does not fragment. The outer header has DF clear, TTL 64, the inner TOS,
 * and an id from a per-instance counter. Sequence numbers are per SA and per NF instance, so an
 * outbound SA must be handled by one instance.
 * @module
 */
import { moveRanges } from '@gnet/manager-native';
import { Action, type PacketBatch } from '@gnet/nflib';
import type { IpsecConfig, SaConfig } from './config.js';

/** Bytes of the ESP header plus the AES-CTR IV: SPI (4), sequence number (4), IV (8). */
export const ESP_HEADER_BYTES = 16;
/** Bytes of the HMAC-SHA1-96 ICV. */
export const ICV_BYTES = 12;
/** IP protocol number of ESP. */
export const IPPROTO_ESP = 50;
/** Bytes an outbound packet grows by at most (outer IPv4 20, ESP+IV 16, pad 3, trailer 2, ICV 12). */
export const ESP_OVERHEAD_MAX = 20 + ESP_HEADER_BYTES + 3 + 2 + ICV_BYTES;

const ETH = 14;
const SEQ_MAX = 0xffffffff;

/** Global counters (names in stats), in this order, followed by per-SA counters. */
export const GLOBAL_COUNTERS = [
  'out_encrypted',
  'in_decrypted',
  'bypass',
  'non_ipv4',
  'mtu_exceeded',
  'seq_exhausted',
  'out_malformed',
  'in_malformed',
  'in_fragment',
  'in_unknown_spi',
  'in_replay',
  'in_auth_failed',
  'in_bad_padding',
  'in_bad_next_header',
  'crypto_error',
] as const;
const C = Object.fromEntries(GLOBAL_COUNTERS.map((n, i) => [n, i])) as Record<(typeof GLOBAL_COUNTERS)[number], number>;
const MAX_COUNTERS = 64;

const NONE = 0;
const ENCRYPT = 1;
const DECRYPT = 2;

/**
 * The crypto jobs of one batch (index = packet of the batch), written by {@link EspGateway.prepare},
 * done by a crypto back end, read by {@link EspGateway.finish}. One per batch in flight.
 */
export class EspJobs {
  /** Combined SA index of packet i's encryption job, or -1. */
  readonly encSa: Int32Array;
  /** Combined SA index of packet i's decryption job, or -1. */
  readonly decSa: Int32Array;
  /** Byte offset (in the batch's data) of packet i's ESP header. */
  readonly off: Uint32Array;
  /** Bytes from the ESP header to the ICV (header, IV, ciphertext): a multiple of 4. */
  readonly len: Uint32Array;
  /** 1 when the back end did the job (and, decrypting, the ICV matched), else 0. */
  readonly ok: Uint8Array;
  /** 0 none, 1 encrypt, 2 decrypt. */
  readonly kind: Uint8Array;
  /** Outbound: the inner packet's IPv4 length, for the second layout pass. */
  readonly innerLen: Uint32Array;
  /** Outbound: the packet's sequence number. */
  readonly seq: Float64Array;
  /** Destination offset of each payload move the batch records (done in one call, see {@link EspJobs.flushMoves}). */
  readonly moveDst: Uint32Array;
  /** Source offset of each recorded move. */
  readonly moveSrc: Uint32Array;
  /** Bytes of each recorded move. */
  readonly moveLen: Uint32Array;
  /** Moves recorded. */
  moveCount = 0;
  /** Encryption jobs in the batch. */
  encCount = 0;
  /** Decryption jobs in the batch. */
  decCount = 0;

  /** Room for `burst` packets. */
  constructor(burst: number) {
    this.encSa = new Int32Array(burst);
    this.decSa = new Int32Array(burst);
    this.off = new Uint32Array(burst);
    this.len = new Uint32Array(burst);
    this.ok = new Uint8Array(burst);
    this.kind = new Uint8Array(burst);
    this.innerLen = new Uint32Array(burst);
    this.seq = new Float64Array(burst);
    this.moveDst = new Uint32Array(burst);
    this.moveSrc = new Uint32Array(burst);
    this.moveLen = new Uint32Array(burst);
    // An addon that predates moveRanges fails here, when the NF starts, not on every batch.
    moveRanges(new Uint8Array(0), this.moveDst, this.moveSrc, this.moveLen, 0);
  }

  /** Records a move of `len` bytes from `src` to `dst` in the batch's data. */
  move(dst: number, src: number, len: number): void {
    const k = this.moveCount++;
    this.moveDst[k] = dst;
    this.moveSrc[k] = src;
    this.moveLen[k] = len;
  }

  /**
   * Does the recorded moves (one native call) and forgets them.
   * @throws Error when a move lay outside `data` (it was skipped: the headers written next would
   * land on a packet that did not move, so the batch must not go on).
   */
  flushMoves(data: Uint8Array): void {
    const n = this.moveCount;
    this.moveCount = 0;
    if (n > 0 && moveRanges(data, this.moveDst, this.moveSrc, this.moveLen, n) !== n) throw new Error(`EspJobs.flushMoves: a move of the batch lay outside its data`);
  }
}

/**
 * Counter names for `cfg`: {@link GLOBAL_COUNTERS}, then per SA `out.<spi>.pkts|bytes|drops` and
 * `in.<spi>.pkts|bytes|drops` while they fit in 64 names (SAs beyond that have only the global ones).
 */
export function counterNames(cfg: IpsecConfig): string[] {
  const names: string[] = [...GLOBAL_COUNTERS];
  for (const [dir, list] of [['out', cfg.outbound], ['in', cfg.inbound]] as const) {
    for (const sa of list) {
      if (names.length + 3 > MAX_COUNTERS) return names;
      names.push(`${dir}.${sa.spi}.pkts`, `${dir}.${sa.spi}.bytes`, `${dir}.${sa.spi}.drops`);
    }
  }
  return names;
}

/**
 * One NF instance's gateway state: SAs, sequence counters, replay windows, counters and the
 * per-batch crypto jobs. Combined SA index (`jobSa`, the key tables): outbound SAs first, then inbound.
 */
export class EspGateway {
  /** The parsed config. */
  readonly cfg: IpsecConfig;
  /** Outbound SAs then inbound SAs (the key tables' order). */
  readonly sas: readonly SaConfig[];
  /** Counter values (index = position in {@link counterNames}). */
  readonly counters: Float64Array;
  private readonly nOut: number;
  private readonly nextSeq: Float64Array;
  private readonly bySpi = new Map<number, number>();
  private readonly top: Float64Array;
  private readonly bits: Uint32Array;
  private readonly words: number;
  private readonly perSa: Int32Array;
  private ipId = 0;

  /**
   * @param counters Values for {@link counterNames} (from `ctx.defineCounters`), or undefined for a private array.
   */
  constructor(cfg: IpsecConfig, counters?: Float64Array) {
    this.cfg = cfg;
    this.sas = [...cfg.outbound, ...cfg.inbound];
    this.nOut = cfg.outbound.length;
    const names = counterNames(cfg);
    this.counters = counters ?? new Float64Array(names.length);
    this.perSa = new Int32Array(this.sas.length).fill(-1);
    for (let s = 0; s < this.sas.length; s++) {
      const k = GLOBAL_COUNTERS.length + 3 * s;
      if (k + 3 <= names.length) this.perSa[s] = k;
    }
    this.nextSeq = Float64Array.from(cfg.outbound, (sa) => sa.seq);
    cfg.inbound.forEach((sa, i) => this.bySpi.set(sa.spi, i));
    this.top = new Float64Array(cfg.inbound.length);
    this.words = cfg.replayWindow >>> 5;
    this.bits = new Uint32Array(Math.max(1, cfg.inbound.length * this.words));
  }

  /** Next sequence number outbound SA `i` (index in `cfg.outbound`) will send. */
  sequence(i: number): number {
    return this.nextSeq[i];
  }

  private drop(batch: PacketBatch, i: number, reason: number, sa = -1): void {
    batch.action[i] = Action.DROP;
    this.counters[reason]++;
    if (sa >= 0 && this.perSa[sa] >= 0) this.counters[this.perSa[sa] + 2]++;
  }

  private pass(batch: PacketBatch, i: number, reason: number): void {
    batch.action[i] = Action.NEXT;
    this.counters[reason]++;
  }

  /**
   * Lays out every packet of the batch and records its crypto job (see the module doc). Packets
   * that need no crypto get their final action here. Returns the number of jobs.
   */
  prepare(batch: PacketBatch, jobs: EspJobs): number {
    const d = batch.data;
    const v = batch.view;
    const inbound = this.cfg.direction !== 'outbound';
    const outbound = this.cfg.direction !== 'inbound';
    jobs.encCount = 0;
    jobs.decCount = 0;
    jobs.moveCount = 0;
    for (let i = 0; i < batch.count; i++) {
      jobs.kind[i] = NONE;
      jobs.encSa[i] = -1;
      jobs.decSa[i] = -1;
      jobs.ok[i] = 0;
      const o = batch.offsets[i];
      const len = batch.lengths[i];
      if (len < ETH + 20 || d[o + 12] !== 0x08 || d[o + 13] !== 0x00) {
        this.pass(batch, i, C.non_ipv4);
        continue;
      }
      const vihl = d[o + ETH];
      const ihl = (vihl & 0x0f) << 2;
      const ipLen = v.getUint16(o + ETH + 2);
      const ipOk = vihl >>> 4 === 4 && ihl >= 20 && ipLen >= ihl && ipLen <= len - ETH;
      if (inbound && d[o + ETH + 9] === IPPROTO_ESP) {
        if (this.prepareInbound(batch, jobs, i, o, ipOk, ihl, ipLen)) jobs.decCount++;
      } else if (outbound) {
        if (this.prepareOutbound(batch, jobs, i, o, ipOk, ipLen)) jobs.encCount++;
      } else {
        this.pass(batch, i, C.bypass);
      }
    }
    if (jobs.encCount > 0) {
      jobs.flushMoves(d);
      for (let i = 0; i < batch.count; i++) if (jobs.kind[i] === ENCRYPT) this.writeOutbound(batch, jobs, i);
    }
    return jobs.encCount + jobs.decCount;
  }

  private prepareInbound(batch: PacketBatch, jobs: EspJobs, i: number, o: number, ipOk: boolean, ihl: number, ipLen: number): boolean {
    const v = batch.view;
    if (!ipOk) return this.drop(batch, i, C.in_malformed), false;
    if ((v.getUint16(o + ETH + 6) & 0x3fff) !== 0) return this.drop(batch, i, C.in_fragment), false;
    const esp = o + ETH + ihl;
    const espLen = ipLen - ihl;
    const enc = espLen - ESP_HEADER_BYTES - ICV_BYTES;
    // RFC 4303 §2.4: the ciphertext (payload, padding, pad length, next header) ends on a 4-byte boundary.
    if (enc < 4 || (enc & 3) !== 0) return this.drop(batch, i, C.in_malformed), false;
    const idx = this.bySpi.get(v.getUint32(esp));
    if (idx === undefined) return this.drop(batch, i, C.in_unknown_spi), false;
    const sa = this.nOut + idx;
    if (!this.replayCheck(idx, v.getUint32(esp + 4))) return this.drop(batch, i, C.in_replay, sa), false;
    jobs.kind[i] = DECRYPT;
    jobs.decSa[i] = sa;
    jobs.off[i] = esp;
    jobs.len[i] = espLen - ICV_BYTES;
    return true;
  }

  private prepareOutbound(batch: PacketBatch, jobs: EspJobs, i: number, o: number, ipOk: boolean, ipLen: number): boolean {
    const v = batch.view;
    if (!ipOk) return this.drop(batch, i, C.out_malformed), false;
    const src = v.getUint32(o + ETH + 12);
    const dst = v.getUint32(o + ETH + 16);
    const list = this.cfg.outbound;
    let s = -1;
    for (let k = 0; k < list.length; k++) {
      const sel = list[k].selector;
      if (((src & sel.srcMask) >>> 0) === sel.src && ((dst & sel.dstMask) >>> 0) === sel.dst) {
        s = k;
        break;
      }
    }
    if (s < 0) return this.pass(batch, i, C.bypass), false;
    const seq = this.nextSeq[s];
    // RFC 4303 §3.3.3: without ESN the counter must not cycle; the SA stops sending (a new SA is needed).
    if (seq > SEQ_MAX) return this.drop(batch, i, C.seq_exhausted, s), false;
    const pad = (4 - ((ipLen + 2) & 3)) & 3;
    const enc = ipLen + pad + 2;
    const outer = 20 + ESP_HEADER_BYTES + enc + ICV_BYTES;
    if (outer > this.cfg.mtu || ETH + outer > batch.capacity) return this.drop(batch, i, C.mtu_exceeded, s), false;
    this.nextSeq[s] = seq + 1;
    const esp = o + ETH + 20;
    // The inner packet moves behind the outer IPv4 header, ESP header and IV in prepare's batch move.
    jobs.move(esp + ESP_HEADER_BYTES, o + ETH, ipLen);
    batch.lengths[i] = ETH + outer;
    jobs.kind[i] = ENCRYPT;
    jobs.encSa[i] = s;
    jobs.off[i] = esp;
    jobs.len[i] = ESP_HEADER_BYTES + enc;
    jobs.innerLen[i] = ipLen;
    jobs.seq[i] = seq;
    return true;
  }

  /** Second outbound pass, after the inner packet moved: padding, trailer, outer IPv4 and ESP headers. */
  private writeOutbound(batch: PacketBatch, jobs: EspJobs, i: number): void {
    const d = batch.data;
    const v = batch.view;
    const o = batch.offsets[i];
    const ipLen = jobs.innerLen[i];
    const seq = jobs.seq[i];
    const pad = (4 - ((ipLen + 2) & 3)) & 3;
    const outer = batch.lengths[i] - ETH;
    const esp = jobs.off[i];
    let t = esp + ESP_HEADER_BYTES + ipLen;
    for (let p = 1; p <= pad; p++) d[t++] = p; // RFC 4303 §2.4 default padding: 1, 2, 3, ...
    d[t++] = pad;
    d[t] = 4; // next header: IPv4 (tunnel mode)
    const sa = this.cfg.outbound[jobs.encSa[i]];
    const ip = o + ETH;
    const tos = d[ip + 1]; // the inner header's TOS: its first 36 bytes were not moved over
    const id = this.ipId;
    this.ipId = (id + 1) & 0xffff;
    v.setUint32(ip, ((0x4500 | tos) * 0x10000 + outer) >>> 0);
    v.setUint32(ip + 4, id * 0x10000); // flags and fragment offset 0: DF clear
    v.setUint32(ip + 8, (64 << 24) | (IPPROTO_ESP << 16)); // TTL, protocol, checksum 0 for now
    v.setUint32(ip + 12, sa.tunnelSrc);
    v.setUint32(ip + 16, sa.tunnelDst);
    // RFC 1071 over the fields just written (no re-read of the header).
    let sum = 0x4500 + tos + outer + id + ((64 << 8) | IPPROTO_ESP) + sa.tunnelSum;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(ip + 10, ~sum & 0xffff);
    v.setUint32(esp, sa.spi);
    v.setUint32(esp + 4, seq >>> 0);
    // IV = the 64-bit sequence counter: unique per packet under one key, and reproducible.
    v.setUint32(esp + 8, Math.floor(seq / 0x100000000));
    v.setUint32(esp + 12, seq >>> 0);
    setMacs(d, o, this.cfg.espEth);
  }

  /** RFC 4303 §3.4.3: whether `seq` is new for inbound SA `idx` (no update). */
  private replayCheck(idx: number, seq: number): boolean {
    if (seq === 0) return false;
    const top = this.top[idx];
    if (seq > top) return true;
    const w = this.cfg.replayWindow;
    if (top - seq >= w) return false;
    const bit = seq % w;
    return (this.bits[idx * this.words + (bit >>> 5)] & (1 << (bit & 31))) === 0;
  }

  /** Marks `seq` seen (after its ICV verified), sliding the window when it is the newest. */
  private replayUpdate(idx: number, seq: number): void {
    const w = this.cfg.replayWindow;
    const base = idx * this.words;
    const top = this.top[idx];
    if (seq > top) {
      if (seq - top >= w) this.bits.fill(0, base, base + this.words);
      else
        for (let s = top + 1; s < seq; s++) {
          const b = s % w;
          this.bits[base + (b >>> 5)] &= ~(1 << (b & 31));
        }
      this.top[idx] = seq;
    }
    const bit = seq % w;
    this.bits[base + (bit >>> 5)] |= 1 << (bit & 31);
  }

  /** Applies the crypto results: actions, inbound replay window and decapsulation, counters. */
  finish(batch: PacketBatch, jobs: EspJobs): void {
    const d = batch.data;
    const v = batch.view;
    jobs.moveCount = 0;
    for (let i = 0; i < batch.count; i++) {
      const job = jobs.kind[i];
      if (job === NONE) continue;
      const o = batch.offsets[i];
      if (job === ENCRYPT) {
        const s = jobs.encSa[i];
        if (jobs.ok[i] !== 1) {
          this.drop(batch, i, C.crypto_error, s);
          continue;
        }
        this.counters[C.out_encrypted]++;
        this.count(s, batch.lengths[i]);
        this.send(batch, i, this.cfg.espPort);
        continue;
      }
      const s = jobs.decSa[i];
      if (jobs.ok[i] !== 1) {
        this.drop(batch, i, C.in_auth_failed, s);
        continue;
      }
      const esp = jobs.off[i];
      const idx = s - this.nOut;
      const seq = v.getUint32(esp + 4);
      if (!this.replayCheck(idx, seq)) {
        this.drop(batch, i, C.in_replay, s);
        continue;
      }
      this.replayUpdate(idx, seq);
      const end = esp + jobs.len[i];
      const padLen = d[end - 2];
      const innerLen = jobs.len[i] - ESP_HEADER_BYTES - 2 - padLen;
      if (innerLen < 0) {
        this.drop(batch, i, C.in_bad_padding, s);
        continue;
      }
      let padOk = true;
      for (let p = 1; p <= padLen; p++) if (d[end - 2 - padLen + p - 1] !== p) padOk = false;
      if (!padOk) {
        this.drop(batch, i, C.in_bad_padding, s);
        continue;
      }
      if (d[end - 1] !== 4) {
        this.drop(batch, i, C.in_bad_next_header, s);
        continue;
      }
      const inner = esp + ESP_HEADER_BYTES;
      const tot = innerLen >= 20 ? v.getUint16(inner + 2) : 0;
      if (innerLen < 20 || d[inner] >>> 4 !== 4 || tot < 20 || tot > innerLen) {
        this.drop(batch, i, C.in_malformed, s);
        continue;
      }
      jobs.move(o + ETH, inner, tot);
      batch.lengths[i] = ETH + tot;
      setMacs(d, o, this.cfg.innerEth);
      this.counters[C.in_decrypted]++;
      this.count(s, ETH + tot);
      this.send(batch, i, this.cfg.innerPort);
    }
    jobs.flushMoves(d);
  }

  private count(sa: number, bytes: number): void {
    const k = this.perSa[sa];
    if (k < 0) return;
    this.counters[k]++;
    this.counters[k + 1] += bytes;
  }

  private send(batch: PacketBatch, i: number, port: number): void {
    if (port < 0) batch.action[i] = Action.NEXT;
    else {
      batch.action[i] = Action.OUT;
      batch.destination[i] = port;
    }
  }
}

/** Rewrites the Ethernet addresses that are set (byte stores: `set` on the shared pool is slow for 6 bytes). */
function setMacs(d: Uint8Array, o: number, eth: { dst?: Uint8Array; src?: Uint8Array }): void {
  const dst = eth.dst;
  if (dst) for (let k = 0; k < 6; k++) d[o + k] = dst[k];
  const src = eth.src;
  if (src) for (let k = 0; k < 6; k++) d[o + 6 + k] = src[k];
}

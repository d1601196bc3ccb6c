import { describe, expect, it } from 'vitest';
import { MAILBOX_HEADER_BYTES, Mailbox } from '../src/runtime/mailbox.js';
import { REGION_HEADER_BYTES, SLOT_CONTROL_BYTES, regionLayout, slotOffsets } from '../src/runtime/region-layout.js';

describe('Mailbox (NF messages between processes)', () => {
  it('carries structured-clone messages in order across many wraps of its data area', () => {
    const buf = new ArrayBuffer(64 + MAILBOX_HEADER_BYTES + 1024);
    const producer = new Mailbox(buf, 64, MAILBOX_HEADER_BYTES + 1024);
    const consumer = new Mailbox(buf, 64, MAILBOX_HEADER_BYTES + 1024);
    const peers: number[] = [];
    let sent = 0;
    let got = 0;
    for (let round = 0; round < 200; round++) {
      // Sizes vary so records end at every alignment and some must skip the end of the area.
      while (producer.post(sent % 7, { n: sent, pad: 'x'.repeat((sent * 37) % 200), when: new Date(sent) })) peers[sent] = sent++ % 7;
      for (let m = consumer.take(); m !== null; m = consumer.take()) {
        const body = m.body as { n: number; when: Date };
        expect(body.n).toBe(got);
        expect(body.when).toBeInstanceOf(Date);
        expect(body.when.getTime()).toBe(got);
        expect(m.peer).toBe(peers[got]);
        got++;
      }
    }
    expect(got).toBe(sent);
    expect(sent).toBeGreaterThan(1000);
  });

  it('refuses what does not fit (full, or over half the area), and takes nothing from an empty box', () => {
    const buf = new ArrayBuffer(MAILBOX_HEADER_BYTES + 256);
    const box = new Mailbox(buf, 0, MAILBOX_HEADER_BYTES + 256);
    expect(box.take()).toBeNull();
    expect(box.postBytes(1, new Uint8Array(121))).toBe(false);
    // Records take 8 + the payload rounded up to 4: two of 128 bytes fill the 256.
    expect(box.postBytes(1, new Uint8Array(120))).toBe(true);
    expect(box.postBytes(2, new Uint8Array(117))).toBe(true);
    expect(box.postBytes(3, new Uint8Array(1))).toBe(false);
    const seen: [number, number][] = [];
    expect(box.takeBytes((peer, p) => seen.push([peer, p.length]))).toBe(true);
    expect(seen).toEqual([[1, 120]]);
    expect(box.postBytes(3, new Uint8Array(120))).toBe(true);
    expect(box.takeBytes((peer, p) => seen.push([peer, p.length]))).toBe(true);
    expect(box.takeBytes((peer, p) => seen.push([peer, p.length]))).toBe(true);
    expect(seen).toEqual([[1, 120], [2, 117], [3, 120]]);
    box.reset();
    expect(box.take()).toBeNull();
  });
});

describe('manager region layout', () => {
  it('places header, slots, stats, config and pool on 64-byte boundaries, pool last', () => {
    const l = regionLayout({ slotCount: 3, ringCapacity: 1024, poolSlots: 100, poolSlotSize: 2048, burst: 32, mailboxBytes: MAILBOX_HEADER_BYTES + 4096, statsBytes: 1000, configBytes: 10 });
    const slot = slotOffsets(1024, MAILBOX_HEADER_BYTES + 4096);
    expect(l.slotsOffset).toBe(REGION_HEADER_BYTES);
    // Control part: words, counters and tag (256 B), then the named-counter block (2624 B), 64-aligned.
    const c = 2880;
    expect(SLOT_CONTROL_BYTES).toBe(c);
    expect(slot).toEqual({ rx: c, tx: c + 4608, inbox: c + 2 * 4608, outbox: c + 2 * 4608 + 4160, bytes: c + 2 * 4608 + 2 * 4160 });
    expect(l.statsOffset).toBe(REGION_HEADER_BYTES + 3 * slot.bytes);
    expect(l.configOffset).toBe(l.statsOffset + 1024);
    expect(l.poolOffset).toBe(l.configOffset + 64);
    for (const o of [l.slotBytes, l.statsOffset, l.configOffset, l.poolOffset]) expect(o % 64).toBe(0);
    expect(() => regionLayout({ ...l, mailboxBytes: 1000 })).toThrow(/mailbox bytes must be 64 \+ a power of two/);
    expect(() => regionLayout({ ...l, slotCount: 0 })).toThrow(/NF slots must be an integer in \[1, 4096\]/);
  });
});

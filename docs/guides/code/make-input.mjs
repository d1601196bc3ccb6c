// make-input.mjs: writes in.pcap, 1000 UDP/IPv4 packets with TTLs 1..8 and an ARP frame every 100.
import { arpFrame, framesAt, udpFrame, writePcap } from '@gnet/nflib/testing';

const frames = [];
for (let i = 0; i < 1000; i++) frames.push(i % 100 === 50 ? arpFrame() : udpFrame(i, 1 + (i % 8)));
writePcap(process.argv[2] ?? 'in.pcap', framesAt(frames));
console.log(`wrote ${frames.length} frames`);

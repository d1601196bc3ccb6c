/**
 * Renders stats snapshots as a terminal table (like onvm_stats), a JSON line, or Prometheus text.
 * @module
 */
import { rate, totalDrops, type StatsSnapshot } from './snapshot.js';

const si = (v: number): string => {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
};

/** A table for the terminal: one line per port and per NF with rates since `prev`. */
export function formatStatsTable(now: StatsSnapshot, prev?: StatsSnapshot): string {
  const dt = prev ? now.time - prev.time : 0;
  const lines = ['PORTS        rx pps     rx bps     tx pps     tx bps      drops  spec'];
  for (const p of now.ports) {
    const q = prev?.ports.find((x) => x.id === p.id);
    lines.push(
      `  ${String(p.id).padEnd(6)}${si(rate(p.rxPackets, q?.rxPackets ?? 0, dt)).padStart(10)} ${si(rate(p.rxBytes * 8, (q?.rxBytes ?? 0) * 8, dt)).padStart(10)} ` +
        `${si(rate(p.txPackets, q?.txPackets ?? 0, dt)).padStart(10)} ${si(rate(p.txBytes * 8, (q?.txBytes ?? 0) * 8, dt)).padStart(10)} ${String(totalDrops(p.drops)).padStart(10)}  ${p.spec}`,
    );
  }
  lines.push('NFS (svc/inst) rx pps     tx pps      drops   rx ring   tx ring   busy  state    tag');
  for (const n of now.nfs) {
    const q = prev?.nfs.find((x) => x.key === n.key);
    // Share of the interval the NF spent on batches (µs busy per ms of wall time / 10 = percent).
    const busy = dt > 0 && n.busyUs !== undefined ? `${Math.min(100, Math.round((n.busyUs - (q?.busyUs ?? 0)) / dt / 10))}%` : '-';
    lines.push(
      `  ${n.key.padEnd(12)}${si(rate(n.rxPackets, q?.rxPackets ?? 0, dt)).padStart(8)} ${si(rate(n.txPackets, q?.txPackets ?? 0, dt)).padStart(10)} ` +
        `${String(totalDrops(n.drops)).padStart(10)} ${String(n.rxRingOccupancy).padStart(9)} ${String(n.txRingOccupancy).padStart(9)} ${busy.padStart(6)}  ${n.state.padEnd(8)} ${n.tag}`,
    );
  }
  const drops = Object.entries(now.drops)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const totals = now.received !== undefined ? `received: ${now.received}  transmitted: ${now.transmitted}  dropped: ${now.dropped}  ` : '';
  lines.push(`${totals}in flight: ${now.inFlight}${drops ? `  manager drops: ${drops}` : ''}`);
  const l = now.latencyUs;
  if (l && l.packets > 0) lines.push(`latency in the manager (µs): p50 ${l.p50.toFixed(1)}  p99 ${l.p99.toFixed(1)}  max ${l.max.toFixed(1)}`);
  if (now.policy) lines.push(`policy ${now.policy.name}: ${JSON.stringify(now.policy.info)}`);
  return lines.join('\n');
}

/** One JSON object per interval (`--stats=json`), with totals and per-second rates. */
export function formatStatsJson(now: StatsSnapshot, prev?: StatsSnapshot): string {
  const dt = prev ? now.time - prev.time : 0;
  return JSON.stringify({
    time: new Date(now.time).toISOString(),
    received: now.received,
    transmitted: now.transmitted,
    dropped: now.dropped,
    inFlight: now.inFlight,
    drops: now.drops,
    ports: now.ports.map((p) => {
      const q = prev?.ports.find((x) => x.id === p.id);
      return {
        ...p,
        rxPps: Math.round(rate(p.rxPackets, q?.rxPackets ?? 0, dt)),
        txPps: Math.round(rate(p.txPackets, q?.txPackets ?? 0, dt)),
        rxBps: Math.round(rate(p.rxBytes * 8, (q?.rxBytes ?? 0) * 8, dt)),
        txBps: Math.round(rate(p.txBytes * 8, (q?.txBytes ?? 0) * 8, dt)),
      };
    }),
    nfs: now.nfs.map((n) => {
      const q = prev?.nfs.find((x) => x.key === n.key);
      return { ...n, rxPps: Math.round(rate(n.rxPackets, q?.rxPackets ?? 0, dt)), txPps: Math.round(rate(n.txPackets, q?.txPackets ?? 0, dt)) };
    }),
    ...(now.policy ? { policy: now.policy } : {}),
    ...(now.latencyUs ? { latencyUs: now.latencyUs } : {}),
  });
}

const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition (version 0.0.4) of a snapshot: counters and gauges with labels. */
export function formatPrometheus(s: StatsSnapshot): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels ? `{${labels}}` : ''} ${v}`);
  };
  const port = (p: { id: number; spec: string }) => `port="${p.id}",spec="${esc(p.spec)}"`;
  const nf = (n: { serviceId: number; instanceId: number; tag: string }) => `service="${n.serviceId}",instance="${n.instanceId}",tag="${esc(n.tag)}"`;
  family('gnet_port_rx_packets_total', 'counter', 'Packets received on a port.', s.ports.map((p) => [port(p), p.rxPackets]));
  family('gnet_port_rx_bytes_total', 'counter', 'Bytes received on a port.', s.ports.map((p) => [port(p), p.rxBytes]));
  family('gnet_port_tx_packets_total', 'counter', 'Packets transmitted on a port.', s.ports.map((p) => [port(p), p.txPackets]));
  family('gnet_port_tx_bytes_total', 'counter', 'Bytes transmitted on a port.', s.ports.map((p) => [port(p), p.txBytes]));
  family('gnet_port_drops_total', 'counter', 'Packets dropped at a port, by reason.', s.ports.flatMap((p) => Object.entries(p.drops).map(([r, v]) => [`${port(p)},reason="${esc(r)}"`, v] as [string, number])));
  family('gnet_nf_rx_packets_total', 'counter', 'Packets an NF instance received.', s.nfs.map((n) => [nf(n), n.rxPackets]));
  family('gnet_nf_tx_packets_total', 'counter', 'Packets an NF instance passed on.', s.nfs.map((n) => [nf(n), n.txPackets]));
  family('gnet_nf_drops_total', 'counter', 'Packets dropped by or at an NF instance, by reason.', s.nfs.flatMap((n) => Object.entries(n.drops).map(([r, v]) => [`${nf(n)},reason="${esc(r)}"`, v] as [string, number])));
  family('gnet_nf_busy_seconds_total', 'counter', 'Time an NF instance spent on batches (idle time excluded).', s.nfs.map((n) => [nf(n), (n.busyUs ?? 0) / 1e6]));
  family('gnet_nf_rx_ring_occupancy', 'gauge', 'Batches waiting in an NF instance RX ring.', s.nfs.map((n) => [nf(n), n.rxRingOccupancy]));
  family('gnet_nf_tx_ring_occupancy', 'gauge', 'Batches waiting in an NF instance TX ring.', s.nfs.map((n) => [nf(n), n.txRingOccupancy]));
  family('gnet_manager_drops_total', 'counter', 'Packets the manager dropped, by reason.', Object.entries(s.drops).map(([r, v]) => [`reason="${esc(r)}"`, v]));
  family('gnet_in_flight_packets', 'gauge', 'Packets received and not yet transmitted or dropped.', [['', s.inFlight]]);
  const l = s.latencyUs;
  if (l && l.packets > 0) {
    family('gnet_latency_microseconds', 'gauge', 'Time packets spent in the manager, receive to transmit, since it started (quantiles).', [
      ['quantile="0.5"', l.p50],
      ['quantile="0.99"', l.p99],
      ['quantile="1"', l.max],
    ]);
  }
  return out.join('\n') + '\n';
}

/**
 * A Prometheus scrape endpoint (`--metrics-port`): `GET /metrics` answers the latest snapshot.
 * Binds to loopback unless told otherwise.
 * @module
 */
import { createServer, type Server } from 'node:http';
import { formatPrometheus } from './format.js';
import type { StatsSnapshot } from './snapshot.js';

/**
 * Starts serving `/metrics` from `snapshot()`; resolves with the server once it listens.
 * @param port TCP port (0 picks a free one: read it from `server.address()`).
 */
export function startMetricsServer(port: number, snapshot: () => StatsSnapshot, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url === '/')) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(formatPrometheus(snapshot()));
    } else {
      res.writeHead(404).end('gnet: only GET /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

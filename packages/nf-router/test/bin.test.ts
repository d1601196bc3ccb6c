// The `nf-router` bin as an NF process joining a `gnet manager` (multi-process mode): it takes its
// config section from the manager and routes the manager's traffic.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const gnet = join(__dirname, '..', '..', 'nflib', 'dist', 'cli.js');
const bin = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'gnet-nf-router-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nf-router as a process joining gnet manager', () => {
  it('routes the manager traffic with the config section the manager holds', async () => {
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ router: { routes: ['10.0.0.0/9 1', '10.128.0.0/9 7'], ports: { 1: { mac: '02:00:00:00:00:01' } }, nexthops: { 1: { port: 1, mac: '02:00:00:00:00:09' } } } }));
    const name = `gnr-mp-${process.pid}`;
    // gen's destinations are 10.1.0.0/16 (next hop 1); nothing reaches 10.128/9 (next hop 7, not configured).
    const manager = spawn(process.execPath, [gnet, 'manager', '--name', name, '--in', 'gen:count=5000,size=64', '--out', 'null', '--chain', 'router', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    manager.stdout.on('data', (d: Buffer) => (out += d.toString()));
    manager.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => manager.once('close', (code) => r(code)));
    try {
      // Join once the manager's region exists (the NF retries are ours: it fails fast when there is none).
      let nf = spawnSync(process.execPath, [bin, '-r', '1', '-m', name], { encoding: 'utf8', timeout: 30_000 });
      for (let k = 0; k < 40 && nf.status !== 0 && /manager/i.test(nf.stderr); k++) {
        await new Promise((r) => setTimeout(r, 250));
        nf = spawnSync(process.execPath, [bin, '-r', '1', '-m', name], { encoding: 'utf8', timeout: 30_000 });
      }
      expect(nf.status, nf.stderr).toBe(0);
      expect(await exited, err).toBe(0);
      const s = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { rx: number; tx: number; nfs: { router: { counters: Record<string, number> } } };
      expect(s.rx).toBe(5000);
      expect(s.tx).toBe(5000);
      expect(s.nfs.router.counters.forwarded).toBe(5000);
    } finally {
      if (manager.exitCode === null) {
        manager.kill('SIGKILL');
        rmSync(`/dev/shm/gnet-${name}`, { force: true }); // a killed manager leaves its region behind
      }
    }
  }, 60_000);
});

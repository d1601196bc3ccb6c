import { describe, expect, it } from 'vitest';
import { chooseMode, computeSyncPlan, defineNf, nfAccess } from '@gnet/framework';
import { gpuInfo } from '@gnet/manager-native';

const kernel = { module: '/nowhere/k.ptx', entry: 'k' };
const setArg = () => ({ grid: 1, block: 1 });

describe('defineNf', () => {
  it('accepts a cpu-only NF, a kernel NF and one with both', () => {
    expect(defineNf({ name: 'a', cpu: () => undefined }).name).toBe('a');
    expect(defineNf({ name: 'b', kernel, setArg }).kernel).toBe(kernel);
    expect(defineNf({ name: 'c', kernel, setArg, cpu: () => undefined }).name).toBe('c');
  });

  it('refuses NFs that could run in no mode', () => {
    expect(() => defineNf({ name: '' , cpu: () => undefined })).toThrow(/needs a name/);
    expect(() => defineNf({ name: 'x' })).toThrow(/cpu hook, a kernel, or both/);
    expect(() => defineNf({ name: 'x', kernel })).toThrow(/needs a setArg hook/);
  });
});

describe('chooseMode', () => {
  const both = defineNf({ name: 'both', kernel, setArg, cpu: () => undefined });
  const cpuOnly = defineNf({ name: 'cpu-only', cpu: () => undefined });
  const gpuOnly = defineNf({ name: 'gpu-only', kernel, setArg });

  it('keeps an explicit mode the NF supports, and refuses one it does not', () => {
    expect(chooseMode(both, 'cpu')).toEqual({ mode: 'cpu', reason: 'asked for' });
    expect(chooseMode(both, 'emulated').mode).toBe('emulated');
    expect(chooseMode(both, 'gpu').mode).toBe('gpu');
    expect(() => chooseMode(gpuOnly, 'cpu')).toThrow(/no cpu hook/);
    expect(() => chooseMode(cpuOnly, 'emulated')).toThrow(/no kernel/);
  });

  it('a mode asked of the whole chain: an NF that cannot run in it takes auto\'s choice and says why; one that can keeps it', () => {
    expect(chooseMode(cpuOnly, 'emulated', { chainWide: true })).toEqual({ mode: 'cpu', reason: '--mode emulated is for the chain and this NF has no kernel; auto: the NF has no kernel' });
    expect(chooseMode(cpuOnly, 'gpu', { chainWide: true }).mode).toBe('cpu');
    const fallback = chooseMode(gpuOnly, 'cpu', { chainWide: true });
    expect(fallback.mode).toBe(gpuInfo().available ? 'gpu' : 'emulated');
    expect(fallback.reason).toMatch(/^--mode cpu is for the chain and this NF has no cpu hook; auto: /);
    expect(chooseMode(both, 'emulated', { chainWide: true })).toEqual({ mode: 'emulated', reason: 'asked for' });
    expect(chooseMode(cpuOnly, 'cpu', { chainWide: true })).toEqual({ mode: 'cpu', reason: 'asked for' });
  });

  it('auto: gpu when usable, else cpu (emulated for an NF with no cpu hook), and says why', () => {
    expect(chooseMode(cpuOnly, 'auto')).toEqual({ mode: 'cpu', reason: 'auto: the NF has no kernel' });
    const info = gpuInfo();
    if (info.available) {
      expect(chooseMode(both, 'auto').mode).toBe('gpu');
    } else {
      expect(chooseMode(both, 'auto')).toEqual({ mode: 'cpu', reason: `auto: no usable GPU (${info.reason})` });
      expect(chooseMode(gpuOnly, 'auto').mode).toBe('emulated');
    }
  });
});

describe('nfAccess', () => {
  it('turns read/write sets into the sync plan input', () => {
    const a = defineNf({ name: 'a', kernel, setArg, readSet: { gpu: ['ip.dst'] }, writeSet: { gpu: ['hop'], post: ['meta.action'] } });
    const b = defineNf({ name: 'b', kernel, setArg, readSet: { gpu: ['ip.dst', 'hop'], post: ['hop'] } });
    expect(nfAccess(a)).toEqual({ name: 'a', preReads: undefined, preWrites: undefined, gpuReads: ['ip.dst'], gpuWrites: ['hop'], postReads: undefined, postWrites: ['meta.action'] });
    const plan = computeSyncPlan([nfAccess(a), nfAccess(b)]);
    expect(plan.nfs[0].htod).toEqual(['ip.dst']);
    expect(plan.nfs[1].htod).toEqual([]); // ip.dst and hop are still clean on the GPU
  });
});

/**
 * Shared-memory rings of u32 entries for moving packet references between threads: single- and
 * multi-producer variants, their stable memory layout, and a spin-then-sleep idle policy.
 *
 * @module
 */

export * from './layout.js';
export * from './ring-base.js';
export * from './spsc.js';
export * from './mpsc.js';
export * from './backoff.js';
export { sleepSync, isSharedBuffer } from './sleep.js';

/**
 * The packet buffer pool: fixed-size slots in shared memory, referred to by u32 index, with a
 * free-list ring and per-slot struct-of-arrays meta.
 *
 * @module
 */

export * from './batch-table.js';
export * from './layout.js';
export * from './packet-pool.js';

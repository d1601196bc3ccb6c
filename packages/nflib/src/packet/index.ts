/**
 * Packet helpers: header fields read and written in place, the batch parser, checksums (full and
 * incremental), checksum-preserving rewrites, and address parsing/formatting for configs and logs.
 *
 * @module
 */

export * from './ethernet.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './tcp.js';
export * from './udp.js';
export * from './icmp.js';
export * from './checksum.js';
export * from './header-checksum.js';
export * from './rewrite.js';
export * from './parse.js';
export * from './address.js';

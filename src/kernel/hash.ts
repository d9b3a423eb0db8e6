/**
 * xxHash (DESIGN 3.2): deterministic, fast, non-cryptographic. Used for event buckets
 * (a retried event lands in the same partition) and rollup queue routing.
 */
import xxhash from 'xxhash-wasm';

const hasher = await xxhash();

/** 32-bit xxHash of a UTF-8 string, seed 0. */
export function xxhash32(text: string): number {
  return hasher.h32(text) >>> 0;
}

/** `hash(key) mod n`, the bucket or queue index for `key` among `n`. */
export function bucketOf(key: string, n: number): number {
  return n <= 1 ? 0 : xxhash32(key) % n;
}

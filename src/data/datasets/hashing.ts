/**
 * Hashing for the generated datasets: per-image seeds (32-bit integer mixes)
 * and fingerprints of generation options (the cache keys of their folders).
 * Every value here is part of what a generated dataset is: changing one changes
 * the images or the cache folder names.
 */
import { createHash } from 'node:crypto';

/** A 32-bit hash of a list of integers (seeds per image). */
export function mix32(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A 32-bit FNV-1a hash of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The seed of image `index` of `split`: splits are seeded independently ('train', 'val', 'test' or any name). */
export function imageSeed(seed: number, split: string, index: number): number {
  return mix32(seed, hashString(split), index);
}

/** JSON with object keys sorted and undefined values left out, so equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** First 12 hex digits of the SHA-256 of `value`'s canonical JSON (key order does not matter). */
export function optionsHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);
}

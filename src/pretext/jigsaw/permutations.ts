/**
 * The jigsaw task's permutation set (Noroozi & Favaro, ECCV 2016, Algorithm 1):
 * N permutations of the 9 tiles chosen greedily so that they are far apart in
 * Hamming distance, which makes the puzzles distinguishable and the task hard to
 * solve by a shortcut.
 *
 * Choices: the candidates are all 9! = 362880 permutations (exhaustive, no
 * sampling). The greedy step adds the candidate whose *minimum* Hamming distance
 * to the set so far is largest (farthest-point selection); ties are broken by the
 * largest *sum* of distances to the set (the paper's Algorithm 1 criterion, the
 * average distance), then by the lowest lexicographic index. The first
 * permutation is drawn at random from `rng`; everything after it is
 * deterministic. Fast because only the candidates at the current best minimum
 * distance are updated each step (their distance to the new permutation from
 * 4-bit packed codes, their sum of distances kept alongside); the others only
 * catch up when that level empties. N = 100 takes ~0.2 s, N = 1000 under ~1 s
 * (min distance 6 and 5 respectively; random sets of those sizes have 2–4 and 2).
 */
import type { Rng } from '../../util/rng.js';

/** Number of tiles of a puzzle (3 × 3). */
export const TILES = 9;

const FACTORIAL_9 = 362880;

/** The largest set made here (the options allow up to 5000). */
export const MAX_PERMUTATIONS = 10000;

/** Every permutation of 0…8 in lexicographic order, as one flat array (9 values per permutation). */
export function allPermutations(): Uint8Array {
  const out = new Uint8Array(FACTORIAL_9 * TILES);
  const p = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  for (let k = 0; k < FACTORIAL_9; k++) {
    out.set(p, k * TILES);
    // next permutation (lexicographic)
    let i = TILES - 2;
    while (i >= 0 && p[i]! >= p[i + 1]!) i--;
    if (i < 0) break;
    let j = TILES - 1;
    while (p[j]! <= p[i]!) j--;
    [p[i], p[j]] = [p[j]!, p[i]!];
    for (let a = i + 1, b = TILES - 1; a < b; a++, b--) [p[a], p[b]] = [p[b]!, p[a]!];
  }
  return out;
}

/** Number of positions at which two permutations differ. */
export function hamming(a: readonly number[], b: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

/** The smallest Hamming distance between two members of the set (Infinity for fewer than two). */
export function minPairwiseHamming(set: readonly (readonly number[])[]): number {
  let m = Number.POSITIVE_INFINITY;
  for (let i = 0; i < set.length; i++) for (let j = i + 1; j < set.length; j++) m = Math.min(m, hamming(set[i]!, set[j]!));
  return m;
}

/** The 9 values of a permutation as nibbles: the first 8 in one 32-bit word, the 9th on its own. */
function pack(p: ArrayLike<number>): [number, number] {
  let w = 0;
  for (let i = 0; i < 8; i++) w |= p[i]! << (4 * i);
  return [w >>> 0, p[8]!];
}

/** Hamming distance of two packed permutations: the non-zero nibbles of the XOR, counted by one multiply. */
function packedHamming(a0: number, a1: number, b0: number, b1: number): number {
  let x = a0 ^ b0;
  x = (x | (x >>> 1) | (x >>> 2) | (x >>> 3)) & 0x11111111;
  return (Math.imul(x, 0x11111111) >>> 28) + (a1 === b1 ? 0 : 1);
}

/** N permutations of 0…8 with a large minimum pairwise Hamming distance (greedy max–min, see the file's header). */
export function maxHammingPermutations(n: number, rng: Rng): number[][] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PERMUTATIONS) throw new Error(`jigsaw: ${n} permutations (expected 1 to ${MAX_PERMUTATIONS})`);
  const cands = allPermutations();
  const w0 = new Uint32Array(FACTORIAL_9);
  const w1 = new Uint8Array(FACTORIAL_9);
  for (let k = 0; k < FACTORIAL_9; k++) [w0[k], w1[k]] = pack(cands.subarray(k * TILES, (k + 1) * TILES));
  // Each candidate's minimum distance to the first upd[k] chosen permutations (an upper bound of its distance to the set).
  const minDist = new Uint8Array(FACTORIAL_9).fill(TILES);
  const upd = new Uint32Array(FACTORIAL_9);
  // A candidate's total agreement with the set (9·|set| − its sum of distances: the tie-break), kept up to date for the
  // active candidates, and computed afresh from count[pos * 9 + v] (chosen permutations with v at pos) when one becomes active.
  const agree = new Uint32Array(FACTORIAL_9);
  const count = new Uint32Array(TILES * TILES);
  const chosen: number[] = [];
  const result: number[][] = [];
  // The candidates whose exact minimum distance is `level`, the largest any candidate has (ascending index).
  let level = TILES;
  const active = new Int32Array(FACTORIAL_9).map((_, k) => k);
  let size = FACTORIAL_9;
  let next = rng.int(0, FACTORIAL_9 - 1);
  for (;;) {
    result.push(Array.from(cands.subarray(next * TILES, (next + 1) * TILES)));
    chosen.push(next);
    for (let pos = 0; pos < TILES; pos++) count[pos * TILES + cands[next * TILES + pos]!]!++;
    if (result.length === n) return result;
    const c = chosen.length;
    const q0 = w0[next]!;
    const q1 = w1[next]!;
    let kept = 0;
    let bestAgree = Number.POSITIVE_INFINITY;
    for (let a = 0; a < size; a++) {
      const k = active[a]!;
      const d = packedHamming(w0[k]!, w1[k]!, q0, q1);
      upd[k] = c;
      if (d < level) {
        minDist[k] = d;
        continue;
      }
      active[kept++] = k;
      const g = agree[k]! + TILES - d;
      agree[k] = g;
      if (g < bestAgree) {
        bestAgree = g;
        next = k;
      }
    }
    size = kept;
    while (size === 0) {
      // No candidate is left at this level: bring those that were at the next one up to date (stopping early at a miss).
      level--;
      for (let k = 0; k < FACTORIAL_9; k++) {
        if (minDist[k] !== level) continue;
        let m = level;
        let u = upd[k]!;
        for (; u < c && m === level; u++) {
          const j = chosen[u]!;
          const d = packedHamming(w0[k]!, w1[k]!, w0[j]!, w1[j]!);
          if (d < m) m = d;
        }
        minDist[k] = m;
        upd[k] = u;
        if (m !== level) continue;
        active[size++] = k;
        let g = 0;
        for (let pos = 0; pos < TILES; pos++) g += count[pos * TILES + cands[k * TILES + pos]!]!;
        agree[k] = g;
        if (g < bestAgree) {
          bestAgree = g;
          next = k;
        }
      }
    }
  }
}

/** The permutation set read back from a checkpoint, checked: ≥ 2 distinct permutations of 0…8 (an error naming `where`). */
export function checkPermutationSet(state: unknown, where: string): number[][] {
  const bad = (why: string): Error => new Error(`${where}: jigsaw permutation set ${why}`);
  if (!Array.isArray(state)) throw bad(`is not an array of permutations (got ${state === null ? 'null' : typeof state})`);
  if (state.length < 2) throw bad(`has ${state.length} permutation(s) (expected at least 2)`);
  const seen = new Set<string>();
  return state.map((p: unknown, i) => {
    if (!Array.isArray(p) || p.length !== TILES) throw bad(`entry ${i} is not a list of ${TILES} tile indices`);
    const used = new Set<number>();
    for (const v of p) {
      if (!Number.isInteger(v) || v < 0 || v >= TILES || used.has(v)) throw bad(`entry ${i} [${p.join(',')}] is not a permutation of 0…${TILES - 1}`);
      used.add(v);
    }
    const key = p.join(',');
    if (seen.has(key)) throw bad(`entry ${i} [${key}] repeats an earlier one`);
    seen.add(key);
    return p.slice() as number[];
  });
}

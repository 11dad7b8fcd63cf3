/**
 * Run-length encoding of binary masks: the one codec of the package.
 *
 * Masks are row-major H×W arrays of 0/1 in memory. Their run lengths count
 * alternating runs of 0s and 1s, starting with a (possibly empty) run of 0s,
 * along one of two scan orders:
 *   - 'row-major': along the rows (the generated datasets' labels.json, `encodeRle`);
 *   - 'column-major': down the columns, COCO's (Fortran) order (`maskToRle`, `rleToMask`).
 * COCO also writes the counts as a compressed string (`rleEncodeString`, `rleDecodeString`).
 */

export type RleOrder = 'row-major' | 'column-major';

/** COCO run-length encoding: column-major runs of 0s and 1s, starting with 0s. */
export interface CocoRle {
  /** [height, width] */
  size: [number, number];
  /** Compressed (string) or uncompressed (number list) run lengths. */
  counts: string | number[];
}

/** Run lengths of a row-major `height`×`width` mask scanned in `order`; the last run is the mask's last pixel's. */
export function maskRuns(mask: Uint8Array, height: number, width: number, order: RleOrder): number[] {
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  const step = (m: number): void => {
    const v = m ? 1 : 0;
    if (v !== value) {
      counts.push(run);
      run = 0;
      value = v;
    }
    run++;
  };
  if (order === 'row-major') {
    for (let i = 0, n = height * width; i < n; i++) step(mask[i]!);
  } else {
    for (let x = 0; x < width; x++) for (let y = 0; y < height; y++) step(mask[y * width + x]!);
  }
  counts.push(run);
  return counts;
}

/**
 * The row-major `height`×`width` mask of run lengths scanned in `order`. Throws
 * on a run length that is not an integer ≥ 0 and on runs past the mask's end;
 * with `exact`, also when they end before it.
 */
export function runsToMask(counts: readonly number[], height: number, width: number, order: RleOrder, exact = false): Uint8Array {
  const n = height * width;
  const mask = new Uint8Array(n);
  let p = 0;
  let value = 0;
  for (const c of counts) {
    if (!(Number.isInteger(c) && c >= 0)) throw new Error(`RLE: bad run length ${c} at pixel ${p} (run lengths are integers ≥ 0)`);
    if (p + c > n) throw new Error(`RLE: bad run length ${c} at pixel ${p}: the runs add up to more than its ${width}x${height} size`);
    if (value === 1) {
      if (order === 'row-major') {
        mask.fill(1, p, p + c);
      } else {
        for (let j = p; j < p + c; j++) {
          const x = Math.floor(j / height);
          mask[(j - x * height) * width + x] = 1;
        }
      }
    }
    p += c;
    value = 1 - value;
  }
  if (exact && p !== n) throw new Error(`RLE: the runs cover ${p} pixels, the mask has ${width}x${height} = ${n}`);
  return mask;
}

// ---------------------------------------------------------------- row-major (generated datasets)

/**
 * Row-major run lengths of a binary mask as the generated datasets store them:
 * they start and end with a (possibly empty) run of zeros, so there is an odd
 * number of counts; they sum to the mask's size.
 */
export function encodeRle(mask: Uint8Array): number[] {
  const counts = maskRuns(mask, 1, mask.length, 'row-major');
  if (counts.length % 2 === 0) counts.push(0);
  return counts;
}

/** Decodes `encodeRle` counts into a `width`×`height` 0/1 mask; throws when they do not cover exactly its pixels. */
export function decodeRle(counts: readonly number[], width: number, height: number): Uint8Array {
  return runsToMask(counts, height, width, 'row-major', true);
}

/**
 * `encodeRle` of the pixels where `owner === k`, scanning only inside `box`
 * (xyxy; all such pixels must lie in it): the generators' owner maps give every
 * object's mask without a full-image pass per object.
 */
export function encodeOwnerRle(owner: Int16Array, k: number, box: readonly number[], width: number, height: number): number[] {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  const counts: number[] = [];
  let last = 0;
  let open = false;
  const fullRows = x1 === 0 && x2 === width;
  for (let y = y1; y < y2; y++) {
    const row = y * width;
    for (let x = x1; x < x2; x++) {
      const p = row + x;
      if ((owner[p] === k) !== open) {
        counts.push(p - last);
        last = p;
        open = !open;
      }
    }
    if (open && !fullRows) {
      const p = row + x2;
      counts.push(p - last);
      last = p;
      open = false;
    }
  }
  const n = width * height;
  if (open) {
    const p = (y2 - 1) * width + x2;
    counts.push(p - last);
    last = p;
  }
  // `counts` so far ends with a ones-run (or is empty); close with the trailing zeros.
  counts.push(n - last);
  return counts;
}

// ---------------------------------------------------------------- column-major (COCO)

/** A row-major H×W mask as an uncompressed COCO RLE. */
export function maskToRle(mask: Uint8Array, height: number, width: number): CocoRle {
  return { size: [height, width], counts: maskRuns(mask, height, width, 'column-major') };
}

/** A COCO RLE (compressed or not) as a row-major H×W 0/1 mask. */
export function rleToMask(rle: CocoRle): Uint8Array {
  const [h, w] = rle.size;
  return runsToMask(typeof rle.counts === 'string' ? rleDecodeString(rle.counts) : rle.counts, h, w, 'column-major');
}

/**
 * Decodes pycocotools' compressed RLE string (rleFrString): each count is
 * written as 5-bit chunks, least significant first, in characters offset by 48;
 * bit 0x20 says another chunk follows and bit 0x10 of the last chunk is the
 * sign. From the fourth count on (index > 2) the value stored is the difference
 * to the count two places earlier.
 */
export function rleDecodeString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error(`RLE string ends inside a count (at character ${p})`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE string has an invalid character '${s[p]}' at ${p}`);
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x |= -1 << (5 * k);
    }
    const m = counts.length;
    if (m > 2) x += counts[m - 2]!;
    counts.push(x);
  }
  return counts;
}

/** The inverse of rleDecodeString (pycocotools' rleToString). */
export function rleEncodeString(counts: readonly number[]): string {
  let out = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  }
  return out;
}

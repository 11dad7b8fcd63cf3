/**
 * Non-maximum suppression and detection post-processing (YOLOv5
 * non_max_suppression semantics) on plain typed arrays.
 *
 * Greedy NMS: candidates are visited by descending score (ties: lower index
 * first) and a candidate is kept unless a kept box of its group overlaps it
 * with IoU > iouThr (strict, as torchvision). Comparing each candidate only to
 * the kept boxes makes the cost O(candidates × kept) and lets the loop stop
 * as soon as maxDet boxes are kept.
 */

export interface Detection {
  /** [x1, y1, x2, y2] in the decoded coordinates (input pixels). */
  box: [number, number, number, number];
  /** obj · cls. */
  score: number;
  cls: number;
}

export interface PostprocessOptions {
  /** Candidates need obj > confThres and obj·cls > confThres (default 0.25). */
  confThres?: number;
  /** NMS IoU threshold (default 0.45). */
  iouThres?: number;
  /** Maximum detections per image (default 300). */
  maxDet?: number;
  /** Class-agnostic NMS (default false). */
  agnostic?: boolean;
  /** Every class above confThres gives a candidate (default true); else only the best class. */
  multiLabel?: boolean;
  /**
   * Class offset of the offset trick (default 7680). Class-aware NMS here keeps
   * one kept-list per class, which is what boxes offset by cls·maxWh give while
   * they lie within [0, maxWh); boxes wider or taller than maxWh are dropped.
   */
  maxWh?: number;
  /** At most this many top-scoring candidates enter NMS (default 30000). */
  maxNms?: number;
  /** Keep only these classes (default: all). */
  classes?: readonly number[];
}

const TIE_SHIFT = 8388608; // 2^23
const F32_ONE_BITS = 0x3f800000;
const BUCKET_SHIFT = 13;

/** Scores all in [0, 1] (float32 bits ≤ those of 1: excludes negatives, −0 and NaN) and few enough to pack with their index. */
function packable(bits: Uint32Array): boolean {
  if (bits.length >= TIE_SHIFT) return false;
  for (let i = 0; i < bits.length; i++) if (bits[i]! > F32_ONE_BITS) return false;
  return true;
}

/** Sorts idx in place by descending score, ties by ascending index, via packed float64 keys and the native sort. */
function sortPacked(idx: Int32Array, bits: Uint32Array): void {
  const keys = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) keys[k] = (F32_ONE_BITS - bits[idx[k]!]!) * TIE_SHIFT + idx[k]!;
  keys.sort();
  for (let k = 0; k < idx.length; k++) idx[k] = keys[k]! % TIE_SHIFT;
}

/**
 * Indices of scores[0..count) sorted by descending score, ties by ascending
 * index. Scores in [0, 1] (the common case) sort as packed float64 keys with
 * the native typed-array sort; anything else uses a comparator (NaN last).
 */
export function argsortDesc(scores: Float32Array, count = scores.length): Int32Array {
  let out: Int32Array | null = null;
  forEachSortedChunk(scores, count, Infinity, (idx) => {
    out = idx;
    return false;
  });
  return out ?? new Int32Array(0);
}

/**
 * Visits the indices of scores[0..count) in descending-score order (ties by
 * ascending index), in chunks of at least `chunk` (growing ×2), until `visit`
 * returns false. Scores in [0, 1] are first bucketed by their top float bits
 * in one counting pass, so only the chunks actually visited get sorted.
 */
function forEachSortedChunk(scores: Float32Array, count: number, chunk: number, visit: (idx: Int32Array) => boolean): void {
  if (count === 0) return;
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, count);
  if (!packable(bits)) {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = i;
    const key = (i: number): number => (Number.isNaN(scores[i]!) ? -Infinity : scores[i]!);
    out.sort((a, b) => key(b) - key(a) || a - b);
    visit(out);
    return;
  }
  if (count <= chunk) {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = i;
    sortPacked(out, bits);
    visit(out);
    return;
  }
  // Counting sort on the top bits, highest bucket first (stable: indices ascend within a bucket).
  const top = F32_ONE_BITS >>> BUCKET_SHIFT;
  const starts = new Int32Array(top + 2);
  for (let i = 0; i < count; i++) starts[top - (bits[i]! >>> BUCKET_SHIFT) + 1]!++;
  for (let b = 1; b <= top + 1; b++) starts[b]! += starts[b - 1]!;
  const fill = starts.slice(0, top + 1);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[fill[top - (bits[i]! >>> BUCKET_SHIFT)]!++] = i;
  let b = 0;
  let size = chunk;
  while (b <= top) {
    const from = starts[b]!;
    while (b <= top && starts[b + 1]! - from < size) b++;
    const to = b <= top ? starts[++b]! : count;
    if (to === from) continue;
    const slice = order.subarray(from, to);
    sortPacked(slice, bits);
    if (!visit(slice)) return;
    size *= 2;
  }
}

/** Greedy NMS state: kept boxes per group, each [x1, y1, x2, y2, area]. */
class Greedy {
  readonly kept: number[] = [];
  private readonly groups = new Map<number, number[]>();

  constructor(private readonly iouThr: number) {}

  /** Keeps box `id` of group `g` unless a kept box of its group overlaps it with IoU > iouThr. */
  offer(id: number, g: number, x1: number, y1: number, x2: number, y2: number): boolean {
    let list = this.groups.get(g);
    if (!list) {
      list = [];
      this.groups.set(g, list);
    }
    const area = Math.max(x2 - x1, 0) * Math.max(y2 - y1, 0);
    for (let k = 0; k < list.length; k += 5) {
      const iw = Math.min(x2, list[k + 2]!) - Math.max(x1, list[k]!);
      if (iw <= 0) continue;
      const ih = Math.min(y2, list[k + 3]!) - Math.max(y1, list[k + 1]!);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const union = area + list[k + 4]! - inter;
      if (union > 0 && inter / union > this.iouThr) return false;
    }
    list.push(x1, y1, x2, y2, area);
    this.kept.push(id);
    return true;
  }
}

/**
 * Greedy NMS of n boxes (flat xyxy, 4 per box) by score: kept indices sorted
 * by descending score (ties: lower index first), at most maxOut. A box is
 * suppressed by a kept box with IoU > iouThr.
 */
export function nonMaxSuppression(boxesXyxy: ArrayLike<number>, scores: ArrayLike<number>, iouThr: number, maxOut = Infinity): Int32Array {
  const n = scores.length;
  if (boxesXyxy.length !== 4 * n) throw new Error(`nonMaxSuppression: ${boxesXyxy.length} box numbers for ${n} scores`);
  const s = scores instanceof Float32Array ? scores : Float32Array.from(scores);
  const g = new Greedy(iouThr);
  if (maxOut <= 0) return new Int32Array(0);
  forEachSortedChunk(s, n, 4096, (idx) => {
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      if (g.offer(i, 0, boxesXyxy[4 * i]!, boxesXyxy[4 * i + 1]!, boxesXyxy[4 * i + 2]!, boxesXyxy[4 * i + 3]!) && g.kept.length >= maxOut)
        return false;
    }
    return true;
  });
  return Int32Array.from(g.kept);
}

/** Growable candidate list. */
class Candidates {
  rows = new Int32Array(1024);
  cls = new Int32Array(1024);
  scores = new Float32Array(1024);
  length = 0;

  push(row: number, cls: number, score: number): void {
    if (this.length === this.rows.length) {
      const cap = this.rows.length * 2;
      const rows = new Int32Array(cap);
      rows.set(this.rows);
      this.rows = rows;
      const c = new Int32Array(cap);
      c.set(this.cls);
      this.cls = c;
      const s = new Float32Array(cap);
      s.set(this.scores);
      this.scores = s;
    }
    this.rows[this.length] = row;
    this.cls[this.length] = cls;
    this.scores[this.length] = score;
    this.length++;
  }
}

/**
 * Post-processes one image's decoded rows [cx, cy, w, h, obj, cls_0…] (flat,
 * 5+nc per row) into detections sorted by descending score: score = obj·cls;
 * rows need obj > confThres, classes obj·cls > confThres (multi-label: every
 * such class; else the best class only); class-aware (or agnostic) greedy NMS;
 * at most maxDet detections.
 */
export function postprocess(decoded: ArrayLike<number>, nc: number, options: PostprocessOptions = {}): Detection[] {
  const confThres = options.confThres ?? 0.25;
  const iouThres = options.iouThres ?? 0.45;
  const maxDet = options.maxDet ?? 300;
  const agnostic = options.agnostic ?? false;
  const multiLabel = options.multiLabel ?? true;
  const maxWh = options.maxWh ?? 7680;
  const maxNms = options.maxNms ?? 30000;
  if (!Number.isInteger(nc) || nc < 1) throw new Error(`postprocess: nc must be a positive integer; got ${nc}`);
  const no = 5 + nc;
  if (decoded.length % no !== 0) throw new Error(`postprocess: ${decoded.length} numbers is not a multiple of 5+nc=${no}`);
  if (!(confThres >= 0 && confThres <= 1)) throw new Error(`postprocess: confThres must be in [0, 1]; got ${confThres}`);
  if (!(iouThres >= 0 && iouThres <= 1)) throw new Error(`postprocess: iouThres must be in [0, 1]; got ${iouThres}`);
  const n = decoded.length / no;
  let allowed: Uint8Array | null = null;
  if (options.classes) {
    allowed = new Uint8Array(nc);
    for (const c of options.classes) if (c >= 0 && c < nc) allowed[c] = 1;
  }
  if (maxDet <= 0) return [];

  // Confidence filter (obj first: obj·cls ≤ obj for sigmoid scores).
  const cand = new Candidates();
  for (let r = 0; r < n; r++) {
    const base = r * no;
    const obj = decoded[base + 4]!;
    if (!(obj > confThres)) continue;
    const w = decoded[base + 2]!,
      h = decoded[base + 3]!;
    if (w > maxWh || h > maxWh) continue;
    if (multiLabel) {
      for (let c = 0; c < nc; c++) {
        const sc = obj * decoded[base + 5 + c]!;
        if (sc > confThres && (!allowed || allowed[c])) cand.push(r, c, sc);
      }
    } else {
      let best = -1,
        bestS = -Infinity;
      for (let c = 0; c < nc; c++) {
        const sc = obj * decoded[base + 5 + c]!;
        if (sc > bestS) {
          bestS = sc;
          best = c;
        }
      }
      if (best >= 0 && bestS > confThres && (!allowed || allowed[best])) cand.push(r, best, bestS);
    }
  }
  const total = cand.length;
  if (total === 0) return [];

  // Greedy NMS over the candidates by descending score: at most maxNms visited, maxDet kept.
  const g = new Greedy(iouThres);
  let visited = 0;
  forEachSortedChunk(cand.scores, total, Math.max(4096, 8 * maxDet), (idx) => {
    for (let k = 0; k < idx.length; k++) {
      if (visited++ >= maxNms) return false;
      const i = idx[k]!;
      const base = cand.rows[i]! * no;
      const cx = decoded[base]!,
        cy = decoded[base + 1]!,
        hw = decoded[base + 2]! / 2,
        hh = decoded[base + 3]! / 2;
      if (g.offer(i, agnostic ? 0 : cand.cls[i]!, cx - hw, cy - hh, cx + hw, cy + hh) && g.kept.length >= maxDet) return false;
    }
    return true;
  });
  return g.kept.map((i) => {
    const base = cand.rows[i]! * no;
    const cx = decoded[base]!,
      cy = decoded[base + 1]!,
      hw = decoded[base + 2]! / 2,
      hh = decoded[base + 3]! / 2;
    return { box: [cx - hw, cy - hh, cx + hw, cy + hh], score: cand.scores[i]!, cls: cand.cls[i]! };
  });
}

/** `postprocess` for a batch: decoded is [batch, N, 5+nc] flattened; one list per image. */
export function postprocessBatch(decoded: ArrayLike<number>, batch: number, nc: number, options: PostprocessOptions = {}): Detection[][] {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`postprocessBatch: batch must be a positive integer; got ${batch}`);
  if (decoded.length % batch !== 0) throw new Error(`postprocessBatch: ${decoded.length} numbers do not split into ${batch} images`);
  const per = decoded.length / batch;
  const out: Detection[][] = [];
  for (let b = 0; b < batch; b++) {
    const slice =
      decoded instanceof Float32Array || decoded instanceof Float64Array
        ? decoded.subarray(b * per, (b + 1) * per)
        : (Array.prototype.slice.call(decoded, b * per, (b + 1) * per) as number[]);
    out.push(postprocess(slice, nc, options));
  }
  return out;
}

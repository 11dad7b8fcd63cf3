/**
 * Target assignment for the YOLO detection loss: which (image, anchor, cell) of
 * which output level is responsible for each ground-truth box, and what it must
 * predict there. Plain typed-array loops over boxes × anchors (× 5 cells); the
 * grid itself is never scanned.
 *
 * Ground truth of a batch (the "target table"): a Float32Array of rows
 *
 *   [imageIndex, cls, cx, cy, w, h]          (TARGET_ROW = 6 numbers per box)
 *
 * with imageIndex the image's position in the batch (integer ≥ 0), cls the class
 * index (integer ≥ 0) and the box centre and size in input pixels (the network
 * input after letterboxing, origin at the top-left corner). Every box must have
 * finite values, w > 0, h > 0 and its centre inside the input image; a row that
 * breaks this raises an error that names it (nothing is dropped silently here:
 * degenerate boxes are the data pipeline's to report and remove).
 *
 * Rules:
 *  - 'v5' (YOLOv4-CSP / scaled YOLOv4 / YOLOv5 / YOLOR): on every level, a box is
 *    matched to every anchor whose width and height ratios r (box / anchor) all
 *    satisfy max(r, 1/r) < anchorT (4.0). Each match is assigned to the cell
 *    holding the centre and to the (up to) two neighbouring cells nearest to the
 *    centre, with g = 0.5 (in grid units gx = cx / stride):
 *      left   if frac(gx) < 0.5 and gx > 1        right  if frac(gx) > 0.5 and gx < nx − 1
 *      up     if frac(gy) < 0.5 and gy > 1        down   if frac(gy) > 0.5 and gy < ny − 1
 *    (YOLOv5's conditions, except that a centre on an exact integer coordinate
 *    gets no duplicate of its own cell.) A box may match no anchor on any level;
 *    `unmatched` counts those.
 *  - 'v3' (YOLOv3): each box goes to the single anchor, over all levels, whose
 *    [w, h] has the highest IoU with the box's [w, h] (both centred; first wins
 *    ties), and only to the cell holding its centre. No anchor_t filter.
 *
 * Output, per level, N positives with (all arrays of length N unless noted):
 *   b, a, gj, gi   image index, anchor index within the level, cell row and column
 *   tbox           Float32Array N×4: [x, y, w, h] — x, y the centre relative to the
 *                  cell's top-left corner in grid units (in [0, 1) for the own cell,
 *                  in (−0.5, 1.5) for a 'v5' neighbour; exactly 1 only for a centre
 *                  on the image's right/bottom edge), w, h the box size in grid units
 *   anchorWh       Float32Array N×2: the matched anchor's [w, h] in grid units
 *   cls            the class index
 *   gt             the row of the target table the positive comes from
 * The flat index of a positive in a level's map reshaped to [B·ny·nx·na, 5 + nc]
 * is ((b·ny + gj)·nx + gi)·na + a. Several boxes may land on the same
 * (b, a, gj, gi); each stays a separate positive.
 */

export const TARGET_ROW = 6;

export type AssignRule = 'v5' | 'v3';
export const ASSIGN_RULES: readonly AssignRule[] = ['v5', 'v3'];

export interface AssignSpec {
  /** Anchors per level as [w, h] in input pixels (e.g. ModelConfig.anchors); every level the same count. */
  anchors: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  /** Stride of each level (e.g. Detector.strides). */
  strides: readonly number[];
  /** Grid size [ny, nx] of each level (the map's H and W); see `gridsFor`. */
  grids: ReadonlyArray<readonly [number, number]>;
  /** Default 'v5'. */
  rule?: AssignRule;
  /** 'v5' anchor ratio threshold (default 4.0). */
  anchorT?: number;
  /** When given, image indices must be below it. */
  batchSize?: number;
  /** When given, class indices must be below it. */
  nc?: number;
}

export interface LevelTargets {
  count: number;
  b: Int32Array;
  a: Int32Array;
  gj: Int32Array;
  gi: Int32Array;
  tbox: Float32Array;
  anchorWh: Float32Array;
  cls: Int32Array;
  gt: Int32Array;
}

export interface Assignment {
  rule: AssignRule;
  levels: LevelTargets[];
  /** [ny, nx] per level. */
  grids: Array<[number, number]>;
  strides: number[];
  /** Anchors per level (the spec's, in input pixels). */
  anchors: Array<Array<[number, number]>>;
  /** Positives per level. */
  counts: number[];
  /** Positives over all levels. */
  total: number;
  /** Boxes in the table. */
  numBoxes: number;
  /** Boxes that received no positive on any level ('v5' with no anchor within anchorT). */
  unmatched: number;
}

/** Grid sizes [ny, nx] of the levels for an input of h × w pixels (h and w multiples of every stride). */
export function gridsFor(h: number, w: number, strides: readonly number[]): Array<[number, number]> {
  return strides.map((s) => {
    if (h % s !== 0 || w % s !== 0) throw new Error(`gridsFor: input ${h}x${w} is not a multiple of stride ${s}`);
    return [h / s, w / s] as [number, number];
  });
}

/** Grid sizes [ny, nx] read from raw head maps [B, ny, nx, C]. */
export function gridsOfMaps(maps: ReadonlyArray<{ shape: readonly number[] }>): Array<[number, number]> {
  return maps.map((m) => [m.shape[1]!, m.shape[2]!] as [number, number]);
}

class Growing {
  b: number[] = [];
  a: number[] = [];
  gj: number[] = [];
  gi: number[] = [];
  tbox: number[] = [];
  anchorWh: number[] = [];
  cls: number[] = [];
  gt: number[] = [];

  push(
    b: number,
    a: number,
    gj: number,
    gi: number,
    x: number,
    y: number,
    w: number,
    h: number,
    aw: number,
    ah: number,
    cls: number,
    gt: number,
  ): void {
    this.b.push(b);
    this.a.push(a);
    this.gj.push(gj);
    this.gi.push(gi);
    this.tbox.push(x, y, w, h);
    this.anchorWh.push(aw, ah);
    this.cls.push(cls);
    this.gt.push(gt);
  }

  finish(): LevelTargets {
    return {
      count: this.b.length,
      b: Int32Array.from(this.b),
      a: Int32Array.from(this.a),
      gj: Int32Array.from(this.gj),
      gi: Int32Array.from(this.gi),
      tbox: Float32Array.from(this.tbox),
      anchorWh: Float32Array.from(this.anchorWh),
      cls: Int32Array.from(this.cls),
      gt: Int32Array.from(this.gt),
    };
  }
}

function checkSpec(spec: AssignSpec): void {
  const nl = spec.strides.length;
  if (nl === 0) throw new Error('buildTargets: no output levels');
  if (spec.anchors.length !== nl) throw new Error(`buildTargets: ${spec.anchors.length} anchor levels for ${nl} strides`);
  if (spec.grids.length !== nl) throw new Error(`buildTargets: ${spec.grids.length} grids for ${nl} strides`);
  const na = spec.anchors[0]!.length;
  spec.anchors.forEach((l, i) => {
    if (l.length !== na || na === 0)
      throw new Error(`buildTargets: level ${i} has ${l.length} anchors (every level needs the same, non-zero count ${na})`);
    for (const [w, h] of l) {
      if (!(w > 0 && h > 0)) throw new Error(`buildTargets: level ${i} has a non-positive anchor [${w}, ${h}]`);
    }
  });
  spec.grids.forEach(([ny, nx], i) => {
    if (!(Number.isInteger(ny) && Number.isInteger(nx) && ny > 0 && nx > 0))
      throw new Error(`buildTargets: level ${i} grid [${ny}, ${nx}] is not a positive integer size`);
    if (!(spec.strides[i]! > 0)) throw new Error(`buildTargets: level ${i} stride ${spec.strides[i]} is not positive`);
  });
  const rule = spec.rule ?? 'v5';
  if (!ASSIGN_RULES.includes(rule)) throw new Error(`buildTargets: unknown rule '${String(rule)}' (expected ${ASSIGN_RULES.join(', ')})`);
  if (!((spec.anchorT ?? 4) > 1)) throw new Error(`buildTargets: anchorT must be > 1, got ${spec.anchorT}`);
}

/** Throws, naming the row, unless every box of the table is valid (see the module comment). */
export function validateTargets(table: Float32Array, imgH: number, imgW: number, batchSize?: number, nc?: number): void {
  if (table.length % TARGET_ROW !== 0) {
    throw new Error(`targets: table length ${table.length} is not a multiple of ${TARGET_ROW} (rows are [imageIndex, cls, cx, cy, w, h])`);
  }
  const n = table.length / TARGET_ROW;
  for (let r = 0; r < n; r++) {
    const o = r * TARGET_ROW;
    const [img, cls, cx, cy, w, h] = [table[o]!, table[o + 1]!, table[o + 2]!, table[o + 3]!, table[o + 4]!, table[o + 5]!];
    const where = `targets row ${r} [${[img, cls, cx, cy, w, h].join(', ')}]`;
    if (![img, cls, cx, cy, w, h].every(Number.isFinite)) throw new Error(`${where}: non-finite value`);
    if (!(w > 0 && h > 0)) throw new Error(`${where}: box has w = ${w}, h = ${h}; width and height must be > 0`);
    if (!Number.isInteger(img) || img < 0 || (batchSize !== undefined && img >= batchSize)) {
      throw new Error(`${where}: image index ${img} is not an integer in [0, ${batchSize ?? '∞'})`);
    }
    if (!Number.isInteger(cls) || cls < 0 || (nc !== undefined && cls >= nc)) {
      throw new Error(`${where}: class ${cls} is not an integer in [0, ${nc ?? '∞'})`);
    }
    if (cx < 0 || cx > imgW || cy < 0 || cy > imgH) {
      throw new Error(`${where}: centre (${cx}, ${cy}) lies outside the ${imgW}x${imgH} input`);
    }
  }
}

/** IoU of two [w, h] boxes sharing a centre. */
export function whIou(w1: number, h1: number, w2: number, h2: number): number {
  const inter = Math.min(w1, w2) * Math.min(h1, h2);
  return inter / (w1 * h1 + w2 * h2 - inter);
}

/** Builds the per-level targets of a batch; see the module comment for the formats and rules. */
export function buildTargets(table: Float32Array, spec: AssignSpec): Assignment {
  checkSpec(spec);
  const rule = spec.rule ?? 'v5';
  const anchorT = spec.anchorT ?? 4;
  const nl = spec.strides.length;
  const na = spec.anchors[0]!.length;
  const [ny0, nx0] = spec.grids[0]!;
  validateTargets(table, ny0 * spec.strides[0]!, nx0 * spec.strides[0]!, spec.batchSize, spec.nc);
  const n = table.length / TARGET_ROW;
  const out = Array.from({ length: nl }, () => new Growing());
  const matched = new Uint8Array(n);

  if (rule === 'v3') {
    for (let r = 0; r < n; r++) {
      const o = r * TARGET_ROW;
      const w = table[o + 4]!;
      const h = table[o + 5]!;
      let best = -1;
      let bl = 0;
      let ba = 0;
      for (let l = 0; l < nl; l++) {
        for (let a = 0; a < na; a++) {
          const [aw, ah] = spec.anchors[l]![a]!;
          const iou = whIou(w, h, aw, ah);
          if (iou > best) {
            best = iou;
            bl = l;
            ba = a;
          }
        }
      }
      const s = spec.strides[bl]!;
      const [ny, nx] = spec.grids[bl]!;
      const gx = table[o + 2]! / s;
      const gy = table[o + 3]! / s;
      const gi = Math.min(Math.floor(gx), nx - 1);
      const gj = Math.min(Math.floor(gy), ny - 1);
      const [aw, ah] = spec.anchors[bl]![ba]!;
      out[bl]!.push(table[o]!, ba, gj, gi, gx - gi, gy - gj, w / s, h / s, aw / s, ah / s, table[o + 1]!, r);
      matched[r] = 1;
    }
  } else {
    for (let l = 0; l < nl; l++) {
      const s = spec.strides[l]!;
      const [ny, nx] = spec.grids[l]!;
      const g = out[l]!;
      for (let r = 0; r < n; r++) {
        const o = r * TARGET_ROW;
        const img = table[o]!;
        const cls = table[o + 1]!;
        const gx = table[o + 2]! / s;
        const gy = table[o + 3]! / s;
        const gw = table[o + 4]! / s;
        const gh = table[o + 5]! / s;
        // Own cell (a centre on the right/bottom edge belongs to the last cell) and the neighbours.
        const fi = Math.floor(gx);
        const fj = Math.floor(gy);
        const gi = Math.min(fi, nx - 1);
        const gj = Math.min(fj, ny - 1);
        const fx = gx - fi;
        const fy = gy - fj;
        // (fi < nx: a centre on the right edge already uses cell nx − 1, which would be its "left" one.)
        const left = fx < 0.5 && gx > 1 && fi < nx;
        const up = fy < 0.5 && gy > 1 && fj < ny;
        const right = fx > 0.5 && gx < nx - 1;
        const down = fy > 0.5 && gy < ny - 1;
        for (let a = 0; a < na; a++) {
          const [apw, aph] = spec.anchors[l]![a]!;
          const aw = apw / s;
          const ah = aph / s;
          const rw = gw / aw;
          const rh = gh / ah;
          if (!(Math.max(rw, 1 / rw, rh, 1 / rh) < anchorT)) continue;
          matched[r] = 1;
          g.push(img, a, gj, gi, gx - gi, gy - gj, gw, gh, aw, ah, cls, r);
          if (left) g.push(img, a, gj, gi - 1, gx - (gi - 1), gy - gj, gw, gh, aw, ah, cls, r);
          if (up) g.push(img, a, gj - 1, gi, gx - gi, gy - (gj - 1), gw, gh, aw, ah, cls, r);
          if (right) g.push(img, a, gj, gi + 1, gx - (gi + 1), gy - gj, gw, gh, aw, ah, cls, r);
          if (down) g.push(img, a, gj + 1, gi, gx - gi, gy - (gj + 1), gw, gh, aw, ah, cls, r);
        }
      }
    }
  }

  const levels = out.map((g) => g.finish());
  const counts = levels.map((l) => l.count);
  let unmatched = 0;
  for (let r = 0; r < n; r++) if (!matched[r]) unmatched++;
  return {
    rule,
    levels,
    grids: spec.grids.map(([ny, nx]) => [ny, nx] as [number, number]),
    strides: spec.strides.slice(),
    anchors: spec.anchors.map((l) => l.map(([w, h]) => [w, h] as [number, number])),
    counts,
    total: counts.reduce((a, b) => a + b, 0),
    numBoxes: n,
    unmatched,
  };
}

/**
 * Box geometry on plain typed arrays (no tf). Boxes are flat arrays, 4 numbers
 * per box: xyxy = [x1, y1, x2, y2], xywh = [cx, cy, w, h] (centre, size), in
 * pixels. Areas use (x2 − x1)·(y2 − y1) (no +1), as torchvision and YOLOv5 do.
 */

export type BoxArray = ArrayLike<number>;

/** [x1,y1,x2,y2]×n → [cx,cy,w,h]×n (a new Float32Array, or `out`). */
export function xyxyToXywh(boxes: BoxArray, out: Float32Array = new Float32Array(boxes.length)): Float32Array {
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    const x1 = boxes[i]!,
      y1 = boxes[i + 1]!,
      x2 = boxes[i + 2]!,
      y2 = boxes[i + 3]!;
    out[i] = (x1 + x2) / 2;
    out[i + 1] = (y1 + y2) / 2;
    out[i + 2] = x2 - x1;
    out[i + 3] = y2 - y1;
  }
  return out;
}

/** [cx,cy,w,h]×n → [x1,y1,x2,y2]×n (a new Float32Array, or `out`). */
export function xywhToXyxy(boxes: BoxArray, out: Float32Array = new Float32Array(boxes.length)): Float32Array {
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    const cx = boxes[i]!,
      cy = boxes[i + 1]!,
      hw = boxes[i + 2]! / 2,
      hh = boxes[i + 3]! / 2;
    out[i] = cx - hw;
    out[i + 1] = cy - hh;
    out[i + 2] = cx + hw;
    out[i + 3] = cy + hh;
  }
  return out;
}

/** Area of the xyxy box starting at `offset` (0 for inverted boxes). */
export function boxArea(box: BoxArray, offset = 0): number {
  const w = box[offset + 2]! - box[offset]!;
  const h = box[offset + 3]! - box[offset + 1]!;
  return w > 0 && h > 0 ? w * h : 0;
}

/** Areas of n xyxy boxes. */
export function boxAreas(boxes: BoxArray): Float32Array {
  const n = boxes.length >> 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = boxArea(boxes, i * 4);
  return out;
}

/** IoU of the xyxy box `a` (at `ao`) and `b` (at `bo`); 0 when the union is empty. */
export function boxIou(a: BoxArray, b: BoxArray, ao = 0, bo = 0): number {
  const ax1 = a[ao]!,
    ay1 = a[ao + 1]!,
    ax2 = a[ao + 2]!,
    ay2 = a[ao + 3]!;
  const bx1 = b[bo]!,
    by1 = b[bo + 1]!,
    bx2 = b[bo + 2]!,
    by2 = b[bo + 3]!;
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const areaA = Math.max(ax2 - ax1, 0) * Math.max(ay2 - ay1, 0);
  const areaB = Math.max(bx2 - bx1, 0) * Math.max(by2 - by1, 0);
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/** Pairwise IoU of n boxes `a` and m boxes `b` (xyxy): a Float32Array n×m, row-major. */
export function iouMatrix(a: BoxArray, b: BoxArray): Float32Array {
  const n = a.length >> 2;
  const m = b.length >> 2;
  const out = new Float32Array(n * m);
  const areaB = boxAreas(b);
  for (let i = 0; i < n; i++) {
    const ax1 = a[i * 4]!,
      ay1 = a[i * 4 + 1]!,
      ax2 = a[i * 4 + 2]!,
      ay2 = a[i * 4 + 3]!;
    const areaA = Math.max(ax2 - ax1, 0) * Math.max(ay2 - ay1, 0);
    const row = i * m;
    for (let j = 0; j < m; j++) {
      const o = j * 4;
      const iw = Math.min(ax2, b[o + 2]!) - Math.max(ax1, b[o]!);
      if (iw <= 0) continue;
      const ih = Math.min(ay2, b[o + 3]!) - Math.max(ay1, b[o + 1]!);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const union = areaA + areaB[j]! - inter;
      out[row + j] = union > 0 ? inter / union : 0;
    }
  }
  return out;
}

/**
 * IoU of two boxes given only by width and height, aligned at a common corner
 * (the anchor-matching IoU): min(w)·min(h) / (w1·h1 + w2·h2 − min(w)·min(h)).
 */
export function whIou(w1: number, h1: number, w2: number, h2: number): number {
  const inter = Math.max(Math.min(w1, w2), 0) * Math.max(Math.min(h1, h2), 0);
  const union = w1 * h1 + w2 * h2 - inter;
  return union > 0 ? inter / union : 0;
}

/** Pairwise wh-IoU of n (w,h) pairs and m (w,h) pairs: Float32Array n×m, row-major. */
export function whIouMatrix(wh1: BoxArray, wh2: BoxArray): Float32Array {
  const n = wh1.length >> 1;
  const m = wh2.length >> 1;
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const w = wh1[2 * i]!,
      h = wh1[2 * i + 1]!;
    for (let j = 0; j < m; j++) out[i * m + j] = whIou(w, h, wh2[2 * j]!, wh2[2 * j + 1]!);
  }
  return out;
}

/** Clips xyxy boxes in place to [0, width] × [0, height]; returns `boxes`. */
export function clipBoxes<T extends Float32Array | Float64Array | number[]>(boxes: T, width: number, height: number): T {
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max(boxes[i]!, 0), width);
    boxes[i + 1] = Math.min(Math.max(boxes[i + 1]!, 0), height);
    boxes[i + 2] = Math.min(Math.max(boxes[i + 2]!, 0), width);
    boxes[i + 3] = Math.min(Math.max(boxes[i + 3]!, 0), height);
  }
  return boxes;
}

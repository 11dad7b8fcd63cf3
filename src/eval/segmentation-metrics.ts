/**
 * Semantic segmentation metrics from a confusion matrix accumulated over
 * images. Classes are 0..numClasses-1; class 0 (background in our use) is an
 * ordinary class and is included in mIoU.
 *
 * - `add(pred, target, ignoreIndex)`: one entry per pixel, matrix[target, pred]
 *   (row-major, rows = true class). Pixels whose target is `ignoreIndex` (255)
 *   are skipped without looking at the prediction; any other value outside
 *   [0, numClasses) in target or pred (a prediction of `ignoreIndex` on a
 *   counted pixel included) throws an Error naming it.
 * - IoU per class = TP / (TP + FP + FN) = M[c,c] / (row c + column c - M[c,c]);
 *   NaN when the class appears in neither target nor prediction.
 * - mIoU = mean of the non-NaN IoUs (NaN if all are NaN).
 * - Pixel accuracy = trace / total counted pixels (NaN with none).
 */
export class SegmentationConfusion {
  readonly numClasses: number;
  private readonly m: Float64Array;

  constructor(numClasses: number) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
    }
    this.numClasses = numClasses;
    this.m = new Float64Array(numClasses * numClasses);
  }

  /** Adds one image (or any batch of pixels): pred and target are class maps of equal length. */
  add(pred: ArrayLike<number>, target: ArrayLike<number>, ignoreIndex = 255): void {
    if (pred.length !== target.length) {
      throw new Error(`pred (${pred.length}) and target (${target.length}) must have the same length`);
    }
    const k = this.numClasses;
    const bad = (v: number): boolean => !(Number.isInteger(v) && v >= 0 && v < k);
    // Validate first so a bad value leaves the matrix unchanged.
    for (let i = 0; i < target.length; i++) {
      const t = target[i];
      if (t === ignoreIndex) continue;
      if (bad(t)) throw new Error(`target value ${t} at index ${i} is outside [0, ${k}) and is not ignoreIndex ${ignoreIndex}`);
      const p = pred[i];
      if (bad(p)) throw new Error(`pred value ${p} at index ${i} is outside [0, ${k})`);
    }
    for (let i = 0; i < target.length; i++) {
      const t = target[i];
      if (t === ignoreIndex) continue;
      this.m[t * k + pred[i]] += 1;
    }
  }

  /** A copy of the confusion matrix, [target, pred] row-major, numClasses². */
  get matrix(): Float64Array {
    return this.m.slice();
  }

  /** Per-class IoU; NaN for a class absent from both target and prediction. */
  iou(): Float64Array {
    const k = this.numClasses;
    const out = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      let row = 0;
      let col = 0;
      for (let j = 0; j < k; j++) {
        row += this.m[c * k + j];
        col += this.m[j * k + c];
      }
      const tp = this.m[c * k + c];
      const union = row + col - tp;
      out[c] = union > 0 ? tp / union : Number.NaN;
    }
    return out;
  }

  /** Mean IoU over classes with a defined IoU (background included); NaN if none. */
  mIoU(): number {
    let sum = 0;
    let count = 0;
    for (const v of this.iou()) {
      if (!Number.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    return count > 0 ? sum / count : Number.NaN;
  }

  /** Correctly classified pixels / counted pixels; NaN when nothing was counted. */
  pixelAccuracy(): number {
    const k = this.numClasses;
    let total = 0;
    let correct = 0;
    for (let i = 0; i < this.m.length; i++) total += this.m[i];
    for (let c = 0; c < k; c++) correct += this.m[c * k + c];
    return total > 0 ? correct / total : Number.NaN;
  }
}

/**
 * Multi-label classification metrics. Scores and targets are row-major
 * [n, numLabels]; a target counts as positive when it is >= 0.5 (targets are
 * meant to be 0 / 1). A NaN score ranks below every other score and is never
 * a predicted positive.
 *
 * - `multiLabelAP`: per label, scikit-learn's `average_precision_score`.
 *   Samples are sorted by decreasing score and each distinct score is one
 *   threshold (tied samples enter together); with precision P_k and recall R_k
 *   at the k-th threshold and R_0 = 0, AP = sum_k (R_k - R_{k-1}) P_k. Without
 *   ties this is the mean, over positives, of the precision at each positive's
 *   rank. A label without positives has AP NaN and is left out of mAP.
 * - `multiLabelF1`: prediction = score >= threshold. Per label F1 =
 *   2TP / (2TP + FP + FN) (0 when TP = 0 but FP or FN > 0); macro F1 averages
 *   it over labels with at least one positive or predicted positive; micro F1,
 *   precision and recall come from TP / FP / FN summed over all labels.
 *   Undefined ratios (0 / 0) are NaN: precision with no predicted positives,
 *   recall with no positives, F1 micro / macro with neither.
 */

function checkShape(scores: ArrayLike<number>, targets: ArrayLike<number>, n: number, numLabels: number): void {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(numLabels) || numLabels < 0) {
    throw new Error(`n (${n}) and numLabels (${numLabels}) must be non-negative integers`);
  }
  if (scores.length !== n * numLabels || targets.length !== n * numLabels) {
    throw new Error(`scores (${scores.length}) and targets (${targets.length}) must both hold n * numLabels = ${n * numLabels} values`);
  }
}

const isPositive = (t: number): boolean => t >= 0.5;

/** Per-label average precision (scikit-learn definition) and its mean over labels with a positive. */
export function multiLabelAP(scores: Float32Array, targets: Float32Array, n: number, numLabels: number): { ap: Float64Array; mAP: number } {
  checkShape(scores, targets, n, numLabels);
  const ap = new Float64Array(numLabels).fill(Number.NaN);
  const order = new Int32Array(n);
  const key = new Float64Array(n);
  let sum = 0;
  let counted = 0;
  for (let c = 0; c < numLabels; c++) {
    let npos = 0;
    for (let i = 0; i < n; i++) {
      const s = scores[i * numLabels + c];
      key[i] = Number.isNaN(s) ? -Infinity : s;
      if (isPositive(targets[i * numLabels + c])) npos++;
      order[i] = i;
    }
    if (npos === 0) continue;
    order.sort((a, b) => key[b] - key[a] || a - b);
    let tp = 0;
    let fp = 0;
    let prevRecall = 0;
    let value = 0;
    for (let k = 0; k < n; ) {
      // One threshold: take every sample tied at this score.
      const s = key[order[k]];
      while (k < n && key[order[k]] === s) {
        if (isPositive(targets[order[k] * numLabels + c])) tp++;
        else fp++;
        k++;
      }
      const recall = tp / npos;
      value += (recall - prevRecall) * (tp / (tp + fp));
      prevRecall = recall;
    }
    ap[c] = value;
    sum += value;
    counted++;
  }
  return { ap, mAP: counted > 0 ? sum / counted : Number.NaN };
}

/** Micro / macro F1 and micro precision / recall at a score threshold. */
export function multiLabelF1(
  scores: Float32Array,
  targets: Float32Array,
  n: number,
  numLabels: number,
  threshold = 0.5,
): { f1Micro: number; f1Macro: number; precision: number; recall: number } {
  checkShape(scores, targets, n, numLabels);
  let TP = 0;
  let FP = 0;
  let FN = 0;
  let macroSum = 0;
  let macroCount = 0;
  for (let c = 0; c < numLabels; c++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < n; i++) {
      const pred = scores[i * numLabels + c] >= threshold;
      const pos = isPositive(targets[i * numLabels + c]);
      if (pred && pos) tp++;
      else if (pred) fp++;
      else if (pos) fn++;
    }
    TP += tp;
    FP += fp;
    FN += fn;
    const denom = 2 * tp + fp + fn;
    if (denom > 0) {
      macroSum += (2 * tp) / denom;
      macroCount++;
    }
  }
  const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);
  return {
    f1Micro: ratio(2 * TP, 2 * TP + FP + FN),
    f1Macro: macroCount > 0 ? macroSum / macroCount : Number.NaN,
    precision: ratio(TP, TP + FP),
    recall: ratio(TP, TP + FN),
  };
}

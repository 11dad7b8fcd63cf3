/**
 * Letterbox geometry (Ultralytics `letterbox`): resize keeping the aspect
 * ratio, then pad to the destination size (or, with `auto`, only up to the
 * next multiple of `stride`), the padding split in two halves as
 * left = round(dw − 0.1), right = round(dw + 0.1) (same for top/bottom), dw
 * being half the total horizontal padding.
 *
 * Box mapping uses the single gain `scale` for both axes, as Ultralytics'
 * label transform and scale_boxes do:
 *   letterboxed = original·scale + pad,   original = (letterboxed − pad) / scale.
 */

export interface LetterboxParams {
  /** Resize gain (same for both axes). */
  scale: number;
  /** Left padding in pixels. */
  padX: number;
  /** Top padding in pixels. */
  padY: number;
  /** Size of the resized image before padding. */
  newW: number;
  newH: number;
  /** Right and bottom padding in pixels. */
  padRight: number;
  padBottom: number;
  /** Size of the letterboxed image: newW + padX + padRight, newH + padY + padBottom. */
  dstW: number;
  dstH: number;
}

/** Python's round(): halves to even. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0; // + 0 turns −0 into 0
}

/**
 * Letterbox parameters for a srcW×srcH image into `dstSize` (a square side,
 * or [width, height]). `auto` pads only to a multiple of `stride` (minimum
 * rectangle); `scaleUp = false` never enlarges the image.
 */
export function letterboxParams(
  srcW: number,
  srcH: number,
  dstSize: number | readonly [number, number],
  stride = 32,
  auto = false,
  scaleUp = true,
): LetterboxParams {
  const [dw0, dh0] = typeof dstSize === 'number' ? [dstSize, dstSize] : dstSize;
  if (!(srcW > 0 && srcH > 0)) throw new Error(`letterboxParams: source size must be positive; got ${srcW}×${srcH}`);
  if (!(dw0 > 0 && dh0 > 0)) throw new Error(`letterboxParams: destination size must be positive; got ${dw0}×${dh0}`);
  if (auto && !(stride > 0)) throw new Error(`letterboxParams: stride must be positive; got ${stride}`);
  let scale = Math.min(dw0 / srcW, dh0 / srcH);
  if (!scaleUp) scale = Math.min(scale, 1);
  const newW = pyRound(srcW * scale);
  const newH = pyRound(srcH * scale);
  let dw = dw0 - newW;
  let dh = dh0 - newH;
  if (auto) {
    dw = ((dw % stride) + stride) % stride;
    dh = ((dh % stride) + stride) % stride;
  }
  const padX = pyRound(dw / 2 - 0.1),
    padRight = pyRound(dw / 2 + 0.1);
  const padY = pyRound(dh / 2 - 0.1),
    padBottom = pyRound(dh / 2 + 0.1);
  return {
    scale,
    padX,
    padY,
    newW,
    newH,
    padRight,
    padBottom,
    dstW: newW + padX + padRight,
    dstH: newH + padY + padBottom,
  };
}

/** Maps xyxy boxes (flat, 4 per box) of the original image into the letterboxed one. */
export function letterboxBoxes(boxes: ArrayLike<number>, params: LetterboxParams): Float32Array {
  const out = new Float32Array(boxes.length);
  const { scale, padX, padY } = params;
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = boxes[i]! * scale + padX;
    out[i + 1] = boxes[i + 1]! * scale + padY;
    out[i + 2] = boxes[i + 2]! * scale + padX;
    out[i + 3] = boxes[i + 3]! * scale + padY;
  }
  return out;
}

/**
 * Maps xyxy boxes (flat, 4 per box) from the letterboxed image back to the
 * srcW×srcH original: subtract the padding, divide by the scale, clip.
 */
export function unletterboxBoxes(
  boxes: ArrayLike<number>,
  params: Pick<LetterboxParams, 'scale' | 'padX' | 'padY'>,
  srcW: number,
  srcH: number,
): Float32Array {
  const out = new Float32Array(boxes.length);
  const { scale, padX, padY } = params;
  const clip = (v: number, hi: number): number => (v < 0 ? 0 : Math.min(v, hi));
  for (let i = 0; i + 3 < boxes.length; i += 4) {
    out[i] = clip((boxes[i]! - padX) / scale, srcW);
    out[i + 1] = clip((boxes[i + 1]! - padY) / scale, srcH);
    out[i + 2] = clip((boxes[i + 2]! - padX) / scale, srcW);
    out[i + 3] = clip((boxes[i + 3]! - padY) / scale, srcH);
  }
  return out;
}

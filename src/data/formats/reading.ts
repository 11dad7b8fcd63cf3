/**
 * What every reader shares: the box check that clips or drops (and reports)
 * boxes outside their image, and bounded concurrency for image-header reads.
 */
import type { BadInput } from '../types.js';

/** Checks and clips one box; returns null (and reports) when it must be dropped. */
export function validateBox(
  box: [number, number, number, number],
  width: number,
  height: number,
  where: string,
  bad: BadInput[],
  file: string,
): [number, number, number, number] | null {
  const [x1, y1, x2, y2] = box;
  if (!(x2 > x1) || !(y2 > y1)) {
    bad.push({ file, problem: `${where}: box [${box.join(', ')}] has non-positive width or height`, action: 'dropped' });
    return null;
  }
  if (x2 <= 0 || y2 <= 0 || x1 >= width || y1 >= height) {
    bad.push({ file, problem: `${where}: box [${box.join(', ')}] lies outside the ${width}x${height} image`, action: 'dropped' });
    return null;
  }
  const clipped: [number, number, number, number] = [Math.max(0, x1), Math.max(0, y1), Math.min(width, x2), Math.min(height, y2)];
  if (clipped.some((v, i) => v !== box[i])) {
    bad.push({ file, problem: `${where}: box [${box.join(', ')}] extends outside the ${width}x${height} image; clipped`, action: 'clipped' });
  }
  return clipped;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

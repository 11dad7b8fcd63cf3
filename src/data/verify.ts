/**
 * Pre-flight check of a split's image files (header only, a few at a time):
 * missing or undecodable images are found before training or evaluation starts,
 * so the run aborts with the full report, or skips and counts them (--skip-bad).
 */
import { readImageSize } from './image-io.js';
import type { BadInput, ImageRecord } from './types.js';

export async function verifyImages(records: readonly ImageRecord[], concurrency = 8): Promise<{ good: ImageRecord[]; bad: BadInput[] }> {
  const ok = new Array<boolean>(records.length).fill(true);
  const bad: BadInput[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < records.length; i = next++) {
      const r = records[i]!;
      try {
        const size = await readImageSize(r.file);
        if (size.width !== r.width || size.height !== r.height) {
          throw new Error(`${r.file}: image is ${size.width}x${size.height} but its annotation says ${r.width}x${r.height}`);
        }
      } catch (err) {
        ok[i] = false;
        bad.push({ file: r.file, problem: (err as Error).message.replace(`${r.file}: `, ''), action: 'fatal' });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, worker));
  return { good: records.filter((_, i) => ok[i]), bad };
}

/** Aborts with the report, or (skipBad) drops the bad images and says how many. */
export function applyImageReport(split: string, v: { good: ImageRecord[]; bad: BadInput[] }, skipBad: boolean, log: (s: string) => void): ImageRecord[] {
  if (v.bad.length === 0) return v.good;
  const lines = v.bad.slice(0, 10).map((b) => `  ${b.file}: ${b.problem}`).join('\n');
  const more = v.bad.length > 10 ? `\n  … and ${v.bad.length - 10} more` : '';
  if (!skipBad) {
    throw new Error(`${v.bad.length} unreadable image(s) in the ${split} split (use --skip-bad to skip them):\n${lines}${more}`);
  }
  log(`skipping ${v.bad.length} unreadable image(s) in the ${split} split:\n${lines}${more}`);
  for (const b of v.bad) b.action = 'skipped';
  return v.good;
}

/**
 * A small VOC dataset of real BCCD images plus two bad ones: `truncated.jpg`
 * (a BCCD image cut to half its bytes: its header is intact, its pixel data is
 * not) and `random.jpg` (random bytes with a .jpg name), both in the train split
 * with annotations like any other image. Needs the shared BCCD data (HAS_BCCD).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BCCD } from './shared-data.js';

export interface BadImageDataset {
  root: string;
  /** Absolute paths of the good train and val images. */
  train: string[];
  val: string[];
  truncated: string;
  random: string;
}

function bccdStem(i: number): string {
  return `BloodImage_${String(i).padStart(5, '0')}`;
}

/** `nTrain` good train images, `nVal` good val images and the two bad train images, under `root`. */
export function bccdWithBadImages(root: string, nTrain = 3, nVal = 2): BadImageDataset {
  for (const d of ['Annotations', 'JPEGImages', join('ImageSets', 'Main')]) mkdirSync(join(root, d), { recursive: true });
  const add = (stem: string, image: Buffer, annotationOf: string): string => {
    const file = join(root, 'JPEGImages', `${stem}.jpg`);
    writeFileSync(file, image);
    const xml = readFileSync(join(BCCD, 'Annotations', `${annotationOf}.xml`), 'utf8').replace(
      /<filename>[^<]*<\/filename>/,
      `<filename>${stem}.jpg</filename>`,
    );
    writeFileSync(join(root, 'Annotations', `${stem}.xml`), xml);
    return file;
  };
  const copy = (i: number): string => add(bccdStem(i), readFileSync(join(BCCD, 'JPEGImages', `${bccdStem(i)}.jpg`)), bccdStem(i));
  const train = Array.from({ length: nTrain }, (_, i) => copy(i));
  const val = Array.from({ length: nVal }, (_, i) => copy(nTrain + i));
  const whole = readFileSync(join(BCCD, 'JPEGImages', `${bccdStem(10)}.jpg`));
  const truncated = add('truncated', whole.subarray(0, whole.length >> 1), bccdStem(10));
  const random = add('random', randomBytes(20_000), bccdStem(11));
  const stems = (files: string[]) => files.map((f) => f.slice(f.lastIndexOf('/') + 1, -'.jpg'.length)).join('\n');
  writeFileSync(join(root, 'ImageSets', 'Main', 'train.txt'), `${stems([...train, truncated, random])}\n`);
  writeFileSync(join(root, 'ImageSets', 'Main', 'val.txt'), `${stems(val)}\n`);
  return { root, train, val, truncated, random };
}

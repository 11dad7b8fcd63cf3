/**
 * The Pascal VOC format: a root folder with Annotations/*.xml (images in
 * JPEGImages/, splits in ImageSets/Main/<split>.txt). classes.txt, when present,
 * fixes the class order; otherwise names are sorted. Read (also synchronously)
 * by ./read.ts, written by ./write.ts.
 */
import type { DetectionDataset } from '../../types.js';
import type { DatasetFormat, FormatMatch } from '../format.js';
import { isVocRoot, readVoc, vocClassNames } from './read.js';
import { writeVoc } from './write.js';

export type VocMatch = FormatMatch<'voc'>;

/** A VOC root with the class order of its classes.txt, when it has one. */
function readVocRoot(root: string): DetectionDataset {
  const names = vocClassNames(root);
  return names ? readVoc(root, { names }) : readVoc(root);
}

export const vocFormat = {
  name: 'voc',
  describe: {
    entry: 'a Pascal VOC root folder',
    folder: 'a Pascal VOC root (expected Annotations/ with .xml files)',
    notFolder: 'not a Pascal VOC root (expected Annotations/ with .xml files)',
    notFile: 'a file; a Pascal VOC dataset is the root folder (the one with Annotations/)',
  },
  extensions: [],
  partFiles: { '.xml': 'a single VOC annotation file; pass the VOC root folder (the one with Annotations/)' },
  detect: (path, ctx) => (ctx.folder && isVocRoot(path) ? { format: 'voc', path } : null),
  read: async (match) => readVocRoot(match.path),
  readSync: (match) => readVocRoot(match.path),
  write: writeVoc,
} satisfies DatasetFormat<'voc', VocMatch>;

/**
 * The names of the dataset formats, without their code, so that the CLI can
 * offer them as choices (`--from`, `--to`) without loading the readers and
 * writers (sharp, yaml). The formats themselves are in ./registry.ts, which
 * has exactly one entry per name here: the compiler checks it (and that every
 * writable format has a writer), and test/data/format-registry.test.ts checks
 * it again at run time.
 */

/** Every dataset format, as the CLI lists them (detection order is the registry's). */
export const FORMAT_NAMES = ['coco', 'yolo', 'voc'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** The formats with a writer (`yolor data convert --to`). */
export const WRITABLE_FORMATS = ['coco', 'yolo', 'voc'] as const satisfies readonly FormatName[];
export type WritableFormat = (typeof WRITABLE_FORMATS)[number];

/** What `--from` / `LoadDatasetOptions.format` accepts: a format, or 'auto' to detect it. */
export const FORMAT_REQUESTS = ['auto', ...FORMAT_NAMES] as const;
export type DatasetFormatRequest = (typeof FORMAT_REQUESTS)[number];

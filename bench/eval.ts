/**
 * npm run bench:eval — time of evaluateCoco (pycocotools-equivalent bbox
 * evaluation) on a synthetic COCO-sized set: 5,000 images with about 7 ground
 * truth boxes each and 100 detections per image over 80 classes (seeded, so
 * every run scores the same data). Target: under 20 s on 2 cores.
 * Then the post-processing of one YOLO output at 640 px (25,200 candidate rows ×
 * 80 classes of random scores → confidence filter, class-aware NMS, max_det 300),
 * best of 5 after a warm-up.
 * Options: --images N, --dets N, --seed S, --rounds R (best of), --json.
 */
import { pathToFileURL } from 'node:url';
import { type CocoAnnotation, type CocoDet, type CocoGt, evaluateCoco, formatCocoSummary } from '../src/eval/coco.js';
import { postprocess } from '../src/tasks/detect/nms.js';
import { Rng } from '../src/util/rng.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

export function syntheticCoco(nImages: number, detsPerImage: number, nClasses: number, seed: number): { gt: CocoGt; dt: CocoDet[] } {
  const rng = new Rng(seed);
  const W = 640;
  const H = 480;
  const images = Array.from({ length: nImages }, (_, i) => ({ id: i + 1, width: W, height: H }));
  const categories = Array.from({ length: nClasses }, (_, i) => ({ id: i + 1, name: `class${i + 1}` }));
  const annotations: CocoAnnotation[] = [];
  const dt: CocoDet[] = [];
  const box = (): [number, number, number, number] => {
    // Log-uniform sizes from ~8 px to ~400 px so all three area ranges are populated.
    const w = Math.exp(Math.log(8) + rng.next() * Math.log(50));
    const h = w * Math.exp((rng.next() - 0.5) * 1.2);
    const bw = Math.min(w, W - 1);
    const bh = Math.min(h, H - 1);
    return [rng.next() * (W - bw), rng.next() * (H - bh), bw, bh];
  };
  let annId = 1;
  for (const im of images) {
    const nGt = rng.int(1, 13); // mean 7
    const gts: Array<{ b: [number, number, number, number]; c: number }> = [];
    for (let g = 0; g < nGt; g++) {
      const b = box();
      const c = rng.int(1, nClasses);
      const crowd = rng.next() < 0.01 ? 1 : 0;
      annotations.push({ id: annId++, image_id: im.id, category_id: c, bbox: b, area: b[2] * b[3] * (0.6 + 0.4 * rng.next()), iscrowd: crowd });
      gts.push({ b, c });
    }
    let n = 0;
    for (const g of gts) {
      // 1-3 jittered detections per object, mostly of the right class.
      const k = rng.int(1, 3);
      for (let j = 0; j < k && n < detsPerImage; j++, n++) {
        const s = 0.15 * rng.normal();
        const [x, y, w, h] = g.b;
        const bw = Math.max(1, w * (1 + 0.2 * rng.normal()));
        const bh = Math.max(1, h * (1 + 0.2 * rng.normal()));
        const c = rng.next() < 0.9 ? g.c : rng.int(1, nClasses);
        dt.push({
          image_id: im.id,
          category_id: c,
          bbox: [x + s * w, y + s * h, bw, bh],
          score: Math.min(1, Math.max(0.001, 0.6 + 0.3 * rng.normal())),
        });
      }
    }
    for (; n < detsPerImage; n++) {
      dt.push({ image_id: im.id, category_id: rng.int(1, nClasses), bbox: box(), score: rng.next() * 0.5 });
    }
  }
  return { gt: { images, annotations, categories }, dt };
}

/** Decoded rows of a 640 px, 80-class YOLO output with random boxes and scores. */
export function randomDecodedRows(seed: number, n = 25200, nc = 80): Float32Array {
  const no = 5 + nc;
  const rng = new Rng(seed);
  const d = new Float32Array(n * no);
  for (let r = 0; r < n; r++) {
    d[r * no] = rng.next() * 640;
    d[r * no + 1] = rng.next() * 640;
    d[r * no + 2] = 5 + rng.next() * 200;
    d[r * no + 3] = 5 + rng.next() * 200;
    for (let c = 4; c < no; c++) d[r * no + c] = 1 / (1 + Math.exp(-rng.normal()));
  }
  return d;
}

/** Best-of-5 milliseconds of postprocess on 25,200 rows × 80 classes, and its detections. */
function timePostprocess(seed: number): { ms: number; detections: number } {
  const d = randomDecodedRows(seed);
  postprocess(d, 80);
  let best = Number.POSITIVE_INFINITY;
  let detections = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    detections = postprocess(d, 80).length;
    best = Math.min(best, performance.now() - t);
  }
  return { ms: best, detections };
}

function main(): void {
  const nImages = arg('images', 5000);
  const dets = arg('dets', 100);
  const seed = arg('seed', 1);
  const rounds = arg('rounds', 1);
  const json = process.argv.includes('--json');
  const t0 = performance.now();
  const { gt, dt } = syntheticCoco(nImages, dets, 80, seed);
  const genS = (performance.now() - t0) / 1000;
  let best = Number.POSITIVE_INFINITY;
  let stats: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    stats = evaluateCoco(gt, dt).stats;
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  const nms = timePostprocess(seed);
  const row = {
    images: nImages,
    groundTruth: gt.annotations.length,
    detections: dt.length,
    classes: 80,
    seconds: best,
    imagesPerSecond: nImages / best,
    generateSeconds: genS,
    stats,
    postprocess: { rows: 25200, classes: 80, ms: nms.ms, detections: nms.detections },
  };
  if (json) {
    console.log(JSON.stringify(row, null, 2));
    return;
  }
  console.log(`evaluateCoco: ${nImages} images, ${row.groundTruth} ground-truth boxes, ${row.detections} detections, 80 classes`);
  console.log(
    `  ${best.toFixed(2)} s${rounds > 1 ? ` (best of ${rounds})` : ''}, ${row.imagesPerSecond.toFixed(0)} images/s  (data generation ${genS.toFixed(2)} s, not counted)`,
  );
  console.log(formatCocoSummary(stats));
  console.log(
    `postprocess (confidence filter, class-aware NMS, max_det 300): 25,200 rows × 80 classes in ${nms.ms.toFixed(1)} ms (best of 5), ${nms.detections} detections`,
  );
}

// Importable (for syntheticCoco) without running the benchmark.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();

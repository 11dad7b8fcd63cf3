/**
 * npm run demo:screenshot — the README's screenshot of the browser demo
 * (docs/images/demo.png): trains a small multi-task model on shapes-small
 * (yolor-n, detect + classify + segment, 128 px, 100 epochs: 34 min on 2
 * shared cores, best mAP50 0.595; reused when the run folder already holds it), serves it with `yolor serve-demo` (TF.js, the
 * checkpoint's own validation images as samples), opens the page in headless
 * Chromium on wasm and saves the first view — nothing clicked: the page
 * opens on the first validation image, detected — as a palette PNG.
 *
 * Options: --weights CKPT (skip training), --epochs N (default 100), --conf P
 * (default 0.25), --out FILE (default docs/images/demo.png), --project DIR
 * (default runs/demo-screenshot).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { initBackend } from '../src/engine/backend.js';
import { serveDemo } from '../src/export/demo/serve.js';
import { defaultReplicas } from '../src/train/parallel/replica-pool.js';
import { train } from '../src/train/trainer.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** The checkpoint to show: --weights, else the run of this many epochs (trained now unless it is there). */
async function weights(): Promise<string> {
  const given = arg('--weights');
  if (given) return resolve(given);
  const epochs = Number(arg('--epochs') ?? 100);
  const project = resolve(arg('--project') ?? 'runs/demo-screenshot');
  const name = `e${epochs}`;
  const best = join(project, name, 'weights', 'best');
  if (existsSync(join(best, 'model.json')) && existsSync(join(project, name, 'results.csv'))) {
    process.stderr.write(`using ${best} (delete ${join(project, name)} to train again)\n`);
    return best;
  }
  const t0 = Date.now();
  const r = await train({
    data: 'shapes-small',
    model: 'yolor-n',
    epochs,
    batch: 8,
    imgsz: 128,
    tasks: ['detect', 'classify', 'segment'],
    project,
    name,
    seed: 0,
    workers: defaultReplicas(8),
    optimizer: 'auto',
    patience: epochs,
    cache: false,
    valSplit: 'val',
    nbs: 8,
  });
  if (r.runDir !== join(project, name)) throw new Error(`trained into ${r.runDir}, expected ${join(project, name)} (a partial run is in the way?)`);
  const row = r.rows.find((x) => x.epoch === r.best.epoch);
  process.stderr.write(
    `trained ${epochs} epochs in ${((Date.now() - t0) / 60_000).toFixed(1)} min: best epoch ${r.best.epoch}, ` +
      `mAP50 ${row?.['metrics/mAP50(B)'].toFixed(3)}\n`,
  );
  return join(r.runDir, 'weights', 'best');
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  const out = resolve(arg('--out') ?? 'docs/images/demo.png');
  const conf = Number(arg('--conf') ?? 0.25);
  await initBackend('auto');
  const ckpt = await weights();
  const server = await serveDemo({ weights: ckpt, format: 'tfjs', port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1080, height: 770 } });
    await page.goto(`${server.url}?backend=wasm&conf=${conf}`);
    await page.waitForFunction('window.__yolor.runs >= 1 && window.__yolor.ready || window.__yolor.error !== null', undefined, { timeout: 120_000 });
    const state = (await page.evaluate('window.__yolor')) as {
      error: string | null;
      source: string;
      detections: Array<{ name: string; score: number }>;
      labels: Array<{ name: string; score: number }> | null;
      segment: Array<{ name: string; share: number }> | null;
    };
    if (state.error) throw new Error(`page error: ${state.error}`);
    const png = await page.screenshot({ fullPage: false });
    mkdirSync(dirname(out), { recursive: true });
    // A palette PNG: the page is mostly flat colour, so 256 colours keep it sharp at a fraction of the size.
    await writeFile(out, await sharp(png).png({ palette: true, colours: 256, effort: 10 }).toBuffer());
    const present = state.labels?.filter((l) => l.score >= 0.5).map((l) => `${l.name} ${l.score.toFixed(2)}`) ?? [];
    process.stdout.write(
      `${out}: ${(statSync(out).size / 1024).toFixed(0)} KB — ${state.source}: ${state.detections.length} detections ` +
        `(${state.detections
          .slice(0, 6)
          .map((d) => `${d.name} ${d.score.toFixed(2)}`)
          .join(', ')}); labels ${present.join(', ') || 'none'}; ` +
        `segment ${state.segment?.map((c) => `${c.name} ${(c.share * 100).toFixed(1)} %`).join(', ') ?? '-'} (${ckpt})\n`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo-screenshot: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

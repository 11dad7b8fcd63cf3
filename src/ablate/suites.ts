/**
 * The ablation suites of `yolor ablate`, after the YOLOR paper's experiments.
 * Each variant is one or more training runs described by model-config overrides
 * (the base model's config with these fields replaced), the tasks trained and
 * optional task loss weights:
 *   feature-alignment      no implicit knowledge vs ImplicitAdd / ImplicitMul /
 *                          ImplicitConcat on the neck outputs (detection)
 *   prediction-refinement  none vs add (before the prediction conv) vs multiply
 *                          (after it) vs both, in the detection heads
 *   modelling              implicit knowledge as a vector vs a small network g(z)
 *                          vs a matrix factorisation Zᵀc (alignment + refinement)
 *   multitask              detection alone vs detection + embedding (JDE) vs the
 *                          same with task-specific implicit knowledge (iJDE), and
 *                          the four-task unified network vs four single-task
 *                          networks of the same total size
 */
import type { TaskName } from '../models/config.js';

export interface AblationRun {
  /** Suffix of the run directory (variants with several runs). */
  label: string;
  /** Model config fields replacing the base model's (config file keys). */
  overrides: Record<string, unknown>;
  tasks: TaskName[];
  taskWeights?: Partial<Record<TaskName, number>>;
  /** Which metrics this run contributes (variants of several runs); all when absent. */
  provides?: string[];
  /** Self-supervised pretraining of the encoder before the run (`yolor pretrain` with these pretext tasks). */
  pretrain?: { tasks: string[] };
}

export interface AblationVariant {
  id: string;
  description: string;
  runs: AblationRun[];
  /** Width multiple of every run to be chosen so that the runs' parameters sum to the named variant's. */
  matchParamsOf?: string;
}

export interface AblationSuite {
  name: string;
  title: string;
  metricOrder: string[];
  variants: AblationVariant[];
}

/** results.csv column of each reported metric. */
export const METRIC_COLUMNS: Readonly<Record<string, string>> = {
  mAP50: 'metrics/mAP50(B)',
  'mAP50-95': 'metrics/mAP50-95(B)',
  'emb top-1': 'metrics/top1(E)',
  'emb mAP': 'metrics/mAP(E)',
  'cls mAP': 'metrics/mAP(C)',
  'cls F1': 'metrics/F1(C)',
  mIoU: 'metrics/mIoU(S)',
  /** The linear probe (best layer) of the encoder the run starts from: set by the pretext suite, not read from results.csv. */
  'probe top-1': 'probe/top1',
};

const DETECT: TaskName[] = ['detect'];
const noImplicit = { implicit: { align: 'none', refine: 'none' }, task_implicit: 'none' };
const fullImplicit = (kind = 'vector') => ({ implicit: { align: 'add', refine: 'both', kind }, task_implicit: 'add' });

function single(id: string, description: string, overrides: Record<string, unknown>, tasks: TaskName[] = DETECT): AblationVariant {
  return { id, description, runs: [{ label: '', overrides, tasks }] };
}

/** A detection run whose encoder is first pretrained by `tasks` (none: from scratch). */
function pretext(id: string, description: string, tasks: string[]): AblationVariant {
  return { id, description, runs: [{ label: '', overrides: {}, tasks: DETECT, ...(tasks.length ? { pretrain: { tasks } } : {}) }] };
}

export const SUITES: readonly AblationSuite[] = [
  {
    name: 'feature-alignment',
    title: 'Implicit feature alignment on the neck outputs (detection)',
    metricOrder: ['mAP50-95', 'mAP50'],
    variants: [
      single('none', 'no implicit knowledge', { implicit: { align: 'none', refine: 'none' } }),
      single('add', 'ImplicitAdd on each neck output', { implicit: { align: 'add', refine: 'none' } }),
      single('mul', 'ImplicitMul on each neck output', { implicit: { align: 'mul', refine: 'none' } }),
      single('concat', 'ImplicitConcat (8 channels) on each neck output', { implicit: { align: 'concat', refine: 'none' } }),
    ],
  },
  {
    name: 'prediction-refinement',
    title: 'Implicit prediction refinement in the detection heads',
    metricOrder: ['mAP50-95', 'mAP50'],
    variants: [
      single('none', 'no refinement', { implicit: { align: 'none', refine: 'none' } }),
      single('add', 'ImplicitAdd before each prediction conv', { implicit: { align: 'none', refine: 'add' } }),
      single('mul', 'ImplicitMul after each prediction conv', { implicit: { align: 'none', refine: 'mul' } }),
      single('both', 'add before and multiply after', { implicit: { align: 'none', refine: 'both' } }),
    ],
  },
  {
    name: 'modelling',
    title: 'Modelling implicit knowledge: vector vs neural network vs matrix factorisation',
    metricOrder: ['mAP50-95', 'mAP50'],
    variants: [
      single('none', 'no implicit knowledge (reference)', { implicit: { align: 'none', refine: 'none' } }),
      single('vector', 'z a learned vector', { implicit: { align: 'add', refine: 'both', kind: 'vector' } }),
      single('nn', 'z = g(z₀), a one-layer network of a latent z₀', { implicit: { align: 'add', refine: 'both', kind: 'nn' } }),
      single('mf', 'z = Zᵀc, a rank-8 matrix factorisation', { implicit: { align: 'add', refine: 'both', kind: 'mf' } }),
    ],
  },
  {
    name: 'multitask',
    title: 'One representation for several tasks: JDE, iJDE and the unified network',
    metricOrder: ['mAP50-95', 'mAP50', 'emb top-1', 'emb mAP', 'cls mAP', 'mIoU'],
    variants: [
      single('detect', 'detection alone, no implicit knowledge', noImplicit),
      single('jde', 'detection + embedding (JDE), no implicit knowledge', noImplicit, ['detect', 'embed']),
      single('ijde', 'JDE + task-specific implicit knowledge (iJDE)', fullImplicit(), ['detect', 'embed']),
      single('unified', 'four tasks, one network, task-specific implicit knowledge', fullImplicit(), ['detect', 'classify', 'segment', 'embed']),
      {
        id: 'single×4',
        description: 'four single-task networks, together the size of unified',
        matchParamsOf: 'unified',
        runs: [
          { label: 'detect', overrides: fullImplicit(), tasks: ['detect'], provides: ['mAP50-95', 'mAP50'] },
          { label: 'classify', overrides: fullImplicit(), tasks: ['classify'], provides: ['cls mAP', 'cls F1'] },
          { label: 'segment', overrides: fullImplicit(), tasks: ['segment'], provides: ['mIoU'] },
          // Embeddings are taken at detection cells, so the embedding network keeps a detection head
          // for its target assignment but gives the detection loss no weight.
          { label: 'embed', overrides: fullImplicit(), tasks: ['detect', 'embed'], taskWeights: { detect: 0 }, provides: ['emb top-1', 'emb mAP'] },
        ],
      },
    ],
  },
  {
    name: 'pretext',
    title: 'Self-supervised pretraining: scratch vs each pretext task vs their combination vs contrastive',
    metricOrder: ['mAP50-95', 'mAP50', 'probe top-1'],
    variants: [
      pretext('scratch', 'random initialisation (the probe row: random init)', []),
      pretext('rotation', 'rotation prediction (RotNet)', ['rotation']),
      pretext('jigsaw', 'jigsaw puzzles (100 permutations)', ['jigsaw']),
      pretext('patch-location', 'relative patch location', ['patch-location']),
      pretext('colorize', 'colourisation (262 ab bins, rebalanced)', ['colorize']),
      pretext('denoise', 'denoising autoencoder', ['denoise']),
      pretext('inpaint', 'context inpainting (L2)', ['inpaint']),
      pretext('count', 'learning to count', ['count']),
      pretext('combined', 'rotation + jigsaw + colorize + count in one run', ['rotation', 'jigsaw', 'colorize', 'count']),
      pretext('contrastive', 'SimCLR (NT-Xent), the modern baseline', ['contrastive']),
    ],
  },
];

export function findSuite(name: string): AblationSuite {
  const s = SUITES.find((x) => x.name === name);
  if (!s) throw new Error(`unknown ablation suite '${name}' (suites: ${SUITES.map((x) => x.name).join(', ')})`);
  return s;
}

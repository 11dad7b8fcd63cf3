/**
 * The jigsaw task's pixels (Noroozi & Favaro, ECCV 2016): a 3 × 3 grid of cells
 * over the image; from each cell a square tile about 4/5 of the cell's side at a
 * random position inside the cell (so that neighbouring tiles are separated by a
 * gap of about 1/5 of a cell on average, and edges do not continue from tile to
 * tile); the tiles put in the order a permutation says, each resized to the
 * network's tile input and normalised on its own (so that low-level statistics
 * do not tell the tiles apart).
 */
import type { Rng } from '../../util/rng.js';
import { cropResize, type FloatImage, roundUpTo } from '../image-ops.js';
import { TILES } from './permutations.js';

/** The fraction of a cell a tile covers (the paper: 64-pixel tiles in 75-pixel cells ≈ 0.85; ~1/5 gap here). */
export const TILE_FRACTION = 0.8;

export interface JigsawGeometry {
  /** Cell boundaries along x and y (4 each: cell c spans [xs[c], xs[c + 1])). */
  xs: number[];
  ys: number[];
  /** Side of a tile in image pixels (smaller than every cell). */
  tile: number;
  /** Side of a tile as the network sees it: a multiple of `stride`. */
  input: number;
}

/** The grid, tile and input sizes for a width × height image and an encoder of the given largest stride. */
export function jigsawGeometry(width: number, height: number, stride: number): JigsawGeometry {
  const bounds = (n: number): number[] => [0, 1, 2, 3].map((i) => Math.round((i * n) / 3));
  const xs = bounds(width);
  const ys = bounds(height);
  const minCell = Math.min(...[0, 1, 2].flatMap((i) => [xs[i + 1]! - xs[i]!, ys[i + 1]! - ys[i]!]));
  const tile = Math.min(Math.round((TILE_FRACTION * Math.min(width, height)) / 3), minCell - 1);
  if (tile < 4) throw new Error(`jigsaw: a ${width}×${height} image is too small for 3×3 tiles`);
  return { xs, ys, tile, input: roundUpTo(tile, stride) };
}

/** Top-left corners of the 9 tiles (row-major cells), each at a random position inside its cell. */
export function tileBoxes(g: JigsawGeometry, rng: Rng): Array<{ x: number; y: number }> {
  const boxes = [];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      const x = g.xs[c]! + rng.int(0, g.xs[c + 1]! - g.xs[c]! - g.tile);
      const y = g.ys[r]! + rng.int(0, g.ys[r + 1]! - g.ys[r]! - g.tile);
      boxes.push({ x, y });
    }
  return boxes;
}

/** The puzzle: slot j shows the tile of cell perm[j], resized to g.input (not normalised). */
export function shuffledTiles(
  img: FloatImage,
  perm: readonly number[],
  boxes: ReadonlyArray<{ x: number; y: number }>,
  g: JigsawGeometry,
): FloatImage[] {
  if (perm.length !== TILES || boxes.length !== TILES) throw new Error(`jigsaw: ${perm.length} slots, ${boxes.length} tiles (expected ${TILES})`);
  return perm.map((cell) => {
    const b = boxes[cell]!;
    return cropResize(img, b.x, b.y, g.tile, g.tile, g.input, g.input);
  });
}

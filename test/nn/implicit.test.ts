/**
 * YOLOR implicit knowledge layers: initial statistics of z, parameter groups and
 * counts per kind, forward semantics (add / mul / concat, per channel and per
 * position), gradients against finite differences, training with Adam, and the
 * constant copy used for folding.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { finiteDifferenceCheck } from '../../src/engine/check.js';
import {
  IMPLICIT_KINDS,
  ImplicitAdd,
  ImplicitConcat,
  type ImplicitKind,
  ImplicitMul,
  type ImplicitOp,
  type ImplicitOptions,
} from '../../src/nn/implicit.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/util/rng.js';

type Layer = ImplicitAdd | ImplicitMul | ImplicitConcat;
const OPS: readonly ImplicitOp[] = ['add', 'mul', 'concat'];

function make(op: ImplicitOp, channels: number, opts: ImplicitOptions): Layer {
  if (op === 'add') return new ImplicitAdd(channels, opts);
  if (op === 'mul') return new ImplicitMul(channels, opts);
  return new ImplicitConcat(channels, opts);
}

function rand(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  return tf.tensor(
    rng.normalArray(
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
    shape,
  );
}

function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** Values of a tensor computed in `fn`, which is then disposed. */
function read(fn: () => tf.Tensor): Float32Array {
  const t = tf.tidy(fn);
  const v = Float32Array.from(values(t));
  t.dispose();
  return v;
}

function stats(v: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(q / (v.length - 1)) };
}

function paramValue(layer: Layer, suffix: string): Float32Array {
  const p = layer.parameters().find((q) => q.name.endsWith(suffix));
  assert.ok(
    p,
    `parameter *${suffix} in [${layer
      .parameters()
      .map((q) => q.name)
      .join(', ')}]`,
  );
  return values(p.variable);
}

/**
 * The std of z given the latent draw: for nn, z = b + z₀W with W ~ N(0, σ/√k), so
 * std(z | z₀) = σ·√(mean z₀²); for mf, z = 1·id + cZ with Z ~ N(0, √(σ/k)), so
 * std(z | c) = √(σ/k · Σ c²). For vector it is σ.
 */
function conditionalStd(layer: Layer, kind: ImplicitKind, sigma: number, latent: number): number {
  if (kind === 'vector') return sigma;
  const lat = paramValue(layer, kind === 'nn' ? '.z0' : '.coef');
  assert.equal(lat.length, latent);
  let q = 0;
  for (const v of lat) q += v * v;
  return kind === 'nn' ? sigma * Math.sqrt(q / latent) : Math.sqrt((sigma / latent) * q);
}

before(async () => {
  await initBackend('wasm');
});

test('initial z: mean at the identity, std ≈ σ, for every kind and op', () => {
  const C = 1024;
  let seed = 100;
  for (const kind of IMPLICIT_KINDS) {
    for (const op of OPS) {
      for (const sigma of [0.02, 0.1]) {
        const rng = new Rng(seed++);
        const layer = make(op, C, { kind, sigma, rng });
        const where = `${op}/${kind}/σ=${sigma}`;
        const z = tf.tidy(() => tf.clone(layer.z.value()));
        assert.deepEqual(z.shape, [C], where);
        const { mean, std } = stats(values(z));
        const identity = op === 'mul' ? 1 : 0;
        assert.equal(layer.z.identity, identity, where);
        const cond = conditionalStd(layer, kind, sigma, 8);
        // Sample mean of C draws with std `cond`: well inside 6 standard errors.
        assert.ok(Math.abs(mean - identity) < (6 * cond) / Math.sqrt(C), `${where}: mean ${mean}`);
        // Given the latent draw, the channel std matches closely (sampling error ≈ 1/√(2C) ≈ 2%).
        assert.ok(Math.abs(std / cond - 1) < 0.1, `${where}: std ${std} vs conditional ${cond}`);
        // And it is σ up to the latent's chi-square factor (latent 8).
        assert.ok(std > 0.4 * sigma && std < 2 * sigma, `${where}: std ${std} vs σ ${sigma}`);
        z.dispose();
        layer.dispose();
      }
    }
  }
});

test('with a wide latent, nn and mf std is σ itself (chi-square factor averages out)', () => {
  const C = 1024;
  const latent = 256;
  for (const kind of ['nn', 'mf'] as const) {
    for (const sigma of [0.02, 0.1]) {
      const layer = new ImplicitAdd(C, { kind, sigma, latent, rng: new Rng(7) });
      const z = tf.tidy(() => tf.clone(layer.z.value()));
      const { mean, std } = stats(values(z));
      assert.ok(Math.abs(mean) < (6 * sigma) / Math.sqrt(C), `${kind}: mean ${mean}`);
      assert.ok(Math.abs(std / sigma - 1) < 0.15, `${kind}/σ=${sigma}: std ${std}`);
      z.dispose();
      layer.dispose();
    }
  }
});

test('default sigma is 0.02', () => {
  const layer = new ImplicitMul(2048, { rng: new Rng(8) });
  assert.equal(layer.z.kind, 'vector');
  const { mean, std } = stats(values(layer.z.value()));
  assert.ok(Math.abs(mean - 1) < 0.003, `mean ${mean}`);
  assert.ok(Math.abs(std / 0.02 - 1) < 0.1, `std ${std}`);
  layer.dispose();
});

test('parameters: all in group implicit, counts per kind', () => {
  const C = 12;
  const count = (kind: ImplicitKind, n: number, latent: number): number =>
    kind === 'vector' ? n : kind === 'nn' ? latent + latent * n + n : latent * n + latent;
  for (const kind of IMPLICIT_KINDS) {
    for (const op of OPS) {
      for (const latent of [undefined, 4]) {
        for (const spatial of [undefined, [3, 5] as [number, number]]) {
          const layer = make(op, C, { kind, latent, spatial, rng: new Rng(9) });
          const where = `${op}/${kind}/latent=${latent}/spatial=${spatial}`;
          const params = layer.parameters();
          assert.ok(params.length > 0, where);
          for (const p of params) assert.equal(p.group, 'implicit', `${where}: ${p.name}`);
          const groups = layer.parameterGroups();
          assert.equal(groups.implicit.length, params.length, where);
          assert.equal(groups.weight.length + groups.bias.length + groups.bn.length, 0, where);
          const n = spatial ? spatial[0] * spatial[1] * C : C;
          assert.equal(layer.numParams(), count(kind, n, latent ?? 8), where);
          const names = params.map((p) => p.name).sort();
          const expected =
            kind === 'vector'
              ? ['implicit.z']
              : kind === 'nn'
                ? ['implicit.fc.bias', 'implicit.fc.weight', 'implicit.z0']
                : ['implicit.basis', 'implicit.coef'];
          assert.deepEqual(names, expected, where);
          assert.deepEqual(layer.z.shape, spatial ? [...spatial, C] : [C], where);
          layer.dispose();
        }
      }
    }
  }
});

test('forward: add and mul broadcast z over batch and space; concat appends z at every position', () => {
  const C = 5;
  const [B, H, W] = [2, 3, 4];
  for (const kind of IMPLICIT_KINDS) {
    const rng = new Rng(10);
    const x = rand(rng, [B, H, W, C]) as tf.Tensor4D;
    const xv = values(x);
    for (const op of OPS) {
      const extra = op === 'concat' ? 3 : C;
      const layer = make(op, extra, { kind, sigma: 0.3, rng });
      const zv = read(() => layer.constantValue());
      const out = tf.tidy(() => layer.forward(x));
      const ov = values(out);
      const cout = op === 'concat' ? C + extra : C;
      assert.deepEqual(out.shape, [B, H, W, cout], `${op}/${kind}`);
      for (let p = 0; p < B * H * W; p++) {
        for (let c = 0; c < cout; c++) {
          const got = ov[p * cout + c]!;
          let want: number;
          if (op === 'add') want = xv[p * C + c]! + zv[c]!;
          else if (op === 'mul') want = xv[p * C + c]! * zv[c]!;
          else want = c < C ? xv[p * C + c]! : zv[c - C]!;
          assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${op}/${kind} at ${p},${c}: ${got} vs ${want}`);
        }
      }
      out.dispose();
      layer.dispose();
    }
    x.dispose();
  }
});

class Holder extends Module {
  readonly layer: Layer;
  constructor(layer: Layer) {
    super();
    this.layer = this.addModule('align', layer);
  }
}

test('per-position (spatial) z: works for its size, clear error for another', () => {
  const C = 4;
  const [B, H, W] = [2, 3, 5];
  for (const kind of IMPLICIT_KINDS) {
    const rng = new Rng(11);
    const x = rand(rng, [B, H, W, C]) as tf.Tensor4D;
    const xv = values(x);
    for (const op of OPS) {
      const extra = op === 'concat' ? 2 : C;
      const layer = make(op, extra, { kind, sigma: 0.3, spatial: [H, W], rng });
      const holder = new Holder(layer);
      const zv = read(() => layer.constantValue());
      assert.equal(zv.length, H * W * extra);
      const out = tf.tidy(() => layer.forward(x));
      const ov = values(out);
      const cout = op === 'concat' ? C + extra : C;
      assert.deepEqual(out.shape, [B, H, W, cout]);
      for (let b = 0; b < B; b++) {
        for (let s = 0; s < H * W; s++) {
          const p = b * H * W + s;
          for (let c = 0; c < cout; c++) {
            const got = ov[p * cout + c]!;
            let want: number;
            if (op === 'add') want = xv[p * C + c]! + zv[s * C + c]!;
            else if (op === 'mul') want = xv[p * C + c]! * zv[s * C + c]!;
            else want = c < C ? xv[p * C + c]! : zv[s * extra + (c - C)]!;
            assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${op}/${kind} at ${b},${s},${c}: ${got} vs ${want}`);
          }
        }
      }
      out.dispose();
      // Another size: the error names both sizes and the layer.
      const others: Array<[number, number, number, number]> = [
        [B, H + 1, W, C],
        [1, H, W - 2, C],
        [B, W, H, C],
      ];
      for (const shape of others) {
        const other = tf.zeros(shape) as tf.Tensor4D;
        assert.throws(
          () => layer.forward(other),
          (err: Error) => {
            assert.match(err.message, new RegExp(`\\b${H}x${W}\\b`), err.message);
            assert.match(err.message, new RegExp(`\\b${shape[1]}x${shape[2]}\\b`), err.message);
            assert.match(err.message, /align/, err.message);
            return true;
          },
          `${op}/${kind} ${shape}`,
        );
        other.dispose();
      }
      holder.dispose();
    }
    x.dispose();
  }
});

/**
 * Gradients of L = Σ R ⊙ layer(x) with respect to the layer's variables
 * (tf.variableGrads) against central differences obtained by perturbing single
 * variable entries; the output difference is projected onto R in float64.
 * Returns ‖numeric − analytic‖ / max(‖numeric‖, ‖analytic‖, 1e-3) over the sampled entries.
 */
function variableGradientError(layer: Layer, x: tf.Tensor4D, rng: Rng, eps = 1e-2, samples = 8): number {
  const vars = layer.parameters().map((p) => p.variable);
  const outShape = tf.tidy(() => layer.forward(x).shape);
  const r = rng.normalArray(outShape.reduce((a, b) => a * b, 1));
  const rt = tf.tensor(r, outShape);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.forward(x), rt)) as tf.Scalar, vars);
  value.dispose();
  rt.dispose();
  const evalOut = (): Float32Array => {
    const y = tf.tidy(() => layer.forward(x));
    const v = values(y);
    y.dispose();
    return v;
  };
  let num2 = 0;
  let ana2 = 0;
  let diff2 = 0;
  for (const v of vars) {
    const g = grads[v.name];
    assert.ok(g, `gradient for ${v.name}`);
    assert.deepEqual(g.shape, v.shape);
    const analytic = values(g);
    const base = Float32Array.from(values(v));
    const picks = new Set<number>();
    while (picks.size < Math.min(samples, base.length)) picks.add(rng.int(0, base.length - 1));
    for (const k of picks) {
      const vals = Float32Array.from(base);
      const orig = base[k]!;
      vals[k] = orig + eps;
      const hi = vals[k]!;
      tf.tidy(() => v.assign(tf.tensor(vals, v.shape)));
      const up = evalOut();
      vals[k] = orig - eps;
      const lo = vals[k]!;
      tf.tidy(() => v.assign(tf.tensor(vals, v.shape)));
      const down = evalOut();
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
      let d = 0;
      for (let j = 0; j < r.length; j++) d += r[j]! * (up[j]! - down[j]!);
      const numeric = d / (hi - lo);
      const a = analytic[k]!;
      num2 += numeric * numeric;
      ana2 += a * a;
      diff2 += (numeric - a) ** 2;
    }
  }
  tf.dispose(grads);
  return Math.sqrt(diff2) / Math.max(Math.sqrt(num2), Math.sqrt(ana2), 1e-3);
}

test('gradients with respect to the variables and the input match finite differences', () => {
  const C = 6;
  const [B, H, W] = [2, 3, 3];
  let seed = 200;
  for (const kind of IMPLICIT_KINDS) {
    for (const op of OPS) {
      for (const spatial of [undefined, [H, W] as [number, number]]) {
        const rng = new Rng(seed++);
        const extra = op === 'concat' ? 4 : C;
        const layer = make(op, extra, { kind, sigma: 0.2, latent: 4, spatial, rng });
        const where = `${op}/${kind}${spatial ? '/spatial' : ''}`;
        const x = rand(rng, [B, H, W, C]) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        const errVars = variableGradientError(layer, x, rng);
        assert.ok(errVars <= 1e-2, `${where}: variable gradient error ${errVars}`);
        const errX = finiteDifferenceCheck(
          {
            name: `Implicit ${where}`,
            detail: 'd/dx',
            shapes: [[B, H, W, C]],
            fn: (xt) => layer.forward(xt as tf.Tensor4D),
          },
          rng,
        );
        assert.ok(errX <= 1e-2, `${where}: input gradient error ${errX}`);
        assert.equal(tf.memory().numTensors, before, `${where}: no leaked tensors`);
        x.dispose();
        layer.dispose();
      }
    }
  }
});

test('the gradient reaches every variable (none is constant)', () => {
  for (const kind of IMPLICIT_KINDS) {
    for (const op of OPS) {
      const layer = make(op, 4, { kind, sigma: 0.2, rng: new Rng(12) });
      const x = rand(new Rng(13), [1, 2, 2, 4]) as tf.Tensor4D;
      const vars = layer.parameters().map((p) => p.variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.forward(x))) as tf.Scalar, vars);
      for (const v of vars) {
        const norm = tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]!);
        assert.ok(norm > 0, `${op}/${kind}: ${v.name} has a zero gradient`);
      }
      value.dispose();
      tf.dispose(grads);
      x.dispose();
      layer.dispose();
    }
  }
});

test('a few Adam steps move z toward a target', () => {
  const C = 8;
  for (const kind of IMPLICIT_KINDS) {
    for (const op of OPS) {
      const rng = new Rng(14);
      const layer = make(op, C, { kind, rng });
      const identity = op === 'mul' ? 1 : 0;
      const target = tf.tensor1d(Float32Array.from(rng.normalArray(C, 0.3), (v) => v + identity));
      const x = rand(rng, [2, 3, 3, C]) as tf.Tensor4D;
      // The features the layer should produce if z were the target.
      const want = tf.tidy(() => {
        if (op === 'add') return tf.add(x, target);
        if (op === 'mul') return tf.mul(x, target);
        return tf.concat([x, tf.mul(tf.ones([2, 3, 3, 1]), target)], 3);
      });
      const vars = layer.parameters().map((p) => p.variable);
      const lossFn = () => tf.mean(tf.square(tf.sub(layer.forward(x), want))) as tf.Scalar;
      const dist = () => tf.tidy(() => tf.norm(tf.sub(layer.z.value(), target)).dataSync()[0]!);
      const opt = tf.train.adam(0.02);
      const losses: number[] = [];
      const d0 = dist();
      for (let i = 0; i < 15; i++) {
        const loss = opt.minimize(lossFn, true, vars)!;
        losses.push(loss.dataSync()[0]!);
        loss.dispose();
      }
      const final = tf.tidy(() => lossFn().dataSync()[0]!);
      const d1 = dist();
      const where = `${op}/${kind}`;
      assert.ok(final < 0.6 * losses[0]!, `${where}: loss ${losses[0]} → ${final}`);
      assert.ok(d1 < 0.8 * d0, `${where}: ‖z − target‖ ${d0} → ${d1}`);
      // Monotone on this convex-ish problem at this step size, early on at least.
      assert.ok(losses[5]! < losses[0]!, `${where}: ${losses.join(', ')}`);
      opt.dispose();
      tf.dispose([target, x, want]);
      layer.dispose();
    }
  }
});

test('constantValue() equals value() and is a copy, unaffected by later parameter changes', () => {
  for (const kind of IMPLICIT_KINDS) {
    for (const op of OPS) {
      for (const spatial of [undefined, [2, 3] as [number, number]]) {
        const layer = make(op, 5, { kind, sigma: 0.1, spatial, rng: new Rng(15) });
        const where = `${op}/${kind}${spatial ? '/spatial' : ''}`;
        const before = tf.memory().numTensors;
        const c = layer.constantValue();
        assert.equal(tf.memory().numTensors, before + 1, `${where}: constantValue makes exactly one tensor`);
        const v0 = read(() => tf.clone(layer.z.value()));
        assert.deepEqual(c.shape, layer.z.shape, where);
        assert.deepEqual(Array.from(values(c)), Array.from(v0), where);
        assert.ok(!layer.parameters().some((p) => p.variable === (c as tf.Tensor)), `${where}: not the variable itself`);
        // Change every parameter (in place), then read again.
        for (const p of layer.parameters()) tf.tidy(() => p.variable.assign(tf.add(p.variable, 0.5)));
        const v1 = read(() => tf.clone(layer.z.value()));
        assert.ok(
          v1.some((v, i) => Math.abs(v - v0[i]!) > 0.1),
          `${where}: value() follows the parameters`,
        );
        assert.deepEqual(Array.from(values(c)), Array.from(v0), `${where}: the constant did not change`);
        // A new constant follows the new parameters.
        const c2 = layer.constantValue();
        assert.deepEqual(Array.from(values(c2)), Array.from(v1), where);
        // Disposing the layer leaves the constant usable; disposing the constant leaves the layer intact.
        tf.dispose(c2);
        layer.dispose();
        assert.deepEqual(Array.from(values(c)), Array.from(v0), `${where}: the constant outlives the layer`);
        c.dispose();
      }
    }
  }
});

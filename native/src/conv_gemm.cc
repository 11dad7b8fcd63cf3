// Convolutions without oneDNN: the addon's fallback when libdnnl-dev is not installed, so
// that a plain `npm ci` with g++ and the system Node headers still gets multi-threaded,
// FMA-vectorised training kernels. Regular convolutions are im2col + a register-blocked
// GEMM (OpenMP over tiles); depthwise ones are direct loops. Every output element is
// computed by one task in a fixed order, so results do not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "conv.h"

namespace yolor {
namespace {

// C[MR×NR] += A[MR×K]·B[K×NR]; A's element (i, p) at A[i·rs + p·cs], B row-major (ldb), C (ldc).
template <int MR, int NR>
inline void micro_kernel(int64_t k, const float* a, int64_t rs, int64_t cs, const float* b, int64_t ldb, float* c,
                         int64_t ldc) {
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < k; p++) {
    const float* bp = b + p * ldb;
    for (int i = 0; i < MR; i++) {
      const float av = a[i * rs + p * cs];
#pragma omp simd
      for (int j = 0; j < NR; j++) acc[i][j] += av * bp[j];
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) c[i * ldc + j] += acc[i][j];
}

// The columns [n0, n0 + nr) for nr < 8: scalar remainder.
inline void edge_kernel(int64_t mr, int64_t nr, int64_t k, const float* a, int64_t rs, int64_t cs, const float* b,
                        int64_t ldb, float* c, int64_t ldc) {
  for (int64_t i = 0; i < mr; i++)
    for (int64_t j = 0; j < nr; j++) {
      float s = 0.0f;
      for (int64_t p = 0; p < k; p++) s += a[i * rs + p * cs] * b[p * ldb + j];
      c[i * ldc + j] += s;
    }
}

template <int NR>
inline void row_block(int64_t rows, int64_t k, const float* a, int64_t rs, int64_t cs, const float* b, int64_t ldb,
                      float* c, int64_t ldc) {
  constexpr int MR = NR >= 32 ? 6 : NR >= 16 ? 8 : 12;
  int64_t i = 0;
  for (; i + MR <= rows; i += MR) micro_kernel<MR, NR>(k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc);
  for (; i < rows; i++) micro_kernel<1, NR>(k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc);
}

// C[m×n] += A[m×k]·B[k×n] for one tile of rows, all columns.
void gemm_rows(int64_t rows, int64_t n, int64_t k, const float* a, int64_t rs, int64_t cs, const float* b, int64_t ldb,
               float* c, int64_t ldc) {
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) row_block<32>(rows, k, a, rs, cs, b + j, ldb, c + j, ldc);
  for (; j + 16 <= n; j += 16) row_block<16>(rows, k, a, rs, cs, b + j, ldb, c + j, ldc);
  for (; j + 8 <= n; j += 8) row_block<8>(rows, k, a, rs, cs, b + j, ldb, c + j, ldc);
  if (j < n) edge_kernel(rows, n - j, k, a, rs, cs, b + j, ldb, c + j, ldc);
}

constexpr int64_t kRowTile = 48;  // rows of C per task (a multiple of 6, 8 and 12)

// C[m×n] += A·B, tasks over row tiles.
void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t rs, int64_t cs, const float* b, int64_t ldb, float* c,
          int64_t ldc) {
  const int64_t tiles = (m + kRowTile - 1) / kRowTile;
#pragma omp parallel for schedule(dynamic, 1) if (tiles > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t r0 = t * kRowTile, rows = std::min(kRowTile, m - r0);
    gemm_rows(rows, n, k, a + r0 * rs, rs, cs, b, ldb, c + r0 * ldc, ldc);
  }
}

bool is_pointwise(const ConvDesc& d) {
  return d.kh == 1 && d.kw == 1 && d.sh == 1 && d.sw == 1 && d.pad_t == 0 && d.pad_l == 0 && d.oh == d.h && d.ow == d.w;
}

// One image's patches: row (oh, ow) holds x at (kh, kw, ic) of its window, zeros outside.
// `parallel`: rows in parallel (false inside a parallel loop over images).
void im2col(const ConvDesc& d, const float* x, float* col, bool parallel) {
  const int64_t k = d.kh * d.kw * d.ic;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t oy = 0; oy < d.oh; oy++) {
    for (int64_t ox = 0; ox < d.ow; ox++) {
      float* row = col + (oy * d.ow + ox) * k;
      for (int64_t ky = 0; ky < d.kh; ky++) {
        const int64_t iy = oy * d.sh - d.pad_t + ky * d.dh;
        for (int64_t kx = 0; kx < d.kw; kx++) {
          const int64_t ix = ox * d.sw - d.pad_l + kx * d.dw;
          float* dst = row + (ky * d.kw + kx) * d.ic;
          if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w)
            std::memset(dst, 0, sizeof(float) * d.ic);
          else
            std::memcpy(dst, x + (iy * d.w + ix) * d.ic, sizeof(float) * d.ic);
        }
      }
    }
  }
}

// dx (one image) from the patch gradients, gathered per input pixel (no write conflicts).
void col2im(const ConvDesc& d, const float* col, float* dx, bool parallel) {
  const int64_t k = d.kh * d.kw * d.ic;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t iy = 0; iy < d.h; iy++) {
    for (int64_t ix = 0; ix < d.w; ix++) {
      float* out = dx + (iy * d.w + ix) * d.ic;
      std::memset(out, 0, sizeof(float) * d.ic);
      for (int64_t ky = 0; ky < d.kh; ky++) {
        const int64_t ty = iy + d.pad_t - ky * d.dh;
        if (ty < 0 || ty % d.sh) continue;
        const int64_t oy = ty / d.sh;
        if (oy >= d.oh) continue;
        for (int64_t kx = 0; kx < d.kw; kx++) {
          const int64_t tx = ix + d.pad_l - kx * d.dw;
          if (tx < 0 || tx % d.sw) continue;
          const int64_t ox = tx / d.sw;
          if (ox >= d.ow) continue;
          const float* src = col + (oy * d.ow + ox) * k + (ky * d.kw + kx) * d.ic;
#pragma omp simd
          for (int64_t c = 0; c < d.ic; c++) out[c] += src[c];
        }
      }
    }
  }
}

std::vector<float>& scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

// ---- depthwise (groups == ic; filter [kh, kw, ic, mult]; output channel c·mult + j) ----

void depthwise_forward(const ConvDesc& d, const float* x, const float* w, float* y) {
  const int64_t mult = d.oc / d.ic;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < d.n * d.oh; t++) {
    const int64_t b = t / d.oh, oy = t % d.oh;
    for (int64_t ox = 0; ox < d.ow; ox++) {
      float* out = y + ((b * d.oh + oy) * d.ow + ox) * d.oc;
      std::memset(out, 0, sizeof(float) * d.oc);
      for (int64_t ky = 0; ky < d.kh; ky++) {
        const int64_t iy = oy * d.sh - d.pad_t + ky * d.dh;
        if (iy < 0 || iy >= d.h) continue;
        for (int64_t kx = 0; kx < d.kw; kx++) {
          const int64_t ix = ox * d.sw - d.pad_l + kx * d.dw;
          if (ix < 0 || ix >= d.w) continue;
          const float* in = x + ((b * d.h + iy) * d.w + ix) * d.ic;
          const float* wk = w + (ky * d.kw + kx) * d.oc;
          if (mult == 1) {
#pragma omp simd
            for (int64_t c = 0; c < d.ic; c++) out[c] += in[c] * wk[c];
          } else {
            for (int64_t c = 0; c < d.ic; c++)
              for (int64_t j = 0; j < mult; j++) out[c * mult + j] += in[c] * wk[c * mult + j];
          }
        }
      }
    }
  }
}

void depthwise_backward_data(const ConvDesc& d, const float* dy, const float* w, float* dx) {
  const int64_t mult = d.oc / d.ic;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < d.n * d.h; t++) {
    const int64_t b = t / d.h, iy = t % d.h;
    for (int64_t ix = 0; ix < d.w; ix++) {
      float* out = dx + ((b * d.h + iy) * d.w + ix) * d.ic;
      std::memset(out, 0, sizeof(float) * d.ic);
      for (int64_t ky = 0; ky < d.kh; ky++) {
        const int64_t ty = iy + d.pad_t - ky * d.dh;
        if (ty < 0 || ty % d.sh) continue;
        const int64_t oy = ty / d.sh;
        if (oy >= d.oh) continue;
        for (int64_t kx = 0; kx < d.kw; kx++) {
          const int64_t tx = ix + d.pad_l - kx * d.dw;
          if (tx < 0 || tx % d.sw) continue;
          const int64_t ox = tx / d.sw;
          if (ox >= d.ow) continue;
          const float* g = dy + ((b * d.oh + oy) * d.ow + ox) * d.oc;
          const float* wk = w + (ky * d.kw + kx) * d.oc;
          if (mult == 1) {
#pragma omp simd
            for (int64_t c = 0; c < d.ic; c++) out[c] += g[c] * wk[c];
          } else {
            for (int64_t c = 0; c < d.ic; c++)
              for (int64_t j = 0; j < mult; j++) out[c] += g[c * mult + j] * wk[c * mult + j];
          }
        }
      }
    }
  }
}

void depthwise_backward_weights(const ConvDesc& d, const float* x, const float* dy, float* dw) {
  const int64_t mult = d.oc / d.ic;
#pragma omp parallel for schedule(static)
  for (int64_t tap = 0; tap < d.kh * d.kw; tap++) {
    const int64_t ky = tap / d.kw, kx = tap % d.kw;
    float* acc = dw + tap * d.oc;
    std::memset(acc, 0, sizeof(float) * d.oc);
    for (int64_t b = 0; b < d.n; b++)
      for (int64_t oy = 0; oy < d.oh; oy++) {
        const int64_t iy = oy * d.sh - d.pad_t + ky * d.dh;
        if (iy < 0 || iy >= d.h) continue;
        for (int64_t ox = 0; ox < d.ow; ox++) {
          const int64_t ix = ox * d.sw - d.pad_l + kx * d.dw;
          if (ix < 0 || ix >= d.w) continue;
          const float* in = x + ((b * d.h + iy) * d.w + ix) * d.ic;
          const float* g = dy + ((b * d.oh + oy) * d.ow + ox) * d.oc;
          if (mult == 1) {
#pragma omp simd
            for (int64_t c = 0; c < d.ic; c++) acc[c] += in[c] * g[c];
          } else {
            for (int64_t c = 0; c < d.ic; c++)
              for (int64_t j = 0; j < mult; j++) acc[c * mult + j] += in[c] * g[c * mult + j];
          }
        }
      }
  }
}

void check(const ConvDesc& d) {
  if (d.groups != 1 && d.groups != d.ic)
    throw std::runtime_error("the built-in convolutions take groups 1 or depthwise (groups == input channels)");
}

// Images in parallel (each with its own patch buffer and single-threaded GEMM) when there are
// at least as many images as threads; otherwise one image at a time, each GEMM in parallel.
bool per_image(const ConvDesc& d) { return d.n >= omp_get_max_threads(); }

}  // namespace

void conv_forward(const ConvDesc& d, const float* x, const float* w, float* y) {
  check(d);
  if (d.groups != 1) return depthwise_forward(d, x, w, y);
  const int64_t m = d.oh * d.ow, k = d.kh * d.kw * d.ic;
  std::memset(y, 0, sizeof(float) * d.n * m * d.oc);
  if (is_pointwise(d)) return gemm(d.n * m, d.oc, k, x, k, 1, w, d.oc, y, d.oc);
  if (per_image(d)) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < d.n; b++) {
      float* col = scratch(static_cast<size_t>(m * k)).data();
      im2col(d, x + b * d.h * d.w * d.ic, col, false);
      gemm_rows(m, d.oc, k, col, k, 1, w, d.oc, y + b * m * d.oc, d.oc);
    }
    return;
  }
  float* col = scratch(static_cast<size_t>(m * k)).data();
  for (int64_t b = 0; b < d.n; b++) {
    im2col(d, x + b * d.h * d.w * d.ic, col, true);
    gemm(m, d.oc, k, col, k, 1, w, d.oc, y + b * m * d.oc, d.oc);
  }
}

void conv_backward_data(const ConvDesc& d, const float* dy, const float* w, float* dx) {
  check(d);
  if (d.groups != 1) return depthwise_backward_data(d, dy, w, dx);
  const int64_t m = d.oh * d.ow, k = d.kh * d.kw * d.ic;
  // Wᵀ [oc × k], so that dcol = dy · Wᵀ reads B row by row.
  std::vector<float> wt(static_cast<size_t>(k * d.oc));
  for (int64_t r = 0; r < k; r++)
    for (int64_t o = 0; o < d.oc; o++) wt[o * k + r] = w[r * d.oc + o];
  if (is_pointwise(d)) {
    std::memset(dx, 0, sizeof(float) * d.n * m * k);
    return gemm(d.n * m, k, d.oc, dy, d.oc, 1, wt.data(), k, dx, k);
  }
  if (per_image(d)) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < d.n; b++) {
      float* col = scratch(static_cast<size_t>(m * k)).data();
      std::memset(col, 0, sizeof(float) * m * k);
      gemm_rows(m, k, d.oc, dy + b * m * d.oc, d.oc, 1, wt.data(), k, col, k);
      col2im(d, col, dx + b * d.h * d.w * d.ic, false);
    }
    return;
  }
  float* col = scratch(static_cast<size_t>(m * k)).data();
  for (int64_t b = 0; b < d.n; b++) {
    std::memset(col, 0, sizeof(float) * m * k);
    gemm(m, k, d.oc, dy + b * m * d.oc, d.oc, 1, wt.data(), k, col, k);
    col2im(d, col, dx + b * d.h * d.w * d.ic, true);
  }
}

void conv_backward_weights(const ConvDesc& d, const float* x, const float* dy, float* dw) {
  check(d);
  if (d.groups != 1) return depthwise_backward_weights(d, x, dy, dw);
  const int64_t m = d.oh * d.ow, k = d.kh * d.kw * d.ic;
  // dW [k × oc] = Σ_images colᵀ · dy: A = colᵀ, element (r, p) at col[p·k + r] (rs 1, cs k).
  // One partial per image, summed in image order: the result does not depend on the threads.
  const bool pointwise = is_pointwise(d);
  std::vector<float> partial(static_cast<size_t>(d.n * k * d.oc), 0.0f);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < d.n; b++) {
    const float* a = x + b * d.h * d.w * d.ic;
    if (!pointwise) {
      float* col = scratch(static_cast<size_t>(m * k)).data();
      im2col(d, a, col, false);
      a = col;
    }
    gemm_rows(k, d.oc, m, a, 1, k, dy + b * m * d.oc, d.oc, partial.data() + b * k * d.oc, d.oc);
  }
  const int64_t size = k * d.oc;
  std::memcpy(dw, partial.data(), sizeof(float) * size);
  for (int64_t b = 1; b < d.n; b++) {
    const float* p = partial.data() + b * size;
#pragma omp simd
    for (int64_t i = 0; i < size; i++) dw[i] += p[i];
  }
}

std::string conv_impl(const ConvDesc& d, ConvPass) {
  if (d.groups != 1) return "built-in depthwise loops";
  return is_pointwise(d) ? "built-in GEMM (pointwise)" : "built-in im2col + GEMM";
}

std::string library_version() { return "built-in (no oneDNN)"; }

}  // namespace yolor

#include "norm_act.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

namespace yolor {
namespace {

constexpr int64_t kBlockRows = 1024;  // pixels per partial sum: fixed, so sums do not depend on threads

// exp(v) for float, branch-free so that loops calling it vectorise (std::exp does not
// without -ffast-math): v = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor
// polynomial (relative error < 2e-7 on that range), 2^n by building the exponent bits.
inline float fast_exp(float v) {
  v = std::min(88.0f, std::max(-87.0f, v));
  const float n = std::nearbyint(v * 1.44269504088896341f);
  const float r = (v - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoid(float v) { return 1.0f / (1.0f + fast_exp(-v)); }

template <Act A>
inline float act_value(float p) {
  if constexpr (A == Act::kSilu) return p * sigmoid(p);
  if constexpr (A == Act::kRelu) return p > 0.0f ? p : 0.0f;
  if constexpr (A == Act::kLeaky) return p > 0.0f ? p : 0.1f * p;
  return p;
}

template <Act A>
inline float act_slope(float p) {
  if constexpr (A == Act::kSilu) {
    const float s = sigmoid(p);
    return s * (1.0f + p * (1.0f - s));
  }
  if constexpr (A == Act::kRelu) return p > 0.0f ? 1.0f : 0.0f;
  if constexpr (A == Act::kLeaky) return p > 0.0f ? 1.0f : 0.1f;
  return 1.0f;
}

// Calls f.template operator()<A>() with the activation as a compile-time constant, so that
// every loop is specialised (and vectorised) per activation.
template <typename F>
void dispatch(Act a, F f) {
  switch (a) {
    case Act::kSilu: f(std::integral_constant<Act, Act::kSilu>{}); break;
    case Act::kRelu: f(std::integral_constant<Act, Act::kRelu>{}); break;
    case Act::kLeaky: f(std::integral_constant<Act, Act::kLeaky>{}); break;
    default: f(std::integral_constant<Act, Act::kLinear>{}); break;
  }
}

// Partial sums per (image, block) in float64, then summed in (image, block) order.
template <typename F>
void blocked_sums(int64_t batch, int64_t pixels, int64_t channels, int parts, double* const* outs, F per_pixel) {
  const int64_t blocks = (pixels + kBlockRows - 1) / kBlockRows;
  const int64_t tasks = batch * blocks;
  std::vector<double> partial(static_cast<size_t>(tasks * channels * parts), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t b = t / blocks, k = t % blocks;
    const int64_t p0 = b * pixels + k * kBlockRows;
    const int64_t p1 = b * pixels + std::min(pixels, (k + 1) * kBlockRows);
    double* acc = partial.data() + t * channels * parts;
    for (int64_t p = p0; p < p1; p++) per_pixel(p, acc);
  }
  for (int j = 0; j < parts; j++)
    for (int64_t c = 0; c < channels; c++) outs[j][c] = 0.0;
  for (int64_t t = 0; t < tasks; t++) {
    const double* acc = partial.data() + t * channels * parts;
    for (int j = 0; j < parts; j++)
      for (int64_t c = 0; c < channels; c++) outs[j][c] += acc[j * channels + c];
  }
}

}  // namespace

void channel_sums(const float* x, int64_t batch, int64_t pixels, int64_t channels, const float* center, double* out) {
  double* outs[1] = {out};
  if (center == nullptr) {
    blocked_sums(batch, pixels, channels, 1, outs, [&](int64_t p, double* acc) {
      const float* row = x + p * channels;
      for (int64_t c = 0; c < channels; c++) acc[c] += row[c];
    });
  } else {
    blocked_sums(batch, pixels, channels, 1, outs, [&](int64_t p, double* acc) {
      const float* row = x + p * channels;
      for (int64_t c = 0; c < channels; c++) {
        const float v = row[c] - center[c];
        acc[c] += static_cast<double>(v * v);
      }
    });
  }
}

void bn_act_forward(const float* x, int64_t rows, int64_t channels, const float* mean, const float* rstd,
                    const float* gamma, const float* beta, Act act, float* y) {
  dispatch(act, [&](auto a) {
    constexpr Act A = decltype(a)::value;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* xi = x + r * channels;
      float* yo = y + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; c++) {
        const float xhat = (xi[c] - mean[c]) * rstd[c];
        yo[c] = act_value<A>(xhat * gamma[c] + beta[c]);
      }
    }
  });
}

void bn_act_backward_sums(const float* x, const float* dy, int64_t batch, int64_t pixels, int64_t channels,
                          const float* mean, const float* rstd, const float* gamma, const float* beta, Act act,
                          double* sum_dp, double* sum_dp_xhat) {
  double* outs[2] = {sum_dp, sum_dp_xhat};
  dispatch(act, [&](auto a) {
    constexpr Act A = decltype(a)::value;
    blocked_sums(batch, pixels, channels, 2, outs, [&](int64_t p, double* acc) {
      const float* xi = x + p * channels;
      const float* gi = dy + p * channels;
      double* a1 = acc + channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; c++) {
        const float xhat = (xi[c] - mean[c]) * rstd[c];
        const float dp = gi[c] * act_slope<A>(xhat * gamma[c] + beta[c]);
        acc[c] += dp;
        a1[c] += static_cast<double>(dp * xhat);
      }
    });
  });
}

void bn_act_backward_dx(const float* x, const float* dy, int64_t rows, int64_t channels, const float* mean,
                        const float* rstd, const float* gamma, const float* beta, Act act, const float* mean_dp,
                        const float* mean_dp_xhat, float* dx) {
  dispatch(act, [&](auto a) {
    constexpr Act A = decltype(a)::value;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* xi = x + r * channels;
      const float* gi = dy + r * channels;
      float* o = dx + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; c++) {
        const float xhat = (xi[c] - mean[c]) * rstd[c];
        const float dp = gi[c] * act_slope<A>(xhat * gamma[c] + beta[c]);
        o[c] = gamma[c] * rstd[c] * (dp - mean_dp[c] - xhat * mean_dp_xhat[c]);
      }
    }
  });
}

void act_forward(const float* x, int64_t n, Act act, float* y) {
  dispatch(act, [&](auto a) {
    constexpr Act A = decltype(a)::value;
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = act_value<A>(x[i]);
  });
}

void act_backward(const float* x, const float* dy, int64_t n, Act act, float* dx) {
  dispatch(act, [&](auto a) {
    constexpr Act A = decltype(a)::value;
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * act_slope<A>(x[i]);
  });
}

}  // namespace yolor

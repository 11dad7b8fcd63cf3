// Training-mode batch norm fused with its activation, on NHWC float32 buffers, with
// OpenMP threads. Per-channel sums are accumulated in float64 per image (each image
// cut into fixed blocks of rows, blocks summed in order) and then over the images in
// order, so the result does not depend on the thread count or on how a batch is
// sharded across data-parallel replicas.
#pragma once
#include <cstdint>

namespace yolor {

enum class Act { kLinear = 0, kSilu = 1, kRelu = 2, kLeaky = 3 };

// out[c] = Σ_{b,p} x[b,p,c]            (center == nullptr)
// out[c] = Σ_{b,p} (x[b,p,c] − center[c])²
void channel_sums(const float* x, int64_t batch, int64_t pixels, int64_t channels, const float* center, double* out);

// y = act(γ·(x − μ)·rstd + β)
void bn_act_forward(const float* x, int64_t rows, int64_t channels, const float* mean, const float* rstd,
                    const float* gamma, const float* beta, Act act, float* y);

// With dp = dy·act'(pre): sum_dp[c] = Σ dp, sum_dp_xhat[c] = Σ dp·x̂.
void bn_act_backward_sums(const float* x, const float* dy, int64_t batch, int64_t pixels, int64_t channels,
                          const float* mean, const float* rstd, const float* gamma, const float* beta, Act act,
                          double* sum_dp, double* sum_dp_xhat);

// dx = γ·rstd·(dp − mean_dp − x̂·mean_dp_xhat)
void bn_act_backward_dx(const float* x, const float* dy, int64_t rows, int64_t channels, const float* mean,
                        const float* rstd, const float* gamma, const float* beta, Act act, const float* mean_dp,
                        const float* mean_dp_xhat, float* dx);

// y = act(x) and dx = dy·act'(x), element-wise.
void act_forward(const float* x, int64_t n, Act act, float* y);
void act_backward(const float* x, const float* dy, int64_t n, Act act, float* dx);

}  // namespace yolor

// Convolutions on oneDNN: forward, backward data, backward weights, on caller-owned
// NHWC float32 buffers (views of the wasm heap), filters in TensorFlow's layout.
#pragma once
#include <cstdint>
#include <string>

namespace yolor {

// Geometry of one 2-D convolution. Filters are HWIO ([kh, kw, ic, oc]) for groups == 1
// and TensorFlow's depthwise [kh, kw, groups, oc / groups] when groups == ic.
struct ConvDesc {
  int64_t n, h, w, ic, oh, ow, oc, kh, kw, groups, sh, sw, dh, dw, pad_t, pad_l;
};

enum class ConvPass { kForward, kBackwardData, kBackwardWeights };

// Each call runs synchronously on the calling thread's stream; primitives are cached per
// thread by geometry. Throws std::exception (with a message) on failure.
void conv_forward(const ConvDesc& d, const float* x, const float* w, float* y);
void conv_backward_data(const ConvDesc& d, const float* dy, const float* w, float* dx);
void conv_backward_weights(const ConvDesc& d, const float* x, const float* dy, float* dw);

// Primitive implementation names chosen for a geometry (e.g. "brg:avx512_core"), for `yolor env`.
std::string conv_impl(const ConvDesc& d, ConvPass pass);
std::string library_version();

}  // namespace yolor

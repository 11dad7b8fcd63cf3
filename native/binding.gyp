{
  "variables": {
    # 1: convolutions on oneDNN (libdnnl-dev); 0: the built-in im2col + GEMM convolutions.
    # native/build-if-available.mjs sets it from whether oneDNN's headers are installed.
    "onednn%": 0
  },
  "targets": [
    {
      "target_name": "yolor_native",
      "sources": ["src/addon.cc", "src/norm_act.cc", "src/tensor_ops.cc", "src/optimizer_steps.cc"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-march=native", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "ldflags": ["-fopenmp"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["onednn==1", {
          "sources": ["src/conv.cc"],
          "libraries": ["-ldnnl"],
          "defines": ["YOLOR_ONEDNN"]
        }, {
          "sources": ["src/conv_gemm.cc"]
        }]
      ]
    }
  ]
}

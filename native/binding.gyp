{
  "targets": [
    {
      "target_name": "yolor_native",
      "sources": ["src/addon.cc", "src/conv.cc", "src/norm_act.cc", "src/tensor_ops.cc"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-march=native", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

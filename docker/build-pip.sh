#!/bin/sh
# pip for the image's build stages only. The machine's CA bundle and local wheels
# (docker/local/, git-ignored, filled by scripts/docker-smoke.sh) are used when present;
# they never reach the runtime stage.
set -eu
if [ -f /tmp/ctx/ca.crt ]; then
  export PIP_CERT=/tmp/ctx/ca.crt
fi
if [ -d /tmp/ctx/wheels ]; then
  export PIP_FIND_LINKS="/tmp/ctx/wheels ${PIP_FIND_LINKS:-}"
fi
exec "$@"

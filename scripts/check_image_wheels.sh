#!/bin/sh
# Prove the image builds without a compiler on both platforms: every pin in
# deploy/requirements.lock must exist as a binary wheel (or pure-Python wheel) for the
# image's CPython on manylinux x86_64 and aarch64. Needs PyPI; downloads ~100 MB to a temp dir.
# Usage: sh scripts/check_image_wheels.sh [PYTHON_VERSION]   (default 3.11, as in Dockerfile)
set -eu
cd "$(dirname "$0")/.."
py="${1:-3.11}"
pip="${PIP:-python3 -m pip}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for arch in x86_64 aarch64; do
  echo "== manylinux $arch, CPython $py"
  # shellcheck disable=SC2086
  $pip download --quiet --only-binary=:all: --no-deps --implementation cp \
    --python-version "$py" \
    --platform "manylinux2014_$arch" --platform "manylinux_2_17_$arch" \
    --platform "manylinux_2_24_$arch" --platform "manylinux_2_26_$arch" \
    --platform "manylinux_2_27_$arch" --platform "manylinux_2_28_$arch" \
    -d "$tmp/$arch" -r deploy/requirements.lock
  echo "ok: $(ls "$tmp/$arch" | wc -l) wheels"
done

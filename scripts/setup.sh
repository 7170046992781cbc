#!/usr/bin/env bash
# Install everything xnaming-widget needs on a Debian machine with Python 3.10+:
# Debian packages (Chromium for the browser tests, the Fashion-MNIST data set, Node.js
# when missing), PyTorch, the package itself with its dev extra, and the widget's
# JavaScript tooling. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  packages="chromium dataset-fashion-mnist"
  command -v node >/dev/null 2>&1 || packages="$packages nodejs"
  command -v npm >/dev/null 2>&1 || packages="$packages npm"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $packages
else
  echo "setup.sh: no apt-get here; install Chromium, Node.js and Fashion-MNIST yourself" >&2
fi

# torch first, pinned, so pip takes the wheels these machines hold instead of a newer download.
if [ "$(uname -m)" = "aarch64" ]; then
  python -m pip install "torch==2.9.1" "torchvision==0.24.1"
else
  python -m pip install "torch==2.14.1" "torchvision==0.29.1"
fi
python -m pip install -e ".[dev]"

if [ -f js/package-lock.json ]; then
  (cd js && npm ci --no-audit --no-fund)
fi

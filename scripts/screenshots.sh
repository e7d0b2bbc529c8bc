#!/usr/bin/env bash
# Screenshots of the real app under Xvfb into docs/images/ (needs: apt-get install -y xvfb libxcb-icccm4
# libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v xvfb-run >/dev/null; then
  echo "xvfb-run not found: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0" >&2
  exit 1
fi
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshots.py docs/images
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1440x1000x24" env PYTHONPATH="scripts:${PYTHONPATH:-}" .venv/bin/python scripts/explain_screenshots.py docs/images

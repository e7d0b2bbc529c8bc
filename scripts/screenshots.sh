#!/usr/bin/env bash
# Screenshots of the real app under Xvfb into docs/images/ (needs: apt-get install -y xvfb libxcb-icccm4
# libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0): the README's gallery and each lesson at 1280×800, then the whole
# window as it opens on a 1024×600 netbook, a 1280×800 laptop and a 1920×1080 projector, and presentation mode on each.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v xvfb-run >/dev/null; then
  echo "xvfb-run not found: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0" >&2
  exit 1
fi
PY=${PYTHON:-.venv/bin/python}
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x800x24" "$PY" scripts/screenshots.py docs/images gallery
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x800x24" "$PY" scripts/screenshots.py docs/images lessons
for size in 1024x600 1280x800 1920x1080; do
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 ${size}x24" "$PY" scripts/screenshots.py docs/images window
done
for size in 1024x600 1920x1080; do
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 ${size}x24" "$PY" scripts/screenshots.py docs/images step
done
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1440x1000x24" env PYTHONPATH="scripts:${PYTHONPATH:-}" "$PY" scripts/explain_screenshots.py docs/images
for size in 1024x600 1920x1080; do  # the 2-D playground (Lessons) and the map of the digits (Canvas)
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 ${size}x24" env PYTHONPATH="scripts:${PYTHONPATH:-}" "$PY" scripts/playground_screenshots.py docs/images all
done
# Presentation mode (F5) on a projector, a laptop and a netbook, full screen under a window manager (openbox, when
# installed), with each text's contrast measured on the pixels; then the run colours under simulated deuteranopia.
for size in 1920x1080 1280x800 1024x600; do
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 ${size}x24" sh -c \
    "(command -v openbox >/dev/null && openbox &) ; sleep 1; \"$PY\" scripts/presentation_shots.py docs/images"
done
QT_QPA_PLATFORM=offscreen "$PY" scripts/presentation_shots.py docs/images colours

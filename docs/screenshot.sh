#!/usr/bin/env bash
# Screenshot of the real main window playing the demo clip, under a virtual X server (Xvfb):
#   docs/screenshot.sh [seconds-to-wait]   -> docs/screenshot.png
# Needs: apt-get install xvfb imagemagick (plus the Qt xcb libraries named in the README).
set -euo pipefail
cd "$(dirname "$0")/.."
wait_s="${1:-25}"
# fresh settings: a window size or panel remembered from the user's own runs would change the picture
export XDG_CONFIG_HOME="$(mktemp -d)"
Xvfb :99 -screen 0 1280x900x24 >/dev/null 2>&1 &
xvfb_pid=$!
app_pid=""
trap 'kill $app_pid $xvfb_pid 2>/dev/null || true' EXIT
sleep 2
DISPLAY=:99 python main.py --source demo/demo_faces.mp4 &
app_pid=$!
sleep "$wait_s"
DISPLAY=:99 import -window root /tmp/faceapp_screen.png
# crop the desktop to the window (the only thing on the virtual screen)
convert /tmp/faceapp_screen.png -trim +repage docs/screenshot.png
echo "wrote docs/screenshot.png"

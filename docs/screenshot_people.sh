#!/usr/bin/env bash
# Screenshots of the real window with the people panel and the session summary open, under Xvfb:
#   docs/screenshot_people.sh [seconds-to-wait]  -> docs/people_panel.png, docs/blur_faces.png
# The first is taken while the demo clip plays (its 3-face part at the default wait), the second
# a few seconds after selecting the panel's second row and pressing B (Blur faces). Needs: apt-get install xvfb imagemagick xdotool.
# Uses a throwaway settings folder, so your own window layout and switches are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
wait_s="${1:-10}"
config_home="$(mktemp -d)"
mkdir -p "$config_home/FaceAgeGender"
printf '[General]\npeople_panel=true\nsummary_panel=true\nblur_faces=false\nloop=true\n' \
    > "$config_home/FaceAgeGender/FaceAgeGender.conf"
Xvfb :98 -screen 0 1400x900x24 >/dev/null 2>&1 &
xvfb_pid=$!
app_pid=""
trap 'kill $app_pid $xvfb_pid 2>/dev/null || true; rm -rf "$config_home"' EXIT
sleep 2
DISPLAY=:98 XDG_CONFIG_HOME="$config_home" python main.py --source demo/demo_faces.mp4 &
app_pid=$!
for _ in $(seq 60); do   # wait for the window, then give it a size that fits the video and both docks
    win="$(DISPLAY=:98 xdotool search --onlyvisible --name 'Face age' 2>/dev/null | head -1 || true)"
    [ -n "$win" ] && break
    sleep 0.5
done
DISPLAY=:98 xdotool windowmove "$win" 0 0 windowsize "$win" 1380 860
sleep "$wait_s"
DISPLAY=:98 import -window root /tmp/faceapp_people.png
# no window manager: keyboard focus follows the pointer. Select the panel's second row (its box is
# highlighted), then press B over the video.
DISPLAY=:98 xdotool mousemove 1190 180 click 1
DISPLAY=:98 xdotool mousemove 450 600 key b
sleep 2
DISPLAY=:98 import -window root /tmp/faceapp_blur.png
convert /tmp/faceapp_people.png -trim +repage -colors 256 PNG8:docs/people_panel.png
convert /tmp/faceapp_blur.png -trim +repage -colors 160 PNG8:docs/blur_faces.png
echo "wrote docs/people_panel.png docs/blur_faces.png"

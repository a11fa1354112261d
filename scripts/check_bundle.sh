#!/usr/bin/env bash
# Checks the .deb made by `make bundle`: its metadata and contents, then
# unpacks it into a scratch root and starts the app from there under a
# virtual display until its window is up.
set -euo pipefail
deb="$1"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

info=$(dpkg-deb --info "$deb")
grep -q "Package: signet" <<<"$info" || { echo "bundle: not the signet package"; exit 1; }
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 gnome-keyring; do
  grep -q "$dep" <<<"$info" || { echo "bundle: Depends lacks $dep"; exit 1; }
done
dpkg-deb -x "$deb" "$root"
for f in usr/bin/signet-desktop usr/bin/signet-signer usr/bin/signet usr/share/applications/Signet.desktop; do
  [ -e "$root/$f" ] || { echo "bundle: $f is missing"; find "$root" -type f | sed "s|$root/||"; exit 1; }
done
ls "$root"/usr/share/icons/hicolor/*/apps/*.png >/dev/null || { echo "bundle: no icons"; exit 1; }
"$root/usr/bin/signet-signer" --version >/dev/null
"$root/usr/bin/signet" --version >/dev/null

# Start the installed app; its window must come up within 15 s.
export HOME="$root/home"; mkdir -p "$HOME"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
  "$0/usr/bin/signet-desktop" & app=$!
  for _ in $(seq 1 150); do
    if xdotool search --name "^Signet$" >/dev/null 2>&1; then kill $app; wait $app 2>/dev/null; exit 0; fi
    kill -0 $app 2>/dev/null || { echo "bundle: the app exited"; exit 1; }
    sleep 0.1
  done
  echo "bundle: no window within 15 s"; kill $app; exit 1
' "$root" 2>/dev/null
echo "bundle: $(basename "$deb") checked ($(du -h "$deb" | cut -f1)): metadata, contents, the app starts from it"

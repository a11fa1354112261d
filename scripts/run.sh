#!/usr/bin/env bash
# `make run`: the key server (both tiers, SQLite) in the background and the
# desktop app in front; closing the app stops the server.
set -euo pipefail
bin="$1" data_dir="$2" listen="$3"

mkdir -p "$data_dir"
log="$data_dir/keyserver.log"
"$bin/signet-keyserver" serve --data-dir "$data_dir" --listen "$listen" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$log" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "the key server did not start:"; cat "$log"; exit 1; }
  sleep 0.1
done
fingerprint=$(openssl x509 -in "$data_dir/tls/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
cat <<INFO
key server: https://$listen   (SQLite, keys and CA in $data_dir; log in $log)
certificate fingerprint (SHA-256), to confirm in the app's Connect screen:
  $fingerprint
first help-desk account, once someone has applied:
  $bin/signet-keyserver admin bootstrap --data-dir "$data_dir" --user-id USER --letter letter.pdf
INFO
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: the key server runs alone (Ctrl-C stops it); start the app from a desktop session"
  wait "$server"
else
  SIGNET_SERVER="https://$listen" "$bin/signet-desktop"
fi

#!/usr/bin/env bash
# Builds every committed firmware image (bootloader and example sketches) and either installs
# the hex files where they are committed (build) or compares them with the committed ones (check).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}
out=build/firmware
rm -rf "$out"; mkdir -p "$out"

# Each part's Makefile builds into $(OUT) and lists "built-path committed-path" pairs on stdout
# with `make -s list-firmware`.
parts=()
for mk in bootloader/Makefile sketch-lib/Makefile; do [ -f "$mk" ] && parts+=("$(dirname "$mk")"); done

status=0
for p in "${parts[@]}"; do
  make -s -C "$p" OUT="$PWD/$out/$p" all
  while read -r built committed; do
    [ -n "$built" ] || continue
    if [ "$mode" = build ]; then
      mkdir -p "$(dirname "$committed")"; cp "$built" "$committed"
    elif ! cmp -s "$built" "$committed"; then
      echo "check-firmware: $committed differs from a fresh build ($built); run 'make firmware' and commit" >&2
      status=1
    fi
  done < <(make -s -C "$p" OUT="$PWD/$out/$p" list-firmware)
done
[ "$mode" = check ] && [ $status -eq 0 ] && echo "check-firmware: every committed hex matches a fresh build"
exit $status

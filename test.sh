#!/bin/bash
# Installs what is missing, builds, and runs every test suite (unit,
# integration, e2e). Ends with meson's summary. Run as root on Debian 12.
# VIRTNETMON_REQUIRE_ALL=1 turns every skipped suite into a failure (CI).
set -euo pipefail
cd "$(dirname "$0")"
./.ci/deps.sh
if [ -f build/build.ninja ]; then
  meson setup --reconfigure build >/dev/null
else
  meson setup build >/dev/null
fi
ninja -C build
exec meson test -C build --print-errorlogs --no-rebuild "$@"

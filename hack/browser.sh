#!/usr/bin/env bash
# A headless browser for the browser tests (tests/e2e/test_fleet_report_browser.py): Debian's chromium and
# chromium-driver, installed with apt-get when absent (root on a Debian or Ubuntu machine, as in CI).
# Prints two lines, the last ones of its output:
#   chromium=<path of the browser>
#   chromedriver=<path of the driver>
# ZTP_CHROMIUM and ZTP_CHROMEDRIVER name binaries to use instead. Exit status 1 (with the reason) when no browser
# can be found or installed.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

find_bin() {  # find_bin OVERRIDE NAME...: the override when set, else the first NAME on PATH or in /usr/bin
  local override=$1 name; shift
  if [ -n "$override" ]; then
    [ -x "$override" ] && { echo "$override"; return 0; }
    return 1
  fi
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    if [ -x "/usr/bin/$name" ]; then echo "/usr/bin/$name"; return 0; fi
  done
  return 1
}

chromium=$(find_bin "${ZTP_CHROMIUM:-}" chromium chromium-browser) || chromium=""
driver=$(find_bin "${ZTP_CHROMEDRIVER:-}" chromedriver) || driver=""
if [ -z "$chromium" ] || [ -z "$driver" ]; then
  if [ -n "${ZTP_CHROMIUM:-}${ZTP_CHROMEDRIVER:-}" ]; then
    echo "ZTP_CHROMIUM/ZTP_CHROMEDRIVER name no executable browser or driver" >&2
    exit 1
  fi
  # shellcheck source=hack/apt.sh
  . "$REPO/hack/apt.sh"
  # Other runs on this machine may hold the dpkg lock: wait for it rather than fail (APT_CONFIG adds to the
  # machine's configuration).
  apt_conf=$(mktemp)
  trap 'rm -f "$apt_conf"' EXIT
  echo 'DPkg::Lock::Timeout "600";' >"$apt_conf"
  export APT_CONFIG="$apt_conf"
  if ! reason=$(apt_install chromium chromium-driver); then
    echo "no headless browser: chromium/chromedriver are not installed and could not be installed: $reason" >&2
    exit 1
  fi
  chromium=$(find_bin "" chromium chromium-browser) || { echo "chromium was installed but is not found" >&2; exit 1; }
  driver=$(find_bin "" chromedriver) || { echo "chromium-driver was installed but chromedriver is not found" >&2; exit 1; }
fi
"$chromium" --version >&2 || { echo "$chromium does not run" >&2; exit 1; }
echo "chromium=$chromium"
echo "chromedriver=$driver"

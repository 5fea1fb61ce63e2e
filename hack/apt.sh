# shellcheck shell=bash
# Sourced by the CI stage scripts: apt_install PACKAGE... installs from the machine's package sources, or prints
# the reason it cannot and returns 1.
apt_updated=""
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { echo "no apt-get on this machine to install $*"; return 1; }
  [ "$(id -u)" = 0 ] || { echo "not root: cannot apt-get install $*"; return 1; }
  if [ -z "$apt_updated" ]; then apt-get update -qq >&2 || { echo "apt-get update failed"; return 1; }; apt_updated=1; fi
  local pkg cand
  for pkg in "$@"; do
    cand=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
      echo "the package sources of this machine have no $pkg (apt-cache policy $pkg: candidate ${cand:-none})"
      return 1
    fi
  done
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || { echo "apt-get install $* failed"; return 1; }
}

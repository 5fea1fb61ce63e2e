#!/usr/bin/env bash
# Prepare a machine for the playbooks, the tests and the demo. Safe to run again: it only redoes what changed.
#   - a Python virtual environment with requirements-dev.txt (reused while that file is unchanged)
#   - the stand-in that lets ansible-test bootstrap pip from ensurepip instead of a download host
#   - .collections/ansible_collections/ztp/sno_expand, a link to this checkout, so that
#     `ansible-playbook playbooks/expand_sno.yml` resolves the collection from a plain checkout
# Prints the path of the environment's bin folder on its last line.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
VENV=${ZTP_VENV:-$CACHE/venv}

missing=()
for tool in git openssl shellcheck; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from the distribution" >&2
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >&2
  else
    echo "please install: ${missing[*]} (shellcheck is only needed by the test suite)" >&2
    case " ${missing[*]} " in *" git "*|*" openssl "*) exit 1 ;; esac
  fi
fi

PY=""
for cand in ${PYTHON:-} python3.11 python3.12 python3; do
  if [ -n "$cand" ] && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    PY=$cand; break
  fi
done
[ -n "$PY" ] || { echo "Python 3.11 or newer is needed" >&2; exit 1; }

want=$(sha256sum < "$REPO/requirements-dev.txt" | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements-stamp" 2>/dev/null)" != "$want" ]; then
  echo "creating Python environment in $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REPO/requirements-dev.txt" >&2
  echo "$want" > "$VENV/.requirements-stamp"
fi

# ansible-test downloads get-pip.py for every sanity venv; give it one that uses the bundled ensurepip wheel.
PIPV=$("$VENV/bin/python" - <<'PYEOF'
import os, re, ansible_test
p = os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')
print(re.search(r"pip='([0-9.]+)'", open(p).read()).group(1))
PYEOF
)
mkdir -p "$HOME/.ansible/test/cache"
cat > "$HOME/.ansible/test/cache/get_pip_${PIPV//./_}.py" <<'PYEOF'
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel", "--disable-pip-version-check")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + args)
PYEOF

mkdir -p "$REPO/.collections/ansible_collections/ztp"
ln -sfn ../../.. "$REPO/.collections/ansible_collections/ztp/sno_expand"
echo "$VENV/bin"

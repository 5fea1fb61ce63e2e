#!/usr/bin/env bash
# Copy the checkout to <cache>/stage/ansible_collections/ztp/sno_expand, next to a copy of kubernetes.core.
# ansible-test needs the collection at a real path of that shape. Prints the staged collection's path.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ZTP_CACHE:-$HOME/.cache/ztp-sno-expand}
ROOT=$CACHE/stage
COL=$ROOT/ansible_collections/ztp/sno_expand
rm -rf "$COL" && mkdir -p "$COL"
(cd "$REPO" && tar --exclude=./.collections --exclude=./.hub --exclude=./tests/output --exclude=./.ansible \
   --exclude=./benchmarks/output -cf - .) | tar -xf - -C "$COL"
# Tests read the upstream reference files from ../shared beside the collection; give the copy the same view.
if [ -d "$REPO/../shared" ]; then
  ln -sfn "$(cd "$REPO/../shared" && pwd)" "$ROOT/ansible_collections/ztp/shared"
fi
if [ ! -f "$ROOT/ansible_collections/kubernetes/core/MANIFEST.json" ]; then
  ACOLS=$(python -c "import ansible,os;print(os.path.join(os.path.dirname(os.path.dirname(ansible.__file__)),'ansible_collections'))")
  ansible-galaxy collection install --force "$ACOLS/kubernetes/core" -p "$ROOT" >&2
fi
echo "$COL"

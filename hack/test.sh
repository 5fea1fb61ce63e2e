#!/usr/bin/env bash
# The whole test suite: static checks, unit tests, the packaging checks (Galaxy import, execution environment,
# every supported ansible-core), `make demo` in fresh clones of HEAD with no ../shared, then the integration and
# end-to-end tests against a local test hub (real kube-apiserver + etcd, hub simulator, Git remote), started and
# stopped by the tests.
# Every stage runs; the exit status is non-zero if any stage failed.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
BIN=$(bash hack/setup.sh | tail -n 1) || { echo "setup failed" >&2; exit 1; }
export PATH="$BIN:$PATH"
bash testhub/build.sh || { echo "building the test hub binaries failed" >&2; exit 1; }

failed=()
stage() {  # stage NAME COMMAND...
  local name=$1; shift
  echo "::: $name"
  local t0=$SECONDS
  if "$@"; then echo "::: $name passed ($((SECONDS - t0)) s)"; else echo "::: $name FAILED ($((SECONDS - t0)) s)"; failed+=("$name"); fi
}

COL=$(bash hack/stage.sh | tail -n 1)
ANSIBLE_COLLECTIONS_PATH=$(dirname "$(dirname "$(dirname "$COL")")")
export ANSIBLE_COLLECTIONS_PATH
stage "ansible-test sanity" bash -c "cd '$COL' && ansible-test sanity --python 3.11 --color no"
stage "ansible-test units" bash -c "cd '$COL' && ansible-test units --python 3.11 --requirements --color no"
stage "ansible-lint (production)" bash -c "cd '$COL' && ansible-lint --offline --profile production"
stage "antsibull-changelog lint" bash -c "cd '$COL' && antsibull-changelog lint"
stage "collection build and offline install" bash -c "cd '$COL' && d=\$(mktemp -d) && ansible-galaxy collection build --force --output-path \$d >/dev/null && ansible-galaxy collection install --offline --force -p \$d/inst \$d/ztp-sno_expand-*.tar.gz >/dev/null && rm -rf \$d"
unset ANSIBLE_COLLECTIONS_PATH
stage "Galaxy import and execution environment" bash hack/ci-packaging.sh
stage "ansible-core 2.16-2.20" bash hack/ci-core-matrix.sh
stage "demo in fresh clones without ../shared" bash hack/ci-fresh-demo.sh

# The real ZTP generators, from their source in the shared reference folder (absent in a fresh clone): a failed build
# fails this stage with the build's error, and the generator tests fail too (they never skip or fall back then).
if [ -d "${ZTP_SHARED_DIR:-$REPO/../shared}/generators" ]; then
  stage "ZTP generators build" bash testhub/build-generators.sh
fi
# The real siteconfig operator, which then renders the ClusterInstances of the end-to-end tests' hubs, and the real
# TALM (tests/hub/test_talm_real.py), and the ACM governance controllers (tests/hub/test_policy_real.py).
if [ -d "${ZTP_SHARED_DIR:-$REPO/../shared}/controllers/siteconfig-operator" ]; then
  stage "siteconfig operator build" bash testhub/build-controllers.sh
fi
if [ -d "${ZTP_SHARED_DIR:-$REPO/../shared}/controllers/talm" ]; then
  stage "TALM build" bash testhub/build-talm.sh
fi
if [ -d "${ZTP_SHARED_DIR:-$REPO/../shared}/controllers/config-policy-controller" ]; then
  stage "policy controllers build" bash testhub/build-policy-controllers.sh
fi

# Last, so that its closing line ends the output.
stage "integration and end-to-end tests" python -m pytest -p no:cacheprovider -q tests/hub tests/e2e tests/integration_py "$@"

if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed stages: %s\n' "${failed[*]}"
  exit 1
fi

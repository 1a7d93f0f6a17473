"""A throwaway S3 API server for tests: moto's server (https://docs.getmoto.org/en/latest/docs/server_mode.html)
in a child process on a free local port, torn down afterwards.

Everything speaking S3 through boto3 (Meltano's `s3://` state backend, target-gather's durable
ledger) reaches it through the standard AWS environment variables that `S3Server.env` returns:
`AWS_ENDPOINT_URL_S3` (boto3 >= 1.28 reads it), a key pair and a region. moto keeps objects in
memory, so separate "machines" (projects, processes) share one server exactly as they would
share a bucket.

    with s3_server() as s3:
        s3.create_bucket("state")
        subprocess.run([...], env={**os.environ, **s3.env})
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

HOST = "127.0.0.1"
# moto accepts any key pair; these only make boto3 sign requests instead of looking for creds.
ACCESS_KEY_ID = "test-s3-access-key"
SECRET_ACCESS_KEY = "test-s3-secret-key"
REGION = "us-east-1"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class S3Server:
    """A running S3 API server: where it is and how to talk to it."""

    endpoint_url: str

    @property
    def env(self) -> dict[str, str]:
        """The AWS environment variables pointing boto3 (and Meltano) at this server."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self) -> Any:
        """A boto3 S3 client of this server."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        """Create an empty bucket."""
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in `bucket` under `prefix`, sorted."""
        paginator = self.client().get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Start moto's S3 server in a child process; stop it (and its data) on exit."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = S3Server(f"http://{HOST}:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                msg = f"moto's S3 server exited with {proc.returncode}: {err[-2000:]}"
                raise RuntimeError(msg)
            try:
                with socket.create_connection((HOST, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    msg = f"moto's S3 server did not listen on {HOST}:{port} in {START_TIMEOUT_S} s"
                    raise RuntimeError(msg) from None
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ensure_boto3(python: str, requirements: str) -> None:
    """Install boto3 (the version pinned in `requirements`) into the venv of `python`, once.

    target-gather imports boto3 only for an `s3://` ledger_uri, so its plugin venv has none;
    deployments add it the same way (`scripts/scheduled-run.sh`).
    """
    check = subprocess.run([python, "-c", "import boto3"], capture_output=True, check=False)
    if check.returncode == 0:
        return
    lines = Path(requirements).read_text(encoding="utf-8").splitlines()
    wanted = ("boto3==", "botocore==", "s3transfer==", "jmespath==")
    pins = [line.split()[0] for line in lines if line.startswith(wanted)]
    uv = [sys.executable, "-m", "uv"]
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", python, *pins], check=True, timeout=300
    )

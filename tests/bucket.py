"""A real S3-compatible server for the tests: moto in server mode, in its own process on a free port."""

import socket
import subprocess
import sys
import time

import boto3
from botocore.config import Config

from tests.workers import free_port

ACCESS_KEY, SECRET_KEY, REGION = "test-access-key", "test-secret-key", "us-east-1"


class MotoServer:
    def __init__(self, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server stopped: {log_path.read_text()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("moto server did not start")

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            region_name=REGION, config=Config(signature_version="s3v4"),
        )  # fmt: skip

    def environment(self, bucket):
        """The settings' environment variables (README) for this server and bucket."""
        return {
            "AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": self.url, "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_S3_ADDRESSING_STYLE": "path",
        }  # fmt: skip

    def storage_setting(self, bucket, *, link_seconds=300):
        """STORAGES["default"] as courseweb.settings makes it from environment()."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket, "endpoint_url": self.url, "region_name": REGION, "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY, "default_acl": "private", "querystring_auth": True,
                "querystring_expire": link_seconds, "file_overwrite": False, "signature_version": "s3v4",
                "addressing_style": "path",
            },
        }  # fmt: skip

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()

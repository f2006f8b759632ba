"""Conditional writes on S3: create an object only if it is absent, replace it only if it is
still the version we read. ``pyarrow.fs`` has neither, so ``run.lock`` on ``s3://`` uses these.

S3 has supported ``If-None-Match: *`` on PutObject since August 2024 and ``If-Match: <ETag>`` since
November 2024 (AWS "Amazon S3 now supports conditional writes"; MinIO and moto have both); a failed
condition is HTTP 412 (or 409 when two conditional writes race), and then exactly one writer won.
The client is configured from the same environment as :func:`curation.io.fs._filesystem`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: the HTTP statuses S3 gives a conditional write that lost (412 Precondition Failed, 409
#: ConditionalRequestConflict when another conditional write on the key is in flight)
LOST = (409, 412)


class ConditionFailed(Exception):
    """Another writer created or replaced the object first."""


@dataclass(frozen=True)
class Versioned:
    """An object's bytes and the ETag that identifies that version."""

    body: bytes
    etag: str


def _client():
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None)


def _split(path: str) -> tuple[str, str]:
    """``bucket/key`` (a pyarrow S3 path) -> ``(bucket, key)``."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket or not key:
        raise ValueError(f"not an S3 object path: {path!r}")
    return bucket, key


def _status(e: Exception) -> int | None:
    return getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")


def read(path: str) -> Versioned | None:
    """The object and its ETag, or None when it does not exist."""
    bucket, key = _split(path)
    client = _client()
    try:
        got = client.get_object(Bucket=bucket, Key=key)
    except client.exceptions.NoSuchKey:
        return None
    return Versioned(got["Body"].read(), got["ETag"])


def put(path: str, body: bytes, *, if_absent: bool = False, if_etag: str | None = None) -> str:
    """Write ``body``; with ``if_absent`` only if no object exists, with ``if_etag`` only if the
    object is still that version. Returns the new ETag; raises :class:`ConditionFailed` if the
    condition did not hold."""
    if if_absent == (if_etag is not None):
        raise ValueError("give exactly one of if_absent and if_etag")
    bucket, key = _split(path)
    cond = {"IfNoneMatch": "*"} if if_absent else {"IfMatch": if_etag}
    client = _client()
    try:
        return client.put_object(Bucket=bucket, Key=key, Body=body, **cond)["ETag"]
    except client.exceptions.ClientError as e:
        if _status(e) in LOST:
            raise ConditionFailed(path) from None
        raise

"""Zenodo's passing faults that look final, and the facts that tell them from true refusals.

Real Zenodo answers some temporary failures with a 4xx (ZENODO-API.md, "Transient faults"):
a failed transfer (400), a 413 far below every limit, "Bucket quota exceeded." far below the
quota, a 403 on a fresh new-version draft. Each is retried a bounded number of times; when it
persists, the sizes, the quota and the token decide: a refusal the facts confirm becomes its
true error (:class:`TooLarge`, :class:`PermissionDenied`), any other a
:class:`TransientRefusal` whose message says what is true.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maggot_zenodo.zenodo.errors import TooLarge, TransientRefusal, ZenodoError
from maggot_zenodo.zenodo.wire import Answer, Refusal

TRANSFER_FAILED = "upload transfer failed"
QUOTA_EXCEEDED = "quota exceeded"
GB = 1_000_000_000


def message_of(answer: Answer) -> str:
    body = answer.json_or_none()
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or "")


def upload_refusal(answer: Answer) -> str | None:
    """The kind of a bucket PUT's refusal that may be Zenodo's passing fault, else None."""
    text = message_of(answer).lower()
    if QUOTA_EXCEEDED in text and answer.status in (400, 403, 413):
        return "quota"
    if answer.status == 413:
        return "too_large"
    if answer.status == 400 and TRANSFER_FAILED in text:
        return "transfer_failed"
    return None


def forbidden(ours: Callable[[], bool]) -> Refusal:
    """A rule for 403s: Zenodo's passing fault when ``ours()`` (asked once per call, since it
    costs a request) says the token works and the deposition is this account's."""
    verdict: list[bool] = []

    def rule(answer: Answer) -> str | None:
        if answer.status != 403:
            return None
        if not verdict:
            verdict.append(ours())
        return "forbidden" if verdict[0] else None

    return rule


def first(*rules: Refusal) -> Refusal:
    """A rule that asks each rule in turn."""

    def rule(answer: Answer) -> str | None:
        for each in rules:
            kind = each(answer)
            if kind is not None:
                return kind
        return None

    return rule


@dataclass(frozen=True)
class Limits:
    """Zenodo's size limits (bytes), per file and per record."""

    file: int
    record: int


def size_words(size: int) -> str:
    return f"{size / GB:.2f} GB" if size >= GB // 10 else f"{size} bytes"


def judge_upload(
    refusal: TransientRefusal, *, key: str, size: int, limits: Limits, bucket: Any
) -> TooLarge | TransientRefusal:
    """What a persistent upload refusal means, given the file's size and the bucket's
    state (``bucket``: the bucket's JSON, or None when it could not be read)."""
    tries = f"tried {refusal.attempts} times"
    if refusal.kind == "too_large":
        if size > limits.file:
            return _too_large(
                refusal,
                f"{key} holds {size_words(size)}, over Zenodo's limit of "
                f"{size_words(limits.file)} per file",
            )
        return _transient(
            refusal,
            key,
            f"Zenodo refused the upload of {key} (413) although it is within the limits "
            f"({size_words(size)}; at most {size_words(limits.file)} per file); this happens "
            f"on Zenodo's side ({tries})",
        )
    if refusal.kind == "quota":
        return _judge_quota(refusal, key, size, bucket, limits.record, tries)
    if refusal.kind == "forbidden":
        return _transient(
            refusal,
            key,
            f"Zenodo refused the upload of {key} (403) although the token works and the "
            f"deposition is this account's; this happens on Zenodo's side ({tries})",
        )
    return _transient(
        refusal,
        key,
        f"Zenodo's transfer of {key} kept failing (\"The file upload transfer failed, please "
        f"try again.\"); this happens on Zenodo's side ({tries})",
    )


def _judge_quota(
    refusal: TransientRefusal, key: str, size: int, bucket: Any, max_record_size: int, tries: str
) -> TooLarge | TransientRefusal:
    contents = bucket.get("contents") if isinstance(bucket, dict) else None
    if not isinstance(contents, list):
        return _transient(
            refusal,
            key,
            f'Zenodo answered "Bucket quota exceeded." to the '
            f"upload of {key} ({size_words(size)}) and the record's size could not "
            f"be read to check it; taken as Zenodo's passing fault ({tries})",
        )
    others = sum(
        int(f.get("size") or 0) for f in contents if isinstance(f, dict) and f.get("key") != key
    )
    quota = bucket.get("quota_size")
    limit = min(quota, max_record_size) if isinstance(quota, int) and quota > 0 else max_record_size
    total = others + size
    if total > limit:
        return _too_large(
            refusal,
            f"with {key} the record would hold {size_words(total)}, "
            f"over Zenodo's quota of {size_words(limit)} per record",
        )
    return _transient(
        refusal,
        key,
        f'Zenodo answered "Bucket quota exceeded." to the upload '
        f"of {key} although the record holds {size_words(total)} with it, within "
        f"its quota of {size_words(limit)}; this happens on Zenodo's side "
        f"({tries})",
    )


def file_delete(failed: ZenodoError, deposition_id: int, attempts: int) -> TransientRefusal:
    """Zenodo's lasting 500 deleting a file (of a new-version draft, where it happens)."""
    return TransientRefusal(
        f"Zenodo kept failing (500) to delete a file of deposition {deposition_id}; "
        "this happens on Zenodo's side with new-version drafts",
        kind="file_delete",
        attempts=attempts,
        status=500,
        method=failed.method,
        path=failed.path,
    )


def _transient(refusal: TransientRefusal, key: str | None, message: str) -> TransientRefusal:
    return TransientRefusal(
        message,
        kind=refusal.kind,
        key=key,
        attempts=refusal.attempts,
        status=refusal.status,
        method=refusal.method,
        path=refusal.path,
    )


def _too_large(refusal: TransientRefusal, message: str) -> TooLarge:
    return TooLarge(message, status=refusal.status, method=refusal.method, path=refusal.path)

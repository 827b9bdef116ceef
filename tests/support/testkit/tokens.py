"""The one bearer token of the test suite, and a second user's for ownership tests.

Both are distinctive so that a leak is found by a plain substring search of logs, status
files, exceptions and command lines. The emulators accept any non-empty token as its user.
"""

from __future__ import annotations

TOKEN = "tok-TEST-s3cr3t-5f1e2d3c4b5a69788796"
OTHER_TOKEN = "tok-OTHER-s3cr3t-0b2e6d10a7c4"

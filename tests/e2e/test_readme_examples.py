"""The README's worked examples are true: each request is replayed, in order, and its answer matches the README's.

The README marks each example with an HTML comment (invisible on GitHub) before its ``sh`` block:
``<!-- readme-example STATUS NAME=path ... -->``, then a ``json`` block with the answer; ``<!-- readme-file -->``
marks a shell block that writes a file a later request sends. The shell blocks run in bash, in a scratch directory,
with a ``curl`` function that prints its arguments instead of sending them: the shell itself expands the variables
and quotes exactly as it would for a reader. The request then goes to the application in-process. The answer must
have the README's status, the same keys at every level, and the same values, except ids, secrets and times, which
differ on every run; ``NAME=path`` keeps a value of the answer (``payouts.0.end_to_end_id``) for later examples.
A body, a field or a path that drifts from the API fails this test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.staff.roles import Role

from ..operator_keys import operator_key

README = Path(__file__).resolve().parents[2] / "README.md"
KLELINE = "http://127.0.0.1:8000"
_BLOCK = re.compile(
    r"<!-- readme-(?P<kind>example|file)(?P<args>[^>]*?)-->\s*```sh\n(?P<shell>.*?)```"
    r"(?:\s*```json\n(?P<answer>.*?)```)?",
    re.DOTALL,
)
# Values that differ on every run: ids and secrets (a prefix, then 16 or more characters), times and dates.
_VARYING = [
    (re.compile(r"\b[a-z]{2,6}[_-][A-Za-z0-9_-]{16,}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"), "<time>"),
    (re.compile(r"\b\d{4}-\d\d-\d\d\b"), "<date>"),
]


@dataclass(frozen=True)
class Example:
    kind: str
    status: int | None
    keep: dict[str, str]
    shell: str
    answer: Any


def examples(text: str) -> list[Example]:
    """The README's marked blocks, in order."""
    found = []
    for match in _BLOCK.finditer(text):
        words = match["args"].split()
        status = int(words[0]) if words and words[0].isdigit() else None
        keep = dict(word.split("=", 1) for word in words if "=" in word)
        answer = json.loads(match["answer"]) if match["answer"] is not None else None
        found.append(Example(match["kind"], status, keep, match["shell"], answer))
    return found


def shell_words(script: str, variables: dict[str, str], cwd: Path) -> list[list[str]]:
    """Run ``script`` in bash with ``variables``; each ``curl`` in it gives the words it was called with."""
    prelude = "curl() { printf '%s\\0' \"$@\"; printf '\\1'; }\n"
    environment = {"PATH": "/usr/bin:/bin", **variables}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", prelude + script],
        cwd=cwd,
        env=environment,
        capture_output=True,
        check=True,
    )
    calls = done.stdout.decode().split("\1")[:-1]
    return [call.split("\0")[:-1] for call in calls]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None


def request_of(words: list[str], cwd: Path) -> Request:
    """The HTTP request a ``curl`` command line makes (the options the README uses, and no other)."""
    method, url, headers, body = None, None, {}, None
    rest = iter(words)
    for word in rest:
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-binary"):
            data = next(rest)
            body = (cwd / data[1:]).read_bytes() if data.startswith("@") else data.encode()
        elif word.startswith("-"):
            raise AssertionError(f"curl option the test does not know: {word}")
        else:
            assert url is None, f"two URLs: {url} and {word}"
            url = word
    assert url is not None and url.startswith(KLELINE + "/"), url
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return Request(method or ("POST" if body is not None else "GET"), path, headers, body)


def _normalised(value: str) -> str:
    for pattern, placeholder in _VARYING:
        value = pattern.sub(placeholder, value)
    return value


def assert_same_shape(expected: Any, actual: Any, where: str = "answer") -> None:
    """``actual`` has ``expected``'s keys at every level and its values, ids, secrets and times aside."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        assert sorted(actual) == sorted(expected), f"{where}: keys {sorted(actual)} != README's {sorted(expected)}"
        for key, value in expected.items():
            assert_same_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for index, (item, got) in enumerate(zip(expected, actual, strict=True)):
            assert_same_shape(item, got, f"{where}.{index}")
    elif isinstance(expected, str):
        assert isinstance(actual, str) and _normalised(actual) == _normalised(expected), f"{where}: {actual!r}"
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != README's {expected!r}"


def _kept(answer: Any, path: str) -> str:
    value = answer
    for step in path.split("."):
        value = value[int(step)] if isinstance(value, list) else value[step]
    assert isinstance(value, str), f"{path}: {value!r}"
    return value


def replay(client: TestClient, kleline: Kleline, cwd: Path) -> Iterator[tuple[Example, int, Any]]:
    """Run the README's examples in order: each example, with the status and the JSON of its answer."""
    variables = {
        "KLELINE": KLELINE,
        "COMPLIANCE_KEY": operator_key(kleline.db, Role.COMPLIANCE),
        "FINANCE_KEY": operator_key(kleline.db, Role.FINANCE),
        "SAFEGUARDING_IBAN": kleline.settings.safeguarding_iban,
    }
    for example in examples(README.read_text(encoding="utf-8")):
        calls = shell_words(example.shell, variables, cwd)
        if example.kind == "file":
            assert calls == [], "a readme-file block writes a file, it sends nothing"
            continue
        assert len(calls) == 1, f"one request per example: {example.shell}"
        request = request_of(calls[0], cwd)
        answer = client.request(request.method, request.path, content=request.body, headers=request.headers)
        body = answer.json()
        yield example, answer.status_code, body
        for name, path in example.keep.items():
            variables[name] = _kept(body, path)


@pytest.fixture
def client(kleline: Kleline) -> Iterator[TestClient]:
    with TestClient(create_app(kleline), base_url=KLELINE) as test_client:
        yield test_client


def test_the_readme_marks_an_example_for_each_main_flow() -> None:
    found = examples(README.read_text(encoding="utf-8"))
    paths = " ".join(example.shell for example in found)
    for flow in (
        "/v1/customers",
        "/v1/auth/token",
        "/v1/wallet/cards",
        "/v1/wallet/top-ups",
        "/v1/merchants",
        "/approve",
        "/v1/payments",
        "/confirm",
        "/capture",
        "/v1/refunds",
        "/v1/webhook-endpoints",
        "/v1/settlement-runs",
        "/v1/bank-statements",
    ):
        assert flow in paths, flow
    assert all(example.answer is not None and example.status for example in found if example.kind == "example")


def test_every_readme_example_gets_the_answer_the_readme_shows(
    client: TestClient, kleline: Kleline, tmp_path: Path
) -> None:
    if shutil.which("bash") is None:
        pytest.skip("the README's examples are shell commands: bash is needed to expand them")
    count = 0
    for example, status, body in replay(client, kleline, tmp_path):
        count += 1
        assert status == example.status, f"{example.shell}\n{status}: {body}"
        assert_same_shape(example.answer, body, f"answer to {example.shell.splitlines()[0]}")
    assert count >= 13


def test_a_body_that_drifts_from_the_api_fails_the_comparison() -> None:
    readme = {"id": "pay_7034bc580428ac210172ba43b04650b4", "amount": 2500, "created_at": "2026-01-15T09:30:00Z"}
    assert_same_shape(readme, {**readme, "id": "pay_0123456789abcdef0123456789abcdef"})
    for drifted in ({**readme, "amount": 2501}, {"id": readme["id"], "amount": 2500}, {**readme, "name": "x"}):
        with pytest.raises(AssertionError):
            assert_same_shape(readme, drifted)

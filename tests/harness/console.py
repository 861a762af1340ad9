"""A browser without a browser: an HTTP client that keeps the console's cookies and fills its forms (with the CSRF
token the page carries), for the console's integration and attack tests and its benchmark."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import httpx

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    if found is None:
        raise AssertionError("the page has no CSRF token")
    return found.group(1)


class ConsoleClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ConsoleClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def csrf(self, path: str = "/login") -> str:
        return csrf_of(self.http.get(path).text)

    def post_form(self, path: str, data: dict[str, Any], *, page: str = "/login", **kwargs: Any) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.csrf(page), **data}, **kwargs)

    def sign_up(self, email: str, password: str = "a long password", **fields: str) -> httpx.Response:
        response = self.post_form("/signup", {"email": email, "password": password, **fields}, page="/signup")
        assert response.status_code == 303, response.text[:500]
        return response

    def sign_in(self, email: str, password: str = "a long password") -> httpx.Response:
        response = self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text[:500]
        return response


def grant_operator(env: dict[str, str], email: str) -> None:
    """``answer-ninja users grant-operator`` against the stack's database (the only way to make an operator)."""
    result = subprocess.run(
        [sys.executable, "-m", "answer_ninja", "users", "grant-operator", email],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def verify_number(env: dict[str, str], email: str, number: str, *, forward: bool = False) -> None:
    """``answer-ninja numbers verify``: the operator vouches for a pending number (hosted, or ``forward``ed to)."""
    argv = [
        sys.executable,
        "-m",
        "answer_ninja",
        "numbers",
        "verify",
        email,
        number,
        *(["--forward"] if forward else []),
    ]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr

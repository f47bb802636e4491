"""Small helpers shared by tests: import a handler by its file path, read what SES accepted."""

from __future__ import annotations

import email
import importlib.util
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from types import ModuleType
from typing import Any

from infra.template import ROOT


def load_handler(function_dir: str) -> ModuleType:
    """`functions/<function_dir>/app.py` as a module (every handler file is named app.py)."""
    path = ROOT / "functions" / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function_dir}", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Mail:
    """One message SES accepted, parsed as a person would read it."""

    ses_message_id: str
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def parse_sent(sent: Any) -> Mail:
    """A moto SES RawMessage parsed into a Mail."""
    message = email.message_from_string(sent.raw_data, policy=default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Mail(
        ses_message_id=sent.id,
        to=str(message["To"]),
        subject=str(message["Subject"]),
        text=text.get_content() if text else "",
        html=html.get_content() if html else "",
        headers={k: str(v) for k, v in message.items()},
    )

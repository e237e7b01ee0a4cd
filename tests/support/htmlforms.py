"""Read the forms of an HTML page, as a browser would submit them."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    # name -> values of submit buttons (e.g. {"decision": ["decline", "accept"]})
    buttons: dict[str, list[str]] = field(default_factory=dict)
    selects: dict[str, list[str]] = field(default_factory=dict)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
            return
        if not self.forms or not a.get("name"):
            if tag == "option" and self._select is not None and self.forms:
                self.forms[-1].selects[self._select].append(a.get("value", ""))
            return
        form = self.forms[-1]
        if tag == "button" or (tag == "input" and a.get("type") == "submit"):
            form.buttons.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "input":
            form.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            form.selects[a["name"]] = []
        elif tag == "textarea":
            form.fields[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_of(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms

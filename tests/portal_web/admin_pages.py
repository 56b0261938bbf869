"""Reading the administration pages in HTTP tests: elements by id, links, text (stdlib parser)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Element", "Page", "page_of"]

_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})


@dataclass
class Element:
    """One element: its tag, attributes and the text inside it."""

    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Page:
    """A parsed page: elements with an id, every link, checked boxes and the whole text."""

    by_id: dict[str, Element] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    checked: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""

    def value(self, element_id: str) -> str:
        """The value attribute of an input."""
        return self.by_id[element_id].attrs.get("value", "")

    def said(self, element_id: str) -> str:
        """The text of an element, spaces collapsed."""
        return " ".join(self.by_id[element_id].text.split())


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._open: list[tuple[str, Element | None]] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        element = Element(tag, values)
        if "id" in values:
            self.page.by_id[values["id"]] = element
        if tag == "a" and "href" in values:
            self.page.links.append(values["href"])
        if tag == "input" and "checked" in values:
            self.page.checked.setdefault(values.get("name", ""), []).append(values["value"])
        if tag not in _VOID:
            self._open.append((tag, element if "id" in values else None))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        for _, element in self._open:
            if element is not None:
                element.text += data

    def close(self) -> None:
        super().close()
        self.page.text = re.sub(r"\s+", " ", " ".join(self._text))


def page_of(html: str) -> Page:
    """`html` parsed."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page

"""Reading a page in a test with the standard library: elements by id, form values, texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Element", "Page"]

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


@dataclass
class Element:
    """One element: its tag, attributes and the text inside it."""

    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    @property
    def words(self) -> str:
        """The text with whitespace runs made single spaces."""
        return " ".join(self.text.split())


class Page(HTMLParser):
    """A parsed page: `page["id"]` is the element with that id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.handle_data(" ")  # a tag separates words, as a browser lays out cells and items
        if self._open:
            self._open[-1].children.append(element)
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        self.handle_data(" ")
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    @property
    def words(self) -> str:
        """The whole page's text, whitespace runs made single spaces."""
        return " ".join(" ".join(e.text for e in self.elements if e.tag == "html").split())

    def __getitem__(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]

    def __contains__(self, element_id: object) -> bool:
        return any(e.attrs.get("id") == element_id for e in self.elements)

    def value(self, name: str) -> str:
        """The value the first control named `name` would post (input, or selected option)."""
        for element in self.elements:
            if element.attrs.get("name") != name:
                continue
            if element.tag == "select":
                chosen = [c for c in element.children if "selected" in c.attrs]
                return (chosen or element.children)[0].attrs.get("value", "")
            return element.attrs.get("value", "")
        raise AssertionError(f"no control named {name!r}")

    def options(self, name: str) -> list[str]:
        """The values of the select named `name`."""
        select = next(e for e in self.elements if e.tag == "select" and e.attrs.get("name") == name)
        return [child.attrs.get("value", "") for child in select.children]

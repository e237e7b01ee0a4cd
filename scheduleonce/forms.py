"""What every server-rendered form of the product shares."""

from __future__ import annotations


class FocusFirstMistake:
    """A form shown again with mistakes starts the cursor in its first field that has one
    (a keyboard or screen reader user lands on that field and its message), instead of in
    a field that always has ``autofocus`` or at the top of the page.

    Browsers focus the first ``autofocus`` element of the page, so on a page of several
    forms (the page editor and its rows) the first mistake in the page wins. Hidden
    fields cannot take the cursor and are passed over."""

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        wrong = [
            name
            for name, field in self.fields.items()  # type: ignore[attr-defined]
            if name in self.errors and not field.widget.is_hidden  # type: ignore[attr-defined]
        ]
        if not wrong:
            return
        for field in self.fields.values():  # type: ignore[attr-defined]
            field.widget.attrs.pop("autofocus", None)
        self.fields[wrong[0]].widget.attrs["autofocus"] = True  # type: ignore[attr-defined]

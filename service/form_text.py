"""Staff pages' text: the same rules as readers' text (service/text_rules.py), worded for
the moderators' and admins' pages in their language."""

from __future__ import annotations

from flask_babel import gettext as _

from service import text_rules


def text_error(value: str, *, one_line: bool = False, required: bool = False,
               max_length: int | None = None) -> str | None:
    """What is wrong with text a staff member typed (translated), or None."""
    if required and text_rules.is_blank(value):
        return _("Enter some visible text.")
    if ch := text_rules.forbidden_char(value, one_line=one_line):
        code = f"U+{ord(ch):04X}"
        if ch in text_rules.BIDI_CONTROLS:
            return _("The text contains a character that reverses the direction of the text "
                     "(%(code)s). Remove it and try again.", code=code)
        if ch in "\t\n\r\u2028\u2029":
            return _("Write this on one line.")
        return _("The text contains an invisible control character (%(code)s). "
                 "Remove it and try again.", code=code)
    if max_length is not None and len(value) > max_length:
        return _("At most %(num)d characters.", num=max_length)
    return None

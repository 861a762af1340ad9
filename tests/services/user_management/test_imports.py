from __future__ import annotations

import pytest

from answer_ninja.services.user_management.imports import ContactFileError, contacts_from_csv, contacts_from_vcard

VCARDS = """BEGIN:VCARD
VERSION:3.0
FN:张三
TEL;TYPE=CELL:138 0013 8000
TEL;TYPE=WORK:010-1234-5678
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Alice
TEL:+1 415 555 2671
END:VCARD
"""


def test_csv_with_header_in_any_order() -> None:
    text = "\ufeffName,Phone\n张三,138 0013 8000\nAlice,+1 415 555 2671\n,\n"
    assert contacts_from_csv(text) == [("138 0013 8000", "张三"), ("+1 415 555 2671", "Alice")]


def test_csv_without_header_uses_the_first_column() -> None:
    assert contacts_from_csv("13800138000,Bob\n13900000001\n") == [("13800138000", "Bob"), ("13900000001", "")]


def test_chinese_headers() -> None:
    assert contacts_from_csv("姓名,手机\n李四,13700000000\n") == [("13700000000", "李四")]


def test_vcards_yield_every_number_with_the_cards_name() -> None:
    assert contacts_from_vcard(VCARDS) == [
        ("138 0013 8000", "张三"),
        ("010-1234-5678", "张三"),
        ("+1 415 555 2671", "Alice"),
    ]


def test_broken_vcard_is_an_error() -> None:
    with pytest.raises(ContactFileError):
        contacts_from_vcard("BEGIN:VCARD\nFN:x\n")

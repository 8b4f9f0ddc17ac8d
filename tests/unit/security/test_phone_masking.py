"""Phone numbers are masked in every form people write them: country codes, groupings, full-width digits,
landlines with their area codes; and nothing else in a report's text is taken for one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pii import mask_phone_numbers, mask_text, masked_report, shared_report

FULL_WIDTH = str.maketrans("0123456789+- ", "０１２３４５６７８９＋－　")


def digits(text: str) -> str:
    """The text's digits in ASCII, everything else dropped: what a reader could dial from it."""
    return "".join(str(int(c)) for c in text if c.isdigit())


@pytest.mark.parametrize(("written", "masked"), [
    ("13912345678", "139****5678"),
    ("+86 139 1234 5678", "+86 139****5678"),
    ("+86-139-1234-5678", "+86-139****5678"),
    ("8613912345678", "86139****5678"),
    ("+8613912345678", "+86139****5678"),
    ("008613912345678", "0086139****5678"),
    ("(+86) 13912345678", "(+86) 139****5678"),
    ("139-1234-5678", "139****5678"),
    ("139 1234 5678", "139****5678"),
    ("139.1234.5678", "139****5678"),
    ("１３９１２３４５６７８", "１３９****５６７８"),
    ("＋８６　１３９－１２３４－５６７８", "＋８６　１３９****５６７８"),
    ("0574-87654321", "0574-****4321"),
    ("0574 8765 4321", "0574-****4321"),
    ("(0574) 87654321", "(0574)-****4321"),
    ("057487654321", "0574-****4321"),
    ("010-12345678", "010-****5678"),
    ("+86 574 8765 4321", "+86 574-****4321"),
    ("+86 10 1234 5678", "+86 10-****5678"),
    ("０５７４－８７６５４３２１", "０５７４-****４３２１"),
])
def test_each_written_form_of_a_number_is_masked(written: str, masked: str) -> None:
    assert mask_phone_numbers(f"请回电{written}，谢谢") == f"请回电{masked}，谢谢"


@pytest.mark.parametrize("kept", [
    "2026-01-05T14:06:00+08:00 报", "解放南路123号3单元502室", "共12345户", "订单号 20260105123456789",
    "罚款5000元", "C20260105-000042", "身高1.75米", "12345热线",
])
def test_what_is_not_a_phone_number_is_left_alone(kept: str) -> None:
    assert mask_phone_numbers(kept) == kept


MOBILES = st.builds(lambda p, rest: f"1{p}{rest}", st.sampled_from("3456789"),
                    st.text("0123456789", min_size=9, max_size=9))
SEPARATORS = st.sampled_from(["", " ", "-", ".", "\u00a0"])
PREFIXES = st.sampled_from(["", "+86", "+86 ", "86", "0086 ", "(+86)", "+86-"])
AROUND = st.text(st.sampled_from("电话联系人张先生请回拨，。：:（） abc"), max_size=8)


@given(number=MOBILES, prefix=PREFIXES, sep=SEPARATORS, wide=st.booleans(), before=AROUND, after=AROUND)
def test_no_written_form_of_a_mobile_survives(number: str, prefix: str, sep: str, wide: bool, before: str,
                                              after: str) -> None:
    written = prefix + sep.join((number[:3], number[3:7], number[7:]))
    if wide:
        written = written.translate(FULL_WIDTH)
    masked = mask_phone_numbers(before + written + after)
    kept = f"{prefix}{number[:3]}****{number[7:]}"
    assert masked == f"{before}{kept.translate(FULL_WIDTH) if wide else kept}{after}"


LANDLINES = st.builds(lambda area, local: (area, local), st.sampled_from(["010", "021", "0574", "0755", "0371"]),
                      st.text("0123456789", min_size=8, max_size=8).filter(lambda s: s[0] != "0"))


@given(landline=LANDLINES, sep=st.sampled_from(["", "-", " "]), wide=st.booleans(), before=AROUND, after=AROUND)
def test_no_written_form_of_a_landline_survives(landline: tuple[str, str], sep: str, wide: bool, before: str,
                                                after: str) -> None:
    area, local = landline
    written = f"{area}{sep}{local}"
    if wide:
        written = written.translate(FULL_WIDTH)
    masked = mask_phone_numbers(before + written + after)
    # Without a separator 010 12345678 may read as 0101 2345678: either way only the area and four digits stay.
    last = local[4:].translate(FULL_WIDTH) if wide else local[4:]
    assert masked.startswith(before) and masked.endswith(f"-****{last}{after}")
    assert len(digits(masked)) <= 8 and digits(masked).startswith(area)


def test_the_reporters_own_number_and_name_are_masked_in_any_form_they_were_given() -> None:
    # An extension the patterns cannot know is masked because it is the reporter's number as given.
    assert mask_text("王五说打 8765-4321 转 9", ["王五"], ["8765-4321 转 9"]) == "王*说打 ****"


def test_a_report_without_reporter_fields_still_has_its_text_masked() -> None:
    report = {"title": "占道经营", "description": "网格员记录：摊主电话 +86 139 8765 4321", "reporter_name": None,
              "reporter_phone": None, "callback_url": "https://grid.example/cb", "attachments": ["https://s/p.jpg"]}
    assert masked_report(report)["description"] == "网格员记录：摊主电话 +86 139****4321"
    assert shared_report(report, submitter=False)["callback_url"] is None
    assert shared_report(report, submitter=False)["attachments"] == []
    assert shared_report(report, submitter=True)["callback_url"] == "https://grid.example/cb"

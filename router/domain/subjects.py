"""The subject a report is about (issue 15 §1): its credit code, else the business it names at its address,
else its place. Pure; the router puts the keys on the decision and the tracker links cases by them.

A business name is what the text calls the premises: a quoted name (“张记面馆”), or the words before a
premises noun (面馆, 超市, 有限公司) back to what cannot be part of a name (一家, 的, a road). It is a key only
together with the address: 铝合金门窗店 on 解放南路 and on 中山西路 are two shops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from router.domain.text import normalise, normalise_address
from schemas.decision import Decision, Evidence, SubjectRef, Tier
from schemas.report import Report

QUOTED: Final = re.compile(r"[“\"「『《【]([^”\"」』》】\n]{2,30})[”\"」』》】]")
# Premises nouns, longest first so 小吃店 wins over 店.
PREMISES: Final = ("有限公司", "公司", "饭店", "酒店", "酒楼", "餐厅", "餐馆", "饭馆", "面馆", "小吃店", "排档", "超市",
            "便利店", "网吧", "药店", "药房", "诊所", "浴室", "足浴店", "理发店", "美容院", "宾馆", "旅馆", "商行",
            "作坊", "加工厂", "厂", "馆", "店")
NAMED: Final = re.compile(r"([\u4e00-\u9fffA-Za-z0-9]{1,14}?(?:" + "|".join(PREMISES) + "))")
# What ends the words before a name: a quantifier or particle, what the report says of it (无照: the same shop
# is 无照 in one report and not in the next), or a place word (the address is keyed apart).
BEFORE_NAME: Final = re.compile(r".*(?:" + "|".join((
    "一家", "这家", "那家", "有家", "一个", "这个", "一处", "无照", "无证", "非法", "违规", "的", "在", "旁", "边",
    "对面", "附近", "楼下", "门口",
    "路", "街", "巷", "弄", "号", "村", "社区", "小区", "里")) + ")")
MIN_NAME: Final = 2
MAX_PLACE: Final = 200  # an address as long as a report allows (500) would make a key longer than the tables keep


def business_name(text: str) -> str | None:
    """The first business name the text gives, normalised, or None."""
    text = normalise(text)
    if quoted := QUOTED.search(text):
        return quoted.group(1)
    for match in NAMED.finditer(text):
        name = BEFORE_NAME.sub("", match.group(1))
        if len(name) >= MIN_NAME and name not in PREMISES:
            return name
    return None


def subject_of_report(report: Report, unit: str | None) -> SubjectRef | None:
    """The report's subject keys, strongest first; None when it names neither a code, a business nor a place."""
    address = normalise_address(report.location.address) or None
    place = address or (normalise(report.location.grid) if report.location.grid else None)
    place = place[:MAX_PLACE] if place else None
    name = business_name(report.text)
    unit_key = unit or "-"
    keys: list[str] = []
    if code := report.facts.credit_code:
        keys.append(f"uscc:{code}")
    if name and place:
        keys.append(f"name:{unit_key}:{place}:{name}")
    if place and not keys:  # the place alone only when nothing names the business: it holds many
        keys.append(f"place:{unit_key}:{place}")
    if not keys:
        return None
    return SubjectRef(keys=keys, name=name, address=place, credit_code=report.facts.credit_code)


@dataclass(frozen=True, slots=True)
class Rated:
    """What the tracker announced for a key: the subject it belongs to and that subject's tier."""

    subject_id: str
    tier: Tier


def with_subject(decision: Decision, subject: SubjectRef | None, rated: Rated | None, *,
                 hazard_ack_hours: float) -> Decision:
    """The decision carrying its subject (with its id and tier once the tracker rated it); a tier D subject's case
    gets the hazard ack window (a repeat offender is answered as fast as a hazard), said in the evidence."""
    if subject is None:
        return decision
    tier = rated.tier if rated else None
    update: dict[str, object] = {"subject": subject.model_copy(update={
        "id": rated.subject_id if rated else None, "tier": tier})}
    if tier == "D" and decision.ack_hours > hazard_ack_hours:
        update["ack_hours"] = hazard_ack_hours
        update["evidence"] = [*decision.evidence, Evidence(kind="tier", what="tier=D", source="subject",
                                                           words=[f"ack_hours={hazard_ack_hours:g}"])]
    return decision.model_copy(update=update)

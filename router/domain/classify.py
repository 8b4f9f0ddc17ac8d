"""Facts of a report: structured fields first, the text where they are silent."""

from __future__ import annotations

import re
from typing import Final

from router.domain.build import trusted
from router.domain.compiled import CompiledCatalogue
from router.domain.rounding import round3
from router.domain.scan import Signals, Subject, landmarks_end, premises_named, scan, venues
from router.domain.signals import NOT_IN_TEXT
from router.domain.text import normalise, report_text
from router.domain.units import resolve_unit
from schemas.decision import Evidence
from schemas.report import Hazard, Report

# Enum members as globals: Enum attribute lookups are slow.
_NONE: Final = Hazard.none
_FIRE: Final = Hazard.fire
_SAFETY: Final = Hazard.safety


def _ev(kind: str, what: str, source: str, words: list[str] | None = None) -> Evidence:
    # Valid by construction: skip validation and model_construct's per-field bookkeeping.
    return trusted(Evidence, {"kind": kind, "what": what, "source": source, "words": words or []})


STRUCTURED: Final = 1.0
PASSING: Final = 0.6  # one plain word of a matter, named in passing
OWNER_UNKNOWN: Final = 0.5  # a matter the caller says nobody is known to own counts this much
_OWNER_UNKNOWN: Final = re.compile(
    "不知道是哪个单位|不知道归谁|谁也说不清|说不清.{0,4}归谁|没人能拍板|没人拍板|产权不清|不知道该找谁|到底该找谁|"
    "不知道找谁|该找哪个部门|找哪个部门|归谁管|哪个部门管|不知道该报哪|向哪个部门申请|找谁申请")
GAP_CONCERN: Final = 0.65  # of the hazard threshold: two half-weight words (歪, 锈) are a concern, one 0.6 word is not
NEAR_HAZARD: Final = 0.6  # of the hazard threshold: one 0.6 word (晃) is no concern, yet a hazard reading comes close
PRESUMED_UNAPPROVED: Final = 0.75  # building work reported in progress, its approval not mentioned
ONGOING_ENOUGH: Final = 2.0  # signs of building work in progress that name the trade on their own
# 正沿着围墙搭一排棚子, 还在往上砌: an aspect word of ongoing action, then a building verb in the same clause. Bare
# 在 is left out: 在门口搭了个棚 places a finished shed.
_BUILDING_NOW: Final = re.compile(
    "(?:正在|正|还在|仍在|一直在|天天在|每天在)[^，。；！？\n]{0,8}?(?:搭|建|盖|砌|挖|浇|焊|扩|垒|铺|施工)")
# 加第三层, 往外扩一间, 盖两层, 砌到二楼: storeys or rooms being added are building work, whatever the building.
_STOREYS: Final = re.compile(
    "(?:加|盖|建|起|砌|搭|扩|接|造)了?(?:一栋|一幢|一座)?第?[一二三四五六七八九十两几0-9]{1,2}(?:层|间)"
    "|(?:砌|盖|建|造|搭)到了?[一二三四五六七八九十两几0-9]{1,2}(?:楼|层)"
    "|(?:正在|正|还在)[^，。；！？\n]{0,8}?(?:搭|盖|砌|建)了?[一两几]?[个间][^，。；！？\n]{0,8}?(?:房间|小屋|屋子|房子|阳光房)")
MIN_SUBJECT: Final = 0.3  # below this an industry or matter word is noise


# Each alternative of _OWNER_UNKNOWN and _STOREYS needs one of a few characters: an `in` test costs a tenth of a
# search of the whole text, and most reports hold none of them.
def _may_say_owner_unknown(text: str) -> bool:
    return "谁" in text or "哪" in text or "板" in text or "权" in text


_STOREY_VERBS: Final = ("盖", "建", "搭", "砌", "加", "起", "扩", "接", "造")  # one opens each form of _STOREYS


def _may_add_storeys(text: str) -> bool:
    return ("层" in text or "间" in text or ("到" in text and "楼" in text)
            or (("正" in text or "还在" in text) and ("房" in text or "屋" in text))) and any(
        verb in text for verb in _STOREY_VERBS)


def confidence(score: float) -> float:
    """Evidence weight to a 0..1 confidence: one plain word gives 0.5, two give 0.75."""
    return round3(1.0 - 0.5 ** max(score, 0.0))


class Classification:
    """The facts the rules read, each with a confidence and the evidence that set it.

    A plain class, not a dataclass: compiled, a dataclass is built by its generated Python __init__, which cost
    a twentieth of a decision for these twenty-odd fields."""

    __slots__ = ("evidence", "hazard", "hazard_conf", "homes_plainly", "industry", "industry_conf", "licence_conf",
                 "licence_is_main", "licensed", "matter", "matter_conf", "near_hazard", "premises_named",
                 "public_building", "related", "residential", "runner_up_industry", "runner_up_matter", "safety_cue",
                 "size", "text", "unit")

    def __init__(self, text: str = "") -> None:
        self.hazard: Hazard = _NONE
        self.hazard_conf = 1.0
        self.industry: str | None = None
        self.industry_conf = 0.0
        self.matter: str | None = None
        self.matter_conf = 0.0
        self.licensed: bool | None = None
        self.licence_conf = 0.0
        self.size: str | None = None
        self.residential = False
        self.homes_plainly = False  # homes named by more than a passing word (出租房, 居民楼), not just 走廊
        self.premises_named = False  # the trade's premises are named (稀料店), not only its goods (稀料)
        self.text = text  # the normalised title and description, which the rare paths (rulings, rescue) read again
        self.public_building = False
        self.unit: str | None = None
        self.safety_cue = False
        self.near_hazard = False  # a hazard reading the rules came close to (decide._alternative_routes)
        self.licence_is_main = True
        self.runner_up_industry: str | None = None
        self.runner_up_matter: str | None = None
        self.related: list[str] = []
        self.evidence: list[Evidence] = []


def _ranked(subjects: dict[str, Subject]) -> list[tuple[str, Subject]]:
    if not subjects:
        return []
    ranked = [(k, s) for k, s in subjects.items() if s.score >= MIN_SUBJECT]
    if len(ranked) > 1:  # one subject, the common case, needs no key tuples
        ranked.sort(key=lambda kv: (-kv[1].score, kv[1].first))
    return ranked


def _source(sig: Signals, subj: Subject) -> str:
    if subj.first == NOT_IN_TEXT:
        return "location.address"
    return "title" if subj.first < sig.title_end else "description"


def classify(report: Report, cc: CompiledCatalogue) -> Classification:
    """Classify one report against a compiled catalogue."""
    text = report_text(report.title, report.description)
    title_len = text.find("\n") if report.title else 0
    sig = scan(text, max(title_len, 0), cc)
    location = report.location
    address = location.address
    where = normalise(address) if address else ""  # resolve_unit reads it too
    if where:
        _premises_in_address(sig, where, cc)
    out = Classification(text=text)
    ev = out.evidence
    facts = report.facts
    category = (report.category or "").strip() or None

    industries = _ranked(sig.industries)
    if facts.industry in cc.industries or category in cc.industries:
        out.industry, out.industry_conf = (
            (facts.industry if facts.industry in cc.industries else category),
            1.0,
        )
        source = "facts.industry" if facts.industry == out.industry else "category"
        ev.append(_ev("field", f"industry={out.industry}", source))
        out.premises_named = True
    elif industries:
        code, subj = industries[0]
        out.industry, out.industry_conf = code, confidence(subj.score)
        out.premises_named = subj.premises > 0
        ev.append(_ev("lexicon", f"industry={code}", _source(sig, subj), subj.words))
    out.runner_up_industry = next((k for k, _ in industries if k != out.industry), None)

    for (matter, ind), subj in sig.context.items():
        if ind == out.industry:
            base = sig.matters.setdefault(matter, Subject())
            base.score += subj.score
            base.first = min(base.first, subj.first)
            base.words.extend(subj.words)
    matters = _ranked(sig.matters)
    # 街心公园里的健身器材: the place says it is not the compound's matter the word would name.
    ruled_out = {k: places for k, _ in matters
                 if (places := [p for p in cc.matters[k].not_in if p in text and _place_of_report(text, p)])}
    if ruled_out:
        ev.extend(_ev("lexicon", f"not matter={k}", "text", places) for k, places in ruled_out.items())
        matters = [(k, s) for k, s in matters if k not in ruled_out]
    if category in cc.matters:
        out.matter, out.matter_conf = category, 1.0
        ev.append(_ev("field", f"matter={category}", "category"))
    elif matters:
        code, subj = matters[0]
        # 代驾说好五十到了加价: the service the dispute is with takes the price words in, when a word of its own
        # names it (not 烟 alone for a restaurant's fumes).
        code, subj = next(((k, s) for k, s in matters[1:] if code in cc.matters[k].absorbs and s.score >= 1.0),
                          (code, subj))
        out.matter, out.matter_conf = code, confidence(subj.score)
        ev.append(_ev("lexicon", f"matter={code}", _source(sig, subj), subj.words))
        unowned = _OWNER_UNKNOWN.search(text) if _may_say_owner_unknown(text) else None
        if unowned is not None:
            # 不知道是哪个单位装的, 谁也说不清归谁: the caller says nobody is known to own it, which is what a gap is.
            out.matter_conf = round3(out.matter_conf * OWNER_UNKNOWN)
            ev.append(_ev("lexicon", "owner not known", "text", [unowned.group(0)]))
    out.runner_up_matter = next((k for k, _ in matters if k != out.matter), None)
    out.related = [k for k, _ in matters if k != out.matter] + [k for k, _ in industries if k != out.industry]

    _licence(out, sig, facts.licensed)
    _hazard(out, sig, facts.hazard, cc)
    if out.hazard is _FIRE:
        # The address describes the premises too (小区西门进去6幢楼梯口): it counts for who supervises them.
        venues(sig, f"{text}\n{address}" if address else text, cc)
    _venue(out, sig, facts.venue_size)
    _main_complaint(out, sig, cc)
    _construction_stage(out, sig, cc)
    unit, source, words = resolve_unit(location, text, cc, where)
    out.unit = unit
    if unit is not None:
        kind = "field" if source == "location.unit" and words == unit else "gazetteer"
        ev.append(_ev(kind, f"unit={unit}", source, [words]))
    elif words:
        ev.append(_ev("gazetteer", "unit outside the catalogue's units", source, [words]))
    return out


def _premises_in_address(sig: Signals, address: str, cc: CompiledCatalogue) -> None:
    """某美甲店, 商场四楼密室逃脱: an address (normalised) that names a trade names the premises the report is about.

    What stands before 隔壁/附近 is a landmark (某早餐店隔壁), and an address names buildings, never building work:
    neither counts."""
    where = address[landmarks_end(address):]
    if not where:
        return
    for code, found in premises_named(where, cc).items():
        if code == cc.rules.construction_industry:
            continue
        weight = found.premises
        subj = sig.industries.setdefault(code, Subject())
        subj.score += weight
        subj.premises += weight
        subj.words.extend(found.words)


def _construction_stage(out: Classification, sig: Signals, cc: CompiledCatalogue) -> None:
    """Building in progress is the construction industry (R6); a structure finished long ago is a matter (R9)."""
    rules = cc.rules
    finished, building = rules.construction_finished, rules.construction_industry
    if finished is None:
        return
    storeys = _STOREYS.search(out.text) if _may_add_storeys(out.text) else None
    if storeys is not None:
        sig.construction_words.append(storeys.group(0))
        if out.industry is None:
            out.industry, out.industry_conf = building, confidence(1.0)
            out.premises_named = True
    if building in sig.industries or finished in sig.matters or sig.ongoing or storeys is not None:
        now = _BUILDING_NOW.search(out.text)
        if now is not None:
            sig.ongoing += 1.0
            sig.construction_words.append(now.group(0))
    if out.industry != building and sig.ongoing >= ONGOING_ENOUGH and out.industry_conf < STRUCTURED:
        # Several signs of work in progress name the trade even where no building word does (钢架立起来了).
        if out.industry is not None:
            out.related.append(out.industry)
        out.industry, out.industry_conf = building, confidence(sig.ongoing)
        out.premises_named = True  # work going on names a building site
    # 楼房…去年建成，现已入住: a building named in passing is still judged when its stage is plainly said.
    if not ((out.industry == building and (out.industry_conf >= 0.5 or sig.finished >= 1.0
                                           or sig.ongoing >= ONGOING_ENOUGH))
            or out.matter == finished or finished in sig.matters):
        return
    if sig.finished > sig.ongoing and out.matter_conf < STRUCTURED:
        if out.matter is not None and out.matter != finished:
            out.related.insert(0, out.matter)
        out.matter, out.matter_conf = finished, max(out.matter_conf, confidence(1 + sig.finished))
        out.licence_is_main = False
        out.evidence.append(_ev("lexicon", "construction finished", "text", sig.construction_words))
    elif sig.ongoing > sig.finished and out.industry_conf < STRUCTURED:
        out.industry, out.industry_conf = building, max(out.industry_conf, confidence(1 + sig.ongoing))
        out.premises_named = True
        if out.matter == finished:
            out.matter, out.matter_conf = None, 0.0
        # Building without approval is the complaint however loud the neighbours' other grievances are.
        out.licence_is_main = True
        out.evidence.append(_ev("lexicon", "construction in progress", "text", sig.construction_words))
        if out.licensed is None and (out.matter is None or out.matter_conf < PASSING) and out.hazard is _NONE:
            # Building work a resident reports, with no permit said held and nothing else complained of (a
            # neighbour named in passing is who, not what), is reported for want of approval (ROUTING §8: R6 is
            # construction in progress).
            out.licensed, out.licence_conf = False, PRESUMED_UNAPPROVED
            out.evidence.append(_ev("lexicon", "licensed=False: building in progress, no permit said held", "text",
                                    sig.construction_words))


def _licence(out: Classification, sig: Signals, given: bool | None) -> None:
    if given is not None:
        out.licensed, out.licence_conf = given, STRUCTURED
        out.evidence.append(_ev("field", f"licensed={given}", "facts.licensed"))
        return
    if out.matter == "licence-anomaly":
        out.licensed, out.licence_conf = True, 0.75
    if sig.unlicensed and sig.unlicensed >= sig.licensed:
        # One licence held and another missing is unlicensed (ROUTING §8: a prerequisite never obtained).
        out.licensed, out.licence_conf = False, confidence(1 + sig.unlicensed - sig.licensed)
    elif sig.licensed > sig.unlicensed:
        out.licensed, out.licence_conf = True, confidence(1 + sig.licensed - sig.unlicensed)
    if sig.licence_words:
        out.evidence.append(
            _ev("lexicon", f"licensed={out.licensed}", "text", sig.licence_words)
        )


# 河边那个小区, 公园旁边两户人家: the place locates the homes the report is about; it is not where the matter arises.
_HOMES_AFTER: Final = re.compile("[^，。；！？!?\n]{0,6}?(?:小区|人家|住户|居民楼|家属院|宿舍|两户|那户)")


def _place_of_report(text: str, place: str) -> bool:
    """Whether `place` is said somewhere in `text` as where the report is, not as what locates a compound."""
    at = text.find(place)
    while at >= 0:
        end = at + len(place)
        if not _HOMES_AFTER.match(text, end):
            return True
        at = text.find(place, end)
    return False


def _hazard(out: Classification, sig: Signals, given: Hazard | None, cc: CompiledCatalogue) -> None:
    threshold = cc.settings.hazard_threshold  # read once: a pydantic field costs a Python-level lookup
    # ROUTING §8: a gap goes to safety-office for a safety concern, not for any one word that might be one (撞歪, 锈).
    out.safety_cue = bool(sig.weak_safety) or max(sig.fire, sig.safety) >= GAP_CONCERN * threshold
    out.near_hazard = out.safety_cue or max(sig.fire, sig.safety) >= NEAR_HAZARD * threshold
    if given is not None:
        out.hazard, out.hazard_conf = given, STRUCTURED
        out.evidence.append(_ev("field", f"hazard={given.value}", "facts.hazard"))
        return
    factors = cc.industries[out.industry].hazard_factor if out.industry else {}
    fire, safety = sig.fire * factors.get("fire", 1.0), sig.safety * factors.get("safety", 1.0)
    top = max(sig.fire, sig.safety)
    symptoms = cc.matters[out.matter].symptoms if out.matter else None
    if symptoms:
        # 川菜馆的烟呛得人直咳, 瓷砖贴上去就开裂: the matter's own effects, not a hazard besides it.
        if fire and all(w in symptoms for w in sig.fire_words):
            fire = 0.0
        if safety and all(w in symptoms for w in sig.safety_words):
            safety = 0.0
        top = max(sig.fire if fire else 0.0, sig.safety if safety else 0.0)
    if (fire >= threshold or safety >= threshold) and "隐患" in out.text:
        _declared_safe(out.text, sig)
    if fire >= threshold and not sig.fire_veto:
        out.hazard, out.hazard_conf, words = _FIRE, confidence(fire), sig.fire_words
    elif safety >= threshold and not sig.safety_veto:
        out.hazard, out.hazard_conf, words = _SAFETY, confidence(safety), sig.safety_words
    elif (out.matter and cc.matters[out.matter].implies_hazard == "safety"
          and not (out.licensed is False and out.licence_conf >= STRUCTURED and out.matter_conf < PASSING)):
        # A lift named in passing (电梯里每天都是陌生人) implies no hazard over a licence the grid worker recorded.
        out.hazard, out.hazard_conf, words = _SAFETY, out.matter_conf, []
    else:
        # No hazard: how sure we are is how far the strongest cue stays below the threshold.
        out.hazard_conf = round3(1.0 - 0.5 * top / threshold)
        return
    out.evidence.append(_ev("lexicon", f"hazard={out.hazard.value}", "text", words))


# 未发现消防或其他安全隐患, 现场未见安全隐患: whoever looked found no hazard, and what they saw (钢瓶, 稀料) is the
# trade's ordinary stock. "其他" alone (未发现其他安全隐患) keeps the hazard that was found.
_DECLARED_SAFE: Final = re.compile(
    "(?:未发现|未见|没有发现|没发现|不存在|并无|未查见|未查出|无任何|无明显)([^，。；！？\n]{0,8}?)隐患")


def _declared_safe(text: str, sig: Signals) -> None:
    for m in _DECLARED_SAFE.finditer(text):
        what = m.group(1)
        if "其他" in what and not re.search("[或及和、]其他", what):
            continue
        sig.fire_veto = True
        if not (("消防" in what or "火灾" in what) and "安全" not in what):
            sig.safety_veto = True


def _venue(out: Classification, sig: Signals, given: object) -> None:
    if given is not None:
        out.size = str(getattr(given, "value", given))
        return
    subj = sig.industries.get(out.industry or "")
    if subj is not None and subj.size is not None:
        out.size = subj.size
    elif sig.large > max(sig.small, 0.0) and sig.large >= 1:
        out.size = "large"
    elif sig.small:
        out.size = "small"
    out.residential = sig.residential > 0 and out.size != "large"
    out.homes_plainly = out.residential and sig.residential >= 1.0
    out.public_building = sig.public > 0


# What a sign or a building is approved by, as people say it; a trade's licence is a 证, 执照 or 许可.
_APPROVAL: Final = re.compile("审批|报批|批过|批的|批文|批准|规划|手续")


def _main_complaint(out: Classification, sig: Signals, cc: CompiledCatalogue) -> None:
    # A licence complaint yields to a matter only when the matter is both named first and stronger.
    if out.licensed is not False or out.matter is None:
        return
    trade = out.industry not in (None, cc.rules.construction_industry)
    if (trade and cc.matters[out.matter].approval and out.licence_conf < STRUCTURED
            and all(_APPROVAL.search(w) for w in sig.licence_words)):
        out.licence_is_main = False  # 饭店的广告牌没报批: the approval missing is the sign's, not the trade's licence
        return
    matter = sig.matters.get(out.matter)
    industry = sig.industries.get(out.industry or "")
    if out.matter_conf >= 1.0:
        # The grid worker picked the matter as the category: that is the complaint.
        out.licence_is_main = out.industry_conf >= 1.0 and out.licence_conf >= 1.0
        return
    if matter is None or (out.industry_conf >= STRUCTURED and out.licence_conf >= STRUCTURED):
        return  # the grid worker said what trade and that it is unlicensed: a word of the text does not outrank that
    ind_score = industry.score if industry else 0.0
    if matter.score > ind_score and matter.first < sig.unlicensed_first:
        out.licence_is_main = False

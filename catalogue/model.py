"""The responsibility catalogue (职责清单) as pydantic models: a district ships data, not code."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.decision import Tier

Code = Annotated[
    str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*(\{unit\})?[a-z0-9-]*$")
]
UNIT_PLACEHOLDER = "{unit}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Alias(_Strict):
    """One word that names something; `weight` < 1 for vague words, flags carry what the word implies."""

    w: Annotated[str, Field(min_length=1, max_length=40)]
    weight: Annotated[float, Field(gt=0, le=3)] = 1.0
    licensed: bool | None = None  # 黑网吧 says unlicensed by itself
    size: str | None = None  # 酒楼 says large by itself

    @model_validator(mode="before")
    @classmethod
    def _from_str(cls, value: Any) -> Any:
        # Most aliases are plain strings in YAML; the mapping form is for the few with flags.
        return {"w": value} if isinstance(value, str) else value


class Unit(_Strict):
    name: str
    aliases: list[Alias] = Field(default_factory=list)


class UnitTemplate(_Strict):
    """A department that exists once per unit, e.g. police-{unit}; `fallback` serves unresolved units."""

    template: Code
    name: str  # "{unit_name}" is replaced by the unit's name
    fallback: Code


class Divisions(_Strict):
    """The gazetteer generated from the official division codes by `caseroute catalogue gazetteer`."""

    code: str  # the district's division code, e.g. 330203
    source: str  # the code list it was generated from, with its version
    units: dict[Code, list[str]]
    outside: list[str] = Field(default_factory=list)  # the district's places in none of the catalogue's units


class Department(_Strict):
    name: str
    role: str = ""


class Prerequisite(_Strict):
    """One approval before the business licence, in sequence (前置许可)."""

    name: str
    department: Code | None = None


class Industry(_Strict):
    name: str
    aliases: list[Alias]
    # What the trade sells or uses (稀料, 钢筋): it names the trade, never the premises a report is about.
    goods: list[Alias] = Field(default_factory=list)
    prerequisites: list[Prerequisite] = Field(default_factory=list)
    fire: dict[str, Code]  # venue size (small|large) -> department; "default" names the usual size
    competent: Code | None = None  # the department that owns the trade's other matters (prepaid fees...)
    licensed_safety_regulator: Code | None = None  # hazchem: emergency supervises licensed firms
    # fire|safety -> factor: a leak at a chemicals shop is serious at once
    hazard_factor: dict[str, Annotated[float, Field(gt=0, le=5)]] = Field(default_factory=dict)


class Matter(_Strict):
    name: str
    aliases: list[Alias]
    department: Code
    by_industry: dict[str, Code] = Field(default_factory=dict)  # prepaid: the trade's department
    safety_regulator: Code | None = None  # special equipment: amr is the designated regulator
    implies_hazard: str | None = None
    context: dict[str, list[Alias]] = Field(default_factory=dict)  # industry -> words that count only there
    # What the matter itself does to people or things (呛 for fumes, 开裂 for a faulty product): hazard cue words
    # that are all of these, where this is the matter, are its symptoms and no hazard.
    symptoms: list[str] = Field(default_factory=list)
    # Matters that, said of this one, are part of it: a price dispute with a designated driver is the driving
    # service's matter, not pricing's.
    absorbs: list[str] = Field(default_factory=list)
    # Places or circumstances where the matter does not arise (a compound's matters are not a park's; an old
    # person living alone unseen is no neighbours' dispute): named in the report, they rule the matter out.
    not_in: list[str] = Field(default_factory=list)
    # The matter needs an approval of its own (a sign's 设置审批, a structure's 规划许可): an approval said missing
    # (没报批, 未经审批) in a report of this matter is the matter's, not the trade's licence.
    approval: bool = False


class HazardCues(_Strict):
    words: list[Alias] = Field(default_factory=list)  # negation cancels them (没有安全隐患)
    equipment: list[Alias] = Field(default_factory=list)  # their absence is the hazard (没有灭火器)
    weak: list[Alias] = Field(default_factory=list)  # a worry, not a hazard: only steers R10
    exclusions: list[Alias] = Field(default_factory=list)  # 不属消防范畴 vetoes this hazard
    # 堵死, 挡住: a fire cue only beside a way out named in the same clause (后门被堵死), never a road (人行道堵死)
    blocking: list[Alias] = Field(default_factory=list)
    egress: list[Alias] = Field(default_factory=list)  # ways out: 安全出口, 楼梯, 后门, 通道


class LicenceCues(_Strict):
    unlicensed: list[Alias] = Field(default_factory=list)
    licensed: list[Alias] = Field(default_factory=list)
    nouns: list[Alias] = Field(
        default_factory=list
    )  # 营业执照, 许可证: unlicensed when a negation sits nearby
    negations_before: list[Alias] = Field(default_factory=list)
    negations_after: list[Alias] = Field(default_factory=list)
    possession: list[Alias] = Field(default_factory=list)  # 持有: a licence noun just after it is held
    # People whose own certificate a report may speak of (ROUTING §8: 司炉工无证上岗 leaves the business licensed).
    persons: list[Alias] = Field(default_factory=list)
    # States of a licence that is held but wrong (过期, 对不上): the licence-anomaly matter, not unlicensed.
    anomalous: list[Alias] = Field(default_factory=list)


class VenueCues(_Strict):
    large: list[Alias] = Field(default_factory=list)
    # Buildings open to the public that host other premises (商场, 写字楼): a fire hazard there is the brigade's
    # even for a trade the industry table gives to the police, and they count as large venues.
    public: list[Alias] = Field(default_factory=list)
    small: list[Alias] = Field(default_factory=list)
    residential: list[Alias] = Field(default_factory=list)


class ConstructionCues(_Strict):
    """Where a building job stands: in progress is construction (R6), finished is a standing structure (R9)."""

    ongoing: list[Alias] = Field(default_factory=list)
    finished: list[Alias] = Field(default_factory=list)


class Cues(_Strict):
    fire: HazardCues
    safety: HazardCues
    licence: LicenceCues
    # A state that says the equipment just named is there and works (消防器材配备齐全): it then signals nothing.
    in_order: list[Alias] = Field(default_factory=list)
    # People exposed to what could fall or collapse (正下面就是公交站): a weak safety scene becomes a hazard.
    exposure: list[Alias] = Field(default_factory=list)
    # Said right after a thing: it was looked for and is not there (煤气罐倒是没看到).
    unseen: list[Alias] = Field(default_factory=list)
    # A source of ignition and fire load in one sentence are a fire hazard told as a scene (抽烟 … 稀料桶敞着).
    ignition: list[Alias] = Field(default_factory=list)
    fuel: list[Alias] = Field(default_factory=list)
    construction: ConstructionCues = Field(default_factory=ConstructionCues)
    negations: list[Alias] = Field(default_factory=list)
    neutral: list[Alias] = Field(default_factory=list)  # longer words that shadow a cue inside them (充电宝)
    venue: VenueCues = Field(default_factory=VenueCues)
    background: list[Alias] = Field(default_factory=list)  # 检查中: what precedes 发现 is context
    background_turn: list[Alias] = Field(default_factory=list)


class Rules(_Strict):
    """The departments the decision procedure names; conditions stay in code, names are data."""

    local_team: Code  # the per-unit team that settles minor matters and hears every outcome
    fire_brigade: Code
    residential_fire: Code
    safety_office: Code
    business_licensing: Code
    gap_adjudicator: Code
    gap_safety: Code
    construction_industry: str
    construction_primary: Code
    construction_cooperating: list[Code]
    # The matter of a structure whose building has ended (ROUTING §8): R9, not R6.
    construction_finished: Code | None = None
    # The matter of a licence held but expired or not matching the business (ROUTING §8).
    licence_anomaly: Code | None = None
    feedback_also: list[Code] = Field(default_factory=list)  # R1-R8 report back to these too


class Deadlines(_Strict):
    standard: int = 20
    joint: int = 45
    gap: int = 5


class AckHours(_Strict):
    hazard: float = 2
    default: float = 24


class DuplicateSettings(_Strict):
    window_days: float = 7
    distance_m: float = 50


class Settings(_Strict):
    confidence_threshold: Annotated[float, Field(ge=0, le=1)] = 0.45
    hazard_threshold: float = 1.0
    large_venue_area_m2: float = 300
    deadlines: Deadlines = Field(default_factory=Deadlines)
    ack_hours: AckHours = Field(default_factory=AckHours)
    duplicate: DuplicateSettings = Field(default_factory=DuplicateSettings)
    working_days: bool = False


TIERS: tuple[Tier, ...] = ("A", "B", "C", "D")  # A: a clean record … D: a repeat offender
# Feedback outcomes (schemas.events.FeedbackOutcome) by name: a violation the department found and acted on.
Outcome = Literal["resolved", "rectification_ordered", "penalised", "shut_down", "referred", "not_found"]


class TierThresholds(_Strict):
    """The least score of each tier below A (分级式信用监管): a subject scoring at least `D` is tier D."""

    B: Annotated[float, Field(gt=0)] = 2
    C: Annotated[float, Field(gt=0)] = 5
    D: Annotated[float, Field(gt=0)] = 9

    @model_validator(mode="after")
    def _ascending(self) -> TierThresholds:
        if not self.B <= self.C <= self.D:
            raise ValueError(f"thresholds must rise from B to D, not {self.B}, {self.C}, {self.D}")
        return self


def _default_violations() -> dict[Outcome, float]:
    return {"rectification_ordered": 2, "penalised": 3, "shut_down": 4}


class TierScoring(_Strict):
    """How a subject's record scores (higher is worse) over the last `window_days` of its reports."""

    window_days: Annotated[int, Field(ge=1, le=3660)] = 365
    # A substantiated violation: the department's feedback found one and acted on it.
    violation_points: dict[Outcome, Annotated[float, Field(ge=0)]] = Field(default_factory=_default_violations)
    # On top of a violation's points when its rectification came late (its feedback deadline was escalated).
    late_rectification_points: Annotated[float, Field(ge=0)] = 2
    # Each report on the subject beyond the first; reports found unfounded (`not_found`) do not count.
    repeat_report_points: Annotated[float, Field(ge=0)] = 1
    thresholds: TierThresholds = Field(default_factory=TierThresholds)


class Trigger(_Strict):
    """A condition on a subject's record that opens a joint inspection (触发式监管), once per subject and window.

    kind `repeat_reports`: at least `reports` reports on the subject within `within_days`;
    `recurrence` (复发): a report on a subject whose last feedback was one of `outcomes` within `within_days`;
    `hazard_tier`: a hazard case on a subject of one of `tiers`.
    The window is the `within_days`-long period of the report's day counted from 1970-01-01 (Asia/Shanghai)."""

    id: Code
    name: str
    kind: Literal["repeat_reports", "recurrence", "hazard_tier"]
    within_days: Annotated[int, Field(ge=1, le=366)] = 30
    reports: Annotated[int, Field(ge=2)] = 3
    outcomes: list[Outcome] = Field(default_factory=list)
    tiers: list[Tier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> Trigger:
        if self.kind == "recurrence" and not self.outcomes:
            raise ValueError(f"trigger {self.id}: a recurrence trigger names the outcomes it recurs after")
        if self.kind == "hazard_tier" and not self.tiers:
            raise ValueError(f"trigger {self.id}: a hazard_tier trigger names the tiers it fires for")
        return self


def _default_triggers() -> list[Trigger]:
    return [
        Trigger(id="repeat-reports", name="30日内3次以上举报", kind="repeat_reports", reports=3, within_days=30),
        Trigger(id="recurrence", name="整改或处罚后90日内复发", kind="recurrence", within_days=90,
                outcomes=["rectification_ordered", "penalised"]),
        Trigger(id="hazard-low-tier", name="C/D级主体的隐患案件", kind="hazard_tier", within_days=30,
                tiers=["C", "D"]),
    ]


class JointInspectionTerms(_Strict):
    """How a joint inspection (联合检查) is dispatched and tracked: a case of its own, rule JOINT."""

    ack_hours: Annotated[float, Field(gt=0)] = 24
    deadline_days: Annotated[int, Field(ge=1)] = 15


class Supervision(_Strict):
    """Credit tiers and triggers (issue 15 §2–3): data, versioned with the catalogue like its rules."""

    tiers: TierScoring = Field(default_factory=TierScoring)
    triggers: list[Trigger] = Field(default_factory=_default_triggers)
    joint_inspection: JointInspectionTerms = Field(default_factory=JointInspectionTerms)

    @model_validator(mode="after")
    def _unique_triggers(self) -> Supervision:
        ids = [t.id for t in self.triggers]
        if len(ids) != len(set(ids)):
            raise ValueError(f"trigger ids repeat: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
        return self


PRINCIPLES = ("competent", "main", "nearest", "legal", "no_basis")
Principle = Literal["competent", "main", "nearest", "legal", "no_basis"]  # 谁主管 谁为主 谁靠近 有法可循 无据可依


class RulingMatch(_Strict):
    """Which later reports a ruling covers: at least `min_terms` of its words, optionally only in some units."""

    terms: Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]], Field(min_length=1, max_length=20)]
    min_terms: Annotated[int, Field(ge=1, le=20)] = 1
    units: list[Code] = Field(default_factory=list)  # empty: anywhere in the district

    @model_validator(mode="after")
    def _reachable(self) -> RulingMatch:
        if self.min_terms > len(self.terms):
            raise ValueError(f"min_terms {self.min_terms} exceeds the {len(self.terms)} term(s) given")
        return self


class CatalogueRuling(_Strict):
    """An adjudicator's ruling saved as a rule (裁决入库): applies where R1-R9 found nothing (before R10)."""

    id: Code
    match: RulingMatch
    lead: Code
    cooperating: list[Code] = Field(default_factory=list)
    principle: Principle
    basis: str = ""  # the legal basis; required for `legal`
    note: str = ""
    ruled_by: str  # who (role:name)
    ruled_at: datetime  # when
    reason: str = ""  # why
    from_case: str | None = None  # from which case

    @model_validator(mode="after")
    def _basis(self) -> CatalogueRuling:
        if self.principle == "legal" and not self.basis.strip():
            raise ValueError("a ruling by law (有法可循) needs its legal basis")
        return self


class Catalogue(_Strict):
    """One version of a district's catalogue."""

    version: Annotated[str, Field(min_length=1)]
    district: str
    settings: Settings = Field(default_factory=Settings)
    supervision: Supervision = Field(default_factory=Supervision)
    units: dict[Code, Unit]
    unit_departments: dict[str, UnitTemplate]
    divisions: Divisions | None = None
    # A model file beside the catalogue, learnt from labelled reports: asked only when no rule is sure enough.
    rescue_model: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+\.json$")] | None = None
    gazetteer: dict[Code, list[str]] = Field(default_factory=dict)  # hand-kept: roads, landmarks, local names
    departments: dict[Code, Department]
    rules: Rules
    industries: dict[Code, Industry]
    matters: dict[Code, Matter]
    cues: Cues
    spelling: dict[str, list[str]] = Field(default_factory=dict)  # canonical -> heard/typed variants
    rulings: list[CatalogueRuling] = Field(default_factory=list)  # newest last; the newest matching one wins

"""One pass of the compiled automaton over a report's text, turned into weighted signals."""

from __future__ import annotations

import re
from typing import Any, Final

from router.domain.compiled import CompiledCatalogue, CueHit, K, LexiconValue, SubjectHit, WordValue, bits
from router.domain.salience import (
    IN_ORDER_WINDOW,
    LANDMARK_WORDS,
    Salience,
    markers,
    may_hold_markers,
    retracted_spans,
    sold_there,
    taken_back,
)
from router.domain.signals import Clauses, Signals, Subject, chars_within, state_follows

__all__ = ["NEAR", "Signals", "Subject", "landmarks_end", "premises_named", "scan", "venues"]

NEG_WINDOW: Final = 4
LICENCE_WINDOW: Final = 6
_BARE_NEGATIONS: Final = frozenset("没无未")
_SENTENCE_ENDS: Final = "。！？\n"
# 能摆四十多桌, 三百多个座位: a dining room's size by its tables or seats.
_TABLES_RE: Final = re.compile("([0-9]+|[一二两三四五六七八九十百]+)(?:多|余|来)?(?:桌|张桌|个座位|个座|座位)")
LARGE_TABLES: Final = 20  # tables; seats count a quarter each
_NUMERALS: Final = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_AREA_RE: Final = re.compile(r"(\d+(?:\.\d+)?)(?:多|余)?(?:平方米|平米|平方|㎡|m2)")
_NEG: Final = bits(K.NEG)
_BG: Final = bits(K.BACKGROUND)
_TURN: Final = bits(K.TURN)
_STRUCTURE: Final = _NEG | _BG | _TURN
# Enum members as module globals: a class attribute lookup on an Enum costs ~70 ns more, per comparison.
_FIRE: Final = K.FIRE
_FIRE_EQUIP: Final = K.FIRE_EQUIP
_SAFETY: Final = K.SAFETY
_SAFETY_EQUIP: Final = K.SAFETY_EQUIP
_WEAK: Final = K.WEAK
_FIRE_VETO: Final = K.FIRE_VETO
_SAFETY_VETO: Final = K.SAFETY_VETO
_UNLICENSED: Final = K.UNLICENSED
_LICENSED: Final = K.LICENSED
_NOUN: Final = K.NOUN
_NEG_AFTER: Final = K.NEG_AFTER
_NEG_BEFORE: Final = K.NEG_BEFORE
_LARGE: Final = K.LARGE
_PUBLIC: Final = K.PUBLIC
_SMALL: Final = K.SMALL
_IN_ORDER: Final = K.IN_ORDER
_EXPOSURE: Final = K.EXPOSURE
_ONGOING: Final = K.ONGOING
_FINISHED: Final = K.FINISHED
_HOLD: Final = K.HOLD
_UNSEEN: Final = K.UNSEEN
_PERSON: Final = K.PERSON
_ANOMALOUS: Final = K.ANOMALOUS
_IGNITION: Final = K.IGNITION
_FUEL: Final = K.FUEL
_BLOCKING: Final = K.BLOCKING
_EGRESS: Final = K.EGRESS
BLOCKED_WINDOW: Final = 16  # 后门被几十箱饮料堵得死死的: what blocks it may stand between
PERSON_WINDOW: Final = 4  # 驾驶员未持…证, 师傅没有证: the person, then at once their certificate
PERSON_AFTER: Final = 1  # 无证司炉工, 无证的电工: the certificate qualifies the worker named right after it
MISSING_PERMIT_WEIGHT: Final = 3.0
_ASKED: Final = re.compile("有没有(?:办|办理|取得|拿到)?$")
ANSWER_WINDOW: Final = 18  # 有没有许可证，老板说卖了好几年都没办: the answer may come a clause later
# 有手续吗？——没有: a licence noun in a yes/no question is neither held nor missing until the answer says which.
_QUESTION_AFTER: Final = re.compile("^[^，。；！\n]{0,3}?(?:吗|么|嘛|？|\\?)")
# 未向文化旅游部门办理备案: the department between the negation and the permit may run long.
_NOT_FILED: Final = re.compile("(?:未|没有|没|从未|从没|不)向[^，。；！？\n]{1,14}?(?:办理|申请|报批|报备|提交|办)$")
ANOMALY_WINDOW: Final = 20  # 营业执照，上面的名字跟招牌完全不一样: the licence, then what is wrong with it
# 工人说老板讲手续会补: the person is the one speaking, the licence the boss's; unless they speak of themselves
_SAYING: Final = re.compile("[说讲问称告]")
# A person holds a certificate or a qualification, a vehicle its plate; permits and approvals (手续, 审批, 备案)
# are the business's.
_PERSONAL_PAPERS: Final = re.compile("证|资质|执照|牌")
_BUSINESS_PAPERS: Final = re.compile("许可|营业|备案|批")  # a permit is the business's, whoever is named beside it
_SELF: Final = ("自己", "本人", "他自己", "她自己")
FIRE_LOAD_BONUS: Final = 1.0  # an ignition source beside fire load is a fire hazard by itself
EXPOSURE_BONUS: Final = 0.5  # people below turn a wobbling object into a hazard, never a calm scene
FIRE_LOAD_NEAR: Final = 40  # characters: fire load and its ignition told in two short sentences side by side
# Fuel gas, then within its sentence a smell or a leak not denied: the leak told as what the nose finds.
_GAS_SMELL: Final = re.compile(
    "(?:燃气|煤气|天然气|液化气)[^。！？!?\n]{0,20}?(?<!没有)(?<![没无未])"
    "(?:有味|味道|气味|臭味|臭鸡蛋味|闻到味|漏气|泄漏|在漏|漏了|漏着|嘶嘶)")
# A chemical's container, then within its sentence rust, a leak or what the nose finds: the container gives way.
# (A works' emissions that smell are pollution: no container is named.)
_CHEMICAL_LEAK: Final = re.compile(
    "(?:氨水|硫酸|盐酸|硝酸|液氯|氯气|氨气|甲醛|溶剂|化学品|危化品|农药)[^。！？!?\n，,]{0,3}(?:桶|罐|瓶)"
    "[^。！？!?\n]{0,12}?(?:锈|漏|滴|渗|破|味|呛)")
# Wiring or an appliance's plug, then within its sentence smoke, sparks or burning: electricity overheating, a
# fire hazard however the smoke is told (冒了一阵黑烟 is no chimney's).
_ELECTRICAL_SMOKE: Final = re.compile(
    "(?:插头|插座|插排|插线板|接线板|电线|电源线|电箱|电表箱|配电箱|充电器|电机|马达|开关)[^。！？!?\n]{0,20}?"
    "(?<![没无未])(?:冒[^。！？!?\n，,]{0,4}烟|冒火|打火花|火花|烧焦|焦味|起火|着火)")
# 掉块砖头下来, 掉了几片瓷砖下来: something coming down from above, however much is told between the verb and where.
_FALLING_DOWN: Final = re.compile("掉了?[一两几块个根片截][^。！？!?\n，,]{0,5}?下来")
# 把电瓶拎进店里充, 锂电池搬回家充, 几十块电池码在架子上充: e-bike batteries taken in to charge, however the charging
# is told.
_BATTERY_CHARGED: Final = re.compile(
    "(?:电瓶|锂电池|电动车电池|电车电池|块电池|组电池|换电)[^。！？!?\n]{0,12}?(?<![没不别])充(?![值卡])")
# 高压线垂得手一伸就够到, 电线耷拉到人头顶: a power line sagging within people's reach, however the sag is told.
_LINE_IN_REACH: Final = re.compile(
    "(?:高压线|电线|电缆|线缆|变压器线)[^。！？!?\n]{0,16}?(?:垂|耷拉|够到|够得着|碰得到|摸得到|拖到地|挨着地|贴着地)")
# 排烟管贴着吊顶，吊顶已经烤得发黑, 插头那块熏黑了: a flue, a stove or wiring and the scorch it left: heat at work
# on what burns.
_SCORCHED: Final = re.compile(
    "(?:烟管|烟囱|烟道|排烟|灶|炉|烤箱|插头|插座|插排|电线|电源线|灯)[^。！？!?\n]{0,20}?(?:烤得发黑|烤黑|烤焦|熏黑|烧黑|发黑|发焦)")
# 排风罩上糊着厚厚一层黑油, 烟道里积满了油: a kitchen's hood or flue caked with grease, fire load above the flame.
_GREASE_CAKED: Final = re.compile(
    "(?:排风罩|排烟罩|烟罩|油烟机|抽油烟机|烟道|排烟管|风管)[^。！？!?\n]{0,12}?(?:糊|积|滴|厚厚|结了|挂满)[^。！？!?\n]{0,6}?油")
# 小孩的手夹进去了, 额头撞破缝了三针: a body hurt by a thing, told by the part and what was done to it.
_BODY_HURT: Final = re.compile(
    "(?:手|手指|指头|脚|脚趾|腿|胳膊|额头|头|脸|眼睛)[^，。；！？!?\n]{0,3}?(?:夹进|夹住|夹伤|夹断|压伤|压断|轧伤|轧断|撞破|"
    "磕破|割破|划破|划伤|割伤|砸破|砸伤|烫伤|骨折|缝了|被带|卷进|绞)|缝了[一两三四五六七八九十几0-9]+针")
# 货架未与墙体固定, 柜子没跟墙拉结: a tall thing not tied to the wall it leans on.
_NOT_TIED: Final = re.compile("(?:未|没|没有|不)(?:与|和|跟|同)[^，。；！？!?\n]{1,6}?(?:固定|拉结|连接|连牢)")
# 担心哪天有孩子伤着, 怕它真咬了人: a worry, then within its clause what could happen to someone. A safety concern
# told in the reporter's own words (ROUTING §8) however the harm is said: it steers a gap, it is no hazard.
_WORRY_OF_HARM: Final = re.compile(
    "(?:担心|担忧|生怕|就怕|害怕|怕|万一)[^，。；！？!?\n]{0,12}?"
    "(?:伤|咬|摔|跌|绊|砸|淹|溺|烫|撞到|撞了|掉进|掉下|掉到|滑倒|出事|出人命|送命|没命|电到|刮到人|刮下|刮倒)")
# 有条黑狗追过我女儿: an animal that went for someone. A safety concern, no hazard.
_ANIMAL_WENT_FOR: Final = re.compile("(?:狗|蛇|马蜂|野蜂|鹅)[^，。；！？!?\n]{0,8}?(?:追|咬|扑|蛰|蜇|啄)")
# The concerns above, each searched for only where one of its guards appears: (pattern, guards).
_CONCERNS: Final[tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]] = (
    (_WORRY_OF_HARM, ("怕", "担心", "担忧", "万一")),
    (_ANIMAL_WENT_FOR, ("狗", "蛇", "蜂", "鹅")),
)
SCENE: Final = 1.0  # a scene told is a hazard on its own: the catalogue's threshold weight
# The scenes above, each searched for only where its guard appears (every match holds one, most reports none, and
# an `in` test is cheaper than a search): (pattern, guards, a fire hazard? else a safety one).
_SCENES: Final[tuple[tuple[re.Pattern[str], tuple[str, ...], bool], ...]] = (
    (_GAS_SMELL, ("气",), True),  # every fuel gas it names is a 气
    (_CHEMICAL_LEAK, ("桶", "罐", "瓶"), False),
    (_ELECTRICAL_SMOKE, ("烟", "火", "焦"), True),
    (_FALLING_DOWN, ("下来",), False),
    (_BATTERY_CHARGED, ("充",), True),
    (_LINE_IN_REACH, ("线",), False),
    (_SCORCHED, ("黑", "焦"), True),
    (_GREASE_CAKED, ("罩", "烟道", "烟机", "管"), True),
    (_BODY_HURT, ("手", "脚", "腿", "胳膊", "头", "脸", "眼睛", "缝了"), False),
    (_NOT_TIED, ("固定", "拉结", "连接", "连牢"), False),
)
# 在楼道里堵着他吵: the UTF-8 bytes of a person right after a blocking word (a person stopped, not a way out).
_PERSON_BLOCKED: Final = frozenset(w.encode("utf-8") for w in "他她我你")
# 楼梯底下架个油锅, 楼道里生煤炉: a flame where people must pass to get out is a fire hazard in itself.
_PASSAGE: Final = re.compile("楼梯|楼道|走廊|过道|走道|疏散通道|消防通道|安全出口")
PASSAGE_WINDOW: Final = 16  # characters between the passage and the flame, in one clause
PASSAGE_FLAME_BONUS: Final = 1.0
# 火车站附近的小旅馆, 市场北侧废品收购站: what stands before these words is a landmark, not the premises.
NEAR: Final = re.compile(f"的?(?:{LANDMARK_WORDS}|边上|门口|外面|[东南西北](?:侧|边))")
# Every match of NEAR holds one of these (附近, 旁边, 后面, 门口, 东侧, 对过...): most addresses hold none, and an
# `in` test costs a tenth of a search, which tries the optional 的 at every position.
NEAR_CHARS: Final = ("近", "边", "面", "头", "后", "壁", "围", "带", "口", "侧", "过")
# What a match of NEAR starts with.
_NEAR_FIRST: Final = "的" + "".join(w[0] for w in LANDMARK_WORDS.split("|")) + "边门外东南西北"


def landmarks_end(where: str) -> int:
    """Where the last landmark phrase of `where` ends (某早餐店隔壁|), or 0."""
    if not any(c in where for c in NEAR_CHARS):
        return 0
    ends = [m.end() for m in NEAR.finditer(where)]
    return ends[-1] if ends else 0


def _text_after(as_bytes: str, at: int) -> str:
    """The few characters after byte offset `at` of the latin-1 view of UTF-8 text."""
    return as_bytes[at:at + 12].encode("latin-1").decode("utf-8", "ignore")


# 把楼顶当仓库, 当成他家装修材料的仓库: a place used as a store is still the place it is.
_USED_AS: Final = re.compile("(?:(?:当|当成|当作|当了|用作|做成|改作|租来做|用来做|兼)[^，。；！？\n]{0,8}|[作做成])$")


def _may_be_used_as(before: str) -> bool:
    """Whether _USED_AS can match: each of its words holds one of these (a search costs ten `in` tests)."""
    return "当" in before or "做" in before or "作" in before or "成" in before or "兼" in before

# A hazard cue waiting for the end of the scan, when a later "in order" state may cancel it:
# (start, end, word, fire?, weight, equipment?).
Pending = tuple[int, int, str, bool, float, bool]
# 工人都戴安全帽, 门口配有灭火器: equipment worn or kept where it belongs is in use, not missing.
_IN_USE: Final = re.compile("(?:戴|戴着|戴好|系|系着|系好|配有|配了|备有|装有|装了|有)$")
UNSEEN_WINDOW: Final = 4  # 煤气罐倒是没看到: the looking comes right after the thing
# 护栏上挂满横幅: equipment with something hung or stuck on it names where a thing is, not the equipment's state.
_DISPLAYED_ON: Final = re.compile("上(?:面|边)?(?:悬挂|挂|贴|晾|绑|拉|搭|插)")


class Marks:
    """Positions the scan notes for the checks that need the whole text: licence nouns and their neighbours."""

    __slots__ = ("anomalous", "anomalous_nouns", "blocked", "exits", "fuels", "holds", "ignitions", "in_order",
                 "licence_hits", "neg_after", "neg_before",
                 "nouns", "pending", "person_starts", "persons", "unseen")

    def __init__(self) -> None:
        self.nouns: list[tuple[int, int, str]] = []
        self.neg_after: list[int] = []
        self.neg_before: list[int] = []
        self.holds: list[int] = []  # just past 持有/取得: a licence noun right after is held
        self.pending: list[Pending] = []
        self.in_order: list[int] = []
        self.unseen: list[int] = []  # 没看到: the thing named just before was looked for and not there
        self.licence_hits: list[tuple[int, str, float, bool]] = []  # (start, word, weight, licensed?)
        self.persons: list[int] = []  # just past 师傅, 驾驶员
        self.person_starts: list[int] = []  # where they start: 无证司炉工 names the worker right after the cue
        self.anomalous: list[int] = []  # where 过期, 对不上 start
        self.anomalous_nouns: set[int] = set()  # where a licence noun that says its own anomaly starts
        self.ignitions: list[tuple[int, str]] = []
        self.fuels: list[tuple[int, str]] = []
        self.blocked: list[Pending] = []  # 堵死: waiting for a way out in its clause
        self.exits: list[int] = []  # where ways out start


def scan(text: str, title_len: int, cc: CompiledCatalogue) -> Signals:
    """Weighted signals of a normalised text whose first `title_len` characters are the title."""
    # Positions are byte offsets into the UTF-8 text, where the automaton reports them: they order as
    # character offsets do, and the few character distances the rules ask for are counted when asked.
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate from JSON must not fail the report
    as_bytes = raw.decode("latin-1")
    title_end = len(text[:title_len].encode("utf-8", "surrogatepass"))
    sig = Signals(title_end)
    where = Clauses(as_bytes)
    found = _sentence_end(text, (title_len + 1 if title_len else 0) + 1)
    first_end = len(text[:found].encode("utf-8", "surrogatepass")) if found >= 0 else len(raw)
    subjects: list[tuple[int, str, tuple[SubjectHit, ...]]] = []
    background: list[tuple[int, int, int]] = []  # (sentence start, the occasion word, the turn: 发现)
    opened = -1
    occasion = -1
    last_neg = -1  # just past the last negation word; -1: none yet
    bare_neg = False  # it was a bare 没/无/未: 没挂牌没执照 lists two things missing, it denies neither
    marks = Marks()
    anomaly = cc.rules.licence_anomaly
    aside, corrected = markers(as_bytes) if may_hold_markers(text) else (len(as_bytes), False)
    # 是违章的，不对，是没执照的: the cues of a clause taken back do not count
    retracted = retracted_spans(raw) if corrected else []
    # Typed, so that the compiled loop unpacks each match once into native ints instead of treating all as objects.
    matches: list[tuple[int, LexiconValue]] = cc.words.longest(as_bytes)
    for last_byte, (length, word, subj, cues, flags) in matches:
        end = last_byte + 1
        start = end - length
        if subj:
            subjects.append((start, word, subj))
        if cues and not (retracted and taken_back(retracted, start)):
            gap = chars_within(raw, last_neg, start, NEG_WINDOW) if last_neg >= 0 else None
            negated = gap is not None and where.same_clause(last_neg, start)
            _cues(sig, raw, word, start, end, cues, gap if negated else None, marks, bare_neg)
            if subj and anomaly is not None and any(h[1] == anomaly for h in subj):
                marks.anomalous_nouns.add(start)  # 卫生许可证过期: the permit and what is wrong with it, one word
        if not flags & _STRUCTURE:
            continue  # most words only name a subject or a cue
        if flags & _BG and opened < 0:
            opened, occasion = where.sentence_start(start), start
        elif flags & _TURN and opened >= 0:
            if where.same_sentence(opened, start):
                background.append((opened, occasion, start))
            opened = -1
        if flags & _NEG:
            last_neg = end
            bare_neg = word in _BARE_NEGATIONS
    buckets = (sig.industries, sig.matters, sig.context, sig.industries)
    weigh = Salience(raw, where, title_end, first_end, background, marks.in_order, retracted, aside,
                     cc.rules.construction_industry)
    for start, word, hits in subjects:
        factor = weigh.factor(start, word, hits)
        for bucket, key, weight, lic, size in hits:
            found_in: dict[Any, Subject] = buckets[bucket]
            subject = found_in.get(key)
            if subject is None:
                subject = found_in[key] = Subject()
            subject.score += weight * factor
            if bucket == 0 or (bucket == 3 and sold_there(raw, start, word)):
                subject.premises += weight * factor
            if start < subject.first:
                subject.first = start
            if word not in subject.words:
                subject.words.append(word)
            if lic is not None and bucket != 2 and not (retracted and taken_back(retracted, start)):
                subject.licensed = lic
                sig.licence(lic, start, word, 1.0)
            if size is not None and bucket != 2:
                subject.size = size
    if marks.ignitions and marks.fuels:
        _fire_load(sig, raw, where, marks)
    for pattern, guards in _CONCERNS:
        concern = _told(text, pattern, guards)
        if concern is not None:
            sig.weak_safety.append(concern)
    for pattern, guards, fire in _SCENES:
        scene = _told(text, pattern, guards)
        words = sig.fire_words if fire else sig.safety_words
        if scene is not None and scene not in words:  # told once, counted once
            words.append(scene)
            if fire:
                sig.fire += SCENE
            else:
                sig.safety += SCENE
    if marks.ignitions and marks.exits:
        _flame_in_passage(sig, raw, where, marks)
    if marks.blocked and marks.exits:
        marks.pending += [b for b in marks.blocked if _beside_a_way_out(raw, where, b[0], b[1], marks.exits)]
    if marks.pending:
        _hazards(sig, raw, marks)
    if marks.licence_hits:
        _licence_cues(sig, raw, where, marks)
    if marks.nouns:
        _licence_nouns(sig, raw, where, marks, cc)
    return sig


def _told(text: str, pattern: re.Pattern[str], guards: tuple[str, ...]) -> str | None:
    """The words of a scene or concern told in `text`, searched for only where one of its guards appears."""
    if any(guard in text for guard in guards):
        found = pattern.search(text)
        if found is not None:
            return found.group(0)
    return None


def _sentence_end(text: str, pos: int) -> int:
    """Where the first sentence end at or after `pos` is, or -1: a str.find per terminator costs a tenth of a
    regex search, which tests a character class at every position."""
    first = -1
    for end in _SENTENCE_ENDS:
        at = text.find(end, pos)
        if at >= 0 and (first < 0 or at < first):
            first = at
    return first


def premises_named(text: str, cc: CompiledCatalogue) -> dict[str, Subject]:
    """The trades a short text names by their premises (某美甲店, 卖鞭炮的小铺子), each word counted once at its
    plain weight: one pass of the automaton, for an address rather than a report."""
    raw = text.encode("utf-8", "surrogatepass")
    found: dict[str, Subject] = {}
    for last_byte, (length, word, subj, _cues, _flags) in cc.words.longest(raw.decode("latin-1")):
        start = last_byte + 1 - length
        for bucket, key, weight, _lic, _size in subj:
            if bucket == 0 or (bucket == 3 and sold_there(raw, start, word)):
                subject = found.get(key)
                if subject is None:
                    subject = found[key] = Subject()
                subject.score += weight
                subject.premises += weight
                if word not in subject.words:
                    subject.words.append(word)
    return found


def _cues(
    sig: Signals,
    raw: bytes,
    word: str,
    start: int,
    end: int,
    cues: tuple[CueHit, ...],
    neg_gap: int | None,
    marks: Marks,
    bare_neg: bool,
) -> None:
    """Count a word's hazard and licence cues; neg_gap: characters since a negation in its clause, if negated."""
    negated = neg_gap is not None
    for kind, weight in cues:
        equipment = kind is _FIRE_EQUIP or kind is _SAFETY_EQUIP
        if equipment and not negated and _in_use(raw, start):
            continue
        if kind is _FIRE or kind is _FIRE_EQUIP:
            # Equipment words signal by their absence (没有灭火器), so negation does not cancel them.
            if kind is _FIRE_EQUIP or not negated:
                marks.pending.append((start, end, word, True, weight, kind is _FIRE_EQUIP))
        elif kind is _SAFETY or kind is _SAFETY_EQUIP:
            if kind is _SAFETY_EQUIP or not negated:
                marks.pending.append((start, end, word, False, weight, kind is _SAFETY_EQUIP))
        elif kind is _IN_ORDER:
            if not negated:  # 不合格 is not in order
                marks.in_order.append(start)
        elif kind is _EXPOSURE:
            if not negated:
                sig.exposure = max(sig.exposure, weight)
        elif kind is _ONGOING or kind is _FINISHED:
            if not negated:
                if kind is _ONGOING:
                    sig.ongoing += weight
                else:
                    sig.finished += weight
                sig.construction_words.append(word)
        elif kind is _WEAK:
            if not negated:
                sig.weak_safety.append(word)
        elif kind is _FIRE_VETO:
            sig.fire_veto = True
        elif kind is _SAFETY_VETO:
            sig.safety_veto = True
        elif kind is _UNLICENSED or kind is _LICENSED:
            # "不是无证" means licensed: a negation right before a licence cue flips it.
            marks.licence_hits.append(
                (start, word, weight, (kind is _LICENSED) != (neg_gap is not None and neg_gap <= 1 and not bare_neg)))
        elif kind is _PERSON:
            marks.persons.append(end)
            marks.person_starts.append(start)
        elif kind is _ANOMALOUS:
            marks.anomalous.append(start)
        elif kind is _BLOCKING:
            if not negated and raw[end:end + 3] not in _PERSON_BLOCKED:
                marks.blocked.append((start, end, word, True, weight, False))
        elif kind is _EGRESS:
            marks.exits.append(start)
        elif kind is _IGNITION or kind is _FUEL:
            if not negated:
                (marks.ignitions if kind is _IGNITION else marks.fuels).append((start, word))
        elif kind is _NOUN:
            marks.nouns.append((start, end, word))
        elif kind is _NEG_AFTER:
            marks.neg_after.append(start)
        elif kind is _NEG_BEFORE:
            marks.neg_before.append(end)
        elif kind is _UNSEEN:
            marks.unseen.append(start)
        elif kind is _HOLD:
            if not negated:
                marks.holds.append(end)


def _in_use(raw: bytes, start: int) -> bool:
    return _IN_USE.search(raw[max(0, start - 6):start].decode("utf-8", "ignore")) is not None


def _hazards(sig: Signals, raw: bytes, marks: Marks) -> None:
    """Add the hazard cues that no later state in their clause declares in order (消防器材配备齐全) or absent."""
    in_order, unseen = marks.in_order, marks.unseen
    for _start, end, word, fire, weight, equipment in marks.pending:
        if in_order and any(state_follows(raw, end, p, IN_ORDER_WINDOW) for p in in_order):
            continue
        # Equipment not seen is missing equipment: that is the hazard; anything else not seen is no hazard.
        if unseen and not equipment and any(state_follows(raw, end, p, UNSEEN_WINDOW) for p in unseen):
            continue
        if equipment and _DISPLAYED_ON.match(raw[end:end + 12].decode("utf-8", "ignore")):
            continue
        words = sig.fire_words if fire else sig.safety_words
        if word in words:
            continue
        words.append(word)
        if fire:
            sig.fire += weight
        else:
            sig.safety += weight
    if sig.exposure and 0 < sig.safety < 1.0:
        sig.safety += EXPOSURE_BONUS * sig.exposure


def _beside_a_way_out(raw: bytes, where: Clauses, start: int, end: int, exits: list[int]) -> bool:
    """后门被几十箱饮料堵得死死的, 堵住了安全出口: a way out close before or after the blocking, in its clause."""
    return any(where.same_clause(e, start) and (chars_within(raw, e, start, BLOCKED_WINDOW) is not None
                                                 or chars_within(raw, end, e, BLOCKED_WINDOW) is not None)
               for e in exits)


def _fire_load(sig: Signals, raw: bytes, where: Clauses, marks: Marks) -> None:
    """An ignition source and fire load in one sentence, or in the next close by (稀料桶摆在人行道上。他坐在桶边
    抽烟): a fire hazard told as a scene, once per report."""
    for i_start, ignition in marks.ignitions:
        for f_start, fuel in marks.fuels:
            apart = where.sentences_apart(i_start, f_start)
            if apart == 0 or (apart == 1 and chars_within(raw, min(i_start, f_start), max(i_start, f_start),
                                                          FIRE_LOAD_NEAR) is not None):
                sig.fire += FIRE_LOAD_BONUS
                sig.fire_words.append(f"{ignition}+{fuel}")
                return


def _flame_in_passage(sig: Signals, raw: bytes, where: Clauses, marks: Marks) -> None:
    """An ignition source in a stairway or corridor, in one clause with it: once per report."""
    for i_start, ignition in marks.ignitions:
        for e in marks.exits:
            if not where.same_clause(e, i_start):
                continue
            first, last = min(e, i_start), max(e, i_start)
            if chars_within(raw, first, last, PASSAGE_WINDOW) is None:
                continue
            passage = _PASSAGE.match(raw[e:e + 15].decode("utf-8", "ignore"))
            if passage is not None:
                sig.fire += PASSAGE_FLAME_BONUS
                sig.fire_words.append(f"{ignition}@{passage.group(0)}")
                return


def _personal(raw: bytes, where: Clauses, start: int, end: int, marks: Marks) -> bool:
    """Whether a licence cue at start..end speaks of a person's own certificate (驾驶员无证, 无证司炉工), not the
    business's: the person named just before it, or the worker it qualifies right after it."""
    if any(chars_within(raw, end, p, PERSON_AFTER) is not None and where.same_clause(end, p)
           for p in marks.person_starts):
        return True
    return any(chars_within(raw, p, start, PERSON_WINDOW) is not None and where.same_clause(p, start)
               and _speaks_of_self(raw[p:start].decode("utf-8", "surrogatepass")) for p in marks.persons)


def _speaks_of_self(between: str) -> bool:
    """师傅没证: the worker's own; 工人说老板…没证: the boss's; 师傅说自己没证: the worker's own again."""
    return not _SAYING.search(between) or between.endswith(_SELF)


def _licence_cues(sig: Signals, raw: bytes, where: Clauses, marks: Marks) -> None:
    for start, word, weight, licensed in marks.licence_hits:
        end = start + len(word.encode("utf-8"))
        if licensed and _QUESTION_AFTER.match(raw[end:end + 12].decode("utf-8", "ignore")):
            continue  # 你们有证吗: asked, not said
        if not marks.persons or not _personal(raw, where, start, end, marks):
            sig.licence(licensed, start, word, weight)
            if not licensed:
                marks.neg_after.append(start)  # 卫生许可证一直没有办: said of the permit just named


def _licence_nouns(sig: Signals, raw: bytes, where: Clauses, marks: Marks, cc: CompiledCatalogue) -> None:
    # "营业执照也没有", "未向文旅部门备案": a licence noun with a negation close by, in one sentence.
    # "持有危险化学品经营许可证": one right after a word of holding, with no negation, is held.
    # "营业执照去年就到期了": one followed by what is wrong with it is held but anomalous.
    anomaly = cc.rules.licence_anomaly
    for start, end, word in marks.nouns:
        if (marks.persons and _PERSONAL_PAPERS.search(word) and not _BUSINESS_PAPERS.search(word)
                and _personal(raw, where, start, end, marks)):
            continue
        if anomaly and (start in marks.anomalous_nouns or any(
                chars_within(raw, end, a, ANOMALY_WINDOW) is not None and where.same_sentence(end, a)
                for a in marks.anomalous)):
            subject = sig.matters.setdefault(anomaly, Subject())
            subject.score += 1.5
            subject.first = min(subject.first, start)
            subject.words.append(word)
            sig.licence(True, start, word, 1.0)
        elif _negated_near(raw, where, start, end, marks.neg_before, marks.neg_after) or _denied_when_asked(
                raw, where, start, end, marks.neg_after) or _NOT_FILED.search(
                raw[max(0, start - 60):start].decode("utf-8", "ignore")):
            # A named permit said missing outweighs another said held: one prerequisite never obtained makes
            # the business unlicensed (ROUTING §8).
            sig.licence(False, start, word, MISSING_PERMIT_WEIGHT)
        elif _QUESTION_AFTER.match(raw[end:end + 12].decode("utf-8", "ignore")):
            if any(chars_within(raw, end, s, ANSWER_WINDOW) is not None for s in marks.neg_after):
                sig.licence(False, start, word, 1.0)  # 有审批吗？来电人：没有
        elif any(chars_within(raw, e, start, LICENCE_WINDOW) is not None and where.same_clause(e, start)
                 for e in marks.holds):
            sig.licence(True, start, word, 1.0)


def _denied_when_asked(raw: bytes, where: Clauses, start: int, end: int, neg_after: list[int]) -> bool:
    """问老板有没有食品经营许可，他说卖了好几年都没办: a permit asked about, and the answer in that sentence is no."""
    if not _ASKED.search(raw[max(0, start - 15):start].decode("utf-8", "ignore")):
        return False
    return any(chars_within(raw, end, s, ANSWER_WINDOW) is not None and where.same_sentence(end, s)
               for s in neg_after)


def _negated_near(raw: bytes, where: Clauses, start: int, end: int, neg_before: list[int],
                  neg_after: list[int]) -> bool:
    for e in neg_before:
        if chars_within(raw, e, start, LICENCE_WINDOW) is not None and where.same_clause(e, start):
            return True
    for s in neg_after:
        if chars_within(raw, end, s, LICENCE_WINDOW + 2) is not None and where.same_sentence(end, s):
            return True
    return False


def venues(sig: Signals, text: str, cc: CompiledCatalogue) -> None:
    """Add what the text says of the premises: large, public, small, residential, an area in m².

    Asked for only when a fire hazard makes the venue matter (who supervises fire safety there): most reports
    never pay for this second pass over the text."""
    as_bytes = text.encode("utf-8", "surrogatepass").decode("latin-1")
    matches: list[tuple[int, WordValue]] = cc.venue_names.every(as_bytes)
    for last, (length, word, payloads, _flags) in matches:
        before = as_bytes[max(0, last + 1 - length - 30):last + 1 - length].encode("latin-1").decode("utf-8", "ignore")
        if _may_be_used_as(before) and _USED_AS.search(before):
            continue
        after = _text_after(as_bytes, last + 1)
        if after[:1] in _NEAR_FIRST and NEAR.match(after):
            continue  # 火车站附近的小旅馆, 写字楼后面那栋居民楼: a landmark, not the premises
        for kind, _target, weight, _lic, _size, _ctx in payloads:
            if kind is _LARGE:
                sig.large += weight
            elif kind is _PUBLIC:
                sig.large += weight
                sig.public += weight
            elif kind is _SMALL:
                sig.small += weight
            else:
                sig.residential += weight
            sig.venue_words.append(word)
    if "桌" in text or "座" in text:
        _tables(sig, text)
    if "平" not in text and "㎡" not in text and "m2" not in text:
        return  # the area pattern needs one of these; most reports give no area (no generator: hot)
    threshold = cc.settings.large_venue_area_m2
    for m in _AREA_RE.finditer(text):
        if float(m.group(1)) >= threshold:
            sig.large += 2
        else:
            sig.small += 2
        sig.venue_words.append(m.group(0))


def _tables(sig: Signals, text: str) -> None:
    for m in _TABLES_RE.finditer(text):
        count = _number(m.group(1))
        if "座" in m.group(0):
            count //= 4
        if count >= LARGE_TABLES:
            sig.large += 2
            sig.venue_words.append(m.group(0))
        elif count:
            sig.small += 1


def _number(said: str) -> int:
    """A count as people write it: 40, 四十, 二十五, 三百."""
    if said.isdigit():
        return int(said)
    total = current = 0
    for c in said:
        if c == "百":
            total += (current or 1) * 100
            current = 0
        elif c == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _NUMERALS.get(c, 0)
    return total + current

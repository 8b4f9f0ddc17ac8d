"""Classification: negation, traditional characters, colloquial words, hotline typos, units, confidence."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from catalogue.loader import load_catalogue
from router.domain.compiled import compile_uncached
from router.domain.decide import decide
from schemas.decision import Decision
from schemas.report import Report

Route = Callable[..., Decision]


def test_negated_hazard_is_not_a_hazard(route: Route) -> None:
    d = route("检查了那家理发店，没有安全隐患，就是没有营业执照。", address="江厦街道开明街")
    assert d.hazard == "none" and d.rule == "R7"


def test_negated_licence_cue_means_licensed(route: Route) -> None:
    d = route("这家网吧不是无证的，营业执照挂在墙上，就是晚上太吵。", address="江厦街道")
    assert d.licensed is True and d.rule != "R7"


def test_a_negation_of_another_verb_does_not_turn_a_missing_licence_into_a_held_one(route: Route) -> None:
    # 不 negates 登记 (registering guests), not the missing permit two characters on.
    d = route("车站边上的家庭旅馆，住客不登记也没办过证。", address="江厦街道")
    assert d.licensed is False and (d.rule, d.primary) == ("R7", "psb")


def test_a_permit_followed_by_ye_mei_is_missing(route: Route) -> None:
    d = route("楼下那家足浴店，执照也没办，天天营业到半夜。", address="江厦街道")
    assert d.licensed is False


def test_a_licence_asked_about_is_not_a_licence_held(route: Route) -> None:
    d = route("车站边上的家庭旅馆，我问老板你们有证吗，他笑笑不说话。", address="江厦街道")
    assert d.licensed is not True


def test_missing_equipment_is_a_hazard_even_when_negated(route: Route) -> None:
    assert route("民宿里一个灭火器都没有，烟感也没有。", address="月湖街道郁家巷").hazard == "fire"


def test_traditional_characters(route: Route) -> None:
    d = route("東渡路一家理髮店電線亂拉，插線板發燙，店裡沒有滅火器。", address="江厦街道")
    assert (d.rule, d.primary, d.industry) == ("R1", "police-jiangxia", "beauty")
    d = route("這家美甲店沒有營業執照，衛生許可證也沒有。", address="南门街道柳汀街")
    assert (d.rule, d.primary) == ("R7", "health")


@pytest.mark.parametrize(
    ("text", "industry"),
    [
        ("开饭店的那家没有执照。", "catering"),
        ("收破烂的那个点没有任何手续。", "recycling"),
        ("有人偷偷在家里搞补习班，没有办学许可。", "training"),
        ("开了个剃头店，证都没有。", "beauty"),
    ],
)
def test_colloquial_trade_names(route: Route, text: str, industry: str) -> None:
    d = route(text, address="段塘街道长丰路")
    assert d.industry == industry and d.licensed is False


@pytest.mark.parametrize("vehicle", ["电动车", "电瓶车", "小电驴"])
@pytest.mark.parametrize("cylinder", ["液化气罐", "煤气瓶"])
def test_colloquial_hazard_words(route: Route, vehicle: str, cylinder: str) -> None:
    assert route(f"楼道里的{vehicle}天天在充电。", address="白云街道华兴社区").rule == "R1"
    assert route(f"小吃店灶台边上放着两个{cylinder}。", address="白云街道华兴社区").hazard == "fire"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("楼道里好多电平车在冲电，天天这样。", "R1"),  # 电瓶车 充电 misheard
        ("那家网巴没有营业直照。", "R7"),  # 网吧 营业执照 mistyped
        ("他们店门口的广告排被风吹得晃动，快掉下来了。", "R5"),
    ],
)
def test_hotline_typos_and_homophones(route: Route, text: str, rule: str) -> None:
    assert route(text, address="南门街道长春路").rule == rule


def test_main_complaint_is_named_first_and_others_are_related(route: Route) -> None:
    d = route(
        "楼下烧烤店油烟太大，熏得没法开窗。另外他们晚上还把桌子摆到人行道上。",
        title="烧烤店油烟扰民",
        address="白云街道盛兴社区",
    )
    assert (d.matter, d.primary) == ("catering-fumes", "urban-mgmt")
    assert "street-occupation" in d.related


def test_inspection_occasion_is_context_not_the_complaint(route: Route) -> None:
    d = route(
        "区市场监管局在便利店检查中发现，楼上开了一家小旅馆，没有特种行业许可证。", address="南门街道长春路"
    )
    assert (d.industry, d.primary) == ("lodging", "psb")


def test_unit_from_gazetteer_and_unit_name(route: Route) -> None:
    # Official division codes: 华兴社区 is 段塘's, 新联村 高桥's (a village, named with its 村).
    assert route("电梯困人。", address="华兴社区5幢").unit == "duantang"
    assert route("我们新联村里面电梯困人。").unit == "gaoqiao"
    assert route("电梯困人。", address="海曙区高桥镇某小区").unit == "gaoqiao"
    d = route("电梯困人。", unit="yuehu", address="华兴社区")
    assert d.unit == "yuehu"  # the reporter's unit code wins


def test_unit_short_name_counts_as_a_place_but_not_a_gate(route: Route) -> None:
    assert route("我们南门这边有部电梯困人。").unit == "nanmen"
    assert route("小区西门口电梯困人。").unit is None  # a compass word at a gate names no unit


def test_place_of_the_district_outside_the_units_names_no_unit(route: Route) -> None:
    # 横街镇 is 海曙's but not one of the catalogue's units: found, and so no guess from the rest of the text.
    d = route("居民楼道里电动车充电，跟中山公园旁边那栋一样危险。", address="横街村3组")
    assert d.unit is None and d.unit_fallback
    assert any("outside" in e.what for e in d.evidence)


def test_unresolved_unit_falls_back_to_district_departments(route: Route) -> None:
    d = route("居民楼楼道里电动车飞线充电。", address="某小区")
    assert (d.unit, d.rule, d.primary, d.unit_fallback) == (None, "R1", "fire-brigade", True)
    d = route("电梯困人四十分钟。", address="某小区")
    assert d.cooperating == ["safety-office"] and d.cc == [] and d.unit_fallback
    d = route("邻居家漏水到我家，想请人调解。", address="某小区")
    assert d.primary == "safety-office" and d.unit_fallback


def test_confidence_below_threshold_is_a_gap(route: Route) -> None:
    d = route("那家店的后厨我也不清楚怎么样。", address="南门街道")  # one vague word
    assert (d.rule, d.status) == ("R10", "gap")


def test_threshold_is_catalogue_data(make_report: Callable[..., Report]) -> None:
    strict = load_catalogue().model_copy(deep=True)
    settings = strict.settings.model_copy(update={"confidence_threshold": 0.99})
    strict = strict.model_copy(update={"settings": settings, "version": "strict"})
    d = decide(make_report("小区电梯坏了。", address="南门街道"), compile_uncached(strict))
    assert d.rule == "R10" and any(c.rule == "R4" for c in d.alternatives)


def test_decision_shape_validates(route: Route) -> None:
    d = route("楼道电动车充电。", address="鼓楼街道")
    again = Decision.model_validate(d.model_dump(mode="json"))
    assert again == d and d.catalogue_version.startswith("haishu")


def test_equipment_said_to_be_in_order_is_no_fire_cue(route: Route) -> None:
    fine = route("检查时发现奶茶店灭火器、烟感配备齐全，疏散通道畅通，但没有营业执照。", address="江厦街道开明街")
    assert (fine.hazard, fine.rule, fine.primary) == ("none", "R7", "ecology")
    missing = route("奶茶店里没有灭火器，疏散通道也堵着，也没有营业执照。", address="江厦街道开明街")
    assert missing.hazard == "fire"


def test_something_that_could_fall_over_people_is_a_hazard(route: Route) -> None:
    exposed = route("小区里一块招牌有点歪，下面就是小朋友上学走的路。", address="月湖街道镇明路")
    assert (exposed.hazard, exposed.rule) == ("safety", "R5")
    alone = route("小区里一块招牌有点歪。", address="月湖街道镇明路")
    assert alone.hazard == "none"


def test_construction_in_progress_is_r6_and_a_finished_structure_is_r9(route: Route) -> None:
    ongoing = route("楼顶这几天正在搭一间铁皮房，工人天天在上面，没有任何审批。", address="鼓楼街道公园路")
    assert (ongoing.rule, ongoing.primary) == ("R6", "planning")
    finished = route("楼顶那间铁皮违建早就搭好了，好几年了，一直没拆。", address="鼓楼街道公园路")
    assert (finished.rule, finished.primary) == ("R9", "urban-mgmt")
    assert any(e.what == "construction finished" for e in finished.evidence)


def test_a_thing_looked_for_and_not_seen_is_no_hazard_but_missing_equipment_is(route: Route) -> None:
    d = route("这家小面馆没有营业执照，后厨用电磁炉，液化气钢瓶倒是没看到。", address="江厦街道开明街")
    assert (d.hazard, d.rule) == ("none", "R7")
    d = route("这家小面馆后厨乱拉电线，灭火器没看到。", address="江厦街道开明街")
    assert d.hazard == "fire"


def test_the_business_it_became_is_the_subject_not_the_one_it_was(route: Route) -> None:
    d = route("那间门面原来是个文具店，现在改成卖煎饼果子的了，什么证都没有。", address="江厦街道开明街")
    assert (d.industry, d.rule, d.primary) == ("catering", "R7", "ecology")


def test_an_unsure_report_is_held_with_its_two_best_candidates_named(route: Route) -> None:
    d = route("门店外卖很多，没有执照。")
    assert (d.status, d.rule, d.primary) == ("gap", "R10", "establishment-office")
    held = next(e for e in d.evidence if e.what.startswith("low confidence"))
    assert held.words == [f"{a.department} ({a.rule} {a.score:.2f})" for a in d.alternatives[:2]]
    assert held.words[0].startswith("ecology (R7")


def test_a_workers_missing_certificate_leaves_the_business_licensed(route: Route) -> None:
    d = route("这家洗浴中心的锅炉压力表坏了，烧锅炉的师傅也没有证。", address="鼓楼街道公园路")
    assert (d.rule, d.primary) == ("R4", "amr")  # special equipment, its regulator; not R3 for 'unlicensed'
    said = route("工人说老板讲规划许可以后会补的，楼顶这几天正在搭钢结构。", address="鼓楼街道公园路")
    assert (said.rule, said.primary) == ("R6", "planning")  # the worker speaks; the permit is the owner's


def test_a_licence_held_but_expired_or_mismatched_is_the_anomaly_matter(route: Route) -> None:
    for text in ("那家面馆墙上的营业执照前年就到期了，一直没管。", "那家店的营业执照，上面的店名跟门头招牌对不上。"):
        d = route(text, address="南门街道长春路")
        assert (d.matter, d.rule, d.primary) == ("licence-anomaly", "R9", "amr"), text


def test_an_ignition_source_beside_fire_load_is_a_fire_hazard(route: Route) -> None:
    d = route("那家五金店老板天天在店里抽烟，旁边就是一排敞着口的稀料桶。", address="南门街道长春路")
    assert d.hazard == "fire"
    calm = route("那家五金店门口摆着一排稀料桶。", address="南门街道长春路")
    assert calm.hazard == "none"


def test_equipment_worn_or_kept_in_place_is_in_use_not_missing(route: Route) -> None:
    site = "有户人家正在砌墙扩建，没有施工许可证。"
    assert route(site + "工人都戴安全帽。", address="月湖街道").rule == "R6"
    assert route(site + "工人都没戴安全帽。", address="月湖街道").rule == "R3"


def test_a_space_in_a_transcript_ends_the_clause_a_state_speaks_of(route: Route) -> None:
    # 煤气罐 … 都有 said across a pause is no "in order" state for the cylinders
    d = route("嗯 楼道里 有人放了好几个煤气罐 空的满的都有 就摆在电表箱底下", address="鼓楼街道")
    assert d.hazard == "fire"


def test_a_matter_checked_and_found_in_order_is_not_the_complaint(route: Route) -> None:
    d = route("生态环境分局检查某小作坊废水排放时，发现其排放正常，但该作坊未办理营业执照。", address="白云街道")
    assert d.rule == "R8" and d.primary == "amr"


def test_a_worker_saying_they_hold_no_certificate_speaks_of_their_own(route: Route) -> None:
    boiler = "食堂蒸饭用的蒸汽炉，泄压阀被铁丝绑死了，门口就是员工通道，"
    d = route(boiler + "烧炉的师傅也说自己没证。", address="月湖街道")
    assert (d.rule, d.primary) == ("R4", "amr")
    boss = route(boiler + "烧炉的师傅说老板什么证都没有。", address="月湖街道")
    assert boss.rule == "R3"


@pytest.mark.parametrize(("text", "rule", "primary"), [
    ("新开的剧本杀馆开在写字楼里，问了店长，说没去文旅那边报备。", "R7", "culture"),  # 报备: filing, as 备案
    ("这家私人影吧给未成年人放尺度大的电影。", "R9", "culture"),
    ("菜场门口每天傍晚好几辆小吃车停着卖东西，行人只能走机动车道。", "R9", "urban-mgmt"),
])
def test_everyday_words_for_filing_explicit_content_and_vending_carts(route: Route, text: str, rule: str,
                                                                      primary: str) -> None:
    d = route(text, address="江厦街道")
    assert (d.rule, d.primary) == (rule, primary)


@pytest.mark.parametrize(("text", "field", "value"), [
    ("居民楼里有户人家每天把电瓶拎回家充，一充一晚上。", "primary", "police-jiangxia"),  # a battery taken in to charge
    ("地下商场的应急指示灯全是黑的，好几个月了。", "hazard", "fire"),
    ("居民楼一楼开了家私人影院，放映证没有。", "licensed", False),  # the screening permit
    ("巷子里的日租房，派出所那边的证一张都没有。", "licensed", False),  # X的证: an issuer's permit
    ("写字楼里的托管班没任何证，孩子跑上跑下。", "licensed", False),
    ("村口那户在自家院墙外又砌了一堵墙，砌好快一年了。", "matter", "illegal-construction"),  # 砌好: long finished
])
def test_short_reports_name_their_hazard_licence_or_matter_in_everyday_words(route: Route, text: str, field: str,
                                                                             value: object) -> None:
    assert getattr(route(text, address="江厦街道"), field) == value


@pytest.mark.parametrize(("text", "field", "value"), [
    ("江边那个小区里两户人家为了门口的花坛吵了好几回。", "matter", "neighbourhood"),  # the riverside locates the homes
    ("江边步道上的路灯杆锈断了一半。", "matter", None),  # said of the riverside itself: not the compound's matter
    ("在建的楼上砌墙，时不时掉块砖头下来，底下是通道。", "hazard", "safety"),
    ("仓库里工人拿喷灯烤防水卷材，里面堆着几百卷。", "hazard", "fire"),
    ("荒地上的杂草被人点着了，风一吹往厂房那边烧。", "hazard", "fire"),
    ("河岸被人挖沙挖得掏空了一截，上面就是步道。", "hazard", "safety"),
    ("水库边有人出租皮划艇，一件救生衣都不给。", "hazard", "safety"),
    ("修路的在路边熬沥青，沥青味关窗都挡不住。", "matter", "pollution"),
    ("河道拐弯处一层垃圾好几天没人捞。", "matter", "sanitation"),
    ("物业把灭鼠的毒饵直接撒在儿童沙坑边上。", "hazard", "safety"),
    ("那家石材厂不装除尘，好几个工人查出尘肺。", "hazard", "safety"),
    ("小区出口的坡太陡，开车出来看不见人。", "matter", None),  # 看不见人 is a blind corner, not an owner gone
    ("在一家带货公司当了三个月主播，离职时提成一分没给。", "status", "gap"),  # a pay dispute, no product's quality
    ("车站旁边的快剪店没有卫生许可就开张了。", "industry", "beauty"),
    ("报了个考公班交了八千，机构说停课就停课。", "industry", "training"),
    ("地下通道的台阶碎了，露出钢筋，好几个人绊倒。", "hazard", "safety"),
    ("商场里买的名牌包是高仿的。", "matter", "product-quality"),
    ("楼上那户天天在楼梯里堵着他吵，说他家的狗掉毛。", "hazard", "none"),  # a person stopped, not a way out
])
def test_outdoor_reports_in_everyday_words(route: Route, text: str, field: str, value: object) -> None:
    assert getattr(route(text, address="江厦街道"), field) == value

"""R1-R10 each, and their precedence (ROUTING.md §5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas.decision import Decision

Route = Callable[..., Decision]


def test_r1_fire_in_residential_building_goes_to_the_local_police(route: Route) -> None:
    d = route("楼道里好几辆电动车在充电，电线从窗户里拉下来。", address="鼓楼街道县学社区")
    assert (d.rule, d.primary, d.hazard) == ("R1", "police-gulou", "fire")
    assert d.ack_hours == 2 and d.deadline_days == 20
    assert d.feedback_to == ["street-gulou", "safety-office"]


def test_r2_fire_at_a_large_venue_goes_to_the_brigade(route: Route) -> None:
    d = route("商场三楼的消防通道堆满了货，防火门被顶住关不上。", address="江厦街道中山东路")
    assert (d.rule, d.primary) == ("R2", "fire-brigade")
    assert "police-jiangxia" in [c.department for c in d.alternatives]


def test_r3_unlicensed_with_safety_hazard(route: Route) -> None:
    d = route("一家无照小作坊的冲床没有防护罩，上个月有工人压伤了手。", address="望春街道望童路")
    assert (d.rule, d.primary, d.hazard, d.licensed) == ("R3", "safety-office", "safety", False)
    assert "street-wangchun" in d.cooperating and "amr" in d.cooperating


def test_r4_special_equipment_goes_to_its_regulator(route: Route) -> None:
    d = route("小区电梯又困人了，关了我们四十分钟。", address="段塘街道汇丰社区")
    assert (d.rule, d.primary, d.cooperating, d.cc) == ("R4", "amr", ["street-duantang"], ["safety-office"])


def test_r4_licensed_hazchem_business(route: Route) -> None:
    d = route("一家持证的化工原料店把几桶盐酸堆在门口，有一桶漏了。", address="西门街道西河街")
    assert (d.rule, d.primary) == ("R4", "emergency")


def test_r5_other_safety(route: Route) -> None:
    d = route("外墙清洗的工人坐在吊板上，没有系安全绳。", address="南门街道灵桥路")
    assert (d.rule, d.primary, d.cooperating) == ("R5", "safety-office", ["street-nanmen"])


def test_r6_unlicensed_construction_is_joint(route: Route) -> None:
    d = route("村里有户人家正在盖四层楼房，没有规划许可。", address="石碶街道冯家村")
    assert (d.rule, d.primary, d.cooperating, d.deadline_days) == (
        "R6",
        "planning",
        ["urban-mgmt", "land"],
        45,
    )


def test_r7_first_sequence_approver_with_joint_enforcement(route: Route) -> None:
    d = route("新开的饭馆没有营业执照，也没有环保意见。", address="鼓楼街道公园路")
    assert (d.rule, d.primary) == ("R7", "ecology")
    assert d.cooperating == ["amr", "street-gulou"] and d.deadline_days == 45


def test_r7_single_prerequisite_is_not_joint(route: Route) -> None:
    d = route("一家网吧没有营业执照，网络文化经营许可证也没有。", address="南门街道日新街")
    assert (d.rule, d.primary, d.cooperating, d.cc, d.deadline_days) == ("R7", "culture", [], ["amr"], 20)


def test_r8_unlicensed_without_prerequisites(route: Route) -> None:
    d = route("一家铝合金门窗店无照经营。", address="月湖街道郁家巷")
    assert (d.rule, d.primary) == ("R8", "amr")


@pytest.mark.parametrize(
    ("text", "primary"),
    [
        ("楼下饭店的油烟直排到我家窗口。", "urban-mgmt"),
        ("工厂晚上往河里偷排污水。", "ecology"),
        ("地铁口黑摩的天天拉客。", "traffic-police"),
        ("代驾司机把我的车刮了。", "transport"),
        ("邻居家卫生间漏水到我家，协商不成想请人调解。", "street-baiyun"),
    ],
)
def test_r9_matters_go_to_their_competent_department(route: Route, text: str, primary: str) -> None:
    d = route(text, address="白云街道华兴社区")
    assert (d.rule, d.primary, d.ack_hours) == ("R9", primary, 24)
    assert d.feedback_to == ["street-baiyun"]


def test_r9_prepaid_follows_the_industry(route: Route) -> None:
    assert route("早教中心充的课时卡不给退钱。", address="高桥镇").primary == "education"
    assert route("美容院办的会员卡，现在店关门了不退钱。", address="高桥镇").primary == "amr"


def test_r10_gap_goes_to_adjudication(route: Route) -> None:
    d = route("小区旁边开了一家陪诊工作室，想问这种服务归谁管。", address="望春街道")
    assert (d.rule, d.primary, d.status, d.deadline_days) == ("R10", "establishment-office", "gap", 5)


def test_r10_gap_with_a_safety_cue_goes_to_the_safety_office(route: Route) -> None:
    d = route(
        "空地上有人养了几十箱蜜蜂，村民担心被蛰伤，有安全顾虑。", address="石碶街道星光村", hazard="none"
    )
    assert (d.rule, d.primary) == ("R10", "safety-office")


def test_r10_gap_with_one_broken_thing_is_no_safety_concern(route: Route) -> None:
    # Something broken (断了) with nobody worried about it: the question is whose it is, not a danger.
    d = route("路边不知道哪个单位立的一块测量标志被车撞断了，想问问该由谁来管。", address="望春街道")
    assert (d.rule, d.primary) == ("R10", "establishment-office")


def test_r10_a_worry_of_harm_in_the_reporters_words_is_a_safety_cue(route: Route) -> None:
    # 怕它哪天咬了小孩: the worry and the harm are told in the reporter's own words, not a listed phrase.
    d = route(
        "小区有人把一条大狼狗拴在单元门口，不知道该谁管，我真怕它哪天咬了小孩。", address="望春街道", hazard="none"
    )
    assert (d.rule, d.primary) == ("R10", "safety-office")


def test_r9_a_purchase_forced_on_the_customer_is_pricing(route: Route) -> None:
    d = route("景区门口给游客拍了合影，不买就不给删底片，一张要六十。", address="望春街道")
    assert (d.rule, d.primary, d.matter) == ("R9", "amr", "pricing")


def test_hazard_beats_licensing(route: Route) -> None:
    d = route(
        "小炒店没有营业执照，后厨三个煤气罐就放在灶台边上，店只有十几个平方。", address="鼓楼街道蔡家弄"
    )
    assert (d.rule, d.primary) == ("R1", "police-gulou")


def test_fire_beats_safety(route: Route) -> None:
    d = route("加工厂车间堆满泡沫板，工人在旁边抽烟；冲床也没有防护罩。", address="高桥镇岐阳村")
    assert (d.rule, d.hazard) == ("R2", "fire")


def test_structured_facts_beat_the_text(route: Route) -> None:
    d = route("楼道里堆了一些纸箱。", address="西门街道望京社区", category="neighbourhood", hazard="none")
    assert (d.rule, d.primary) == ("R9", "street-ximen")
    d = route("一家饭店。", unit="nanmen", category="catering", licensed=False, hazard="none")
    assert (d.rule, d.primary, d.confidence) == ("R7", "ecology", 1.0)
    d = route("饭店厨房烟道油垢很厚。", unit="nanmen", category="catering", hazard="fire", venue_size="large")
    assert (d.rule, d.primary) == ("R2", "fire-brigade")


def test_alternatives_rank_other_departments_but_not_the_primary(route: Route) -> None:
    d = route("理发店价格欺诈，洗剪吹标价38结账收了268。", address="白云街道新星路")
    assert d.primary == "amr"
    assert d.alternatives and all(c.department != "amr" for c in d.alternatives)
    assert [c.score for c in d.alternatives] == sorted((c.score for c in d.alternatives), reverse=True)

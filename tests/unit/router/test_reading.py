"""How the router reads a report's structure: which words go together, what is the main complaint, what was only
checked, imagined or described in passing. Each case states a general rule in words of its own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schemas.decision import Decision

Route = Callable[..., Decision]


def test_a_trade_word_that_starts_inside_a_hazard_word_still_names_the_trade(route: Route) -> None:
    d = route("巷口有个瓶装液化气站，钢瓶一直堆在门外晒太阳。", unit="baiyun")
    assert (d.industry, d.hazard, d.rule, d.primary) == ("gas", "fire", "R2", "fire-brigade")


def test_equipment_an_inspection_found_in_order_is_no_hazard(route: Route) -> None:
    d = route("一家点播影吧没有放映许可，检查时烟感和灭火器均无异常。", unit="nanmen")
    assert (d.hazard, d.rule, d.primary) == ("none", "R7", "culture")


def test_one_permit_said_missing_outweighs_another_said_held(route: Route) -> None:
    d = route("这家民宿已取得特种行业许可证，但公共场所卫生许可证一直没有办。", unit="yuehu")
    assert (d.licensed, d.rule, d.primary) == (False, "R7", "psb")


def test_an_aspect_of_ongoing_action_before_a_building_verb_is_construction_in_progress(route: Route) -> None:
    d = route("有人正在河边沿着围墙搭一排铁皮房，没有任何手续。", unit="wangchun")
    assert (d.rule, d.primary) == ("R6", "planning")


def test_the_premises_someone_opened_outweigh_what_they_deal_in(route: Route) -> None:
    d = route("村口新开了一家回收站，收的多是工地上拆下来的钢筋，没有去公安备案。", unit="wangchun")
    assert (d.industry, d.rule, d.primary) == ("recycling", "R7", "psb")


def test_an_inspection_that_found_no_hazard_vetoes_the_trades_ordinary_stock(route: Route) -> None:
    d = route("应急部门检查一家稀料店，没有危险化学品经营许可证，库存少，未发现消防或其他安全隐患。", unit="nanmen")
    assert (d.hazard, d.rule, d.primary) == ("none", "R7", "emergency")


def test_other_hazards_not_found_keep_the_one_that_was(route: Route) -> None:
    d = route("楼道里电瓶车整夜充电，插线板发烫，未发现其他安全隐患。", unit="baiyun")
    assert d.hazard == "fire"


def test_a_big_building_named_as_a_landmark_is_not_the_premises(route: Route) -> None:
    d = route("汽车站旁边有家小旅馆，楼梯间里堆满旧床垫，安全出口用铁链锁着。", unit="jiangxia")
    assert (d.rule, d.primary) == ("R1", "police-jiangxia")


def test_what_follows_an_aside_is_a_lesser_matter(route: Route) -> None:
    d = route("主要反映菜场门口摊贩占道经营，车都过不去；另外顺带说一下，隔壁水果店的秤不准，价签也对不上。",
              unit="yuehu")
    assert (d.matter, d.primary) == ("street-occupation", "urban-mgmt")


def test_findings_listed_in_order_route_by_the_first(route: Route) -> None:
    d = route("联合检查记录：一是某持证餐馆后厨生熟不分、苍蝇多；二是门口摆放桌椅出店经营，占用人行道。",
              unit="wangchun")
    assert (d.matter, d.primary) == ("food-safety", "amr")


def test_a_filing_not_made_with_a_named_department_is_a_missing_permit(route: Route) -> None:
    d = route("这家剧本杀店营业执照是有的，但一直没有向区文化和旅游部门报备。", unit="gulou")
    assert (d.licensed, d.rule, d.primary) == (False, "R7", "culture")


def test_permits_asked_of_a_worker_are_the_jobs_not_the_workers(route: Route) -> None:
    d = route("隔壁正在楼顶加盖一层，问干活的工人有没有审批，他说老板讲不用。", unit="gulou")
    assert (d.licensed, d.rule, d.primary) == (False, "R6", "planning")


def test_a_trade_the_area_has_many_of_does_not_make_homes_its_premises(route: Route) -> None:
    d = route("我们这边厂子多，我住的出租房一楼停满电瓶车整夜充电，楼上全住人，只有一个楼梯。", address="石碶街道")
    assert (d.rule, d.primary) == ("R1", "police-shiqi")


def test_what_someone_only_thought_was_a_fire_is_none(route: Route) -> None:
    d = route("楼下烧烤店每晚烟大，邻居还以为是着火了，其实是油烟往窗户里灌。", unit="duantang")
    assert (d.hazard, d.matter, d.primary) == ("none", "catering-fumes", "urban-mgmt")


@pytest.mark.parametrize("quantity", ["没几分钟", "没一会"])
def test_a_quantity_with_a_negation_character_negates_nothing(route: Route, quantity: str) -> None:
    d = route(f"物业让工人下到污水井里修泵，{quantity}就晕过去了，被拉上来后又让别人下去。", unit="baiyun")
    assert d.hazard == "safety"


def test_what_a_trade_sells_stacked_in_homes_leaves_the_fire_with_the_police(route: Route) -> None:
    d = route("我们这栋居民楼的楼梯间里堆着好几桶油漆和稀料，住户还在旁边抽烟。", unit="ximen")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-ximen")


def test_the_shop_that_sells_the_goods_is_the_brigades(route: Route) -> None:
    d = route("巷子里一家卖油漆稀料的小店，稀料桶堆到门外，老板天天在门口抽烟。", unit="ximen")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R2", "fire-brigade")


def test_blocking_is_a_fire_cue_only_beside_a_way_out(route: Route) -> None:
    assert route("放学时小贩把学校门口的人行道堵死了，车都过不去。", unit="gulou").hazard == "none"
    d = route("一家KTV的后门被几十箱啤酒堵死了，包厢里天天满客。", unit="gulou")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R2", "fire-brigade")


def test_a_storey_or_room_being_added_is_building_work_whatever_the_building(route: Route) -> None:
    d = route("后排那户正在屋顶上加第四层，手续一样也没有。", unit="gaoqiao")
    assert (d.industry, d.rule, d.primary) == ("construction", "R6", "planning")


def test_a_permit_asked_about_is_held_or_missing_by_the_answer(route: Route) -> None:
    d = route("坐席：他们盖的这个有审批吗？来电人：没有，一张纸都拿不出来。他们正在砌第二层。", unit="duantang")
    assert (d.licensed, d.rule, d.primary) == (False, "R6", "planning")


def test_a_clause_the_caller_takes_back_does_not_count(route: Route) -> None:
    took_back = route("院子里那个铁皮棚早就搭好了，挡着的是消防车道，不对，是挡着他自家的过道。", unit="ximen")
    assert (took_back.hazard, took_back.rule, took_back.primary) == ("none", "R9", "urban-mgmt")


def test_two_things_said_missing_in_a_row_do_not_cancel_each_other(route: Route) -> None:
    d = route("巷子里一家做纸箱的小作坊，没招牌没执照。", unit="wangchun")
    assert (d.licensed, d.rule, d.primary) == (False, "R8", "amr")
    denied = route("巷子里那家做纸箱的作坊不是无照的，执照挂在墙上，就是晚上机器太吵。", unit="wangchun")
    assert denied.licensed is True


def test_a_permit_that_says_its_own_lapse_is_held_but_anomalous_even_when_not_renewed(route: Route) -> None:
    d = route("街角那家美甲店卫生许可证过期，老板说太忙没换。", unit="nanmen")
    assert (d.matter, d.rule, d.primary) == ("licence-anomaly", "R9", "amr")


def test_a_business_permit_asked_of_a_teacher_is_the_business_s_not_the_teacher_s(route: Route) -> None:
    d = route("楼下新开一家书法培训班，问老师有没有办学许可证，老师说要问老板，其实是没有的。", unit="baiyun")
    assert (d.licensed, d.rule, d.primary) == (False, "R7", "education")


def test_the_address_says_what_kind_of_premises_a_fire_hazard_is_in(route: Route) -> None:
    d = route("楼梯口停着一辆电瓶车，电池鼓包了，车主每天推进来充电。", unit="gulou", address="翠柏小区12幢2单元")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-gulou")


def test_a_lift_named_in_passing_implies_no_hazard_over_a_licence_the_grid_worker_recorded(route: Route) -> None:
    d = route("楼里两套房被人做成了日租房，门口贴着密码。邻居说电梯里天天是陌生人。", unit="yuehu", industry="lodging",
              licensed=False)
    assert (d.hazard, d.rule, d.primary) == ("none", "R7", "psb")


def test_a_trade_guessed_from_a_passing_word_does_not_move_a_matter_to_its_department(route: Route) -> None:
    d = route("暑假给孩子办了游泳馆的次卡，现在场馆要停业三个月，剩下的次数没人管。", unit="ximen")
    assert (d.matter, d.rule, d.primary) == ("prepaid", "R9", "amr")


def test_a_permit_waved_away_as_needless_is_a_permit_not_obtained(route: Route) -> None:
    d = route("隔壁那户正在后院加盖一间砖房，墙已经砌到一人高。邻居问他有没有审批，他说自己家的地方要批什么。",
              unit="gaoqiao")
    assert (d.licensed, d.rule, d.primary) == (False, "R6", "planning")


def test_a_smell_of_fuel_gas_is_a_leak_and_a_fire_hazard(route: Route) -> None:
    d = route("酒楼包厢里摆了二十多桌寿宴，厨房那边的天然气表附近一整天都有股气味，厨师长说下周再叫人看。",
              unit="jiangxia", venue_size="large")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R2", "fire-brigade")


def test_fire_load_and_its_ignition_in_two_short_sentences_side_by_side_are_one_scene(route: Route) -> None:
    d = route("五金店把几桶天那水搬到店门口晾着。店员蹲在旁边点烟。", unit="yuehu")
    assert d.hazard == "fire"


def test_fire_load_and_an_ignition_far_apart_in_a_long_report_are_not_one_scene(route: Route) -> None:
    d = route("楼下仓库里堆着好多纸箱，听说是网店的货，每天晚上都有货车来拉走一批，声音很大吵得人睡不着。"
              "后来我跟物业说了好几次，物业说会协调，可一直没有下文，我们这些住户现在都很有意见。"
              "对面楼的大爷每天早上在小区门口抽烟。", unit="yuehu")
    assert d.hazard == "none"


def test_one_permit_never_obtained_outweighs_a_business_licence_said_held_three_times(route: Route) -> None:
    d = route("小吃店老板说自己有营业执照，挂在墙上，执照是有的，可问到食品经营许可证，他说也没有。", unit="gulou")
    assert (d.licensed, d.rule) == (False, "R7")


def test_a_gap_with_one_incidental_word_of_damage_goes_to_the_adjudicator_not_the_safety_office(route: Route) -> None:
    d = route("巷子口那个旧报刊亭被货车撞歪了，里面早就没人经营，想问问这是哪个单位的东西。", unit="ximen")
    assert (d.status, d.rule, d.primary) == ("gap", "R10", "establishment-office")


def test_a_gap_with_a_voiced_worry_for_people_still_goes_to_the_safety_office(route: Route) -> None:
    d = route("巷子口那个旧报刊亭被货车撞歪了，里面早就没人经营，担心砸到放学的孩子。", unit="ximen", hazard="none")
    assert (d.status, d.rule, d.primary) == ("gap", "R10", "safety-office")


def test_a_thing_the_caller_says_nobody_is_known_to_own_is_a_gap(route: Route) -> None:
    d = route("小区门口那一排路灯有三盏一直不亮，物业说不是他们的，到底该找谁？", unit="shiqi")
    assert (d.status, d.rule, d.primary) == ("gap", "R10", "establishment-office")


def test_what_a_matter_does_to_people_is_its_symptom_not_a_hazard_besides_it(route: Route) -> None:
    d = route("楼下新开的湘菜馆，炒菜的烟顺着烟道往我们楼上冒，天天呛得我家小孩咳嗽。", unit="duantang")
    assert (d.matter, d.hazard, d.rule, d.primary) == ("catering-fumes", "none", "R9", "urban-mgmt")


def test_a_symptom_beside_a_real_hazard_word_leaves_the_hazard(route: Route) -> None:
    d = route("楼下湘菜馆的烟道里全是油垢，昨天烟道起火冒烟，呛得整栋楼的人往外跑。", unit="duantang")
    assert d.hazard == "fire"


def test_building_work_reported_in_progress_with_no_permit_said_held_is_unapproved_construction(route: Route) -> None:
    d = route("河对面有人正在空地上搭一排铁皮房，这几天柱子都立起来了，工人天天在焊。", unit="wangchun")
    assert (d.licensed, d.rule, d.primary) == (False, "R6", "planning")


def test_building_work_with_its_permit_said_held_is_not_presumed_unapproved(route: Route) -> None:
    d = route("河对面有人正在空地上搭一排铁皮房，这几天柱子都立起来了，围挡上写着手续齐全。", unit="wangchun")
    assert d.rule != "R6"


def test_firewood_stacked_against_the_stove_is_fire_load_beside_its_ignition(route: Route) -> None:
    d = route("农家乐厨房里，一捆捆柴火就码在灶台边上。", unit="gaoqiao")
    assert d.hazard == "fire"


def test_a_certificate_a_course_teaches_for_is_not_the_work_it_names(route: Route) -> None:
    d = route("写字楼里有个培训班教人考焊接证，收学费一千八，问了没有办学许可证。", unit="gulou")
    assert (d.hazard, d.rule, d.primary) == ("none", "R7", "education")


def test_a_door_wedged_shut_by_furniture_is_a_blocked_way_out(route: Route) -> None:
    d = route("那家小旅馆的后门被几张旧桌子顶死了。", unit="yuehu")
    assert d.hazard == "fire"


def test_the_trade_where_the_tenants_work_is_not_the_premises_reported(route: Route) -> None:
    d = route("村里一栋老房子隔成十几间出租，住的都是附近工地的工人，木楼梯底下堆着纸箱，电线没套管钉在木梁上。",
              unit="shiqi")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-shiqi")


def test_a_storm_drain_cover_gone_is_a_hole_people_fall_into(route: Route) -> None:
    d = route("菜场门口的雨水井盖碎了一半，露出一个口子。", unit="baiyun")
    assert (d.hazard, d.rule, d.primary) == ("safety", "R5", "safety-office")


def test_a_price_dispute_with_a_designated_driver_is_the_driving_service_s_matter(route: Route) -> None:
    d = route("昨晚喝了酒叫的代驾，上车前说好五十，到小区门口他说要加价，多收了我六十。", unit="gulou")
    assert (d.matter, d.rule, d.primary) == ("designated-driving", "R9", "transport")


def test_motorbike_taxis_crowding_a_station_exit_are_their_own_matter_not_a_blocked_fire_exit(route: Route) -> None:
    d = route("地铁站A口每天傍晚都围着一圈拉客的摩托车，把出口堵住了一大半，出站的人要绕着走。", unit="duantang")
    assert (d.matter, d.hazard, d.rule, d.primary) == ("motorcycle-taxi", "none", "R9", "traffic-police")


def test_a_structure_put_up_some_years_back_is_finished_not_in_progress(route: Route) -> None:
    d = route("路口那户人家前几年在院墙外面砌了两间平房，一直租给人住，也没人来拆。", unit="baiyun")
    assert (d.rule, d.primary) == ("R9", "urban-mgmt")


def test_selling_beyond_the_scope_a_permit_names_is_a_licence_anomaly(route: Route) -> None:
    d = route("那家便利店的食品经营许可只有预包装食品，店里却在现场煮馄饨卖。", unit="nanmen")
    assert (d.matter, d.rule, d.primary) == ("licence-anomaly", "R9", "amr")


def test_wiring_left_bare_on_foam_panels_is_a_fire_hazard(route: Route) -> None:
    d = route("冷库外面的电线没有穿管，接头裸露着直接搭在泡沫夹心板上。", unit="yuehu")
    assert d.hazard == "fire"


def test_where_the_tenants_work_said_as_the_people_of_a_site_is_not_the_premises(route: Route) -> None:
    d = route("城中村一栋楼隔成十几间，住的全是工地上的，房东拉的电线从窗户里穿进穿出，外皮破了露铜。", unit="shiqi")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-shiqi")


def test_a_gap_whose_caller_fears_worse_to_come_goes_to_the_safety_office(route: Route) -> None:
    d = route("养蜂的把十几箱蜂摆在菜场后门口，这两天好几个买菜的被蛰了，大家担心出更大的事。", unit="baiyun",
              hazard="none")
    assert (d.status, d.rule, d.primary) == ("gap", "R10", "safety-office")


def test_a_generator_beside_its_fuel_under_the_only_stairs_is_fire_load_beside_ignition(route: Route) -> None:
    d = route("出租楼一楼楼梯底下摆着一台发电机，边上放了几桶柴油，楼上住了二十多个人。", unit="gaoqiao")
    assert d.hazard == "fire"


def test_building_work_plainly_in_progress_counts_even_where_the_trade_is_only_guessed(route: Route) -> None:
    d = route("单元门口的自行车棚这几天正在被人砌成一间小房子，砖已经砌到一人高，没有任何审批。", unit="duantang")
    assert (d.rule, d.primary) == ("R6", "planning")


def test_a_compound_s_matter_word_said_of_a_park_is_not_the_compound_s_matter(route: Route) -> None:
    d = route("街心公园那几张长椅坏了好久，木条都断了，没法坐。", unit="yuehu")
    assert (d.status, d.rule) == ("gap", "R10")
    assert any(e.what == "not matter=neighbourhood" and e.words == ["公园", "街心"] for e in d.evidence)


def test_a_community_service_that_closed_is_no_prepaid_dispute_by_one_word(route: Route) -> None:
    d = route("社区的老年活动室上个月停办了，老人们白天没地方下棋，想问问能不能重新开。", unit="gulou")
    assert (d.status, d.rule, d.primary) == ("gap", "R10", "establishment-office")


def test_a_word_of_hanging_things_says_nothing_of_a_licence(route: Route) -> None:
    d = route("剧本杀店里到处挂着布幔，桌上点的是真蜡烛，客人挤在小房间里。", unit="yuehu")
    assert d.licensed is None and d.hazard == "fire"


def test_a_cut_from_something_in_the_food_is_the_food_s_matter_not_a_safety_hazard(route: Route) -> None:
    d = route("在小区门口的面馆吃面，吃出一截钢丝球，把我嘴巴划伤了。", unit="ximen")
    assert (d.matter, d.hazard, d.rule, d.primary) == ("food-safety", "none", "R9", "amr")


def test_an_address_that_names_a_trade_names_the_premises_the_report_is_about(route: Route) -> None:
    scene = "柜台上点着几支蜡烛，边上摆着一排指甲油和酒精瓶。"
    d = route(scene, unit="gulou", address="鼓楼街道某美甲工作室")
    assert (d.industry, d.hazard, d.rule, d.primary) == ("beauty", "fire", "R1", "police-gulou")


def test_a_trade_named_as_a_landmark_in_the_address_is_not_the_premises(route: Route) -> None:
    d = route("有人在巷子里乱倒建筑垃圾，堆了半人高。", unit="gulou", address="某面馆隔壁")
    assert d.industry != "catering" and (d.rule, d.primary) == ("R9", "urban-mgmt")


def test_the_premises_an_inspector_was_inspecting_is_the_trade_not_the_occasion(route: Route) -> None:
    d = route("卫生监督员检查一家美容院时发现，店里的酒精和卸妆油就放在电暖器旁边。", unit="yuehu")
    assert (d.industry, d.rule, d.primary) == ("beauty", "R1", "police-yuehu")


def test_a_trade_a_building_going_up_will_house_is_no_premises_yet(route: Route) -> None:
    d = route("小区门口空地上这几天有人在垒砖墙，说是要建个小餐馆，老板说先盖起来再说。", unit="shiqi")
    assert (d.industry, d.rule, d.primary) == ("construction", "R6", "planning")


def test_a_gas_pipe_said_to_leak_is_a_fire_hazard(route: Route) -> None:
    d = route("这家小饭馆后厨的天然气管子漏了两天了，照样在炒菜。", unit="ximen")
    assert (d.hazard, d.rule) == ("fire", "R1")


def test_a_sign_said_to_be_missing_is_no_outdoor_advertising_complaint(route: Route) -> None:
    d = route("巷子里一家店没招牌，货一直堆在人行道上。", unit="duantang")
    assert (d.matter, d.rule, d.primary) == ("street-occupation", "R9", "urban-mgmt")


def test_a_fire_in_a_museum_is_the_brigade_s_not_the_police_s(route: Route) -> None:
    d = route("博物馆二楼展厅的安全出口被展板挡死了，应急灯也不亮。", unit="yuehu")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R2", "fire-brigade")


def test_an_approval_said_missing_for_a_trade_s_sign_is_the_sign_s_not_the_trade_s_licence(route: Route) -> None:
    d = route("一家火锅店在楼顶竖了块特别大的广告牌，听说压根没报批。", unit="jiangxia")
    assert (d.industry, d.matter, d.rule, d.primary) == ("catering", "outdoor-ad", "R9", "urban-mgmt")


def test_a_trade_named_to_say_where_a_home_is_is_a_landmark_not_the_premises(route: Route) -> None:
    d = route("我租在木材加工厂后面那栋老楼里，楼道里每晚停十几辆电瓶车，插线板从二楼窗户垂下来充电。",
              unit="wangchun")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-wangchun")


def test_a_sign_compared_with_the_licence_is_the_licence_s_anomaly_not_an_advertising_case(route: Route) -> None:
    d = route("门头的店招早改成新店名了，执照上还是以前那个老板，一直没改过来。", unit="jiangxia")
    assert (d.matter, d.rule, d.primary) == ("licence-anomaly", "R9", "amr")


def test_a_chemical_drum_left_open_and_smelling_is_a_leak_at_a_licensed_dealer(route: Route) -> None:
    d = route("这家化工店有证，仓库里两桶甲醛桶盖没盖好，味道冲得人头疼。", unit="shiqi")
    assert (d.hazard, d.rule, d.primary) == ("safety", "R4", "emergency")
    said = next(e for e in d.evidence if e.what == "hazard=safety")
    assert any("甲醛桶" in w for w in said.words) and d.confidence >= 0.8


def test_a_wait_of_half_a_day_for_a_bus_names_no_crane(route: Route) -> None:
    d = route("站台上等了半天车也没来，站牌上的线路早就改了。", unit="gaoqiao")
    assert d.matter != "special-equipment" and d.hazard == "none"



def test_a_broken_drain_cover_patched_with_a_board_is_a_hole_people_fall_into(route: Route) -> None:
    d = route("人行道上一个窨井盖裂成两半，有人拿块旧木板搭在上面，晚上黑乎乎的。", unit="baiyun")
    assert (d.hazard, d.rule, d.primary) == ("safety", "R5", "safety-office")


def test_a_workshop_with_homes_right_above_it_is_a_fire_case(route: Route) -> None:
    d = route("车库里有人开了个小作坊粘海绵垫，楼上就是住户。", unit="baiyun")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R2", "fire-brigade")


def test_a_gas_leak_checked_for_and_not_found_is_none(route: Route) -> None:
    d = route("没办燃气经营许可的人在村口卖煤气，罐子堆在院子里，我闻过没有味道。", unit="baiyun")
    assert (d.hazard, d.rule, d.primary) == ("none", "R7", "housing")


def test_a_gap_where_someone_was_knocked_down_or_may_be_hurt_goes_to_the_safety_office(route: Route) -> None:
    d = route("公园边上的小路有人骑平衡车横冲直撞，上周把一个老太太扑倒了。", unit="gulou", hazard="none")
    assert (d.status, d.rule, d.primary) == ("gap", "R10", "safety-office")


def test_building_work_in_progress_with_a_neighbour_named_in_passing_is_presumed_unapproved(route: Route) -> None:
    d = route("隔壁邻居这几天在院子里打地基、绑钢筋，工人天天在干，看样子要往外扩一间。", unit="baiyun")
    assert (d.licensed, d.rule, d.primary) == (False, "R6", "planning")


def test_a_fake_brand_is_a_product_s_quality_not_a_signboard(route: Route) -> None:
    d = route("在夜市买的充电宝是假牌子，外壳印得跟正品一模一样，充了两次就鼓起来了。", unit="jiangxia")
    assert (d.matter, d.primary) == ("product-quality", "amr")


def test_a_house_of_storeys_going_up_is_building_work(route: Route) -> None:
    d = route("村里有户人家在宅基地上新起一栋三层楼，楼板浇到二层了，没见过审批。", unit="gaoqiao")
    assert (d.industry, d.rule, d.primary) == ("construction", "R6", "planning")


def test_stalls_blocking_the_stairs_inside_a_building_are_a_blocked_way_out_not_street_trading(route: Route) -> None:
    d = route("商场四楼楼梯口被搞活动的摊子堵死了，人挤人。", unit="jiangxia")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R2", "fire-brigade") and d.matter != "street-occupation"


def test_a_forklift_reversing_among_shoppers_is_special_equipment(route: Route) -> None:
    d = route("菜市场里送货的叉车在买菜的人中间倒来倒去，好几次差点撞到老人。", unit="shiqi")
    assert (d.matter, d.rule, d.primary) == ("special-equipment", "R4", "amr")

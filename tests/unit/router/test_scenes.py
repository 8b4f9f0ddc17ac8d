"""Situations told by what is seen rather than by a cue word: smoke from wiring, a flame where people must pass, a
price quoted and a larger one charged, a licence nobody bothered to get. Each case states a general rule in words
of its own."""

from __future__ import annotations

from collections.abc import Callable

from schemas.decision import Decision

Route = Callable[..., Decision]


def test_smoke_from_a_plug_is_an_electrical_fire_hazard_not_a_chimney(route: Route) -> None:
    d = route("理发店里吹风机的电源线接头处冒出一缕青烟，老板拔掉又插上接着营业。", unit="yuehu")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-yuehu")


def test_smoke_said_not_to_come_from_the_wiring_is_no_fire(route: Route) -> None:
    d = route("电线都换成新的了，没冒烟，就是隔壁饭店油烟大。", unit="yuehu")
    assert d.hazard == "none"


def test_a_flame_in_a_stairway_is_a_fire_hazard_of_the_residential_building(route: Route) -> None:
    d = route("三楼那户天天在楼梯拐角架个锅炒菜，上下楼都得绕着走。", unit="duantang")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-duantang")


def test_things_kept_in_a_stairway_without_a_flame_stay_a_neighbours_matter(route: Route) -> None:
    d = route("楼道里邻居放了一个旧鞋柜，上下楼有点挤。", unit="duantang")
    assert d.hazard == "none"


def test_drums_of_petrol_kept_where_people_live_are_a_fire_hazard(route: Route) -> None:
    d = route("隔壁租户在自家门口码了三桶汽油，说是跑货车要用。", unit="gulou")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-gulou")


def test_a_heater_against_towels_is_fire_load_beside_a_flame(route: Route) -> None:
    d = route("洗脚店里的电暖器整晚贴着一摞毛巾开着。", unit="ximen")
    assert d.hazard == "fire"


def test_an_overheating_motor_over_sawdust_is_a_fire_hazard(route: Route) -> None:
    d = route("家具厂的打磨车间里木屑堆了厚厚一层，就在电机底下，电机烫得不敢碰。", unit="shiqi")
    assert d.hazard == "fire"


def test_a_price_quoted_and_extras_charged_at_the_till_is_pricing(route: Route) -> None:
    d = route("洗车店门口写洗车二十，洗完说打蜡和吸尘另算，一共收了一百五。", unit="nanmen")
    assert (d.matter, d.rule, d.primary) == ("pricing", "R9", "amr")


def test_a_licence_nobody_could_be_bothered_to_get_is_missing(route: Route) -> None:
    d = route("路口那家修自行车的小铺子开了好几年，营业执照老板一直懒得办。", unit="wangchun")
    assert d.licensed is False


def test_selling_things_onward_is_not_food_delivery(route: Route) -> None:
    d = route("楼下一户人家在家里编竹篮往外卖，没有办营业执照。", unit="baiyun")
    assert d.industry != "catering"


def test_asking_what_approval_there_is_holds_none(route: Route) -> None:
    d = route("河边有人正在打桩建厂房，问了几个人都说不知道有什么审批。", unit="gaoqiao")
    assert d.licensed is not True and (d.rule, d.primary) == ("R6", "planning")


def test_a_roof_terrace_without_a_railing_where_children_play_is_a_fall_hazard(route: Route) -> None:
    d = route("托管班开在三楼，孩子们在没有栏杆的露台上追着跑。", unit="jiangxia")
    assert d.hazard == "safety"


def test_a_floor_that_gives_way_underfoot_is_a_structural_hazard(route: Route) -> None:
    d = route("那家面馆二楼的地板一踩就往下陷，老板照样让客人上去坐。", unit="yuehu")
    assert d.hazard == "safety"


def test_a_worker_at_the_top_of_an_unsteadied_ladder_is_work_at_height(route: Route) -> None:
    d = route("装修师傅站在梯子顶上换招牌灯，下面没人扶，梯子一直在晃。", unit="gulou")
    assert (d.hazard, d.rule, d.primary) == ("safety", "R5", "safety-office")


def test_a_power_line_sagging_within_reach_is_a_safety_hazard(route: Route) -> None:
    d = route("村口那根电线这阵子垂得很低，路过的人一抬手就能够到。", unit="shiqi")
    assert (d.hazard, d.rule, d.primary) == ("safety", "R5", "safety-office")


def test_a_body_part_caught_by_a_machine_is_a_safety_hazard(route: Route) -> None:
    d = route("健身房的跑步机下面没有挡板，昨天一个会员的手指夹进去了。", unit="ximen")
    assert d.hazard == "safety"
    d = route("游乐场的旋转木马突然启动，把一个小孩甩出来，额头缝了五针。", unit="ximen")
    assert d.hazard == "safety"


def test_an_animal_that_went_for_someone_is_a_safety_cue_for_a_gap(route: Route) -> None:
    d = route("小区里一条没人牵的大狗好几次追着放学的孩子跑，不知道该归谁管。", unit="gulou", hazard="none")
    assert (d.rule, d.primary) == ("R10", "safety-office")


def test_a_licence_said_to_be_still_in_progress_is_not_held(route: Route) -> None:
    d = route("巷口新开了一家小饭馆，问老板要看经营许可证，他讲还在弄。", unit="yuehu")
    assert d.licensed is False


def test_window_bars_on_a_crowded_workshop_add_to_its_fire_load(route: Route) -> None:
    d = route("鞋厂的库房里鞋盒码满了楼梯口，窗户都焊了防盗网，十几个工人在里面干活。", unit="duantang")
    assert d.hazard == "fire"


def test_a_fumigants_gas_reaching_people_is_a_safety_hazard(route: Route) -> None:
    d = route("隔壁粮库熏蒸完没通风，味道飘到我们宿舍，好几个人恶心头疼。", unit="wangchun")
    assert d.hazard == "safety"


def test_batteries_charged_by_the_dozen_under_homes_are_a_fire_hazard(route: Route) -> None:
    d = route("居民楼的地下室里几十块电池码在架子上一起充着。", unit="yuehu")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-yuehu")


def test_a_scorch_left_by_a_heater_or_a_flue_is_a_fire_hazard(route: Route) -> None:
    assert route("奶茶店的烤箱贴着墙上的广告布，那块布已经烤得发黑了。", unit="gulou").hazard == "fire"
    assert route("食堂的烟囱穿过阁楼，旁边的木梁都熏黑了。", unit="gulou").hazard == "fire"


def test_fumes_that_make_workers_eyes_water_are_a_safety_hazard(route: Route) -> None:
    d = route("新到的板材家具甲醛味熏得理货员个个眼睛流泪、嗓子疼。", unit="gaoqiao")
    assert d.hazard == "safety"


def test_smoke_detectors_taken_down_are_missing_fire_equipment(route: Route) -> None:
    d = route("剧场后台堆着旧布景和海绵垫子，顶上的感烟探测器被拆下来好几个。", unit="nanmen")
    assert d.hazard == "fire"


def test_a_hood_caked_with_grease_is_fire_load_over_the_flame(route: Route) -> None:
    d = route("巷口那家煎饼店的抽油烟机上结了厚厚一层油，还往灶上滴。", unit="yuehu")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-yuehu")


def test_a_window_without_a_restrictor_where_children_climb_is_a_fall_hazard(route: Route) -> None:
    d = route("托管班开在五楼，窗户没装限位器，孩子踩着凳子就能够到窗台。", unit="baiyun")
    assert d.hazard == "safety"


def test_panel_rooms_rented_out_on_a_roof_are_homes_for_fire(route: Route) -> None:
    d = route("城中村有户人家在楼顶用彩钢板搭了几间板房租给外地人，电线乱拉，插座烧黑过一次。", unit="shiqi")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-shiqi")


def test_a_building_sites_hoist_is_special_equipment(route: Route) -> None:
    d = route("工地上运工人上下的吊笼一走就抖。", unit="ximen")
    assert (d.rule, d.primary) == ("R4", "amr")


def test_a_broken_bench_in_an_estate_is_the_streets_small_repair(route: Route) -> None:
    d = route("小区凉亭里的长凳坏了好几根，一直没人来修。", unit="duantang")
    assert (d.rule, d.primary) == ("R9", "street-duantang")


def test_piecework_taken_in_at_home_without_a_licence_is_a_plain_unlicensed_trade(route: Route) -> None:
    d = route("楼上那户接活在家组装玩具，叫了几个邻居帮忙，算件给钱，也没办执照。", unit="gulou")
    assert (d.rule, d.primary) == ("R8", "amr")


def test_a_licence_waved_away_as_needless_is_not_held(route: Route) -> None:
    d = route("小区里有人把房子按天租给游客，房东说办什么证，网上都这么租。", unit="ximen")
    assert d.licensed is False


def test_rooms_built_on_a_roof_and_let_are_homes_for_fire(route: Route) -> None:
    d = route("房东在出租楼楼顶加盖了三间铁皮屋租给打工的住，电线从楼下拉上去，插座冒过火花。", unit="ximen")
    assert (d.hazard, d.rule, d.primary) == ("fire", "R1", "police-ximen")


def test_a_building_site_stays_the_brigades_for_fire(route: Route) -> None:
    d = route("在建的8号楼外墙电焊，下面堆着保温板，没人看火。", unit="shiqi", hazard="fire")
    assert (d.rule, d.primary) == ("R2", "fire-brigade")


def test_rooms_with_a_projector_let_by_the_hour_are_a_private_cinema(route: Route) -> None:
    d = route("小区里有人把两个房间装上投影，按小时租给人看片，什么证都没有。", unit="gaoqiao")
    assert (d.rule, d.primary) == ("R7", "culture")


def test_a_moving_ramp_that_runs_back_is_special_equipment(route: Route) -> None:
    d = route("商场推购物车上楼的自动坡道走到一半停住，还往回溜了一截。", unit="gulou")
    assert (d.rule, d.primary) == ("R4", "amr")


def test_a_worry_that_someone_is_knocked_off_a_bike_is_a_safety_cue(route: Route) -> None:
    d = route("路边不知道谁拉的一根铁丝横在自行车道上，不知道该归谁管，怕哪天把骑车的人刮下来。", unit="baiyun",
              hazard="none")
    assert (d.rule, d.primary) == ("R10", "safety-office")


def test_rubbish_soaked_rotten_is_no_safety_hazard(route: Route) -> None:
    d = route("有人把旧床垫和柜子扔在垃圾房边上，下了几场雨都泡烂了，一直没人收。", unit="duantang")
    assert (d.hazard, d.rule, d.primary) == ("none", "R9", "urban-mgmt")


def test_a_tall_shelf_not_tied_to_the_wall_is_a_safety_hazard(route: Route) -> None:
    d = route("超市里两米多高的货架没跟墙固定，顶上压满了整箱的油，顾客就在下面拿货。", unit="jiangxia")
    assert d.hazard == "safety"


def test_a_finger_caught_by_a_kitchen_machine_is_a_safety_hazard(route: Route) -> None:
    d = route("小饭馆的和面机没有罩子，帮工的指头被带进去过一次。", unit="jiangxia")
    assert d.hazard == "safety"

"""Clearly marked synthetic organisations for the demo, where later features need volume.

Every name ends in "(demo)", every row has `synthetic: true`, and every USCC has the
entity identifier 0000xxxx, which no real registration uses. The generator is seeded,
so the same world comes out every time.
"""

import random

from kechuang.registry import uscc

#: The eight sectors of the Jiangsu high-tech industry catalogue (苏科高发〔2018〕86号),
#: plus traditional sectors so the demo has both sides of the high-tech share.
HIGH_TECH_SECTORS = [
    ("aerospace", "航空航天", "Aerospace"),
    ("computers-office-equipment", "电子计算机及办公设备", "Computers and office equipment"),
    ("electronics-communication", "电子及通讯设备", "Electronic and communication equipment"),
    ("biomedicine", "生物医药", "Biomedicine"),
    ("instruments", "仪器仪表", "Instruments and meters"),
    ("intelligent-equipment", "智能装备", "Intelligent equipment"),
    ("new-materials", "新材料", "New materials"),
    ("new-energy", "新能源", "New energy"),
]
TRADITIONAL_SECTORS = [
    ("home-textiles", "家纺", "Home textiles"),
    ("machinery", "通用机械", "General machinery"),
    ("construction", "建筑业", "Construction"),
    ("food-processing", "食品加工", "Food processing"),
]

_STEMS = [
    ("华创", "Huachuang"), ("通达", "Tongda"), ("金沙", "Jinsha"), ("江海", "Jianghai"), ("启航", "Qihang"),
    ("恒远", "Hengyuan"), ("瑞丰", "Ruifeng"), ("新锐", "Xinrui"), ("博远", "Boyuan"), ("东晟", "Dongsheng"),
    ("星河", "Xinghe"), ("鼎盛", "Dingsheng"), ("海纳", "Haina"), ("安澜", "Anlan"), ("嘉禾", "Jiahe"),
]
_TRADES = {
    "aerospace": ("航空部件", "Aviation Components"),
    "computers-office-equipment": ("智能终端", "Smart Terminals"),
    "electronics-communication": ("微电子", "Microelectronics"),
    "biomedicine": ("生物医药", "Biopharma"),
    "instruments": ("精密仪器", "Precision Instruments"),
    "intelligent-equipment": ("智能装备", "Intelligent Equipment"),
    "new-materials": ("新材料", "New Materials"),
    "new-energy": ("新能源", "New Energy"),
    "home-textiles": ("家纺", "Home Textiles"),
    "machinery": ("机械", "Machinery"),
    "construction": ("建设工程", "Construction Engineering"),
    "food-processing": ("食品", "Foods"),
}

#: County-level divisions of Nantong other than Tongzhou, for side-by-side comparisons.
NANTONG_PEERS = ["320613", "320614", "320623", "320681", "320682", "320685"]


def _enterprise(rng: random.Random, number: int, region: str, within: str | None, town_name: str) -> dict:
    sector, *_ = rng.choice(HIGH_TECH_SECTORS if rng.random() < 0.55 else TRADITIONAL_SECTORS)
    stem_zh, stem_en = _STEMS[number % len(_STEMS)]
    trade_zh, trade_en = _TRADES[sector]
    place_zh, place_en = town_name
    location = {"region": region, "valid_from": str(rng.randint(2005, 2022))}
    if within:
        location["within"] = within
    return {
        "key": f"demo-enterprise-{number:04d}",
        "kind": "enterprise",
        "name_zh": f"南通{place_zh}{stem_zh}{trade_zh}有限公司(demo)",
        "name_en": f"Nantong {place_en} {stem_en} {trade_en} Co Ltd (demo)",
        "uscc": uscc.make("91" + region[:6], f"0000{number:04d}"),
        "above_designated_size": rng.random() < 0.6,
        "sectors": [sector],
        "synthetic": True,
        "locations": [location],
    }


def synthetic_world(towns: list[tuple[str, str, str]], zone_key: str, seed: int = 2023) -> dict:
    """A world-file document of synthetic organisations.

    `towns` are (code, name_zh, name_en) of Tongzhou's towns and streets, from the
    division data. 120 enterprises go to Tongzhou (a third inside the high-tech zone),
    8 to each other county-level division of Nantong, plus universities and institutes
    for academia–industry collaborations.
    """
    rng = random.Random(seed)
    organisations = []
    number = 0
    for _ in range(120):
        number += 1
        code, name_zh, name_en = rng.choice(towns)
        short = (name_zh.rstrip("镇街道农场"), name_en.split(" ")[0])
        within = zone_key if rng.random() < 0.33 else None
        organisations.append(_enterprise(rng, number, code, within, short))
    for peer in NANTONG_PEERS:
        for _ in range(8):
            number += 1
            organisations.append(_enterprise(rng, number, peer, None, ("", "")))
    for i, (zh, en, kind) in enumerate([
        ("江海示例大学(demo)", "Jianghai Demo University (demo)", "university"),
        ("通州示例理工学院(demo)", "Tongzhou Demo Institute of Technology (demo)", "university"),
        ("南通示例职业技术学院(demo)", "Nantong Demo Vocational and Technical College (demo)", "university"),
        ("南通示例先进制造研究院(demo)", "Nantong Demo Advanced Manufacturing Research Institute (demo)", "institute"),
        ("通州示例新材料研究所(demo)", "Tongzhou Demo New Materials Research Institute (demo)", "institute"),
    ], start=1):
        organisations.append({
            "key": f"demo-{kind}-{i}",
            "kind": kind,
            "name_zh": zh,
            "name_en": en,
            "uscc": uscc.make("12320612", f"0000{900 + i:04d}"),
            "synthetic": True,
            "locations": [{"region": "320612"}],
        })
    return {
        "kechuang": 1,
        "sectors": [{"code": c, "name_zh": zh, "name_en": en} for c, zh, en in HIGH_TECH_SECTORS + TRADITIONAL_SECTORS],
        "organisations": organisations,
    }

"""Users, the three-level department tree and roles, built eagerly from the seed."""

from __future__ import annotations

import hashlib
import random
import string
from dataclasses import dataclass
from datetime import date, timedelta

from emulator.enterprise.model import Department, Role, User

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰飞鹏宇浩然子轩梓涵一诺欣怡晨阳思远佳琪雨萱俊熙嘉懿"
EMOJI = ["🎧", "🌟", "🚀", "🐼", "☕", "🌈", "🍀"]
CENTERS = ["研发中心", "市场部", "销售部", "运营中心", "职能部"]
TEAMS = ["一组", "二组", "三组"]
ROLE_SPECS = [
    ("super_admin", "超级管理员", "Full control of the enterprise account"),
    ("admin", "管理员", "Manages users, meetings and recordings"),
    ("app_developer", "应用开发者", "Builds and manages API applications"),
    ("member", "普通成员", "Regular member"),
    ("custom_rooms", "会议室管理员", "Custom role: manages meeting rooms"),
]


@dataclass(slots=True)
class Directory:
    users: list[User]
    departments: list[Department]
    roles: list[Role]
    role_by_key: dict[str, Role]


def _opaque(seed: int, text: str, length: int = 16) -> str:
    return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()[:length]


def token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=length))


def chinese_name(rng: random.Random, emoji_rate: float = 0.08) -> str:
    name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
    if rng.random() < emoji_rate:
        name += rng.choice(EMOJI)
    return name


def build_directory(seed: int, user_count: int, anchor: date) -> Directory:
    rng = random.Random(f"{seed}:directory")
    roles = [Role(_opaque(seed, key), name, desc) for key, name, desc in ROLE_SPECS]
    role_by_key = {spec[0]: role for spec, role in zip(ROLE_SPECS, roles, strict=True)}

    departments = [Department("1", "星河科技", "星河科技", None)]
    teams: list[Department] = []
    for c, center in enumerate(CENTERS):
        center_id = str(10 + c)
        departments.append(Department(center_id, center, f"星河科技/{center}", "1"))
        for t, team in enumerate(TEAMS):
            dept = Department(f"{center_id}{t + 1}", f"{center}{team}", f"星河科技/{center}/{center}{team}", center_id)
            departments.append(dept)
            teams.append(dept)

    users: list[User] = []
    for i in range(user_count):
        if i == 0:
            role = role_by_key["super_admin"]
        elif i <= max(2, user_count // 100):
            role = role_by_key["admin"]
        elif i % 17 == 3:
            role = role_by_key["app_developer"]
        elif i % 23 == 5:
            role = role_by_key["custom_rooms"]
        else:
            role = role_by_key["member"]
        # The first users stay enabled so admins and hosts are always usable; the rest get a mix.
        roll = rng.random()
        status = 1 if i < 5 or roll < 0.88 else (0 if roll < 0.94 else 2)
        main = teams[i % len(teams)]
        depts = [(main.department_id, True)]
        if rng.random() < 0.2:
            other = rng.choice(departments[1:])
            if other.department_id != main.department_id:
                depts.append((other.department_id, False))
        updated = anchor - timedelta(days=rng.randint(1, 400))
        users.append(
            User(
                index=i,
                userid=f"u{i:05d}",
                uuid="WM" + token(rng, 16),
                user_name=chinese_name(rng),
                email=f"u{i:05d}@xinghe.example.com",
                phone=f"1{rng.randint(30, 99)}****{rng.randint(0, 9999):04d}",
                area="86",
                status=status,
                role_code=role.role_code,
                departments=depts,
                update_time=f"{updated:%Y-%m-%d} {rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
                enable_ai_account=rng.random() < 0.1,
                has_pmi=status == 1 and (i % 7 == 1),
            )
        )
    return Directory(users, departments, roles, role_by_key)

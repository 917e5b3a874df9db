"""User endpoints over loopback HTTP: detail, lists in both pagination styles, corp users and roles."""

from __future__ import annotations

import httpx

from emulator.enterprise import Enterprise
from tests.emulator.conftest import PRINCIPAL_HEADER, error_code, walk_pages


def _walk_pos(client: httpx.Client, path: str, params: dict[str, object]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    pos = ""
    while True:
        body = client.get(path, params={**params, "pos": pos}).json()
        rows += body["users"]
        if not body["has_remaining"]:
            assert body["next_pos"] == ""
            return rows
        pos = body["next_pos"]
        assert isinstance(pos, str)


def test_user_detail_forms(client: httpx.Client, ent: Enterprise) -> None:
    user = ent.users[3]
    body = client.get(f"/v1/users/{user.userid}").json()
    assert body["userid"] == user.userid and body["username"] == user.user_name and isinstance(body["status"], str)
    assert client.get("/v1/users", params={"uuid": user.uuid}).json()["userid"] == user.userid
    assert error_code(client.get("/v1/users/nobody")) == 20001
    self_view = client.get(f"/v1/users/oid-{user.userid}", headers={PRINCIPAL_HEADER: f"user:{user.userid}"})
    assert self_view.json()["userid"] == user.userid
    other = client.get(f"/v1/users/{ent.users[4].userid}", headers={PRINCIPAL_HEADER: f"user:{user.userid}"})
    assert error_code(other) == 9042
    basic = client.get("/v1/users/info/basic", headers={PRINCIPAL_HEADER: f"user:{user.userid}"}).json()
    assert basic["username"] == user.user_name and "open_corp_id" in basic


def test_user_lists_walk(client: httpx.Client, ent: Enterprise) -> None:
    listed, bodies = walk_pages(client, "/v1/users/list", {}, "users", 7)
    assert [u["userid"] for u in listed] == [u.userid for u in ent.users] and bodies[0]["total_count"] == len(ent.users)
    assert error_code(client.get("/v1/users/list", params={"page": 1, "page_size": 21})) == 190004
    advanced = _walk_pos(client, "/v1/users/advance/list", {"size": 9})
    assert [u["userid"] for u in advanced] == [u.userid for u in ent.users]
    assert error_code(client.get("/v1/users/advance/list", params={"size": 101})) == 190004
    corp = _walk_pos(client, "/v1/corp/users", {"page_size": 11})
    assert [u["userid"] for u in corp] == [u.userid for u in ent.users]
    assert {u["status"] for u in corp} == {0, 1, 2}
    assert all(sum(d["is_main"] for d in u["departments"]) == 1 for u in corp)
    assert any(len(u["departments"]) == 2 for u in corp)
    first = client.get("/v1/corp/users", params={"page_size": 11}).json()
    assert first["total_count"] == len(ent.users) and first["current_size"] == 11 and first["total_page"] == 4
    assert error_code(client.get("/v1/corp/users", params={"page_size": 101})) == 190004
    assert error_code(client.get("/v1/corp/users")) == 190004


def test_roles_and_role_users(client: httpx.Client, ent: Enterprise) -> None:
    roles = client.get("/v1/corp/user-roles", params={"page": 1, "page_size": 20}).json()
    listed = roles["user_role_list"]
    assert roles["total_count"] == len(listed) == 5
    assert sum(r["role_member_nu"] for r in listed) == len(ent.users)
    super_admin = next(r for r in listed if r["role_name"] == "超级管理员")
    assert super_admin["role_member_nu"] == 1
    member = next(r for r in listed if r["role_name"] == "普通成员")
    users = _walk_pos(client, "/v1/corp/user-roles", {"role_code": member["role_code"], "page_size": 5})
    assert len(users) == member["role_member_nu"] and {u["role_code"] for u in users} == {member["role_code"]}
    by_corp = _walk_pos(client, "/v1/corp/users", {"role_code": member["role_code"], "page_size": 50})
    assert by_corp == users
    assert error_code(client.get("/v1/corp/user-roles", params={"role_code": "nope", "page_size": 5})) == 190004

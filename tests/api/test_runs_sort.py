"""GET /runs sorting (sort/order, nulls last both ways, stable pages) and the tag-prefix filter, on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import update

from service.db.models import Run


def _submit(client, name: str, tags: list[str]) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/runs", json={"config_text": "", "name": name, "tags": tags})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _set_reward(settings, run_id: str, reward: float | None) -> None:  # type: ignore[no-untyped-def]
    from service.db.session import session_scope

    with session_scope(settings.db_url) as s:
        s.execute(update(Run).where(Run.id == run_id).values(last_reward=reward))
        s.commit()


def _names(client, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/runs?{query}")
    assert r.status_code == 200, r.text
    return [item["name"] for item in r.json()["items"]]


def test_sort_by_name_and_reward_with_nulls_last(client, settings) -> None:
    rewards = {"bravo": 0.5, "alpha": 0.9, "charlie": None, "delta": 0.1}
    for name, reward in rewards.items():
        _set_reward(settings, _submit(client, name, ["e"]), reward)

    assert _names(client, "sort=name&order=asc") == ["alpha", "bravo", "charlie", "delta"]
    assert _names(client, "sort=name&order=desc") == ["delta", "charlie", "bravo", "alpha"]
    # a run without a reward yet is last whichever way the rewards are ordered
    assert _names(client, "sort=last_reward&order=desc") == ["alpha", "bravo", "delta", "charlie"]
    assert _names(client, "sort=last_reward&order=asc") == ["delta", "bravo", "alpha", "charlie"]
    # default: newest first, as before
    created = [item["created_at"] for item in client.get("/api/v1/runs").json()["items"]]
    assert created == sorted(created, reverse=True)
    # pages of a sorted list do not overlap
    pages = [_names(client, f"sort=last_reward&order=asc&limit=2&offset={o}") for o in (0, 2)]
    assert pages == [["delta", "bravo"], ["alpha", "charlie"]]


def test_bad_sort_is_a_422_naming_the_field(client) -> None:
    r = client.get("/api/v1/runs?sort=config_text")
    assert r.status_code == 422
    assert "sort" in r.text
    r = client.get("/api/v1/runs?order=up")
    assert r.status_code == 422
    assert "order" in r.text


def test_tag_prefix_matches_the_start_of_a_tag_only(client) -> None:
    _submit(client, "a", ["demo", "x"])
    _submit(client, "b", ["nodemo"])
    _submit(client, "c", ["dem_2"])
    assert sorted(_names(client, "tag_prefix=dem")) == ["a", "c"]
    assert _names(client, "tag_prefix=demo") == ["a"]
    assert _names(client, "tag=dem") == []  # `tag` stays exact
    assert client.get("/api/v1/runs?tag_prefix=a%20b").status_code == 422

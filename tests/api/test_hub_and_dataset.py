"""POST /runs with hub ids and dataset envs: syntax and files checked at submission, no network call; the
user's own reward code only when the operator allows it."""

from __future__ import annotations

import pytest
from test_runs import count_runs

HUB_OK = ["Qwen/Qwen2.5-0.5B-Instruct", "meta-llama/Llama-3.2-1B", "grpolab-test/tiny-chat"]
HUB_BAD = [
    ("Qwen/Qwen 2.5", "not a hub id"),
    ("org/name--x", "'--'"),
    ("some/deep/folder", "neither a model folder in the data dir nor a hub id"),
]


def post(client, config: dict):
    return client.post("/api/v1/runs", json={"config": {"run": {"steps": 1}, **config}})


@pytest.mark.parametrize("hub_id", HUB_OK)
def test_hub_ids_are_accepted(client, settings, hub_id) -> None:
    r = post(client, {"model": {"path": hub_id, "revision": "main"}})
    assert r.status_code == 201, r.text
    assert r.json()["config"]["model"]["path"] == hub_id


@pytest.mark.parametrize(("path", "message"), HUB_BAD)
def test_bad_hub_ids_are_refused_with_the_field_named(client, settings, path, message) -> None:
    r = post(client, {"model": {"path": path}})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["errors"][0]["field"] == "model.path"
    assert message in detail["message"]
    assert count_runs(settings) == 0


def test_hostile_revision_and_remote_code_stay_refused(client, settings) -> None:
    r = post(client, {"model": {"path": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "../../etc"}})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "model.revision"
    r = post(client, {"model": {"path": "Qwen/Qwen2.5-0.5B-Instruct", "trust_remote_code": True}})
    assert r.status_code == 422 and "GRPOLAB_ALLOW_TRUST_REMOTE_CODE" in r.json()["detail"]["message"]
    assert count_runs(settings) == 0


def test_a_folder_in_the_data_dir_that_is_no_hub_id_is_accepted(client, settings) -> None:
    folder = settings.data_dir / "models" / "my model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert post(client, {"model": {"path": "models/my model"}}).status_code == 201


def dataset_env(**dataset) -> dict:
    return {
        "env": {"id": "grpolab:dataset", "dataset": {"prompt_field": "q", "answer_field": "a", **dataset}}
    }


def test_dataset_files_are_checked_without_reading_them(client, settings) -> None:
    (settings.data_dir / "data").mkdir(parents=True)
    (settings.data_dir / "data" / "train.jsonl").write_text('{"q": "1+1?", "a": "2"}\n')
    ok = post(client, dataset_env(path="data/train.jsonl", reward="numeric"))
    assert ok.status_code == 201, ok.text
    assert ok.json()["config"]["env"]["dataset"]["reward"] == "numeric"
    for dataset, field, message in [
        ({"path": "data/missing.jsonl"}, "env.dataset.path", "is not a file in the server's data dir"),
        ({"path": "/etc/passwd.jsonl"}, "env.dataset.path", "absolute path"),
        ({"path": "data/../../x.csv"}, "env.dataset.path", "'..'"),
        ({"path": "data/train.txt"}, "env.dataset.path", ".jsonl, .json, .parquet, .csv"),
        ({"path": "data/train.jsonl", "eval_path": "data/test.jsonl"}, "env.dataset.eval_path", "not a file"),
        ({"path": "data/train.jsonl", "reward": "regex"}, "env.dataset", "needs `pattern`"),
        ({"path": "data/train.jsonl", "reward": "regex", "pattern": "("}, "env.dataset.pattern", "regular"),
    ]:
        r = post(client, dataset_env(**dataset))
        assert r.status_code == 422, (dataset, r.text)
        detail = r.json()["detail"]
        assert detail["errors"][0]["field"] == field, (dataset, detail)
        assert message in detail["message"], (dataset, detail["message"])
    assert count_runs(settings) == 1


def test_custom_rewards_only_when_the_operator_allows_them(client, settings) -> None:
    from fastapi.testclient import TestClient
    from infra import make_token

    from api.app import create_app

    (settings.data_dir / "d.jsonl").parent.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "d.jsonl").write_text('{"q": "x", "a": "y"}\n')
    custom = dataset_env(path="d.jsonl", reward="custom", reward_fn="my_rewards:score")
    r = post(client, custom)
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["field"] == "env.dataset.reward"
    assert "GRPOLAB_ALLOW_CUSTOM_REWARDS=1" in r.json()["detail"]["message"]
    allowed = settings.model_copy(update={"allow_custom_rewards": True})
    with TestClient(create_app(allowed)) as c:
        c.headers["Authorization"] = f"Bearer {make_token(settings.db_url)}"
        assert post(c, custom).status_code == 201


def test_a_missing_dataset_file_names_its_field_once_and_where_the_data_dir_is(client, settings) -> None:
    r = post(client, dataset_env(path="data/missing.jsonl"))
    assert r.status_code == 422, r.text
    message = r.json()["detail"]["message"]
    assert message.count("env.dataset.path") == 1, message
    assert message.startswith(
        "the config is not valid: env.dataset.path: 'data/missing.jsonl' is not a file"
    ), message
    assert "<data dir>" not in message
    assert "--data-dir of `grpolab up`" in message and "GRPOLAB_DATA_DIR" in message
    # a message that starts with its own field is not prefixed with it a second time
    (settings.data_dir / "m.bin").write_bytes(b"x")
    r = post(client, {"model": {"path": "m.bin"}})
    assert r.json()["detail"]["message"].count("model.path") == 1, r.text

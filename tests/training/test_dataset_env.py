"""`grpolab:dataset`: a user's rows (.jsonl/.json/.parquet/.csv) with typed settings, real math-verify rewards,
malformed files refused with the line and field before any step, eval on `eval_path`, custom rewards gated."""

from __future__ import annotations

import csv
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from tests.training.conftest import TINY_CHAT_REPO
from training.config import RunConfig
from training.config_io import ConfigError, load_text
from training.envs import make_run_env
from training.envs.dataset import DatasetError
from training.envs.rewards import RewardConfigError

ROWS = [
    {"question": "What is half of one?", "answer": "0.5", "level": 1},
    {"question": "What is 3/4 as a decimal?", "answer": "0.75", "level": 1},
    {"question": "What is 6 * 7?", "answer": "42", "level": 2},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def dataset_config(path, **dataset) -> RunConfig:
    return RunConfig.model_validate(
        {
            "model": {"path": TINY_CHAT_REPO},
            "env": {
                "id": "grpolab:dataset",
                "dataset": {
                    "path": str(path),
                    "prompt_field": "question",
                    "answer_field": "answer",
                    **dataset,
                },
            },
            "rollout": {"batch_size": 8, "max_new_tokens": 6},
            "algorithm": {"group_size": 4},
            "run": {"steps": 2, "eval_episodes": 0, "checkpoint_every": 0},
            "resources": {"cpu_threads": 1},
        }
    )


def env_reward(tmp_path, answer: str, response: str, **dataset) -> float:
    path = write_jsonl(tmp_path / "one.jsonl", [{"question": "q", "answer": answer}])
    env = make_run_env(dataset_config(path, **dataset).env)
    env.reset(seed=0)
    return env.step(response)[1]


@pytest.mark.parametrize(
    ("reward", "answer", "response", "expected"),
    [
        ("math_verify", "0.5", "so the result is \\boxed{1/2}", 1.0),
        ("math_verify", "0.5", "\\boxed{\\frac{2}{4}}", 1.0),
        ("math_verify", "\\frac{3}{4}", "The answer is $0.75$", 1.0),
        ("math_verify", "0.5", "\\boxed{0.6}", 0.0),
        ("math_verify", "42", "no number here", 0.0),
        ("exact", "Paris", "I think \\boxed{Paris}", 1.0),
        ("exact", "Paris", "\\boxed{paris}", 0.0),
        ("numeric", "1000", "<answer>1,000</answer>", 1.0),
        ("numeric", "0.5", "\\boxed{.5}", 1.0),
        ("numeric", "1000", "\\boxed{999.9}", 0.0),
        ("contains", "Paris", "it is paris, of course", 1.0),
        ("contains", "Paris", "it is Lyon", 0.0),
    ],
)
def test_rewards_on_known_answers(tmp_path, reward, answer, response, expected):
    assert env_reward(tmp_path, answer, response, reward=reward) == expected


def test_regex_reward_uses_the_first_group(tmp_path):
    kw = {"reward": "regex", "pattern": r"Answer:\s*(\S+)"}
    assert env_reward(tmp_path, "42", "work... Answer: 42", **kw) == 1.0
    assert env_reward(tmp_path, "42", "Answer: 41", **kw) == 0.0
    assert env_reward(tmp_path, "42", "42", **kw) == 0.0


def test_all_formats_give_the_same_rows(tmp_path):
    write_jsonl(tmp_path / "d.jsonl", ROWS)
    (tmp_path / "d.json").write_text(json.dumps(ROWS))
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    with (tmp_path / "d.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["question", "answer", "level"])
        w.writeheader()
        w.writerows(ROWS)
    prompts = {}
    for ext in ("jsonl", "json", "parquet", "csv"):
        env = make_run_env(dataset_config(tmp_path / f"d.{ext}").env)
        prompts[ext] = [(r["question"], r["answer"]) for r in env.task.rows]
    assert prompts["jsonl"] == prompts["json"] == prompts["parquet"] == prompts["csv"]
    assert prompts["csv"][2] == ("What is 6 * 7?", "42")


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        (
            "bad.jsonl",
            '{"question": "a", "answer": "1"}\n{"question": "b" "answer": "2"}\n',
            r"bad\.jsonl line 2: bad JSON",
        ),
        (
            "gap.jsonl",
            '{"question": "a", "answer": "1"}\n\n{"question": "c"}\n',
            r"line 3: field 'answer' is missing",
        ),
        ("empty.jsonl", "\n", r"has no rows"),
        ("blank.csv", "question,answer\nx,1\n,2\n", r"blank\.csv line 3: field 'question' is empty"),
        ("list.json", '{"question": "a"}', r"a \.json dataset is a list of objects"),
        ("nested.json", '[{"question": "a", "answer": [1, 2]}]', r"row 1: field 'answer' is a list"),
        ("broken.json", '[{"question": "a",\n "answer": }]', r"broken\.json line 2: bad JSON"),
        ("nan.jsonl", '{"question": "a", "answer": NaN}\n', r"line 1: field 'answer' is nan"),
    ],
)
def test_malformed_data_is_refused_before_any_step(hub_offline, tmp_path, name, body, message):
    from training.pipeline import train

    (tmp_path / name).write_text(body)
    with pytest.raises(DatasetError, match=message):
        train(dataset_config(tmp_path / name), tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_missing_file_and_wrong_extension(tmp_path):
    with pytest.raises(DatasetError, match=r"env\.dataset\.eval_path: .*nope\.jsonl' does not exist"):
        make_run_env(
            dataset_config(write_jsonl(tmp_path / "d.jsonl", ROWS), eval_path="nope.jsonl").env, "eval"
        )
    with pytest.raises(ConfigError) as exc:
        load_text("env:\n  id: grpolab:dataset\n  dataset:\n    path: data/train.txt\n", "run.yaml")
    err = exc.value.errors[0]
    assert (err.field, err.line) == ("env.dataset.path", 4) and ".jsonl" in err.message


def test_jsonl_with_math_verify_trains_two_steps(hub_offline, tmp_path):
    from transformers import AutoModelForCausalLM

    from training.models import load_policy
    from training.pipeline import train

    cfg = dataset_config(write_jsonl(tmp_path / "train.jsonl", ROWS), system_prompt="Answer in \\boxed{}.")
    before = load_policy(cfg.model).model.state_dict()
    summary = train(cfg, tmp_path / "run")
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and summary["env"] == "grpolab:dataset"
    after = AutoModelForCausalLM.from_pretrained(summary["checkpoint"]).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_prompts_go_through_the_chat_template_with_the_system_prompt(hub_offline, tmp_path):
    from math_verify import parse, verify

    from training.backends import SamplingParams
    from training.envs.chat import ConversationFormat
    from training.envs.runner import play_groups
    from training.models import load_policy
    from training.rollout.hf import HFRolloutBackend

    cfg = dataset_config(write_jsonl(tmp_path / "train.jsonl", ROWS), system_prompt="Be brief.")
    policy = load_policy(cfg.model)
    fmt = ConversationFormat(policy.tokenizer, policy.fmt, system="Be brief.")
    params = SamplingParams(max_new_tokens=6, temperature=1.0, seed=0, stop_token_ids=fmt.stop_token_ids([]))
    backend = HFRolloutBackend(policy.model, policy.tokenizer)
    groups = play_groups(lambda: make_run_env(cfg.env), [1, 2, 3], 2, backend, fmt, params)
    answers = {r["question"]: r["answer"] for r in ROWS}
    for group in groups:
        ep = group[0]
        question = ep.observations[0]
        prompt = policy.tokenizer.decode(ep.token_ids[: ep.action_mask.index(1)])
        assert prompt == (
            f"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            "<|im_start|>assistant\n"
        )
        for e in group:
            want = float(verify(parse(answers[question]), parse(e.actions[0])))
            assert e.rewards == [want]


def test_eval_runs_on_eval_path(hub_offline, tmp_path):
    from training.pipeline import setup

    held_out = [{"question": f"held-out {i}", "answer": str(i)} for i in range(5)]
    cfg = dataset_config(
        write_jsonl(tmp_path / "train.jsonl", ROWS),
        eval_path=str(write_jsonl(tmp_path / "test.jsonl", held_out)),
    )
    run = setup(cfg, tmp_path / "run")
    assert run.new_eval_env is not None
    train_env, eval_env = run.new_env(), run.new_eval_env()
    assert {train_env.reset(seed=s)[0] for s in range(40)} <= {r["question"] for r in ROWS}
    assert {eval_env.reset(seed=s)[0] for s in range(40)} == {r["question"] for r in held_out}
    no_eval = setup(dataset_config(tmp_path / "train.jsonl"), tmp_path / "run2")
    assert no_eval.new_eval_env is None


def test_custom_reward_needs_the_operators_permission(tmp_path, monkeypatch):
    (tmp_path / "my_rewards.py").write_text(
        "def length_is_answer(response, answer, row):\n    return float(len(response) == int(answer))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    data = write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "answer": "3"}])
    cfg = dataset_config(data, reward="custom", reward_fn="my_rewards:length_is_answer")
    monkeypatch.delenv("GRPOLAB_ALLOW_CUSTOM_REWARDS", raising=False)
    with pytest.raises(RewardConfigError, match="GRPOLAB_ALLOW_CUSTOM_REWARDS=1"):
        make_run_env(cfg.env)
    monkeypatch.setenv("GRPOLAB_ALLOW_CUSTOM_REWARDS", "1")
    env = make_run_env(cfg.env)
    env.reset(seed=0)
    assert (env.step("abc")[1], env.step("abcd")[1]) == (1.0, 0.0)
    bad = dataset_config(data, reward="custom", reward_fn="my_rewards:nothing_here")
    with pytest.raises(RewardConfigError, match="cannot import 'my_rewards:nothing_here'"):
        make_run_env(bad.env)
    sys.modules.pop("my_rewards", None)


def test_the_hub_dataset_lora_example_runs_with_a_cached_model(hub_offline, tmp_path, monkeypatch):
    """examples/hub-dataset-lora.yaml as shipped (dataset, reward, eval file, LoRA), with only the model, sizes
    and device swapped for the tiny cached chat model on CPU."""
    from pathlib import Path

    from training.config_io import load_file
    from training.lint import lint_loaded
    from training.pipeline import setup, train

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)  # the example's data paths are relative to the repository
    loaded = load_file(root / "examples" / "hub-dataset-lora.yaml")
    assert not lint_loaded(loaded).blocking
    raw = loaded.config.model_dump()
    assert raw["model"]["path"] == "Qwen/Qwen2.5-0.5B-Instruct" and raw["model"]["lora"]["r"] == 16
    raw["model"].update(path=TINY_CHAT_REPO, dtype="float32")
    raw["learner"]["precision"] = "auto"
    raw["resources"] = {"gpus": 0, "cpu_threads": 1}
    raw["rollout"].update(batch_size=8, max_new_tokens=4)
    raw["optim"]["micro_batch_size"] = 8
    raw["run"].update(steps=1, eval_episodes=0, checkpoint_every=0)
    cfg = RunConfig.model_validate(raw)
    summary = train(cfg, tmp_path / "run")
    assert summary["steps"] == 1
    assert (Path(summary["checkpoint"]) / "adapter_config.json").is_file()
    run = setup(cfg, tmp_path / "setup")
    assert run.new_eval_env is not None
    assert run.new_eval_env().task.source.endswith("arithmetic-test.jsonl")


def test_math_verify_on_generated_gold_answers():
    """Gold answers we did not write (reasoning-gym's, in examples/data: `7`, `$50/157$`, `$\\dfrac{242}{311}$`):
    a plain `p/q` or integer in `\\boxed{}` scores 1, the same off by one scores 0."""
    import re
    from pathlib import Path

    from training.envs.rewards import math_verify_reward

    data = Path(__file__).resolve().parents[2] / "examples" / "data"
    rows = [
        json.loads(x) for f in ("arithmetic-train.jsonl", "arithmetic-test.jsonl") for x in (data / f).open()
    ]
    assert len(rows) == 260
    sample = rows[::3]  # every third row (~1 s): integers, `$p/q$` and `$\\dfrac{p}{q}$` forms
    assert any("dfrac" in r["answer"] for r in sample) and any("$" not in r["answer"] for r in sample)
    for r in sample:
        nums = [int(x) for x in re.findall(r"-?\d+", r["answer"])]
        right, wrong = (
            (f"{nums[0]}/{nums[1]}", f"{nums[0] + 1}/{nums[1]}") if len(nums) == 2 else (nums[0], nums[0] + 1)
        )
        assert math_verify_reward(f"so \\boxed{{{right}}}", r["answer"]) == 1.0, r
        assert math_verify_reward(f"so \\boxed{{{wrong}}}", r["answer"]) == 0.0, r


def test_a_spreadsheet_csv_with_a_byte_order_mark_reads(tmp_path):
    (tmp_path / "excel.csv").write_bytes("\ufeffquestion,answer\nWhat is 2+2?,4\n".encode())
    env = make_run_env(dataset_config(tmp_path / "excel.csv").env)
    assert env.task.rows[0]["question"] == "What is 2+2?"


def test_dataset_settings_live_in_env_dataset_only():
    for text, message in [
        (
            "env:\n  id: grpolab:dataset\n  kwargs: {level: 2}\n  dataset: {path: d.jsonl}\n",
            "env.kwargs (level)",
        ),
        ("env:\n  id: grpolab:dataset\n", "needs `env.dataset`"),
        ("env:\n  id: rg:chain_sum\n  dataset: {path: d.jsonl}\n", "only read by env.id `grpolab:dataset`"),
        (
            "env:\n  id: grpolab:dataset\n  dataset: {path: d.jsonl, reward: exact, pattern: x}\n",
            "only used by",
        ),
    ]:
        with pytest.raises(ConfigError) as exc:
            load_text(text, "run.yaml")
        assert message in exc.value.errors[0].message, text

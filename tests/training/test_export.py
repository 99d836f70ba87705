"""`grpolab export`: a trained run (LoRA or full) becomes a plain folder that transformers loads with the trained
policy's logits; clear errors for what cannot be exported."""

from __future__ import annotations

import json

import pytest
import torch

from grpolab.cli import main
from tests.training.conftest import tiny_config
from training.config import RunConfig
from training.lora import apply_lora, load_adapter
from training.models import load_policy
from training.pipeline import train

IDS = [1, 5, 9, 4, 12, 7, 6, 14, 17]
TEXT = "12<5;?3>=9"


def lora_config(**run) -> RunConfig:
    return tiny_config(
        model={"lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}},
        optim={"lr": 5e-2},
        warm_start={"steps": 5, "lr": 5e-2, "batch_size": 32},
        run={"steps": 3, "checkpoint_every": 1, **run},
    )


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lora-run")
    train(lora_config(), out)
    return out


def trained_policy(run_dir, step: int):
    """The policy as the learner had it at `step`: base rebuilt, adapter loaded, adapters active (not merged)."""
    cfg = RunConfig.model_validate_json((run_dir / "config.json").read_text())
    policy = apply_lora(load_policy(cfg.model, seed=cfg.run.seed), cfg.model.lora, seed=cfg.run.seed)
    load_adapter(policy.model, run_dir / "checkpoints" / f"step-{step:06d}")
    return policy


def logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=torch.tensor([IDS])).logits[0]


def test_export_merges_lora_into_a_folder_transformers_loads(lora_run, tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "model"
    assert main(["export", str(lora_run), "--out", str(out)]) == 0
    assert "step 3" in capsys.readouterr().out
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in out.iterdir()}
    assert not (out / "adapter_config.json").exists()

    loaded = AutoModelForCausalLM.from_pretrained(out)  # plain transformers, no peft, no GRPO Lab code
    assert type(loaded).__name__ == "Qwen2ForCausalLM"
    policy = trained_policy(lora_run, 3)
    torch.testing.assert_close(logits(loaded), logits(policy.model), rtol=1e-5, atol=1e-5)
    with policy.model.disable_adapter():  # the adapters really changed the model, so the check above bites
        assert not torch.allclose(logits(loaded), logits(policy.model), atol=1e-3)
    tok = AutoTokenizer.from_pretrained(out)
    assert tok(TEXT).input_ids == policy.tokenizer(TEXT).input_ids


def test_export_of_an_earlier_checkpoint(lora_run, tmp_path):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "step2"
    assert main(["export", str(lora_run), "--checkpoint", "2", "--out", str(out)]) == 0
    loaded = AutoModelForCausalLM.from_pretrained(out)
    torch.testing.assert_close(
        logits(loaded), logits(trained_policy(lora_run, 2).model), rtol=1e-5, atol=1e-5
    )
    assert json.loads((out / "grpolab_export.json").read_text())["checkpoint"] == "step-000002"
    assert not torch.allclose(
        logits(loaded), logits(trained_policy(lora_run, 3).model), atol=1e-4
    )  # not step 3


def test_export_of_a_full_fine_tune(tmp_path):
    from transformers import AutoModelForCausalLM

    from training.models import load_folder

    run = tmp_path / "run"
    train(tiny_config(run={"steps": 2}), run)
    out = tmp_path / "model"
    assert main(["export", str(run), "--out", str(out)]) == 0
    loaded = AutoModelForCausalLM.from_pretrained(out)
    saved = AutoModelForCausalLM.from_pretrained(run / "checkpoints" / "step-000002")
    torch.testing.assert_close(logits(loaded), logits(saved), rtol=0, atol=0)
    assert load_folder(out).fmt == "plain"  # GRPO Lab trains the export further with the run's format


def test_clear_errors(lora_run, tmp_path, capsys):
    cases = [
        ([str(tmp_path / "missing")], "no such run folder"),
        ([str(tmp_path)], "holds no checkpoint"),
        ([str(lora_run), "--checkpoint", "9"], "has steps 2, 3"),
        (["0123456789abcdef0123456789abcdef", "--data-dir", str(tmp_path)], "--data-dir"),
    ]
    for argv, message in cases:
        assert main(["export", *argv, "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("keep me")
    assert main(["export", str(lora_run), "--out", str(busy)]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert (busy / "x").read_text() == "keep me"


def test_run_id_of_a_remote_server_points_at_the_api_export(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRPOLAB_URL", "http://grpolab.example:8000")
    monkeypatch.setenv("GRPOLAB_DATA_DIR", str(tmp_path))
    assert main(["export", "0123456789abcdef0123456789abcdef", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "/api/v1/runs/0123456789abcdef0123456789abcdef/export/archive" in err and "grpolab.example" in err
    assert not (tmp_path / "out").exists()


def test_run_id_is_found_in_the_data_dir(lora_run, tmp_path, monkeypatch):
    run_id = "0123456789abcdef0123456789abcdef"
    data = tmp_path / "data"
    (data / "runs").mkdir(parents=True)
    (data / "runs" / run_id).symlink_to(lora_run, target_is_directory=True)
    monkeypatch.setenv("GRPOLAB_DATA_DIR", str(data))
    assert main(["export", run_id, "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "model.safetensors").is_file()

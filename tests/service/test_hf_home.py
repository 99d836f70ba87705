"""Where hub models are cached: compose gives the workers HF_HOME on its own volume inside their data dir."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())


def test_workers_cache_hub_models_on_a_volume_in_their_data_dir() -> None:
    assert "hf" in COMPOSE["volumes"]
    for name in ("worker", "worker-cpu"):
        service = COMPOSE["services"][name]
        home = service["environment"]["HF_HOME"]
        data_dir = service["environment"]["GRPOLAB_DATA_DIR"]
        assert home == f"{data_dir}/hf"
        assert f"hf:{home}" in service["volumes"] and f"runs:{data_dir}" in service["volumes"]

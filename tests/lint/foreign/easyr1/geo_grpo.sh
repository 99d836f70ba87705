#!/bin/bash
set -x

MODEL=${MODEL:-Qwen/Qwen2.5-VL-7B-Instruct}

python3 -m verl.trainer.main \
    config=config.yaml \
    data.train_files=my-org/geo-mix@train \
    worker.actor.model.model_path=${MODEL} \
    trainer.experiment_name=geo_grpo_run2 \
    trainer.n_gpus_per_node=8

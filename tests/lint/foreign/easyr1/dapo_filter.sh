#!/bin/bash
set -x

python3 -m verl.trainer.main \
    config=config.yaml \
    data.max_response_length=8192 \
    data.rollout_batch_size=512 \
    data.mini_rollout_batch_size=256 \
    worker.actor.global_batch_size=128 \
    worker.actor.clip_ratio_low=0.2 \
    worker.actor.clip_ratio_high=0.28 \
    worker.rollout.n=16 \
    worker.rollout.val_override_config='{"n": 8, "temperature": 0}' \
    algorithm.disable_kl=True \
    algorithm.online_filtering=True \
    algorithm.filter_key=accuracy \
    trainer.experiment_name=geo_dapo

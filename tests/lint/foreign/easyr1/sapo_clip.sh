#!/bin/bash
set -x

python3 -m verl.trainer.main \
    config=config.yaml \
    worker.actor.loss_type=sapo \
    worker.actor.clip_ratio_high=0.28 \
    worker.actor.tau_negative=1.05 \
    algorithm.disable_kl=True \
    trainer.experiment_name=geo_sapo

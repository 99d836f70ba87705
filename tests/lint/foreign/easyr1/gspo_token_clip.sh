#!/bin/bash
set -x

python3 -m verl.trainer.main \
    config=config.yaml \
    worker.actor.loss_type=gspo \
    algorithm.disable_kl=True \
    trainer.experiment_name=geo_gspo

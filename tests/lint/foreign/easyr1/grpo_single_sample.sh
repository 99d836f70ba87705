#!/bin/bash
# quick smoke test: one sample per prompt to save time
python3 -m verl.trainer.main \
    config=config.yaml \
    worker.rollout.n=1 \
    data.rollout_batch_size=64 \
    worker.actor.global_batch_size=64 \
    trainer.max_steps=20

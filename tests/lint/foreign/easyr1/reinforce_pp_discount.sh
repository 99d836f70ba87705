#!/bin/bash
set -x

python3 -m verl.trainer.main \
    data.train_files=my-org/math-12k@train \
    data.val_files=my-org/math-12k@test \
    data.max_response_length=2048 \
    worker.actor.model.model_path=Qwen/Qwen2.5-7B-Instruct \
    worker.reward.reward_function=./rewards/math.py:compute_score \
    algorithm.adv_estimator=reinforce_plus_plus \
    algorithm.gamma=0.99 \
    algorithm.kl_coef=1.0e-3 \
    trainer.n_gpus_per_node=8

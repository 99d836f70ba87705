#!/bin/bash
# PPO with a critic (GAE) and advantage whitening: whiten_adv is read on this path, gamma is used.
python -m oat.experiment.run_math_rl \
    --pretrain Qwen/Qwen2.5-0.5B-Instruct \
    --critic_type ppo \
    --whiten_adv \
    --gamma 0.99 \
    --lam 0.95 \
    --num_samples 1 \
    --rollout_batch_size 64 \
    --rollout_batch_size_per_device 8

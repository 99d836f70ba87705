#!/bin/bash
# GEM's ReBN: per-turn discounted returns, whitened over the batch (norm_return on by default).
python examples/train_oat/train_oat_grpo.py \
    --env_id game:Sudoku-v0-easy \
    --critic_type2 none \
    --gamma 0.9 \
    --num_samples 1 \
    --rollout_batch_size 128 \
    --beta 0 \
    --pretrain Qwen/Qwen3-1.7B-Base

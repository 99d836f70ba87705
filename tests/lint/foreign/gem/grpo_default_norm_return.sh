#!/bin/bash
# GRPO on a multi-turn game; --norm_return is not given, so gem's default (true) applies.
python examples/train_oat/train_oat_grpo.py \
    --env_id game:GuessTheNumber-v0-hard \
    --critic_type2 grpo \
    --num_samples 8 \
    --rollout_batch_size 128 \
    --rollout_batch_size_per_device 16 \
    --pi_buffer_maxlen_per_device 16 \
    --beta 0 \
    --gamma 1.0 \
    --pretrain Qwen/Qwen3-1.7B-Base

#!/bin/bash
# Dr. GRPO (OAT's default critic) with 6 samples but 16 per device: groups are cut.
python -m oat.experiment.main \
    --pretrain Qwen/Qwen2.5-Math-7B \
    --num_samples 6 \
    --rollout_batch_size 96 \
    --rollout_batch_size_per_device 16 \
    --whiten_adv \
    --whiten_rewards \
    --beta 0

#!/bin/bash
# Dr. GRPO (OAT's default critic), 6 samples for each of 16 prompts per device (whole groups), two dead flags.
python -m oat.experiment.run_math_rl \
    --pretrain Qwen/Qwen2.5-Math-7B \
    --num_samples 6 \
    --rollout_batch_size 96 \
    --rollout_batch_size_per_device 16 \
    --whiten_adv \
    --whiten_rewards \
    --beta 0

#!/bin/bash
# OAT GRPO on MATH with 8 samples per prompt and no KL.
python -m oat.experiment.run_math_rl \
    --pretrain Qwen/Qwen2.5-Math-1.5B \
    --critic_type grpo \
    --num_samples 8 \
    --rollout_batch_size 128 \
    --rollout_batch_size_per_device 16 \
    --pi_buffer_maxlen_per_device 128 \
    --beta 0 \
    --temperature 1.0 \
    --generate_max_length 3000 \
    --learning_rate 1e-6 \
    --gpus 8

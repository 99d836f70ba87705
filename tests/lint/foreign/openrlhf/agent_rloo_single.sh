#!/bin/bash
# Multi-turn agent run: reward comes from the agent function, one sample per prompt.
python3 -m openrlhf.cli.train_ppo_ray \
  --pretrain Qwen/Qwen3-1.7B \
  --agent_func_path examples/agent/guess_number.py \
  --normalize_reward \
  --advantage_estimator rloo \
  --n_samples_per_prompt 1 \
  --gamma 0.99 \
  --init_kl_coef 0 \
  --rollout_batch_size 64

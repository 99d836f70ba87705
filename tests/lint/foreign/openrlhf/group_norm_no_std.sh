#!/bin/bash
# "Dr. GRPO" attempted with group_norm + --no_advantage_std_norm (flat flags, before 2026-04).
set -x
ray job submit --address="http://127.0.0.1:8265" \
   --runtime-env-json='{"working_dir": "/openrlhf"}' \
   -- python3 -m openrlhf.cli.train_ppo_ray \
   --ref_num_nodes 1 \
   --ref_num_gpus_per_node 8 \
   --actor_num_nodes 1 \
   --actor_num_gpus_per_node 8 \
   --vllm_num_engines 4 \
   --pretrain Qwen/Qwen2.5-7B-Instruct \
   --remote_rm_url http://localhost:5000/get_reward \
   --advantage_estimator group_norm \
   --no_advantage_std_norm \
   --n_samples_per_prompt 8 \
   --rollout_batch_size 128 \
   --train_batch_size 1024 \
   --micro_train_batch_size 4 \
   --init_kl_coef 1e-3 \
   --use_kl_loss \
   --kl_estimator k3 \
   --temperature 1.0 \
   --max_epochs 1 \
   --bf16

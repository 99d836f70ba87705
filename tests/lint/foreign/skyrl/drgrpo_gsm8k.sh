#!/bin/bash
# Dr. GRPO on GSM8K: no std division and a token sum over a fixed length.
set -x
DATA_DIR="$HOME/data/gsm8k"
uv run --isolated --extra vllm -m skyrl_train.entrypoints.main_base \
  data.train_data="['$DATA_DIR/train.parquet']" \
  data.val_data="['$DATA_DIR/validation.parquet']" \
  trainer.algorithm.advantage_estimator="grpo" \
  trainer.algorithm.grpo_norm_by_std=false \
  trainer.algorithm.loss_reduction="seq_mean_token_sum_norm" \
  trainer.algorithm.max_seq_len=1536 \
  trainer.algorithm.use_kl_loss=false \
  trainer.policy.model.path="Qwen/Qwen2.5-1.5B-Instruct" \
  trainer.train_batch_size=1024 \
  trainer.policy_mini_batch_size=256 \
  generator.n_samples_per_prompt=5 \
  generator.sampling_params.temperature=1.0 \
  trainer.epochs=20 \
  "$@"

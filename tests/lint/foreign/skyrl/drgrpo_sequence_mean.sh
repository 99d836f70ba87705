#!/bin/bash
# The std is dropped but the loss still averages each sequence's tokens.
uv run --isolated -m skyrl_train.entrypoints.main_base \
  trainer.algorithm.advantage_estimator=grpo \
  trainer.algorithm.grpo_norm_by_std=false \
  trainer.algorithm.loss_reduction=sequence_mean \
  generator.n_samples_per_prompt=8

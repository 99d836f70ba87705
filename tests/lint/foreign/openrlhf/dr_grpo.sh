# dr_grpo in OpenRLHF: group-mean advantages; the loss stays a token mean.
python -m openrlhf.cli.train_ppo_ray \
  --pretrain Qwen/Qwen2.5-Math-7B \
  --advantage_estimator dr_grpo \
  --n_samples_per_prompt 8 \
  --rollout_batch_size 128 \
  --init_kl_coef 0 \
  --eps_clip_low_high 0.2 0.28

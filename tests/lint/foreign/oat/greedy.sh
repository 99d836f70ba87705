python -m oat.experiment.run_math_rl --critic_type grpo --num_samples 4 --temperature 0 --beta 0 \
    --rollout_batch_size 64 --rollout_batch_size_per_device 8

# GRPO with the second normalization turned off and a per-sequence mean loss.
python train_oat_grpo.py \
    --env_id math:Math12K \
    --critic_type2 grpo \
    --critic_type grpo \
    --no-norm_return \
    --num_samples 8 \
    --beta 0

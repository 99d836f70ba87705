# Dr. GRPO advantages with OAT's per-sequence token mean loss: half of Dr. GRPO.
python train_oat_grpo.py \
    --env_id math:Math12K \
    --critic_type2 drgrpo \
    --critic_type grpo \
    --no-norm_return \
    --num_samples 8 \
    --beta 0

# Raw episode returns with no baseline at all.
python train_oat_grpo.py --env_id qa:HotpotQA --critic_type2 ep_level --no-norm_return --num_samples 4 --beta 0

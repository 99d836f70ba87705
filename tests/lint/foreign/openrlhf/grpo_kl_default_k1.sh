# GRPO with KL moved into the loss but the estimator left at its default (k1),
# and the clip pair written the wrong way round.
python3 -m openrlhf.cli.train_ppo_ray \
   --algo.advantage.estimator group_norm \
   --rollout.n_samples_per_prompt 16 \
   --algo.kl.init_coef 0.001 \
   --algo.kl.use_loss \
   --actor.eps_clip_low_high 0.28 0.2

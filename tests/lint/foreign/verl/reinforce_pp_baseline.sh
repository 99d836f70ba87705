#!/bin/bash
# REINFORCE++-baseline: group mean, then whitening over the batch; KL stays in the reward.
python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=reinforce_plus_plus_baseline \
    algorithm.use_kl_in_reward=True \
    algorithm.kl_penalty=kl \
    algorithm.kl_ctrl.kl_coef=0.001 \
    data.train_batch_size=256 \
    actor_rollout_ref.rollout.n=8 \
    actor_rollout_ref.actor.use_kl_loss=False \
    actor_rollout_ref.actor.ppo_mini_batch_size=64 \
    trainer.total_epochs=10 2>&1 | tee verl_rf_baseline.log

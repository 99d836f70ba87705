#!/bin/bash
# GRPO copied from a PPO script: rollout.n was never raised above its default (1),
# and the KL coefficient is set while the KL loss is off.
python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=grpo \
    data.train_batch_size=512 \
    actor_rollout_ref.actor.kl_loss_coef=0.01 \
    actor_rollout_ref.rollout.temperature=0.8 \
    trainer.total_epochs=5

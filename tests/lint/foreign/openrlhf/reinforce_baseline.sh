#!/bin/bash
# REINFORCE++-baseline with the dotted flags (OpenRLHF after 2026-04-19).
SAMPLES=8
python3 -m openrlhf.cli.train_ppo_ray \
   --actor.num_nodes 1 \
   --actor.num_gpus_per_node 8 \
   --pretrain meta-llama/Llama-3.1-8B-Instruct \
   --reward.remote_url http://rm-host:5000/get_reward \
   --algo.advantage.estimator reinforce_baseline \
   --rollout.n_samples_per_prompt ${SAMPLES} \
   --rollout.batch_size 256 \
   --train.batch_size 512 \
   --algo.kl.init_coef 0.01 \
   --algo.kl.estimator k2 \
   --actor.eps_clip 0.2 \
   > train.log 2>&1

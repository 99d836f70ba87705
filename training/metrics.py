"""Every metric name the trainer writes (metrics.jsonl, the worker's metric points, summary.json), in one place.

The pipeline, the learners, the worker and `grpolab ablate` import these constants instead of spelling the
strings. Per-step metrics are namespaced `<area>/<name>`; the learner's four un-namespaced names are kept as
they were so stored runs and the UI's charts keep reading them. Pure Python: safe to import anywhere.
"""

from __future__ import annotations

# -- rollout (over all episodes of the step, every rank's share included) --------------------------------------
REWARD_MEAN = "rollout/reward_mean"
SUCCESS_RATE = "rollout/success_rate"
EPISODE_LEN = "rollout/episode_len"
INVALID_RATE = "rollout/invalid_rate"

# -- advantages (over the transitions the learner sees) ----------------------------------------------------------
ADV_MEAN = "adv/mean"
ADV_STD = "adv/std"
ADV_ZERO_FRAC = "adv/zero_frac"
BATCH_TRANSITIONS = "batch/transitions"
#: diagnostics of double normalization: transitions of groups with no signal, and their advantages
FLAT_FRAC = "diag/flat_frac"
FLAT_NONZERO_FRAC = "diag/flat_nonzero_frac"
FLAT_ADV_MEAN = "diag/flat_adv_mean"
LEN_ADV_CORR = "diag/len_adv_corr"

# -- learner -----------------------------------------------------------------------------------------------------
LOSS_PG = "loss/pg"
LOSS_KL = "loss/kl"
ENTROPY = "entropy"
CLIP_FRAC = "clip_frac"
GRAD_NORM = "grad_norm"
LR = "lr"

# -- time --------------------------------------------------------------------------------------------------------
ROLLOUT_S = "time/rollout_s"
LEARN_S = "time/learn_s"
TOKENS_PER_S = "throughput/tokens_per_s"
#: prefixes of the metrics that depend on the machine, not on the seed (left out when comparing runs)
TIMING_PREFIXES = ("time/", "throughput/")

# -- evaluation --------------------------------------------------------------------------------------------------
EVAL_SUCCESS_RATE = "eval/success_rate"
EVAL_REWARD_MEAN = "eval/reward_mean"
EVAL_SUCCESS_RATE_START = "eval/success_rate_start"
EVAL_EPISODES = "eval/episodes"
EVAL_SECONDS = "eval/seconds"

# -- warm start ----------------------------------------------------------------------------------------------------
WARM_START_LOSS = "warm_start/loss"
WARM_START_STEPS = "warm_start/steps"
WARM_START_SECONDS = "warm_start/seconds"
WARM_START_ACCURACY = "warm_start/accuracy"  # greedy, on training problems (stop_at_accuracy)

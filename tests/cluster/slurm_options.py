"""Long option names of Slurm's `sbatch` and `srun`, to check the options our batch script uses.

Source: the option headings (`.TP` entries) of doc/man/man1/sbatch.1 and doc/man/man1/srun.1 in SchedMD/slurm at
tag slurm-26-05-3-1 (Slurm 26.05.3), the names only. Every option the script uses is also in those pages at
slurm-20-11-9-1 (Slurm 20.11, the first release with `srun --overlap`).
"""

_SBATCH = """
    account acctg-freq array batch bb bbf begin chdir cluster-constraint clusters comment
    consolidate-segments constraint container contiguous core-spec cores-per-socket cpu-freq cpus-per-gpu
    cpus-per-task deadline delay-boot dependency distribution error exclude exclusive export export-file
    extra extra-node-info get-user-env gid gpu-bind gpu-freq gpus gpus-per-node gpus-per-socket
    gpus-per-task gres gres-flags help hint hold ignore-pbs input job-name kill-on-invalid-dep licenses
    mail-type mail-user mcs-label mem mem-bind mem-per-cpu mem-per-gpu mem-update mincpus network nice
    no-kill no-requeue nodefile nodelist nodes ntasks ntasks-per-core ntasks-per-gpu ntasks-per-node
    ntasks-per-socket oom-kill-step open-mode output overcommit oversubscribe parsable partition prefer
    priority profile propagate qos quiet reboot requeue reservation resources resv-ports segment signal
    sockets-per-node spread-job spread-segments stepmgr switches test-only thread-spec threads-per-core
    time time-min tmp tres-bind tres-per-task uid usage use-min-nodes verbose version wait wait-all-nodes
    wckey wrap
"""

_SRUN = """
    account acctg-freq async bb bbf bcast bcast-exclude begin chdir cluster-constraint clusters comment
    compress consolidate-segments constraint container contiguous core-spec cores-per-socket cpu-bind
    cpu-freq cpus-per-gpu cpus-per-task deadline delay-boot dependency disable-status distribution epilog
    error exact exclude exclusive export external-launcher extra extra-node-info gpu-bind gpu-freq gpus
    gpus-per-node gpus-per-socket gpus-per-task gres gres-flags help het-group hint hold ignore-signals
    immediate input job-name jobid kill-on-bad-exit label licenses mail-type mail-user mcs-label mem
    mem-bind mem-per-cpu mem-per-gpu mem-update mincpus mpi msg-timeout multi-prog network nice
    no-allocate no-kill nodefile nodelist nodes ntasks ntasks-per-core ntasks-per-gpu ntasks-per-node
    ntasks-per-socket oom-kill-step open-mode output overcommit overlap oversubscribe parsable partition
    prefer preserve-env priority profile prolog propagate pty qos quiet quit-on-interrupt reboot relative
    reservation resources resv-ports segment send-libs signal slurmd-debug sockets-per-node spread-job
    spread-segments stepmgr switches task-epilog task-prolog test-only thread-spec threads
    threads-per-core time time-min tmp treewidth tres-bind tres-per-task unbuffered usage use-min-nodes
    verbose version wait wait-for-children wckey x11
"""

SBATCH_OPTIONS = frozenset(_SBATCH.split())
SRUN_OPTIONS = frozenset(_SRUN.split())

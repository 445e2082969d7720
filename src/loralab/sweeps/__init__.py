"""Sweeps: failed jobs recorded, job folders numbered in order, and one summary table and plot per
sweep folder."""

from loralab.sweeps.job_folders import register_job_folder_resolver

# Here, not in train.py: a job process (joblib, submitit) may import loralab.sweeps without train.py.
register_job_folder_resolver()

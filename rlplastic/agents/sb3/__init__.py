"""stable-baselines3's own algorithms behind our Learner seam (``--agent sb3_ppo``, ``sb3_dqn``): SB3 collects and
trains unmodified, our runner drives phases, records, checkpoints and interventions (``learner.py``); SB3's
policies are seen through our ``Network`` protocol (``networks.py``) and our envs through SB3's ``VecEnv``
(``vecenv.py``)."""

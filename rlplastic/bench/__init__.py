"""The harness: CLI, planning, executors, run store, recorder and leaderboard."""

"""Training runs (the torch side): CLI, planning, executors, the runner, the run store and its records."""

"""Run infrastructure shared by every stage: result files, environment, processes, progress, CLI errors."""

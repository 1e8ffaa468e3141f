"""Claims, stage sets, stage and ETA history."""

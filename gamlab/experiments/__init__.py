"""The run layer (presets, preparing a run, the run folder) and the experiments built on it:
compare, sweep, recall, reproduce, bench (lessons 00, 05, 07). Nothing here reads a command line."""

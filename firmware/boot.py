# Runs first on every start, then main.py. Kept to nothing that can fail:
# an exception here would cost the board its REPL as well.
import gc

gc.collect()

# The firmware release running on this board; reported in every status frame.
VERSION = "0.1.0"

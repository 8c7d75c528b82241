"""bench.census reads the GC block table as the unix port prints it."""
from bench.census import objects

LOG = """CENSUS0
GC memory layout; from 7f00:
00000000: h=hhLhhSh===h===..hhB..D=.
       (3 lines all free)
ENDCENSUS0
"""


def test_objects_are_counted_by_kind_and_size():
    got = objects(LOG, "CENSUS0")
    assert got[("h", 2)] == 1 and got[("h", 4)] == 2 and got[("h", 1)] == 6
    assert got[("L", 1)] == 1 and got[("B", 1)] == 1 and got[("D", 2)] == 1
    assert got[("S", 1)] == 1
    assert sum(got.values()) == 13

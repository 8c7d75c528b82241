# Modules the firmware is done with. On MicroPython every function and class
# a module defines holds heap from its import on (its function object and
# its code's record, even when the bytecode runs in place from ROMFS), and
# sys.modules keeps the module alive: under deep sleep a boot reads its config
# and each chip once, so those modules can go before the frames are built and
# sent, the wake's peak.


def forget(name):
    # Let the module called name ("sensors.ld2410") go, with its functions and
    # classes. The caller drops its own references to the module first; a
    # later import loads it again.
    import sys
    if sys.modules.pop(name, None) is None:
        return
    pkg, _, leaf = name.rpartition(".")
    parent = sys.modules.get(pkg)
    if parent is not None:
        try:
            delattr(parent, leaf)   # the import set it on its package too
        except AttributeError:
            pass

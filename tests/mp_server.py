# Runs on the MicroPython unix port: reads one request per line from stdin,
# calls module.function(*args, **kwargs) and writes one reply line.
# Request: (module, function, args, kwargs) in the literal format.
# Reply:   MARK + ('ok', result) or ('err', exception class name, message).
import sys
from tests import literal

_modules = {}


def _module(name):
    mod = _modules.get(name)
    if mod is None:
        mod = __import__(name)
        for part in name.split(".")[1:]:
            mod = getattr(mod, part)
        _modules[name] = mod
    return mod


def _serve():
    ns = literal.namespace()
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        try:
            module, func, args, kwargs = eval(line, ns)
            result = getattr(_module(module), func)(*args, **kwargs)
            reply = "('ok'," + literal.dump(result) + ")"
        except Exception as e:
            reply = "('err'," + repr(type(e).__name__) + "," + repr(str(e)) + ")"
        # Code under test may print (firmware logs, finaliser tracebacks): the
        # marker tells replies from anything else on stdout.
        sys.stdout.write(MARK + reply + "\n")


MARK = "\x1e@reply "
sys.stdout.write(MARK + "ready\n")
_serve()

# Host helper run by the unix port: read and write files in a flash image
# without a running board.  micropython lfstool.py IMAGE BLOCKS CMD ARGS...
#   put HOSTPATH BOARDPATH | get BOARDPATH HOSTPATH | ls BOARDPATH | rm BOARDPATH
#   tree HOSTDIR BOARDDIR (copy a directory recursively) | mkfs
#   rmtree BOARDPATH (a file or a directory and all in it; nothing if absent)
import sys
import os
import vflash

image, blocks, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
if cmd == "mkfs":
    import vfs
    vfs.VfsLfs2.mkfs(vflash.FlashBdev(image, blocks))
    sys.exit(0)
vflash.mount(image, blocks, "/flash")


def board(p):
    return "/flash" + (p if p.startswith("/") else "/" + p)


def mkdirs(p):
    part = ""
    for name in p.split("/")[2:-1]:
        part += "/" + name
        try:
            os.mkdir("/flash" + part)
        except OSError:
            pass


def copy(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    mkdirs(dst)
    with open(dst, "wb") as f:
        f.write(data)


def tree(src, dst):
    for name, kind, *_ in os.ilistdir(src):
        s = src + "/" + name
        d = dst + "/" + name
        if kind == 0x4000:
            tree(s, d)
        else:
            copy(s, d)


if cmd == "put":
    copy(args[0], board(args[1]))
elif cmd == "get":
    with open(board(args[0]), "rb") as f:
        data = f.read()
    with open(args[1], "wb") as f:
        f.write(data)
elif cmd == "tree":
    tree(args[0], board(args[1]).rstrip("/"))
elif cmd == "ls":
    for name, kind, *rest in os.ilistdir(board(args[0]) if args else "/flash"):
        print("%s %s %d" % ("d" if kind == 0x4000 else "f", name, rest[1] if len(rest) > 1 else 0))
elif cmd == "rm":
    os.remove(board(args[0]))
elif cmd == "rmtree":
    def rmtree(p):
        try:
            st = os.stat(p)
        except OSError:
            return
        if st[0] & 0x4000:
            for name, *_ in list(os.ilistdir(p)):
                rmtree(p + "/" + name)
            os.rmdir(p)
        else:
            os.remove(p)
    rmtree(board(args[0]).rstrip("/"))
else:
    print("unknown command", cmd)
    sys.exit(2)

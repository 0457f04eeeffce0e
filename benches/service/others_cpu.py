"""CPU time (in clock ticks) used so far by every process outside the subtree of PID argv[1]:
own time plus the time of its exited children. run.sh takes it before and after a row to see
whether other work (another build, a test run) shared the machine during the measurement."""
import os
import sys

root = int(sys.argv[1])
procs = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        with open(f"/proc/{d}/stat") as f:
            s = f.read()
    except OSError:
        continue
    fields = s[s.rindex(")") + 2:].split()
    # fields[1] is the ppid; utime, stime, cutime, cstime are fields[11:15].
    procs[int(d)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))

ours = {root}
changed = True
while changed:
    changed = False
    for pid, (ppid, _) in procs.items():
        if ppid in ours and pid not in ours:
            ours.add(pid)
            changed = True
# Our own subtree's exited children are counted in our ancestors' cutime: leave out our
# ancestors too (the shell and terminal that started run.sh), by their own time only.
anc = set()
p = root
while p in procs and p not in anc and p != 0:
    anc.add(p)
    p = procs[p][0]
print(sum(t for pid, (_, t) in procs.items() if pid not in ours and pid not in anc))

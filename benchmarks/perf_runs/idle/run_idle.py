import sys, os, time, json
from autoscope.bench import idle
t=time.time(); l0=os.getloadavg()
rows = idle.idle_table((0.05, 0.3, 1.0), modes=["plain","overlap","overlap_fast"], seeds=(0, 1, 2), log=sys.stdout)
md = idle.idle_markdown(rows, 64, 30)
print("\n".join(md) if isinstance(md, list) else md)
json.dump(rows, open(sys.argv[1], "w"), indent=1, default=float)
print("took", time.time()-t, "load start", l0, "end", os.getloadavg())

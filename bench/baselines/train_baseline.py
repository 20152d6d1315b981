"""PyTorch CPU baseline for bench/train.bench.ts: one Adam step (forward, loss, backward, update) of the
same MLP heads on the same inputs. Argument: JSON {"cases": [...], "steps": k, "reps": r}, or {"file": path} of a
file holding that JSON (the inputs are too large for one command-line argument); prints JSON
{"torch": version, "threads": n, "ms_per_step": [...]} (median over reps of k consecutive steps)."""
import json
import sys
import time

import torch

arg = json.loads(sys.argv[1])
if "file" in arg:
    with open(arg["file"]) as f:
        arg = json.load(f)
torch.manual_seed(0)
out = []
for case in arg["cases"]:
    sizes, dropout, kind, batch = case["sizes"], case["dropout"], case["loss"], case["batch"]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers += [torch.nn.ReLU(), torch.nn.Dropout(dropout)]
    model = torch.nn.Sequential(*layers)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.tensor(case["x"], dtype=torch.float32).reshape(-1, sizes[0])
    if kind == "bradley-terry":
        xr = torch.tensor(case["x_rejected"], dtype=torch.float32).reshape(-1, sizes[0])
        both = torch.cat([x, xr])

        def step():
            opt.zero_grad()
            r = model(both)[:, 0]
            loss = -torch.nn.functional.logsigmoid(r[:batch] - r[batch:]).mean()
            loss.backward()
            opt.step()

    else:
        y = torch.tensor(case["labels"], dtype=torch.long)

        def step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

    for _ in range(5):
        step()
    times = []
    for _ in range(arg["reps"]):
        t = time.perf_counter()
        for _ in range(arg["steps"]):
            step()
        times.append((time.perf_counter() - t) * 1000 / arg["steps"])
    times.sort()
    out.append(times[len(times) // 2])
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "ms_per_step": out}))

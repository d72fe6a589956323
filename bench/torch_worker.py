"""A PyTorch training loop for the two-VM priority benchmark (bench/gpu_remote_torch_priority.sh).

usage: torch_worker.py high|low SECONDS
  high  a small CNN (batch 64), each step timed to its end (synchronized): prints JSON with the
        step time's p50 and p99 in ms and the steps done per second
  low   a larger CNN (batch 512) back to back, synchronizing every 10 steps: prints the steps
        done per second (its delivered work)
The high-priority stream (torch.cuda.Stream(priority=-1)) is used by `high` when HIGH_STREAM=1.
"""
import json
import os
import sys
import time

import torch  # as it comes: its linear layers ask cuBLASLt first


def model(width):
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, width, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(width, 2 * width, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(2 * width * 7 * 7, 10)).cuda()


def main():
    role, seconds = sys.argv[1], float(sys.argv[2])
    torch.manual_seed(0)
    width, batch = (16, 64) if role == "high" else (64, 512)
    net = model(width)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    data = torch.randn(batch, 1, 28, 28, device="cuda")
    labels = torch.randint(0, 10, (batch,), device="cuda")
    stream = torch.cuda.Stream(priority=-1) if os.environ.get("HIGH_STREAM") == "1" else None

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(data), labels).backward()
        opt.step()

    for _ in range(5):  # warm-up: cuDNN's choices, the allocator
        step()
    torch.cuda.synchronize()
    times, steps, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        if stream is not None:
            with torch.cuda.stream(stream):
                step()
            stream.synchronize()
        else:
            step()
            if role == "high" or steps % 10 == 9:
                torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        steps += 1
        if role == "high":
            time.sleep(0.002)  # a latency-sensitive VM: a step, then a pause
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    times.sort()
    print(json.dumps({"role": role, "steps_per_s": steps / elapsed,
                      "p50_ms": 1e3 * times[len(times) // 2],
                      "p99_ms": 1e3 * times[min(len(times) - 1, int(len(times) * 0.99))]}))


main()

"""PyTorch on the guest's driver (issue 20): each step prints one line whose text depends only on
the results, so the native and the remote runs can be compared with diff. Inputs are small
integers (exact in fp32) and cuDNN is held to deterministic algorithms. The step times go to
stderr (they differ run to run)."""
import sys
import time

# PyTorch as it comes: its linear layers ask cuBLASLt first, which through the guest's driver
# finds no algorithm and hands the product to cuBLAS (docs/remote-cuda.md).
import torch


def step(name, fn):
    try:
        print(f"{name}: {fn()}", flush=True)
    except Exception as e:  # the probe reports every failure and goes on
        print(f"{name}: FAILED {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True)


def to_and_from():
    x = torch.arange(1 << 20, dtype=torch.float32)
    return float(x.cuda().mul(3).cpu().sum())


def matmul():
    a = (torch.arange(512 * 512) % 7 - 3).float().reshape(512, 512).cuda()
    b = (torch.arange(512 * 512) % 5 - 2).float().reshape(512, 512).cuda()
    return float((a @ b).double().sum())


def matmul_bf16():
    a = (torch.arange(256 * 256) % 7 - 3).to(torch.bfloat16).reshape(256, 256).cuda()
    b = (torch.arange(256 * 256) % 5 - 2).to(torch.bfloat16).reshape(256, 256).cuda()
    return float((a @ b).float().sum())


def events():
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    x = torch.ones(1 << 22, device="cuda")
    start.record()
    y = x * 2
    end.record()
    torch.cuda.synchronize()
    return f"elapsed>0 {start.elapsed_time(end) > 0}, sum {float(y.sum())}"


def out_of_memory():
    try:
        torch.empty(1 << 50, dtype=torch.uint8, device="cuda")
        return "no error"
    except torch.cuda.OutOfMemoryError:
        return "OutOfMemoryError"


def conv():
    torch.manual_seed(0)
    x = (torch.arange(8 * 3 * 32 * 32) % 5 - 2).float().reshape(8, 3, 32, 32).cuda()
    x.requires_grad_(True)
    w = (torch.arange(16 * 3 * 3 * 3) % 3 - 1).float().reshape(16, 3, 3, 3).cuda()
    w.requires_grad_(True)
    y = torch.nn.functional.conv2d(x, w, padding=1)
    y.sum().backward()
    # Two decimals: cuDNN may pick another algorithm through the guest's driver (natively dw sums
    # to -128.0017 here, remotely to the exact -128.0); docs/remote-cuda.md.
    sums = (y.double().sum(), x.grad.double().sum(), w.grad.double().sum())
    return "y {:.2f} dx {:.2f} dw {:.2f}".format(*map(float, sums))


def training(steps=8, batch=64):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10)).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    g = torch.Generator().manual_seed(1)
    data = torch.randn(batch, 1, 28, 28, generator=g).cuda()
    labels = torch.randint(0, 10, (batch,), generator=g).cuda()
    losses, times = [], []
    for step_number in range(steps):
        print(f"training step {step_number}", file=sys.stderr, flush=True)  # a mark in traces
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(data), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    later = sorted(times[2:])
    print(f"step time median {later[len(later) // 2] * 1e3:.3f} ms", file=sys.stderr)
    return " ".join(f"{l:.5f}" for l in losses)


torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
print(f"cuda available: {torch.cuda.is_available()}", flush=True)
if torch.cuda.is_available():
    step("device", lambda: torch.cuda.get_device_name(0))
    step("to and from", to_and_from)
    step("matmul fp32", matmul)
    step("matmul bf16", matmul_bf16)
    step("events", events)
    step("out of memory", out_of_memory)
    step("conv2d forward+backward", conv)
    step("training losses", training)
    step("synchronize", lambda: torch.cuda.synchronize() or "done")

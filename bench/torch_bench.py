#!/usr/bin/python3
"""Time a torchvision VGG forward in PyTorch: the baseline for bench/run.

  /usr/bin/python3 bench/torch_bench.py vgg11 --batch 1 --threads 2 --repeat 7

Eval mode, no_grad, random weights (speed does not depend on them), one warm-up, then the median of
--repeat timed forwards. Prints one JSON object on stdout (every time and their median); peak RSS is
ru_maxrss of this process.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torchvision


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="torchvision model name, e.g. vgg11")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--shape", default="3x224x224", help="CxHxW")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=7)
    return p.parse_args(argv)


def time_forward(model, x, repeat):
    """Wall times of `repeat` forwards, in ms, after one warm-up."""
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1e3)
    return times


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = [int(d) for d in args.shape.split("x")]
    model = getattr(torchvision.models, args.model)(weights=None).eval()
    x = torch.randn(args.batch, *shape)
    times = time_forward(model, x, args.repeat)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"model": args.model, "batch": args.batch, "threads": torch.get_num_threads(),
                      "repeat": args.repeat, "times_ms": [round(t, 4) for t in times],
                      "median_ms": round(statistics.median(times), 3), "peak_rss_kb": rss_kb,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])

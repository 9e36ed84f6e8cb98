"""Time forward+backward of the issue's small CNN: nerve (NHWC) against plain torch NCHW and channels_last.

Model (batch 128): Input 28x28x1 -> Conv2D(32, 3, relu) -> MaxPooling2D -> Conv2D(64, 3, relu)
-> MaxPooling2D -> Flatten -> Dropout(0.5) -> Dense(10, softmax); 34,826 parameters.
Every variant has the same weights (checked: equal predictions) and runs the same step in
training mode: forward, `nll(log(probs))`, backward, gradients set to None.

Variants:
    nerve            nerve.Sequential; kernels stored in Keras layout (kh, kw, in, out), conv2d gets
                     a permuted view; NHWC input viewed as channels_last NCHW (no copies).
    nerve-torch-kern the same model with kernels stored in torch layout (out, in, kh, kw): measures
                     what the Keras-layout view costs (torch makes it contiguous each call).
    torch-nchw       a plain torch.nn.Sequential on contiguous NCHW input.
    torch-cl         the same module and input converted to torch.channels_last.

Run: python benchmarks/conv_layout.py [--steps 5] [--repeats 20] [--batch 128] [--threads N]
         [--clock wall|cpu] [--device cpu|cuda] [--profile]

Results. Machine: the shared development container, 2 CPU cores (load average 2-5 from other jobs
while measuring, so wall-clock medians swing by 2-5x; CPU time on 1 thread is the steady number),
no GPU, torch 2.13.0+cpu. 40 interleaved repeats of 5 steps, ms/step.

    $ .venv/bin/python benchmarks/conv_layout.py --repeats 40 --threads 1 --clock cpu
    device=cpu threads=1 batch=128 clock=cpu torch=2.13.0+cpu
    variant            ms/step (best)  ms/step (median)
    nerve                       34.51             42.29
    nerve-torch-kern            35.42             42.66
    torch-nchw                  27.12             41.75
    torch-cl                    33.83             42.54
    copying both Keras-layout kernels to torch layout: 28.8 us/step
    conv keras-layout            9.77             14.58
    conv torch-layout            9.14             13.90

    $ .venv/bin/python benchmarks/conv_layout.py --repeats 40        (load average ~2.5)
    device=cpu threads=2 batch=128 clock=wall torch=2.13.0+cpu
    variant            ms/step (best)  ms/step (median)
    nerve                       26.10             34.40
    nerve-torch-kern            19.01             33.77
    torch-nchw                  23.87             35.69
    torch-cl                    25.77             36.33
    copying both Keras-layout kernels to torch layout: 16.9 us/step

Reading: nerve's NHWC model costs the same as plain torch (NCHW or channels_last) within the
noise of this machine. The Keras-layout kernel costs one small copy per conv call (the
profile shows ~10 copy_ calls per step, ~0.1 ms in all); both kernels together copy in
16-29 us, under 0.1% of a 35-45 ms step. The two convolutions alone ("conv ..." rows) differ by
under 5% in either direction from run to run (here torch layout ahead, in another run of the same
comparison Keras layout ahead: 11.98 vs 12.14 ms), i.e. noise. Storing kernels in torch layout is
not worth a change to Variables or saving (the 5% threshold is far away). On CUDA with channels_last activations
cuDNN wants a channels_last weight `(out, kh, kw, in)`, which neither the Keras layout nor
torch's default layout is, so both copy there alike. Not yet measured on a GPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nerve  # noqa: E402
from nerve.layers.conv import Conv2D  # noqa: E402
from nerve.layers.pooling import MaxPooling2D  # noqa: E402


class TorchLayoutConv2D(Conv2D):
    """Conv2D whose kernel is stored as torch's (out, in, kh, kw): only for this measurement."""

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        kernel = self.kernel.value.detach().permute(3, 2, 0, 1).contiguous()
        self._torch_weight = torch.nn.Parameter(kernel)

    def _torch_kernel(self) -> torch.Tensor:
        return self._torch_weight


def nerve_model(conv: type[Conv2D]) -> nerve.Model:
    layers = nerve.layers
    return nerve.Sequential([
        nerve.Input(shape=(28, 28, 1)),
        conv(32, kernel_size=(3, 3), activation="relu"),
        MaxPooling2D(pool_size=(2, 2)),
        conv(64, kernel_size=(3, 3), activation="relu"),
        MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def torch_model() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(1600, 10), torch.nn.Softmax(dim=1),
    )


def copy_weights(source: nerve.Model, target: torch.nn.Module) -> None:
    """Keras-layout weights into the torch module (Dense rows reordered from HWC to CHW flattening)."""
    conv1, conv2, dense = (layer for layer in source.layers if layer.weights)
    with torch.no_grad():
        for mod, layer in ((target[0], conv1), (target[3], conv2)):
            mod.weight.copy_(layer.kernel.value.permute(3, 2, 0, 1))
            mod.bias.copy_(layer.bias.value)
        kernel = dense.kernel.value.reshape(5, 5, 64, 10).permute(2, 0, 1, 3).reshape(1600, 10)
        target[8].weight.copy_(kernel.t())
        target[8].bias.copy_(dense.bias.value)


def make_step(forward: Callable[[torch.Tensor], torch.Tensor], params: list[torch.Tensor],
              x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        probs = forward(x)
        loss = F.nll_loss(torch.log(probs), y)
        loss.backward()
        for p in params:
            p.grad = None
    return step


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_variants(variants: dict[str, Callable[[], None]], steps: int, repeats: int,
                  device: torch.device, clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """ms/step of each variant, `repeats` times; variants take turns so load drift hits all alike."""
    for step in variants.values():
        for _ in range(3):
            step()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, step in variants.items():
            start = clock()
            for _ in range(steps):
                step()
            sync(device)
            times[name].append((clock() - start) / steps * 1000)
    return times


def conv_only_variants(x_nhwc: torch.Tensor, kernels: list[torch.Tensor]) -> dict[str, Callable[[], None]]:
    """Both convolutions alone (forward + backward, the model's activation shapes), kernel as a
    Keras-layout view vs a contiguous torch-layout Parameter: isolates the weight-layout cost."""
    gen = torch.Generator().manual_seed(1)
    second = torch.rand(x_nhwc.shape[0], 13, 13, 32, generator=gen).to(x_nhwc.device)
    inputs = [x_nhwc.permute(0, 3, 1, 2), second.permute(0, 3, 1, 2)]
    keras_kernels = [torch.nn.Parameter(k.detach().clone()) for k in kernels]
    torch_kernels = [torch.nn.Parameter(k.detach().permute(3, 2, 0, 1).contiguous()) for k in kernels]

    def run(weights: list[torch.Tensor], params: list[torch.Tensor]) -> Callable[[], None]:
        def step() -> None:
            for x, w in zip(inputs, weights()):
                F.conv2d(x, w).sum().backward()
            for p in params:
                p.grad = None
        return step

    return {
        "conv keras-layout": run(lambda: [k.permute(3, 2, 0, 1) for k in keras_kernels], keras_kernels),
        "conv torch-layout": run(lambda: torch_kernels, torch_kernels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu = process CPU time: steadier than wall time on a shared CPU machine")
    parser.add_argument("--profile", action="store_true", help="list the copy ops of one nerve step")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    nerve.backend.set_device(device)
    nerve.utils.set_random_seed(0)

    ours = nerve_model(Conv2D)
    ours_torch_kernel = nerve_model(TorchLayoutConv2D)
    ours_torch_kernel.set_weights(ours.get_weights())
    for layer in ours_torch_kernel.layers:
        if isinstance(layer, TorchLayoutConv2D):
            layer._torch_weight.data.copy_(layer.kernel.value.detach().permute(3, 2, 0, 1))
            layer.kernel.value.requires_grad_(False)  # only the torch-layout copy trains here
    reference = torch_model().to(device)
    copy_weights(ours, reference)
    reference_cl = torch_model().to(device).to(memory_format=torch.channels_last)
    reference_cl.load_state_dict(reference.state_dict())

    gen = torch.Generator().manual_seed(0)
    x_nhwc = torch.rand(args.batch, 28, 28, 1, generator=gen).to(device)
    x_nchw = x_nhwc.permute(0, 3, 1, 2).contiguous()
    x_cl = x_nchw.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch,), generator=gen).to(device)

    with torch.no_grad():  # same weights, same function (dropout off)
        expected = ours(x_nhwc, training=False)
        for out in (ours_torch_kernel(x_nhwc, training=False), reference.eval()(x_nchw), reference_cl.eval()(x_cl)):
            torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    reference.train()
    reference_cl.train()

    def trainable(module: torch.nn.Module) -> list[torch.Tensor]:
        return [p for p in module.parameters() if p.requires_grad]

    variants = {
        "nerve": make_step(lambda t: ours(t, training=True), trainable(ours), x_nhwc, y),
        "nerve-torch-kern": make_step(lambda t: ours_torch_kernel(t, training=True),
                                      trainable(ours_torch_kernel), x_nhwc, y),
        "torch-nchw": make_step(reference, trainable(reference), x_nchw, y),
        "torch-cl": make_step(reference_cl, trainable(reference_cl), x_cl, y),
    }
    print(f"device={device} threads={torch.get_num_threads()} batch={args.batch} clock={args.clock} "
          f"torch={torch.__version__}")
    print(f"{'variant':<18} {'ms/step (best)':>14} {'ms/step (median)':>17}")
    times = time_variants(variants, args.steps, args.repeats, device, clock)
    for name, values in times.items():
        print(f"{name:<18} {min(values):>14.2f} {statistics.median(values):>17.2f}")

    kernels = [layer.kernel.value for layer in ours.layers if isinstance(layer, Conv2D)]
    copy_ms = time_variants({"copy": lambda: [k.permute(3, 2, 0, 1).contiguous() for k in kernels]},
                            1000, 3, device, clock)["copy"]
    print(f"copying both Keras-layout kernels to torch layout: {min(copy_ms) * 1000:.1f} us/step")
    convs = conv_only_variants(x_nhwc, kernels)
    times = time_variants(convs, args.steps, args.repeats * 2, device, clock)
    for name, values in times.items():
        print(f"{name:<18} {min(values):>14.2f} {statistics.median(values):>17.2f}")

    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with profile(activities=activities) as prof:
            for _ in range(5):
                variants["nerve"]()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()

"""The side-by-side benchmark of issue 6: nerve against Keras 3, a hand-written PyTorch loop and Lightning.

Modules:
    workloads.py      the five workloads (data, batch, epochs) and the peers, with their epoch caps
    data.py           Fashion-MNIST from IDX files and the synthetic data of the overhead workload
    keras_models.py   the models in Keras's public API, built with any module that has it (nerve or keras)
    torch_models.py   the same models as torch.nn modules, and their FLOPs counted from layer shapes
    peer_keras.py     Sequential/compile/fit/predict with a timing callback (the nerve and Keras peers)
    peer_torch.py     the hand-written PyTorch loop (fused Adam, or default Adam as a reference)
    peer_lightning.py a LightningModule and Trainer, as a Lightning user writes them
    machine.py        the machine's description and its matmul peak
    report.py         the Markdown tables of RESULTS.md

Only `benchmarks/run.py` (the parent) and `benchmarks/worker.py` (one child per workload and peer)
are run. Modules a child imports before choosing its framework import neither torch nor keras,
so each child's peak RSS holds only its own framework.
"""

"""Symbolic tensors, nodes and the functional graph runner."""

from nerve.graph.graph import Graph
from nerve.graph.node import KerasTensor, Node

__all__ = ["Graph", "KerasTensor", "Node"]

"""Callbacks: objects that act during fit, evaluate and predict."""

from nerve.callbacks.callback import Callback
from nerve.callbacks.callback_list import CallbackList
from nerve.callbacks.history import History
from nerve.callbacks.progbar_logger import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]

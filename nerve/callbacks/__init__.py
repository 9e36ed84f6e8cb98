"""Callbacks: objects that act during fit, evaluate and predict."""

from nerve.callbacks.backup_and_restore import BackupAndRestore
from nerve.callbacks.callback import Callback
from nerve.callbacks.callback_list import CallbackList
from nerve.callbacks.csv_logger import CSVLogger
from nerve.callbacks.early_stopping import EarlyStopping
from nerve.callbacks.gradient_monitor import GradientMonitor
from nerve.callbacks.history import History
from nerve.callbacks.lambda_callback import LambdaCallback
from nerve.callbacks.learning_rate_scheduler import LearningRateScheduler
from nerve.callbacks.model_checkpoint import ModelCheckpoint
from nerve.callbacks.monitor import MonitorCallback
from nerve.callbacks.progbar_logger import ProgbarLogger
from nerve.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from nerve.callbacks.tensorboard import TensorBoard
from nerve.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "GradientMonitor",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]

"""Keras-compatible datasets: ``nerve.datasets.mnist.load_data()`` and friends.

Each module's ``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``
as numpy arrays with Keras's shapes and dtypes.

* ``mnist``, ``fashion_mnist``, ``cifar10``, ``boston_housing``: files are
  looked up in the ``path=`` argument, ``$NERVE_DATA``, the nerve and Keras
  caches, Debian's ``/usr/share/datasets`` and finally downloaded (checksum
  verified) unless ``NERVE_OFFLINE=1``; see :mod:`nerve.datasets._files`.
* ``digits``, ``diabetes``: scikit-learn's bundled data, never downloaded.

Only numpy is imported here; scikit-learn, urllib and rich load on demand.
"""

from nerve.datasets import boston_housing, cifar10, diabetes, digits, fashion_mnist, mnist
from nerve.datasets._errors import ChecksumError, DatasetError, DatasetFormatError, DatasetNotFoundError
from nerve.datasets._files import cache_dir
from nerve.datasets._readers import load_idx

__all__ = [
    "boston_housing",
    "cifar10",
    "diabetes",
    "digits",
    "fashion_mnist",
    "mnist",
    "ChecksumError",
    "DatasetError",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "cache_dir",
    "load_idx",
]

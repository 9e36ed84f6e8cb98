"""Quick start: seed 0's relu + Adam MLP on the bundled 8x8 digits, offline.

Run it with `make demo` (or `python examples/quickstart.py`). The model is the
one of the course notes (Flatten-64-128-256-128-64-10); only the data differs:
scikit-learn's digits stand in for MNIST, so no download is needed.
"""

import time

import nerve as keras
from nerve.datasets import digits
from nerve.layers import Dense, Flatten
from nerve.models import Sequential
from nerve.optimizers import Adam

keras.utils.set_random_seed(42)
(X_train, y_train), (X_test, y_test) = digits.load_data()
print(f"digits: train {X_train.shape}, test {X_test.shape}, device {keras.backend.get_device()}")
X_train, X_test = X_train / 255.0, X_test / 255.0

model = Sequential()
model.add(Flatten())
for units in (64, 128, 256, 128, 64):
    model.add(Dense(units=units, activation="relu"))
model.add(Dense(units=10, activation="softmax"))
model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=0.001), metrics=["accuracy"])

start = time.perf_counter()
history = model.fit(X_train, y_train, epochs=30, validation_split=0.2, batch_size=32, verbose=2)
elapsed = time.perf_counter() - start
model.summary()

test_loss, test_accuracy = model.evaluate(X_test, y_test, verbose=0)
best = max(range(len(history.history["val_accuracy"])), key=history.history["val_accuracy"].__getitem__)
print(f"trained {len(history.epoch)} epochs in {elapsed:.1f}s; best val_accuracy "
      f"{history.history['val_accuracy'][best]:.4f} at epoch {best + 1}")
print(f"test accuracy: {test_accuracy:.4f}  (test loss {test_loss:.4f})")

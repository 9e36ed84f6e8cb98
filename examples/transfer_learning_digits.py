"""Transfer learning on the bundled digits: train a base on 0-4, freeze it, train a new head on 5-9.

The base learns pen-stroke features from digits 0-4. Frozen (`base.trainable =
False`), it is reused as one layer of a new model whose head learns 5-9 from
only 100 labelled images; the summary shows the base's weights as
non-trainable. Then the base is unfrozen and the whole model fine-tuned with a
small learning rate. A model trained from scratch on the same 100 images is the
comparison. (On 8x8 digits a frozen MLP base from 0-4 transfers poorly:
measured here, from scratch wins; the recipe is what this example shows.)
"""

import numpy as np

import nerve
from nerve.datasets import digits
from nerve.layers import Dense, Dropout, Flatten, Input

nerve.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = digits.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
low_train, low_test = y_train < 5, y_test < 5

# 1. A base network trained on digits 0-4.
inputs = Input(shape=(8, 8))
features = Dense(64, activation="relu")(Flatten()(inputs))
features = Dense(32, activation="relu", name="features")(features)
base = nerve.Model(inputs, features, name="base")
classifier = nerve.Sequential([Input(shape=(8, 8)), base, Dense(5, activation="softmax")])
classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
classifier.fit(x_train[low_train], y_train[low_train], epochs=30, batch_size=32, verbose=0)
print("base on 0-4, test accuracy:", round(classifier.evaluate(x_test[low_test], y_test[low_test], verbose=0)[1], 4))

# 2. Freeze it and train a new head on 5-9 with few labels.
base.trainable = False
few = np.flatnonzero(~low_train)[:100]
x_few, y_few = x_train[few], y_train[few] - 5
transfer = nerve.Sequential([Input(shape=(8, 8)), base, Dropout(0.2), Dense(5, activation="softmax")])
transfer.compile(optimizer=nerve.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
transfer.summary()
frozen_before = [w.copy() for w in base.get_weights()]
transfer.fit(x_few, y_few, epochs=60, batch_size=16, verbose=0)
assert all(np.array_equal(a, b) for a, b in zip(frozen_before, base.get_weights())), "the base must stay frozen"
transfer_acc = transfer.evaluate(x_test[~low_test], y_test[~low_test] - 5, verbose=0)[1]

# Fine-tuning: unfreeze, recompile with a small learning rate, train a little more.
base.trainable = True
transfer.compile(optimizer=nerve.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
transfer.fit(x_few, y_few, epochs=30, batch_size=16, verbose=0)
tuned_acc = transfer.evaluate(x_test[~low_test], y_test[~low_test] - 5, verbose=0)[1]

# 3. The same small model from scratch on the same 100 images.
scratch = nerve.Sequential([Input(shape=(8, 8)), Flatten(), Dense(64, activation="relu"),
                            Dense(32, activation="relu"), Dense(5, activation="softmax")])
scratch.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
scratch.fit(x_few, y_few, epochs=60, batch_size=16, verbose=0)
scratch_acc = scratch.evaluate(x_test[~low_test], y_test[~low_test] - 5, verbose=0)[1]
print(f"digits 5-9 from 100 labels: frozen base + new head {transfer_acc:.4f}, fine-tuned {tuned_acc:.4f}, "
      f"from scratch {scratch_acc:.4f}")

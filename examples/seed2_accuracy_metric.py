"""Seed 2: `from keras.metrics import accuracy` as a metric, validation_data, evaluate.

The notes never show their model or data; here they are a small binary
classifier on scikit-learn's bundled breast-cancer data (offline). Keras 3
rejects the `accuracy` function as a compile metric; nerve reads it as
"accuracy" and picks binary accuracy from the sigmoid output.
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from nerve.layers import Dense, Input
from nerve.metrics import accuracy
from nerve.models import Sequential

data = load_breast_cancer()
x = (data.data - data.data.mean(0)) / data.data.std(0)
X_train, X_test, y_train, y_test = train_test_split(x, data.target, test_size=0.2, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_size=0.2, random_state=0)

model = Sequential([Input(shape=(30,)), Dense(16, activation="relu"), Dense(1, activation="sigmoid")])

model.compile(optimizer='adam', loss='binary_crossentropy', metrics=[accuracy])
history = model.fit(X_train, y_train, epochs=10, batch_size=32, validation_data=(X_val, y_val))
loss, accuracy = model.evaluate(X_test, y_test)
print('Test accuracy:', accuracy)

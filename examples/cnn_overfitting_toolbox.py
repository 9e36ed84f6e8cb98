"""Seeds 3 and 4's toolbox against overfitting, on a small CNN: augmentation, Conv2D,
MaxPooling, BatchNormalization, Dropout, L2 and a ResNet-style skip connection.

Data: offline_mnist (real MNIST when nerve finds it, else digits at 28x28).
"""

import nerve as keras
import offline_mnist as mnist
from nerve import layers, regularizers
from nerve.callbacks import EarlyStopping

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = x_train[..., None] / 255.0, x_test[..., None] / 255.0

inputs = keras.Input(shape=(28, 28, 1))
x = layers.RandomRotation(0.05)(inputs)           # augmentation: only while training
x = layers.RandomTranslation(0.1, 0.1)(x)
x = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_regularizer=regularizers.L2(1e-4))(x)
x = layers.BatchNormalization()(x)
x = layers.MaxPooling2D()(x)
shortcut = x
x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
x = layers.BatchNormalization()(x)
x = layers.Add()([x, shortcut])                    # ResNet's skip connection
x = layers.MaxPooling2D()(x)
x = layers.Flatten()(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()

early = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
model.fit(x_train, y_train, epochs=30, batch_size=128, validation_split=0.2, callbacks=[early])
print("test:", model.evaluate(x_test, y_test, verbose=0))
model.save("cnn.keras")
print("reloaded:", keras.models.load_model("cnn.keras").evaluate(x_test, y_test, verbose=0))

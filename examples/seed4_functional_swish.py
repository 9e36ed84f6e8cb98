"""Seed 4: the functional API with swish, `metrics="accuracy"` and functions for names.

The course notes' code with only its import lines changed (`tf.keras` ->
`nerve` as `tf.keras`); MNIST comes from offline_mnist. Dropout is used as in the
notes, with the BatchNormalization layer the notes show next to it.
"""

import types

import nerve
import offline_mnist as mnist

tf = types.SimpleNamespace(keras=nerve)  # the notes write tf.keras.*

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0

X = tf.keras.Input(shape=[28, 28])
H = tf.keras.layers.Flatten()(X)
H = tf.keras.layers.Dense(64, activation='swish')(H)
H = tf.keras.layers.Dropout(0.2)(H)
H = tf.keras.layers.BatchNormalization()(H)
Y = tf.keras.layers.Dense(10, activation='softmax')(H)
model = tf.keras.Model(X, Y)
model.compile(loss="sparse_categorical_crossentropy", metrics="accuracy")
model.summary()
early = tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=10, restore_best_weights=True)
result = model.fit(x_train, y_train, epochs=50, batch_size=128, validation_split=0.2, callbacks=[early])

# 함수 대체 가능
X = tf.keras.Input(shape=[784])
H = tf.keras.layers.Dense(120, activation=tf.keras.activations.swish)(X)
H = tf.keras.layers.Dense(84, activation=tf.keras.activations.swish)(H)
Y = tf.keras.layers.Dense(10, activation=tf.keras.activations.softmax)(H)
model = tf.keras.Model(X, Y)
model.compile(loss=tf.keras.losses.categorical_crossentropy, optimizer=tf.keras.optimizers.Adam(),
              metrics=tf.keras.metrics.categorical_accuracy)
y_onehot = tf.keras.utils.to_categorical(y_train, 10)
result = model.fit(x_train.reshape(-1, 784), y_onehot, epochs=50, batch_size=128, validation_split=0.2)
print(sorted(result.history))

# ResNet의 skip connection: tf.keras.layers.Add()([H, H1])
X = tf.keras.Input(shape=[784])
H = tf.keras.layers.Dense(64, activation='swish')(X)
H1 = tf.keras.layers.Dense(64, activation='swish')(H)
H1 = tf.keras.layers.BatchNormalization()(H1)
H = tf.keras.layers.Add()([H, H1])
Y = tf.keras.layers.Dense(10, activation='softmax')(H)
model = tf.keras.Model(X, Y)
model.compile(loss="sparse_categorical_crossentropy", metrics="accuracy")
model.fit(x_train.reshape(-1, 784), y_train, epochs=50, batch_size=128, validation_split=0.2)

"""Seed 1: model.summary() of a small binary classifier, then an MNIST MLP.

The course notes' code with only its import lines changed; MNIST comes from
offline_mnist (digits at 28x28 when MNIST is not on the machine). The notes'
preprocessing (reshape, min-max scaling, one-hot) is spelled out as they
describe it.
"""

import numpy as np

import nerve as keras
import offline_mnist as mnist
from nerve.callbacks import EarlyStopping

## 회
# 1. 이전 모델링 클리어
keras.backend.clear_session()
# 2. 모델 발판 만들기
model = keras.models.Sequential()
# 3. 모델 블록 쌓기
model.add(keras.layers.Input(shape=(8, )))
model.add(keras.layers.Dense(32, activation='relu'))
model.add(keras.layers.Dense(32, activation='relu'))
model.add(keras.layers.Dense(1, activation='sigmoid'))
# 4. 컴파일
model.compile(loss='binary_crossentropy', metrics=['accuracy'], optimizer='adam')
# 요약
model.summary()

# MNIST
(train_x, train_y), (test_x, test_y) = mnist.load_data()
train_x = train_x.reshape(train_x.shape[0], -1)
test_x = test_x.reshape(test_x.shape[0], -1)
max_n, min_n = train_x.max(), train_x.min()
train_x = (train_x - min_n) / (max_n - min_n)
test_x = (test_x - min_n) / (max_n - min_n)
train_y = keras.utils.to_categorical(train_y, 10)
test_y = keras.utils.to_categorical(test_y, 10)

# Sequential API
keras.backend.clear_session()
model = keras.models.Sequential()
model.add(keras.layers.Input(shape=(784, )))
model.add(keras.layers.Dense(256, activation='relu'))
model.add(keras.layers.Dense(256, activation='relu'))
model.add(keras.layers.Dense(10, activation='softmax'))
model.compile(loss=keras.losses.binary_crossentropy,
              metrics=['accuracy'],
              optimizer='adam')
model.summary()

es = EarlyStopping(monitor='val_loss',
                   min_delta=0,
                   patience=5,
                   verbose=1,
                   restore_best_weights=True)  # 가장중요한 옵션
model.fit(train_x, train_y, validation_split=0.2, callbacks=[es],
          verbose=1, epochs=50)
print("test:", model.evaluate(test_x, test_y, verbose=0))

"""Seed 0: compare sigmoid+SGD, relu+SGD and relu+Adam on MNIST, and plot the curves.

The course notes' code with only its import lines changed (`tensorflow.keras`
-> `nerve`; MNIST from offline_mnist, which falls back to digits offline).
Two typos of the notes are fixed: `from matplotlib.pyplot as plt` and the
third history, trained as `h` but plotted as `h3`. The notes' Colab folder
becomes ./digit_model, and the best checkpoint is found with glob instead of
the notes' hard-coded 'dm_15_0.97.hdf5' (their run's best epoch).
"""

# 라이브러리 불러오기
import numpy as np
import matplotlib.pyplot as plt

import offline_mnist as mnist  # 손글씨 데이터 불러오기
from nerve.models import Sequential
from nerve.layers import Dense, InputLayer, Flatten
from nerve.utils import to_categorical
from nerve.optimizers import SGD, Adam

# 데이터 분리
(X_train, y_train), (X_test, y_test) = mnist.load_data()
# 크기확인
print((X_train.shape, y_train.shape), (X_test.shape, y_test.shape))

# 1. sigmoid + SGD조합
model1 = Sequential()
model1.add(Flatten())
model1.add(Dense(units=64, activation='sigmoid'))
model1.add(Dense(units=128, activation='sigmoid'))
model1.add(Dense(units=256, activation='sigmoid'))
model1.add(Dense(units=128, activation='sigmoid'))
model1.add(Dense(units=64, activation='sigmoid'))
model1.add(Dense(units=10, activation='softmax'))
model1.compile(loss='sparse_categorical_crossentropy',
               optimizer=SGD(learning_rate=0.01),  # SGD 기본학습률: 0.01
               metrics=['accuracy'])
h1 = model1.fit(X_train, y_train, epochs=20, validation_split=0.2, batch_size=128)

# 2. relu + SGD모델
model2 = Sequential()
model2.add(Flatten())
model2.add(Dense(units=64, activation='relu'))
model2.add(Dense(units=128, activation='relu'))
model2.add(Dense(units=256, activation='relu'))
model2.add(Dense(units=128, activation='relu'))
model2.add(Dense(units=64, activation='relu'))
model2.add(Dense(units=10, activation='softmax'))
model2.compile(loss='sparse_categorical_crossentropy',
               optimizer=SGD(learning_rate=0.01),
               metrics=['accuracy'])
h2 = model2.fit(X_train, y_train, epochs=20, validation_split=0.2, batch_size=128)

# 3. adam
model3 = Sequential()
model3.add(Flatten())
model3.add(Dense(units=64, activation='relu'))
model3.add(Dense(units=128, activation='relu'))
model3.add(Dense(units=256, activation='relu'))
model3.add(Dense(units=128, activation='relu'))
model3.add(Dense(units=64, activation='relu'))
model3.add(Dense(units=10, activation='softmax'))
model3.compile(loss='sparse_categorical_crossentropy',
               optimizer=Adam(learning_rate=0.001),
               metrics=['accuracy'])
h3 = model3.fit(X_train, y_train, epochs=20, validation_split=0.2, batch_size=128)

plt.figure(figsize=(15, 5))
plt.plot(h1.history['accuracy'], label="sigmoid+SGD train acc")
plt.plot(h1.history['val_accuracy'], label="sigmoid+SGD validation acc")
plt.plot(h2.history['accuracy'], label="relu+SGD train acc")
plt.plot(h2.history['val_accuracy'], label="relu+SGD validation acc")
plt.plot(h3.history['accuracy'], label="relu+Adam train acc")
plt.plot(h3.history['val_accuracy'], label="relu+Adam validation acc")
plt.legend()
plt.show()

# callback함수: 모델 저장(ModelCheckpoint), 조기학습 중단(EarlyStopping)
from nerve.callbacks import ModelCheckpoint, EarlyStopping

model_path = 'digit_model/dm_{epoch:02d}_{val_accuracy:0.2f}.hdf5'
mckp = ModelCheckpoint(filepath=model_path,  # 저장경로
                       verbose=1,  # 로그출력
                       save_best_only=True,  # 모델 성능이 최고점을 갱신할 때마다 저장
                       monitor='val_accuracy')  # 최고점의 기준치
early = EarlyStopping(monitor='val_accuracy',  # 기준치
                      verbose=1,  # 로그출력
                      patience=10)  # 모델성능개선을 기다리는 최대횟수

model3 = Sequential()
model3.add(Flatten())
model3.add(Dense(units=64, activation='relu'))
model3.add(Dense(units=128, activation='relu'))
model3.add(Dense(units=256, activation='relu'))
model3.add(Dense(units=128, activation='relu'))
model3.add(Dense(units=64, activation='relu'))
model3.add(Dense(units=10, activation='softmax'))
model3.compile(loss='sparse_categorical_crossentropy',
               optimizer=Adam(learning_rate=0.001),
               metrics=['accuracy'])
h = model3.fit(X_train, y_train, epochs=1000, validation_split=0.2, batch_size=128, callbacks=[mckp, early])

# 가장 우수한 모델 불러오기
import glob
from nerve.models import load_model

best_path = sorted(glob.glob('digit_model/dm_*.hdf5'))[-1]
best_model = load_model(best_path)
print(best_path, best_model.evaluate(X_test, y_test, verbose=0))

"""Seed 3: LearningRateScheduler, EarlyStopping, and every way the notes save a model.

The notes' `create_model()` and data are not shown; here they are the seed-0
MLP on offline_mnist. `tf.math.exp` becomes `math.exp` (nerve has no tf), and
`yaml.load(..., Loader=yaml.FullLoader)` becomes `model_from_yaml`, which
parses with yaml.safe_load.
"""

import math

import offline_mnist as mnist
from nerve.callbacks import EarlyStopping, LearningRateScheduler
from nerve.layers import Dense, Flatten
from nerve.models import Sequential, load_model, model_from_json, model_from_yaml

(x, y), (x_test, y_test) = mnist.load_data()
x, x_test = x / 255.0, x_test / 255.0
lr = 0.001


def create_model():
    model = Sequential([Flatten()] + [Dense(u, activation='relu') for u in (64, 128, 64)]
                       + [Dense(10, activation='softmax')])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model


def my_schedule(epoch, learning_rate=lr):
    if epoch < 5:
        return lr
    else:
        return float(lr * math.exp(0.1 * (5 - epoch)))


lrschedule = LearningRateScheduler(my_schedule)
model = create_model()
model.fit(x, y, epochs=20, validation_split=1 / 6, callbacks=[lrschedule], batch_size=512)

es = EarlyStopping(monitor='val_loss', patience=2)
model = create_model()
history = model.fit(x, y, epochs=20, validation_split=1 / 6, callbacks=[es], batch_size=512)

# 1. model 전체를 저장
model.save('my_model.h5')
new_model = load_model('my_model.h5')
print('reloaded:', new_model.evaluate(x_test, y_test, verbose=0))

# 2. model의 architecture 저장
json_string = model.to_json()
yaml_string = model.to_yaml()
model_json = model_from_json(json_string)
model_yaml = model_from_yaml(yaml_string)

# 3. weight만 저장
model.save_weights('my_model_weights.h5')
model_json.load_weights('my_model_weights.h5')
model_json.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
print('json + weights:', model_json.evaluate(x_test, y_test, verbose=0))

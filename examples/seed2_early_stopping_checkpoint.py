"""Seed 2 (second half): EarlyStopping + ModelCheckpoint to './_mcp/tf18_cali.hdf5', timed.

The notes fit California housing ('tf18_cali'); that set needs a download, so
scikit-learn's bundled diabetes regression (nerve.datasets.diabetes) stands in.
The model is a small regression MLP, since the notes do not show theirs.
"""

import time

from nerve.callbacks import EarlyStopping, ModelCheckpoint
from nerve.datasets import diabetes
from nerve.layers import Dense, Input
from nerve.models import Sequential, load_model

(x_train, y_train), (x_test, y_test) = diabetes.load_data()
mean, std = x_train.mean(0), x_train.std(0)
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

model = Sequential([Input(shape=(10,)), Dense(32, activation='relu'), Dense(16, activation='relu'), Dense(1)])
model.compile(loss='mse', optimizer='adam')

earlyStopping = EarlyStopping(monitor='val_loss', patience=100, mode='min',
                              restore_best_weights=True)
# Model Check Point
mcp = ModelCheckpoint(
    monitor='val_loss',
    mode='auto',
    verbose=1,
    save_best_only=True,
    filepath='./_mcp/tf18_cali.hdf5'  # 파일명 체크
)
start_time = time.time()
hist = model.fit(x_train, y_train, epochs=5000, batch_size=200,
                 validation_split=0.2,
                 callbacks=[earlyStopping, mcp],
                 verbose=1)
print('걸린시간:', round(time.time() - start_time, 2))
best = load_model('./_mcp/tf18_cali.hdf5')
print('test mse:', best.evaluate(x_test, y_test, verbose=0))

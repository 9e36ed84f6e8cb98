import os, sys
os.environ["KERAS_BACKEND"]="torch"
import numpy as np
which=sys.argv[1]
import keras as K
import nerve as N
keras = K if which=="keras" else N
L=keras.layers
def tryit(label, f):
    try: print(label, "->", f())
    except Exception as e: print(label, "EXC", type(e).__name__, str(e)[:300])
x=np.random.RandomState(0).rand(4,3,8,8).astype("float32")
tryit("cf conv", lambda: L.Conv2D(5,3,data_format="channels_first")(x).shape)
tryit("cf pool", lambda: L.MaxPooling2D(data_format="channels_first")(x).shape)
tryit("cf gap", lambda: L.GlobalAveragePooling2D(data_format="channels_first")(x).shape)
tryit("cf bn axis1", lambda: np.asarray(L.BatchNormalization(axis=1)(x, training=True)).std())
tryit("cf up", lambda: L.UpSampling2D(data_format="channels_first")(x).shape)
tryit("cf zp", lambda: L.ZeroPadding2D(1,data_format="channels_first")(x).shape)
tryit("cf crop", lambda: L.Cropping2D(1,data_format="channels_first")(x).shape)
tryit("cf dw", lambda: L.DepthwiseConv2D(3,data_format="channels_first")(x).shape)
tryit("cf sep", lambda: L.SeparableConv2D(4,3,data_format="channels_first")(x).shape)
tryit("cf convT", lambda: L.Conv2DTranspose(4,3,strides=2,padding="same",data_format="channels_first")(x).shape)
tryit("cf flip", lambda: L.RandomFlip(data_format="channels_first")(x, training=True).shape if which=="keras" else L.RandomFlip()(x,training=True).shape)
tryit("cf spdrop", lambda: L.SpatialDropout2D(0.5,data_format="channels_first")(x,training=True).shape)
# wrong ranks
tryit("conv rank3", lambda: keras.Sequential([keras.Input((28,28)), L.Conv2D(4,3)]))
tryit("pool rank3", lambda: keras.Sequential([keras.Input((28,28)), L.MaxPooling2D()]))
tryit("conv eager rank3", lambda: L.Conv2D(4,3)(np.zeros((2,28,28),"float32")).shape)
tryit("fit rank3 on 4d model", lambda: (lambda m: (m.compile("adam","mse"), m.fit(np.zeros((4,28,28),"uint8"),np.zeros((4,1)),verbose=0)))(keras.Sequential([keras.Input((28,28,1)),L.Conv2D(2,3),L.Flatten(),L.Dense(1)])))
tryit("conv no Input fit uint8", lambda: (lambda m: (m.compile("adam","mse"), m.fit(np.zeros((4,28,28,1),"uint8"),np.zeros((4,1)),verbose=0), m.summary()))(keras.Sequential([L.Conv2D(2,3,input_shape=(28,28,1)),L.Flatten(),L.Dense(1)])))
tryit("gap rank", lambda: L.GlobalAveragePooling2D()(np.zeros((2,3,3),"float32")).shape)
tryit("pool big", lambda: keras.Sequential([keras.Input((1,1,3)), L.MaxPooling2D()]).output_shape)
tryit("conv big", lambda: keras.Sequential([keras.Input((2,2,3)), L.Conv2D(2,3)]).output_shape)
tryit("pool same", lambda: keras.Sequential([keras.Input((7,7,3)), L.MaxPooling2D(2,padding="same")]).output_shape)
tryit("avgpool same vals", lambda: np.asarray(L.AveragePooling2D(2,padding="same")(np.arange(9,dtype="float32").reshape(1,3,3,1)))[0,:,:,0].tolist())
tryit("maxpool strides", lambda: np.asarray(L.MaxPooling2D(3,strides=2,padding="same")(np.arange(25,dtype="float32").reshape(1,5,5,1)))[0,:,:,0].tolist())
tryit("conv1d", lambda: L.Conv1D(4,3,padding="causal")(np.zeros((2,10,3),"float32")).shape)
tryit("emb", lambda: L.Embedding(10,4)(np.array([[1,2,3]])).shape)
tryit("emb mask", lambda: L.Embedding(10,4,mask_zero=True).compute_mask(np.array([[0,2,3]])))
tryit("concat", lambda: L.Concatenate()([np.zeros((2,3),"float32"),np.zeros((2,4),"float32")]).shape)
tryit("add mismatch", lambda: L.Add()([keras.Input((3,)),keras.Input((4,))]))
tryit("add bcast", lambda: L.Add()([keras.Input((4,4,8)),keras.Input((1,1,8))]).shape)
tryit("upsample bilinear", lambda: np.asarray(L.UpSampling2D(2,interpolation="bilinear")(np.arange(4,dtype="float32").reshape(1,2,2,1)))[0,:,:,0].round(3).tolist())
tryit("normalization adapt", lambda: (lambda n:(n.adapt(np.arange(12,dtype="float32").reshape(6,2)), np.asarray(n(np.ones((1,2),"float32"))).round(4).tolist())[1])(L.Normalization()))
tryit("norm mean var", lambda: np.asarray(L.Normalization(mean=2.,variance=4.)(np.ones((1,2),"float32"))).tolist())
tryit("rescaling offset uint8", lambda: np.asarray(L.Rescaling(1/127.5,offset=-1)(np.array([[0,255]],"uint8"))).tolist())
tryit("LN", lambda: np.asarray(L.LayerNormalization()(np.arange(6,dtype="float32").reshape(2,3))).round(4).tolist())
tryit("GN", lambda: np.asarray(L.GroupNormalization(2)(np.arange(8,dtype="float32").reshape(1,2,4))).round(4).tolist())
tryit("noise infer", lambda: np.asarray(L.GaussianNoise(1.)(np.ones((1,3),"float32"))).tolist())
tryit("conv groups", lambda: L.Conv2D(4,3,groups=2)(np.zeros((1,5,5,4),"float32")).shape)
tryit("conv str pad", lambda: L.Conv2D(4,3,padding="SAME")(np.zeros((1,5,5,4),"float32")).shape)
tryit("conv filters float", lambda: L.Conv2D(4.0,3)(np.zeros((1,5,5,4),"float32")).shape)

"""What training makes of a config: the model builder, the checkpoint restore, the anchors and
the train loop, as plain data with no TensorFlow import.

This layer reads the parsed config (:mod:`tfod_doctor.config`) and says what the OD API's
``model_builder.build``, the checkpoint restore and the train loop will do with it; the
findings it makes are combined with the record scan in :mod:`tfod_doctor.checkup`.
"""

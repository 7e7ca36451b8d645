"""A: the model: what the model builder, the checkpoint restore, the anchors and the train loop
make of the config and the data.

Ids: A001-A019 the model builder and the train loop, A020-A029 the checkpoint, A030-A049 the
anchors, the matcher and what the model can learn from the boxes.
"""

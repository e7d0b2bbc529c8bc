"""The Qt-free engine: data, models, training, preprocessing, checkpoints, devices."""

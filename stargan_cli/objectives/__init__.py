"""Objectives, one file per method (`<method>.py`: its `[loss]` config, its batch, its losses and its
`TRAINING` spec); the registry that names them is `stargan_cli.methods`."""

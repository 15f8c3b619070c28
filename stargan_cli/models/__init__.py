"""Networks, one file per method (`<method>.py`: its config, its networks, its `MODEL` spec); the registry
that names them is `stargan_cli.methods`."""

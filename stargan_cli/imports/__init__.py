"""`stargan import-reference`: the reference implementations' released weights -> our model files, one module
per method (stargan: `-G.ckpt`/`-D.ckpt`; cyclegan: `.pth` generators; ugatit: `*_params_*.pt`; unit: `gen_*.pt`), all read
through `weights.py`'s weights-only loader."""

"""Neural networks on simulated crossbars: configuration, presets, the network and the training loop.

>>> from pycosim.nn import presets, train                                # doctest: +SKIP
>>> cfg = presets.get("ambrogio2018")                                    # doctest: +SKIP
>>> metrics = train.train(cfg, out_dir="run1")                           # doctest: +SKIP
"""
